// /debug/pprof/heap and /allocs through cpprof::http::handle() in a program with cpprof's
// operator new (this file is built into cpprof_tests_heap, see tests/CMakeLists.txt): a
// profile of what a thread allocated during the window, read back with cpprof::parse_pprof and
// `go tool pprof -raw`.

#include <cpprof/cpprof.hpp>
#include <cpprof/http/handler.hpp>
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
