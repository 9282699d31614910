#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
//
// Protocol Buffers wire-format encoder (no protobuf library). Used by the pprof writer and by
// the OTLP and Pyroscope exporters.
//
//   proto_writer w;
//   w.uint64(1, id);                          // field 1, varint, always written
//   w.int64_opt(9, time_nanos);               // skipped when 0 (proto3 default)
//   w.string(6, "main");                      // LEN-delimited UTF-8
//   w.packed_uint64(1, location_ids);         // one key, one length, the varints
//   w.message(4, [&] { w.uint64(1, 7); });    // nested message, length written afterwards
//   std::string bytes = std::move(w).take();
//
// Writers never reorder or check anything: field numbers and types are the caller's contract
// with the .proto. Conventions:
//   * the plain setters always write the field (oneof members must be written even at their
//     default); the `_opt` setters skip a proto3 default (0, false, empty string);
//   * int32/int64/enum values are sign-extended, so a negative one takes 10 bytes; sint32/sint64
//     are zigzag-coded;
//   * repeated scalars go out packed (an empty range writes nothing); repeated strings and
//     messages are simply written once per element.
//
// Nested messages: the body's length must precede it. `begin_message` reserves one byte for
// the length, which covers bodies up to 127 bytes (most pprof messages); `end_message` shifts a
// longer body right by the extra length bytes. The cost is one memmove of the body per level
// of nesting for the messages that need it.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

