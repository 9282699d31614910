#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
// Small text helpers for the renderers and reports: UTF-8 character counting (labels are cut
// by characters, never inside one) and locale-free number formatting.

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cpprof::detail {

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

/// 1234567 -> "1,234,567".
inline std::string grouped_number(std::int64_t v) {
    char tmp[24];
    auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
    std::string_view digits(tmp, static_cast<std::size_t>(r.ptr - tmp));
    std::string out;
    if (!digits.empty() && digits[0] == '-') {
        out += '-';
        digits.remove_prefix(1);
    }
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

/// `v` with exactly `decimals` (0..6) digits after the point, whatever the global locale.
inline std::string fixed_number(double v, int decimals) {
    static constexpr std::int64_t pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    if (!std::isfinite(v)) v = 0;
    std::int64_t scaled = std::llround(v * static_cast<double>(pow10[decimals]));
    std::string out;
    if (scaled < 0) {
        out += '-';
        scaled = -scaled;
    }
    out += std::to_string(scaled / pow10[decimals]);
    if (decimals > 0) {
        std::string frac = std::to_string(scaled % pow10[decimals]);
        out += '.';
        out.append(static_cast<std::size_t>(decimals) - frac.size(), '0');
        out += frac;
    }
    return out;
}

}  // namespace cpprof::detail
