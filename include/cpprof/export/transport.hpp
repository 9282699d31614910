#pragma once
// The transport every export sink shares (Pyroscope push, OTLP/HTTP): a plain HTTP/1.1 client
// and a background exporter with a bounded queue, timeouts, and retries with backoff.
//
//     cpprof::detail::background_exporter exporter{cpprof::export_options{}.timeout(
//         std::chrono::seconds(5))};
//     exporter.submit({"http://127.0.0.1:4040/ingest?name=app", "application/octet-stream",
//                      {}, std::move(body), "pyroscope ingest"});   // never blocks on the network
//     exporter.flush(std::chrono::seconds(2));                         // bounded
//     exporter.stats();   // enqueued, sent, retried, dropped_queue_full, failed, abandoned, ...
//
// The HTTP client
// - speaks HTTP/1.1 to http:// URLs only. An https:// URL is refused with an error saying why:
//   TLS is left to a local collector or agent (an OpenTelemetry Collector, Grafana Alloy), which
//   also handles fan-out and credentials rotation. One request per connection
//   ("Connection: close"): exports are minutes apart, so keep-alive would buy nothing.
// - resolves names with getaddrinfo() on the background thread only, tries every address it
//   gives, and uses non-blocking sockets and poll() for connect, send and receive, all under
//   one deadline per attempt (export_options::timeout), which a stop descriptor can cut short.
// - reads responses framed by Content-Length, chunked transfer coding, or the connection's
//   close, skips 1xx interim responses, and keeps at most max_response_bytes of a body (the
//   rest is not read: the connection is closed).
//
// The background exporter (one thread per exporter)
// - submit() only takes a mutex held for queue operations (never across network calls) and
//   appends to a bounded queue; when the queue is full the new request is dropped, counted in
//   dropped_queue_full, and submit() returns false.
// - Requests are sent in order. A connection error or timeout, a 429 and any 5xx are retried
//   up to max_retries times, after an exponential backoff (initial_backoff doubling up to
//   max_backoff) with jitter (a random point in the upper half of the interval); a Retry-After
//   header (seconds or an HTTP-date) is honoured, up to max_retry_after. Any other status that
//   is not 2xx (4xx, 3xx: cpprof does not follow redirects) fails at once, without retry.
// - Every failed attempt is described in stats().last_error ("<what>: POST <url>: <why>").
// - flush(timeout) waits until every submitted request was sent or given up, or the timeout.
// - The destructor first lets the queue drain for at most shutdown_timeout (default 2 s), then
//   cancels the call in flight and any backoff through a self-pipe, counts what is left as
//   abandoned, and joins the thread. It can take longer only while getaddrinfo() is resolving
//   a name (it cannot be cancelled; it is bounded by the resolver's own timeouts): use an IP
//   address or a name in /etc/hosts (such as localhost) for the collector.
// - With CPPROF_ENABLED=0 (or without POSIX sockets) nothing is sent: submit() returns false
//   and last_error says why.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <cpprof/config.hpp>
#include <cpprof/detail/socket.hpp>
#include <cpprof/error.hpp>
#include <cpprof/http/message.hpp>
#include <cpprof/http/wire.hpp>
#include <cpprof/version.hpp>

#if CPPROF_DETAIL_SOCKETS
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#endif

namespace cpprof {

/// A snapshot of an exporter's counters; every counter only grows.
/// enqueued == sent + failed + abandoned + in_queue at any moment.
struct export_stats {
    std::uint64_t enqueued = 0;            ///< requests accepted by submit()
    std::uint64_t sent = 0;                ///< answered with a 2xx status
    std::uint64_t retried = 0;             ///< attempts repeated after a retryable failure
    std::uint64_t dropped_queue_full = 0;  ///< refused by submit(): the queue was full
    std::uint64_t failed = 0;              ///< gave up: 4xx (or 3xx), bad request, retries exhausted
    std::uint64_t in_queue = 0;            ///< waiting, or being sent right now
    std::uint64_t abandoned = 0;           ///< still queued or in flight when the exporter stopped
    std::string last_error;                ///< the last failed attempt; empty when none
};

/// Options of a background exporter (chained setters; see the top of export/transport.hpp).
class export_options {
public:
    using ms = std::chrono::milliseconds;

