#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
// JSON text for the JSON writers (speedscope): strings that are always valid (RFC 8259).
//
// - sanitize_utf8: each byte that does not start a well-formed UTF-8 sequence (stray
//   continuation bytes, truncated sequences, overlong forms, UTF-16 surrogates, code points
//   above U+10FFFF) becomes U+FFFD; everything else, control characters included, is kept.
// - put_json_string: quotes and escapes valid UTF-8: `"` and `\`, and every control character
//   below U+0020 (\b \f \n \r \t by name, the rest as \u00XX). Nothing else needs escaping.
//
// Names are sanitized once, before they are compared or merged, so that two names that differ
// only in broken bytes become one; escaping happens as they are written.
// Templates with a dummy parameter: see the note on lazy instantiation in config.hpp.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <cpprof/detail/chunked_writer.hpp>

namespace cpprof::detail {

/// Length of the well-formed UTF-8 sequence at the start of `s`, or 0 when there is none.
inline std::size_t utf8_sequence_length(const unsigned char* s, std::size_t n) {
    const unsigned c = s[0];
    if (c < 0x80) return 1;
    std::size_t len = 0;
    std::uint32_t cp = 0;
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

/// Copies `in` to `out` with every byte that does not start a well-formed UTF-8 sequence
/// replaced by U+FFFD.
inline void sanitize_utf8(std::string_view in, std::string& out) {
    static constexpr std::string_view replacement = "\xEF\xBF\xBD";
    out.clear();
    out.reserve(in.size());
    const auto* s = reinterpret_cast<const unsigned char*>(in.data());
    const std::size_t n = in.size();
    std::size_t start = 0;  // of the run of good bytes not yet copied
    for (std::size_t i = 0; i < n;) {
        if (s[i] < 0x80) {
            ++i;
            continue;
        }
        const std::size_t len = utf8_sequence_length(s + i, n - i);
        if (len != 0) {
            i += len;
            continue;
        }
        out.append(in.data() + start, i - start);
        out.append(replacement);
        start = ++i;
    }
    out.append(in.data() + start, n - start);
}

/// Writes `s` (valid UTF-8: see sanitize_utf8) as a JSON string, quotes included.
template <class = void>
void put_json_string(chunked_writer& w, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    w.put('"');
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        w.put(s.substr(start, i - start));
        switch (c) {
            case '"': w.put("\\\""); break;
            case '\\': w.put("\\\\"); break;
            case '\b': w.put("\\b"); break;
            case '\f': w.put("\\f"); break;
            case '\n': w.put("\\n"); break;
            case '\r': w.put("\\r"); break;
            case '\t': w.put("\\t"); break;
            default: {
                const char u[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                w.put(std::string_view(u, sizeof u));
            }
        }
        start = i + 1;
    }
    w.put(s.substr(start));
    w.put('"');
}

}  // namespace cpprof::detail
