#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
// A text writer for the renderers: appends into one reusable buffer and hands the stream large
// chunks, so a writer producing millions of small pieces makes a few hundred `write` calls.
// Numbers are formatted here, without the stream, so output never depends on the locale
// imbued in the user's stream (a German locale would otherwise turn "12.5" into "12,5").
// The classes are templates with a dummy parameter: see the note on lazy instantiation in
// config.hpp.

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <cpprof/detail/text.hpp>

namespace cpprof::detail {

/// Use it as `chunked_writer` (the template parameter is a dummy: see the note on lazy
/// instantiation in config.hpp).
template <class = void>
class basic_chunked_writer {
public:
    static constexpr std::size_t chunk_size = std::size_t{1} << 18;  // 256 KiB

    explicit basic_chunked_writer(std::ostream& os) : os_(os) { buf_.reserve(chunk_size + 1024); }
    basic_chunked_writer(const basic_chunked_writer&) = delete;
    basic_chunked_writer& operator=(const basic_chunked_writer&) = delete;
    // No flush in the destructor: the owner calls flush() at the end, so a stream that throws
    // on failure throws there and not from a destructor during unwinding.

    void put(std::string_view s) {
        buf_.append(s.data(), s.size());
        if (buf_.size() >= chunk_size) flush();
    }
    void put(char c) {
        buf_.push_back(c);
        if (buf_.size() >= chunk_size) flush();
    }

    void put_int(std::int64_t v) {
        char tmp[number_buffer_size];
        auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
        put(std::string_view(tmp, static_cast<std::size_t>(r.ptr - tmp)));
    }

    /// 1234567 -> "1,234,567" (the thousands grouping flamegraph tooltips use).
    void put_grouped(std::int64_t v) {
        char tmp[number_buffer_size];
        put(std::string_view(tmp, format_grouped(tmp, v)));
    }

    /// `v` rounded to `decimals` (0..6) places; with `trim`, "10" and "12.5" rather than
    /// "10.00" and "12.50", to keep coordinates short.
    void put_fixed(double v, int decimals, bool trim) {
        char tmp[number_buffer_size];
        put(std::string_view(tmp, format_fixed(tmp, v, decimals, trim)));
    }

    void flush() {
        if (!buf_.empty()) os_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
        buf_.clear();
    }

private:
    std::ostream& os_;
    std::string buf_;
};

using chunked_writer = basic_chunked_writer<>;

/// A std::streambuf over a C FILE, so that writing a file needs no <fstream>. Unbuffered on
/// its side (stdio buffers): the renderers hand it large chunks through chunked_writer.
/// Remembers the first errno a write failed with.
template <class = void>
class basic_file_streambuf : public std::streambuf {
public:
    explicit basic_file_streambuf(std::FILE* file) : file_(file) {}
    int error() const { return error_; }

protected:
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        if (n <= 0 || error_ != 0) return error_ != 0 ? 0 : n;
        const std::size_t done = std::fwrite(s, 1, static_cast<std::size_t>(n), file_);
        if (done != static_cast<std::size_t>(n)) error_ = errno != 0 ? errno : EIO;
        return static_cast<std::streamsize>(done);
    }
    int_type overflow(int_type c) override {
        if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
        const char ch = traits_type::to_char_type(c);
        return xsputn(&ch, 1) == 1 ? c : traits_type::eof();
    }

private:
    std::FILE* file_;
    int error_ = 0;
};

/// Opens `path`, lets `write` fill it, and closes it. Returns an empty string on success or a
/// message naming the path and the errno text; exceptions thrown by `write` propagate.
template <class Write>
std::string write_file(const std::string& path, Write&& write) {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr)
        return "cannot open '" + path + "' for writing: " +
               std::generic_category().message(errno);
    basic_file_streambuf<> buf(file);
    std::ostream out(&buf);
    try {
        std::forward<Write>(write)(out);
    } catch (...) {
        std::fclose(file);
        throw;
    }
    int err = buf.error();
    if (err == 0 && !out) err = EIO;
    if (err == 0 && std::fflush(file) != 0) err = errno != 0 ? errno : EIO;
    if (err != 0) {
        std::fclose(file);
        return "cannot write '" + path + "': " + std::generic_category().message(err);
    }
    // Buffered data reaches the file in fclose, so its failure (ENOSPC, EIO, ...) counts too.
    if (std::fclose(file) != 0)
        return "cannot close '" + path + "': " + std::generic_category().message(errno);
    return {};
}

}  // namespace cpprof::detail