    /// Requests that may wait to be sent, 1..100000 (default 64); more are dropped.
    export_options& queue_capacity(std::size_t n) { queue_capacity_ = n; return *this; }
    std::size_t queue_capacity() const { return queue_capacity_; }
    /// The most one attempt may take: resolve, connect, send, receive (default 10 s).
    export_options& timeout(ms t) { timeout_ = t; return *this; }
    ms timeout() const { return timeout_; }
    /// Retries after the first attempt, 0..100 (default 5).
    export_options& max_retries(int n) { max_retries_ = n; return *this; }
    int max_retries() const { return max_retries_; }
    /// Backoff before the first retry, doubled for each next one (default 500 ms).
    export_options& initial_backoff(ms t) { initial_backoff_ = t; return *this; }
    ms initial_backoff() const { return initial_backoff_; }
    /// The longest backoff (default 30 s).
    export_options& max_backoff(ms t) { max_backoff_ = t; return *this; }
    ms max_backoff() const { return max_backoff_; }
    /// The longest wait a Retry-After header can ask for (default 60 s); longer is cut to it.
    export_options& max_retry_after(ms t) { max_retry_after_ = t; return *this; }
    ms max_retry_after() const { return max_retry_after_; }
    /// How long the destructor lets queued requests go out before it cancels them (default 2 s;
    /// 0 = cancel at once).
    export_options& shutdown_timeout(ms t) { shutdown_timeout_ = t; return *this; }
    ms shutdown_timeout() const { return shutdown_timeout_; }
    /// The most of a response body that is read (default 1 MiB).
    export_options& max_response_bytes(std::size_t n) { max_response_bytes_ = n; return *this; }
    std::size_t max_response_bytes() const { return max_response_bytes_; }
    /// The User-Agent header (default "cpprof/<version>").
    export_options& user_agent(std::string s) { user_agent_ = std::move(s); return *this; }
    const std::string& user_agent() const { return user_agent_; }

private:
    std::size_t queue_capacity_ = 64;
    ms timeout_ = ms(10000);
    int max_retries_ = 5;
    ms initial_backoff_ = ms(500);
    ms max_backoff_ = ms(30000);
    ms max_retry_after_ = ms(60000);
    ms shutdown_timeout_ = ms(2000);
    std::size_t max_response_bytes_ = 1u << 20;
    std::string user_agent_ = "cpprof/" CPPROF_VERSION_STRING;
};

namespace detail {

/// One HTTP POST for the background exporter.
struct export_request {
    std::string url;           ///< http://host[:port]/path?query
    std::string content_type;  ///< empty: no Content-Type header
    std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
    std::string body;
    std::string what;  ///< "otlp metrics", "pyroscope ingest": names the request in last_error
};

inline void validate_export_options(const export_options& o) {
    auto bad = [](const std::string& what) { throw error("export_options: " + what); };
    using ms = export_options::ms;
    const ms hour(3600 * 1000);
    if (o.queue_capacity() < 1 || o.queue_capacity() > 100000)
        bad("queue_capacity must be in 1..100000, got " + std::to_string(o.queue_capacity()));
    if (o.timeout() < ms(1) || o.timeout() > hour)
        bad("timeout must be in 1 ms..1 h, got " + std::to_string(o.timeout().count()) + " ms");
    if (o.max_retries() < 0 || o.max_retries() > 100)
        bad("max_retries must be in 0..100, got " + std::to_string(o.max_retries()));
    for (const auto& kv : {std::make_pair("initial_backoff", o.initial_backoff()),
                           std::make_pair("max_backoff", o.max_backoff()),
                           std::make_pair("max_retry_after", o.max_retry_after()),
                           std::make_pair("shutdown_timeout", o.shutdown_timeout())})
        if (kv.second < ms(0) || kv.second > hour)
            bad(std::string(kv.first) + " must be in 0 ms..1 h, got " +
                std::to_string(kv.second.count()) + " ms");
    if (o.max_backoff() < o.initial_backoff())
        bad("max_backoff (" + std::to_string(o.max_backoff().count()) +
            " ms) is shorter than initial_backoff (" + std::to_string(o.initial_backoff().count()) +
            " ms)");
    if (o.max_response_bytes() > (64u << 20))
        bad("max_response_bytes must be at most 67108864, got " +
            std::to_string(o.max_response_bytes()));
    if (o.user_agent().find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
        bad("user_agent has a CR, LF or NUL");
}

// ---- URLs ------------------------------------------------------------------------------------

struct http_url {
    std::string host;         ///< name or address, without brackets
    int port = 80;
    std::string target;       ///< "/path?query"
    std::string host_header;  ///< "host[:port]", IPv6 in brackets
};

/// Parses "http://host[:port][/path][?query]". Throws cpprof::error saying what is wrong; an
/// https:// URL is refused with the reason (TLS belongs to a local collector or agent).
inline http_url parse_http_url(std::string_view url) {
    const std::string shown = http::detail::quote_bytes(url);
    auto bad = [&](const std::string& why) -> http_url { throw error("export: URL " + shown + ": " + why); };
    if (url.size() >= 8 && http::detail::iequals(url.substr(0, 8), "https://"))
        return bad("https is not supported: cpprof sends plain HTTP to a local collector or agent "
                   "(an OpenTelemetry Collector, Grafana Alloy, a Pyroscope server on the host or "
                   "a sidecar) that handles TLS; use an http:// URL");
    if (url.size() < 7 || !http::detail::iequals(url.substr(0, 7), "http://"))
        return bad("not an http:// URL (expected http://host[:port]/path)");
    for (char c : url) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f)
            return bad("has a space, a control character or a non-ASCII byte (percent-encode it)");
    }
    std::string_view rest = url.substr(7);
    if (rest.find('#') != std::string_view::npos) return bad("has a fragment ('#')");
    const std::size_t end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, end);
    std::string_view target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    if (authority.find('@') != std::string_view::npos)
        return bad("credentials in the URL are not supported (use the sink's basic_auth option)");
    if (authority.empty()) return bad("has no host");
    http_url out;
    std::string_view port_text;
    if (authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return bad("'[' without ']' around an IPv6 address");
        out.host.assign(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return bad("unexpected text after ']'");
            port_text = after.substr(1);
            if (port_text.empty()) return bad("empty port after ':'");
        }
        for (char c : out.host)
            if (!(http::detail::hex_digit(c) >= 0 || c == ':' || c == '.'))
                return bad("bad IPv6 address in brackets");
    } else {
        const std::size_t colon = authority.rfind(':');
        out.host.assign(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
            if (port_text.empty()) return bad("empty port after ':'");
        }
        for (char c : out.host)
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_'))
                return bad("bad host name (letters, digits, '-', '.', '_'; IPv6 in brackets)");
    }
    if (out.host.empty()) return bad("has no host");
    if (!port_text.empty()) {
        int port = 0;
        for (char c : port_text) {
            if (c < '0' || c > '9') return bad("port is not a number");
            port = port * 10 + (c - '0');
            if (port > 65535) return bad("port is larger than 65535");
        }
        if (port == 0) return bad("port 0");
        out.port = port;
    }
    out.target = target.empty() ? "/" : (target.front() == '?' ? "/" + std::string(target) : std::string(target));
    const bool v6 = out.host.find(':') != std::string::npos;
    out.host_header = v6 ? "[" + out.host + "]" : out.host;
    if (out.port != 80) out.host_header += ":" + std::to_string(out.port);
    return out;
}

