#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
// A text writer for the renderers: appends into one reusable buffer and hands the stream large
// chunks, so a writer producing millions of small pieces makes a few hundred `write` calls.
// Numbers are formatted here, without the stream, so output never depends on the locale
// imbued in the user's stream (a German locale would otherwise turn "12.5" into "12,5").

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <cpprof/detail/text.hpp>

namespace cpprof::detail {

class chunked_writer {
public:
    static constexpr std::size_t chunk_size = std::size_t{1} << 18;  // 256 KiB

    explicit chunked_writer(std::ostream& os) : os_(os) { buf_.reserve(chunk_size + 1024); }
    chunked_writer(const chunked_writer&) = delete;
    chunked_writer& operator=(const chunked_writer&) = delete;
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

/// Opens `path`, lets `write` fill it, and closes it. Returns an empty string on success or a
/// message naming the path and the errno text; exceptions thrown by `write` propagate.
template <class Write>
std::string write_file(const std::string& path, Write&& write) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out.is_open())
        return "cannot open '" + path + "' for writing: " +
               std::generic_category().message(errno);
    std::forward<Write>(write)(static_cast<std::ostream&>(out));
    out.flush();
    if (!out) return "cannot write '" + path + "': " + std::generic_category().message(errno);
    out.close();
    if (out.fail()) return "cannot close '" + path + "': " + std::generic_category().message(errno);
    return {};
}

}  // namespace cpprof::detail
