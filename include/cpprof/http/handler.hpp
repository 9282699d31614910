#pragma once
// cpprof::http::handle(): the /debug/pprof endpoints as a function from a request to a
// response, for an application that has its own HTTP server (cpprof::http::server calls the
// same function). Blocking: a profile request holds the calling thread for its `seconds`.
//
//     cpprof::http::request req;                 // filled from the application's server
//     req.method = "GET";
//     req.path = "/debug/pprof/profile";
//     req.query = "seconds=10";
//     cpprof::http::response res = cpprof::http::handle(req);
//     // copy res.status, res.headers, res.body back
//
// Endpoints (Go's net/http/pprof where Go has them):
//   /debug/pprof/            GET, HEAD  an HTML index linking the rest
//   /debug/pprof/cmdline     GET, HEAD  the command line, arguments separated by NUL (as Go)
//   /debug/pprof/profile     GET        ?seconds=N (default 30) &frequency=Hz (default 100):
//                                       a CPU profile, gzipped pprof; 409 while another CPU
//                                       profile runs in the process
//   /debug/pprof/flamegraph  GET        the same, as an SVG flame graph
//   /debug/pprof/heap        GET        [?seconds=N] [&gc=ignored]: a heap profile (see "Heap"
//   /debug/pprof/allocs      GET        below; allocs: with alloc_space as default type); 404
//                                       saying how to enable it when cpprof's operator new is
//                                       not linked in
//   /debug/pprof/symbol      GET, HEAD, POST  Go's symbol protocol: "num_symbols: 1" then one
//                                       "0xADDR name" line per known address of the POST body
//                                       (or the GET query), addresses separated by '+'
//   /sampling/start          POST       JSON body {"frequency": N} (optional; empty body =
//                                       100 Hz): starts a CPU profile that /sampling/stop
//                                       ends; 200 with a JSON status, 409 when a CPU profile
//                                       already runs, 400 with the reason for bad JSON/values
//   /sampling/stop           GET, POST  ?format=svg (default) or pprof; 404 when none runs
// `/debug/pprof` redirects (301) to `/debug/pprof/`; other /debug/pprof/NAME profiles of Go
// (goroutine, block, mutex, threadcreate) are 404 with the list of what exists; a known path
// with another method is 405 with Allow; HEAD answers as GET only where GET has no effect
// (index, cmdline, symbol): on the profile endpoints it would have to run a profile, so 405.
//
// Query strings are parsed from request::query (a bad escape is a 400). `seconds` is a positive
// decimal with at most 3 fractional digits (so tests can ask for 0.2), at most max_seconds.
// Heap: Go samples the heap from program start, cpprof only while a heap profile runs. Give
// handler_options::heap_profile() a heap_profiler_guard the application keeps running (the
// server does it with server_options::heap_since_start(true)) and /debug/pprof/heap and /allocs
// answer at once with everything since it started, ?seconds=N with the delta over N seconds,
// as Go's do; without one, each request samples a window of ?seconds=N (default 5) of its own.
// Differences from Go, on purpose: `frequency` is a cpprof extension; the JSON endpoints answer
// errors as {"error": "..."}.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <string_view>
#include <thread>
#include <utility>

#include <cpprof/config.hpp>
#include <cpprof/cpu/profiler_guard.hpp>
#include <cpprof/cpu/profiler_options.hpp>
#include <cpprof/detail/alloc_state.hpp>
#include <cpprof/detail/gzip.hpp>
#include <cpprof/detail/json.hpp>
#include <cpprof/detail/json_reader.hpp>
#include <cpprof/error.hpp>
#include <cpprof/http/message.hpp>
#include <cpprof/memory/heap_options.hpp>
#include <cpprof/memory/heap_profiler.hpp>
#include <cpprof/output/flamegraph.hpp>
#include <cpprof/output/pprof.hpp>
#include <cpprof/profile.hpp>

// Included exactly as the profilers include them (the single header keeps one copy).
#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
#include <cpprof/detail/procfs.hpp>
#include <cpprof/detail/symbolizer.hpp>
#endif

