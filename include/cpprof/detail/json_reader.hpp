#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
// A small strict JSON reader (RFC 8259) for request bodies such as the HTTP server's
// `{"frequency": 100}`. Strict means: one value and nothing but whitespace (space, tab, CR, LF)
// around it; no comments, trailing commas, single quotes, NaN/Infinity, leading zeros, leading
// '+' or bare control characters in strings; strings must be valid UTF-8 and \u escapes
// well-formed (a high surrogate must be followed by a low one); duplicate object keys are an
// error (RFC 8259 leaves them undefined; a request that says two things is refused). Nesting is
// limited (default 32 levels) so hostile input cannot exhaust the stack.
//
// parse_json() returns a value tree or throws cpprof::error naming the byte offset and what is
// wrong there ("JSON: at byte 12: expected ',' or '}' in an object").

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <cpprof/detail/text.hpp>
#include <cpprof/error.hpp>

namespace cpprof::detail {

struct json_value {
    enum class kind { null, boolean, number, string, array, object };
    kind type = kind::null;
    bool boolean = false;
    std::string text;  ///< number: its literal text; string: the decoded UTF-8
    std::vector<json_value> items;                           ///< array
    std::vector<std::pair<std::string, json_value>> members;  ///< object, in order

    const json_value* member(std::string_view key) const {
        for (const auto& m : members)
            if (m.first == key) return &m.second;
        return nullptr;
    }
};

inline const char* json_kind_name(json_value::kind k) {
    switch (k) {
        case json_value::kind::null: return "null";
        case json_value::kind::boolean: return "a boolean";
        case json_value::kind::number: return "a number";
        case json_value::kind::string: return "a string";
        case json_value::kind::array: return "an array";
        case json_value::kind::object: return "an object";
    }
    return "?";
}

template <class = void>
class basic_json_reader {
public:
    basic_json_reader(std::string_view text, int max_depth) : s_(text), max_depth_(max_depth) {}

    json_value parse() {
        skip_ws();
        json_value v = value(0);
        skip_ws();
        if (pos_ != s_.size()) fail("unexpected text after the JSON value");
        return v;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw error("JSON: at byte " + std::to_string(pos_) + ": " + what);
    }

