#pragma once
// OTLP/HTTP protobuf bodies (opentelemetry-proto v1.11.0), encoded by hand with
// detail::proto_writer: no protobuf library. Field numbers are those of the project's format
// reference (formats.md §8); the tests decode every body with OpenTelemetry's own generated code.
//
//   encode_metrics(p, o)   ExportMetricsServiceRequest  -> POST /v1/metrics
//       profiling_samples_total            Sum, monotonic, CUMULATIVE, unit "{sample}", as_int
//       profiling_function_cpu_time_ratio  Gauge, unit "1", one point per top function (by self
//                                          CPU time), attribute "function", as_double in [0, 1]
//   encode_traces(spans, o) ExportTraceServiceRequest   -> POST /v1/traces
//   encode_profiles(p, o)  ExportProfilesServiceRequest -> POST /v1development/profiles
//       one Profile per sample type, one shared ProfilesDictionary; samples labelled span_id
//       (16 hex) and trace_id (32 hex) get a Link to that span instead of the two labels
//
// Every request carries one Resource (service.name plus the extra attributes) and the
// instrumentation scope "cpprof" with CPPROF_VERSION_STRING.
//
// The functions are templates with a dummy parameter, called like plain functions: see the
// note on lazy instantiation in config.hpp.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <cpprof/analysis/hotspots.hpp>
#include <cpprof/detail/protobuf.hpp>
#include <cpprof/error.hpp>
#include <cpprof/profile.hpp>
#include <cpprof/version.hpp>

namespace cpprof {
namespace otlp {

/// Sample label keys that tie a sample to a span (formats.md §9): lowercase hex ids.
namespace label_keys {
inline constexpr std::string_view span_id = "span_id";    ///< 16 hex digits (8 bytes)
inline constexpr std::string_view trace_id = "trace_id";  ///< 32 hex digits (16 bytes)
}  // namespace label_keys

namespace detail {

/// Fills `out` from `hex` (exactly 2 * N hex digits, either case); false when it is not that.
template <std::size_t N>
bool parse_hex_id(std::string_view hex, std::array<std::uint8_t, N>& out) {
    if (hex.size() != 2 * N) return false;
    auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::array<std::uint8_t, N> v{};
    for (std::size_t i = 0; i < N; ++i) {
        const int hi = digit(hex[2 * i]), lo = digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        v[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    out = v;
    return true;
}

template <std::size_t N>
std::string hex_of(const std::array<std::uint8_t, N>& bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(2 * N);
    for (std::uint8_t b : bytes) {
        s += digits[b >> 4];
        s += digits[b & 0xf];
    }
    return s;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& bytes) {
    for (std::uint8_t b : bytes)
        if (b != 0) return false;
    return true;
}

/// Random bytes from a per-thread generator seeded from std::random_device, the clock and the
/// thread; never all zero (an all-zero trace, span or profile id is invalid in OTLP).
template <std::size_t N>
std::array<std::uint8_t, N> random_id() {
    thread_local std::mt19937_64 gen = [] {
        std::random_device rd;
        std::seed_seq seq{rd(), rd(), rd(), rd(),
                          static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()),
                          static_cast<unsigned>(std::hash<std::thread::id>{}(std::this_thread::get_id()))};
        return std::mt19937_64(seq);
    }();
    std::array<std::uint8_t, N> id{};
    do {
        for (std::size_t i = 0; i < N; i += 8) {
            const std::uint64_t r = gen();
            for (std::size_t k = 0; k < 8 && i + k < N; ++k) id[i + k] = static_cast<std::uint8_t>(r >> (8 * k));
        }
    } while (all_zero(id));
    return id;
}

inline std::string_view bytes_view(const std::uint8_t* p, std::size_t n) {
    return {reinterpret_cast<const char*>(p), n};
}

inline std::uint64_t unix_now_nanos() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

}  // namespace detail

/// A W3C / OTLP trace id: 16 bytes, not all zero when valid.
struct trace_id {
    std::array<std::uint8_t, 16> bytes{};
    static trace_id random() { return trace_id{detail::random_id<16>()}; }
    /// From 32 hex digits; throws cpprof::error otherwise (or when all zero).
    static trace_id from_hex(std::string_view hex) {
        trace_id t;
        if (!detail::parse_hex_id(hex, t.bytes) || detail::all_zero(t.bytes))
            throw error("otlp: trace id \"" + std::string(hex) +
                        "\" is not 32 hex digits with at least one non-zero");
        return t;
    }
    std::string hex() const { return detail::hex_of(bytes); }
    bool valid() const { return !detail::all_zero(bytes); }
    friend bool operator==(const trace_id& a, const trace_id& b) { return a.bytes == b.bytes; }
    friend bool operator!=(const trace_id& a, const trace_id& b) { return !(a == b); }
};

/// A W3C / OTLP span id: 8 bytes, not all zero when valid.
struct span_id {
    std::array<std::uint8_t, 8> bytes{};
    static span_id random() { return span_id{detail::random_id<8>()}; }
    /// From 16 hex digits; throws cpprof::error otherwise (or when all zero).
    static span_id from_hex(std::string_view hex) {
        span_id s;
        if (!detail::parse_hex_id(hex, s.bytes) || detail::all_zero(s.bytes))
            throw error("otlp: span id \"" + std::string(hex) +
                        "\" is not 16 hex digits with at least one non-zero");
        return s;
    }
    std::string hex() const { return detail::hex_of(bytes); }
    bool valid() const { return !detail::all_zero(bytes); }
    friend bool operator==(const span_id& a, const span_id& b) { return a.bytes == b.bytes; }
    friend bool operator!=(const span_id& a, const span_id& b) { return !(a == b); }
};

/// An attribute value: a string, an integer, a double or a bool.
struct attribute {
    enum class kind { string, integer, floating, boolean };
    std::string key;
    kind type = kind::string;
    std::string str;
    std::int64_t integer = 0;
    double floating = 0;
    bool boolean = false;

