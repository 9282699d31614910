// cpprof::benchmark_guard (<cpprof/integration/benchmark.hpp>) inside real Google Benchmark
// runs: the counters a reporter receives, and the files written, read back by `go tool pprof`
// and the SVG reader. This executable links cpprof's operator new (tests/global_new.cpp).

#include <benchmark/benchmark.h>
#include <cpprof/integration/benchmark.hpp>

#include "../support/external.hpp"
#include "../support/flamegraph_svg.hpp"
#include "../support/go_pprof.hpp"
#include "../support/sanitizers.hpp"
#include "../workloads.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

using cpprof_test::env_var;
using cpprof_test::exists;

/// Keeps what Google Benchmark reports: run name -> counters (after its own finishing, so
/// kAvgIterations counters are already per iteration).
class capture_reporter : public benchmark::BenchmarkReporter {
public:
    bool ReportContext(const Context&) override { return true; }
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& r : runs) {
            std::map<std::string, double> c;
            for (const auto& kv : r.counters) c[kv.first] = kv.second.value;
            counters[r.benchmark_name()] = c;
            iterations[r.benchmark_name()] = r.iterations;
        }
    }
    std::map<std::string, std::map<std::string, double>> counters;
    std::map<std::string, std::int64_t> iterations;
};

// What the guards saw, for checks the reporter cannot make.
std::string g_last_name;
bool g_last_profiling = false;
bool g_last_counting = false;
std::string g_output_dir;  // benchmarks with an explicit directory write here

capture_reporter run_benchmarks(const std::string& filter) {
    g_last_name.reserve(256);  // so that setting it inside a benchmark allocates nothing
    capture_reporter r;
    // Run names carry the registration's settings, e.g. "BM_x/min_time:0.010": filters end in '/'.
    const std::size_t n = benchmark::RunSpecifiedBenchmarks(&r, filter);
    REQUIRE_MESSAGE(n > 0, "no benchmark matched " << filter);
    return r;
}

void BM_cpprof_three_allocs(benchmark::State& state) {
    cpprof::benchmark_guard guard{state};
    g_last_name = guard.name();
    g_last_profiling = guard.profiling();
    g_last_counting = guard.counting_allocations();
    for (auto _ : state) {
        char* a = new char[16];
        char* b = new char[16];
        char* c = new char[16];
        benchmark::DoNotOptimize(a);
        benchmark::DoNotOptimize(b);
        benchmark::DoNotOptimize(c);
        delete[] a;
        delete[] b;
        delete[] c;
    }
}
BENCHMARK(BM_cpprof_three_allocs)->MinTime(0.01);

void BM_cpprof_no_allocs(benchmark::State& state) {
    cpprof::benchmark_guard guard{state};
    std::uint64_t x = 1;
    for (auto _ : state) {
        x = x * 6364136223846793005ULL + 1;
        benchmark::DoNotOptimize(x);
    }
}
BENCHMARK(BM_cpprof_no_allocs)->MinTime(0.01);

void BM_cpprof_counters_off(benchmark::State& state) {
    cpprof::benchmark_guard guard{state, cpprof::benchmark_options{}.allocation_counters(false)};
    for (auto _ : state) {
        char* a = new char[8];
        benchmark::DoNotOptimize(a);
        delete[] a;
    }
}
BENCHMARK(BM_cpprof_counters_off)->Iterations(10);

}  // namespace

// Global, so the frame's name is plain in the profile.
CPPROF_TEST_NOINLINE void cpprof_bench_burn_target(std::uint64_t units) {
    workloads::spin_units(units);
    CPPROF_TEST_NO_TAIL_CALL();
}

namespace {

void BM_cpprof_burn(benchmark::State& state) {
    cpprof::benchmark_guard guard{state, cpprof::benchmark_options{}.output_dir(g_output_dir)};
    g_last_name = guard.name();
    g_last_profiling = guard.profiling();
    for (auto _ : state) cpprof_bench_burn_target(1);
}
BENCHMARK(BM_cpprof_burn)->Iterations(300);

void BM_cpprof_burn_env(benchmark::State& state) {
    cpprof::benchmark_guard guard{
        state, cpprof::benchmark_options{}.name("BM_cpprof_burn_env/" + std::to_string(state.range(0)))};
    g_last_name = guard.name();
    g_last_profiling = guard.profiling();
    for (auto _ : state) cpprof_bench_burn_target(1);
}
BENCHMARK(BM_cpprof_burn_env)->Arg(8)->Iterations(50);

void BM_cpprof_threads(benchmark::State& state) {
    cpprof::benchmark_guard guard{state, cpprof::benchmark_options{}.output_dir(g_output_dir)};
    if (state.thread_index() == 0) g_last_name = guard.name();
    for (auto _ : state) {
        char* a = new char[32];
        benchmark::DoNotOptimize(a);
        delete[] a;
        cpprof_bench_burn_target(1);
    }
}
BENCHMARK(BM_cpprof_threads)->Threads(2)->Iterations(40);

}  // namespace

