// The global operator new replacement, the heap profiler and the leak detector, in an executable
// whose operator new is cpprof's (tests/global_new.cpp). Truths are known exactly where the
// sampling interval is 1, and statistically (with the margin stated) at the default interval.

#include <cpprof/cpprof.hpp>
#include <doctest/doctest.h>

#include "support/external.hpp"
#include "support/go_pprof.hpp"
#include "support/sanitizers.hpp"
#include "workloads.hpp"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <list>
#include <memory_resource>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

/// Keeps the compiler from eliding a new/delete pair (C++14 allows it).
inline void escape(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

/// Sum of column `index` over samples whose stack has a frame of function `name` (prefix
/// match: demangled names carry their parameters).
std::int64_t site_total(const cpprof::profile& p, const std::string& name, std::size_t index) {
    std::int64_t total = 0;
    for (const auto& s : p.samples()) {
        for (auto id : s.stack) {
            if (p.frames()[id].function.rfind(name, 0) == 0) {
                total += s.values[index];
                break;
            }
        }
    }
    return total;
}

std::size_t type_index(const cpprof::profile& p, const std::string& type) {
    for (std::size_t i = 0; i < p.sample_types().size(); ++i)
        if (p.sample_types()[i].type == type) return i;
    FAIL("no sample type " << type);
    return 0;
}

}  // namespace

// Three allocation sites with distinct names (global, noinline, work after the call).
CPPROF_TEST_NOINLINE void cpprof_heap_site_a(std::vector<char*>& keep, int n, std::size_t size) {
    for (int i = 0; i < n; ++i) keep.push_back(new char[size]);
    CPPROF_TEST_NO_TAIL_CALL();
}
CPPROF_TEST_NOINLINE void cpprof_heap_site_b(std::vector<char*>& keep, int n, std::size_t size) {
    for (int i = 0; i < n; ++i) keep.push_back(new char[size]);
    CPPROF_TEST_NO_TAIL_CALL();
}
CPPROF_TEST_NOINLINE void cpprof_heap_site_c(std::vector<char*>& keep, int n, std::size_t size) {
    for (int i = 0; i < n; ++i) keep.push_back(new char[size]);
    CPPROF_TEST_NO_TAIL_CALL();
}
/// Allocates and frees `total` bytes in blocks of 1..64 KiB (a fixed cycle of sizes).
CPPROF_TEST_NOINLINE std::uint64_t cpprof_heap_churn(std::uint64_t total) {
    std::uint64_t done = 0;
    std::size_t k = 0;
    while (done < total) {
        std::size_t size = 1024 * (1 + (k++ * 37) % 64);
        char* p = new char[size];
        escape(p);
        delete[] p;
        done += size;
    }
    CPPROF_TEST_NO_TAIL_CALL();
    return done;
}
CPPROF_TEST_NOINLINE std::uint64_t cpprof_heap_churn_a(std::uint64_t total) {
    std::uint64_t r = cpprof_heap_churn(total);
    CPPROF_TEST_NO_TAIL_CALL();
    return r;
}
CPPROF_TEST_NOINLINE std::uint64_t cpprof_heap_churn_b(std::uint64_t total) {
    std::uint64_t r = cpprof_heap_churn(total);
    CPPROF_TEST_NO_TAIL_CALL();
    return r;
}
CPPROF_TEST_NOINLINE std::uint64_t cpprof_heap_churn_c(std::uint64_t total) {
    std::uint64_t r = cpprof_heap_churn(total);
    CPPROF_TEST_NO_TAIL_CALL();
    return r;
}

static void free_all(std::vector<char*>& keep) {
    for (char* p : keep) delete[] p;
    keep.clear();
}

TEST_CASE("global new: the replacement is linked and allocation_counter sees it") {
    CHECK(cpprof::allocation_counter::sees_global_new());
    cpprof::allocation_counter c;
    auto* p = new std::uint64_t[10];
    escape(p);
    CHECK(c.allocations() == 1);
    CHECK(c.bytes() == 80);
    delete[] p;
    CHECK(c.deallocations() == 1);
    CHECK(c.freed_bytes() == 80);
}