    static attribute of(std::string k, std::string v) {
        attribute a;
        a.key = std::move(k);
        a.str = std::move(v);
        return a;
    }
    static attribute of(std::string k, const char* v) { return of(std::move(k), std::string(v)); }
    static attribute of(std::string k, std::int64_t v) {
        attribute a;
        a.key = std::move(k);
        a.type = kind::integer;
        a.integer = v;
        return a;
    }
    static attribute of(std::string k, double v) {
        attribute a;
        a.key = std::move(k);
        a.type = kind::floating;
        a.floating = v;
        return a;
    }
    static attribute of(std::string k, bool v) {
        attribute a;
        a.key = std::move(k);
        a.type = kind::boolean;
        a.boolean = v;
        return a;
    }
};

/// What every request says about its origin.
struct encode_options {
    std::string service_name = "unknown_service";              ///< resource service.name
    std::vector<std::pair<std::string, std::string>> resource_attributes;  ///< extra, string-valued
    std::size_t top_functions = 10;  ///< points of profiling_function_cpu_time_ratio
};

/// A finished span, as encode_traces writes it.
struct span_data {
    otlp::trace_id trace;
    otlp::span_id id;
    otlp::span_id parent;              ///< all zero for a root span
    std::string name;                  ///< required, non-empty
    std::uint64_t start_unix_nano = 0;
    std::uint64_t end_unix_nano = 0;   ///< >= start
    std::vector<attribute> attributes;
};

/// The cumulative counter behind profiling_samples_total: samples since `start_unix_nano`.
struct samples_counter {
    std::uint64_t total = 0;
    std::uint64_t start_unix_nano = 0;
};

/// Metric names, fixed by the issue that asked for them.
namespace metric_names {
inline constexpr std::string_view samples_total = "profiling_samples_total";
inline constexpr std::string_view function_cpu_time_ratio = "profiling_function_cpu_time_ratio";
}  // namespace metric_names

/// HTTP paths and content type (formats.md §8.1).
namespace paths {
inline constexpr std::string_view metrics = "/v1/metrics";
inline constexpr std::string_view traces = "/v1/traces";
inline constexpr std::string_view profiles = "/v1development/profiles";
}  // namespace paths
inline constexpr std::string_view content_type = "application/x-protobuf";

namespace detail {

using cpprof::detail::proto_writer;

// ---- common.proto / resource.proto (formats.md §8.2, §8.3) --------------------------------

template <class = void>
void write_any_value(proto_writer& w, std::uint32_t field, const attribute& a) {
    w.message(field, [&] {  // oneof members are written even at their default
        switch (a.type) {
            case attribute::kind::string: w.string(1, a.str); break;
            case attribute::kind::boolean: w.boolean(2, a.boolean); break;
            case attribute::kind::integer: w.int64(3, a.integer); break;
            case attribute::kind::floating: w.float64(4, a.floating); break;
        }
    });
}

template <class = void>
void write_key_value(proto_writer& w, std::uint32_t field, const attribute& a) {
    w.message(field, [&] {
        w.string(1, a.key);
        write_any_value(w, 2, a);
    });
}

inline void write_string_kv(proto_writer& w, std::uint32_t field, std::string_view key,
                            std::string_view value) {
    w.message(field, [&] {
        w.string(1, key);
        w.message(2, [&] { w.string(1, value); });
    });
}

/// Resource: service.name, then the extra attributes (a repeated service.name is left out).
template <class = void>
void write_resource(proto_writer& w, std::uint32_t field, const encode_options& o) {
    w.message(field, [&] {
        write_string_kv(w, 1, "service.name", o.service_name.empty() ? "unknown_service" : o.service_name);
        for (const auto& kv : o.resource_attributes)
            if (kv.first != "service.name") write_string_kv(w, 1, kv.first, kv.second);
    });
}

/// InstrumentationScope "cpprof" with the library's version.
inline void write_scope(proto_writer& w, std::uint32_t field) {
    w.message(field, [&] {
        w.string(1, "cpprof");
        w.string(2, CPPROF_VERSION_STRING);
    });
}

/// End of the profile (start + duration), or now when the profile carries no time.
inline std::uint64_t profile_end_nanos(const profile& p) {
    if (p.time_nanos() <= 0) return unix_now_nanos();
    return static_cast<std::uint64_t>(p.time_nanos()) +
           static_cast<std::uint64_t>(p.duration_nanos() > 0 ? p.duration_nanos() : 0);
}

/// The value column that measures CPU: "cpu", else "samples"; npos when neither.
template <class = void>
std::size_t cpu_column(const profile& p) {
    std::size_t i = p.sample_index("cpu");
    if (i == static_cast<std::size_t>(-1)) i = p.sample_index("samples");
    return i;
}

}  // namespace detail

/// ExportMetricsServiceRequest for profile `p`, with profiling_samples_total taken from
/// `counter` (cumulative since counter.start_unix_nano) and the CPU-time ratios (self value /
/// the profile's total) of p's top functions by self value, those with some self time only
/// (the metric is left out when p has no "cpu" or "samples" column or no sampled function).
template <class = void>
std::string encode_metrics(const profile& p, const encode_options& o, const samples_counter& counter) {
    namespace d = detail;
    const std::uint64_t now = d::profile_end_nanos(p);
    std::vector<hotspot> top;
    const std::size_t column = d::cpu_column(p);
    if (column != static_cast<std::size_t>(-1) && o.top_functions > 0)
        top = hotspots(p, o.top_functions, column);
    // Sorted by self value: functions seen only as callers (self 0) come last and carry no point.
    while (!top.empty() && top.back().self == 0) top.pop_back();

    d::proto_writer w;
    w.message(1, [&] {          // ResourceMetrics
        d::write_resource(w, 1, o);
        w.message(2, [&] {      // ScopeMetrics
            d::write_scope(w, 1);
            w.message(2, [&] {  // Metric
                w.string(1, metric_names::samples_total);
                w.string(2, "CPU profile samples taken since the start time");
                w.string(3, "{sample}");
                w.message(7, [&] {      // Sum
                    w.message(1, [&] {  // NumberDataPoint
                        w.fixed64(2, counter.start_unix_nano);
                        w.fixed64(3, now < counter.start_unix_nano ? counter.start_unix_nano : now);
                        w.sfixed64(6, static_cast<std::int64_t>(counter.total));
                    });
                    w.enumeration(2, 2);  // AGGREGATION_TEMPORALITY_CUMULATIVE
                    w.boolean(3, true);   // is_monotonic
                });
            });
            if (!top.empty()) {
                w.message(2, [&] {  // Metric
                    w.string(1, metric_names::function_cpu_time_ratio);
                    w.string(2, "Share of the profile's CPU time spent in the function's own code (self)");
                    w.string(3, "1");
                    w.message(5, [&] {  // Gauge
                        for (const hotspot& h : top) {
                            w.message(1, [&] {  // NumberDataPoint
                                d::write_string_kv(w, 7, "function", h.function);
                                if (p.time_nanos() > 0) w.fixed64(2, static_cast<std::uint64_t>(p.time_nanos()));
                                w.fixed64(3, now);
                                w.float64(4, h.self_fraction);
                            });
                        }
                    });
                });
            }
        });
    });
    return std::move(w).take();
}

/// The same, counting only p's own samples since p's start.
template <class = void>
std::string encode_metrics(const profile& p, const encode_options& o = {}) {
    samples_counter c;
    c.total = p.total_samples();
    c.start_unix_nano = p.time_nanos() > 0 ? static_cast<std::uint64_t>(p.time_nanos()) : detail::profile_end_nanos(p);
    return encode_metrics(p, o, c);
}

/// ExportTraceServiceRequest with `spans` (SpanKind INTERNAL, W3C flag sampled). Throws
/// cpprof::error for a span without a name or with an invalid id.
template <class = void>
std::string encode_traces(const std::vector<span_data>& spans, const encode_options& o = {}) {
    namespace d = detail;
    for (const span_data& s : spans) {
        if (s.name.empty()) throw error("otlp: a span needs a name");
        if (!s.trace.valid() || !s.id.valid())
            throw error("otlp: span \"" + s.name + "\" has an all-zero trace or span id");
    }
    d::proto_writer w;
    w.message(1, [&] {      // ResourceSpans
        d::write_resource(w, 1, o);
        w.message(2, [&] {  // ScopeSpans
            d::write_scope(w, 1);
            for (const span_data& s : spans) {
                w.message(2, [&] {  // Span
                    w.bytes(1, d::bytes_view(s.trace.bytes.data(), 16));
                    w.bytes(2, d::bytes_view(s.id.bytes.data(), 8));
                    if (s.parent.valid()) w.bytes(4, d::bytes_view(s.parent.bytes.data(), 8));
                    w.string(5, s.name);
                    w.enumeration(6, 1);  // SPAN_KIND_INTERNAL
                    w.fixed64(7, s.start_unix_nano);
                    w.fixed64(8, s.end_unix_nano < s.start_unix_nano ? s.start_unix_nano : s.end_unix_nano);
                    for (const attribute& a : s.attributes) d::write_key_value(w, 9, a);
                    w.fixed32(16, 0x01);  // W3C trace flags: sampled
                });
            }
        });
    });
    return std::move(w).take();
}

namespace detail {

/// Builds the ProfilesDictionary while the Profiles are written (formats.md §8.6): every table
/// starts with its zero element, and everything is interned.
class profiles_dictionary {
public:
    explicit profiles_dictionary(const profile& p) : p_(p) {
        strings_.push_back("");
        string_index_.emplace("", 0);
        mapping_of_.assign(p.mappings().size(), -1);
        function_of_frame_.assign(p.frames().size(), -1);
    }