TEST_CASE("benchmark: allocs/iter and bytes/iter count exactly what the loop allocates") {
    env_var dir("CPPROF_OUTPUT_DIR", nullptr);
    REQUIRE(cpprof::allocation_counter::sees_global_new());
    const capture_reporter r = run_benchmarks("^BM_cpprof_(three|no)_allocs/");

    REQUIRE(r.counters.count("BM_cpprof_three_allocs/min_time:0.010") == 1);
    const auto& three = r.counters.at("BM_cpprof_three_allocs/min_time:0.010");
    REQUIRE(three.count("allocs/iter") == 1);
    CHECK(three.at("allocs/iter") == 3.0);
    CHECK(three.at("bytes/iter") == 48.0);
    CHECK(r.iterations.at("BM_cpprof_three_allocs/min_time:0.010") > 1);

    const auto& none = r.counters.at("BM_cpprof_no_allocs/min_time:0.010");
    CHECK(none.at("allocs/iter") == 0.0);
    CHECK(none.at("bytes/iter") == 0.0);

    // No directory: named after the function (1.7.1 has no State::name()), no profiler.
    CHECK(g_last_name == "BM_cpprof_three_allocs");
    CHECK_FALSE(g_last_profiling);
    CHECK(g_last_counting);
}

TEST_CASE("benchmark: allocation_counters(false) leaves the counters out") {
    env_var dir("CPPROF_OUTPUT_DIR", nullptr);
    const capture_reporter r = run_benchmarks("^BM_cpprof_counters_off/");
    REQUIRE(r.counters.size() == 1);
    const auto& c = r.counters.begin()->second;
    CHECK(c.count("allocs/iter") == 0);
    CHECK(c.count("bytes/iter") == 0);
}

// ThreadSanitizer defers signals to the interrupted thread's next intercepted call, so CPU
// samples of a busy loop never land there (as in tests/test_cpu_profiler.cpp): skipped under TSan.
TEST_CASE("benchmark: the guard writes <name>.svg and <name>.pb.gz that pprof and the SVG reader read" *
          doctest::skip(CPPROF_TEST_TSAN != 0)) {
    env_var env("CPPROF_OUTPUT_DIR", nullptr);
    cpprof_test::temp_dir dir;
    g_output_dir = dir.path();
    const capture_reporter r = run_benchmarks("^BM_cpprof_burn/");
    g_output_dir.clear();
    CHECK(g_last_profiling);
    CHECK(g_last_name == "BM_cpprof_burn");
    const std::string svg = dir / "BM_cpprof_burn.svg";
    const std::string pb = dir / "BM_cpprof_burn.pb.gz";
    REQUIRE(exists(svg));
    REQUIRE(exists(pb));

    const cpprof_test::svg_graph g =
        cpprof_test::parse_flamegraph_svg(cpprof_test::read_file(svg), CPPROF_TEST_XMLLINT);
    bool found = false;
    std::int64_t in_target = 0;
    for (const auto& b : g.boxes)
        if (b.name.find("cpprof_bench_burn_target") != std::string::npos) {
            found = true;
            in_target += b.count;
        }
    CHECK(found);
    CHECK(in_target >= 30);  // 300 iterations of ~1 ms at 1000 Hz: ~300 samples
    CHECK(g.raw.find("BM_cpprof_burn") != std::string::npos);  // the title

    REQUIRE_GO_TOOL_PPROF();
    cpprof_test::go_pprof pprof;
    const std::string top = pprof.run("-top -nodecount=50", pb);
    CHECK(top.find("cpprof_bench_burn_target") != std::string::npos);
}

TEST_CASE("benchmark: CPPROF_OUTPUT_DIR and an explicit name with the argument name the files") {
    cpprof_test::temp_dir dir;
    {
        env_var env("CPPROF_OUTPUT_DIR", dir.path().c_str());
        run_benchmarks("^BM_cpprof_burn_env/8/");
    }
    CHECK(g_last_profiling);
    CHECK(g_last_name == "BM_cpprof_burn_env/8");
    CHECK(exists(dir / "BM_cpprof_burn_env_8.svg"));
    CHECK(exists(dir / "BM_cpprof_burn_env_8.pb.gz"));
}

TEST_CASE("benchmark: threads: one profile named /threads:N, counters summed over threads") {
    env_var env("CPPROF_OUTPUT_DIR", nullptr);
    cpprof_test::temp_dir dir;
    g_output_dir = dir.path();
    const capture_reporter r = run_benchmarks("^BM_cpprof_threads");
    g_output_dir.clear();
    CHECK(g_last_name == "BM_cpprof_threads/threads:2");
    CHECK(exists(dir / "BM_cpprof_threads_threads_2.svg"));
    REQUIRE(r.counters.size() == 1);
    const auto& c = r.counters.begin()->second;
    CHECK(c.at("allocs/iter") == 1.0);
    CHECK(c.at("bytes/iter") == 32.0);
}
