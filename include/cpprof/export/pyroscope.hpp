#pragma once
// Pushing profiles to Grafana Pyroscope through its ingest API (POST /ingest, format=pprof).
//
//     cpprof::pyroscope::client pyro{cpprof::pyroscope::options{}
//         .url("http://127.0.0.1:4040").application("checkout").tags({{"env", "prod"}})};
//     pyro.push(profile);                        // queued; sent by a background thread
//     pyro.flush(std::chrono::seconds(5));       // optional: wait for the upload
//     pyro.stats();                              // sent, retried, failed, dropped, last_error
//
// What goes on the wire (formats.md §7.2): POST <url>/ingest with the query parameters
//   name=<application>{k=v,...}   the tags in the order given; Pyroscope makes the application
//                                 the series' service_name (not split at dots for pprof)
//   from, until                   the profile's start (profile::time_nanos()) and start +
//                                 duration, in nanoseconds since the epoch (19 digits, the unit
//                                 pyroscope-go sends); a profile without a start time is
//                                 dated "now minus its duration"
//   format=pprof                  the body is the gzip-compressed pprof of the profile
//   sampleRate                    options::sample_rate(), else the profile's CPU sampling
//                                 frequency when its period is in nanoseconds (Pyroscope uses
//                                 the pprof's own period for pprof bodies; this is informative)
//   spyName                       options::spy_name() (default "cpprof"), stored by Pyroscope
//                                 as the label pyroscope_spy
// and the headers Content-Type: application/octet-stream, Authorization: Basic ... (when
// basic_auth() is set), X-Scope-OrgID (when tenant_id() is set: needed by a multi-tenant
// Pyroscope) and any header() added. The pprof's sample labels (cpprof::label_guard, thread
// names) become Pyroscope labels: keep them to bounded cardinality.
//
// The upload goes through detail::background_exporter (export/transport.hpp): push() encodes
// the profile on the calling thread and queues it; it never waits for the network. Connection
// errors, timeouts, 429 and 5xx are retried with backoff (Retry-After honoured); Pyroscope's
// 400 (a bad name), 413 (too large) and 422 are not. Plain HTTP only: for TLS (Grafana Cloud)
// push to a local Grafana Alloy or another agent that forwards over HTTPS.
//
// options are checked when the client is made, with Pyroscope's own rules (cpprof::error says
// which rule): the application name is 1..1024 characters from [A-Za-z0-9_.-/]; tag keys are
// 1..1024 characters from [A-Za-z0-9_.], not "__name__" (reserved) nor "profile_id" (Pyroscope
// discards such uploads); tag values are 1..2048 printable ASCII characters without ',', '{',
// '}', '=' and without spaces at either end (Pyroscope's name parser splits or trims on them);
// at most 26 tags (Pyroscope's default limit is 30 labels per series, and it adds four).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <cpprof/error.hpp>
#include <cpprof/export/transport.hpp>
#include <cpprof/output/pprof.hpp>
#include <cpprof/profile.hpp>

namespace cpprof {
namespace pyroscope {

class options {
public:
    using tag_list = std::vector<std::pair<std::string, std::string>>;

