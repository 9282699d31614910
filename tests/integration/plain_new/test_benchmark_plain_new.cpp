// benchmark_guard in a program WITHOUT cpprof's operator new (no CPPROF_IMPLEMENT_GLOBAL_NEW):
// allocs/iter and bytes/iter are left out by default, since allocation_counter cannot see plain
// `new` (0 would be a lie); allocation_counters(true) adds them, and then only tracking
// allocators count. Built as cpprof_tests_integration_plain_new (tests/CMakeLists.txt).

#include <benchmark/benchmark.h>
#include <cpprof/integration/benchmark.hpp>

#include <doctest/doctest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace {

class capture_reporter : public benchmark::BenchmarkReporter {
public:
    bool ReportContext(const Context&) override { return true; }
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& r : runs)
            for (const auto& kv : r.counters) counters[r.benchmark_name()][kv.first] = kv.second.value;
    }
    std::map<std::string, std::map<std::string, double>> counters;
};

void BM_plain_default(benchmark::State& state) {
    cpprof::benchmark_guard guard{state};
    for (auto _ : state) {
        char* a = new char[16];
        benchmark::DoNotOptimize(a);
        delete[] a;
    }
}
BENCHMARK(BM_plain_default)->Iterations(100);

void BM_plain_forced(benchmark::State& state) {
    cpprof::benchmark_guard guard{state, cpprof::benchmark_options{}.allocation_counters(true)};
    for (auto _ : state) {
        char* a = new char[16];  // invisible without cpprof's operator new
        benchmark::DoNotOptimize(a);
        delete[] a;
        std::vector<int, cpprof::tracking_allocator<int>> v;  // counted: one buffer of 4 ints
        v.reserve(4);
        benchmark::DoNotOptimize(v.data());
    }
}
BENCHMARK(BM_plain_forced)->Iterations(100);

}  // namespace

TEST_CASE("benchmark: without cpprof's operator new the counters are left out unless forced") {
    ::unsetenv("CPPROF_OUTPUT_DIR");
    REQUIRE_FALSE(cpprof::allocation_counter::sees_global_new());
    capture_reporter r;
    REQUIRE(benchmark::RunSpecifiedBenchmarks(&r, "^BM_plain_") == 2);

    const auto& def = r.counters["BM_plain_default/iterations:100"];
    CHECK(def.count("allocs/iter") == 0);
    CHECK(def.count("bytes/iter") == 0);

    const auto& forced = r.counters["BM_plain_forced/iterations:100"];
    REQUIRE(forced.count("allocs/iter") == 1);
    CHECK(forced.at("allocs/iter") == 1.0);  // the tracking allocator's buffer, not the new[]
    CHECK(forced.at("bytes/iter") == 4.0 * sizeof(int));
}
