#pragma once
// OTLP/HTTP export to an OpenTelemetry Collector (or anything that speaks OTLP/HTTP protobuf):
//
//     cpprof::otlp::exporter exporter{cpprof::otlp::options{}
//         .endpoint("http://127.0.0.1:4318").service_name("checkout")};
//     exporter.export_metrics(p);   // POST /v1/metrics: profiling_samples_total,
//                                   //   profiling_function_cpu_time_ratio
//     exporter.export_profile(p);   // POST /v1development/profiles (the profiles signal)
//     {
//         cpprof::otlp::span span{exporter, "expensive_operation"};   // new trace and span ids
//         expensive_computation();  // CPU and heap samples carry span_id / trace_id labels
//     }                             // POST /v1/traces, with profiling.samples / profiling.hotspot
//     exporter.flush(std::chrono::seconds(5));
//
// - Bodies are encoded on the calling thread (export/otlp_encode.hpp) and handed to a
//   detail::background_exporter (export/transport.hpp): the calling thread never waits for the
//   network; a full queue drops the request and counts it (stats().dropped_queue_full). Retries
//   (429, 5xx, connection errors, honouring Retry-After), timeouts and the bounded shutdown are
//   the transport's.
// - profiling_samples_total is cumulative across calls: each export_metrics(p) adds p's samples
//   to the exporter's count, which started at the first profile's start time. So pass each
//   profile once, as successive windows (what profiler_guard::stop() and the continuous
//   profiler give), not a growing report() of the same run again and again.
// - A span's profiling.samples and profiling.hotspot come from the samples labelled with its
//   span id. With options::profile_source (e.g. `[&guard] { return guard.report(); }`) they are
//   counted when the span ends and the span goes out at once. Without one, the ended span waits
//   (at most queue_size spans; more are dropped and counted) for the next export_profile(p) or
//   export_metrics(p), whose profile p gives its attributes; flush() and the destructor send
//   spans still waiting without the two attributes.
// - Only http:// endpoints: TLS is left to a local collector, as the transport explains.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <cpprof/error.hpp>
#include <cpprof/export/otlp_encode.hpp>
#include <cpprof/export/transport.hpp>
#include <cpprof/label_guard.hpp>
#include <cpprof/profile.hpp>

namespace cpprof {
namespace otlp {

/// Exporter settings (chained setters returning *this).
class options {
public:
    using ms = std::chrono::milliseconds;

