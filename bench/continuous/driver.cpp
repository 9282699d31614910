// CPU and memory of cpprof::continuous_profiler over a long run (tools/bench_continuous.sh).
//
// A steady CPU-bound workload (bench/overhead/workload.cpp: the overhead benchmark's "server
// handling requests", 10..30 frames deep, -O2 without frame pointers) runs on --threads
// threads for --minutes, with the continuous profiler on (--hz, --window-ms, --every-ms,
// files in --dir with --keep, plus a sink that counts samples). Reported:
//
//  - profiler threads' CPU: process CPU time - the workload threads' CPU - this main thread's
//    CPU. It is everything the profiler does on its own threads (the schedule thread: encoding,
//    gzip, writing, rotation, sinks; the collector thread of each window: draining, thread
//    scans, symbolization), exited threads included (process CPU time keeps them).
//  - the signal handler's cost, which runs ON the workload threads: every workload thread runs
//    fixed batches of requests and reads its own CPU clock around each batch; batches that ran
//    wholly inside a window and wholly outside one are compared (median CPU per batch). The
//    relative difference times the duty cycle (window/every) is the handler's (and timers')
//    share of the workload's CPU. Same thread, same work, interleaved in time: drifts cancel.
//  - memory: RSS (/proc/self/statm) and malloc's in-use bytes (mallinfo2) every second; the
//    first and last thirds of the run are compared (flat = the same). The sample arrays are
//    allocated and touched before the profiler starts, so the benchmark's own bookkeeping does
//    not grow.
//
// --profiler none runs the same program without the profiler (for the memory baseline).
// Prints a human summary and one final line of key=value.

#include "../overhead/workload.hpp"

#include <cpprof/cpprof.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <malloc.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