TEST_CASE("global new: every form of new and delete is counted exactly") {
    struct alignas(64) line {
        char c[64];
    };
    struct alignas(4096) page {
        char c[4096];
    };
    const auto before = cpprof::allocation_stats<cpprof::global_new_tag>();
    cpprof::allocation_counter c;

    int* a = new int(7);                                   // plain
    int* b = new int[5];                                   // array
    int* d = new (std::nothrow) int(3);                    // nothrow
    int* e = new (std::nothrow) int[4];                    // nothrow array
    line* f = new line;                                    // aligned
    line* g = new line[3];                                 // aligned array
    page* h = new (std::nothrow) page;                     // aligned nothrow
    void* i = ::operator new(0);                           // zero bytes
    void* j = ::operator new(0);
    void* k = ::operator new(100, std::align_val_t(256));  // explicit alignment
    const void* all[] = {a, b, d, e, f, g, h, i, j, k};
    for (const void* p : all) escape(p);
    REQUIRE(d != nullptr);
    REQUIRE(e != nullptr);
    REQUIRE(h != nullptr);
    CHECK(reinterpret_cast<std::uintptr_t>(f) % 64 == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(g) % 64 == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(h) % 4096 == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(k) % 256 == 0);
    CHECK(i != nullptr);
    CHECK(i != j);

    const std::uint64_t bytes = sizeof(int) + 5 * sizeof(int) + sizeof(int) + 4 * sizeof(int) +
                                sizeof(line) + 3 * sizeof(line) + sizeof(page) + 0 + 0 + 100;
    CHECK(c.allocations() == 10);
    CHECK(c.bytes() == bytes);

    delete a;                                       // sized delete
    delete[] b;                                     // array delete
    ::operator delete(d, std::nothrow);             // nothrow delete
    ::operator delete[](e, std::nothrow);           // nothrow array delete
    delete f;                                       // sized aligned delete
    delete[] g;                                     // aligned array delete
    ::operator delete(h, std::align_val_t(4096), std::nothrow);  // aligned nothrow delete
    ::operator delete(i);                           // unsized
#if defined(__cpp_sized_deallocation)  // (clang < 19 needs -fsized-deallocation for it)
    ::operator delete(j, std::size_t{0});           // sized
#else
    ::operator delete(j);
#endif
    ::operator delete(k, std::align_val_t(256));    // aligned, unsized
    CHECK(c.deallocations() == 10);
    CHECK(c.freed_bytes() == bytes);

    const auto after = cpprof::allocation_stats<cpprof::global_new_tag>();
    // Other threads of the test runner may allocate too, so the process totals grow by at
    // least what this thread did.
    CHECK(after.allocations - before.allocations >= 10);
    CHECK(after.allocated_bytes - before.allocated_bytes >= bytes);
}

namespace {
int handler_calls = 0;
void counting_new_handler() {
    ++handler_calls;
    std::set_new_handler(nullptr);  // give up: operator new then throws
}
}  // namespace

TEST_CASE("global new: failure calls the new-handler, then throws or returns null") {
    // More than any malloc can give; volatile so that the compiler does not reject the calls.
    volatile std::size_t huge_v = std::size_t(-1) / 2 + 1;
    const std::size_t huge = huge_v;
    cpprof::allocation_counter c;
    CHECK(::operator new(huge, std::nothrow) == nullptr);
    CHECK(::operator new[](huge, std::align_val_t(64), std::nothrow) == nullptr);
    CHECK_THROWS_AS(escape(::operator new(huge)), std::bad_alloc);
    handler_calls = 0;
    std::set_new_handler(counting_new_handler);
    CHECK_THROWS_AS(escape(::operator new[](huge)), std::bad_alloc);
    CHECK(handler_calls == 1);
    CHECK(c.allocations() == 0);
    CHECK(c.bytes() == 0);
}

