#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
// HTTP/1.1 on the wire (RFC 9112): the request parser and the response writer of cpprof's
// server, in cpprof::http::detail. They live beside message.hpp rather than in detail/ because
// they fill and read its public types.
//
// parse_request() is written for hostile input and never throws: it looks at the bytes received
// so far on a connection and says one of
//   - complete:   one whole request was read; `consumed` bytes of the input belong to it, and
//                 whatever follows is the start of the next (pipelined) request;
//   - incomplete: more bytes are needed (nothing is consumed: call again with more);
//   - error:      answer `error_status` with `reason` and close the connection.
// What it enforces:
//   - the request line and the headers together within limits.max_head bytes (default 8 KiB)
//     and limits.max_headers fields, else 431, decided as soon as the limit is passed;
//   - a body only by Content-Length, at most limits.max_body bytes (default 64 KiB), else 413,
//     decided from the header before the body is read; several Content-Length fields must agree
//     and be plain digits, else 400;
//   - Transfer-Encoding (chunked or any other) is refused with 501: cpprof's endpoints take tiny
//     bodies, so clients must send Content-Length;
//   - request line "METHOD SP TARGET SP HTTP/1.x": the method a token, the target in origin
//     form ("/path?query") or absolute form ("http://host/path"), visible ASCII only, no
//     fragment; HTTP/2.0 and other majors get 505; an HTTP/1.1 request must carry exactly one
//     Host (RFC 9112 §3.2), else 400;
//   - header lines "name: value", the name a token with no space before the colon, the value
//     without control characters; obsolete line folding is refused with 400;
//   - lines end in CRLF or a bare LF (RFC 9112 §2.2 allows it); a CR anywhere else is a 400;
//     empty lines before the request line are skipped (clients may send one after a body);
//   - the path is percent-decoded and the query parsed (message.hpp): a bad escape is a 400.
// keep_alive follows the version and the Connection header (HTTP/1.1 keeps the connection
// unless "close"; HTTP/1.0 closes it unless "keep-alive").
//
// serialize_response() writes the status line, the response's headers (validated: a token name
// and a value without CR, LF or NUL, else cpprof::error, since header injection is a bug of the
// caller), then Content-Length and Connection written by itself (any such header in the
// response is dropped, as is Transfer-Encoding), then the body unless head_only. 1xx, 204 and
// 304 responses have neither Content-Length nor a body.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include <cpprof/error.hpp>
#include <cpprof/http/message.hpp>

namespace cpprof {
namespace http {
namespace detail {

struct parse_limits {
    std::size_t max_head = 8 * 1024;
    std::size_t max_headers = 100;
    std::size_t max_body = 64 * 1024;
};

enum class parse_status { complete, incomplete, error };

struct parse_result {
    parse_status status = parse_status::incomplete;
    std::size_t consumed = 0;    ///< complete: bytes of the input that made the request
    int error_status = 0;        ///< error: the status to answer (400, 413, 431, 501, 505)
    std::string reason;          ///< error: what was wrong, for the response body
    bool keep_alive = false;     ///< complete: the connection may carry another request
    bool expect_continue = false;  ///< the head was read and says "Expect: 100-continue"
    bool head_complete = false;  ///< the head was read (incomplete: the body is still missing)
};

inline bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
        case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
        case '-': case '.': case '^': case '_': case '`': case '|': case '~':
            return true;
        default:
            return false;
    }
}

inline bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_tchar(c)) return false;
    return true;
}

inline std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// True when the comma-separated list `value` holds `token` (case-insensitive).
inline bool list_has_token(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        std::size_t comma = value.find(',');
        if (comma == std::string_view::npos) comma = value.size();
        if (iequals(trim_ows(value.substr(0, comma)), token)) return true;
        value.remove_prefix(comma == value.size() ? comma : comma + 1);
    }
    return false;
}

inline parse_result parse_failure(int status, std::string reason) {
    parse_result r;
    r.status = parse_status::error;
    r.error_status = status;
    r.reason = std::move(reason);
    return r;
}