    /// Base URL of the collector's OTLP/HTTP receiver (default http://127.0.0.1:4318); the
    /// signal paths (/v1/metrics, /v1/traces, /v1development/profiles) are appended to it.
    options& endpoint(std::string url) { endpoint_ = std::move(url); return *this; }
    const std::string& endpoint() const { return endpoint_; }
    /// The resource's service.name (default "unknown_service").
    options& service_name(std::string name) { encode_.service_name = std::move(name); return *this; }
    const std::string& service_name() const { return encode_.service_name; }
    /// An extra string attribute of the resource (e.g. "deployment.environment.name").
    options& resource_attribute(std::string key, std::string value) {
        encode_.resource_attributes.emplace_back(std::move(key), std::move(value));
        return *this;
    }
    /// An extra HTTP header on every request (e.g. an API key the collector wants).
    options& header(std::string name, std::string value) {
        headers_.emplace_back(std::move(name), std::move(value));
        return *this;
    }
    options& headers(std::vector<std::pair<std::string, std::string>> h) {
        headers_ = std::move(h);
        return *this;
    }
    const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
    /// The most one HTTP attempt may take (default 10 s, OTLP's default export timeout).
    options& timeout(ms t) { transport_.timeout(t); return *this; }
    ms timeout() const { return transport_.timeout(); }
    /// Requests (and ended spans) that may wait to be sent (default 64); more are dropped.
    options& queue_size(std::size_t n) { transport_.queue_capacity(n); return *this; }
    std::size_t queue_size() const { return transport_.queue_capacity(); }
    /// Retries after the first attempt (default 5).
    options& max_retries(int n) { transport_.max_retries(n); return *this; }
    /// Functions in profiling_function_cpu_time_ratio (default 10).
    options& top_functions(std::size_t n) { encode_.top_functions = n; return *this; }
    std::size_t top_functions() const { return encode_.top_functions; }
    /// Where ended spans get their profile from (see the top of this header).
    options& profile_source(std::function<profile()> source) { source_ = std::move(source); return *this; }
    const std::function<profile()>& profile_source() const { return source_; }
    /// Every transport setting (backoff, shutdown timeout, user agent, ...).
    options& transport(export_options o) { transport_ = std::move(o); return *this; }
    const export_options& transport() const { return transport_; }
    const encode_options& encoding() const { return encode_; }

private:
    std::string endpoint_ = "http://127.0.0.1:4318";
    encode_options encode_;
    std::vector<std::pair<std::string, std::string>> headers_;
    export_options transport_;
    std::function<profile()> source_;
};

class exporter;

namespace detail {

/// profiling.samples and profiling.hotspot of the spans in `wanted` (span id hex -> slot):
/// samples counted as profile::total_samples() does, the hotspot being the leaf function with
/// the most CPU (or default) value among them.
struct span_profile_stats {
    std::uint64_t samples = 0;
    std::map<std::string, std::int64_t> self;  // leaf function -> value
    std::string hotspot() const {
        const std::pair<const std::string, std::int64_t>* best = nullptr;
        for (const auto& kv : self)
            if (kv.second > 0 && (best == nullptr || kv.second > best->second)) best = &kv;
        return best != nullptr ? best->first : std::string();
    }
};

template <class = void>
std::vector<span_profile_stats> span_stats(const profile& p,
                                           const std::unordered_map<std::string, std::size_t>& wanted) {
    std::vector<span_profile_stats> out(wanted.size());
    if (wanted.empty()) return out;
    const bool counts = !p.sample_types().empty() && p.sample_types()[0].unit == "count";
    std::size_t column = cpu_column(p);
    if (column == static_cast<std::size_t>(-1)) column = p.default_sample_index();
    for (const sample& s : p.samples()) {
        const std::string_view id = s.label_str(label_keys::span_id);
        if (id.empty()) continue;
        auto it = wanted.find(std::string(id));
        if (it == wanted.end()) continue;
        span_profile_stats& st = out[it->second];
        st.samples += counts ? static_cast<std::uint64_t>(s.values.empty() || s.values[0] < 0 ? 0 : s.values[0]) : 1;
        if (!s.stack.empty() && s.stack.front() < p.frames().size() && column < s.values.size())
            st.self[p.frame_at(s.stack.front()).display_name()] += s.values[column];
    }
    return out;
}

inline void add_profiling_attributes(span_data& s, const span_profile_stats& st) {
    s.attributes.push_back(attribute::of("profiling.samples", static_cast<std::int64_t>(st.samples)));
    const std::string hot = st.hotspot();
    if (!hot.empty()) s.attributes.push_back(attribute::of("profiling.hotspot", hot));
}

}  // namespace detail

/// Sends profiles, metrics and spans to an OTLP/HTTP receiver in the background.
class exporter {
public:
    explicit exporter(options o = {}) : options_(validated(std::move(o))), transport_(options_.transport()) {}
    exporter(const exporter&) = delete;
    exporter& operator=(const exporter&) = delete;
    /// Sends spans still waiting, then lets the transport drain (bounded, see transport.hpp).
    ~exporter() {
        try {
            send_pending(nullptr);
        } catch (...) {
        }
    }