/// The bytes of a POST request. Throws cpprof::error for a header that would break the framing
/// (a name that is not a token, CR/LF/NUL in a value, or a header cpprof writes itself).
inline std::string build_http_request(const http_url& url, const export_request& r,
                                      const std::string& user_agent) {
    std::string out;
    out.reserve(r.body.size() + 256);
    out += "POST " + url.target + " HTTP/1.1\r\nHost: " + url.host_header + "\r\n";
    if (!user_agent.empty()) out += "User-Agent: " + user_agent + "\r\n";
    auto header = [&](const std::string& name, const std::string& value) {
        if (!http::detail::is_token(name))
            throw error("export: header name " + http::detail::quote_bytes(name) + " is not a token");
        if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
            throw error("export: header " + name + " has a CR, LF or NUL in its value");
        out += name + ": " + value + "\r\n";
    };
    if (!r.content_type.empty()) header("Content-Type", r.content_type);
    for (const auto& kv : r.headers) {
        for (const char* own : {"Host", "Content-Length", "Transfer-Encoding", "Connection",
                                "Content-Type", "User-Agent"})
            if (http::detail::iequals(kv.first, own))
                throw error("export: header " + kv.first + " is written by cpprof itself");
        header(kv.first, kv.second);
    }
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\nConnection: close\r\n\r\n";
    out += r.body;
    return out;
}

