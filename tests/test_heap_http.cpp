// /debug/pprof/heap and /allocs through cpprof::http::handle() in a program with cpprof's
// operator new (this file is built into cpprof_tests_heap, see tests/CMakeLists.txt): a
// profile of what a thread allocated during the window, read back with cpprof::parse_pprof and
// `go tool pprof -raw`.

#include <cpprof/cpprof.hpp>
#include <cpprof/http/handler.hpp>
#include <cpprof/http/server.hpp>
#include <doctest/doctest.h>

#include "support/external.hpp"
#include "support/go_pprof.hpp"
#include "workloads.hpp"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

std::vector<char*> g_kept;

}  // namespace

// Allocates 64 KiB blocks and keeps them (freed by the test).
CPPROF_TEST_NOINLINE void cpprof_http_heap_site(int n) {
    for (int i = 0; i < n; ++i) g_kept.push_back(new char[64 * 1024]);
    CPPROF_TEST_NO_TAIL_CALL();
}

TEST_CASE("heap http: /debug/pprof/heap and /allocs profile a window of allocations") {
    REQUIRE(cpprof::detail::g_global_new_linked.load());
    for (const char* path : {"/debug/pprof/heap", "/debug/pprof/allocs"}) {
        CAPTURE(path);
        cpprof::http::response r;
        {
            std::atomic<bool> stop{false};
            std::thread allocator([&] {
                while (!stop.load()) {
                    cpprof_http_heap_site(16);  // 1 MiB every 10 ms: ~2 samples at 512 KiB
                    std::this_thread::sleep_for(std::chrono::milliseconds(10));
                }
            });
            cpprof::http::request req;
            req.path = path;
            req.query = "seconds=0.4&gc=1";
            r = cpprof::http::handle(req);
            stop.store(true);
            allocator.join();
        }
        REQUIRE(r.status == 200);
        CHECK(*r.header("Content-Type") == "application/octet-stream");
        const cpprof::profile p = cpprof::parse_pprof(r.body);
        REQUIRE(p.sample_types().size() == 4);
        CHECK(p.sample_types()[p.default_sample_index()].type ==
              (std::string(path) == "/debug/pprof/heap" ? "inuse_space" : "alloc_space"));
        bool found = false;
        for (const auto& f : p.frames()) found = found || contains(f.function, "cpprof_http_heap_site");
        CHECK(found);

        if (cpprof_test::go_pprof::available()) {
            cpprof_test::go_pprof pprof;
            cpprof_test::write_file(pprof.file("heap.pb.gz"), r.body);
            const std::string raw = pprof.run("-raw", pprof.file("heap.pb.gz"));
            // go tool pprof marks a default sample type that is not the last with [dflt].
            const bool allocs = std::string(path) == "/debug/pprof/allocs";
            CHECK(contains(raw, allocs ? "alloc_objects/count alloc_space/bytes[dflt] inuse_objects/count"
                                       : "alloc_objects/count alloc_space/bytes inuse_objects/count"));
            CHECK(contains(raw, "inuse_space/bytes\n"));
            CHECK(contains(raw, "cpprof_http_heap_site"));
        }
        for (char* b : g_kept) delete[] b;
        g_kept.clear();
    }
}

TEST_CASE("heap http: a second heap profile is 409") {
    cpprof::heap_profiler_guard running;
    cpprof::http::request req;
    req.path = "/debug/pprof/heap";
    req.query = "seconds=0.1";
    const cpprof::http::response r = cpprof::http::handle(req);
    CHECK(r.status == 409);
    CHECK(contains(r.body, "already running"));
}

namespace {

bool has_frame(const cpprof::profile& p, const char* name) {
    for (const auto& f : p.frames())
        if (contains(f.function, name)) return true;
    return false;
}

}  // namespace

