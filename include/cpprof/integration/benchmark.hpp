#pragma once
// cpprof for Google Benchmark. Include it after (or instead of) <benchmark/benchmark.h>; it is
// not part of <cpprof/cpprof.hpp>, so programs without Google Benchmark never see it.
//
//     #include <benchmark/benchmark.h>
//     #include <cpprof/integration/benchmark.hpp>
//
//     static void BM_parse(benchmark::State& state) {
//         const std::string input = make_input();           // setup: before the guard
//         cpprof::benchmark_guard guard{state};
//         for (auto _ : state) benchmark::DoNotOptimize(parse(input));
//     }
//     BENCHMARK(BM_parse);
//
//     $ CPPROF_OUTPUT_DIR=prof ./bench      # writes prof/BM_parse.svg and prof/BM_parse.pb.gz
//     BM_parse   1200 ns   1199 ns   583211 allocs/iter=3 bytes/iter=96
//
// benchmark_guard(state, options)
//   Profiles the rest of the benchmark function (put it right before the measured loop: what
//   runs between the guard and the loop is profiled and counted too, and so is code inside
//   PauseTiming()/ResumeTiming()) and, when it goes out of scope:
//   * when an output directory is configured (benchmark_options::output_dir(), else the
//     environment variable CPPROF_OUTPUT_DIR; the directory must exist), writes
//     `<dir>/<file name>.svg` (flame graph titled with the benchmark's name) and
//     `<dir>/<file name>.pb.gz` (pprof). With neither, no profiler is started at all (no
//     signals, no overhead): benchmarks run as usual until someone asks for profiles;
//   * sets state.counters["allocs/iter"] and ["bytes/iter"]: allocations (and bytes asked
//     for) made by the benchmark's threads inside the guard's scope, divided by the
//     iterations (benchmark::Counter::kAvgIterations). They come from cpprof::allocation_
//     counter, which sees every operator new only when one .cpp of the program defines
//     CPPROF_IMPLEMENT_GLOBAL_NEW before including <cpprof/cpprof.hpp> (malloc() is never seen).
//     Without that the counters are left out (0 would be a lie), unless
//     benchmark_options::allocation_counters(true) asks for them anyway (for code that
//     allocates through cpprof::tracking_allocator / tracking_resource, which always count).
//     allocation_counters(false) leaves them out in every case.
//   Google Benchmark runs a benchmark function several times (growing iteration counts until
//   the minimum time is reached, then once per repetition); every run rewrites the files, so
//   what stays is the last run: the measured one (the last repetition with repetitions).
//   Except when a benchmark::MemoryManager or ProfilerManager is registered: Google Benchmark
//   then runs the function once more after measuring it, and that run's files stay.
//   Multi-threaded benchmarks (->Threads(n)): the profiler samples every thread of the
//   process, so thread 0's guard runs it and writes the files; every thread's guard counts
//   that thread's allocations, and Google Benchmark sums the counters before dividing.
//   Names: benchmark_options::name() when set; else State::name() when the library has it
//   (Google Benchmark >= 1.8.0; it is the family name, "BM_parse", without arguments); else
//   the name of the function the guard is constructed in (Debian 12's 1.7.1 has no
//   State::name()): right for BENCHMARK(BM_x), but "BenchmarkCase" for BENCHMARK_F fixtures,
//   and "benchmark" for lambdas, which should pass a name there. Arguments are not part of the default name, so a benchmark registered with
//   several ->Arg()s writes each run over the previous one: pass
//   `cpprof::benchmark_options{}.name("BM_parse/" + std::to_string(state.range(0)))` for one
//   file per argument. "/threads:N" is appended when the benchmark runs on N > 1 threads.
//   The file name is the name made safe (see test_file_name in <cpprof/integration/test.hpp>).
//   If the profiler cannot start (another CPU profile runs: one at a time per process) or the
//   files cannot be written, the benchmark still runs and reports; one line on stderr starting
//   "cpprof: benchmark_guard" says why. The CPU profile uses 1000 Hz unless
//   benchmark_options::profiler() sets a frequency. With CPPROF_ENABLED=0 nothing is profiled
//   or written, and the counters are left out unless allocation_counters(true).
//
// benchmark_profiler_registration: Google Benchmark's benchmark::ProfilerManager
//   When CPPROF_BENCHMARK_HAS_PROFILER_MANAGER is 1, one line in main() profiles every
//   benchmark without touching their bodies:
//
//       int main(int argc, char** argv) {
//           benchmark::Initialize(&argc, argv);
//           cpprof::benchmark_profiler_registration profiling{};   // or {benchmark_options}
//           benchmark::RunSpecifiedBenchmarks();
//           benchmark::Shutdown();
//       }
//
//   Define the macro to 1 where the interface exists: it appeared after the v1.8.4 tag
//   (google/benchmark PR #1809, first released in 1.8.5). cpprof's own CMake and Meson builds
//   set it from 1.8.4 on when the header really declares benchmark::ProfilerManager.
//   What Google Benchmark does with it (read in 1.9.1's source; 1.9.0 is the same, 1.8.5 is
//   not checked here):
//   * after measuring a benchmark (each repetition, and after a MemoryManager's run if one is
//     registered) it runs the benchmark once more for the profiler: Setup(), the benchmark
//     function, Teardown() (src/benchmark_runner.cc: DoOneRepetition, RunProfilerManager);
//   * that run has ONE iteration (`profile_iterations = 1`), on one thread, thread_index() 0,
//     even for ->Threads(n);
//   * AfterSetupStart() comes when the `for (auto _ : state)` loop starts, BeforeTeardownStop()
//     when it ends (src/benchmark.cc: State::StartKeepRunning / FinishKeepRunning), so what is
//     profiled is that run's loop, not the code before or after it in the function.
//   So up to 1.9.1 each profile is a single iteration: give the benchmark iterations long
//   enough to be sampled (at 1000 Hz, a 50 ms iteration gives ~50 samples), or use
//   benchmark_guard, which profiles the measured run. From 1.9.2 on the profiling run has as
//   many iterations as the measured one (google/benchmark PR #1914; not run here).
//   The interface does not say which benchmark runs, so files are numbered, one number per
//   profiling run: `<dir>/profile_001.svg` + `.pb.gz`, `profile_002...`, in the order the
//   per-repetition rows are reported (--benchmark_repetitions=3: three files per benchmark;
//   aggregates get none). A benchmark that returns before its loop gets no number. If a
//   profile cannot be started or written, its number is skipped and one stderr line starting
//   "cpprof: benchmark_profiler_manager" says why; e.g. for a body that has its own
//   benchmark_guard, whose profiler is already running then (one CPU profile per process).
//   No allocation counters on this path (it has no State). Without an output directory, or
//   with CPPROF_ENABLED=0, the registration does nothing. One registration at a time: it
//   unregisters (RegisterProfilerManager(nullptr)) when it goes out of scope, and Google
//   Benchmark 1.9.1 aborts on a second registration while one is active. Run by cpprof's CI
//   against 1.9.1 (tests/cmake/benchmark_profiler_manager; tools/build-benchmark.sh).

