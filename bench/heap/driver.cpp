// One run of the heap benchmark: times run_workload() (bench/heap/workload.cpp) inside the
// process, so start-up, the profiler's start and writing its profile are outside the timed
// region. Built once per variant (the global operator new replacement is link-time):
//
//   HEAPBENCH_VARIANT=0  plain    no cpprof at all (also the binary the anchors preload into)
//   HEAPBENCH_VARIANT=1  tracked  CPPROF_IMPLEMENT_GLOBAL_NEW: every operator new/delete is
//                                 counted into allocation_stats<global_new_tag>(), no profiler
//   HEAPBENCH_VARIANT=2  sampled  + heap_profiler_guard with the default options (Poisson
//                                 sampling, mean 512 KiB)
//   HEAPBENCH_VARIANT=3  every    + heap_profiler_guard with sampling_interval(1): every
//                                 allocation recorded with its stack
//
//   heap_<variant> REQUESTS RESULT_FILE [PROFILE_FILE]
//
// Appends one line of key=value to RESULT_FILE (not stdout: heaptrack and gperftools print
// there too):
//   variant requests checksum wall_ns cpu_ns      the timed workload (CLOCK_MONOTONIC,
//                                                 CLOCK_PROCESS_CPUTIME_ID)
//   maxrss_kb                                     peak RSS of this process at the end of the
//                                                 workload (getrusage, before any profile is
//                                                 built)
//   start_ns stop_ns write_ns                     the profiler's start, stop (building the
//                                                 profile) and writing PROFILE_FILE, untimed
//   allocations alloc_bytes                       operator new calls/bytes during the workload
//                                                 (tracked variants: allocation_stats)
//   profile_samples heap_*                        the heap profile: sample records and the
//                                                 total of each value column

#ifndef HEAPBENCH_VARIANT
#define HEAPBENCH_VARIANT 0
#endif

#if HEAPBENCH_VARIANT >= 1
#define CPPROF_IMPLEMENT_GLOBAL_NEW
#include <cpprof/cpprof.hpp>
#endif

#include "workload.hpp"

#include <sys/resource.h>
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

std::int64_t now_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

long maxrss_kb() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

const char* const variant_names[] = {"plain", "tracked", "sampled", "every"};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s REQUESTS RESULT_FILE [PROFILE_FILE]\n", argv[0]);
        return 2;
    }
    const std::uint64_t requests = std::strtoull(argv[1], nullptr, 10);
    const char* result_path = argv[2];
    const char* profile_path = argc > 3 ? argv[3] : nullptr;
    std::string extra;
#if HEAPBENCH_VARIANT >= 1
    if (!cpprof::allocation_counter::sees_global_new()) {
        std::fprintf(stderr, "CPPROF_IMPLEMENT_GLOBAL_NEW did not replace operator new\n");
        return 3;
    }
#endif

#if HEAPBENCH_VARIANT >= 2
    std::int64_t t0 = now_ns(CLOCK_MONOTONIC);
#if HEAPBENCH_VARIANT == 2
    cpprof::heap_profiler_guard heap;
#else
    cpprof::heap_profiler_guard heap{cpprof::heap_options{}.sampling_interval(1)};
#endif
    std::int64_t start_ns = now_ns(CLOCK_MONOTONIC) - t0;
#endif
#if HEAPBENCH_VARIANT >= 1
    cpprof::allocation_statistics before = cpprof::allocation_stats<cpprof::global_new_tag>();
#endif

    std::int64_t w0 = now_ns(CLOCK_MONOTONIC);
    std::int64_t c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    std::uint64_t checksum = heapbench::run_workload(requests);
    std::int64_t c1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    std::int64_t w1 = now_ns(CLOCK_MONOTONIC);
    long rss = maxrss_kb();

#if HEAPBENCH_VARIANT >= 1
    cpprof::allocation_statistics after = cpprof::allocation_stats<cpprof::global_new_tag>();
    extra += " allocations=" + std::to_string(after.allocations - before.allocations);
    extra += " alloc_bytes=" + std::to_string(after.allocated_bytes - before.allocated_bytes);
#endif
#if HEAPBENCH_VARIANT >= 2
    std::int64_t s0 = now_ns(CLOCK_MONOTONIC);
    cpprof::profile p = heap.stop();
    std::int64_t s1 = now_ns(CLOCK_MONOTONIC);
    if (profile_path) cpprof::write_pprof(p, profile_path);
    std::int64_t s2 = now_ns(CLOCK_MONOTONIC);
    extra += " start_ns=" + std::to_string(start_ns) + " stop_ns=" + std::to_string(s1 - s0) +
             " write_ns=" + std::to_string(s2 - s1);
    extra += " profile_samples=" + std::to_string(p.samples().size());
    for (std::size_t i = 0; i < p.sample_types().size(); ++i)
        extra += " heap_" + p.sample_types()[i].type + "=" + std::to_string(p.total(i));
#else
    (void)profile_path;
#endif

    std::FILE* f = std::fopen(result_path, "a");
    if (!f) {
        std::perror(result_path);
        return 1;
    }
    std::fprintf(f,
                 "variant=%s requests=%llu checksum=%llu wall_ns=%lld cpu_ns=%lld maxrss_kb=%ld%s\n",
                 variant_names[HEAPBENCH_VARIANT], static_cast<unsigned long long>(requests),
                 static_cast<unsigned long long>(checksum), static_cast<long long>(w1 - w0),
                 static_cast<long long>(c1 - c0), rss, extra.c_str());
    std::fclose(f);
    return 0;
}