    std::int32_t str(std::string_view s) {
        auto it = string_index_.find(std::string(s));
        if (it != string_index_.end()) return it->second;
        const auto i = static_cast<std::int32_t>(strings_.size());
        strings_.emplace_back(s);
        string_index_.emplace(strings_.back(), i);
        return i;
    }

    /// Stack index for sample `s` (locations leaf first; inlined runs folded as in pprof).
    std::int32_t stack(const sample& s) {
        std::vector<std::int32_t> locs;
        for (std::size_t j = 0; j < s.stack.size();) {
            std::size_t run = 1;
            while (j + run < s.stack.size() && folds_into(s.stack[j + run - 1], s.stack[j + run])) ++run;
            locs.push_back(location(std::vector<frame_id>(s.stack.begin() + static_cast<std::ptrdiff_t>(j),
                                                          s.stack.begin() + static_cast<std::ptrdiff_t>(j + run))));
            j += run;
        }
        auto it = stack_index_.find(locs);
        if (it != stack_index_.end()) return it->second;
        const auto i = static_cast<std::int32_t>(stacks_.size() + 1);
        stacks_.push_back(locs);
        stack_index_.emplace(std::move(locs), i);
        return i;
    }

    /// Attribute index of a sample label.
    std::int32_t label_attribute(const label& l) {
        auto key = std::make_tuple(l.key, l.str, l.num, l.num_unit, l.is_numeric());
        auto it = attribute_index_.find(key);
        if (it != attribute_index_.end()) return it->second;
        const auto i = static_cast<std::int32_t>(attributes_.size() + 1);
        attributes_.push_back(l);
        attribute_index_.emplace(std::move(key), i);
        return i;
    }