namespace cpprof {
namespace http {

/// Limits of handle(); cpprof::http::server passes its own.
class handler_options {
public:
    /// Longest profile a request may ask for, in seconds (1..86400, default 300); more is a 400.
    handler_options& max_seconds(int s) { max_seconds_ = s; return *this; }
    int max_seconds() const { return max_seconds_; }
    /// `seconds` of /debug/pprof/profile and /flamegraph when the request names none (Go: 30).
    handler_options& default_seconds(int s) { default_seconds_ = s; return *this; }
    int default_seconds() const { return default_seconds_; }
    /// `seconds` of /debug/pprof/heap and /allocs when the request names none and no
    /// heap_profile() is given (default 5).
    handler_options& default_heap_seconds(int s) { default_heap_seconds_ = s; return *this; }
    int default_heap_seconds() const { return default_heap_seconds_; }
    /// A heap profile the application keeps running (typically for its whole life; it must
    /// outlive every handle() call that uses it). /debug/pprof/heap and /allocs then answer at
    /// once with everything since it started, as Go's do, and with ?seconds=N the difference
    /// over the next N seconds (Go's delta profile). nullptr (default): each request samples
    /// the heap for a window of its own, ?seconds=N (default default_heap_seconds()).
    handler_options& heap_profile(const heap_profiler_guard* g) { heap_ = g; return *this; }
    const heap_profiler_guard* heap_profile() const { return heap_; }
    /// A flag that, once true, ends a profile request early with 503 (cpprof::http::server
    /// sets it when it stops, so stop() does not wait out a 30 s profile). nullptr: none.
    handler_options& cancel_flag(const std::atomic<bool>* flag) { cancel_ = flag; return *this; }
    const std::atomic<bool>* cancel_flag() const { return cancel_; }
    /// Asked every 50 ms while a request waits out its profile; true abandons the profile (the
    /// server passes "the client hung up", as Go cancels on a closed connection). Empty: never.
    handler_options& cancel_when(std::function<bool()> f) { cancel_when_ = std::move(f); return *this; }
    const std::function<bool()>& cancel_when() const { return cancel_when_; }

