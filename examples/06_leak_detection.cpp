// Leak detection: memory that stays allocated and keeps growing, round after round, and the
// stack that allocated it.
//
//   g++ -O2 -pthread -I single_include examples/06_leak_detection.cpp -o leaks && ./leaks
//
// leak_detector samples allocations like the heap profiler; checkpoint() records the live
// total, growing() says whether it grew at each of the last checkpoints, report() is a profile
// of the live memory by stack (inuse_space), print() a summary.
//
// ctest: run

// In exactly one .cpp file of the program: cpprof's operator new/delete, which the leak
// detector needs.
#define CPPROF_IMPLEMENT_GLOBAL_NEW
#include <cpprof/cpprof.hpp>

#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace {

// An event bus whose subscribers are never removed: each request subscribes a callback that
// holds a 4 KiB buffer, and unsubscribing is forgotten.
struct event_bus {
    std::vector<std::function<void(int)>> subscribers;
};

__attribute__((noinline)) void handle_request(event_bus& bus, int id) {
    auto buffer = std::make_shared<std::vector<char>>(4096, static_cast<char>(id));
    bus.subscribers.push_back([buffer](int event) { (*buffer)[0] = static_cast<char>(event); });
}

// Temporary work that is freed at the end of each request: not a leak.
__attribute__((noinline)) std::size_t render_page(int id) {
    std::string page;
    for (int i = 0; i < 200; ++i) page += "<li>item " + std::to_string(id + i) + "</li>";
    return page.size();
}

}  // namespace

int main() {
    event_bus bus;
    // Interval 1: record every allocation (exact, slower). The default samples every 512 KiB on
    // average, which finds big leaks at almost no cost.
    cpprof::leak_detector leaks{cpprof::heap_options{}.sampling_interval(1)};
    std::size_t rendered = 0;
    for (int round = 1; round <= 5; ++round) {
        for (int i = 0; i < 200; ++i) {
            handle_request(bus, i);
            rendered += render_page(i);
        }
        const cpprof::leak_checkpoint c = leaks.checkpoint();
        std::cout << "round " << round << ": " << c.live_bytes / 1024 << " KiB live in "
                  << c.live_objects << " objects (+" << leaks.growth() / 1024 << " KiB)\n";
    }
    std::cout << "\n" << (leaks.growing() ? "LEAK: live memory grew at each of the last 3 checkpoints"
                                          : "no leak")
              << " (" << rendered / 1024 << " KiB of pages rendered and freed)\n\n";
    leaks.print(std::cout, 3);

    const cpprof::profile live = leaks.report();
    cpprof::write_flamegraph(live, "leaks.svg");
    cpprof::write_pprof(live, "leaks.pb.gz");
    std::cout << "\nwrote leaks.svg (live memory by stack: handle_request holds it)\n"
              << "wrote leaks.pb.gz (go tool pprof -top -sample_index=inuse_space leaks.pb.gz)\n"
              << "share of live bytes allocated under handle_request: "
              << 100 * cpprof::fraction(live, "handle_request") << "%\n";
    return leaks.growing() ? 0 : 1;
}
