// Encoding throughput: gzip/DEFLATE on a realistic pprof payload at several levels, CRC-32, and
// encode_pprof of a 100k-sample CPU profile. The payload is the deterministic synthetic profile
// used by the tests (C++ names, shared stack prefixes, inlined frames, thread labels).
//
//   g++ -std=c++17 -O2 -DNDEBUG -Iinclude bench/main.cpp bench/bench_encode.cpp -lbenchmark -lpthread

#include <benchmark/benchmark.h>

#include <string>

#include <cpprof/detail/crc32.hpp>
#include <cpprof/detail/gzip.hpp>
#include <cpprof/output/pprof.hpp>

#include "../tests/support/synthetic_profile.hpp"

namespace {

const cpprof::profile& profile_100k() {
    static const cpprof::profile p = cpprof_test::synthetic_profile(100000);
    return p;
}

/// The raw pprof bytes of the 100k-sample profile (about 5.7 MB).
const std::string& pprof_payload() {
    static const std::string bytes = cpprof::encode_pprof(profile_100k());
    return bytes;
}

void bm_gzip_compress(benchmark::State& state) {
    const std::string& in = pprof_payload();
    const int level = static_cast<int>(state.range(0));
    std::size_t out_size = 0;
    for (auto _ : state) {
        std::string z = cpprof::detail::gzip_compress(in, level);
        out_size = z.size();
        benchmark::DoNotOptimize(z.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
    state.counters["input_MB"] = static_cast<double>(in.size()) / 1e6;
    state.counters["ratio"] = static_cast<double>(out_size) / static_cast<double>(in.size());
}
BENCHMARK(bm_gzip_compress)->Arg(0)->Arg(1)->Arg(6)->Arg(9)->Unit(benchmark::kMillisecond);

/// Small bodies (HTTP responses, small profiles): fixed costs such as table setup dominate.
void bm_gzip_compress_small(benchmark::State& state) {
    const std::string in = pprof_payload().substr(0, static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        std::string z = cpprof::detail::gzip_compress(in, 6);
        benchmark::DoNotOptimize(z.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
}
BENCHMARK(bm_gzip_compress_small)->Arg(1024)->Arg(64 * 1024)->Unit(benchmark::kMicrosecond);

void bm_crc32(benchmark::State& state) {
    const std::string& in = pprof_payload();
    for (auto _ : state) benchmark::DoNotOptimize(cpprof::detail::crc32(in.data(), in.size()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
}
BENCHMARK(bm_crc32)->Unit(benchmark::kMillisecond);

void bm_encode_pprof_100k_samples(benchmark::State& state) {
    const cpprof::profile& p = profile_100k();
    std::size_t out_size = 0;
    for (auto _ : state) {
        std::string bytes = cpprof::encode_pprof(p);
        out_size = bytes.size();
        benchmark::DoNotOptimize(bytes.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * p.samples().size()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out_size));
    state.counters["output_MB"] = static_cast<double>(out_size) / 1e6;
}
BENCHMARK(bm_encode_pprof_100k_samples)->Unit(benchmark::kMillisecond);

/// What write_pprof does for a .pb.gz file, minus the write: encode, then gzip at the default level.
void bm_encode_and_gzip_100k_samples(benchmark::State& state) {
    const cpprof::profile& p = profile_100k();
    for (auto _ : state) {
        std::string z = cpprof::detail::gzip_compress(cpprof::encode_pprof(p), cpprof::detail::pprof_gzip_level);
        benchmark::DoNotOptimize(z.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * p.samples().size()));
}
BENCHMARK(bm_encode_and_gzip_100k_samples)->Unit(benchmark::kMillisecond);

}  // namespace