    /// Whether a running profile request should end now (cancel_flag or cancel_when).
    bool cancelled() const {
        return (cancel_ && cancel_->load()) || (cancel_when_ && cancel_when_());
    }

private:
    const std::atomic<bool>* cancel_ = nullptr;
    std::function<bool()> cancel_when_;
    const heap_profiler_guard* heap_ = nullptr;
    int max_seconds_ = 300;
    int default_seconds_ = 30;
    int default_heap_seconds_ = 5;
};

namespace detail {

inline constexpr int default_http_frequency = 100;

inline response json_response(int status, std::string body) {
    response r;
    r.status = status;
    r.body = std::move(body) + "\n";
    r.set_header("Content-Type", "application/json");
    r.set_header("X-Content-Type-Options", "nosniff");
    return r;
}

inline response json_error(int status, std::string_view message) {
    return json_response(status, "{\"error\": " + ::cpprof::detail::json_quoted(message) + "}");
}

/// `seconds` as milliseconds: a positive decimal with at most 3 fractional digits, at most
/// max_seconds. Empty reason on success.
inline std::string parse_seconds(const fields& params, int default_seconds, int max_seconds,
                                 std::int64_t& ms) {
    const std::string* v = find_field(params, "seconds", false);
    if (!v) {
        ms = std::int64_t{default_seconds} * 1000;
        return {};
    }
    const std::string range = "seconds must be a number in (0, " + std::to_string(max_seconds) +
                              "] with at most 3 decimals, got '" + *v + "'";
    std::int64_t whole = 0, frac = 0;
    int frac_digits = 0;
    std::size_t i = 0;
    if (v->empty() || (*v)[0] < '0' || (*v)[0] > '9') return range;
    for (; i < v->size() && (*v)[i] >= '0' && (*v)[i] <= '9'; ++i) {
        whole = whole * 10 + ((*v)[i] - '0');
        if (whole > max_seconds) return range;
    }
    if (i < v->size() && (*v)[i] == '.') {
        ++i;
        if (i == v->size()) return range;
        for (; i < v->size() && (*v)[i] >= '0' && (*v)[i] <= '9'; ++i) {
            if (++frac_digits > 3) return range;
            frac = frac * 10 + ((*v)[i] - '0');
        }
    }
    if (i != v->size()) return range;
    while (frac_digits < 3) frac *= 10, ++frac_digits;
    ms = whole * 1000 + frac;
    if (ms <= 0 || ms > std::int64_t{max_seconds} * 1000) return range;
    return {};
}

/// `frequency` (1..10000 Hz, default 100). Empty reason on success.
inline std::string parse_frequency(const fields& params, int& hz) {
    hz = default_http_frequency;
    const std::string* v = find_field(params, "frequency", false);
    if (!v) return {};
    const std::string bad = "frequency must be an integer in 1..10000 (Hz), got '" + *v + "'";
    if (v->empty() || v->size() > 5 || v->find_first_not_of("0123456789") != std::string::npos)
        return bad;
    hz = std::stoi(*v);
    if (hz < 1 || hz > 10000) return bad;
    return {};
}

inline bool cpu_profile_running() {
#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
    return ::cpprof::detail::globals().running.load();
#else
    return false;
#endif
}

inline const char* cpu_conflict_message() {
    return "a CPU profile is already running in this process (another /debug/pprof/profile, "
           "/sampling/start, or the application's own profiler_guard); try again when it ends";
}

/// Why CPU profiling cannot work in this build, or nullptr.
inline const char* cpu_unavailable() {
#if !CPPROF_ENABLED
    return "cpprof was compiled with CPPROF_ENABLED=0: profiling is off in this program";
#elif !CPPROF_PLATFORM_SUPPORTED
    return "CPU sampling is supported on Linux x86_64 and aarch64 only";
#else
    return nullptr;
#endif
}

/// Starts a CPU profile into `guard`; on failure returns the response to send (409/500/501).
template <class Guard>
std::optional<response> start_cpu(std::optional<Guard>& guard, int hz, bool json) {
    auto fail = [json](int status, std::string_view m) {
        return json ? json_error(status, m) : text_response(status, std::string(m));
    };
    if (const char* why = cpu_unavailable()) return fail(501, why);
    if (cpu_profile_running()) return fail(409, cpu_conflict_message());
    try {
        guard.emplace(profiler_options{}.frequency(hz));
    } catch (const error& e) {
        if (cpu_profile_running()) return fail(409, cpu_conflict_message());
        return fail(500, e.what());
    }
    return std::nullopt;
}

/// Sleeps `ms` milliseconds in slices of at most 50 ms, asking o.cancelled() between them.
/// Returns false when cancelled.
inline bool wait_window(std::int64_t ms, const handler_options& o) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
        if (o.cancelled()) return false;
        const auto now = std::chrono::steady_clock::now();
        if (now >= end) return true;
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            end - now, std::chrono::milliseconds(50)));
    }
}

inline const char* cancelled_message() {
    return "the profile was abandoned: the server is shutting down or the client hung up";
}

/// Runs a CPU profile for `ms` milliseconds into `out`; or returns the error response.
inline std::optional<response> cpu_window(std::int64_t ms, int hz, const handler_options& o,
                                          profile& out) {
    std::optional<profiler_guard<>> guard;
    if (auto failure = start_cpu(guard, hz, false)) return failure;
    if (!wait_window(ms, o)) return text_response(503, cancelled_message());
    try {
        out = guard->stop();
    } catch (const error& e) {
        return text_response(500, e.what());
    }
    return std::nullopt;
}

inline response pprof_response(const profile& p, const char* filename) {
    response r;
    r.body = ::cpprof::detail::gzip_compress(encode_pprof(p), ::cpprof::detail::pprof_gzip_level);
    r.set_header("Content-Type", "application/octet-stream");
    r.set_header("Content-Disposition", std::string("attachment; filename=\"") + filename + "\"");
    r.set_header("X-Content-Type-Options", "nosniff");
    return r;
}

inline response svg_response(const profile& p, std::string title) {
    std::ostringstream os;
    write_flamegraph(p, os, flamegraph_options{}.title(std::move(title)));
    response r;
    r.body = std::move(os).str();
    r.set_header("Content-Type", "image/svg+xml");
    r.set_header("X-Content-Type-Options", "nosniff");
    return r;
}