/// Parses the request target (origin or absolute form) into out.path / query / params.
/// Returns an empty string on success, else the reason for a 400.
inline std::string parse_target(std::string_view target, request& out) {
    for (char c : target) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) return "request target has a byte that is not visible ASCII";
        if (c == '#') return "request target has a fragment ('#')";
    }
    if (target.empty()) return "empty request target";
    if (target.front() != '/') {
        std::size_t scheme_len = 0;
        if (target.size() >= 7 && iequals(target.substr(0, 7), "http://")) scheme_len = 7;
        else if (target.size() >= 8 && iequals(target.substr(0, 8), "https://")) scheme_len = 8;
        if (scheme_len == 0)
            return "request target " + quote_bytes(target) +
                   " is neither a path ('/...') nor an absolute http URL";
        target.remove_prefix(scheme_len);
        const std::size_t end = target.find_first_of("/?");
        if (end == 0) return "absolute request target without a host";
        if (end == std::string_view::npos) {
            target = "/";
        } else {
            target.remove_prefix(end);
            if (target.front() == '?') {
                out.path = "/";
                out.query.assign(target.substr(1));
                const std::string why = parse_query_into(out.query, out.params);
                return why;
            }
        }
    }
    const std::size_t q = target.find('?');
    const std::string_view raw_path = target.substr(0, q);
    std::string why = percent_decode(raw_path, out.path, false);
    if (!why.empty()) return "path " + quote_bytes(raw_path) + ": " + why;
    if (q != std::string_view::npos) {
        out.query.assign(target.substr(q + 1));
        why = parse_query_into(out.query, out.params);
    } else {
        out.query.clear();
        out.params.clear();
    }
    return why;
}