// ---- Retry-After -----------------------------------------------------------------------------

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
inline std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? static_cast<unsigned>(-3) : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// Parses an HTTP-date (RFC 9110 §5.6.7) in any of its three forms -- IMF-fixdate
/// "Sun, 06 Nov 1994 08:49:37 GMT", the obsolete RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and
/// asctime "Sun Nov  6 08:49:37 1994" -- into seconds since the epoch. False when malformed.
inline bool parse_http_date(std::string_view s, std::int64_t& seconds) {
    std::vector<std::string_view> tokens;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == ',' || s[i] == '-')) ++i;
        const std::size_t start = i;
        while (i < s.size() && s[i] != ' ' && s[i] != ',' && s[i] != '-') ++i;
        if (i > start) tokens.push_back(s.substr(start, i - start));
    }
    static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    auto all_digits = [](std::string_view t) {
        if (t.empty()) return false;
        for (char c : t)
            if (c < '0' || c > '9') return false;
        return true;
    };
    auto number = [](std::string_view t) {
        int n = 0;
        for (char c : t) n = n * 10 + (c - '0');
        return n;
    };
    int month = 0, hh = -1, mm = -1, ss = -1, day = -1, year = -1;
    bool gmt = false;
    for (std::size_t k = 0; k < tokens.size(); ++k) {
        const std::string_view t = tokens[k];
        if (k == 0 && !all_digits(t)) continue;  // the day of the week
        if (t == "GMT") {
            gmt = true;
        } else if (t.size() == 8 && t[2] == ':' && t[5] == ':' && all_digits(t.substr(0, 2)) &&
                   all_digits(t.substr(3, 2)) && all_digits(t.substr(6, 2))) {
            hh = number(t.substr(0, 2));
            mm = number(t.substr(3, 2));
            ss = number(t.substr(6, 2));
        } else if (all_digits(t) && t.size() <= 4) {
            if (day < 0 && t.size() <= 2) day = number(t);
            else if (year < 0 && (t.size() == 2 || t.size() == 4)) year = number(t), year += t.size() == 2 ? (year < 70 ? 2000 : 1900) : 0;
            else return false;
        } else {
            bool found = false;
            for (int m = 0; m < 12; ++m)
                if (t == months[m]) month = m + 1, found = true;
            if (!found || k == 0) return false;
        }
    }
    (void)gmt;  // asctime has no zone; the others must say GMT, but being lenient costs nothing
    if (month == 0 || day < 1 || day > 31 || year < 1970 || hh < 0 || hh > 23 || mm > 59 || ss > 60)
        return false;
    seconds = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
              hh * 3600 + mm * 60 + ss;
    return true;
}

/// The wait a Retry-After value asks for, in ms from `now`; -1 when it is malformed.
inline std::int64_t retry_after_ms(std::string_view value, std::chrono::system_clock::time_point now) {
    value = http::detail::trim_ows(value);
    if (value.empty()) return -1;
    if (value.find_first_not_of("0123456789") == std::string_view::npos) {
        std::int64_t s = 0;
        for (char c : value) {
            s = s * 10 + (c - '0');
            if (s > 86400LL * 365) return 86400LL * 365 * 1000;  // "forever": capped by the caller
        }
        return s * 1000;
    }
    std::int64_t when = 0;
    if (!parse_http_date(value, when)) return -1;
    const std::int64_t now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    const std::int64_t left = when * 1000 - now_ms;
    return left < 0 ? 0 : left;
}

// ---- responses -------------------------------------------------------------------------------

/// Reads an HTTP/1.x response from the bytes of a connection, fed as they arrive.
/// feed() and finish() (at the end of the stream) say more / done / error.
class http_response_reader {
public:
    enum class state { more, done, error };

    explicit http_response_reader(std::size_t max_body) : max_body_(max_body) {}

    int status = 0;
    http::fields headers;
    std::string body;
    bool truncated = false;  ///< the body was longer than max_body: cut, the rest unread
    std::string error;       ///< when state::error

    state feed(std::string_view data) {
        buf_.append(data.data(), data.size());
        return step();
    }
    /// The peer closed the connection.
    state finish() {
        if (phase_ == phase::complete || phase_ == phase::until_close) {
            phase_ = phase::complete;
            return state::done;
        }
        if (phase_ == phase::failed) return state::error;
        if (phase_ == phase::head && buf_.empty() && status == 0)
            return fail("the connection was closed before any response");
        return fail(phase_ == phase::head ? "the connection was closed in the middle of the response headers"
                                          : "the connection was closed in the middle of the response body (" +
                                                std::to_string(body.size()) + " bytes read)");
    }
    const std::string* header(std::string_view name) const {
        return http::detail::find_field(headers, name, true);
    }

private:
    enum class phase { head, length, chunk_size, chunk_data, chunk_end, trailers, until_close, complete, failed };
    static constexpr std::size_t max_head = 64 * 1024;

    state fail(std::string why) {
        phase_ = phase::failed;
        error = std::move(why);
        return state::error;
    }

    /// Appends up to `n` body bytes from the front of buf_; false when the limit was reached.
    bool take_body(std::size_t n) {
        const std::size_t room = max_body_ - body.size();
        if (n > room) {
            body.append(buf_, 0, room);
            truncated = true;
            phase_ = phase::complete;
            return false;
        }
        body.append(buf_, 0, n);
        buf_.erase(0, n);
        return true;
    }

