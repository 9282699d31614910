// What cpprof's collector thread pays on every wake-up, piece by piece, and in total.
//
// The collector wakes every thread_scan_interval_ms (default 20 ms) whatever the sampling
// rate: it drains the sample store, re-reads /proc/self/task to find threads that started or
// exited, and every 500 ms re-reads each sampled thread's name. At 10 Hz that fixed cost is
// larger than the sampling itself (see bench/README.md, "CPU profiler overhead").
//
//   BM_cpu_collector_list_threads   detail::thread_lister: re-list a kept-open /proc/self/task
//   BM_cpu_collector_thread_name    detail::thread_name(tid): open/read/close .../comm
//   BM_cpu_collector_idle_session   a whole session at 10 Hz for 0.5 s on idle threads (the
//                                   benchmark's own plus the second argument's sleeping ones):
//                                   the collector thread's CPU per wake-up (wakeup_us) and per
//                                   second (collector_ms_per_s); first argument: the scan
//                                   interval in ms

#include <benchmark/benchmark.h>

#include <cpprof/cpu/profiler_guard.hpp>

#include "collector_probe.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

void BM_cpu_collector_list_threads(benchmark::State& state) {
    std::size_t n = 0;
    cpprof::detail::thread_lister lister;
    std::vector<int> tids;
    for (auto _ : state) {
        lister.list(tids);
        n += tids.size();
    }
    benchmark::DoNotOptimize(n);
}
BENCHMARK(BM_cpu_collector_list_threads);

void BM_cpu_collector_thread_name(benchmark::State& state) {
    const int tid = static_cast<int>(::syscall(SYS_gettid));
    std::size_t n = 0;
    for (auto _ : state) n += cpprof::detail::thread_name(tid).size();
    benchmark::DoNotOptimize(n);
}
BENCHMARK(BM_cpu_collector_thread_name);

using bench_support::find_collector_tid;
using bench_support::thread_cpu_ns;

void BM_cpu_collector_idle_session(benchmark::State& state) {
    const int scan_ms = static_cast<int>(state.range(0));
    const int idle_threads = static_cast<int>(state.range(1));
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::vector<std::thread> sleepers;
    for (int i = 0; i < idle_threads; ++i)
        sleepers.emplace_back([&] {
            std::unique_lock<std::mutex> lock(m);
            cv.wait(lock, [&] { return done; });
        });
    double cpu_ns = 0, wall_ns = 0;
    for (auto _ : state) {
        std::unique_ptr<cpprof::profiler_guard<cpprof::low_overhead>> started;
        try {
            started = std::make_unique<cpprof::profiler_guard<cpprof::low_overhead>>(
                cpprof::profiler_options{}.thread_scan_interval_ms(scan_ms));
        } catch (const cpprof::error& e) {  // no timer or perf_event here
            state.SkipWithError(e.what());
            break;
        }
        auto& guard = *started;
        const int tid = find_collector_tid();
        const std::int64_t c0 = thread_cpu_ns(tid);
        const auto w0 = std::chrono::steady_clock::now();
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        cpu_ns += static_cast<double>(thread_cpu_ns(tid) - c0);
        wall_ns += static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::steady_clock::now() - w0)
                                           .count());
        state.PauseTiming();
        guard.stop();
        state.ResumeTiming();
    }
    {
        std::lock_guard<std::mutex> lock(m);
        done = true;
    }
    cv.notify_all();
    for (auto& t : sleepers) t.join();
    state.counters["collector_ms_per_s"] = cpu_ns / wall_ns * 1e3;
    state.counters["wakeup_us"] = cpu_ns / 1e3 / (wall_ns / 1e6 / scan_ms);
}
BENCHMARK(BM_cpu_collector_idle_session)
    ->Args({20, 0})
    ->Args({100, 0})
    ->Args({20, 64})
    ->Args({20, 256})
    ->Args({100, 256})
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

}  // namespace