TEST_CASE("global new: cpprof's own allocations are neither counted nor profiled") {
    cpprof::heap_profiler_guard heap{cpprof::heap_options{}.sampling_interval(1)};
    std::vector<char*> keep;
    cpprof_heap_site_a(keep, 10, 100);
    std::int64_t objects = 0;
    const std::string site = "cpprof_heap_site_a";  // (a string this long allocates)
    cpprof::allocation_counter c;
    {
        cpprof::profile p = heap.report();  // symbolizes, builds strings and tables
        objects = site_total(p, site, 0);
    }
    const auto allocations = c.allocations(), deallocations = c.deallocations();
    CHECK(allocations == 0);
    CHECK(deallocations == 0);
    CHECK(objects == 10 + 5);
    cpprof::profile again = heap.report();
    // The first report's allocations were not sampled either.
    for (const auto& f : again.frames()) {
        CHECK(f.function.find("build_heap_profile") == std::string::npos);
        CHECK(f.function.find("symbolizer") == std::string::npos);
    }
    // The ten blocks, and keep's growth to 1, 2, 4, 8 and 16 pointers.
    CHECK(site_total(again, "cpprof_heap_site_a", 0) == 10 + 5);
    free_all(keep);
}

TEST_CASE("heap profile with interval 1: counts and bytes equal the truth exactly") {
    REQUIRE_GO_TOOL_PPROF();
    std::vector<char*> a, b, c;
    a.reserve(1000);
    b.reserve(1000);
    c.reserve(1000);
    cpprof::profile p;
    {
        cpprof::heap_profiler_guard heap{cpprof::heap_options{}.sampling_interval(1)};
        cpprof_heap_site_a(a, 600, 1000);   // 600,000 bytes
        cpprof_heap_site_b(b, 300, 2000);   // 600,000 bytes
        cpprof_heap_site_c(c, 100, 12345);  // 1,234,500 bytes
        for (int i = 0; i < 300; ++i) {     // free half of site a
            delete[] a.back();
            a.pop_back();
        }
        p = heap.stop();
        CHECK_FALSE(heap.running());
    }
    const auto ao = type_index(p, "alloc_objects"), as = type_index(p, "alloc_space"),
               io = type_index(p, "inuse_objects"), is = type_index(p, "inuse_space");
    CHECK(ao == 0);
    CHECK(is == 3);
    CHECK(p.default_sample_index() == is);  // Go's default for heap profiles: inuse_space
    CHECK(p.period_type().type == "space");
    CHECK(p.period() == 1);
    CHECK(site_total(p, "cpprof_heap_site_a", ao) == 600);
    CHECK(site_total(p, "cpprof_heap_site_a", as) == 600000);
    CHECK(site_total(p, "cpprof_heap_site_a", io) == 300);
    CHECK(site_total(p, "cpprof_heap_site_a", is) == 300000);
    CHECK(site_total(p, "cpprof_heap_site_b", ao) == 300);
    CHECK(site_total(p, "cpprof_heap_site_b", as) == 600000);
    CHECK(site_total(p, "cpprof_heap_site_b", is) == 600000);
    CHECK(site_total(p, "cpprof_heap_site_c", as) == 1234500);
    CHECK(site_total(p, "cpprof_heap_site_c", is) == 1234500);

    // The reference reader agrees, for each sample index.
    cpprof_test::go_pprof go;
    const std::string path = go.file("heap_exact.pb.gz");
    cpprof::write_pprof(p, path);
    const std::string objects = go.run("-top -nodecount=50 -sample_index=alloc_objects", path);
    CHECK(objects.find("Type: alloc_objects") != std::string::npos);
    CHECK(objects.find("600 60.00%") != std::string::npos);
    CHECK(objects.find("cpprof_heap_site_a") != std::string::npos);
    const std::string space = go.run("-top -nodecount=50 -sample_index=alloc_space -unit=B", path);
    CHECK(space.find("Type: alloc_space") != std::string::npos);
    CHECK(space.find("1234500B") != std::string::npos);
    const std::string inuse = go.run("-top -nodecount=50 -unit=B", path);  // default index
    CHECK(inuse.find("Type: inuse_space") != std::string::npos);
    CHECK(inuse.find("300000B") != std::string::npos);
    const std::string traces = go.run("-traces -sample_index=inuse_objects", path);
    CHECK(traces.find("bytes:  12.06kB") != std::string::npos);  // Go's average-size label
    CHECK(traces.find("bytes:  1000B") != std::string::npos);

    free_all(a);
    free_all(b);
    free_all(c);
}

