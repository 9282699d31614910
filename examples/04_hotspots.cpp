// Hotspots: which functions the time goes to, as a table (self and total), and questions a
// program can ask of a profile.
//
//   g++ -O2 -pthread -I single_include examples/04_hotspots.cpp -o hotspots && ./hotspots
//
//   self   samples whose leaf frame is the function: time in its own code
//   total  samples with the function anywhere on the stack: itself and what it calls
//
// ctest: run
#include <cpprof/cpprof.hpp>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

namespace {

volatile std::uint64_t sink;

__attribute__((noinline)) std::uint64_t checksum(const std::string& s) {
    std::uint64_t h = 1469598103934665603ull;
    for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    return h;
}

__attribute__((noinline)) std::vector<std::string> make_records(int n) {
    std::vector<std::string> v;
    for (int i = 0; i < n; ++i) v.push_back("record-" + std::to_string(i * 2654435761u));
    return v;
}

__attribute__((noinline)) void sort_records(std::vector<std::string>& v) {
    std::sort(v.begin(), v.end());
}

__attribute__((noinline)) std::uint64_t hash_records(const std::vector<std::string>& v) {
    std::uint64_t h = 0;
    for (int round = 0; round < 10; ++round)
        for (const auto& s : v) h += checksum(s);
    return h;
}

__attribute__((noinline)) void process_batch() {
    std::vector<std::string> records = make_records(200'000);
    sort_records(records);
    sink = hash_records(records);
}

}  // namespace

int main() {
    cpprof::profiler_guard<cpprof::high_precision> guard;  // 1000 Hz: a short run
    for (int i = 0; i < 3; ++i) process_batch();
    cpprof::profile p = guard.stop();

    // The table: top 8 functions by self time (names longer than 100 characters are shortened).
    std::cout << p.total_samples() << " samples\n\n";
    cpprof::print_hotspots(std::cout, cpprof::hotspots(p, 8));

    // The same numbers as data.
    const std::vector<cpprof::hotspot> top = cpprof::hotspots(p, 1);
    if (top.empty()) {
        std::cout << "no samples\n";
        return 1;
    }
    std::cout << "\nhottest function: " << top.front().function << " ("
              << 100 * top.front().self_fraction << "% self)\n";

    // fraction(): the share of samples with a matching function anywhere on the stack.
    std::cout << "time under hash_records: " << 100 * cpprof::fraction(p, "hash_records") << "%\n"
              << "time under sort_records: " << 100 * cpprof::fraction(p, "sort_records") << "%\n"
              << "time under make_records: " << 100 * cpprof::fraction(p, "make_records") << "%\n";

    cpprof::write_pprof(p, "hotspots.pb.gz");
    std::cout << "\nwrote hotspots.pb.gz (go tool pprof -top hotspots.pb.gz shows the same table)\n";
}
