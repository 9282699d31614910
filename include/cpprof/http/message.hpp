#pragma once
// The contract between an HTTP server and cpprof's /debug/pprof handler: a request in, a
// response out, with no socket code involved. An application that already runs an HTTP server
// copies its request into a cpprof::http::request, calls cpprof::http::handle() and copies the
// cpprof::http::response back; cpprof's own server (cpprof::http::server) does the same.
//
//  - request::method is the method token as sent ("GET", "POST", ...), case-sensitive.
//  - request::path is the percent-decoded path ("/debug/pprof/profile").
//  - request::query is the raw query string, without the '?' and not decoded
//    ("seconds=5&frequency=99"). It is authoritative: handle() parses it itself (a bad escape is
//    answered with 400), so an application only has to fill it.
//  - request::params is what parse_query(query) gives; cpprof's request parser fills it, an
//    application may leave it empty.
//  - Header names compare case-insensitively (header()); values are kept as sent, with the
//    surrounding spaces and tabs removed.
//
// parse_query() follows the rules of HTML form encoding as Go's url.ParseQuery does: '&'
// separates pairs, '+' is a space, %XX is a byte; a '%' not followed by two hex digits, a
// decoded NUL or a ';' (Go rejects it too, since 1.17) is an error.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <cpprof/error.hpp>

namespace cpprof {
namespace http {

/// Name/value pairs in the order received (headers, query parameters).
using fields = std::vector<std::pair<std::string, std::string>>;

namespace detail {

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

inline const std::string* find_field(const fields& f, std::string_view name, bool case_insensitive) {
    for (const auto& kv : f)
        if (case_insensitive ? iequals(kv.first, name) : kv.first == name) return &kv.second;
    return nullptr;
}

/// A printable rendering of untrusted bytes for an error message (at most 64 of them).
inline std::string quote_bytes(std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    std::string out = "'";
    for (std::size_t i = 0; i < s.size() && i < 64; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
            out.push_back(static_cast<char>(c));
        } else {
            out += "\\x";
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    if (s.size() > 64) out += "...";
    return out + "'";
}

inline int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// Percent-decodes `in` into `out` ('+' is a space when plus_is_space). Returns an empty string
/// on success, else the reason.
inline std::string percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
    out.clear();
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '%') {
            const int hi = i + 1 < in.size() ? hex_digit(in[i + 1]) : -1;
            const int lo = i + 2 < in.size() ? hex_digit(in[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return "bad percent-escape at byte " + std::to_string(i) +
                       " ('%' must be followed by two hex digits)";
            const char b = static_cast<char>(hi * 16 + lo);
            if (b == '\0') return "percent-escape %00 (NUL) at byte " + std::to_string(i);
            out.push_back(b);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return {};
}

/// Splits and decodes a raw query string; returns an empty string on success, else the reason.
inline std::string parse_query_into(std::string_view query, fields& out) {
    out.clear();
    std::size_t pos = 0;
    while (pos <= query.size()) {
        std::size_t amp = query.find('&', pos);
        if (amp == std::string_view::npos) amp = query.size();
        const std::string_view pair = query.substr(pos, amp - pos);
        pos = amp + 1;
        if (pair.empty()) continue;
        if (pair.find(';') != std::string_view::npos)
            return "';' in query string (separate parameters with '&')";
        const std::size_t eq = pair.find('=');
        std::string name, value;
        std::string why = percent_decode(pair.substr(0, eq), name, true);
        if (why.empty() && eq != std::string_view::npos)
            why = percent_decode(pair.substr(eq + 1), value, true);
        if (!why.empty()) return "query parameter '" + std::string(pair) + "': " + why;
        out.emplace_back(std::move(name), std::move(value));
    }
    return {};
}

}  // namespace detail

/// Decodes a raw query string ("a=1&b=x%20y") into pairs. Throws cpprof::error on a bad escape.
inline fields parse_query(std::string_view query) {
    fields out;
    const std::string why = detail::parse_query_into(query, out);
    if (!why.empty()) throw error("http: " + why);
    return out;
}

struct request {
    std::string method = "GET";
    std::string path = "/";
    std::string query;
    fields params;
    fields headers;
    std::string body;

    /// The first header with this name (case-insensitive), or nullptr.
    const std::string* header(std::string_view name) const {
        return detail::find_field(headers, name, true);
    }
    /// The first decoded query parameter with this name (case-sensitive), or nullptr.
    const std::string* param(std::string_view name) const {
        return detail::find_field(params, name, false);
    }
};

struct response {
    int status = 200;
    fields headers;
    std::string body;

    const std::string* header(std::string_view name) const {
        return detail::find_field(headers, name, true);
    }
    /// Replaces the first header of this name (case-insensitive) or adds it.
    response& set_header(std::string name, std::string value) {
        for (auto& kv : headers)
            if (detail::iequals(kv.first, name)) {
                kv.second = std::move(value);
                return *this;
            }
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
};

/// A plain-text response, e.g. an error with its reason: text_response(400, "bad seconds").
inline response text_response(int status, std::string text) {
    response r;
    r.status = status;
    if (!text.empty() && text.back() != '\n') text.push_back('\n');
    r.body = std::move(text);
    r.set_header("Content-Type", "text/plain; charset=utf-8");
    r.set_header("X-Content-Type-Options", "nosniff");
    return r;
}

/// The reason phrase of a status code ("Not Found"), or "Unknown" for codes not listed.
inline const char* status_text(int status) {
    switch (status) {
        case 100: return "Continue";
        case 200: return "OK";
        case 204: return "No Content";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 411: return "Length Required";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 422: return "Unprocessable Content";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        default: return "Unknown";
    }
}

}  // namespace http
}  // namespace cpprof