#include <benchmark/benchmark.h>

#include <cpprof/cpprof.hpp>
#include <cpprof/integration/test.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#ifndef CPPROF_BENCHMARK_HAS_PROFILER_MANAGER
#define CPPROF_BENCHMARK_HAS_PROFILER_MANAGER 0
#endif

namespace cpprof {

/// Options of benchmark_guard and benchmark_profiler_registration. Chained setters.
class benchmark_options {
public:
    /// Where the files go (must exist). Default: $CPPROF_OUTPUT_DIR; neither = no profile.
    benchmark_options& output_dir(std::string dir) { output_dir_ = std::move(dir); return *this; }
    const std::string& output_dir() const { return output_dir_; }
    /// The name used for the files and the flame graph title (default: see the header).
    benchmark_options& name(std::string n) { name_ = std::move(n); return *this; }
    const std::string& name() const { return name_; }
    /// The CPU profiler's options; a frequency left at 0 means 1000 Hz.
    benchmark_options& profiler(profiler_options o) { profiler_ = std::move(o); return *this; }
    const profiler_options& profiler() const { return profiler_; }
    /// true: always set allocs/iter and bytes/iter; false: never; unset (default): when
    /// operator new is cpprof's (allocation_counter::sees_global_new()).
    benchmark_options& allocation_counters(bool on) { counters_ = on; return *this; }
    std::optional<bool> allocation_counters() const { return counters_; }
    /// Which files to write (both by default).
    benchmark_options& write_flamegraph(bool on) { svg_ = on; return *this; }
    bool write_flamegraph() const { return svg_; }
    benchmark_options& write_pprof(bool on) { pprof_ = on; return *this; }
    bool write_pprof() const { return pprof_; }

private:
    std::string output_dir_, name_;
    profiler_options profiler_;
    std::optional<bool> counters_;
    bool svg_ = true, pprof_ = true;
};

namespace detail {

template <class S, class = void>
struct state_has_name : std::false_type {};
template <class S>
struct state_has_name<S, std::void_t<decltype(std::declval<const S&>().name())>> : std::true_type {};

template <class S>
std::string benchmark_state_name(const S& state) {
    if constexpr (state_has_name<S>::value)
        return std::string(state.name());
    else
        return {};
}

inline profiler_options benchmark_profiler_options(const benchmark_options& o) {
    profiler_options po = o.profiler();
    if (po.frequency() == 0) po.frequency(1000);
    return po;
}

}  // namespace detail

/// Profiles a benchmark body and adds allocation counters. See the top of this header.
class benchmark_guard {
public:
    explicit benchmark_guard(benchmark::State& state, benchmark_options options = {},
                             const char* function = __builtin_FUNCTION())
        : state_(state), options_(std::move(options)) {
        name_ = options_.name();
        if (name_.empty()) name_ = detail::benchmark_state_name(state);
        if (name_.empty() && function != nullptr && *function != '\0' &&
            std::string(function) != "operator()")
            name_ = function;
        if (name_.empty()) name_ = "benchmark";
        if (state.threads() > 1) name_ += "/threads:" + std::to_string(state.threads());

        const std::optional<bool> c = options_.allocation_counters();
        counting_ = c ? *c : allocation_counter::sees_global_new();

#if CPPROF_ENABLED
        dir_ = detail::integration_output_dir(options_.output_dir());
#endif
        if (!dir_.empty() && state.thread_index() == 0) {
            try {
                guard_.emplace(detail::benchmark_profiler_options(options_));
            } catch (const std::exception& e) {
                std::fprintf(stderr, "cpprof: benchmark_guard(\"%s\"): running unprofiled: %s\n",
                             name_.c_str(), e.what());
            }
        }
        counter_.reset();  // last: the profiler's own start-up is not the benchmark's
    }