inline std::string seconds_text(std::int64_t ms) {
    std::string s = std::to_string(ms / 1000);
    if (ms % 1000 != 0) {
        std::string f = std::to_string(1000 + ms % 1000).substr(1);
        while (!f.empty() && f.back() == '0') f.pop_back();
        s += "." + f;
    }
    return s;
}

// ---- endpoints ---------------------------------------------------------------------------

inline response serve_index(const request&, const fields&, const handler_options&) {
    response r;
    r.body =
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>/debug/pprof/</title>"
        "<style>.profile-name{display:inline-block;width:6rem}td{padding:0 1rem 0 0}</style>"
        "</head>\n<body>\n<p>/debug/pprof/ (cpprof)</p>\n"
        "<p>Profiles:</p>\n<table>\n"
        "<tr><td><a href=\"profile?seconds=30\">profile</a></td><td>CPU profile (pprof, gzip); "
        "?seconds=N&amp;frequency=Hz</td></tr>\n"
        "<tr><td><a href=\"flamegraph?seconds=10\">flamegraph</a></td><td>CPU flame graph (SVG); "
        "?seconds=N&amp;frequency=Hz</td></tr>\n"
        "<tr><td><a href=\"heap\">heap</a></td><td>memory still in use, allocated during "
        "?seconds=N (needs CPPROF_IMPLEMENT_GLOBAL_NEW)</td></tr>\n"
        "<tr><td><a href=\"allocs\">allocs</a></td><td>all memory allocated during ?seconds=N "
        "(needs CPPROF_IMPLEMENT_GLOBAL_NEW)</td></tr>\n"
        "<tr><td><a href=\"cmdline\">cmdline</a></td><td>the command line</td></tr>\n"
        "<tr><td><a href=\"symbol\">symbol</a></td><td>address to function name (for "
        "go tool pprof)</td></tr>\n"
        "</table>\n<p>Sampling control: <code>POST /sampling/start</code> with "
        "<code>{\"frequency\": 100}</code>, then <code>GET /sampling/stop</code> "
        "(flame graph; <code>?format=pprof</code> for a profile).</p>\n"
        "<p>Use <code>go tool pprof http://HOST/debug/pprof/profile?seconds=10</code>.</p>\n"
        "</body></html>\n";
    r.set_header("Content-Type", "text/html; charset=utf-8");
    r.set_header("X-Content-Type-Options", "nosniff");
    return r;
}

/// The command line, read once (as Go serves os.Args: what the program started with).
inline const std::string& command_line() {
    static const std::string args = [] {
#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
        std::string a = ::cpprof::detail::read_small_file("/proc/self/cmdline", 1u << 20);
#else
        std::string a;  // no /proc to read it from
#endif
        if (!a.empty() && a.back() == '\0') a.pop_back();  // joined by NUL, as Go's
        return a;
    }();
    return args;
}

inline response serve_cmdline(const request&, const fields&, const handler_options&) {
    response r = text_response(200, "");
    r.body = command_line();
    return r;
}

inline response serve_cpu(const fields& params, const handler_options& o, bool svg) {
    std::int64_t ms = 0;
    int hz = 0;
    std::string why = parse_seconds(params, o.default_seconds(), o.max_seconds(), ms);
    if (why.empty()) why = parse_frequency(params, hz);
    if (!why.empty()) return text_response(400, why);
    profile p;
    if (auto failure = cpu_window(ms, hz, o, p)) return *failure;
    if (svg)
        return svg_response(p, "CPU: " + seconds_text(ms) + " s at " + std::to_string(hz) + " Hz");
    return pprof_response(p, "profile");
}

inline response serve_profile(const request&, const fields& params, const handler_options& o) {
    return serve_cpu(params, o, false);
}

inline response serve_flamegraph(const request&, const fields& params, const handler_options& o) {
    return serve_cpu(params, o, true);
}

inline const char* heap_how_to_enable() {
    return "heap profiling is not enabled in this program: it needs cpprof's operator new. "
           "Define CPPROF_IMPLEMENT_GLOBAL_NEW before including <cpprof/cpprof.hpp> in exactly "
           "one .cpp file of the program (see <cpprof/memory/global_new.hpp>), rebuild, and "
           "/debug/pprof/heap and /debug/pprof/allocs will answer";
}