namespace {

std::int64_t clock_ns(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t rss_bytes() {
    long pages = 0, resident = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return static_cast<std::int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

struct batch_record {
    std::int64_t cpu_ns;
    std::int8_t in_window;  // 1 inside, 0 outside, -1 straddled a window edge
};

struct worker {
    std::thread thread;
    pthread_t handle{};
    std::atomic<bool> ready{false};
    std::vector<batch_record> batches;  // preallocated and touched
    std::atomic<std::size_t> count{0};
    std::uint64_t checksum = 0;
};

std::atomic<bool> g_stop{false};

bool window_running() {
    return cpprof::detail::globals().running.load(std::memory_order_relaxed);
}

void work(worker& w, std::uint64_t seed, std::uint64_t requests_per_batch) {
    w.handle = pthread_self();
    w.ready = true;
    std::size_t n = 0;
    while (!g_stop.load(std::memory_order_relaxed)) {
        const bool before = window_running();
        const std::int64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        w.checksum += overhead::run_requests(seed + n, requests_per_batch);
        const std::int64_t c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        const bool after = window_running();
        if (n < w.batches.size()) {
            w.batches[n] = {c1 - c0, static_cast<std::int8_t>(before == after ? (before ? 1 : 0) : -1)};
            w.count.store(n + 1, std::memory_order_relaxed);
        }
        ++n;
    }
}

struct point {
    double t_s;
    std::int64_t process_cpu, workers_cpu, main_cpu, rss, heap_in_use;
};

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

const char* arg(int argc, char** argv, const char* name, const char* def) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
    return def;
}

}  // namespace

int main(int argc, char** argv) {
    const double minutes = std::atof(arg(argc, argv, "--minutes", "10"));
    const int threads = std::atoi(arg(argc, argv, "--threads", "1"));
    const int hz = std::atoi(arg(argc, argv, "--hz", "10"));
    const int window_ms = std::atoi(arg(argc, argv, "--window-ms", "10000"));
    const int every_ms = std::atoi(arg(argc, argv, "--every-ms", "15000"));
    const int keep = std::atoi(arg(argc, argv, "--keep", "5"));
    const std::string dir = arg(argc, argv, "--dir", "/tmp/cpprof-bench-continuous");
    const std::string profiler = arg(argc, argv, "--profiler", "cpprof");
    const std::uint64_t batch = std::strtoull(arg(argc, argv, "--batch-requests", "2000"), nullptr, 10);
    const bool quiet = std::atoi(arg(argc, argv, "--quiet", "0")) != 0;
    const double total_s = minutes * 60.0;

    // Everything the run records is allocated and touched now.
    const std::size_t max_points = static_cast<std::size_t>(total_s) + 16;
    std::vector<point> points(max_points, point{});
    std::vector<std::unique_ptr<worker>> workers;
    for (int i = 0; i < threads; ++i) {
        workers.push_back(std::make_unique<worker>());
        // generous: batches of >= 1 ms
        workers.back()->batches.assign(static_cast<std::size_t>(total_s * 1000) + 1024, batch_record{0, 0});
    }
    for (int i = 0; i < threads; ++i)
        workers[i]->thread = std::thread(work, std::ref(*workers[i]), 1000003ULL * (i + 1), batch);
    for (auto& w : workers)
        while (!w->ready) std::this_thread::sleep_for(std::chrono::milliseconds(1));

    std::atomic<std::uint64_t> sunk_samples{0};
    std::optional<cpprof::continuous_profiler> cont;
    if (profiler == "cpprof") {
        cont.emplace(cpprof::continuous_options{}
                         .frequency(hz)
                         .window(std::chrono::milliseconds(window_ms))
                         .every(std::chrono::milliseconds(every_ms))
                         .directory(dir)
                         .keep(static_cast<std::size_t>(keep))
                         .sink([&](const cpprof::profile& p) { sunk_samples += p.total_samples(); }));
    }

    auto workers_cpu = [&] {
        std::int64_t sum = 0;
        for (auto& w : workers) {
            clockid_t id;
            if (pthread_getcpuclockid(w->handle, &id) == 0) sum += clock_ns(id);
        }
        return sum;
    };
    const auto t0 = std::chrono::steady_clock::now();
    std::size_t np = 0;
    for (std::size_t second = 0; np < max_points; ++second) {
        std::this_thread::sleep_until(t0 + std::chrono::seconds(second));
        const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const struct mallinfo2 mi = mallinfo2();
        points[np++] = {t, clock_ns(CLOCK_PROCESS_CPUTIME_ID), workers_cpu(),
                        clock_ns(CLOCK_THREAD_CPUTIME_ID), rss_bytes(),
                        static_cast<std::int64_t>(mi.uordblks)};
        if (!quiet && second % 60 == 0 && second > 0) {
            const point& p = points[np - 1];
            const double other = static_cast<double>(p.process_cpu - p.workers_cpu - p.main_cpu);
            std::printf("t=%5.0fs  profiler threads %.3f s CPU (%.3f%% of the workload's)  "
                        "RSS %.1f MiB  heap in use %.1f MiB\n",
                        t, other / 1e9, 100.0 * other / static_cast<double>(p.workers_cpu),
                        static_cast<double>(p.rss) / 1048576.0,
                        static_cast<double>(p.heap_in_use) / 1048576.0);
            std::fflush(stdout);
        }
        if (t >= total_s) break;
    }
    // Stop the profiler before the workers, so its last window is discarded the same way
    // whatever the timing; its cost up to here is in the last point.
    cpprof::continuous_stats st;
    if (cont) {
        cont->stop();
        st = cont->stats();
    }
    g_stop = true;
    std::uint64_t checksum = 0;
    for (auto& w : workers) {
        w->thread.join();
        checksum ^= w->checksum;
    }

    const point& first = points[0];
    const point& last = points[np - 1];
    const double wall = last.t_s - first.t_s;
    const double workers_s = static_cast<double>(last.workers_cpu - first.workers_cpu) / 1e9;
    const double profiler_s = static_cast<double>((last.process_cpu - last.workers_cpu - last.main_cpu) -
                                                  (first.process_cpu - first.workers_cpu - first.main_cpu)) / 1e9;
    const double profiler_pct = 100.0 * profiler_s / workers_s;

    // Signal handler share: CPU per batch inside vs outside windows, per worker.
    std::vector<double> in, out;
    for (auto& w : workers) {
        const std::size_t n = w->count.load();
        // The first second (warm-up) is ignored.
        for (std::size_t i = n / 100; i < n; ++i) {
            if (w->batches[i].in_window == 1) in.push_back(static_cast<double>(w->batches[i].cpu_ns));
            if (w->batches[i].in_window == 0) out.push_back(static_cast<double>(w->batches[i].cpu_ns));
        }
    }
    const double med_in = median(in), med_out = median(out);
    const double duty = profiler == "cpprof" ? static_cast<double>(window_ms) / every_ms : 0.0;
    const double in_window_pct = med_out > 0 ? 100.0 * (med_in / med_out - 1.0) : 0.0;
    const double handler_pct = in_window_pct * duty;

    // Memory: first vs last third (after the first window, whose symbol tables are the
    // one-time cost: the thirds start at 1/3 and 2/3 of the run anyway).
    auto third = [&](std::size_t k, auto field) {
        double sum = 0, mx = 0;
        std::size_t n = 0;
        for (std::size_t i = k * np / 3; i < (k + 1) * np / 3; ++i, ++n) {
            const double v = static_cast<double>(points[i].*field);
            sum += v;
            mx = std::max(mx, v);
        }
        return std::pair<double, double>{n ? sum / n : 0, mx};
    };
    const auto rss1 = third(0, &point::rss), rss2 = third(1, &point::rss), rss3 = third(2, &point::rss);
    // When RSS last grew, and by how much from then on (flat: early, then nothing).
    double last_growth_t = 0;
    std::int64_t peak = 0;
    for (std::size_t i = 0; i < np; ++i)
        if (points[i].rss > peak) {
            peak = points[i].rss;
            last_growth_t = points[i].t_s;
        }
    const auto heap1 = third(0, &point::heap_in_use), heap3 = third(2, &point::heap_in_use);
    const double mib = 1048576.0;

    std::printf("\n== continuous profiler: %s, %d Hz, window %d ms every %d ms, %d worker thread(s), %.1f s ==\n",
                profiler.c_str(), hz, window_ms, every_ms, threads, wall);
    std::printf("windows: completed %llu, busy %llu, discarded %llu; files written %llu, removed %llu; "
                "write failures %llu, sink failures %llu; samples to the sink %llu\n",
                (unsigned long long)st.windows_completed, (unsigned long long)st.windows_busy,
                (unsigned long long)st.windows_discarded, (unsigned long long)st.files_written,
                (unsigned long long)st.files_removed, (unsigned long long)st.write_failures,
                (unsigned long long)st.sink_failures, (unsigned long long)sunk_samples.load());
    if (!st.last_error.empty()) std::printf("last error: %s\n", st.last_error.c_str());
    std::printf("CPU: workload %.2f s; profiler threads %.4f s = %.4f%% of the workload's CPU\n",
                workers_s, profiler_s, profiler_pct);
    std::printf("signal handler on the workload threads: batches in windows %.4f%% %s than outside "
                "(median CPU per batch %.0f vs %.0f ns, %zu vs %zu batches); x duty %.3f = %.4f%%\n",
                in_window_pct >= 0 ? in_window_pct : -in_window_pct,
                in_window_pct >= 0 ? "more" : "less", med_in, med_out, in.size(), out.size(), duty,
                handler_pct);
    std::printf("total added CPU: %.4f%% (target <= 0.5%%)\n", profiler_pct + handler_pct);
    std::printf("RSS: first third mean %.2f MiB (max %.2f), last third mean %.2f MiB (max %.2f): %+.2f MiB\n",
                rss1.first / mib, rss1.second / mib, rss3.first / mib, rss3.second / mib,
                (rss3.first - rss1.first) / mib);
    std::printf("RSS by thirds: %.2f / %.2f / %.2f MiB; the highest RSS was first reached at t=%.0f s (%.2f MiB)\n",
                rss1.first / mib, rss2.first / mib, rss3.first / mib, last_growth_t,
                static_cast<double>(peak) / mib);
    std::printf("heap in use: first third mean %.3f MiB (max %.3f), last third mean %.3f MiB (max %.3f): %+.3f MiB\n",
                heap1.first / mib, heap1.second / mib, heap3.first / mib, heap3.second / mib,
                (heap3.first - heap1.first) / mib);
    std::printf("RESULT profiler=%s hz=%d window_ms=%d every_ms=%d threads=%d wall_s=%.1f windows=%llu "
                "files=%llu removed=%llu workload_cpu_s=%.3f profiler_cpu_s=%.4f profiler_pct=%.4f "
                "handler_pct=%.4f total_pct=%.4f rss1_mib=%.2f rss2_mib=%.2f rss3_mib=%.2f rss_peak_t=%.0f heap1_mib=%.3f heap3_mib=%.3f "
                "checksum=%llx\n",
                profiler.c_str(), hz, window_ms, every_ms, threads, wall,
                (unsigned long long)st.windows_completed, (unsigned long long)st.files_written,
                (unsigned long long)st.files_removed, workers_s, profiler_s, profiler_pct, handler_pct,
                profiler_pct + handler_pct, rss1.first / mib, rss2.first / mib, rss3.first / mib, last_growth_t,
                heap1.first / mib,
                heap3.first / mib, (unsigned long long)checksum);
    return 0;
}