TEST_CASE("heap profile at the default 512 KiB: alloc_space per site within 10% of the truth") {
    // 6, 3 and 1 GiB churned in 1..64 KiB blocks: even the smallest site gets ~2,000 samples,
    // so the Poisson estimate's standard deviation is ~2.2% and 10% is a 4.5-sigma margin.
    std::vector<char*> ka, kb, kc;  // reserved first: only the blocks are in the sites' totals
    ka.reserve(6144);
    kb.reserve(3072);
    kc.reserve(1024);
    cpprof::heap_profiler_guard heap;
    const double ta = static_cast<double>(cpprof_heap_churn_a(6ull << 30));
    const double tb = static_cast<double>(cpprof_heap_churn_b(3ull << 30));
    const double tc = static_cast<double>(cpprof_heap_churn_c(1ull << 30));

    // Retained memory, for in-use: 60, 30 and 10 MiB in 10 KiB blocks.
    cpprof_heap_site_a(ka, 6144, 10240);
    cpprof_heap_site_b(kb, 3072, 10240);
    cpprof_heap_site_c(kc, 1024, 10240);
    cpprof::profile before = heap.report();
    const auto as = type_index(before, "alloc_space"), is = type_index(before, "inuse_space");
    CHECK(before.period() == 512 * 1024);

    const double ea = static_cast<double>(site_total(before, "cpprof_heap_churn_a", as));
    const double eb = static_cast<double>(site_total(before, "cpprof_heap_churn_b", as));
    const double ec = static_cast<double>(site_total(before, "cpprof_heap_churn_c", as));
    INFO("alloc_space estimate / truth: a " << ea / ta << ", b " << eb / tb << ", c " << ec / tc);
    CHECK(ea / ta == doctest::Approx(1.0).epsilon(0.10));
    CHECK(eb / tb == doctest::Approx(1.0).epsilon(0.10));
    CHECK(ec / tc == doctest::Approx(1.0).epsilon(0.10));
    // Churned memory is not in use.
    CHECK(site_total(before, "cpprof_heap_churn", is) == 0);

    // In use: ~120 samples for site a (SD ~9%), so a 35% margin.
    const double ia = static_cast<double>(site_total(before, "cpprof_heap_site_a", is));
    CHECK(ia / (6144.0 * 10240) == doctest::Approx(1.0).epsilon(0.35));

    // Freeing site a drops in-use by exactly its share; the others keep theirs.
    free_all(ka);
    cpprof::profile after = heap.report();
    CHECK(site_total(after, "cpprof_heap_site_a", is) == 0);
    CHECK(site_total(after, "cpprof_heap_site_b", is) == site_total(before, "cpprof_heap_site_b", is));
    CHECK(site_total(after, "cpprof_heap_site_c", is) == site_total(before, "cpprof_heap_site_c", is));
    CHECK(after.total(is) == doctest::Approx(static_cast<double>(before.total(is)) - ia).epsilon(0.001));
    // ...and allocated space does not forget it.
    CHECK(site_total(after, "cpprof_heap_site_a", as) == site_total(before, "cpprof_heap_site_a", as));

    if (cpprof_test::go_pprof::available()) {
        cpprof_test::go_pprof go;
        const std::string path = go.file("heap_sampled.pb.gz");
        cpprof::write_pprof(after, path);
        const std::string out = go.run("-top -sample_index=alloc_space", path);
        CHECK(out.find("cpprof_heap_churn") != std::string::npos);
        const std::string inuse = go.run("-top -sample_index=inuse_space", path);
        CHECK(inuse.find("cpprof_heap_site_b") != std::string::npos);
        CHECK(inuse.find("cpprof_heap_site_a") == std::string::npos);
    }
    free_all(kb);
    free_all(kc);
}

TEST_CASE("heap flame graph: memory palette and bytes as the unit") {
    std::vector<char*> keep;
    keep.reserve(50);
    cpprof::heap_profiler_guard heap{cpprof::heap_options{}.sampling_interval(1)};
    cpprof_heap_site_a(keep, 50, 4000);
    const std::string path = std::string(CPPROF_TEST_OUTPUT_DIR) + "/heap.svg";
    cpprof::write_flamegraph(heap.report(), path);
    const std::string svg = cpprof_test::read_file(path);
    CHECK(svg.find("cpprof_heap_site_a") != std::string::npos);
    CHECK(svg.find("200,000 bytes") != std::string::npos);
    // The mem palette's background (green), not the hot one's.
    CHECK(svg.find("#e0f0e0") != std::string::npos);
    if (*CPPROF_TEST_XMLLINT) {
        auto r = cpprof_test::run(std::string(CPPROF_TEST_XMLLINT) + " --noout " +
                                  cpprof_test::shell_quote(path) + " 2>&1");
        INFO(r.out);
        CHECK(r.exit_code == 0);
    }
    free_all(keep);
}

