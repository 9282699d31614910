// Quick start: profile a scope, then look at the result three ways.
//
//   g++ -O2 -pthread -I single_include examples/01_quickstart.cpp -o quickstart && ./quickstart
//   go tool pprof -top profile.pb.gz        # or open flamegraph.svg in a browser
//
// No -fno-omit-frame-pointer, no library to link: stacks are unwound from DWARF unwind tables.
#include <cpprof/cpprof.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

volatile double sink;

__attribute__((noinline)) double simulate_physics(int steps) {
    double x = 0;
    for (int i = 1; i < steps; ++i) x += std::sin(i) * std::sqrt(static_cast<double>(i));
    return x;
}

__attribute__((noinline)) std::size_t parse_records(long n) {
    std::size_t total = 0;
    for (long i = 0; i < n; ++i) total += std::to_string(i * 7919).size();
    return total;
}

__attribute__((noinline)) void run_workload() {
    std::thread worker([] {
        pthread_setname_np(pthread_self(), "physics");
        sink = simulate_physics(40'000'000);  // most of the work
    });
    sink = static_cast<double>(parse_records(20'000'000));
    worker.join();
}

}  // namespace

int main() {
    cpprof::profiler_guard<cpprof::standard> guard;   // 100 Hz, CPU time, every thread
    run_workload();
    cpprof::profile p = guard.stop();                  // guard.report() = snapshot, keeps sampling
    cpprof::write_flamegraph(p, "flamegraph.svg");
    cpprof::write_pprof(p, "profile.pb.gz");           // gzip when the path ends in .gz
    cpprof::print_hotspots(std::cout, cpprof::hotspots(p, 10));

    std::cout << "\n" << p.total_samples() << " samples (" << p.dropped_samples() << " dropped)\n"
              << "wrote flamegraph.svg  (open it in a browser)\n"
              << "wrote profile.pb.gz   (go tool pprof -top profile.pb.gz)\n";
}
