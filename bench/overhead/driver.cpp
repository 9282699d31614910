// One run of the overhead benchmark: the workload (workload.cpp) on T threads, with no
// profiler, with cpprof, or with gperftools' CPU profiler, and one line of results.
//
//   overhead_driver --profiler none|cpprof|gperftools [--hz N] [--unwinder libgcc|frame_pointer]
//                   [--timer automatic|perf_event|posix_timer] [--clock cpu|wall]
//                   [--scan-ms N] [--threads T] [--requests R] [--gperftools-out FILE]
//
// (--clock and --scan-ms are for investigating cpprof's costs; the table does not use them.)
//
// prints  key=value ... on one line (tools/bench_overhead.sh collects and tabulates them).
//
// What is timed: the workload only. The worker threads are created first and wait on a
// barrier; the profiler is started; then the clock starts and the workers are released; the
// clock stops when the last one has joined, and only then is the profiler stopped. Starting
// and stopping (cpprof: symbolizing and building the profile; gperftools: writing its file)
// are timed separately (start_ns, stop_ns). Process CPU time (CLOCK_PROCESS_CPUTIME_ID)
// includes every thread: the workers, their signal handlers, and cpprof's collector thread.
//
// gperftools is loaded with dlopen only in gperftools runs, so the other runs are the same
// binary without it in the process. CPUPROFILE_FREQUENCY is set before the dlopen, since
// libprofiler reads it when it is loaded; its timer is the default process-wide
// setitimer(ITIMER_PROF).

#include "workload.hpp"

#include <cpprof/cpu/profiler_guard.hpp>

#include "../collector_probe.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

std::int64_t now_ns(clockid_t c) {
    timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "overhead_driver: %s\n", msg.c_str());
    std::exit(2);
}

struct args {
    std::string profiler = "none";
    int hz = 100;
    std::string unwinder = "libgcc";
    std::string timer = "automatic";
    std::string clock = "cpu";
    int scan_ms = 0;
    int threads = 1;
    std::uint64_t requests = 100000;
    std::string gperftools_out;
};

args parse(int argc, char** argv) {
    args a;
    for (int i = 1; i < argc; ++i) {
        std::string k = argv[i];
        if (i + 1 >= argc) die("missing value after " + k);
        std::string v = argv[++i];
        if (k == "--profiler") a.profiler = v;
        else if (k == "--hz") a.hz = std::atoi(v.c_str());
        else if (k == "--unwinder") a.unwinder = v;
        else if (k == "--timer") a.timer = v;
        else if (k == "--clock") a.clock = v;
        else if (k == "--scan-ms") a.scan_ms = std::atoi(v.c_str());
        else if (k == "--threads") a.threads = std::atoi(v.c_str());
        else if (k == "--requests") a.requests = std::strtoull(v.c_str(), nullptr, 10);
        else if (k == "--gperftools-out") a.gperftools_out = v;
        else die("unknown option " + k);
    }
    if (a.profiler != "none" && a.profiler != "cpprof" && a.profiler != "gperftools")
        die("--profiler must be none, cpprof or gperftools");
    if (a.threads < 1 || a.threads > 64) die("--threads must be 1..64");
    if (a.hz < 1) die("--hz must be >= 1");
    return a;
}

using bench_support::find_collector_tid;
using bench_support::thread_cpu_ns;

/// System-wide counts of local timer interrupts (LOC) and IRQ-work interrupts (IWI), all
/// CPUs: how many interrupts a sampling source costs (other processes add noise to LOC).
struct irq_counts {
    long long timer = 0, irq_work = 0;
};

irq_counts read_irq_counts() {
    irq_counts c;
    std::ifstream f("/proc/interrupts");
    std::string line;
    while (std::getline(f, line)) {
        std::size_t i = line.find_first_not_of(' ');
        if (i == std::string::npos) continue;
        long long* dst = nullptr;
        if (line.compare(i, 4, "LOC:") == 0) dst = &c.timer;
        else if (line.compare(i, 4, "IWI:") == 0) dst = &c.irq_work;
        if (!dst) continue;
        const char* p = line.c_str() + i + 4;
        char* end = nullptr;
        for (;;) {
            long long v = std::strtoll(p, &end, 10);
            if (end == p) break;
            *dst += v;
            p = end;
        }
    }
    return c;
}

