// Sampling modes: the rate (10, 100, 1000 Hz) and the clock (CPU time or wall time).
//
//   g++ -O2 -pthread -I single_include examples/03_sampling_modes.cpp -o modes && ./modes
//
// The mode is the profiler_guard's template argument (cpprof::low_overhead, standard,
// high_precision, wall_clock<Hz>); cpprof::profiler_options sets the same at run time.
// A CPU-time profile sees only threads that burn CPU; a wall-clock profile also sees the time
// a thread spends blocked (sleeping, waiting for I/O or a lock).
//
// ctest: run
#include <cpprof/cpprof.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include <time.h>

namespace {

volatile double sink;

__attribute__((noinline)) void compute_for(std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    double x = 0;
    while (std::chrono::steady_clock::now() < end)
        for (int i = 1; i < 2000; ++i) x += std::sqrt(static_cast<double>(i));
    sink = x;
}

__attribute__((noinline)) void wait_for_io(std::chrono::milliseconds d) {
    std::this_thread::sleep_for(d);  // blocked: no CPU time
}

// Half computing, half waiting, on one thread.
__attribute__((noinline)) void request_handler() {
    for (int i = 0; i < 5; ++i) {
        compute_for(std::chrono::milliseconds(40));
        wait_for_io(std::chrono::milliseconds(40));
    }
}

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

template <class Mode>
void run(const char* name, const std::string& file) {
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = thread_cpu_seconds();
    cpprof::profiler_guard<Mode> guard;
    request_handler();
    cpprof::profile p = guard.stop();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = thread_cpu_seconds() - cpu0;
    // What to expect: one sample per 1/Hz of CPU time (cpu clock) or of real time (wall clock).
    const double expected = Mode::frequency * (Mode::clock == cpprof::clock_kind::cpu ? cpu : seconds);
    cpprof::write_flamegraph(p, file);

    char line[300];
    std::snprintf(line, sizeof line,
                  "%-16s %4d Hz %-4s  %.2f s (%.2f s CPU)  %4llu samples (expected ~%.0f)  "
                  "compute %5.1f%%  wait %5.1f%%",
                  name, Mode::frequency, Mode::clock == cpprof::clock_kind::cpu ? "cpu" : "wall",
                  seconds, cpu, static_cast<unsigned long long>(p.total_samples()), expected,
                  100 * cpprof::fraction(p, "compute_for"), 100 * cpprof::fraction(p, "wait_for_io"));
    std::cout << line << "  wrote " << file << "\n";
}

}  // namespace

int main() {
    std::cout << "The same 0.4 s workload (half computing, half sleeping) under each mode:\n\n";
    run<cpprof::low_overhead>("low_overhead", "mode_10hz_cpu.svg");
    run<cpprof::standard>("standard", "mode_100hz_cpu.svg");
    run<cpprof::high_precision>("high_precision", "mode_1000hz_cpu.svg");
    run<cpprof::wall_clock<100>>("wall_clock<100>", "mode_100hz_wall.svg");
    std::cout << "\nCPU clock: one sample per 1/Hz of CPU time, all in compute_for (sleeping burns\n"
                 "none). Wall clock: one per 1/Hz of real time, sleeping included, so about half\n"
                 "are in wait_for_io. Wall time finds where a request waits; CPU time finds what\n"
                 "burns the processor.\n";
}
