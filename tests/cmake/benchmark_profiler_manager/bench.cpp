// The program the ProfilerManager path is for: benchmarks whose bodies know nothing of cpprof,
// and one line in main(). Run by pm_check (check.cpp), which reads the files back.
//
// Each benchmark has its own hot function; the work before each loop (setup_work) is outside
// the measured region and must not show up in any profile. An iteration is long (~40-60 ms of
// CPU) because Google Benchmark 1.8.5 to 1.9.1 profile a single one (see
// <cpprof/integration/benchmark.hpp>): still ~40-60 samples at 1000 Hz.

#include <benchmark/benchmark.h>
#include <cpprof/integration/benchmark.hpp>

#include <cstdint>
#include <cstdio>

#if !CPPROF_BENCHMARK_HAS_PROFILER_MANAGER
#error "built with CPPROF_BENCHMARK_HAS_PROFILER_MANAGER=1 against a Google Benchmark that has it"
#endif

// GCC's noipa also keeps identical code folding from merging the hot functions (their bodies
// differ anyway); every function is global, so its frame has a plain name.
#if defined(__GNUC__) && !defined(__clang__)
#define PM_NOINLINE __attribute__((noinline, noipa))
#else
#define PM_NOINLINE __attribute__((noinline))
#endif

namespace {

volatile std::uint64_t g_sink;

// Inlined into each caller, so the samples land in the caller's own frame.
inline __attribute__((always_inline)) void xorshift_ms(std::uint64_t seed, std::uint64_t ms) {
    std::uint64_t x = seed;
    for (std::uint64_t i = 0; i < ms * 400000; ++i) {  // 400000 rounds: ~0.7-1 ms
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    g_sink = x;
}

constexpr std::uint64_t loop_ms = 60;
constexpr std::uint64_t setup_ms = 40;

}  // namespace

PM_NOINLINE void cpprof_pm_hot_alpha(std::uint64_t ms) { xorshift_ms(0x9E3779B97F4A7C15ULL, ms); }
PM_NOINLINE void cpprof_pm_hot_beta(std::uint64_t ms) { xorshift_ms(0xD1B54A32D192ED03ULL, ms); }
PM_NOINLINE void cpprof_pm_hot_gamma(std::uint64_t ms) { xorshift_ms(0x8CB92BA72F3D8DD7ULL, ms); }
PM_NOINLINE void cpprof_pm_hot_delta(std::uint64_t ms) { xorshift_ms(0xE7037ED1A0B428DBULL, ms); }
PM_NOINLINE void cpprof_pm_setup_work(std::uint64_t ms) { xorshift_ms(0xA0761D6478BD642FULL, ms); }

static void BM_alpha(benchmark::State& state) {
    cpprof_pm_setup_work(setup_ms);  // before the loop: not measured, not profiled
    for (auto _ : state) cpprof_pm_hot_alpha(loop_ms);
}
BENCHMARK(BM_alpha)->Iterations(2);

static void BM_beta(benchmark::State& state) {
    cpprof_pm_setup_work(setup_ms);
    for (auto _ : state) cpprof_pm_hot_beta(loop_ms);
}
BENCHMARK(BM_beta)->Iterations(2);

// A body with its own benchmark_guard: in the profiling run the guard's profiler is already
// running when the registration's would start (one CPU profile per process), so this benchmark's
// number is skipped and the guard's files hold the profiling run.
static void BM_guarded(benchmark::State& state) {
    cpprof::benchmark_guard guard{state, cpprof::benchmark_options{}.name("BM_guarded")};
    for (auto _ : state) cpprof_pm_hot_delta(loop_ms);
}
BENCHMARK(BM_guarded)->Iterations(2);

static void BM_gamma(benchmark::State& state) {
    cpprof_pm_setup_work(setup_ms);
    for (auto _ : state) cpprof_pm_hot_gamma(loop_ms);
}
BENCHMARK(BM_gamma)->Iterations(2);

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    cpprof::benchmark_profiler_registration profiling{};
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    std::printf("cpprof profiles written: %d\n", profiling.manager().runs());
    return 0;
}
