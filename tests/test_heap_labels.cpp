// Labels on heap samples (something Go's heap profiles cannot do): each sampled allocation
// records the label_guards in force on the allocating thread. Built into the executable whose
// operator new is cpprof's (tests/global_new.cpp). Interval 1 samples every allocation, so
// the truths are exact.

#include <cpprof/cpprof.hpp>
#include <doctest/doctest.h>

#include "support/external.hpp"
#include "support/go_pprof.hpp"
#include "workloads.hpp"

#include <map>
#include <string>
#include <thread>
#include <vector>

namespace {

std::size_t heap_type(const cpprof::profile& p, const std::string& type) {
    for (std::size_t i = 0; i < p.sample_types().size(); ++i)
        if (p.sample_types()[i].type == type) return i;
    FAIL("no sample type " << type);
    return 0;
}

bool has_frame(const cpprof::profile& p, const cpprof::sample& s, const std::string& name) {
    for (auto id : s.stack)
        if (p.frame_at(id).function.find(name) != std::string::npos) return true;
    return false;
}

}  // namespace

CPPROF_TEST_NOINLINE void cpprof_heap_labelled_site(std::vector<char*>& keep, int n,
                                                    std::size_t size) {
    for (int i = 0; i < n; ++i) keep.push_back(new char[size]);
    CPPROF_TEST_NO_TAIL_CALL();
}

TEST_CASE("heap labels: allocations carry the labels in force, per thread and nested") {
    std::vector<char*> main_blocks, a_blocks, b_blocks, none;
    main_blocks.reserve(1000);
    a_blocks.reserve(1000);
    b_blocks.reserve(1000);
    none.reserve(1000);
    cpprof::profile p;
    {
        cpprof::heap_profiler_guard heap{cpprof::heap_options{}.sampling_interval(1)};
        {
            cpprof::label_guard route{"route", "/api/orders"};
            cpprof_heap_labelled_site(main_blocks, 100, 1000);  // 100,000 bytes
            {
                cpprof::label_guard inner{"route", std::string("/api/orders/") + "items"};
                cpprof::label_guard phase{"phase", "build"};
                cpprof_heap_labelled_site(main_blocks, 50, 2000);  // 100,000 bytes
            }
        }
        std::thread t([&] {
            cpprof::label_guard route{"route", "/api/users"};
            cpprof_heap_labelled_site(a_blocks, 30, 100);  // 3,000 bytes
        });
        t.join();
        cpprof_heap_labelled_site(none, 10, 10);  // no labels
        p = heap.stop();
    }
    const std::size_t as = heap_type(p, "alloc_space"), is = heap_type(p, "inuse_space");
    std::map<std::string, std::int64_t> by_route;
    std::int64_t build = 0, unlabelled = 0;
    for (const auto& s : p.samples()) {
        if (!has_frame(p, s, "cpprof_heap_labelled_site")) continue;
        const std::string route(s.label_str("route"));
        if (route.empty()) unlabelled += s.values[as];
        by_route[route] += s.values[as];
        if (s.label_str("phase") == "build") {
            build += s.values[as];
            CHECK(route == "/api/orders/items");
        }
        std::size_t routes = 0;
        for (const auto& l : s.labels) routes += l.key == "route";
        CHECK(routes <= 1);
    }
    CHECK(by_route["/api/orders"] == 100000);
    CHECK(by_route["/api/orders/items"] == 100000);
    CHECK(by_route["/api/users"] == 3000);
    CHECK(build == 100000);
    CHECK(unlabelled == 100);

    // The views work on heap profiles too.
    const cpprof::profile users = cpprof::filter(p, "route", "/api/users");
    CHECK(users.total(is) == 3000);

    // And go tool pprof reads them: what Go's own heap profiles cannot carry.
    if (cpprof_test::go_pprof::available()) {
        cpprof_test::go_pprof go;
        const std::string file = go.file("heap_labels.pb.gz");
        cpprof::write_pprof(p, file);
        const std::string tags = go.run("-tags -sample_index=alloc_space", file);
        CHECK(tags.find("/api/orders/items") != std::string::npos);
        CHECK(tags.find("/api/users") != std::string::npos);
        const std::string focus =
            go.run("-top -unit=B -sample_index=alloc_space -tagfocus=route=/api/users", file);
        CHECK(focus.find("3000B") != std::string::npos);
    } else {
        MESSAGE("SKIPPED the go tool pprof part: `go` is not on PATH");
    }
    for (auto* v : {&main_blocks, &a_blocks, &b_blocks, &none})
        for (char* b : *v) delete[] b;
}