    benchmark_guard(const benchmark_guard&) = delete;
    benchmark_guard& operator=(const benchmark_guard&) = delete;

    ~benchmark_guard() {
        const std::uint64_t allocs = counter_.allocations();
        const std::uint64_t bytes = counter_.bytes();
        if (counting_) {
            state_.counters["allocs/iter"] =
                benchmark::Counter(static_cast<double>(allocs), benchmark::Counter::kAvgIterations);
            state_.counters["bytes/iter"] = benchmark::Counter(
                static_cast<double>(bytes), benchmark::Counter::kAvgIterations,
                benchmark::Counter::kIs1024);
        }
        if (!guard_) return;
        try {
            profile p = guard_->stop();
            written_ = detail::write_integration_profile(p, dir_, name_, options_.write_flamegraph(),
                                                         options_.write_pprof());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "cpprof: benchmark_guard(\"%s\"): the profile was not saved: %s\n",
                         name_.c_str(), e.what());
        }
    }

    /// The name files and title use (before making it a file name).
    const std::string& name() const { return name_; }
    /// Whether this guard runs the CPU profiler.
    bool profiling() const { return guard_.has_value(); }
    /// Whether the destructor sets allocs/iter and bytes/iter.
    bool counting_allocations() const { return counting_; }

private:
    benchmark::State& state_;
    benchmark_options options_;
    std::string name_, dir_, written_;
    bool counting_ = false;
    std::optional<profiler_guard<high_precision>> guard_;
    allocation_counter counter_;
};

#if CPPROF_BENCHMARK_HAS_PROFILER_MANAGER

/// benchmark::ProfilerManager that profiles the loop of each benchmark's profiling run (the
/// extra run Google Benchmark makes for it) into <dir>/profile_NNN.svg / .pb.gz. See the top of
/// this header.
class benchmark_profiler_manager : public benchmark::ProfilerManager {
public:
    explicit benchmark_profiler_manager(benchmark_options options = {})
        : options_(std::move(options)) {
#if CPPROF_ENABLED
        dir_ = detail::integration_output_dir(options_.output_dir());
#endif
    }

    void AfterSetupStart() override {
        if (dir_.empty()) return;
        // One number per profiling run, written or not, so the numbers keep the report order.
        name_ = std::to_string(++number_);
        if (name_.size() < 3) name_.insert(0, 3 - name_.size(), '0');
        name_.insert(0, "profile_");
        try {
            guard_.emplace(detail::benchmark_profiler_options(options_));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "cpprof: benchmark_profiler_manager: %s not written: %s\n",
                         name_.c_str(), e.what());
        }
    }

    void BeforeTeardownStop() override {
        if (!guard_) return;
        try {
            profile p = guard_->stop();
            guard_.reset();
            detail::write_integration_profile(p, dir_, name_, options_.write_flamegraph(),
                                              options_.write_pprof());
            ++runs_;
        } catch (const std::exception& e) {
            guard_.reset();
            std::fprintf(stderr, "cpprof: benchmark_profiler_manager: %s not written: %s\n",
                         name_.c_str(), e.what());
        }
    }

    /// Profiles written so far.
    int runs() const { return runs_; }

private:
    benchmark_options options_;
    std::string dir_, name_;
    std::optional<profiler_guard<high_precision>> guard_;
    int number_ = 0, runs_ = 0;
};

/// Registers a benchmark_profiler_manager with Google Benchmark for the registration's
/// lifetime (one at a time; create it after benchmark::Initialize, before
/// RunSpecifiedBenchmarks).
class benchmark_profiler_registration {
public:
    explicit benchmark_profiler_registration(benchmark_options options = {})
        : manager_(std::move(options)) {
        benchmark::RegisterProfilerManager(&manager_);
    }
    ~benchmark_profiler_registration() { benchmark::RegisterProfilerManager(nullptr); }
    benchmark_profiler_registration(const benchmark_profiler_registration&) = delete;
    benchmark_profiler_registration& operator=(const benchmark_profiler_registration&) = delete;

    const benchmark_profiler_manager& manager() const { return manager_; }

private:
    benchmark_profiler_manager manager_;
};

#endif  // CPPROF_BENCHMARK_HAS_PROFILER_MANAGER

}  // namespace cpprof