/// gperftools' legacy CPU profile: 5 header words [0, 3, 0, period_us, 0], then records
/// [count, depth, pc * depth], ended by [0, 1, 0], then the text of /proc/self/maps.
struct legacy_profile {
    std::uint64_t samples = 0;
    std::uint64_t frames = 0;  // sum of depth * count
    std::uint64_t period_us = 0;
    bool ok = false;
};

legacy_profile read_gperftools_profile(const std::string& path) {
    legacy_profile r;
    std::ifstream f(path, std::ios::binary);
    std::vector<std::uint64_t> w;
    std::uint64_t x;
    while (f.read(reinterpret_cast<char*>(&x), sizeof x)) w.push_back(x);
    if (w.size() < 5 || w[0] != 0 || w[1] != 3 || w[2] != 0) return r;
    r.period_us = w[3];
    std::size_t i = 2 + w[1];
    while (i + 2 <= w.size()) {
        std::uint64_t count = w[i], depth = w[i + 1];
        if (count == 0 && depth == 1) {  // trailer
            r.ok = true;
            break;
        }
        if (i + 2 + depth > w.size()) break;
        r.samples += count;
        r.frames += count * depth;
        i += 2 + depth;
    }
    return r;
}

struct gperftools_api {
    int (*start)(const char*) = nullptr;
    void (*stop)() = nullptr;
};

gperftools_api load_gperftools(int hz) {
    setenv("CPUPROFILE_FREQUENCY", std::to_string(hz).c_str(), 1);
    void* h = dlopen("libprofiler.so.0", RTLD_NOW | RTLD_GLOBAL);
    if (!h) die(std::string("cannot load gperftools' libprofiler.so.0: ") + dlerror() +
                " (Debian: libgoogle-perftools4)");
    gperftools_api api;
    api.start = reinterpret_cast<int (*)(const char*)>(dlsym(h, "ProfilerStart"));
    api.stop = reinterpret_cast<void (*)()>(dlsym(h, "ProfilerStop"));
    if (!api.start || !api.stop) die("libprofiler has no ProfilerStart/ProfilerStop");
    return api;
}

/// Workers wait here until released, so the profiler sees them from its first tick and the
/// timed region holds the workload and nothing else.
struct start_gate {
    std::mutex m;
    std::condition_variable cv;
    bool open = false;
    int waiting = 0;
};

}  // namespace

