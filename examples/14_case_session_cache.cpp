// Case study 2: a session cache that leaks, found with the leak detector and fixed with an LRU.
//
//   g++ -O2 -pthread -I single_include examples/14_case_session_cache.cpp -o cache && ./cache
//
// Before: every login adds a 10 KiB session to a map and nothing ever removes it.
// After:  the same logins go to an LRU cache of 100 sessions.
// Each version serves 5 rounds of 1000 logins under a leak_detector; the numbers printed (live
// memory after each round, growth per round, whether it keeps growing) are measured now.
//
// ctest: run
#define CPPROF_IMPLEMENT_GLOBAL_NEW  // the leak detector needs cpprof's operator new
#include <cpprof/cpprof.hpp>

#include <cstdint>
#include <iostream>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

using session_data = std::vector<std::uint8_t>;

// ---- before: an unbounded map ----
class session_cache {
public:
    void put(std::string id, session_data data) { sessions_[std::move(id)] = std::move(data); }
    std::size_t size() const { return sessions_.size(); }

private:
    std::unordered_map<std::string, session_data> sessions_;
};

// ---- after: least recently used sessions are evicted beyond `capacity` ----
class lru_session_cache {
public:
    explicit lru_session_cache(std::size_t capacity) : capacity_(capacity) {}
    void put(std::string id, session_data data) {
        if (auto it = index_.find(id); it != index_.end()) {
            order_.erase(it->second);
            index_.erase(it);
        }
        order_.emplace_front(id, std::move(data));
        index_.emplace(std::move(id), order_.begin());
        if (order_.size() > capacity_) {
            index_.erase(order_.back().first);
            order_.pop_back();
        }
    }
    std::size_t size() const { return order_.size(); }

private:
    using entry = std::pair<std::string, session_data>;
    std::size_t capacity_;
    std::list<entry> order_;
    std::unordered_map<std::string, std::list<entry>::iterator> index_;
};

template <class Cache>
__attribute__((noinline)) void handle_logins(Cache& cache, int round) {
    for (int i = 0; i < 1000; ++i)
        cache.put("session_" + std::to_string(round * 1000 + i), session_data(10240));
}

struct result {
    std::vector<std::int64_t> live;  // bytes live after each round
    bool growing = false;
    double leaked_per_round = 0;     // average growth over the last 3 rounds
    std::size_t sessions = 0;
    cpprof::profile report;
};

template <class Cache>
result run(Cache& cache) {
    // Every allocation recorded (interval 1), so the numbers are exact and the verdict cannot
    // flip by chance; the default (one sample per 512 KiB on average) costs less and finds a
    // leak this size just as well, with estimated numbers.
    cpprof::leak_detector leaks{cpprof::heap_options{}.sampling_interval(1)};
    result r;
    for (int round = 0; round < 5; ++round) {
        handle_logins(cache, round);
        r.live.push_back(leaks.checkpoint().live_bytes);
    }
    r.growing = leaks.growing();
    r.leaked_per_round = static_cast<double>(r.live[4] - r.live[1]) / 3;
    r.sessions = cache.size();
    r.report = leaks.report();
    return r;
}

void print(const char* name, const result& r) {
    std::cout << name << ": " << r.sessions << " sessions kept; live MiB after each round:";
    for (std::int64_t b : r.live) std::cout << " " << static_cast<double>(b) / 1048576;
    std::cout << "\n    growth per round (last 3): " << r.leaked_per_round / 1024 << " KiB -> "
              << (r.growing ? "LEAK" : "no leak") << "\n";
}

}  // namespace

int main() {
    std::cout.setf(std::ios::fixed);
    std::cout.precision(1);

    session_cache unbounded;
    const result before = run(unbounded);
    lru_session_cache lru(100);
    const result after = run(lru);

    print("before (unbounded map)", before);
    print("after  (LRU, 100)     ", after);
    std::cout << "\nmemory held after 5000 logins: before "
              << static_cast<double>(before.live.back()) / 1048576 << " MiB, after "
              << static_cast<double>(after.live.back()) / 1048576 << " MiB ("
              << 100 * (1 - static_cast<double>(after.live.back()) /
                                static_cast<double>(before.live.back()))
              << "% less)\n"
              << "share of the leaked bytes allocated under handle_logins: "
              << 100 * cpprof::fraction(before.report, "handle_logins") << "%\n";

    cpprof::write_flamegraph(before.report, "session_leak_before.svg");
    cpprof::write_flamegraph(after.report, "session_leak_after.svg");
    std::cout << "wrote session_leak_before.svg (live memory by stack)\n"
              << "wrote session_leak_after.svg\n";
    return before.growing && !after.growing ? 0 : 1;
}
