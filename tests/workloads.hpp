#pragma once
// CPU-burning workloads for the profiler tests. Every function is noinline and does work after
// its call, so neither inlining nor tail calls hide a frame at -O2 without frame pointers.

#include <atomic>
#include <cstdint>
#include <ctime>
#include <string>

// GCC's noipa also keeps identical code folding (-fipa-icf, on at -O2) from merging two
// workloads with the same body into one symbol, which would credit one's samples to the other.
// Clang folds nothing at compile time.
#if defined(__GNUC__) && !defined(__clang__)
#define CPPROF_TEST_NOINLINE __attribute__((noinline, noipa))
#else
#define CPPROF_TEST_NOINLINE __attribute__((noinline))
#endif
#define CPPROF_TEST_NO_TAIL_CALL() asm volatile("" ::: "memory")

namespace workloads {

/// Results go here so the work cannot be optimised away (atomic: many threads write it).
inline std::atomic<std::uint64_t> sink{0};

/// A fixed amount of integer work: `units` * ~1 ms on this machine.
CPPROF_TEST_NOINLINE inline std::uint64_t spin_units(std::uint64_t units) {
    std::uint64_t x = 88172645463325252ULL;
    for (std::uint64_t i = 0; i < units * 400000; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    sink.fetch_add(x, std::memory_order_relaxed);
    return x;
}

inline std::int64_t thread_cpu_ns() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

inline std::int64_t process_cpu_ns() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/// Burns `ns` of this thread's CPU time.
CPPROF_TEST_NOINLINE inline void burn_cpu_ns(std::int64_t ns) {
    std::int64_t end = thread_cpu_ns() + ns;
    while (thread_cpu_ns() < end) spin_units(1);
    CPPROF_TEST_NO_TAIL_CALL();
}

}  // namespace workloads

// Functions with distinctive names the tests look for (global, so they have plain names).
CPPROF_TEST_NOINLINE inline void cpprof_test_heavy_three(std::uint64_t u) {
    workloads::spin_units(3 * u);
    CPPROF_TEST_NO_TAIL_CALL();
}
CPPROF_TEST_NOINLINE inline void cpprof_test_light_one(std::uint64_t u) {
    workloads::spin_units(u);
    CPPROF_TEST_NO_TAIL_CALL();
}
CPPROF_TEST_NOINLINE inline void cpprof_test_chain_c(std::uint64_t u) {
    workloads::spin_units(u);
    CPPROF_TEST_NO_TAIL_CALL();
}
CPPROF_TEST_NOINLINE inline void cpprof_test_chain_b(std::uint64_t u) {
    cpprof_test_chain_c(u);
    CPPROF_TEST_NO_TAIL_CALL();
}
CPPROF_TEST_NOINLINE inline void cpprof_test_chain_a(std::uint64_t u) {
    cpprof_test_chain_b(u);
    CPPROF_TEST_NO_TAIL_CALL();
}
CPPROF_TEST_NOINLINE inline int cpprof_test_recurse(int depth, std::uint64_t u) {
    if (depth == 0) {
        workloads::spin_units(u);
        return 0;
    }
    int r = cpprof_test_recurse(depth - 1, u);
    CPPROF_TEST_NO_TAIL_CALL();
    return r + 1;
}