int main(int argc, char** argv) {
    args a = parse(argc, argv);

    std::optional<gperftools_api> gp;
    if (a.profiler == "gperftools") {
        if (a.gperftools_out.empty())
            a.gperftools_out = "/tmp/cpprof_overhead_gperftools." + std::to_string(getpid());
        gp = load_gperftools(a.hz);
    }

    start_gate gate;
    std::vector<std::uint64_t> checksums(static_cast<std::size_t>(a.threads));
    std::vector<std::int64_t> worker_cpu(static_cast<std::size_t>(a.threads));
    std::vector<std::thread> workers;
    for (int t = 0; t < a.threads; ++t) {
        workers.emplace_back([&, t] {
            {
                std::unique_lock<std::mutex> lock(gate.m);
                ++gate.waiting;
                gate.cv.notify_all();
                gate.cv.wait(lock, [&] { return gate.open; });
            }
            std::int64_t c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
            checksums[static_cast<std::size_t>(t)] =
                overhead::run_requests(static_cast<std::uint64_t>(t) + 1, a.requests);
            worker_cpu[static_cast<std::size_t>(t)] = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
        });
    }
    {
        std::unique_lock<std::mutex> lock(gate.m);
        gate.cv.wait(lock, [&] { return gate.waiting == a.threads; });
    }

    // ---- start the profiler ----
    std::int64_t s0 = now_ns(CLOCK_MONOTONIC);
    std::unique_ptr<cpprof::profiler_guard<cpprof::standard>> guard;
    if (a.profiler == "cpprof") {
        cpprof::profiler_options o;
        o.frequency(a.hz);
        if (a.unwinder == "frame_pointer") o.stack_unwinder(cpprof::unwinder::frame_pointer);
        else if (a.unwinder != "libgcc") die("--unwinder must be libgcc or frame_pointer");
        if (a.timer == "posix_timer") o.timer(cpprof::timer_source::posix_timer);
        else if (a.timer == "perf_event") o.timer(cpprof::timer_source::perf_event);
        else if (a.timer != "automatic") die("--timer must be automatic, perf_event or posix_timer");
        if (a.clock == "wall") o.clock(cpprof::clock_kind::wall);
        else if (a.clock != "cpu") die("--clock must be cpu or wall");
        if (a.scan_ms > 0) o.thread_scan_interval_ms(a.scan_ms);
        guard = std::make_unique<cpprof::profiler_guard<cpprof::standard>>(o);
    } else if (gp) {
        if (!gp->start(a.gperftools_out.c_str())) die("ProfilerStart failed");
    }
    std::int64_t start_ns = now_ns(CLOCK_MONOTONIC) - s0;
    int collector_tid = guard ? find_collector_tid() : -1;
    std::int64_t collector0 = collector_tid > 0 ? thread_cpu_ns(collector_tid) : 0;

    // ---- the timed workload ----
    irq_counts irq0 = read_irq_counts();
    std::int64_t w0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    {
        std::lock_guard<std::mutex> lock(gate.m);
        gate.open = true;
    }
    gate.cv.notify_all();
    for (auto& w : workers) w.join();
    std::int64_t wall = now_ns(CLOCK_MONOTONIC) - w0, cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
    std::int64_t collector_cpu = collector_tid > 0 ? thread_cpu_ns(collector_tid) - collector0 : 0;
    irq_counts irq1 = read_irq_counts();

    // ---- stop, count what was delivered ----
    std::int64_t t0 = now_ns(CLOCK_MONOTONIC);
    std::uint64_t samples = 0, dropped = 0, frames = 0;
    std::int64_t profile_cpu_ns = 0;
    std::string timer = "none";
    if (guard) {
        cpprof::profile p = guard->stop();
        samples = p.total_samples();
        dropped = p.dropped_samples();
        profile_cpu_ns = p.total(1);
        for (const auto& s : p.samples())
            frames += s.stack.size() * static_cast<std::uint64_t>(s.values.at(0));
        for (const auto& c : p.comments()) {
            if (c.find("perf_event") != std::string::npos) timer = "perf_event";
            else if (c.find("POSIX timer") != std::string::npos) timer = "posix_timer";
        }
    } else if (gp) {
        gp->stop();
        legacy_profile lp = read_gperftools_profile(a.gperftools_out);
        if (!lp.ok) die("cannot read gperftools' profile " + a.gperftools_out);
        samples = lp.samples;
        frames = lp.frames;
        profile_cpu_ns = static_cast<std::int64_t>(lp.samples * lp.period_us * 1000);
        timer = "setitimer";
        std::remove(a.gperftools_out.c_str());
    }
    std::int64_t stop_ns = now_ns(CLOCK_MONOTONIC) - t0;

    std::uint64_t checksum = 0;
    for (auto c : checksums) checksum = checksum * 31 + c;
    std::int64_t workers_cpu = 0;
    for (auto c : worker_cpu) workers_cpu += c;
    std::uint64_t recorded = samples - std::min(samples, dropped);  // dropped are counted in total
    std::printf(
        "profiler=%s hz=%d unwinder=%s timer=%s threads=%d requests=%llu wall_ns=%lld "
        "cpu_ns=%lld workers_cpu_ns=%lld collector_cpu_ns=%lld samples=%llu dropped=%llu "
        "mean_depth=%.1f profile_cpu_ns=%lld start_ns=%lld stop_ns=%lld timer_irqs=%lld "
        "irq_work_irqs=%lld checksum=%016llx\n",
        a.profiler.c_str(), a.profiler == "none" ? 0 : a.hz,
        a.profiler == "cpprof" ? a.unwinder.c_str() : "-", timer.c_str(), a.threads,
        static_cast<unsigned long long>(a.requests), static_cast<long long>(wall),
        static_cast<long long>(cpu), static_cast<long long>(workers_cpu),
        static_cast<long long>(collector_cpu), static_cast<unsigned long long>(samples),
        static_cast<unsigned long long>(dropped),
        recorded ? static_cast<double>(frames - (samples - recorded)) / static_cast<double>(recorded)
                 : 0.0,
        static_cast<long long>(profile_cpu_ns), static_cast<long long>(start_ns),
        static_cast<long long>(stop_ns), irq1.timer - irq0.timer, irq1.irq_work - irq0.irq_work,
        static_cast<unsigned long long>(checksum));
    return 0;
}