/// `after` minus `before`, stack by stack (matched by addresses, then names), keeping after's
/// frames, mappings and labels: the delta of two reports of one running heap profile, whose
/// stacks only ever get added.
template <class = void>
profile heap_delta(const profile& before, const profile& after) {
    auto key_of = [](const profile& p, const sample& s) {
        std::string key;
        for (frame_id id : s.stack) {
            const frame& f = p.frames()[id];
            key.append(reinterpret_cast<const char*>(&f.address), sizeof f.address);
            key += f.function;
            key += '\0';
        }
        return key;
    };
    std::unordered_map<std::string, const sample*> earlier;
    for (const sample& s : before.samples()) earlier.emplace(key_of(before, s), &s);
    profile out = after;
    auto& samples = out.mutable_samples();
    std::size_t kept = 0;
    for (sample& s : samples) {
        const auto it = earlier.find(key_of(after, s));
        bool nonzero = false;
        for (std::size_t i = 0; i < s.values.size(); ++i) {
            if (it != earlier.end() && i < it->second->values.size()) s.values[i] -= it->second->values[i];
            nonzero = nonzero || s.values[i] != 0;
        }
        if (nonzero) samples[kept++] = std::move(s);
    }
    samples.resize(kept);
    out.set_time_nanos(before.time_nanos() + before.duration_nanos());
    out.set_duration_nanos(after.time_nanos() + after.duration_nanos() - out.time_nanos());
    out.add_comment("delta: what changed over the request's seconds (after minus before)");
    return out;
}

inline response heap_busy() {
    return text_response(409, "a heap profile is already running in this process (another "
                              "/debug/pprof/heap or allocs, or the application's own "
                              "heap_profiler_guard); try again when it ends");
}

inline response serve_heap_window(const fields& params, const handler_options& o, bool allocs) {
    std::int64_t ms = 0;
    const bool windowed = !o.heap_profile() || find_field(params, "seconds", false) != nullptr;
    const std::string why = parse_seconds(params, o.default_heap_seconds(), o.max_seconds(), ms);
    if (!why.empty()) return text_response(400, why);
#if !CPPROF_ENABLED || !CPPROF_PLATFORM_SUPPORTED
    (void)allocs;
    (void)windowed;
    return text_response(501, !CPPROF_ENABLED ? cpu_unavailable()
                                              : "heap profiling is supported on Linux only");
#else
    if (!::cpprof::detail::g_global_new_linked.load(std::memory_order_relaxed))
        return text_response(404, heap_how_to_enable());
    profile p;
    try {
        if (const heap_profiler_guard* standing = o.heap_profile()) {
            if (!standing->running())
                return text_response(500, "handler_options::heap_profile: that heap profile was stopped");
            p = standing->report();
            if (windowed) {
                if (!wait_window(ms, o)) return text_response(503, cancelled_message());
                p = heap_delta(p, standing->report());
            }
        } else {
            heap_profiler_guard guard;
            if (!wait_window(ms, o)) return text_response(503, cancelled_message());
            p = guard.stop();
        }
    } catch (const error& e) {
        if (std::string_view(e.what()).find("already running") != std::string_view::npos)
            return heap_busy();
        return text_response(500, e.what());
    }
    if (allocs)
        for (std::size_t i = 0; i < p.sample_types().size(); ++i)
            if (p.sample_types()[i].type == "alloc_space") p.set_default_sample_index(i);
    return pprof_response(p, allocs ? "allocs" : "heap");
#endif
}

inline response serve_heap(const request&, const fields& params, const handler_options& o) {
    return serve_heap_window(params, o, false);
}

inline response serve_allocs(const request&, const fields& params, const handler_options& o) {
    return serve_heap_window(params, o, true);
}