    /// ExportMetricsServiceRequest for `p` (see the top of this header). False when the request
    /// was dropped (queue full). Throws cpprof::error when p cannot be encoded.
    bool export_metrics(const profile& p) {
        samples_counter c;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!counter_started_) {
                counter_.start_unix_nano = p.time_nanos() > 0 ? static_cast<std::uint64_t>(p.time_nanos())
                                                              : detail::unix_now_nanos();
                counter_started_ = true;
            }
            counter_.total += p.total_samples();
            c = counter_;
        }
        const bool ok = submit(paths::metrics, encode_metrics(p, options_.encoding(), c), "otlp metrics");
        send_pending(&p);
        return ok;
    }

    /// ExportProfilesServiceRequest for `p`. False when dropped; throws cpprof::error when p
    /// cannot be encoded.
    bool export_profile(const profile& p) {
        const bool ok = submit(paths::profiles, encode_profiles(p, options_.encoding()), "otlp profiles");
        send_pending(&p);
        return ok;
    }

    /// ExportTraceServiceRequest with `spans` as they are. False when dropped or empty.
    bool export_spans(const std::vector<span_data>& spans) {
        if (spans.empty()) return false;
        return submit(paths::traces, encode_traces(spans, options_.encoding()), "otlp traces");
    }

    /// Sends the spans still waiting for a profile, then waits until everything submitted was
    /// sent or given up, at most `timeout`. True when the queue drained in time.
    bool flush(std::chrono::milliseconds timeout) {
        send_pending(nullptr);
        return transport_.flush(timeout);
    }

    /// The transport's counters, plus ended spans dropped while waiting for a profile (in
    /// dropped_queue_full).
    export_stats stats() const {
        export_stats s = transport_.stats();
        std::lock_guard<std::mutex> lock(mutex_);
        s.dropped_queue_full += spans_dropped_;
        if (s.last_error.empty() && spans_dropped_ > 0)
            s.last_error = "otlp traces: " + std::to_string(spans_dropped_) +
                           " ended spans dropped while waiting for a profile (queue_size)";
        return s;
    }

    const options& settings() const { return options_; }

    /// Called by span's destructor; usable directly for spans timed elsewhere.
    void end_span(span_data s) {
        if (options_.profile_source()) {
            profile p = options_.profile_source()();
            std::unordered_map<std::string, std::size_t> wanted{{s.id.hex(), 0}};
            detail::add_profiling_attributes(s, detail::span_stats(p, wanted)[0]);
            (void)export_spans({s});
            return;
        }
        std::lock_guard<std::mutex> lock(mutex_);
        if (pending_.size() >= options_.queue_size()) {
            ++spans_dropped_;
            return;
        }
        pending_.push_back(std::move(s));
    }

private:
    static options validated(options o) {
        const std::string& e = o.endpoint();
        if (e.compare(0, 7, "http://") != 0)
            throw error("otlp::options: endpoint \"" + e +
                        "\" must be an http:// URL (cpprof sends plain HTTP; let a local "
                        "OpenTelemetry Collector handle TLS)");
        for (const auto& h : o.headers())
            if (h.first.empty() || h.first.find_first_of(std::string_view(":\r\n\0", 4)) != std::string::npos ||
                h.second.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
                throw error("otlp::options: header \"" + h.first + "\" has an empty name, a colon, CR, LF or NUL");
        if (o.service_name().empty()) throw error("otlp::options: service_name is empty");
        return o;
    }

    std::string url(std::string_view path) const {
        std::string u = options_.endpoint();
        while (!u.empty() && u.back() == '/') u.pop_back();
        u += path;
        return u;
    }

    bool submit(std::string_view path, std::string body, const char* what) {
        cpprof::detail::export_request r;
        r.url = url(path);
        r.content_type = std::string(content_type);
        r.headers = options_.headers();
        r.body = std::move(body);
        r.what = what;
        return transport_.submit(std::move(r));
    }

    /// Sends the waiting spans, with their profiling attributes from `p` when there is one.
    void send_pending(const profile* p) {
        std::vector<span_data> spans;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            spans.swap(pending_);
        }
        if (spans.empty()) return;
        if (p != nullptr) {
            std::unordered_map<std::string, std::size_t> wanted;
            for (std::size_t i = 0; i < spans.size(); ++i) wanted.emplace(spans[i].id.hex(), i);
            const auto st = detail::span_stats(*p, wanted);
            for (std::size_t i = 0; i < spans.size(); ++i)
                detail::add_profiling_attributes(spans[i], st[wanted.at(spans[i].id.hex())]);
        }
        (void)export_spans(spans);
    }

