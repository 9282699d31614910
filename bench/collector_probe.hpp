#pragma once
// The collector thread's CPU time, for benchmarks that charge it to the profiler: found by its
// name among this process's threads, read from its per-thread CPU clock.

#include <cpprof/cpu/sampler.hpp>

#include <cstdint>
#include <ctime>
#include <vector>

namespace bench_support {

/// The kernel tid of cpprof's collector thread, or -1 when no profiler is running.
inline int find_collector_tid() {
    cpprof::detail::thread_lister lister;
    std::vector<int> tids;
    lister.list(tids);
    for (int tid : tids)
        if (cpprof::detail::thread_name(tid) == "cpprof-collect") return tid;
    return -1;
}

/// CPU time of another thread of this process, or -1.
inline std::int64_t thread_cpu_ns(int tid) {
    timespec ts;
    if (clock_gettime(cpprof::detail::thread_cpu_clock(tid), &ts) != 0) return -1;
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

}  // namespace bench_support