/// strconv.ParseUint(word, 0, 64): 0x/0X hex, leading 0 octal, else decimal. 0 when invalid.
inline std::uint64_t parse_address(std::string_view w) {
    unsigned base = 10;
    if (w.size() > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X')) {
        base = 16;
        w.remove_prefix(2);
    } else if (w.size() > 1 && w[0] == '0') {
        base = 8;
        w.remove_prefix(1);
    }
    if (w.empty()) return 0;
    std::uint64_t v = 0;
    for (char c : w) {
        const int d = hex_digit(c);
        if (d < 0 || static_cast<unsigned>(d) >= base) return 0;
        if (v > (~std::uint64_t{0} - static_cast<unsigned>(d)) / base) return 0;  // overflow
        v = v * base + static_cast<unsigned>(d);
    }
    return v;
}

inline response serve_symbol(const request& req, const fields&, const handler_options&) {
    std::string out = "num_symbols: 1\n";
    const std::string_view words = req.method == "POST" ? std::string_view(req.body)
                                                         : std::string_view(req.query);
#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
    std::unique_lock<std::mutex> lock;
    ::cpprof::detail::symbolizer* sym = nullptr;
    std::size_t pos = 0;
    while (pos <= words.size() && !words.empty()) {
        std::size_t plus = words.find('+', pos);
        if (plus == std::string_view::npos) plus = words.size();
        const std::uint64_t address = parse_address(words.substr(pos, plus - pos));
        pos = plus + 1;
        if (address == 0) continue;
        if (!sym) sym = &::cpprof::detail::process_symbolizer(lock);
        const ::cpprof::detail::symbol s = sym->lookup(address);
        if (!s.found) continue;
        static const char hex[] = "0123456789abcdef";
        std::string a;
        for (std::uint64_t v = address; v != 0; v >>= 4) a.insert(a.begin(), hex[v & 15]);
        out += "0x" + a + " " + s.function + "\n";
    }
#else
    (void)words;  // no symbol tables to read: "num_symbols: 1" and no names, as for unknowns
#endif
    return text_response(200, std::move(out));
}

/// The /sampling/start and /sampling/stop profile: process-wide, guarded by its mutex.
struct sampling_state {
    std::mutex mutex;
    std::optional<profiler_guard<>> guard;
    int frequency = 0;
    std::chrono::steady_clock::time_point started;
};

inline sampling_state& sampling() {
    static sampling_state s;
    return s;
}

inline response serve_sampling_start(const request& req, const fields&, const handler_options&) {
    int hz = default_http_frequency;
    const std::string_view body = req.body;
    if (body.find_first_not_of(" \t\r\n") != std::string_view::npos) {
        ::cpprof::detail::json_value v;
        try {
            v = ::cpprof::detail::parse_json(body);
        } catch (const error& e) {
            return json_error(400, std::string("bad JSON body: ") + e.what());
        }
        if (v.type != ::cpprof::detail::json_value::kind::object)
            return json_error(400, std::string("the body must be a JSON object such as "
                                               "{\"frequency\": 100}, got ") +
                                       ::cpprof::detail::json_kind_name(v.type));
        for (const auto& m : v.members) {
            if (m.first != "frequency")
                return json_error(400, "unknown key \"" + m.first +
                                           "\" (the body takes only \"frequency\")");
            const auto& f = m.second;
            const std::string bad = "\"frequency\" must be an integer in 1..10000 (Hz)";
            if (f.type != ::cpprof::detail::json_value::kind::number)
                return json_error(400, bad + ", got " + ::cpprof::detail::json_kind_name(f.type));
            if (f.text.size() > 5 || f.text.find_first_not_of("0123456789") != std::string::npos)
                return json_error(400, bad + ", got " + f.text);
            hz = std::stoi(f.text);
            if (hz < 1 || hz > 10000) return json_error(400, bad + ", got " + f.text);
        }
    }
    sampling_state& s = sampling();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.guard) return json_error(409, "sampling is already running (started by /sampling/start);"
                                        " GET /sampling/stop first");
    if (auto failure = start_cpu(s.guard, hz, true)) return *failure;
    s.frequency = hz;
    s.started = std::chrono::steady_clock::now();
    return json_response(200, "{\"status\": \"running\", \"frequency\": " + std::to_string(hz) +
                                  ", \"stop\": \"/sampling/stop\"}");
}