    /// Link index for a (trace, span) pair.
    std::int32_t link(const std::array<std::uint8_t, 16>& t, const std::array<std::uint8_t, 8>& s) {
        auto key = std::make_pair(t, s);
        auto it = link_index_.find(key);
        if (it != link_index_.end()) return it->second;
        const auto i = static_cast<std::int32_t>(links_.size() + 1);
        links_.push_back(key);
        link_index_.emplace(key, i);
        return i;
    }

    /// Field 2 of ExportProfilesServiceRequest.
    void write(proto_writer& w, std::uint32_t field) {
        // Strings are referenced by the other tables: resolve them all before writing.
        std::vector<std::int32_t> attr_keys, attr_units;
        for (const label& l : attributes_) {
            attr_keys.push_back(str(l.key));
            attr_units.push_back(l.is_numeric() ? str(l.num_unit) : 0);
        }
        w.message(field, [&] {
            w.message(1, [] {});  // mapping_table[0]
            for (const auto& m : mappings_) {
                w.message(1, [&] {
                    w.uint64_opt(1, m.memory_start);
                    w.uint64_opt(2, m.memory_limit);
                    w.uint64_opt(3, m.file_offset);
                    w.int32_opt(4, m.filename);
                    w.packed_int64(5, m.attributes);
                });
            }
            w.message(2, [] {});  // location_table[0]
            for (const auto& l : locations_) {
                w.message(2, [&] {
                    w.int32_opt(1, l.mapping);
                    w.uint64_opt(2, l.address);
                    for (const auto& line : l.lines) {
                        w.message(3, [&] {
                            w.int32_opt(1, line.first);
                            w.int64_opt(2, line.second);
                        });
                    }
                });
            }
            w.message(3, [] {});  // function_table[0]
            for (const auto& f : functions_) {
                w.message(3, [&] {
                    w.int32_opt(1, std::get<0>(f));
                    w.int32_opt(2, std::get<1>(f));
                    w.int32_opt(3, std::get<2>(f));
                });
            }
            const std::array<std::uint8_t, 16> zero_trace{};
            const std::array<std::uint8_t, 8> zero_span{};
            write_link(w, zero_trace, zero_span);  // link_table[0]: zero ids of the right length
            for (const auto& l : links_) write_link(w, l.first, l.second);
            for (const std::string& s : strings_) w.string(5, s);
            w.message(6, [] {});  // attribute_table[0]
            for (std::size_t i = 0; i < attributes_.size(); ++i) {
                const label& l = attributes_[i];
                w.message(6, [&] {
                    w.int32_opt(1, attr_keys[i]);
                    w.message(2, [&] {  // AnyValue
                        if (l.is_numeric()) w.int64(3, l.num);
                        else w.string(1, l.str);
                    });
                    w.int32_opt(3, attr_units[i]);
                });
            }
            w.message(7, [] {});  // stack_table[0]
            for (const auto& s : stacks_) w.message(7, [&] { w.packed_int64(1, s); });
        });
    }

private:
    struct mapping_entry {
        std::uint64_t memory_start = 0, memory_limit = 0, file_offset = 0;
        std::int32_t filename = 0;
        std::vector<std::int32_t> attributes;
    };
    struct location_entry {
        std::int32_t mapping = 0;
        std::uint64_t address = 0;
        std::vector<std::pair<std::int32_t, std::int64_t>> lines;  // function index, line
    };
    struct id_pair_less {
        bool operator()(const std::pair<std::array<std::uint8_t, 16>, std::array<std::uint8_t, 8>>& a,
                        const std::pair<std::array<std::uint8_t, 16>, std::array<std::uint8_t, 8>>& b) const {
            return a < b;
        }
    };

