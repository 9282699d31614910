// Google Benchmark with cpprof: allocations per iteration next to the times, and a flame graph
// and a pprof file per benchmark.
//
//   g++ -O2 -pthread -I single_include examples/16_google_benchmark.cpp -lbenchmark -o bench
//   ./bench                                   # times + allocs/iter and bytes/iter, no profiles
//   ./bench --profiles prof                   # + prof/BM_split_*.svg and .pb.gz
//   CPPROF_OUTPUT_DIR=prof ./bench            # the same, the way any benchmark_guard reads it
//
// Two benchmarks of one task, splitting a comma-separated line into fields:
//   BM_split_strings   a new std::vector<std::string> per line: one allocation per field
//                      longer than the small-string buffer, plus the vector's growth
//   BM_split_views     one reused std::vector<std::string_view>: no allocation at all
// cpprof::benchmark_guard adds the allocs/iter and bytes/iter columns (this program defines
// CPPROF_IMPLEMENT_GLOBAL_NEW, so every operator new is counted) and, when a directory is set,
// profiles each benchmark and writes <dir>/<name>.svg and .pb.gz (the last, measured run).
//
// ctest: run --benchmark_min_time=0.05 --profiles benchmark_profiles
#define CPPROF_IMPLEMENT_GLOBAL_NEW  // so allocs/iter and bytes/iter see every operator new
#include <benchmark/benchmark.h>
#include <cpprof/integration/benchmark.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::string g_profiles;  // --profiles DIR; empty: $CPPROF_OUTPUT_DIR decides

std::string make_line() {
    std::string line;
    for (int i = 0; i < 64; ++i) line += "field-number-" + std::to_string(i * 7919) + ",";
    return line;
}

__attribute__((noinline)) std::vector<std::string> split_strings(std::string_view line) {
    std::vector<std::string> fields;
    for (std::size_t start = 0; start < line.size();) {
        const std::size_t end = std::min(line.find(',', start), line.size());
        fields.emplace_back(line.substr(start, end - start));
        start = end + 1;
    }
    return fields;
}

__attribute__((noinline)) void split_views(std::string_view line,
                                           std::vector<std::string_view>& fields) {
    fields.clear();
    for (std::size_t start = 0; start < line.size();) {
        const std::size_t end = std::min(line.find(',', start), line.size());
        fields.push_back(line.substr(start, end - start));
        start = end + 1;
    }
}

void BM_split_strings(benchmark::State& state) {
    const std::string line = make_line();  // setup, before the guard: not counted, not profiled
    cpprof::benchmark_guard guard{state, cpprof::benchmark_options{}.output_dir(g_profiles)};
    for (auto _ : state) benchmark::DoNotOptimize(split_strings(line));
}
BENCHMARK(BM_split_strings);

void BM_split_views(benchmark::State& state) {
    const std::string line = make_line();
    std::vector<std::string_view> fields;
    split_views(line, fields);  // the vector's one allocation, before the guard
    cpprof::benchmark_guard guard{state, cpprof::benchmark_options{}.output_dir(g_profiles)};
    for (auto _ : state) {
        split_views(line, fields);
        benchmark::DoNotOptimize(fields.data());
    }
}
BENCHMARK(BM_split_views);

// The profiles in `dir` written since `start`: what the guards wrote in this run.
std::size_t list_written(const std::string& dir, std::filesystem::file_time_type start) {
    std::vector<std::string> paths;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.is_regular_file() && e.last_write_time() >= start) paths.push_back(e.path().string());
    std::sort(paths.begin(), paths.end());
    for (const std::string& p : paths) std::cout << "wrote " << p << "\n";
    return paths.size();
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);  // takes the --benchmark_* arguments out of argv
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--profiles") == 0 && i + 1 < argc) {
            g_profiles = argv[++i];
            ::mkdir(g_profiles.c_str(), 0755);  // benchmark_guard wants an existing directory
        } else {
            std::cerr << "usage: " << argv[0] << " [--benchmark_...] [--profiles DIR]\n";
            return 2;
        }
    }
    const char* env = std::getenv("CPPROF_OUTPUT_DIR");
    const std::string dir = !g_profiles.empty() ? g_profiles : env != nullptr ? env : "";
    // A second of slack: file times come from a coarser clock than now().
    const auto start = std::filesystem::file_time_type::clock::now() - std::chrono::seconds(1);

    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();

    std::cout << "\nallocs/iter and bytes/iter: operator new calls and bytes per iteration "
                 "(cpprof::allocation_counter)\n";
    if (dir.empty()) {
        std::cout << "no profiles: run with --profiles DIR or CPPROF_OUTPUT_DIR=DIR for a flame "
                     "graph and a pprof file per benchmark\n";
        return 0;
    }
    if (list_written(dir, start) == 0) {
        std::cout << "no profile was written to " << dir << "\n";
        return 1;
    }
    std::cout << "(open the .svg files in a browser; go tool pprof -top FILE.pb.gz for a table)\n";
}