    void skip_ws() {
        while (pos_ < s_.size() &&
               (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
            ++pos_;
    }

    bool take(char c) {
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }

    void literal(std::string_view word) {
        if (s_.substr(pos_, word.size()) != word) fail("invalid literal (expected a JSON value)");
        pos_ += word.size();
    }

    json_value value(int depth) {
        if (pos_ >= s_.size()) fail("unexpected end of input (expected a JSON value)");
        json_value v;
        switch (s_[pos_]) {
            case '{': {
                if (depth >= max_depth_) fail("nested deeper than " + std::to_string(max_depth_) + " levels");
                v.type = json_value::kind::object;
                ++pos_;
                skip_ws();
                if (take('}')) return v;
                for (;;) {
                    skip_ws();
                    if (pos_ >= s_.size() || s_[pos_] != '"') fail("expected a string key in an object");
                    const std::size_t key_at = pos_;
                    std::string key = string();
                    if (v.member(key)) {
                        pos_ = key_at;
                        fail("duplicate key \"" + key + "\"");
                    }
                    skip_ws();
                    if (!take(':')) fail("expected ':' after an object key");
                    skip_ws();
                    json_value m = value(depth + 1);
                    v.members.emplace_back(std::move(key), std::move(m));
                    skip_ws();
                    if (take('}')) return v;
                    if (!take(',')) fail("expected ',' or '}' in an object");
                }
            }
            case '[': {
                if (depth >= max_depth_) fail("nested deeper than " + std::to_string(max_depth_) + " levels");
                v.type = json_value::kind::array;
                ++pos_;
                skip_ws();
                if (take(']')) return v;
                for (;;) {
                    skip_ws();
                    v.items.push_back(value(depth + 1));
                    skip_ws();
                    if (take(']')) return v;
                    if (!take(',')) fail("expected ',' or ']' in an array");
                }
            }
            case '"':
                v.type = json_value::kind::string;
                v.text = string();
                return v;
            case 't': literal("true"); v.type = json_value::kind::boolean; v.boolean = true; return v;
            case 'f': literal("false"); v.type = json_value::kind::boolean; return v;
            case 'n': literal("null"); return v;
            default:
                v.type = json_value::kind::number;
                v.text = number();
                return v;
        }
    }

    static bool digit(char c) { return c >= '0' && c <= '9'; }

    std::string number() {
        const std::size_t start = pos_;
        take('-');
        if (pos_ >= s_.size() || !digit(s_[pos_])) fail("invalid value (expected a JSON value)");
        if (s_[pos_] == '0') {
            ++pos_;
            if (pos_ < s_.size() && digit(s_[pos_])) fail("leading zero in a number");
        } else {
            while (pos_ < s_.size() && digit(s_[pos_])) ++pos_;
        }
        if (take('.')) {
            if (pos_ >= s_.size() || !digit(s_[pos_])) fail("expected a digit after '.'");
            while (pos_ < s_.size() && digit(s_[pos_])) ++pos_;
        }
        if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
            ++pos_;
            if (!take('+')) take('-');
            if (pos_ >= s_.size() || !digit(s_[pos_])) fail("expected a digit in the exponent");
            while (pos_ < s_.size() && digit(s_[pos_])) ++pos_;
        }
        return std::string(s_.substr(start, pos_ - start));
    }

    unsigned hex4() {
        if (s_.size() - pos_ < 4) fail("truncated \\u escape");
        unsigned v = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = s_[pos_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
            else { --pos_; fail("bad hex digit in a \\u escape"); }
        }
        return v;
    }

    static void put_utf8(std::string& out, std::uint32_t cp) {
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
    }

    std::string string() {
        ++pos_;  // the opening quote
        std::string out;
        for (;;) {
            if (pos_ >= s_.size()) fail("unterminated string");
            const auto c = static_cast<unsigned char>(s_[pos_]);
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (c < 0x20) fail("control character in a string (escape it)");
            if (c == '\\') {
                ++pos_;
                if (pos_ >= s_.size()) fail("unterminated string");
                const char e = s_[pos_++];
                switch (e) {
                    case '"': out.push_back('"'); break;
                    case '\\': out.push_back('\\'); break;
                    case '/': out.push_back('/'); break;
                    case 'b': out.push_back('\b'); break;
                    case 'f': out.push_back('\f'); break;
                    case 'n': out.push_back('\n'); break;
                    case 'r': out.push_back('\r'); break;
                    case 't': out.push_back('\t'); break;
                    case 'u': {
                        std::uint32_t cp = hex4();
                        if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate in a \\u escape");
                        if (cp >= 0xD800 && cp <= 0xDBFF) {
                            if (s_.substr(pos_, 2) != "\\u") fail("high surrogate without a low one");
                            pos_ += 2;
                            const std::uint32_t lo = hex4();
                            if (lo < 0xDC00 || lo > 0xDFFF) fail("high surrogate without a low one");
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        }
                        put_utf8(out, cp);
                        break;
                    }
                    default:
                        --pos_;
                        fail("invalid escape in a string");
                }
                continue;
            }
            if (c < 0x80) {
                out.push_back(static_cast<char>(c));
                ++pos_;
                continue;
            }
            std::uint32_t cp = 0;
            const std::size_t len = utf8_decode(
                reinterpret_cast<const unsigned char*>(s_.data()) + pos_, s_.size() - pos_, cp);
            if (len == 0) fail("invalid UTF-8 in a string");
            out.append(s_.substr(pos_, len));
            pos_ += len;
        }
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    int max_depth_;
};

/// Parses one JSON text; throws cpprof::error with the byte offset on anything not strict JSON.
template <class T = void>
json_value parse_json(std::string_view text, int max_depth = 32) {
    return basic_json_reader<T>(text, max_depth).parse();
}

}  // namespace cpprof::detail