TEST_CASE("heap profiler: one guard at a time, leak detectors alongside, options checked") {
    cpprof::heap_profiler_guard heap;
    CHECK_THROWS_WITH_AS(cpprof::heap_profiler_guard{}, doctest::Contains("already running"),
                         cpprof::error);
    cpprof::leak_detector l1;
    cpprof::leak_detector l2{cpprof::heap_options{}.sampling_interval(1)};
    CHECK_THROWS_WITH_AS(cpprof::leak_detector{cpprof::heap_options{}.sampling_interval(0)},
                         doctest::Contains("sampling_interval must be in 1..2^40"), cpprof::error);
    CHECK_THROWS_WITH_AS(cpprof::leak_detector{cpprof::heap_options{}.max_depth(0)},
                         doctest::Contains("max_depth"), cpprof::error);
    CHECK(heap.stop().sample_types().size() == 4);
    CHECK_THROWS_WITH_AS(heap.report(), doctest::Contains("already stopped"), cpprof::error);
    cpprof::heap_profiler_guard next;  // the slot is free again
    CHECK(next.running());
}

TEST_CASE("heap profiler: blocks freed on another thread, or after the guard ended") {
    std::vector<char*> keep;
    keep.reserve(100);
    {
        cpprof::heap_profiler_guard heap{cpprof::heap_options{}.sampling_interval(1)};
        std::thread t([&] { cpprof_heap_site_a(keep, 100, 1000); });
        t.join();
        cpprof::profile p1 = heap.report();
        const auto is = type_index(p1, "inuse_space");
        CHECK(site_total(p1, "cpprof_heap_site_a", is) == 100000);
        for (int i = 0; i < 40; ++i) {  // freed here, on the main thread
            delete[] keep.back();
            keep.pop_back();
        }
        cpprof::profile p2 = heap.report();
        CHECK(site_total(p2, "cpprof_heap_site_a", is) == 60000);
    }
    // The guard is gone; its sampled blocks are freed now, from another thread.
    std::thread t([&] { free_all(keep); });
    t.join();
    cpprof::heap_profiler_guard heap{cpprof::heap_options{}.sampling_interval(1)};
    cpprof_heap_site_b(keep, 10, 500);
    cpprof::profile p = heap.report();
    CHECK(site_total(p, "cpprof_heap_site_a", 0) == 0);
    CHECK(site_total(p, "cpprof_heap_site_b", 0) == 10);
    free_all(keep);
}

// ---- the seed's leak examples --------------------------------------------------------------

