// The one main() of cpprof_bench; every bench/bench_<area>.cpp registers its benchmarks.
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