    static void write_link(proto_writer& w, const std::array<std::uint8_t, 16>& t,
                           const std::array<std::uint8_t, 8>& s) {
        w.message(4, [&] {
            w.bytes(1, bytes_view(t.data(), t.size()));
            w.bytes(2, bytes_view(s.data(), s.size()));
        });
    }

    bool folds_into(frame_id callee, frame_id caller) const {
        const frame& a = p_.frame_at(callee);
        const frame& b = p_.frame_at(caller);
        return a.inlined && a.address == b.address && a.mapping == b.mapping;
    }

    std::int32_t mapping(std::size_t m) {
        if (m >= p_.mappings().size()) return 0;
        if (mapping_of_[m] >= 0) return mapping_of_[m];
        const cpprof::mapping& src = p_.mappings()[m];
        mapping_entry e;
        e.memory_start = src.memory_start;
        e.memory_limit = src.memory_limit;
        e.file_offset = src.file_offset;
        e.filename = str(src.filename);
        if (!src.build_id.empty()) {
            label l;
            l.key = "process.executable.build_id.gnu";
            l.str = src.build_id;
            e.attributes.push_back(label_attribute(l));
        }
        mappings_.push_back(std::move(e));
        mapping_of_[m] = static_cast<std::int32_t>(mappings_.size());
        return mapping_of_[m];
    }