namespace {
using session_map = std::unordered_map<std::string, std::vector<std::uint8_t>>;
session_map& leaky_sessions() {
    static session_map m;
    return m;
}

/// An LRU session cache: at most `capacity` sessions.
class lru_session_cache {
public:
    explicit lru_session_cache(std::size_t capacity) : capacity_(capacity) {}
    void insert(std::string key, std::vector<std::uint8_t> value) {
        auto it = index_.find(key);
        if (it != index_.end()) {
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
    std::size_t size() const { return order_.size(); }

private:
    using entry = std::pair<std::string, std::vector<std::uint8_t>>;
    std::size_t capacity_;
    std::list<entry> order_;
    std::unordered_map<std::string, std::list<entry>::iterator> index_;
};
}  // namespace

CPPROF_TEST_NOINLINE void cpprof_leaky_session_manager(int round) {
    for (int i = 0; i < 1000; ++i)  // 10 KB per session, never evicted
        leaky_sessions()["session_" + std::to_string(round * 1000 + i)] =
            std::vector<std::uint8_t>(10240);
    CPPROF_TEST_NO_TAIL_CALL();
}

CPPROF_TEST_NOINLINE void cpprof_bounded_session_manager(lru_session_cache& cache, int round) {
    for (int i = 0; i < 1000; ++i)
        cache.insert("session_" + std::to_string(round * 1000 + i), std::vector<std::uint8_t>(10240));
    CPPROF_TEST_NO_TAIL_CALL();
}

TEST_CASE("leak detector: a session cache that grows without bound is a leak" *
          doctest::timeout(120)) {
    for (std::int64_t interval : {std::int64_t{1}, std::int64_t{512 * 1024}}) {
        CAPTURE(interval);
        leaky_sessions().clear();
        cpprof::leak_detector leaks{cpprof::heap_options{}.sampling_interval(interval)};
        for (int round = 0; round < 5; ++round) {
            cpprof_leaky_session_manager(round);
            leaks.checkpoint();
        }
        CHECK(leaks.checkpoints().size() == 6);
        CHECK(leaks.growing());
        // The last round's 10 MB: ~20 samples at the default interval (SD ~22%), so the bound
        // sits 4 SD below.
        CHECK(leaks.growth() > 1024 * 1024);
        const auto live = leaks.checkpoints().back().live_bytes;
        if (interval == 1) {
            // 5,000 vectors of 10,240 bytes plus the keys' and the map's own memory.
            CHECK(live >= 5000 * 10240);
            CHECK(live < 5000 * 10240 + 1024 * 1024);
        } else {
            // ~50 MB live at one sample per 512 KiB: ~98 samples, SD ~10%, so 4 SD either side
            // (the sampler is seeded from the clock: 3 SD failed one run in ~300).
            CHECK(static_cast<double>(live) == doctest::Approx(5000.0 * 10240).epsilon(0.4));
        }
        cpprof::profile report = leaks.report();
        const auto is = type_index(report, "inuse_space");
        CHECK(static_cast<double>(site_total(report, "cpprof_leaky_session_manager", is)) >=
              0.9 * static_cast<double>(report.total(is)));
        std::ostringstream out;
        leaks.print(out, 3);
        INFO(out.str());
        CHECK(out.str().find("cpprof leak report") != std::string::npos);
        CHECK(out.str().find("(growing)") != std::string::npos);
        CHECK(out.str().find("cpprof_leaky_session_manager") != std::string::npos);
        leaky_sessions().clear();
    }
}

TEST_CASE("leak detector: the same cache with an LRU bound is not a leak") {
    lru_session_cache cache(100);
    cpprof::leak_detector leaks{cpprof::heap_options{}.sampling_interval(1)};
    for (int round = 0; round < 5; ++round) {
        cpprof_bounded_session_manager(cache, round);
        leaks.checkpoint();
    }
    CHECK(cache.size() == 100);
    CHECK_FALSE(leaks.growing());
    CHECK(leaks.growth() == 0);  // every round ends with the same 100 sessions' memory
    const auto live = leaks.checkpoints().back().live_bytes;
    CHECK(live >= 100 * 10240);
    CHECK(live < 100 * 10240 + 64 * 1024);
    // Nothing of cpprof's own (its checkpoints, an earlier report) shows as live memory.
    (void)leaks.report();
    const cpprof::profile report = leaks.report();
    for (const auto& f : report.frames()) {
        INFO(f.function);
        CHECK(f.function.find("cpprof::") == std::string::npos);
    }
    std::ostringstream out;
    leaks.print(out);
    CHECK(out.str().find("(growing)") == std::string::npos);
}

// ---- concurrency -----------------------------------------------------------------------

namespace {
/// 8 threads allocate; each frees half of what it allocated and hands the rest to the next
/// thread, which frees it.
void run_cross_thread_churn(int threads, int rounds) {
    std::mutex m;
    std::vector<std::vector<char*>> mailbox(static_cast<std::size_t>(threads));
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            std::vector<char*> mine;
            for (int r = 0; r < rounds; ++r) {
                for (int i = 0; i < 200; ++i) mine.push_back(new char[16 + (i * 131 + t) % 8000]);
                std::vector<char*> incoming;
                {
                    std::lock_guard<std::mutex> lock(m);
                    incoming.swap(mailbox[static_cast<std::size_t>(t)]);
                    auto& next = mailbox[static_cast<std::size_t>((t + 1) % threads)];
                    next.insert(next.end(), mine.begin() + 100, mine.end());
                }
                mine.resize(100);
                for (char* p : incoming) delete[] p;
                free_all(mine);
            }
        });
    }
    for (auto& th : pool) th.join();
    for (auto& box : mailbox) free_all(box);
}
}  // namespace