    /// Takes a whole line from the front of buf_ (without its CRLF or LF): 1 taken, 0 not all
    /// here yet, -1 longer than `limit` bytes (decided the same however the bytes arrive).
    int take_line(std::string& line, std::size_t limit) {
        const std::size_t nl = buf_.find('\n');
        if (nl == std::string::npos) return buf_.size() > limit ? -1 : 0;
        if (nl > limit) return -1;
        line.assign(buf_, 0, nl);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        buf_.erase(0, nl + 1);
        return 1;
    }

    state parse_head(bool& interim) {
        std::size_t end = buf_.find("\r\n\r\n");
        std::size_t skip = 4;
        const std::size_t lf = buf_.find("\n\n");
        if (lf != std::string::npos && (end == std::string::npos || lf < end)) end = lf, skip = 2;
        if (end == std::string::npos) {
            if (buf_.size() > max_head) return fail("response headers larger than 64 KiB");
            return state::more;
        }
        if (end + skip > max_head) return fail("response headers larger than 64 KiB");
        const std::string head = buf_.substr(0, end);
        buf_.erase(0, end + skip);
        std::size_t pos = 0;
        auto next = [&](std::string& line) {
            if (pos >= head.size()) return false;
            std::size_t nl = head.find('\n', pos);
            if (nl == std::string::npos) nl = head.size();
            line.assign(head, pos, nl - pos);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            pos = nl + 1;
            return true;
        };
        std::string line;
        next(line);
        if (line.size() < 12 || line.compare(0, 7, "HTTP/1.") != 0 || line[8] != ' ' ||
            line.find_first_not_of("0123456789", 9) < 12 || (line.size() > 12 && line[12] != ' '))
            return fail("not an HTTP/1.x response: " + http::detail::quote_bytes(line));
        status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
        if (status < 100) return fail("bad status " + http::detail::quote_bytes(line));
        headers.clear();
        while (next(line)) {
            const std::size_t colon = line.find(':');
            if (colon == std::string::npos || colon == 0)
                return fail("bad response header line " + http::detail::quote_bytes(line));
            headers.emplace_back(line.substr(0, colon),
                                 std::string(http::detail::trim_ows(std::string_view(line).substr(colon + 1))));
        }
        if (status < 200) {  // 100 Continue and other interim responses: the real one follows
            status = 0;
            headers.clear();
            interim = true;
            return state::more;
        }
        if (status == 204 || status == 304) {
            phase_ = phase::complete;
            return state::done;
        }
        bool have_length = false;
        std::uint64_t length = 0;
        for (const auto& kv : headers) {
            if (http::detail::iequals(kv.first, "Transfer-Encoding")) {
                // RFC 9112 §6.3: chunked last means chunked; any other coding, read until close.
                std::string_view v = http::detail::trim_ows(kv.second);
                const std::size_t comma = v.rfind(',');
                if (comma != std::string_view::npos) v = http::detail::trim_ows(v.substr(comma + 1));
                phase_ = http::detail::iequals(v, "chunked") ? phase::chunk_size : phase::until_close;
                return step();
            }
        }
        for (const auto& kv : headers) {
            if (!http::detail::iequals(kv.first, "Content-Length")) continue;
            const std::string& v = kv.second;
            if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos)
                return fail("bad Content-Length " + http::detail::quote_bytes(v));
            std::uint64_t n = 0;
            for (char c : v) n = n * 10 + static_cast<std::uint64_t>(c - '0');
            if (have_length && n != length) return fail("Content-Length fields disagree");
            have_length = true;
            length = n;
        }
        if (have_length) {
            remaining_ = length;
            phase_ = phase::length;
        } else {
            phase_ = phase::until_close;
        }
        return step();
    }

    state step() {
        for (;;) {
            switch (phase_) {
                case phase::head: {
                    bool interim = false;
                    const state s = parse_head(interim);
                    if (!interim) return s;
                    break;  // an interim response was skipped: parse the next head
                }
                case phase::length: {
                    const std::size_t n =
                        static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, buf_.size()));
                    if (!take_body(n)) return state::done;
                    remaining_ -= n;
                    if (remaining_ != 0) return state::more;
                    phase_ = phase::complete;
                    return state::done;
                }
                case phase::until_close: {
                    if (!take_body(buf_.size())) return state::done;
                    return state::more;
                }
                case phase::chunk_size: {
                    std::string line;
                    const int got = take_line(line, 1024);
                    if (got < 0) return fail("chunk size line longer than 1 KiB");
                    if (got == 0) return state::more;
                    std::uint64_t n = 0;
                    std::size_t digits = 0;
                    for (char c : line) {
                        const int d = http::detail::hex_digit(c);
                        if (d < 0) break;
                        if (++digits > 15) return fail("chunk size too large");
                        n = n * 16 + static_cast<std::uint64_t>(d);
                    }
                    if (digits == 0 || (digits < line.size() && line[digits] != ';' &&
                                        line[digits] != ' ' && line[digits] != '\t'))
                        return fail("bad chunk size line " + http::detail::quote_bytes(line));
                    remaining_ = n;
                    phase_ = n == 0 ? phase::trailers : phase::chunk_data;
                    break;
                }
                case phase::chunk_data: {
                    const std::size_t n =
                        static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, buf_.size()));
                    if (!take_body(n)) return state::done;
                    remaining_ -= n;
                    if (remaining_ != 0) return state::more;
                    phase_ = phase::chunk_end;
                    break;
                }
                case phase::chunk_end: {
                    if (buf_.empty() || (buf_.size() == 1 && buf_[0] == '\r')) return state::more;
                    if (buf_.compare(0, 2, "\r\n") == 0) buf_.erase(0, 2);
                    else if (buf_[0] == '\n') buf_.erase(0, 1);
                    else return fail("chunk data not followed by CRLF");
                    phase_ = phase::chunk_size;
                    break;
                }
                case phase::trailers: {
                    std::string line;
                    const int got = take_line(line, 8192);
                    if (got < 0) return fail("trailer line longer than 8 KiB");
                    if (got == 0) return state::more;
                    if (line.empty()) {
                        phase_ = phase::complete;
                        return state::done;
                    }
                    break;  // a trailer field: ignored
                }
                case phase::complete:
                    return state::done;
                case phase::failed:
                    return state::error;
            }
        }
    }

    std::size_t max_body_;
    std::string buf_;
    phase phase_ = phase::head;
    std::uint64_t remaining_ = 0;
};

