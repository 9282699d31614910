// What cpprof::benchmark_guard does to the time Google Benchmark reports, next to the same
// body without it in the same run:
//
//   BM_guard_none        the workload alone: baseline
//   BM_guard_counters    benchmark_guard with no output directory (run without CPPROF_OUTPUT_DIR):
//                        no profiler, only the allocation counters (forced on: this program has
//                        no cpprof operator new)
//   BM_guard_profiling   benchmark_guard writing a 1000 Hz CPU profile (flame graph + pprof)
//                        into a temporary directory: what `CPPROF_OUTPUT_DIR=dir ./bench` costs
//   BM_guard_profiling_100hz  the same at 100 Hz (benchmark_options::profiler)
//
// The workload is ~30 us of integer hashing per iteration, in a noinline function so the three
// loops are the same code. The profiler's cost inside the loop is the SIGPROF handler (one
// unwind per sample) and the collector thread; writing the files happens after the loop, in
// the guard's destructor, outside the measured time. Numbers and the command: bench/README.md,
// "Google Benchmark integration".
//
//   g++ -std=c++17 -O2 -DNDEBUG -Iinclude bench/main.cpp bench/bench_benchmark_guard.cpp -lbenchmark -lpthread

#include <benchmark/benchmark.h>

#include <cpprof/integration/benchmark.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace {

[[gnu::noinline]] std::uint64_t hash_rounds(std::uint64_t seed) {
    std::uint64_t h = seed;
    for (int i = 0; i < 20000; ++i) {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h += static_cast<std::uint64_t>(i);
    }
    return h;
}

const std::string& profile_dir() {
    static const std::string dir = [] {
        const auto d = std::filesystem::temp_directory_path() / "cpprof-bench-benchmark-guard";
        std::filesystem::create_directories(d);
        return d.string();
    }();
    return dir;
}

void BM_guard_none(benchmark::State& state) {
    std::uint64_t seed = 1;
    for (auto _ : state) benchmark::DoNotOptimize(seed = hash_rounds(seed));
}
BENCHMARK(BM_guard_none);

void BM_guard_counters(benchmark::State& state) {
    cpprof::benchmark_guard guard{state, cpprof::benchmark_options{}.allocation_counters(true)};
    std::uint64_t seed = 1;
    for (auto _ : state) benchmark::DoNotOptimize(seed = hash_rounds(seed));
}
BENCHMARK(BM_guard_counters);

void BM_guard_profiling(benchmark::State& state) {
    cpprof::benchmark_guard guard{
        state, cpprof::benchmark_options{}.output_dir(profile_dir()).name("BM_guard_profiling")};
    std::uint64_t seed = 1;
    for (auto _ : state) benchmark::DoNotOptimize(seed = hash_rounds(seed));
}
BENCHMARK(BM_guard_profiling);

void BM_guard_profiling_100hz(benchmark::State& state) {
    cpprof::benchmark_guard guard{state, cpprof::benchmark_options{}
                                             .output_dir(profile_dir())
                                             .name("BM_guard_profiling_100hz")
                                             .profiler(cpprof::profiler_options{}.frequency(100))};
    std::uint64_t seed = 1;
    for (auto _ : state) benchmark::DoNotOptimize(seed = hash_rounds(seed));
}
BENCHMARK(BM_guard_profiling_100hz);

}  // namespace