TEST_CASE("heap profiler: 8 threads allocating and freeing across threads, with reports" *
          doctest::timeout(300)) {
    const auto before = cpprof::allocation_stats<cpprof::global_new_tag>();
    cpprof::heap_profiler_guard heap{cpprof::heap_options{}.sampling_interval(4096)};
    cpprof::leak_detector leaks;
    std::atomic<bool> done{false};
    std::thread reporter([&] {
        while (!done.load()) {
            cpprof::profile p = heap.report();
            CHECK(p.sample_types().size() == 4);
            leaks.checkpoint();
        }
    });
    run_cross_thread_churn(8, 200);
    done = true;
    reporter.join();
    cpprof::profile p = heap.stop();
    CHECK(p.total(type_index(p, "alloc_objects")) > 0);
    // Everything the threads allocated was freed: nothing of theirs is in use.
    CHECK(leaks.checkpoint().live_bytes < 1024 * 1024);
    const auto after = cpprof::allocation_stats<cpprof::global_new_tag>();
    CHECK(after.allocations - before.allocations >= 8u * 200u * 200u);
}

TEST_CASE("heap profiler alongside the CPU profiler at 1000 Hz" * doctest::timeout(300) *
          doctest::skip(CPPROF_TEST_TSAN != 0)) {
    // (Under ThreadSanitizer the CPU profiler's signals are deferred; the test above covers
    // the heap side there.)
    cpprof::profiler_guard<cpprof::high_precision> cpu;
    cpprof::heap_profiler_guard heap{cpprof::heap_options{}.sampling_interval(4096)};
    run_cross_thread_churn(8, 300);
    cpprof::profile h = heap.stop();
    cpprof::profile c = cpu.stop();
    CHECK(h.total(0) > 0);
    CHECK(c.total_samples() > 0);
}

// Skipped under the sanitizers: their own allocators are not fork-safe while another thread
// allocates (the child can hang in ASan's malloc before it reaches any cpprof code).
TEST_CASE("heap profiler: a fork()ed child allocates and exits cleanly" *
          doctest::skip(CPPROF_TEST_ASAN != 0 || CPPROF_TEST_TSAN != 0) * doctest::timeout(60)) {
    cpprof::heap_profiler_guard heap{cpprof::heap_options{}.sampling_interval(1)};
    std::atomic<bool> stop{false};
    std::thread busy([&] {  // holds the records' lock now and then while fork() happens
        std::vector<char*> keep;
        while (!stop.load()) {
            cpprof_heap_site_a(keep, 10, 100);
            free_all(keep);
        }
    });
    for (int i = 0; i < 20; ++i) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            std::vector<char*> keep;
            cpprof_heap_site_b(keep, 100, 100);
            free_all(keep);
            _exit(0);
        }
        int status = 0;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    stop = true;
    busy.join();
}

// ---- layers --------------------------------------------------------------------------------

namespace {
struct layered_tag {};
struct layered_resource_tag {};
}  // namespace

TEST_CASE("global new under a tracking allocator: counted once for the thread, in both totals") {
    const auto global_before = cpprof::allocation_stats<cpprof::global_new_tag>();
    cpprof::allocation_counter c;
    {
        std::vector<int, cpprof::tracking_allocator<int, layered_tag>> v;
        v.reserve(1000);  // tracking_allocator -> std::allocator -> cpprof's operator new
        escape(v.data());
        CHECK(c.allocations() == 1);
        CHECK(c.bytes() == 4000);
        cpprof::tracking_resource<layered_resource_tag> resource;  // over new_delete_resource
        std::pmr::vector<char> pv(&resource);
        pv.reserve(100);
        escape(pv.data());
        CHECK(c.allocations() == 2);
        CHECK(c.bytes() == 4100);
    }
    CHECK(c.deallocations() == 2);
    CHECK(c.freed_bytes() == 4100);
    const auto tagged = cpprof::allocation_stats<layered_tag>();
    CHECK(tagged.allocations == 1);
    CHECK(tagged.allocated_bytes == 4000);
    CHECK(tagged.live_bytes == 0);
    CHECK(cpprof::allocation_stats<layered_resource_tag>().allocated_bytes == 100);
    const auto global_after = cpprof::allocation_stats<cpprof::global_new_tag>();
    CHECK(global_after.allocations - global_before.allocations >= 2);
}
