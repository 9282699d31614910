// Heap profile and leak detection: which code holds memory, and which keeps holding more.
//
//   g++ -O2 -pthread -I single_include examples/02_heap_profile.cpp -o heap && ./heap
//   go tool pprof -top -sample_index=alloc_space heap.pb.gz    # or open heap.svg
//
// The seed's leaking session cache, and the same cache bounded by an LRU: the leak detector
// flags the first and not the second.
//
// ctest: run

// In exactly one .cpp file of the program: cpprof's operator new/delete, which feed the heap
// profiler, the leak detector and the allocation counters.
#define CPPROF_IMPLEMENT_GLOBAL_NEW
#include <cpprof/cpprof.hpp>

#include <cstdint>
#include <iostream>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

using bytes = std::vector<std::uint8_t>;

// Sessions are added and never removed.
std::unordered_map<std::string, bytes> leaky_cache;

__attribute__((noinline)) void leaky_session_manager(int round) {
    for (int i = 0; i < 1000; ++i)
        leaky_cache["session_" + std::to_string(round * 1000 + i)] = bytes(10240);  // 10 KB each
}

// The fix: keep the 100 most recent sessions.
class lru_cache {
public:
    explicit lru_cache(std::size_t capacity) : capacity_(capacity) {}
    void put(std::string key, bytes value) {
        if (auto it = index_.find(key); it != index_.end()) {
            order_.erase(it->second);
            index_.erase(it);
        }
        order_.emplace_front(key, std::move(value));
        index_.emplace(std::move(key), order_.begin());
        if (order_.size() > capacity_) {
            index_.erase(order_.back().first);
            order_.pop_back();
        }
    }

private:
    std::size_t capacity_;
    std::list<std::pair<std::string, bytes>> order_;
    std::unordered_map<std::string, std::list<std::pair<std::string, bytes>>::iterator> index_;
};

__attribute__((noinline)) void bounded_session_manager(lru_cache& cache, int round) {
    for (int i = 0; i < 1000; ++i)
        cache.put("session_" + std::to_string(round * 1000 + i), bytes(10240));
}

__attribute__((noinline)) std::size_t build_report(int lines) {
    std::string report;  // grows by doubling: many short-lived allocations
    for (int i = 0; i < lines; ++i) report += "line " + std::to_string(i) + ": ok\n";
    return report.size();
}

}  // namespace

int main() {
    // 1. Heap profile of a workload: where memory is allocated, and what is still in use.
    {
        cpprof::heap_profiler_guard heap;  // one sample per 512 KiB allocated, on average
        leaky_session_manager(0);
        std::size_t n = 0;
        for (int i = 0; i < 20; ++i) n += build_report(20000);
        cpprof::profile h = heap.stop();
        cpprof::write_pprof(h, "heap.pb.gz");
        cpprof::write_flamegraph(h, "heap.svg");  // memory palette, bytes
        std::cout << "heap profile: " << h.total(1) / 1048576 << " MiB allocated, "
                  << h.total(3) / 1048576 << " MiB still in use (" << n
                  << " report bytes built)\nwrote heap.pb.gz, wrote heap.svg\n";
        cpprof::print_hotspots(std::cout, cpprof::hotspots(h, 8, 1));  // by alloc_space
    }
    leaky_cache.clear();

    // 2. The leaking cache: live memory grows at every checkpoint. Leak detection records every
    //    allocation here (interval 1: exact, slower); the default samples like the heap profiler.
    const auto every_allocation = cpprof::heap_options{}.sampling_interval(1);
    cpprof::leak_detector leaks{every_allocation};
    for (int round = 0; round < 5; ++round) {
        leaky_session_manager(round);
        leaks.checkpoint();
    }
    std::cout << "\nunbounded cache: " << (leaks.growing() ? "LEAK" : "no leak") << "\n";
    leaks.print(std::cout, 3);
    cpprof::write_flamegraph(leaks.report(), "leak.svg");
    std::cout << "wrote leak.svg (live memory of the unbounded cache, by stack)\n";

    // 3. The LRU-bounded cache: it fills up, then stays flat.
    lru_cache cache(100);
    cpprof::leak_detector bounded{every_allocation};
    for (int round = 0; round < 5; ++round) {
        bounded_session_manager(cache, round);
        bounded.checkpoint();
    }
    std::cout << "\nLRU cache: " << (bounded.growing() ? "LEAK" : "no leak") << ", "
              << bounded.checkpoints().back().live_bytes / 1024 << " KiB live after 5 rounds\n";
    return leaks.growing() && !bounded.growing() ? 0 : 1;
}