    /// The Pyroscope server (or agent), http:// only (default "http://127.0.0.1:4040"). A path
    /// is kept as a prefix: "http://host/pyroscope" posts to /pyroscope/ingest.
    options& url(std::string u) { url_ = std::move(u); return *this; }
    const std::string& url() const { return url_; }
    /// The application (Pyroscope's service_name); required.
    options& application(std::string a) { application_ = std::move(a); return *this; }
    const std::string& application() const { return application_; }
    /// Static tags of every upload, in this order: {{"env", "prod"}, {"region", "eu"}}.
    options& tags(tag_list t) { tags_ = std::move(t); return *this; }
    /// Adds one tag.
    options& tag(std::string key, std::string value) {
        tags_.emplace_back(std::move(key), std::move(value));
        return *this;
    }
    const tag_list& tags() const { return tags_; }
    /// HTTP Basic authentication (Grafana Cloud: the stack's user id and an API token).
    options& basic_auth(std::string user, std::string password) {
        user_ = std::move(user);
        password_ = std::move(password);
        return *this;
    }
    const std::string& basic_auth_user() const { return user_; }
    const std::string& basic_auth_password() const { return password_; }
    /// The tenant, sent as X-Scope-OrgID (a multi-tenant Pyroscope requires it).
    options& tenant_id(std::string t) { tenant_ = std::move(t); return *this; }
    const std::string& tenant_id() const { return tenant_; }
    /// Another header on every upload (e.g. a proxy's token).
    options& header(std::string name, std::string value) {
        headers_.emplace_back(std::move(name), std::move(value));
        return *this;
    }
    const tag_list& headers() const { return headers_; }
    /// The sampleRate parameter in Hz; 0 (default) = the profile's own CPU frequency, if any.
    options& sample_rate(int hz) { sample_rate_ = hz; return *this; }
    int sample_rate() const { return sample_rate_; }
    /// The spyName parameter (default "cpprof").
    options& spy_name(std::string s) { spy_name_ = std::move(s); return *this; }
    const std::string& spy_name() const { return spy_name_; }
    /// Queue, timeouts and retries of the background exporter.
    options& exporter(export_options e) { exporter_ = std::move(e); return *this; }
    const export_options& exporter() const { return exporter_; }

private:
    std::string url_ = "http://127.0.0.1:4040";
    std::string application_;
    tag_list tags_;
    std::string user_, password_;
    std::string tenant_;
    tag_list headers_;
    int sample_rate_ = 0;
    std::string spy_name_ = "cpprof";
    export_options exporter_;
};

namespace detail {

inline bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.';
}

/// Throws cpprof::error naming the first option that breaks Pyroscope's rules.
inline void validate_options(const options& o) {
    auto bad = [](const std::string& what) { throw error("pyroscope::options: " + what); };
    auto shown = [](std::string_view s) { return cpprof::http::detail::quote_bytes(s); };
    (void)cpprof::detail::parse_http_url(o.url());  // throws for https:// and malformed URLs
    if (o.url().find('?') != std::string::npos) bad("url " + shown(o.url()) + " has a query; give the server's base URL");
    const std::string& app = o.application();
    if (app.empty()) bad("application is required (Pyroscope's service_name), e.g. .application(\"checkout\")");
    if (app.size() > 1024) bad("application is longer than 1024 characters");
    for (char c : app)
        if (!name_char(c) && c != '-' && c != '/')
            bad("application " + shown(app) + " has the character " + shown(std::string(1, c)) +
                ": Pyroscope allows letters, digits, '_', '.', '-' and '/'");
    if (o.tags().size() > 26)
        bad("more than 26 tags (" + std::to_string(o.tags().size()) +
            "): Pyroscope keeps at most 30 labels per series by default and adds four itself");
    for (std::size_t i = 0; i < o.tags().size(); ++i) {
        const std::string& k = o.tags()[i].first;
        const std::string& v = o.tags()[i].second;
        if (k.empty()) bad("tag " + std::to_string(i) + " has an empty key");
        if (k.size() > 1024) bad("tag key " + shown(k) + " is longer than 1024 characters");
        for (char c : k)
            if (!name_char(c))
                bad("tag key " + shown(k) + " has the character " + shown(std::string(1, c)) +
                    ": Pyroscope allows letters, digits, '_' and '.'");
        if (k == "__name__") bad("tag key \"__name__\" is reserved by Pyroscope");
        if (k == "profile_id")
            bad("tag key \"profile_id\" makes Pyroscope discard the upload (it is meant for span "
                "profiles, as a sample label)");
        for (std::size_t j = 0; j < i; ++j)
            if (o.tags()[j].first == k) bad("tag key " + shown(k) + " is given twice");
        if (v.empty()) bad("tag " + shown(k) + " has an empty value (Pyroscope drops such tags)");
        if (v.size() > 2048) bad("tag " + shown(k) + " has a value longer than 2048 characters");
        for (char c : v) {
            const auto u = static_cast<unsigned char>(c);
            if (u < 0x20 || u >= 0x7f || c == ',' || c == '{' || c == '}' || c == '=')
                bad("tag " + shown(k) + " value " + shown(v) +
                    " has a character Pyroscope's name parser does not keep: use printable ASCII "
                    "without ',', '{', '}' and '='");
        }
        if (v.front() == ' ' || v.back() == ' ')
            bad("tag " + shown(k) + " value " + shown(v) + " starts or ends with a space (Pyroscope trims it)");
    }
    if (o.sample_rate() < 0 || o.sample_rate() > 1000000)
        bad("sample_rate must be in 0..1000000 Hz, got " + std::to_string(o.sample_rate()));
    if (o.spy_name().empty() || o.spy_name().size() > 64) bad("spy_name must be 1..64 characters");
    for (char c : o.spy_name())
        if (!name_char(c) && c != '-') bad("spy_name " + shown(o.spy_name()) + " may hold letters, digits, '_', '.', '-'");
    if (!o.basic_auth_user().empty() || !o.basic_auth_password().empty()) {
        if (o.basic_auth_user().find(':') != std::string::npos) bad("basic_auth user has a ':'");
        for (const std::string* s : {&o.basic_auth_user(), &o.basic_auth_password()})
            for (char c : *s)
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) bad("basic_auth has a control character");
    }
    if (o.tenant_id().find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
        bad("tenant_id has a CR, LF or NUL");
    for (const auto& h : o.headers()) {
        if (!cpprof::http::detail::is_token(h.first)) bad("header name " + shown(h.first) + " is not an HTTP token");
        if (h.second.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
            bad("header " + h.first + " has a CR, LF or NUL in its value");
        for (const char* own : {"Host", "Content-Length", "Transfer-Encoding", "Connection", "Content-Type"})
            if (cpprof::http::detail::iequals(h.first, own)) bad("header " + h.first + " is written by cpprof itself");
    }
}

/// RFC 4648 base64 with padding.
inline std::string base64(std::string_view in) {
    static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const std::uint32_t v = (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16) |
                                (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8) |
                                static_cast<unsigned char>(in[i + 2]);
        out += table[v >> 18];
        out += table[(v >> 12) & 63];
        out += table[(v >> 6) & 63];
        out += table[v & 63];
    }
    if (i < in.size()) {
        std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
        if (i + 1 < in.size()) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
        out += table[v >> 18];
        out += table[(v >> 12) & 63];
        out += i + 1 < in.size() ? table[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
inline std::string query_escape(std::string_view s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : s) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '.' || c == '_' || c == '~') {
            out += c;
        } else {
            const auto u = static_cast<unsigned char>(c);
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
}

/// "app{k=v,k2=v2}", or "app" without tags.
inline std::string series_name(const options& o) {
    std::string name = o.application();
    if (o.tags().empty()) return name;
    name += '{';
    for (std::size_t i = 0; i < o.tags().size(); ++i) {
        if (i != 0) name += ',';
        name += o.tags()[i].first + "=" + o.tags()[i].second;
    }
    return name + "}";
}

/// A time in ns since the epoch as Pyroscope's from/until: ns (19 digits) when it has 19
/// digits, else seconds (a digit string of another length is read as seconds).
inline std::string ingest_time(std::int64_t ns) {
    if (ns >= 1000000000000000000LL) return std::to_string(ns);
    return std::to_string(ns / 1000000000);
}

/// The ingest request for profile `p` (the body is its gzip-compressed pprof).
template <class T = void>
cpprof::detail::export_request ingest_request(const options& o, const profile& p,
                                              std::chrono::system_clock::time_point now) {
    const std::int64_t now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    const std::int64_t duration = p.duration_nanos() > 0 ? p.duration_nanos() : 0;
    const std::int64_t from = p.time_nanos() > 0 ? p.time_nanos() : now_ns - duration;
    const std::int64_t until = from + duration;
    int rate = o.sample_rate();
    if (rate == 0 && p.period() > 0 && p.period_type().unit == "nanoseconds")
        rate = static_cast<int>((1000000000LL + p.period() / 2) / p.period());

    std::string base = o.url();
    while (!base.empty() && base.back() == '/') base.pop_back();
    cpprof::detail::export_request r;
    r.url = base + "/ingest?name=" + query_escape(series_name(o)) + "&from=" + ingest_time(from) +
            "&until=" + ingest_time(until) + "&format=pprof";
    if (rate > 0) r.url += "&sampleRate=" + std::to_string(rate);
    r.url += "&spyName=" + query_escape(o.spy_name());
    r.content_type = "application/octet-stream";
    if (!o.basic_auth_user().empty() || !o.basic_auth_password().empty())
        r.headers.emplace_back("Authorization",
                               "Basic " + base64(o.basic_auth_user() + ":" + o.basic_auth_password()));
    if (!o.tenant_id().empty()) r.headers.emplace_back("X-Scope-OrgID", o.tenant_id());
    for (const auto& h : o.headers()) r.headers.push_back(h);
    r.body = cpprof::detail::gzip_compress(encode_pprof<T>(p), cpprof::detail::pprof_gzip_level);
    r.what = "pyroscope ingest";
    return r;
}

}  // namespace detail

/// See the top of this header. Use it as `pyroscope::client` (the template parameter only delays
/// instantiation; see the note in config.hpp).
template <class = void>
class basic_client {
public:
    /// Checks the options (throws cpprof::error naming the one that is wrong) and starts the
    /// background exporter.
    explicit basic_client(options o) : options_(checked(std::move(o))), exporter_(options_.exporter()) {}

    basic_client(const basic_client&) = delete;
    basic_client& operator=(const basic_client&) = delete;

    /// Encodes `p` as pprof and queues its upload; never waits for the network. False when the
    /// upload was dropped because the queue is full (counted in stats().dropped_queue_full).
    /// Throws cpprof::error only when the profile cannot be encoded (see write_pprof).
    bool push(const profile& p) {
        return exporter_.submit(detail::ingest_request(options_, p, std::chrono::system_clock::now()));
    }

    /// Waits until every queued upload was sent or given up, at most `timeout`; true if so.
    bool flush(std::chrono::milliseconds timeout) { return exporter_.flush(timeout); }

    /// Counters of the uploads (sent, retried, failed, dropped...) and the last error.
    export_stats stats() const { return exporter_.stats(); }

private:
    static options checked(options o) {
        detail::validate_options(o);
        return o;
    }

    options options_;
    cpprof::detail::background_exporter exporter_;
};

using client = basic_client<>;

}  // namespace pyroscope
}  // namespace cpprof