inline response serve_sampling_stop(const request&, const fields& params, const handler_options&) {
    const std::string* format = find_field(params, "format", false);
    const bool pprof = format && *format == "pprof";
    if (format && !pprof && *format != "svg")
        return text_response(400, "format must be svg (the default) or pprof, got '" + *format + "'");
    sampling_state& s = sampling();
    profile p;
    std::int64_t ms = 0;
    int hz = 0;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (!s.guard)
            return text_response(404, "no sampling is running: start it with POST /sampling/start "
                                      "(JSON body {\"frequency\": 100})");
        try {
            p = s.guard->stop();
        } catch (const error& e) {
            s.guard.reset();
            return text_response(500, e.what());
        }
        s.guard.reset();
        hz = s.frequency;
        ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now() - s.started)
                 .count();
    }
    if (pprof) return pprof_response(p, "profile");
    return svg_response(p, "CPU: " + seconds_text(ms) + " s at " + std::to_string(hz) + " Hz");
}

struct route {
    std::string_view path;
    std::string_view allow;  ///< the Allow header: methods, HEAD only where GET has no effect
    response (*serve)(const request&, const fields&, const handler_options&);
};

inline const route* find_route(std::string_view path) {
    static const route routes[] = {
        {"/debug/pprof/", "GET, HEAD", serve_index},
        {"/debug/pprof/cmdline", "GET, HEAD", serve_cmdline},
        {"/debug/pprof/profile", "GET", serve_profile},
        {"/debug/pprof/flamegraph", "GET", serve_flamegraph},
        {"/debug/pprof/heap", "GET", serve_heap},
        {"/debug/pprof/allocs", "GET", serve_allocs},
        {"/debug/pprof/symbol", "GET, HEAD, POST", serve_symbol},
        {"/sampling/start", "POST", serve_sampling_start},
        {"/sampling/stop", "GET, POST", serve_sampling_stop},
    };
    for (const route& r : routes)
        if (r.path == path) return &r;
    return nullptr;
}

inline bool allows(std::string_view allow, std::string_view method) {
    while (!allow.empty()) {
        std::size_t comma = allow.find(',');
        if (comma == std::string_view::npos) comma = allow.size();
        std::string_view m = allow.substr(0, comma);
        while (!m.empty() && m.front() == ' ') m.remove_prefix(1);
        if (m == method) return true;
        allow.remove_prefix(comma == allow.size() ? comma : comma + 1);
    }
    return false;
}

}  // namespace detail

/// Answers one request; see the top of this header. Never throws for any request: failures
/// become 4xx/5xx responses with the reason in the body.
inline response handle(const request& req, const handler_options& options) {
    if (options.max_seconds() < 1 || options.max_seconds() > 86400 ||
        options.default_seconds() < 1 || options.default_heap_seconds() < 1)
        return text_response(500, "cpprof: handler_options: max_seconds must be in 1..86400 and "
                                  "the default seconds at least 1");
    try {
        if (req.path == "/debug/pprof") {
            response r = text_response(301, "moved to /debug/pprof/");
            r.set_header("Location", "/debug/pprof/");
            return r;
        }
        const detail::route* route = detail::find_route(req.path);
        if (!route) {
            if (req.path.compare(0, 13, "/debug/pprof/") == 0)
                return text_response(404, "unknown profile " + detail::quote_bytes(req.path.substr(13)) +
                                              ": cpprof serves profile, flamegraph, heap, allocs, "
                                              "cmdline and symbol under /debug/pprof/");
            return text_response(404, "no such page " + detail::quote_bytes(req.path) +
                                          "; see /debug/pprof/");
        }
        if (!detail::allows(route->allow, req.method)) {
            response r = text_response(405, "method " + detail::quote_bytes(req.method) +
                                                " is not allowed on " + std::string(route->path) +
                                                "; allowed: " + std::string(route->allow));
            r.set_header("Allow", std::string(route->allow));
            return r;
        }
        fields params;
        const std::string why = detail::parse_query_into(req.query, params);
        if (!why.empty()) return text_response(400, "bad query string: " + why);
        return route->serve(req, params, options);
    } catch (const std::exception& e) {
        return text_response(500, e.what());
    } catch (...) {
        return text_response(500, "cpprof: unknown failure while answering the request");
    }
}

inline response handle(const request& req) { return handle(req, handler_options{}); }

}  // namespace http
}  // namespace cpprof