/// What one request/response exchange gave.
struct http_outcome {
    bool transport_error = false;  ///< no complete response: connect, send or receive failed
    bool cancelled = false;        ///< the stop descriptor fired
    int status = 0;
    std::string body;
    std::string retry_after;  ///< the Retry-After header, when there was one
    std::string error;        ///< for transport errors: what went wrong
};

#if CPPROF_DETAIL_SOCKETS

/// Connects to `url`, sends `request` and reads the response, all before `deadline`; gives up
/// at once when `stop_fd` becomes readable. Never throws for network failures.
inline http_outcome http_exchange(const http_url& url, std::string_view request,
                                  steady::time_point deadline, int stop_fd, std::size_t max_body,
                                  std::chrono::milliseconds timeout) {
    http_outcome o;
    const std::string where = url.host_header;
    const std::string after = " after " + std::to_string(timeout.count()) + " ms";
    auto transport = [&](std::string why) {
        o.transport_error = true;
        o.error = std::move(why);
        return o;
    };
    auto interrupted = [&](int w, const std::string& during) {
        if (w < 0) {
            o.cancelled = true;
            return transport("cancelled while " + during + " (the exporter is stopping)");
        }
        return transport("timed out " + during + after);
    };

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(url.port);
    const int gai = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &found);
    if (gai != 0)
        return transport("cannot resolve '" + url.host + "': " +
                         (gai == EAI_SYSTEM ? errno_text(errno) : std::string(::gai_strerror(gai))));
    struct fd_closer {
        int fd = -1;
        ~fd_closer() {
            if (fd >= 0) ::close(fd);
        }
    } sock;
    std::string connect_error;
    for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
        const int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            connect_error = "socket(): " + errno_text(errno);
            continue;
        }
        int err = 0;
        if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            err = errno;
            if (err == EINPROGRESS || err == EINTR) {
                const int w = wait_fd(fd, POLLOUT, deadline, stop_fd);
                if (w != 1) {
                    ::close(fd);
                    ::freeaddrinfo(found);
                    return interrupted(w, "connecting to " + where);
                }
                socklen_t len = sizeof err;
                if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
            }
        }
        if (err != 0) {
            connect_error = "cannot connect to " + where + ": " + errno_text(err);
            ::close(fd);
            continue;
        }
        sock.fd = fd;
        break;
    }
    ::freeaddrinfo(found);
    if (sock.fd < 0)
        return transport(connect_error.empty() ? "no address for '" + url.host + "'" : connect_error);
    const int one = 1;
    ::setsockopt(sock.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    int err = 0;
    const io_status sent = send_all(sock.fd, request, deadline, stop_fd, err);
    if (sent == io_status::timed_out) return interrupted(0, "sending the request to " + where);
    if (sent == io_status::stopped) return interrupted(-1, "sending the request to " + where);
    std::string send_error;
    if (sent == io_status::failed)  // the server may have answered early (413...) and closed
        send_error = "sending the request to " + where + " failed: " +
                     (err != 0 ? errno_text(err) : std::string("connection closed"));

    http_response_reader reader(max_body);
    http_response_reader::state st = http_response_reader::state::more;
    char chunk[16 * 1024];
    while (st == http_response_reader::state::more) {
        const int w = wait_fd(sock.fd, POLLIN, deadline, stop_fd);
        if (w != 1) {
            if (!send_error.empty()) return transport(send_error);
            return interrupted(w, "waiting for the response from " + where);
        }
        const ssize_t n = ::recv(sock.fd, chunk, sizeof chunk, 0);
        if (n > 0) {
            st = reader.feed(std::string_view(chunk, static_cast<std::size_t>(n)));
        } else if (n == 0) {
            st = reader.finish();
        } else if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
            continue;
        } else {
            const int e = errno;
            if (!send_error.empty()) return transport(send_error);
            return transport("reading the response from " + where + ": " + errno_text(e));
        }
    }
    if (st == http_response_reader::state::error) {
        if (!send_error.empty()) return transport(send_error);
        return transport("bad response from " + where + ": " + reader.error);
    }
    o.status = reader.status;
    o.body = std::move(reader.body);
    if (const std::string* ra = reader.header("Retry-After")) o.retry_after = *ra;
    return o;
}

