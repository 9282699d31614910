#pragma once
// Profiling switched on from outside the program, and what profiling costs:
//
//     if (cpprof::profiling_enabled()) { ... }          // CPPROF_ENABLE=1 (or ENABLE_PROFILING=true)
//     auto r = cpprof::maybe_profile("checkout", [] { return work(); });
//     auto o = cpprof::measure_overhead(workload, cpprof::standard{});
//     std::cout << o;                                   // the overhead report
//
// profiling_enabled()
//   True when the environment variable CPPROF_ENABLE, or ENABLE_PROFILING (the name the Rust
//   guide this library follows uses), is one of 1, true, yes, on (ASCII case-insensitive, no
//   surrounding spaces). Anything else, unset or empty is false: "2", "enabled", " true" are
//   false, so a typo never switches profiling on. Either variable suffices (they are OR-ed).
//   With CPPROF_ENABLED=0 (profiling compiled out) it is always false.
//   The environment is read on every call, so a later setenv() is seen. POSIX does not make
//   getenv() safe against a concurrent setenv()/putenv() in another thread (glibc can move
//   the environ array while it is read): change the variable before threads that call this
//   start, or have one thread own both; a continuous_profiler reads it only from its own
//   thread, once per window. For a switch flipped at run time from inside the program,
//   prefer continuous_options::only_when(predicate) with an atomic flag of your own.
//
// maybe_profile(name, fn)
//   Runs fn and returns its result (void too; references are passed through). When
//   profiling_enabled(), fn runs under a CPU profile (the Mode template argument, default
//   cpprof::standard, 100 Hz: a one-off operation is usually too short for 10 Hz) and, when
//   it returns, two files are written: `<dir>/<name>_profile.svg` (a flame graph, the file
//   name the guide's maybe_profile writes) and `<dir>/<name>_profile.pb.gz` (pprof, for
//   `go tool pprof` and Pyroscope). <dir> is $CPPROF_OUTPUT_DIR when set and non-empty (it
//   must exist), else the current directory.
//   Profiling never changes fn's outcome: if the profiler cannot start (another CPU profile
//   is running: one at a time per process) fn runs unprofiled, and if the files cannot be
//   written, fn's result is still returned; both are reported with one line on stderr
//   starting "cpprof: maybe_profile(...)". If fn throws, the exception propagates, the
//   profiler is stopped (nothing is left running) and no file is written.
//   `name` must be non-empty, not "." or "..", and hold no '/' or NUL (cpprof::error, checked
//   whether or not profiling is enabled, so a bad name shows up in development).
//
// measure_overhead(workload, mode, options)
//   The guide's overhead report, made robust: after a warm-up run, the workload runs
//   `repetitions` times without and with profiling, interleaved (A B, B A, A B, ...) so slow
//   drifts of a shared machine hit both; medians of wall time and process CPU time are
//   reported, and the ratio is the median of the per-repetition ratios profiled/baseline
//   (paired). overhead_percent = (ratio - 1) * 100, and can come out slightly negative when
//   the cost is below the noise. Throws cpprof::error if a CPU profile is already running.
//
// Templates with a dummy parameter where needed: see the note on lazy instantiation in
// config.hpp.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <time.h>

#include <cpprof/config.hpp>
#include <cpprof/cpu/profiler_guard.hpp>
#include <cpprof/cpu/profiler_options.hpp>
#include <cpprof/detail/text.hpp>
#include <cpprof/error.hpp>
#include <cpprof/output/flamegraph.hpp>
#include <cpprof/output/pprof.hpp>
#include <cpprof/profile.hpp>
#include <cpprof/sampling_mode.hpp>

