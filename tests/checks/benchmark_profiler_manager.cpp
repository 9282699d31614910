// The one-line ProfilerManager registration of <cpprof/integration/benchmark.hpp>, compiled with
// CPPROF_BENCHMARK_HAS_PROFILER_MANAGER=1 (see benchmark_profiler_manager.h.in).
#include <cpprof/integration/benchmark.hpp>

#if !CPPROF_BENCHMARK_HAS_PROFILER_MANAGER
#error "this check needs CPPROF_BENCHMARK_HAS_PROFILER_MANAGER=1"
#endif

static void BM_check(benchmark::State& state) {
    cpprof::benchmark_guard guard{state};  // the guard still works next to the registration
    for (auto _ : state) benchmark::DoNotOptimize(state.iterations());
}
BENCHMARK(BM_check);

int cpprof_check_profiler_manager(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    cpprof::benchmark_profiler_registration profiling{cpprof::benchmark_options{}.output_dir("prof")};
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return profiling.manager().runs();
}