/// See the top of this file. `out` is overwritten when the result is complete, and may hold a
/// partial request otherwise.
inline parse_result parse_request(std::string_view in, request& out, const parse_limits& limits = {}) {
    std::size_t pos = 0;
    // Empty lines before the request line are skipped (RFC 9112 §2.2), within the head limit.
    while (pos < in.size() && (in[pos] == '\n' || (in[pos] == '\r' && pos + 1 < in.size() && in[pos + 1] == '\n')))
        pos += in[pos] == '\r' ? 2 : 1;
    if (pos > limits.max_head)
        return parse_failure(431, "more than " + std::to_string(limits.max_head) +
                                      " bytes of empty lines before the request line");
    const std::size_t head_start = pos;

    // Reads the next line: returns false when it is not all here yet.
    std::string_view line;
    std::string bad_line;
    auto next_line = [&](std::size_t& p) -> bool {
        const std::size_t nl = in.find('\n', p);
        if (nl == std::string_view::npos) return false;
        line = in.substr(p, nl - p);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.find('\r') != std::string_view::npos) bad_line = "a CR that does not end a line";
        p = nl + 1;
        return true;
    };
    auto too_large = [&]() {
        return parse_failure(431, "the request line and headers are larger than " +
                                      std::to_string(limits.max_head) + " bytes");
    };
    auto not_yet = [&](std::size_t p) {
        if (p - head_start > limits.max_head) return too_large();
        return parse_result{};
    };

    // Request line. The method is checked as its bytes arrive, so that a client speaking
    // something else (TLS, HTTP/2's preface is caught by the version) is refused at once
    // rather than after the request timeout.
    for (std::size_t i = pos; i < in.size() && in[i] != ' '; ++i) {
        if (is_tchar(in[i]) || in[i] == '\r' || in[i] == '\n') continue;
        if (i == pos && in[i] == '\x16')
            return parse_failure(400, "this looks like a TLS handshake: the server speaks plain "
                                      "HTTP (use http://, not https://)");
        return parse_failure(400, "not an HTTP request: bad method " +
                                      quote_bytes(in.substr(pos, i + 1 - pos)));
    }
    if (!next_line(pos)) return not_yet(in.size());
    if (pos - head_start > limits.max_head) return too_large();
    if (!bad_line.empty()) return parse_failure(400, "request line has " + bad_line);
    const std::size_t sp1 = line.find(' ');
    const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return parse_failure(400, "malformed request line " + quote_bytes(line) +
                                      " (expected 'METHOD /path HTTP/1.1')");
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method)) return parse_failure(400, "bad method " + quote_bytes(method));
    if (version.size() != 8 || version.compare(0, 5, "HTTP/") != 0 || version[5] < '0' ||
        version[5] > '9' || version[6] != '.' || version[7] < '0' || version[7] > '9')
        return parse_failure(400, "bad HTTP version " + quote_bytes(version));
    if (version[5] != '1')
        return parse_failure(505, "HTTP version " + std::string(version) +
                                      " is not supported (HTTP/1.0 and HTTP/1.1 are)");
    const bool http10 = version[7] == '0';
    out = request{};
    out.method.assign(method);
    {
        const std::string why = parse_target(target, out);
        if (!why.empty()) return parse_failure(400, why);
    }

    // Header fields.
    for (;;) {
        if (!next_line(pos)) return not_yet(in.size());
        if (pos - head_start > limits.max_head) return too_large();
        if (!bad_line.empty()) return parse_failure(400, "header line has " + bad_line);
        if (line.empty()) break;
        if (line.front() == ' ' || line.front() == '\t')
            return parse_failure(400, "obsolete header line folding (a line starting with a space "
                                      "or tab) is not accepted");
        if (out.headers.size() >= limits.max_headers)
            return parse_failure(431, "more than " + std::to_string(limits.max_headers) +
                                          " header fields");
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos)
            return parse_failure(400, "header line without ':': " + quote_bytes(line));
        const std::string_view name = line.substr(0, colon);
        if (!is_token(name))
            return parse_failure(400, "bad header name " + quote_bytes(name) +
                                          " (a token, with no space before the ':')");
        const std::string_view value = trim_ows(line.substr(colon + 1));
        for (char c : value) {
            const auto u = static_cast<unsigned char>(c);
            if ((u < 0x20 && c != '\t') || u == 0x7f)
                return parse_failure(400, "header " + std::string(name) +
                                              " has a control character in its value");
        }
        out.headers.emplace_back(std::string(name), std::string(value));
    }
    const std::size_t head_end = pos;

    // Framing and the fields the parser acts upon.
    std::size_t host_count = 0;
    bool have_length = false;
    std::size_t length = 0;
    parse_result result;
    for (const auto& kv : out.headers) {
        if (iequals(kv.first, "Host")) {
            ++host_count;
        } else if (iequals(kv.first, "Transfer-Encoding")) {
            return parse_failure(501, "Transfer-Encoding (" + quote_bytes(kv.second) +
                                          ") is not supported: send the body with Content-Length");
        } else if (iequals(kv.first, "Content-Length")) {
            const std::string& v = kv.second;
            if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
                return parse_failure(400, "bad Content-Length " + quote_bytes(v));
            std::size_t n = 0;
            for (char c : v) {
                n = n * 10 + static_cast<std::size_t>(c - '0');
                if (n > limits.max_body)
                    return parse_failure(413, "request body of " + v + " bytes is larger than " +
                                                  std::to_string(limits.max_body) + " bytes");
            }
            if (have_length && n != length)
                return parse_failure(400, "Content-Length fields disagree");
            have_length = true;
            length = n;
        } else if (iequals(kv.first, "Expect")) {
            if (iequals(kv.second, "100-continue")) result.expect_continue = true;
        }
    }
    if (!http10 && host_count != 1)
        return parse_failure(400, host_count == 0 ? "HTTP/1.1 request without a Host header"
                                                  : "more than one Host header");
    if (host_count > 1) return parse_failure(400, "more than one Host header");

    // Every Connection field counts; "close" wins over "keep-alive".
    bool keep_alive = !http10, close = false;
    for (const auto& kv : out.headers) {
        if (!iequals(kv.first, "Connection")) continue;
        if (list_has_token(kv.second, "close")) close = true;
        if (list_has_token(kv.second, "keep-alive")) keep_alive = true;
    }
    result.keep_alive = keep_alive && !close;
    result.head_complete = true;

    if (in.size() - head_end < length) return result;  // incomplete: the body is still coming
    out.body.assign(in.substr(head_end, length));
    result.status = parse_status::complete;
    result.consumed = head_end + length;
    return result;
}

/// See the top of this file.
inline std::string serialize_response(const response& r, bool head_only, bool keep_alive) {
    if (r.status < 100 || r.status > 599)
        throw error("http: response status " + std::to_string(r.status) + " is not in 100..599");
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + status_text(r.status) + "\r\n";
    for (const auto& kv : r.headers) {
        if (!is_token(kv.first))
            throw error("http: response header name " + quote_bytes(kv.first) + " is not a token");
        if (kv.second.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
            throw error("http: response header " + kv.first + " has CR, LF or NUL in its value");
        if (iequals(kv.first, "Content-Length") || iequals(kv.first, "Connection") ||
            iequals(kv.first, "Transfer-Encoding"))
            continue;
        out += kv.first;
        out += ": ";
        out += kv.second;
        out += "\r\n";
    }
    const bool bodiless = r.status < 200 || r.status == 204 || r.status == 304;
    if (!bodiless) out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    if (r.status >= 200) out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    out += "\r\n";
    if (!bodiless && !head_only) out += r.body;
    return out;
}

}  // namespace detail
}  // namespace http
}  // namespace cpprof