namespace cpprof {
namespace detail {

/// True for 1, true, yes, on (ASCII case-insensitive, exactly).
inline bool env_value_is_true(const char* v) {
    if (v == nullptr) return false;
    static const char* const accepted[] = {"1", "true", "yes", "on"};
    for (const char* a : accepted) {
        std::size_t i = 0;
        for (; a[i] != '\0' && v[i] != '\0'; ++i) {
            char c = v[i];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            if (c != a[i]) break;
        }
        if (a[i] == '\0' && v[i] == '\0') return true;
    }
    return false;
}

/// An exception's message without the "cpprof: " every cpprof::error starts with, for
/// messages that add their own prefix.
inline const char* message_of(const std::exception& e) {
    const char* m = e.what();
    return std::strncmp(m, "cpprof: ", 8) == 0 ? m + 8 : m;
}

template <class = void>
void check_profile_name(std::string_view name, const char* where) {
    if (name.empty() || name == "." || name == ".." ||
        name.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos)
        throw error(std::string(where) + ": the name '" + std::string(name) +
                    "' cannot be a file name (it must be non-empty, not . or .., and hold no "
                    "'/' or NUL)");
}

/// Where maybe_profile writes: $CPPROF_OUTPUT_DIR, else the current directory ("").
template <class = void>
std::string output_dir_from_env() {
    const char* d = std::getenv("CPPROF_OUTPUT_DIR");
    if (d == nullptr || *d == '\0') return {};
    std::string dir = d;
    if (dir.back() != '/') dir += '/';
    return dir;
}

inline std::int64_t process_cpu_ns() {
    ::timespec ts{};
    if (::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0;
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

template <class T>
T median_of(std::vector<T> v) {
    if (v.empty()) return T{};
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    if (n % 2 == 1) return v[n / 2];
    return v[n / 2 - 1] + (v[n / 2] - v[n / 2 - 1]) / 2;
}

}  // namespace detail

/// True when profiling was switched on from the environment: CPPROF_ENABLE or
/// ENABLE_PROFILING is 1, true, yes or on (case-insensitive). See the top of this header.
inline bool profiling_enabled() {
#if CPPROF_ENABLED
    return detail::env_value_is_true(std::getenv("CPPROF_ENABLE")) ||
           detail::env_value_is_true(std::getenv("ENABLE_PROFILING"));
#else
    return false;
#endif
}

/// Runs fn(); when profiling_enabled(), under a CPU profile written to
/// <dir>/<name>_profile.svg and <dir>/<name>_profile.pb.gz. See the top of this header.
template <class Mode = standard, class Fn>
std::invoke_result_t<Fn&> maybe_profile(std::string_view name, Fn&& fn) {
    using result = std::invoke_result_t<Fn&>;
    detail::check_profile_name(name, "maybe_profile");
    if (!profiling_enabled()) return std::invoke(fn);

    std::optional<profiler_guard<Mode>> guard;
    try {
        guard.emplace();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cpprof: maybe_profile(\"%.*s\"): running unprofiled: %s\n",
                     static_cast<int>(name.size()), name.data(), detail::message_of(e));
        return std::invoke(fn);
    }
    auto finish = [&] {
        try {
            profile p = guard->stop();
            const std::string base = detail::output_dir_from_env() + std::string(name) + "_profile";
            flamegraph_options fo;
            fo.title(std::string(name));
            write_flamegraph(p, base + ".svg", fo);
            write_pprof(p, base + ".pb.gz");
        } catch (const std::exception& e) {
            std::fprintf(stderr, "cpprof: maybe_profile(\"%.*s\"): the profile was not saved: %s\n",
                         static_cast<int>(name.size()), name.data(), detail::message_of(e));
        }
    };
    // If fn throws, `guard` stops the profiler as the exception leaves this function.
    if constexpr (std::is_void_v<result>) {
        std::invoke(fn);
        finish();
    } else {
        result r = std::invoke(fn);
        finish();
        if constexpr (std::is_reference_v<result>)
            return static_cast<result>(r);
        else
            return r;
    }
}

/// Knobs of measure_overhead. Chained setters return *this.
class overhead_options {
public:
    /// Runs of the workload in each state (default 5), 1..1000.
    overhead_options& repetitions(int n) { repetitions_ = n; return *this; }
    int repetitions() const { return repetitions_; }
    /// Unmeasured runs before the first measured one (default 1), 0..100.
    overhead_options& warmup(int n) { warmup_ = n; return *this; }
    int warmup() const { return warmup_; }

private:
    int repetitions_ = 5;
    int warmup_ = 1;
};

/// What measure_overhead found. Print it with operator<< (or to_string()).
struct overhead_report {
    int frequency = 0;                       ///< Hz the profiled runs used
    clock_kind clock = clock_kind::cpu;
    int repetitions = 0;
    std::chrono::nanoseconds baseline{0};    ///< median wall time without profiling
    std::chrono::nanoseconds profiled{0};    ///< median wall time with profiling
    std::chrono::nanoseconds baseline_cpu{0};  ///< median process CPU time without profiling
    std::chrono::nanoseconds profiled_cpu{0};  ///< ... with profiling (the collector thread too)
    double ratio = 1.0;             ///< median over repetitions of profiled / baseline wall time
    double overhead_percent = 0.0;  ///< (ratio - 1) * 100; negative = below the noise
    std::uint64_t samples = 0;      ///< samples taken over all profiled runs
    std::uint64_t lost_samples = 0;
    std::vector<std::chrono::nanoseconds> baseline_runs, profiled_runs;  ///< in run order

    /// The overhead as a duration: profiled - baseline medians (may be negative).
    std::chrono::nanoseconds overhead() const { return profiled - baseline; }
};

namespace detail {
template <class = void>
std::string format_duration(std::chrono::nanoseconds d) {
    const double ns = static_cast<double>(d.count());
    const double a = math::fabs(ns);
    if (a >= 1e9) return fixed_number(ns / 1e9, 3) + " s";
    if (a >= 1e6) return fixed_number(ns / 1e6, 3) + " ms";
    if (a >= 1e3) return fixed_number(ns / 1e3, 3) + " us";
    return fixed_number(ns, 0) + " ns";
}
}  // namespace detail

/// The report as text, like the guide's:
///   Profiling overhead (100 Hz cpu, 5 repetitions, medians):
///     Baseline:       1.204 s (CPU 1.203 s)
///     With profiling: 1.215 s (CPU 1.219 s)
///     Overhead:       11.000 ms (0.91%)
///     Samples:        602 (0 lost)
template <class = void>
std::string to_string(const overhead_report& r) {
    std::string s = "Profiling overhead (" + std::to_string(r.frequency) + " Hz " +
                    (r.clock == clock_kind::cpu ? "cpu" : "wall") + ", " +
                    std::to_string(r.repetitions) + " repetitions, medians):\n";
    s += "  Baseline:       " + detail::format_duration(r.baseline) + " (CPU " +
         detail::format_duration(r.baseline_cpu) + ")\n";
    s += "  With profiling: " + detail::format_duration(r.profiled) + " (CPU " +
         detail::format_duration(r.profiled_cpu) + ")\n";
    s += "  Overhead:       " + detail::format_duration(r.overhead()) + " (" +
         detail::fixed_number(r.overhead_percent, 2) + "%)\n";
    s += "  Samples:        " + std::to_string(r.samples) + " (" +
         std::to_string(r.lost_samples) + " lost)\n";
    return s;
}

template <class = void>
std::ostream& operator<<(std::ostream& os, const overhead_report& r) {
    return os << to_string(r);
}

/// Runs `workload` without and with profiling (interleaved repetitions, medians) and reports
/// the difference. Mode picks the rate and clock (cpprof::low_overhead{}, cpprof::standard{},
/// ...). See the top of this header.
template <class Fn, class Mode = standard>
overhead_report measure_overhead(Fn&& workload, Mode = {}, const overhead_options& options = {}) {
    static_assert(is_sampling_mode<Mode>::value,
                  "cpprof::measure_overhead: the mode must be a cpprof::sampling_mode such as "
                  "cpprof::standard{} or cpprof::low_overhead{}");
    if (options.repetitions() < 1 || options.repetitions() > 1000)
        throw error("measure_overhead: repetitions must be in 1..1000, got " +
                    std::to_string(options.repetitions()));
    if (options.warmup() < 0 || options.warmup() > 100)
        throw error("measure_overhead: warmup must be in 0..100, got " +
                    std::to_string(options.warmup()));
    using clk = std::chrono::steady_clock;
    overhead_report r;
    r.frequency = Mode::frequency;
    r.clock = Mode::clock;
    r.repetitions = options.repetitions();
    for (int i = 0; i < options.warmup(); ++i) std::invoke(workload);

    std::vector<std::int64_t> base_cpu, prof_cpu;
    std::vector<double> ratios;
    auto run_baseline = [&] {
        const std::int64_t c0 = detail::process_cpu_ns();
        const auto t0 = clk::now();
        std::invoke(workload);
        const auto t1 = clk::now();
        base_cpu.push_back(detail::process_cpu_ns() - c0);
        r.baseline_runs.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0));
    };
    auto run_profiled = [&] {
        const std::int64_t c0 = detail::process_cpu_ns();
        const auto t0 = clk::now();
        profiler_guard<Mode> guard;  // starting and stopping are part of the cost
        std::invoke(workload);
        profile p = guard.stop();
        const auto t1 = clk::now();
        prof_cpu.push_back(detail::process_cpu_ns() - c0);
        r.profiled_runs.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0));
        r.samples += p.total_samples();
        r.lost_samples += p.dropped_samples();
    };
    for (int i = 0; i < options.repetitions(); ++i) {
        if (i % 2 == 0) {
            run_baseline();
            run_profiled();
        } else {
            run_profiled();
            run_baseline();
        }
        const auto b = r.baseline_runs.back().count(), p = r.profiled_runs.back().count();
        ratios.push_back(b > 0 ? static_cast<double>(p) / static_cast<double>(b) : 1.0);
    }
    r.baseline = detail::median_of(r.baseline_runs);
    r.profiled = detail::median_of(r.profiled_runs);
    r.baseline_cpu = std::chrono::nanoseconds(detail::median_of(base_cpu));
    r.profiled_cpu = std::chrono::nanoseconds(detail::median_of(prof_cpu));
    r.ratio = detail::median_of(ratios);
    r.overhead_percent = (r.ratio - 1.0) * 100.0;
    return r;
}

}  // namespace cpprof
