// The strict JSON reader (cpprof/detail/json_reader.hpp) that reads request bodies: what RFC
// 8259 allows is read, everything else is refused with the byte offset and the reason.

#include <doctest/doctest.h>

#include <string>

#include <cpprof/detail/json_reader.hpp>
#include <cpprof/error.hpp>

using cpprof::detail::json_value;
using cpprof::detail::parse_json;

TEST_CASE("json reader: values of every kind") {
    const json_value v = parse_json(
        " {\"a\": [1, -0, 2.5e-3, 1E+2], \"b\": {\"c\": null}, \"t\": true, \"f\": false,\n"
        "  \"s\": \"x\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\xc3\xa9\"}\t\r\n");
    REQUIRE(v.type == json_value::kind::object);
    REQUIRE(v.members.size() == 5);
    const json_value* a = v.member("a");
    REQUIRE(a);
    REQUIRE(a->items.size() == 4);
    CHECK(a->items[0].text == "1");
    CHECK(a->items[1].text == "-0");
    CHECK(a->items[2].text == "2.5e-3");
    CHECK(a->items[3].text == "1E+2");
    CHECK(v.member("b")->member("c")->type == json_value::kind::null);
    CHECK(v.member("t")->boolean);
    CHECK(v.member("f")->type == json_value::kind::boolean);
    CHECK_FALSE(v.member("f")->boolean);
    CHECK(v.member("s")->text == "x\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9");
    CHECK(v.member("zz") == nullptr);
    CHECK(parse_json("[]").items.empty());
    CHECK(parse_json("{}").members.empty());
    CHECK(parse_json("\"\"").text.empty());
    CHECK(parse_json("0").text == "0");
}

TEST_CASE("json reader: everything not strict JSON is refused with where and why") {
    struct bad_case {
        const char* text;
        const char* reason;
    };
    for (const bad_case& c : {
             bad_case{"", "at byte 0: unexpected end of input"},
             bad_case{"   ", "at byte 3: unexpected end of input"},
             bad_case{"{", "at byte 1: expected a string key"},
             bad_case{"{\"a\" 1}", "at byte 5: expected ':'"},
             bad_case{"{\"a\": 1,}", "at byte 8: expected a string key"},
             bad_case{"[1,]", "at byte 3: invalid value"},
             bad_case{"[1 2]", "expected ',' or ']'"},
             bad_case{"{\"a\": 1 \"b\": 2}", "expected ',' or '}'"},
             bad_case{"{\"a\": 1, \"a\": 2}", "at byte 9: duplicate key \"a\""},
             bad_case{"01", "leading zero"},
             bad_case{"-", "invalid value"},
             bad_case{"+1", "invalid value"},
             bad_case{".5", "invalid value"},
             bad_case{"1.", "expected a digit after '.'"},
             bad_case{"1e", "expected a digit in the exponent"},
             bad_case{"NaN", "invalid value"},
             bad_case{"Infinity", "invalid value"},
             bad_case{"tru", "invalid literal"},
             bad_case{"nul", "invalid literal"},
             bad_case{"'a'", "invalid value"},
             bad_case{"\"abc", "unterminated string"},
             bad_case{"\"a\nb\"", "control character"},
             bad_case{"\"\\x\"", "invalid escape"},
             bad_case{"\"\\u12zz\"", "bad hex digit"},
             bad_case{"\"\\u12", "truncated"},
             bad_case{"\"\\udc00\"", "lone low surrogate"},
             bad_case{"\"\\ud800\"", "high surrogate without a low one"},
             bad_case{"\"\\ud800\\u0041\"", "high surrogate without a low one"},
             bad_case{"\"\xff\"", "invalid UTF-8"},
             bad_case{"\"\xc0\xaf\"", "invalid UTF-8"},
             bad_case{"\"\xed\xa0\x80\"", "invalid UTF-8"},
             bad_case{"1 2", "unexpected text after"},
             bad_case{"{} //", "unexpected text after"},
             bad_case{"\xef\xbb\xbf{}", "invalid value"},
         }) {
        CAPTURE(c.text);
        CHECK_THROWS_WITH_AS(parse_json(c.text), doctest::Contains(c.reason), cpprof::error);
    }
    // Nesting is bounded.
    CHECK_NOTHROW(parse_json(std::string(32, '[') + std::string(32, ']')));
    CHECK_THROWS_WITH_AS(parse_json(std::string(33, '[') + std::string(33, ']')),
                         doctest::Contains("nested deeper than 32"), cpprof::error);
    CHECK_THROWS_AS(parse_json(std::string(100000, '[')), cpprof::error);
}
