// Symbolizer costs: taking the snapshot of loaded objects, the first lookup in an object (which
// parses its symbol table), and warm lookups (binary search plus cached demangled names).
#include <cpprof/detail/elf.hpp>
#include <cpprof/detail/symbolizer.hpp>

#include <benchmark/benchmark.h>
#include <dlfcn.h>

#include <cstdint>
#include <string_view>
#include <vector>

namespace {

using cpprof::detail::symbolizer;

std::uint64_t address_of(const void* p) {
    return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p));
}

std::uint64_t libstdcxx_function() { return address_of(dlsym(RTLD_DEFAULT, "_ZSt9terminatev")); }

/// Up to `count` addresses inside functions of the object holding `anchor` (named
/// `anchor_name`), spread over its whole symbol table.
std::vector<std::uint64_t> addresses_in(symbolizer& s, std::uint64_t anchor,
                                        std::string_view anchor_name, std::size_t count) {
    std::vector<std::uint64_t> out;
    const auto hit = s.lookup(anchor);
    if (hit.mapping == cpprof::no_mapping) return out;
    const auto image = cpprof::detail::elf_image::open(s.mappings()[hit.mapping].filename);
    const auto table = image.function_symbols();
    std::uint64_t bias = 0;
    for (std::size_t i = 0; i < table.size(); ++i)
        if (table.name(i) == anchor_name) bias = anchor - table[i].start;
    const std::size_t step = table.size() / count + 1;
    for (std::size_t i = 0; i < table.size(); i += step)
        out.push_back(bias + table[i].start + (table[i].end - table[i].start) / 2);
    return out;
}

void BM_construct(benchmark::State& state) {
    for (auto _ : state) {
        symbolizer s;
        benchmark::DoNotOptimize(s.mappings().data());
    }
    symbolizer s;
    state.counters["mappings"] = static_cast<double>(s.mappings().size());
}
BENCHMARK(BM_construct)->Unit(benchmark::kMicrosecond);

void BM_refresh_unchanged(benchmark::State& state) {
    symbolizer s;
    for (auto _ : state) s.refresh();
}
BENCHMARK(BM_refresh_unchanged)->Unit(benchmark::kMicrosecond);

// Construction is paused out: this is the parse of libstdc++'s .dynsym plus one lookup.
void BM_first_lookup_libstdcxx(benchmark::State& state) {
    const std::uint64_t address = libstdcxx_function();
    std::size_t bytes = 0;
    for (auto _ : state) {
        state.PauseTiming();
        {
            symbolizer s;
            state.ResumeTiming();
            benchmark::DoNotOptimize(s.lookup(address));
            state.PauseTiming();
            bytes = s.memory_usage();
        }
        state.ResumeTiming();
    }
    state.counters["table_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_first_lookup_libstdcxx)->Unit(benchmark::kMicrosecond);

void BM_first_lookup_main_binary(benchmark::State& state) {
    const std::uint64_t address = address_of(reinterpret_cast<const void*>(&BM_construct));
    for (auto _ : state) {
        state.PauseTiming();
        {
            symbolizer s;
            state.ResumeTiming();
            benchmark::DoNotOptimize(s.lookup(address));
            state.PauseTiming();
        }
        state.ResumeTiming();
    }
}
BENCHMARK(BM_first_lookup_main_binary)->Unit(benchmark::kMicrosecond);

// Warm: 2000 distinct addresses across libstdc++ (mangled C++ names) and libc (C names),
// every table parsed and every name demangled once before timing.
void BM_warm_lookup(benchmark::State& state) {
    symbolizer s;
    std::vector<std::uint64_t> addresses =
        addresses_in(s, libstdcxx_function(), "_ZSt9terminatev", 1000);
    const auto libc = addresses_in(s, address_of(dlsym(RTLD_DEFAULT, "getpid")), "getpid", 1000);
    addresses.insert(addresses.end(), libc.begin(), libc.end());
    if (addresses.empty()) {
        state.SkipWithError("no addresses to look up");
        return;
    }
    for (std::uint64_t a : addresses) s.lookup(a);
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(s.lookup(addresses[i]));
        if (++i == addresses.size()) i = 0;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["addresses"] = static_cast<double>(addresses.size());
}
BENCHMARK(BM_warm_lookup);

// The cost the cache of demangled names saves on every warm lookup of a C++ function.
void BM_demangle(benchmark::State& state) {
    for (auto _ : state)
        benchmark::DoNotOptimize(cpprof::detail::demangle(
            "_ZNSt6vectorIiSaIiEE17_M_realloc_insertIJRKiEEEvN9__gnu_cxx17__normal_"
            "iteratorIPiS1_EEDpOT_"));
}
BENCHMARK(BM_demangle);

}  // namespace