#endif  // CPPROF_DETAIL_SOCKETS

// ---- the background exporter -----------------------------------------------------------------

/// A printable excerpt of a response body for an error message.
inline std::string body_excerpt(std::string_view body) {
    std::string out;
    for (char c : body.substr(0, 200)) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    if (body.size() > 200) out += "...";
    return out;
}

/// See the top of this header. Use it as `detail::background_exporter` (the template parameter
/// only delays instantiation; see the note in config.hpp).
template <class = void>
class basic_background_exporter {
public:
    explicit basic_background_exporter(export_options options = {}) : options_(std::move(options)) {
        validate_export_options(options_);
#if CPPROF_DETAIL_SOCKETS
        if (!stop_.open()) throw error("export: pipe(): " + errno_text(errno));
        rng_ ^= static_cast<std::uint64_t>(steady::now().time_since_epoch().count()) ^
                reinterpret_cast<std::uintptr_t>(this);
        try {
            thread_ = std::thread([this] { run(); });
        } catch (const std::exception& e) {
            stop_.close();
            throw error(std::string("export: cannot start the exporter thread: ") + e.what());
        }
#endif
    }

    basic_background_exporter(const basic_background_exporter&) = delete;
    basic_background_exporter& operator=(const basic_background_exporter&) = delete;

    ~basic_background_exporter() {
#if CPPROF_DETAIL_SOCKETS
        try {
            if (options_.shutdown_timeout().count() > 0) (void)flush(options_.shutdown_timeout());
        } catch (...) {
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
            stats_.abandoned += queue_.size();
            queue_.clear();
        }
        work_cv_.notify_all();
        stop_.signal();
        if (thread_.joinable()) thread_.join();
        stop_.close();
#endif
    }

    /// Queues `r`; never blocks on the network. False (counted in dropped_queue_full) when the
    /// queue is full or the exporter is stopping.
    bool submit(export_request r) noexcept {
#if CPPROF_DETAIL_SOCKETS
        try {
            {
                std::lock_guard<std::mutex> lock(mutex_);
                if (stopping_ || queue_.size() >= options_.queue_capacity()) {
                    ++stats_.dropped_queue_full;
                    return false;
                }
                queue_.push_back(std::move(r));
                ++stats_.enqueued;
            }
            work_cv_.notify_one();
            return true;
        } catch (...) {  // out of memory
            try {
                std::lock_guard<std::mutex> lock(mutex_);
                ++stats_.dropped_queue_full;
            } catch (...) {
            }
            return false;
        }
#else
        (void)r;
        std::lock_guard<std::mutex> lock(mutex_);
        stats_.last_error = "nothing is sent: cpprof is compiled out (CPPROF_ENABLED=0) or this "
                            "platform has no POSIX sockets";
        return false;
#endif
    }

    /// Waits until every submitted request was sent or given up, at most `timeout`. True when
    /// the queue drained in time.
    bool flush(std::chrono::milliseconds timeout) {
        std::unique_lock<std::mutex> lock(mutex_);
        return idle_cv_.wait_for(lock, timeout, [&] { return queue_.empty() && !in_flight_; });
    }

    export_stats stats() const {
        std::lock_guard<std::mutex> lock(mutex_);
        export_stats s = stats_;
        s.in_queue = queue_.size() + (in_flight_ ? 1 : 0);
        return s;
    }

