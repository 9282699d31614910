// Case study 3: string concatenation, before and after, with the improvement measured.
//
//   g++ -O2 -pthread -I single_include examples/15_case_string_concat.cpp -o concat && ./concat
//
// Before: s = s + std::to_string(i)   a new string, and a copy of everything so far, per step
// After:  s.reserve(...); s += ...    one buffer, each piece appended in place
// Measured now: the best of 5 timed runs of each, the allocations and bytes allocated per run
// (allocation_counter), and where the CPU profile of "before" puts the time.
//
// ctest: run
#define CPPROF_IMPLEMENT_GLOBAL_NEW  // so allocation_counter sees every operator new
#include <cpprof/cpprof.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>

namespace {

constexpr int pieces = 20'000;

__attribute__((noinline)) std::string concat_slow() {
    std::string s;
    for (int i = 0; i < pieces; ++i) s = s + std::to_string(i);
    return s;
}

__attribute__((noinline)) std::string concat_fast() {
    std::string s;
    s.reserve(pieces * 5);
    char buf[16];
    for (int i = 0; i < pieces; ++i) s.append(buf, static_cast<std::size_t>(std::snprintf(buf, sizeof buf, "%d", i)));
    return s;
}

struct numbers {
    double best_ms = 1e300;
    std::uint64_t allocations = 0, bytes = 0;
    std::size_t length = 0;
};

template <class F>
numbers measure(F f) {
    numbers n;
    for (int run = 0; run < 5; ++run) {
        cpprof::allocation_counter c;
        const auto t0 = std::chrono::steady_clock::now();
        const std::string s = f();
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        n.best_ms = std::min(n.best_ms, ms);
        n.allocations = c.allocations();
        n.bytes = c.bytes();
        n.length = s.size();
    }
    return n;
}

}  // namespace

int main() {
    const numbers before = measure(concat_slow);
    const numbers after = measure(concat_fast);
    if (before.length != after.length) return 1;

    std::printf("%d numbers concatenated into %zu characters (best of 5 runs)\n\n", pieces,
                after.length);
    std::printf("before (s = s + ...):   %9.3f ms  %7llu allocations  %10.1f MiB allocated\n",
                before.best_ms, static_cast<unsigned long long>(before.allocations),
                static_cast<double>(before.bytes) / 1048576);
    std::printf("after  (reserve, +=):   %9.3f ms  %7llu allocations  %10.1f MiB allocated\n",
                after.best_ms, static_cast<unsigned long long>(after.allocations),
                static_cast<double>(after.bytes) / 1048576);
    std::printf("improvement: %.1f%% less time (%.0fx faster), %.0fx fewer allocations\n\n",
                100 * (1 - after.best_ms / before.best_ms), before.best_ms / after.best_ms,
                static_cast<double>(before.allocations) / static_cast<double>(std::max<std::uint64_t>(after.allocations, 1)));

    // Where does "before" spend its time? Profile a few more runs of each.
    cpprof::profile slow, fast;
    {
        cpprof::profiler_guard<cpprof::high_precision> guard;
        for (int i = 0; i < 5; ++i) concat_slow();
        slow = guard.stop();
    }
    {
        cpprof::profiler_guard<cpprof::high_precision> guard;
        for (int i = 0; i < 5; ++i) concat_fast();
        fast = guard.stop();
    }
    std::cout << "before, top functions (" << slow.total_samples() << " samples):\n";
    cpprof::print_hotspots(std::cout, cpprof::hotspots(slow, 4));
    std::cout << "after: " << fast.total_samples() << " samples for the same 5 runs\n";
    cpprof::write_flamegraph(slow, "concat_before.svg");
    cpprof::write_flamegraph(fast, "concat_after.svg");
    std::cout << "\nwrote concat_before.svg\nwrote concat_after.svg\n";
    // The deterministic part of the claim: far fewer allocations (timing depends on the machine).
    return after.allocations * 100 < before.allocations ? 0 : 1;
}
