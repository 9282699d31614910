// Built with CPPROF_ENABLED=0: every guard compiles to a no-op that never touches SIGPROF or
// starts a thread, while profiles can still be built, analysed and written.

#include <cpprof/cpprof.hpp>
#include <doctest/doctest.h>

#include <csignal>
#include <sstream>

static_assert(CPPROF_ENABLED == 0, "this file checks the disabled build");

TEST_CASE("disabled: a guard starts nothing and stops to an empty profile") {
    struct sigaction before {};
    REQUIRE(sigaction(SIGPROF, nullptr, &before) == 0);
    cpprof::profiler_guard<cpprof::high_precision> guard;
    CHECK_FALSE(guard.running());
    cpprof::profiler_guard<> second;  // no "already running" error either: nothing runs
    cpprof::profile p = guard.stop();
    CHECK(p.total_samples() == 0);
    CHECK(p.empty());
    struct sigaction after {};
    REQUIRE(sigaction(SIGPROF, nullptr, &after) == 0);
    bool unchanged = after.sa_handler == before.sa_handler;
    CHECK(unchanged);  // no handler was installed
}

TEST_CASE("disabled: options are still validated, so a bad value is caught in every build") {
    CHECK_THROWS_AS(cpprof::profiler_guard<>(cpprof::profiler_options{}.frequency(20000)),
                    cpprof::error);
}

TEST_CASE("disabled: writers and analyses still work on hand-built profiles") {
    cpprof::profile p{{"samples", "count"}};
    cpprof::frame f;
    f.function = "work";
    p.add_sample({p.intern(f)}, {3});
    std::ostringstream folded;
    cpprof::write_folded(p, folded);
    CHECK(folded.str() == "work 3\n");
    CHECK(cpprof::fraction(p, "work") == 1.0);
    std::ostringstream pprof;
    cpprof::write_pprof(p, pprof);
    CHECK(pprof.str().size() > 20);
}

TEST_CASE("disabled: the HTTP handler says profiling is compiled out") {
    cpprof::http::request req;
    for (const char* path : {"/debug/pprof/profile", "/debug/pprof/flamegraph", "/debug/pprof/heap"}) {
        req.path = path;
        req.query = "seconds=0.1";
        const cpprof::http::response r = cpprof::http::handle(req);
        CHECK(r.status == 501);
        CHECK(r.body.find("CPPROF_ENABLED=0") != std::string::npos);
    }
    req.method = "POST";
    req.path = "/sampling/start";
    req.query.clear();
    CHECK(cpprof::http::handle(req).status == 501);
    req.method = "GET";
    req.path = "/debug/pprof/";
    CHECK(cpprof::http::handle(req).status == 200);
}

TEST_CASE("disabled: the HTTP server is an empty shell that binds nothing") {
    cpprof::http::server s{cpprof::http::server_options{}.port(0)};
    CHECK(s.port() == 0);
    CHECK_FALSE(s.running());
    s.stop();
    // Options are still validated.
    CHECK_THROWS_AS(cpprof::http::server{cpprof::http::server_options{}.port(-1)}, cpprof::error);
}

TEST_CASE("disabled: label_guard and CPPROF_LABEL label nothing and evaluate nothing") {
    int evaluated = 0;
    auto value = [&evaluated] {
        ++evaluated;
        return "v";
    };
    CPPROF_LABEL("route", value());
    cpprof::label_guard g{"route", "/x"};
    CHECK(evaluated == 0);
    CHECK(cpprof::detail::t_label_stack.top == nullptr);
    CHECK(sizeof(cpprof::label_guard) == 1);
    (void)value;
}