    const export_options& options() const { return options_; }

private:
#if CPPROF_DETAIL_SOCKETS
    void run() {
        for (;;) {
            export_request r;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
                if (stopping_) return;
                r = std::move(queue_.front());
                queue_.pop_front();
                in_flight_ = true;
            }
            try {
                deliver(r);
            } catch (const std::exception& e) {  // out of memory while building the request
                finish(&export_stats::failed, r.what + ": " + e.what());
            }
            {
                std::lock_guard<std::mutex> lock(mutex_);
                in_flight_ = false;
            }
            idle_cv_.notify_all();
        }
    }

    void finish(std::uint64_t export_stats::*counter, std::string error) {
        std::lock_guard<std::mutex> lock(mutex_);
        ++(stats_.*counter);
        if (!error.empty()) stats_.last_error = std::move(error);
    }

    std::uint64_t next_random() {
        rng_ ^= rng_ << 13;
        rng_ ^= rng_ >> 7;
        rng_ ^= rng_ << 17;
        return rng_;
    }

    /// Exponential backoff before retry number `attempt` (0 = the first), with jitter.
    std::chrono::milliseconds backoff(int attempt) {
        std::int64_t b = options_.initial_backoff().count();
        const std::int64_t cap = options_.max_backoff().count();
        for (int i = 0; i < attempt && b < cap; ++i) b *= 2;
        if (b > cap) b = cap;
        const std::int64_t half = b / 2;
        return std::chrono::milliseconds(b - half + static_cast<std::int64_t>(next_random() % static_cast<std::uint64_t>(half + 1)));
    }

    void deliver(const export_request& r) {
        const std::string what = r.what.empty() ? std::string("export") : r.what;
        http_url url;
        std::string bytes;
        try {
            url = parse_http_url(r.url);
            bytes = build_http_request(url, r, options_.user_agent());
        } catch (const error& e) {
            finish(&export_stats::failed, what + ": " + std::string(e.what()).substr(8));  // no "cpprof: "
            return;
        }
        const std::string prefix = what + ": POST http://" + url.host_header + url.target + ": ";
        for (int attempt = 0;; ++attempt) {
            const auto deadline = steady::now() + options_.timeout();
            const http_outcome o = http_exchange(url, bytes, deadline, stop_.read_fd,
                                                 options_.max_response_bytes(), options_.timeout());
            if (o.cancelled) {
                finish(&export_stats::abandoned, prefix + o.error);
                return;
            }
            if (!o.transport_error && o.status >= 200 && o.status <= 299) {
                finish(&export_stats::sent, {});
                return;
            }
            std::string why;
            if (o.transport_error) {
                why = o.error;
            } else {
                why = "HTTP " + std::to_string(o.status) + " " + http::status_text(o.status);
                if (!o.retry_after.empty()) why += " (Retry-After: " + body_excerpt(o.retry_after) + ")";
                const std::string excerpt = body_excerpt(o.body);
                if (!excerpt.empty()) why += ": " + excerpt;
            }
            const bool retryable =
                o.transport_error || o.status == 429 || (o.status >= 500 && o.status <= 599);
            if (!retryable) {
                finish(&export_stats::failed, prefix + why + " (not retried)");
                return;
            }
            if (attempt >= options_.max_retries()) {
                finish(&export_stats::failed, prefix + why + " (gave up after " +
                                                  std::to_string(attempt + 1) + " attempts)");
                return;
            }
            std::chrono::milliseconds delay = backoff(attempt);
            if (!o.retry_after.empty()) {
                const std::int64_t ra = retry_after_ms(o.retry_after, std::chrono::system_clock::now());
                if (ra >= 0) {
                    const std::int64_t capped = std::min<std::int64_t>(ra, options_.max_retry_after().count());
                    if (capped > delay.count()) delay = std::chrono::milliseconds(capped);
                }
            }
            {
                std::lock_guard<std::mutex> lock(mutex_);
                ++stats_.retried;
                stats_.last_error = prefix + why + " (attempt " + std::to_string(attempt + 1) +
                                    ", retrying in " + std::to_string(delay.count()) + " ms)";
            }
            if (wait_fd(-1, 0, steady::now() + delay, stop_.read_fd) < 0) {
                finish(&export_stats::abandoned, {});
                return;
            }
        }
    }

    self_pipe stop_;
    std::thread thread_;
    std::uint64_t rng_ = 0x9e3779b97f4a7c15ULL;
#endif

    export_options options_;
    mutable std::mutex mutex_;
    std::condition_variable work_cv_, idle_cv_;
    std::deque<export_request> queue_;
    bool in_flight_ = false;
    bool stopping_ = false;
    export_stats stats_;
};

using background_exporter = basic_background_exporter<>;

}  // namespace detail
}  // namespace cpprof