    options options_;
    mutable std::mutex mutex_;
    samples_counter counter_;
    bool counter_started_ = false;
    std::vector<span_data> pending_;
    std::uint64_t spans_dropped_ = 0;
    cpprof::detail::background_exporter transport_;  // last: stops before the members above go
};

/// A span that labels the samples of its scope with span_id / trace_id (formats.md §9) and is
/// exported when it ends. Scoped like label_guard: not copyable, movable or heap-allocatable,
/// and it must end on the thread that made it (its labels are that thread's).
class span {
public:
    /// A new root span: random trace and span ids.
    span(exporter& e, std::string name) : span(e, std::move(name), trace_id::random(), span_id::random(), span_id{}) {}
    /// A new span in trace `trace`, child of `parent` (all zero: a root span).
    span(exporter& e, std::string name, const trace_id& trace, const span_id& parent = {})
        : span(e, std::move(name), trace, span_id::random(), parent) {}
    /// Every id given. Throws cpprof::error for an all-zero trace or span id or an empty name.
    span(exporter& e, std::string name, const trace_id& trace, const span_id& id, const span_id& parent)
        : exporter_(e),
          data_(make_data(std::move(name), trace, id, parent)),
          trace_hex_(trace.hex()),
          span_hex_(id.hex()),
          trace_label_(label_keys::trace_id, trace_hex_),
          span_label_(label_keys::span_id, span_hex_) {}

    span(const span&) = delete;
    span& operator=(const span&) = delete;
    span(span&&) = delete;
    span& operator=(span&&) = delete;
    static void* operator new(std::size_t) = delete;
    static void* operator new[](std::size_t) = delete;

    /// Ends the span (end time now) and hands it to the exporter; never throws.
    ~span() {
        try {
            data_.end_unix_nano = detail::unix_now_nanos();
            exporter_.end_span(std::move(data_));
        } catch (...) {
        }
    }

    /// A string, integer, double or bool attribute of the span.
    template <class T>
    span& set_attribute(std::string key, const T& value) {
        if constexpr (std::is_same<T, bool>::value)
            data_.attributes.push_back(attribute::of(std::move(key), value));
        else if constexpr (std::is_integral<T>::value)
            data_.attributes.push_back(attribute::of(std::move(key), static_cast<std::int64_t>(value)));
        else if constexpr (std::is_floating_point<T>::value)
            data_.attributes.push_back(attribute::of(std::move(key), static_cast<double>(value)));
        else
            data_.attributes.push_back(attribute::of(std::move(key), std::string(value)));
        return *this;
    }

    const otlp::trace_id& trace() const { return data_.trace; }
    const otlp::span_id& id() const { return data_.id; }

private:
    static span_data make_data(std::string name, const trace_id& trace, const span_id& id, const span_id& parent) {
        if (name.empty()) throw error("otlp::span: the name is empty");
        if (!trace.valid() || !id.valid()) throw error("otlp::span \"" + name + "\": all-zero trace or span id");
        span_data d;
        d.trace = trace;
        d.id = id;
        d.parent = parent;
        d.name = std::move(name);
        d.start_unix_nano = detail::unix_now_nanos();
        return d;
    }

    exporter& exporter_;
    span_data data_;
    std::string trace_hex_, span_hex_;
    label_guard trace_label_;  // constructed after the hex strings, destroyed before them
    label_guard span_label_;
};

}  // namespace otlp
}  // namespace cpprof