    std::int32_t function(frame_id id) {
        if (function_of_frame_[id] >= 0) return function_of_frame_[id];
        const frame& f = p_.frame_at(id);
        auto key = std::make_tuple(str(f.function), str(f.system_name), str(f.file));
        auto it = function_index_.find(key);
        std::int32_t i;
        if (it != function_index_.end()) {
            i = it->second;
        } else {
            i = static_cast<std::int32_t>(functions_.size() + 1);
            functions_.push_back(key);
            function_index_.emplace(key, i);
        }
        function_of_frame_[id] = i;
        return i;
    }

    std::int32_t location(std::vector<frame_id> run) {
        auto it = location_index_.find(run);
        if (it != location_index_.end()) return it->second;
        const frame& site = p_.frame_at(run.back());  // the caller: its address and mapping
        location_entry e;
        e.mapping = mapping(site.mapping);
        e.address = site.address;
        for (frame_id id : run) {
            const frame& f = p_.frame_at(id);
            if (!f.function.empty()) e.lines.emplace_back(function(id), f.line);
        }
        locations_.push_back(std::move(e));
        const auto i = static_cast<std::int32_t>(locations_.size());
        location_index_.emplace(std::move(run), i);
        return i;
    }

    const profile& p_;
    std::vector<std::string> strings_;
    std::unordered_map<std::string, std::int32_t> string_index_;
    std::vector<mapping_entry> mappings_;
    std::vector<std::int32_t> mapping_of_;  // by profile mapping index; -1 = not yet
    std::vector<location_entry> locations_;
    std::map<std::vector<frame_id>, std::int32_t> location_index_;
    std::vector<std::tuple<std::int32_t, std::int32_t, std::int32_t>> functions_;
    std::map<std::tuple<std::int32_t, std::int32_t, std::int32_t>, std::int32_t> function_index_;
    std::vector<std::int32_t> function_of_frame_;  // by frame id; -1 = not yet
    std::vector<std::vector<std::int32_t>> stacks_;
    std::map<std::vector<std::int32_t>, std::int32_t> stack_index_;
    std::vector<label> attributes_;
    std::map<std::tuple<std::string, std::string, std::int64_t, std::string, bool>, std::int32_t> attribute_index_;
    std::vector<std::pair<std::array<std::uint8_t, 16>, std::array<std::uint8_t, 8>>> links_;
    std::map<std::pair<std::array<std::uint8_t, 16>, std::array<std::uint8_t, 8>>, std::int32_t, id_pair_less>
        link_index_;
};

}  // namespace detail

/// ExportProfilesServiceRequest (profiles/v1development, v1.10.0/v1.11.0 layout) for `p`: one
/// Profile per sample type, samples with a zero value for that type left out, samples of the
/// same {stack, attributes, link} merged. Labels become attributes, except a valid span_id +
/// trace_id pair, which becomes the sample's Link. Throws cpprof::error when a sample's values
/// do not match the sample types or it names a frame the profile does not have.
template <class = void>
std::string encode_profiles(const profile& p, const encode_options& o = {}) {
    namespace d = detail;
    const std::size_t types = p.sample_types().size();
    for (std::size_t i = 0; i < p.samples().size(); ++i) {
        const sample& s = p.samples()[i];
        if (s.values.size() != types)
            throw error("otlp: sample " + std::to_string(i) + " has " + std::to_string(s.values.size()) +
                        " values but the profile has " + std::to_string(types) + " sample types");
        for (frame_id id : s.stack)
            if (id >= p.frames().size())
                throw error("otlp: sample " + std::to_string(i) + " refers to frame id " +
                            std::to_string(id) + " but the profile has only " +
                            std::to_string(p.frames().size()) + " frames");
    }

    d::profiles_dictionary dict(p);
    // Each sample's identity, once: {stack, sorted attribute indices, link}.
    struct identity {
        std::int32_t stack = 0;
        std::vector<std::int32_t> attributes;
        std::int32_t link = 0;
        bool operator<(const identity& b) const {
            return std::tie(stack, attributes, link) < std::tie(b.stack, b.attributes, b.link);
        }
    };
    std::vector<std::size_t> merged_of(p.samples().size());
    std::vector<identity> identities;
    std::map<identity, std::size_t> identity_index;
    for (std::size_t i = 0; i < p.samples().size(); ++i) {
        const sample& s = p.samples()[i];
        identity id;
        id.stack = dict.stack(s);
        otlp::trace_id t;
        otlp::span_id sp;
        const bool linked = d::parse_hex_id(s.label_str(label_keys::trace_id), t.bytes) && t.valid() &&
                            d::parse_hex_id(s.label_str(label_keys::span_id), sp.bytes) && sp.valid();
        for (const label& l : s.labels) {
            if (linked && (l.key == label_keys::trace_id || l.key == label_keys::span_id)) continue;
            id.attributes.push_back(dict.label_attribute(l));
        }
        std::sort(id.attributes.begin(), id.attributes.end());
        id.attributes.erase(std::unique(id.attributes.begin(), id.attributes.end()), id.attributes.end());
        if (linked) id.link = dict.link(t.bytes, sp.bytes);
        auto it = identity_index.emplace(id, identities.size());
        if (it.second) identities.push_back(std::move(id));
        merged_of[i] = it.first->second;
    }

    // Strings of the profiles' own fields, before the dictionary is written.
    std::vector<std::pair<std::int32_t, std::int32_t>> type_strings;
    for (const value_type& t : p.sample_types()) type_strings.emplace_back(dict.str(t.type), dict.str(t.unit));
    const std::pair<std::int32_t, std::int32_t> period_strings{dict.str(p.period_type().type),
                                                               dict.str(p.period_type().unit)};
    const bool has_period_type = !p.period_type().type.empty() || !p.period_type().unit.empty();

    d::proto_writer w;
    w.message(1, [&] {      // ResourceProfiles
        d::write_resource(w, 1, o);
        w.message(2, [&] {  // ScopeProfiles
            d::write_scope(w, 1);
            std::vector<std::int64_t> totals(identities.size());
            for (std::size_t t = 0; t < types; ++t) {
                std::fill(totals.begin(), totals.end(), 0);
                for (std::size_t i = 0; i < p.samples().size(); ++i) {
                    std::int64_t& sum = totals[merged_of[i]];
                    if (__builtin_add_overflow(sum, p.samples()[i].values[t], &sum))
                        throw error("otlp: the values of sample type \"" + p.sample_types()[t].type +
                                    "\" add up past the int64 range for one stack");
                }
                w.message(2, [&] {  // Profile
                    w.message(1, [&] {  // sample_type
                        w.int32_opt(1, type_strings[t].first);
                        w.int32_opt(2, type_strings[t].second);
                    });
                    for (std::size_t k = 0; k < identities.size(); ++k) {
                        if (totals[k] == 0) continue;
                        const identity& id = identities[k];
                        w.message(2, [&] {  // Sample
                            w.int32_opt(1, id.stack);
                            w.packed_int64(2, id.attributes);
                            w.int32_opt(3, id.link);
                            const std::array<std::int64_t, 1> value{totals[k]};
                            w.packed_int64(4, value);
                        });
                    }
                    if (p.time_nanos() > 0) w.fixed64(3, static_cast<std::uint64_t>(p.time_nanos()));
                    if (p.duration_nanos() > 0) w.uint64(4, static_cast<std::uint64_t>(p.duration_nanos()));
                    if (has_period_type) {
                        w.message(5, [&] {
                            w.int32_opt(1, period_strings.first);
                            w.int32_opt(2, period_strings.second);
                        });
                    }
                    w.int64_opt(6, p.period());
                    const std::array<std::uint8_t, 16> pid = d::random_id<16>();
                    w.bytes(7, d::bytes_view(pid.data(), pid.size()));
                });
            }
        });
    });
    dict.write(w, 2);
    return std::move(w).take();
}

}  // namespace otlp
}  // namespace cpprof
