#pragma once
// A strict JSON (RFC 8259) reader for tests: it rejects anything the RFC does not allow
// (invalid UTF-8, raw control characters in strings, lone surrogate escapes, NaN/Infinity,
// leading zeros, trailing commas, trailing text), so a test that parses a writer's output
// also proves the output is valid JSON. Numbers keep their text; as_int() insists on an integer.

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cpprof_test::json {

struct value {
    enum kind_t { null, boolean, number, string, array, object } kind = null;
    bool b = false;
    std::string text;  ///< string contents (UTF-8), or a number's text
    std::vector<value> items;
    std::vector<std::pair<std::string, value>> members;  ///< in document order

    bool is_string() const { return kind == string; }
    bool is_number() const { return kind == number; }
    bool is_array() const { return kind == array; }
    bool is_object() const { return kind == object; }

    bool has(std::string_view key) const {
        for (const auto& m : members)
            if (m.first == key) return true;
        return false;
    }
    const value& operator[](std::string_view key) const {
        if (kind != object) throw std::runtime_error("json: not an object, looking up " + std::string(key));
        for (const auto& m : members)
            if (m.first == key) return m.second;
        throw std::runtime_error("json: no member " + std::string(key));
    }
    const value& operator[](std::size_t i) const {
        if (kind != array) throw std::runtime_error("json: not an array");
        if (i >= items.size()) throw std::runtime_error("json: index out of range");
        return items[i];
    }
    std::size_t size() const { return kind == array ? items.size() : members.size(); }
    const std::string& str() const {
        if (kind != string) throw std::runtime_error("json: not a string");
        return text;
    }
    std::int64_t as_int() const {
        if (kind != number) throw std::runtime_error("json: not a number");
        if (text.find_first_of(".eE") != std::string::npos)
            throw std::runtime_error("json: not an integer: " + text);
        return std::strtoll(text.c_str(), nullptr, 10);
    }
};

class parser {
public:
    explicit parser(std::string_view s) : s_(s) {}

    value parse_document() {
        value v = parse_value(0);
        skip_ws();
        if (i_ != s_.size()) fail("text after the value");
        return v;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw std::runtime_error("json: " + what + " at byte " + std::to_string(i_));
    }
    void skip_ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }
    bool eat(char c) {
        skip_ws();
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    void expect(char c) {
        if (!eat(c)) fail(std::string("expected '") + c + "'");
    }
    bool literal(std::string_view word) {
        if (s_.substr(i_, word.size()) != word) return false;
        i_ += word.size();
        return true;
    }

    value parse_value(int depth) {
        if (depth > 512) fail("nesting too deep");
        skip_ws();
        if (i_ >= s_.size()) fail("unexpected end");
        value v;
        const char c = s_[i_];
        if (c == '{') {
            ++i_;
            v.kind = value::object;
            if (eat('}')) return v;
            do {
                skip_ws();
                if (i_ >= s_.size() || s_[i_] != '"') fail("expected a member name");
                std::string key = parse_string();
                expect(':');
                v.members.emplace_back(std::move(key), parse_value(depth + 1));
            } while (eat(','));
            expect('}');
        } else if (c == '[') {
            ++i_;
            v.kind = value::array;
            if (eat(']')) return v;
            do v.items.push_back(parse_value(depth + 1));
            while (eat(','));
            expect(']');
        } else if (c == '"') {
            v.kind = value::string;
            v.text = parse_string();
        } else if (literal("true")) {
            v.kind = value::boolean;
            v.b = true;
        } else if (literal("false")) {
            v.kind = value::boolean;
        } else if (literal("null")) {
            v.kind = value::null;
        } else {
            v.kind = value::number;
            v.text = parse_number();
        }
        return v;
    }

    std::string parse_number() {
        const std::size_t start = i_;
        auto digits = [&] {
            const std::size_t d = i_;
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
            return i_ - d;
        };
        if (i_ < s_.size() && s_[i_] == '-') ++i_;
        if (i_ < s_.size() && s_[i_] == '0')
            ++i_;
        else if (digits() == 0)
            fail("not a JSON value");
        if (i_ < s_.size() && s_[i_] == '.') {
            ++i_;
            if (digits() == 0) fail("digits expected after '.'");
        }
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            ++i_;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
            if (digits() == 0) fail("digits expected in the exponent");
        }
        return std::string(s_.substr(start, i_ - start));
    }

    unsigned hex4() {
        if (i_ + 4 > s_.size()) fail("short \\u escape");
        unsigned v = 0;
        for (int k = 0; k < 4; ++k) {
            const char h = s_[i_++];
            v <<= 4;
            if (h >= '0' && h <= '9') v |= static_cast<unsigned>(h - '0');
            else if (h >= 'a' && h <= 'f') v |= static_cast<unsigned>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') v |= static_cast<unsigned>(h - 'A' + 10);
            else fail("bad hex digit in \\u escape");
        }
        return v;
    }

    static void put_utf8(std::string& out, std::uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }

    std::string parse_string() {
        ++i_;  // the opening quote
        std::string out;
        for (;;) {
            if (i_ >= s_.size()) fail("unterminated string");
            const auto c = static_cast<unsigned char>(s_[i_]);
            if (c == '"') {
                ++i_;
                return out;
            }
            if (c < 0x20) fail("raw control character in a string");
            if (c == '\\') {
                ++i_;
                if (i_ >= s_.size()) fail("unterminated escape");
                const char e = s_[i_++];
                switch (e) {
                    case '"': out += '"'; break;
                    case '\\': out += '\\'; break;
                    case '/': out += '/'; break;
                    case 'b': out += '\b'; break;
                    case 'f': out += '\f'; break;
                    case 'n': out += '\n'; break;
                    case 'r': out += '\r'; break;
                    case 't': out += '\t'; break;
                    case 'u': {
                        std::uint32_t cp = hex4();
                        if (cp >= 0xdc00 && cp <= 0xdfff) fail("lone low surrogate");
                        if (cp >= 0xd800 && cp <= 0xdbff) {
                            if (!literal("\\u")) fail("lone high surrogate");
                            const unsigned lo = hex4();
                            if (lo < 0xdc00 || lo > 0xdfff) fail("bad surrogate pair");
                            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        }
                        put_utf8(out, cp);
                        break;
                    }
                    default: fail("bad escape");
                }
                continue;
            }
            if (c < 0x80) {
                out += static_cast<char>(c);
                ++i_;
                continue;
            }
            // Well-formed UTF-8 only (RFC 3629): no overlong forms, surrogates or > U+10FFFF.
            std::size_t len = 0;
            std::uint32_t cp = 0;
            if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f;
            else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f;
            else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07;
            else fail("invalid UTF-8 byte");
            if (i_ + len > s_.size()) fail("truncated UTF-8 sequence");
            for (std::size_t k = 1; k < len; ++k) {
                const auto cc = static_cast<unsigned char>(s_[i_ + k]);
                if ((cc & 0xc0) != 0x80) fail("invalid UTF-8 continuation");
                cp = (cp << 6) | (cc & 0x3f);
            }
            if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
                (cp >= 0xd800 && cp <= 0xdfff))
                fail("ill-formed UTF-8 sequence");
            out.append(s_.substr(i_, len));
            i_ += len;
        }
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

/// Parses `text` as one JSON document; throws std::runtime_error saying where it is invalid.
inline value parse(std::string_view text) { return parser(text).parse_document(); }

}  // namespace cpprof_test::json