namespace cpprof {
namespace detail {

enum class wire_type : std::uint32_t { varint = 0, i64 = 1, len = 2, i32 = 5 };

/// Number of bytes the varint encoding of `v` takes (1..10).
constexpr std::size_t varint_size(std::uint64_t v) {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

/// ZigZag mapping for sint32/sint64: 0, -1, 1, -2, ... -> 0, 1, 2, 3, ...
constexpr std::uint64_t zigzag64(std::int64_t v) {
    const auto u = static_cast<std::uint64_t>(v);
    return v < 0 ? ~(u << 1) : u << 1;
}
constexpr std::uint32_t zigzag32(std::int32_t v) {
    const auto u = static_cast<std::uint32_t>(v);
    return v < 0 ? ~(u << 1) : u << 1;
}

class proto_writer {
public:
    /// Position of a nested message opened by begin_message().
    struct message_mark {
        std::size_t length_at;
    };

    proto_writer() = default;
    explicit proto_writer(std::size_t capacity) { buf_.resize(capacity); }

    // ---- the encoded bytes ----------------------------------------------------------------
    std::string_view view() const { return {buf_.data(), size_}; }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    void clear() { size_ = 0; }
    /// Moves the bytes out; the writer is empty afterwards.
    std::string take() && {
        buf_.resize(size_);
        std::string bytes = std::move(buf_);
        buf_.clear();
        size_ = 0;
        return bytes;
    }

    // ---- building blocks ------------------------------------------------------------------
    void raw_varint(std::uint64_t v) {
        char* p = room(10);
        while (v >= 0x80) {
            *p++ = static_cast<char>(v | 0x80);
            v >>= 7;
        }
        *p++ = static_cast<char>(v);
        size_ = static_cast<std::size_t>(p - buf_.data());
    }
    void raw_fixed32(std::uint32_t v) {
        char* p = room(4);
        for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
        size_ += 4;
    }
    void raw_fixed64(std::uint64_t v) {
        char* p = room(8);
        for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
        size_ += 8;
    }
    void raw_bytes(const void* data, std::size_t n) {
        if (n == 0) return;
        std::memcpy(room(n), data, n);
        size_ += n;
    }
    /// A field key: (field << 3) | wire type. Field numbers are 1 .. 2^29 - 1.
    void key(std::uint32_t field, wire_type type) {
        raw_varint(std::uint64_t{field} << 3 | static_cast<std::uint32_t>(type));
    }

    // ---- scalar fields (always written) ---------------------------------------------------
    void uint64(std::uint32_t field, std::uint64_t v) {
        key(field, wire_type::varint);
        raw_varint(v);
    }
    void uint32(std::uint32_t field, std::uint32_t v) { uint64(field, v); }
    void int64(std::uint32_t field, std::int64_t v) { uint64(field, static_cast<std::uint64_t>(v)); }
    void int32(std::uint32_t field, std::int32_t v) { int64(field, v); }
    void enumeration(std::uint32_t field, std::int32_t v) { int64(field, v); }
    void sint64(std::uint32_t field, std::int64_t v) { uint64(field, zigzag64(v)); }
    void sint32(std::uint32_t field, std::int32_t v) { uint64(field, zigzag32(v)); }
    void boolean(std::uint32_t field, bool v) { uint64(field, v ? 1 : 0); }
    void fixed64(std::uint32_t field, std::uint64_t v) {
        key(field, wire_type::i64);
        raw_fixed64(v);
    }
    void sfixed64(std::uint32_t field, std::int64_t v) { fixed64(field, static_cast<std::uint64_t>(v)); }
    void fixed32(std::uint32_t field, std::uint32_t v) {
        key(field, wire_type::i32);
        raw_fixed32(v);
    }
    void sfixed32(std::uint32_t field, std::int32_t v) { fixed32(field, static_cast<std::uint32_t>(v)); }
    void float64(std::uint32_t field, double v) { fixed64(field, bits_of(v)); }
    void float32(std::uint32_t field, float v) { fixed32(field, bits_of(v)); }
    /// string (UTF-8 is the caller's business) or bytes: key, length, the bytes.
    void string(std::uint32_t field, std::string_view v) { bytes(field, v); }
    void bytes(std::uint32_t field, std::string_view v) {
        key(field, wire_type::len);
        raw_varint(v.size());
        raw_bytes(v.data(), v.size());
    }

    // ---- singular proto3 fields: skipped when equal to the default ------------------------
    void uint64_opt(std::uint32_t field, std::uint64_t v) { if (v != 0) uint64(field, v); }
    void uint32_opt(std::uint32_t field, std::uint32_t v) { if (v != 0) uint64(field, v); }
    void int64_opt(std::uint32_t field, std::int64_t v) { if (v != 0) int64(field, v); }
    void int32_opt(std::uint32_t field, std::int32_t v) { if (v != 0) int64(field, v); }
    void enumeration_opt(std::uint32_t field, std::int32_t v) { if (v != 0) int64(field, v); }
    void sint64_opt(std::uint32_t field, std::int64_t v) { if (v != 0) sint64(field, v); }
    void boolean_opt(std::uint32_t field, bool v) { if (v) uint64(field, 1); }
    void fixed64_opt(std::uint32_t field, std::uint64_t v) { if (v != 0) fixed64(field, v); }
    void fixed32_opt(std::uint32_t field, std::uint32_t v) { if (v != 0) fixed32(field, v); }
    /// Skipped only for +0.0 (proto3 keeps -0.0, whose bits are not zero).
    void float64_opt(std::uint32_t field, double v) { if (bits_of(v) != 0) float64(field, v); }
    void string_opt(std::uint32_t field, std::string_view v) { if (!v.empty()) bytes(field, v); }
    void bytes_opt(std::uint32_t field, std::string_view v) { if (!v.empty()) bytes(field, v); }

    // ---- packed repeated scalars (nothing is written for an empty range) -------------------
    /// Any range of integers, each written as an unsigned varint (uint32/uint64 fields).
    template <class Range>
    void packed_uint64(std::uint32_t field, const Range& values) {
        packed_varints(field, values, [](auto v) { return static_cast<std::uint64_t>(v); });
    }
    /// Any range of signed integers, sign-extended (int32/int64/enum fields).
    template <class Range>
    void packed_int64(std::uint32_t field, const Range& values) {
        packed_varints(field, values, [](auto v) {
            return static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
        });
    }
    /// Any range of signed integers, zigzag-coded (sint32/sint64 fields).
    template <class Range>
    void packed_sint64(std::uint32_t field, const Range& values) {
        packed_varints(field, values, [](auto v) { return zigzag64(static_cast<std::int64_t>(v)); });
    }
    template <class Range>
    void packed_fixed64(std::uint32_t field, const Range& values) {
        packed_fixed<8>(field, values, [](auto v) { return static_cast<std::uint64_t>(v); });
    }
    template <class Range>
    void packed_fixed32(std::uint32_t field, const Range& values) {
        packed_fixed<4>(field, values, [](auto v) { return static_cast<std::uint32_t>(v); });
    }
    template <class Range>
    void packed_float64(std::uint32_t field, const Range& values) {
        packed_fixed<8>(field, values, [](auto v) { return bits_of(static_cast<double>(v)); });
    }

    // ---- nested messages ------------------------------------------------------------------
    /// Writes the key and reserves the length; everything written until the matching
    /// end_message() is the body. Marks nest like parentheses.
    message_mark begin_message(std::uint32_t field) {
        key(field, wire_type::len);
        *room(1) = 0;
        return message_mark{size_++};
    }
    void end_message(message_mark mark) {
        const std::size_t body_at = mark.length_at + 1;
        const std::size_t len = size_ - body_at;
        const std::size_t n = varint_size(len);
        if (n > 1) {
            room(n - 1);
            std::memmove(&buf_[body_at + n - 1], &buf_[body_at], len);
            size_ += n - 1;
        }
        char* p = &buf_[mark.length_at];
        std::uint64_t v = len;
        while (v >= 0x80) {
            *p++ = static_cast<char>(v | 0x80);
            v >>= 7;
        }
        *p = static_cast<char>(v);
    }
    /// `body()` writes the fields of a nested message in field `field`.
    template <class Body>
    void message(std::uint32_t field, Body&& body) {
        const message_mark mark = begin_message(field);
        std::forward<Body>(body)();
        end_message(mark);
    }

private:
    /// Makes room for `n` more bytes and returns where they go (size_ is not advanced).
    char* room(std::size_t n) {
        if (size_ + n > buf_.size()) buf_.resize(std::max({buf_.size() * 2, size_ + n, std::size_t{256}}));
        return &buf_[size_];
    }

    static std::uint64_t bits_of(double v) {
        std::uint64_t u;
        std::memcpy(&u, &v, sizeof u);
        return u;
    }
    static std::uint32_t bits_of(float v) {
        std::uint32_t u;
        std::memcpy(&u, &v, sizeof u);
        return u;
    }

    template <class Range, class Convert>
    void packed_varints(std::uint32_t field, const Range& values, Convert convert) {
        std::size_t len = 0;
        for (const auto& v : values) len += varint_size(convert(v));
        if (len == 0) return;
        key(field, wire_type::len);
        raw_varint(len);
        for (const auto& v : values) raw_varint(convert(v));
    }

    template <std::size_t Width, class Range, class Convert>
    void packed_fixed(std::uint32_t field, const Range& values, Convert convert) {
        std::size_t count = 0;
        for (auto it = std::begin(values); it != std::end(values); ++it) ++count;
        if (count == 0) return;
        key(field, wire_type::len);
        raw_varint(count * Width);
        for (const auto& v : values) {
            if constexpr (Width == 8) raw_fixed64(convert(v));
            else raw_fixed32(convert(v));
        }
    }

    std::string buf_;       // capacity; bytes [0, size_) are the message
    std::size_t size_ = 0;
};

}  // namespace detail
}  // namespace cpprof
