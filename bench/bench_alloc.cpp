// What counting costs: the same allocation-heavy workloads with std::allocator and with
// cpprof::tracking_allocator over it, registered side by side so the ratio can be read off; and
// what an allocation_counter scope costs next to an empty loop.
//
//   BM_alloc_pair<A>        allocate + deallocate of one 64-byte block (the per-call cost)
//   BM_alloc_vector<A>      push_back 256 small (24-byte) objects into an empty vector: 9
//                           reallocations, each moving the elements
//   BM_alloc_map<A>         insert 256 int keys into a std::map<int, int>, then erase them:
//                           256 node allocations and 256 deallocations
//   BM_alloc_string<A>      build a 4 KiB std::basic_string by appending 16-byte pieces
//   BM_alloc_mixed<A>       the three above in one iteration
//   BM_allocation_counter_scope   construct an allocation_counter, read allocations(), destroy
//   BM_empty_loop           the same loop with nothing in it
//
// A is `std_alloc` (std::allocator), `forwarding` (a trivial allocator over std::allocator
// that counts nothing) or `tracked` (tracking_allocator<T, bench_tag>). How to run and the
// measured ratios: bench/README.md, "Memory: tracking_allocator".
//
//   g++ -std=c++17 -O2 -DNDEBUG -Iinclude bench/main.cpp bench/bench_alloc.cpp -lbenchmark -lpthread

#include <benchmark/benchmark.h>

#include <cpprof/memory/allocation_counter.hpp>
#include <cpprof/memory/allocation_stats.hpp>
#include <cpprof/memory/tracking_allocator.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

struct bench_tag {};

/// Allocator families: alloc<T> is the allocator for T.
struct std_alloc {
    template <class T>
    using alloc = std::allocator<T>;
};
struct tracked {
    template <class T>
    using alloc = cpprof::tracking_allocator<T, bench_tag>;
};

/// An allocator that forwards to std::allocator and counts nothing. libstdc++ treats
/// std::allocator specially (memmove relocation of trivially copyable elements on vector
/// growth; std::string is compiled into libstdc++.so, not instantiated in this file), and any
/// other allocator type loses that, counting or not: this family separates the two effects.
template <class T>
struct forwarding_allocator {
    using value_type = T;
    forwarding_allocator() = default;
    template <class U>
    forwarding_allocator(const forwarding_allocator<U>&) noexcept {}
    T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
    void deallocate(T* p, std::size_t n) { std::allocator<T>().deallocate(p, n); }
    friend bool operator==(const forwarding_allocator&, const forwarding_allocator&) {
        return true;
    }
    friend bool operator!=(const forwarding_allocator&, const forwarding_allocator&) {
        return false;
    }
};
struct forwarding {
    template <class T>
    using alloc = forwarding_allocator<T>;
};

struct small_object {
    std::uint64_t a, b, c;
};

constexpr int vector_elements = 256;
constexpr int map_keys = 256;
constexpr std::size_t string_bytes = 4096;
constexpr std::size_t piece_bytes = 16;

template <class Family>
void vector_workload() {
    std::vector<small_object, typename Family::template alloc<small_object>> v;
    for (int i = 0; i < vector_elements; ++i) {
        const auto u = static_cast<std::uint64_t>(i);
        v.push_back({u, u + 1, u + 2});
    }
    benchmark::DoNotOptimize(v.data());
}

template <class Family>
void map_workload() {
    std::map<int, int, std::less<int>, typename Family::template alloc<std::pair<const int, int>>>
        m;
    // A fixed scramble of 0..255 so the tree does some rebalancing, not one long right spine.
    for (int i = 0; i < map_keys; ++i) m.emplace((i * 97) & (map_keys - 1), i);
    benchmark::DoNotOptimize(m.size());
    for (int i = 0; i < map_keys; ++i) m.erase((i * 31) & (map_keys - 1));
    benchmark::DoNotOptimize(m.size());
}

template <class Family>
void string_workload() {
    using string =
        std::basic_string<char, std::char_traits<char>, typename Family::template alloc<char>>;
    static const char piece[piece_bytes + 1] = "0123456789abcdef";
    string s;
    while (s.size() < string_bytes) s.append(piece, piece_bytes);
    benchmark::DoNotOptimize(s.data());
}

template <class Family>
void BM_alloc_pair(benchmark::State& state) {
    typename Family::template alloc<char> a;
    for (auto _ : state) {
        char* p = a.allocate(64);
        benchmark::DoNotOptimize(p);
        a.deallocate(p, 64);
    }
    state.SetItemsProcessed(state.iterations());
}

template <class Family>
void BM_alloc_vector(benchmark::State& state) {
    for (auto _ : state) vector_workload<Family>();
}

template <class Family>
void BM_alloc_map(benchmark::State& state) {
    for (auto _ : state) map_workload<Family>();
}

template <class Family>
void BM_alloc_string(benchmark::State& state) {
    for (auto _ : state) string_workload<Family>();
}

template <class Family>
void BM_alloc_mixed(benchmark::State& state) {
    for (auto _ : state) {
        vector_workload<Family>();
        map_workload<Family>();
        string_workload<Family>();
    }
    if constexpr (std::is_same_v<Family, tracked>) {
        // Not a measurement: shows that the tracked runs really counted (allocations per
        // iteration, over every tracked benchmark of the process so far).
        state.counters["tag_allocations"] =
            static_cast<double>(cpprof::allocation_stats<bench_tag>().allocations);
    }
}

// Triples: std::allocator, the forwarding allocator, tracking_allocator. tracked / forwarding is
// what counting costs; tracked / std_alloc is what a user switching allocators sees.
BENCHMARK_TEMPLATE(BM_alloc_pair, std_alloc);
BENCHMARK_TEMPLATE(BM_alloc_pair, forwarding);
BENCHMARK_TEMPLATE(BM_alloc_pair, tracked);
BENCHMARK_TEMPLATE(BM_alloc_vector, std_alloc);
BENCHMARK_TEMPLATE(BM_alloc_vector, forwarding);
BENCHMARK_TEMPLATE(BM_alloc_vector, tracked);
BENCHMARK_TEMPLATE(BM_alloc_map, std_alloc);
BENCHMARK_TEMPLATE(BM_alloc_map, forwarding);
BENCHMARK_TEMPLATE(BM_alloc_map, tracked);
BENCHMARK_TEMPLATE(BM_alloc_string, std_alloc);
BENCHMARK_TEMPLATE(BM_alloc_string, forwarding);
BENCHMARK_TEMPLATE(BM_alloc_string, tracked);
BENCHMARK_TEMPLATE(BM_alloc_mixed, std_alloc);
BENCHMARK_TEMPLATE(BM_alloc_mixed, forwarding);
BENCHMARK_TEMPLATE(BM_alloc_mixed, tracked);

void BM_empty_loop(benchmark::State& state) {
    std::uint64_t x = 0;
    for (auto _ : state) {
        benchmark::ClobberMemory();
        benchmark::DoNotOptimize(x);
    }
}
BENCHMARK(BM_empty_loop);

void BM_allocation_counter_scope(benchmark::State& state) {
    for (auto _ : state) {
        cpprof::allocation_counter c;
        // Code in the scope could allocate: without this barrier the compiler sees that nothing
        // did, folds allocations() to 0 and the scope costs nothing at all.
        benchmark::ClobberMemory();
        std::uint64_t n = c.allocations();
        benchmark::DoNotOptimize(n);
    }
}
BENCHMARK(BM_allocation_counter_scope);

}  // namespace
