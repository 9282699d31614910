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
#include <cpprof/detail/text.hpp>

namespace cpprof::detail {

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
        std::uint32_t cp;
        const std::size_t len = utf8_decode(s + i, n - i, cp);
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

/// Writes `s` (valid UTF-8: see sanitize_utf8) as a JSON string, quotes included, to `w`: a
/// chunked_writer, or anything with put(char) and put(std::string_view) (string_sink).
template <class Sink>
void put_json_string(Sink& w, std::string_view s) {
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

/// A put_json_string sink that appends to a std::string.
struct string_sink {
    std::string& out;
    void put(char c) { out.push_back(c); }
    void put(std::string_view s) { out.append(s); }
};

/// `s` as a JSON string, quotes included, any invalid UTF-8 replaced by U+FFFD.
inline std::string json_quoted(std::string_view s) {
    std::string clean, out;
    sanitize_utf8(s, clean);
    string_sink sink{out};
    put_json_string(sink, clean);
    return out;
}

}  // namespace cpprof::detail
