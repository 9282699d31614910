// Decompression throughput: gunzip of a gzip'd pprof payload (the 100k-sample synthetic profile
// of bench_encode.cpp, about 5.7 MB raw) written at levels 1, 6 and 9. Bytes processed are the
// OUTPUT bytes, so the MB/s compare with other inflaters' published numbers.
//
//   g++ -std=c++17 -O2 -DNDEBUG -Iinclude bench/main.cpp bench/bench_inflate.cpp -lbenchmark -lpthread

#include <benchmark/benchmark.h>

#include <string>

#include <cpprof/detail/gzip.hpp>
#include <cpprof/detail/inflate.hpp>
#include <cpprof/output/pprof.hpp>

#include "../tests/support/synthetic_profile.hpp"

namespace {

const std::string& inflate_payload() {
    static const std::string bytes = cpprof::encode_pprof(cpprof_test::synthetic_profile(100000));
    return bytes;
}

void bm_gunzip(benchmark::State& state) {
    const std::string& raw = inflate_payload();
    const std::string z = cpprof::detail::gzip_compress(raw, static_cast<int>(state.range(0)));
    for (auto _ : state) {
        std::string out = cpprof::detail::gunzip(z);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * raw.size()));
    state.counters["output_MB"] = static_cast<double>(raw.size()) / 1e6;
    state.counters["input_MB"] = static_cast<double>(z.size()) / 1e6;
}
BENCHMARK(bm_gunzip)->Arg(1)->Arg(6)->Arg(9)->Unit(benchmark::kMillisecond);

/// Small bodies: table setup and allocation dominate.
void bm_gunzip_small(benchmark::State& state) {
    const std::string raw = inflate_payload().substr(0, static_cast<std::size_t>(state.range(0)));
    const std::string z = cpprof::detail::gzip_compress(raw, 6);
    for (auto _ : state) {
        std::string out = cpprof::detail::gunzip(z);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * raw.size()));
}
BENCHMARK(bm_gunzip_small)->Arg(1024)->Arg(64 * 1024)->Unit(benchmark::kMicrosecond);

}  // namespace