// Allocates 64 KiB blocks and keeps them; a second site, to tell the windows apart.
CPPROF_TEST_NOINLINE void cpprof_http_heap_later_site(int n) {
    for (int i = 0; i < n; ++i) g_kept.push_back(new char[64 * 1024]);
    CPPROF_TEST_NO_TAIL_CALL();
}

TEST_CASE("heap http: with a running heap profile, /heap answers at once since it started, "
          "?seconds=N with the delta") {
    // Every allocation recorded (interval 1), so the sizes below are exact, not estimates.
    cpprof::heap_profiler_guard standing{cpprof::heap_options{}.sampling_interval(1)};
    // Room for both sites' blocks now: a reallocation of g_kept inside the window would free a
    // buffer allocated before it, and the delta would rightly show that site too.
    g_kept.reserve(g_kept.size() + 128);
    cpprof_http_heap_site(64);  // 4 MiB kept, before any request
    const auto options = cpprof::http::handler_options{}.heap_profile(&standing);
    cpprof::http::request req;
    req.path = "/debug/pprof/heap";
    const auto t0 = std::chrono::steady_clock::now();
    cpprof::http::response r = cpprof::http::handle(req, options);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));  // no 5 s window
    REQUIRE(r.status == 200);
    cpprof::profile p = cpprof::parse_pprof(r.body);
    CHECK(has_frame(p, "cpprof_http_heap_site"));
    CHECK(!has_frame(p, "cpprof_http_heap_later_site"));

    // The delta over a window holds what was allocated in it, not what came before. The window
    // opens after the handler's first snapshot, when it first asks cancel_when: `later`
    // allocates only then, however late the handler gets there on a busy machine.
    std::atomic<bool> open{false};
    std::thread later([&open] {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!open.load() && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
        cpprof_http_heap_later_site(64);
    });
    req.query = "seconds=0.5";
    r = cpprof::http::handle(req, cpprof::http::handler_options(options).cancel_when([&open] {
        open.store(true);
        return false;
    }));
    later.join();
    REQUIRE(r.status == 200);
    p = cpprof::parse_pprof(r.body);
    CHECK(has_frame(p, "cpprof_http_heap_later_site"));
    CHECK(!has_frame(p, "cpprof_http_heap_site"));
    // In use from the window's site: exactly its 64 blocks of 64 KiB.
    std::int64_t inuse = 0;
    for (const auto& s : p.samples()) {
        bool later_site = false;
        for (auto id : s.stack)
            later_site = later_site || contains(p.frame_at(id).function, "cpprof_http_heap_later_site");
        if (later_site) inuse += s.values[3];
    }
    CHECK(inuse == 64 * 64 * 1024);

    // The running profile is the process's one heap profile: nothing else can start.
    req.query = "";
    CHECK(cpprof::http::handle(req).status == 409);
    for (char* b : g_kept) delete[] b;
    g_kept.clear();
}

TEST_CASE("heap http: server_options::heap_since_start, read by go tool pprof from the live server") {
    cpprof::http::server s{cpprof::http::server_options{}.port(0).heap_since_start(true)};
    cpprof_http_heap_site(64);
    const std::string url = "http://127.0.0.1:" + std::to_string(s.port()) + "/debug/pprof/heap";
    if (cpprof_test::go_pprof::available()) {
        cpprof_test::go_pprof pprof;
        const std::string raw = pprof.run("-raw", url);
        CHECK(contains(raw, "inuse_space/bytes\n"));
        CHECK(contains(raw, "cpprof_http_heap_site"));
    } else {
        MESSAGE("SKIPPED go tool pprof: `go` is not on PATH (Debian: golang-go)");
    }
    // While the server runs, the application cannot start a second heap profile...
    CHECK_THROWS_AS(cpprof::heap_profiler_guard{}, cpprof::error);
    s.stop();
    // ...and once it stops, it can.
    cpprof::heap_profiler_guard after;
    CHECK(after.running());
    for (char* b : g_kept) delete[] b;
    g_kept.clear();
}
