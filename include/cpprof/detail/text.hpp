#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
// Small text helpers for the renderers and reports: UTF-8 character counting (labels are cut
// by characters, never inside one) and locale-free number formatting.
// The formatters are templates with a dummy parameter: see the note on lazy instantiation in
// config.hpp.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#if !defined(__GNUC__)  // GCC and Clang: see detail::math below
#include <cmath>
#endif

namespace cpprof::detail {

/// The <cmath> functions cpprof uses. <cmath> itself is not included with GCC or Clang:
/// parsing it (C++17 special functions and all) costs about 0.1 s in every translation unit.
namespace math {
#if defined(__GNUC__)
inline bool isfinite(double v) { return __builtin_isfinite(v); }
inline double fabs(double v) { return __builtin_fabs(v); }
inline double floor(double v) { return __builtin_floor(v); }
inline long long llround(double v) { return __builtin_llround(v); }
inline double log(double v) { return __builtin_log(v); }
inline double exp(double v) { return __builtin_exp(v); }
#else
using std::exp;
using std::fabs;
using std::floor;
using std::isfinite;
using std::llround;
using std::log;
#endif
}  // namespace math

/// Length of the well-formed UTF-8 sequence at the start of `s` (`n` > 0 bytes), its code point
/// in `cp`; 0 when there is none (a stray continuation byte, an overlong form, a surrogate,
/// beyond U+10FFFF, or cut short).
inline std::size_t utf8_decode(const unsigned char* s, std::size_t n, std::uint32_t& cp) {
    const unsigned c = s[0];
    cp = c;
    if (c < 0x80) return 1;
    std::size_t len = 0;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;  // continuation byte, C0/C1 (overlong two-byte forms), F5..FF
    }
    if (len > n) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        if ((s[k] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/// Number of characters (code points) in UTF-8 text.
inline std::size_t utf8_length(std::string_view s) {
    std::size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
    return n;
}

/// Byte length of the first `chars` characters of UTF-8 `s` (all of it when shorter).
inline std::size_t utf8_prefix_bytes(std::string_view s, std::size_t chars) {
    std::size_t i = 0;
    for (; i < s.size(); ++i)
        if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80 && chars-- == 0) break;
    return i;
}

/// Room for any number the two formatters below write.
inline constexpr std::size_t number_buffer_size = 32;

/// Writes 1234567 as "1,234,567" into `out` (number_buffer_size chars); returns the length.
template <class = void>
std::size_t format_grouped(char* out, std::int64_t v) {
    char digits[24];
    auto r = std::to_chars(digits, digits + sizeof digits, v);
    const char* d = digits;
    std::size_t n = 0;
    if (*d == '-') out[n++] = *d++;
    const auto count = static_cast<std::size_t>(r.ptr - d);
    for (std::size_t i = 0; i < count; ++i) {
        if (i != 0 && (count - i) % 3 == 0) out[n++] = ',';
        out[n++] = d[i];
    }
    return n;
}

/// Writes `v` rounded to `decimals` (0..6) places into `out` (number_buffer_size chars), with
/// no regard to any locale; returns the length. With `trim`, trailing zeros and a bare point
/// are dropped ("10", "12.5").
template <class = void>
std::size_t format_fixed(char* out, double v, int decimals, bool trim) {
    static constexpr std::int64_t pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    if (!math::isfinite(v) || math::fabs(v) > 1e12) v = 0;  // keeps the result within the buffer
    std::int64_t scaled = math::llround(v * static_cast<double>(pow10[decimals]));
    std::size_t n = 0;
    if (scaled < 0) {
        out[n++] = '-';
        scaled = -scaled;
    }
    n = static_cast<std::size_t>(
        std::to_chars(out + n, out + number_buffer_size, scaled / pow10[decimals]).ptr - out);
    std::int64_t frac = scaled % pow10[decimals];
    int digits = decimals;
    if (trim)
        for (; digits > 0 && frac % 10 == 0; --digits) frac /= 10;
    if (digits == 0 || n + 1 + static_cast<std::size_t>(digits) > number_buffer_size) return n;
    out[n++] = '.';
    for (int i = digits - 1; i >= 0; --i, frac /= 10) out[n + static_cast<std::size_t>(i)] =
        static_cast<char>('0' + frac % 10);
    return n + static_cast<std::size_t>(digits);
}

template <class = void>
std::string grouped_number(std::int64_t v) {
    char buf[number_buffer_size];
    return std::string(buf, format_grouped(buf, v));
}

template <class = void>
std::string fixed_number(double v, int decimals) {
    char buf[number_buffer_size];
    return std::string(buf, format_fixed(buf, v, decimals, false));
}

}  // namespace cpprof::detail
