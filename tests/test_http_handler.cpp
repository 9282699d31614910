// cpprof::http::handle() called directly, as an application's own HTTP server would: routing,
// methods, query validation, the CPU profile and flame graph endpoints on a real workload (read
// back with cpprof::parse_pprof and `go tool pprof -raw`), Go's symbol protocol, the
// /sampling/start and /sampling/stop pair, and the heap endpoints' 404 in a program without
// cpprof's operator new (this executable; tests/test_heap_http.cpp has the other side).

#include <cpprof/cpprof.hpp>
#include <cpprof/http/handler.hpp>
#include <doctest/doctest.h>

#include "support/external.hpp"
#include "support/go_pprof.hpp"
#include "support/sanitizers.hpp"
#include "workloads.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>

#define CPPROF_NEEDS_REAL_SIGNALS doctest::skip(CPPROF_TEST_TSAN != 0)

namespace {

namespace h = cpprof::http;

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

h::response call(const std::string& method, const std::string& path, const std::string& query = "",
                 const std::string& body = "") {
    h::request r;
    r.method = method;
    r.path = path;
    r.query = query;
    r.body = body;
    return h::handle(r);
}

h::response get(const std::string& path, const std::string& query = "") {
    return call("GET", path, query);
}

/// Burns CPU in cpprof_test_heavy_three on a thread of its own while it lives.
class busy_thread {
public:
    busy_thread()
        : thread_([this] {
              while (!stop_.load()) cpprof_test_heavy_three(1);
          }) {}
    ~busy_thread() {
        stop_.store(true);
        thread_.join();
    }

private:
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

bool has_function(const cpprof::profile& p, const std::string& name) {
    for (const auto& f : p.frames())
        if (contains(f.function, name)) return true;
    return false;
}

}  // namespace

/// A function whose address the symbol test looks up.
CPPROF_TEST_NOINLINE int cpprof_http_symbol_target(int x) {
    CPPROF_TEST_NO_TAIL_CALL();
    return x * 3 + 1;
}

TEST_CASE("http handler: the index page links the endpoints") {
    const h::response r = get("/debug/pprof/");
    CHECK(r.status == 200);
    CHECK(*r.header("content-type") == "text/html; charset=utf-8");
    for (const char* link : {"href=\"profile?seconds=30\"", "href=\"heap\"", "href=\"allocs\"",
                             "href=\"cmdline\"", "href=\"symbol\"", "href=\"flamegraph?seconds=10\""})
        CHECK(contains(r.body, link));
    const h::response head = call("HEAD", "/debug/pprof/");
    CHECK(head.status == 200);
    CHECK(head.body == r.body);  // the server drops it; its length is the Content-Length
    const h::response redirect = get("/debug/pprof");
    CHECK(redirect.status == 301);
    CHECK(*redirect.header("Location") == "/debug/pprof/");
}

TEST_CASE("http handler: cmdline is /proc/self/cmdline joined by NUL, as Go's") {
    const h::response r = get("/debug/pprof/cmdline");
    CHECK(r.status == 200);
    std::string expected = cpprof_test::read_file("/proc/self/cmdline");
    REQUIRE(!expected.empty());
    REQUIRE(expected.back() == '\0');
    expected.pop_back();
    CHECK(r.body == expected);
    CHECK(contains(r.body, "cpprof_tests"));
    CHECK(contains(*r.header("Content-Type"), "text/plain"));
}

TEST_CASE("http handler: unknown paths are 404, wrong methods 405 with Allow") {
    h::response r = get("/nope");
    CHECK(r.status == 404);
    CHECK(contains(r.body, "no such page '/nope'"));
    r = get("/debug/pprof/goroutine");
    CHECK(r.status == 404);
    CHECK(contains(r.body, "unknown profile 'goroutine'"));
    CHECK(contains(r.body, "profile, flamegraph, heap, allocs"));
    r = get("/debug/pprof/\x01\xff");
    CHECK(r.status == 404);
    CHECK(contains(r.body, "\\x01\\xff"));

    r = call("POST", "/debug/pprof/profile");
    CHECK(r.status == 405);
    CHECK(*r.header("Allow") == "GET");
    r = call("HEAD", "/debug/pprof/profile");  // would have to run a profile
    CHECK(r.status == 405);
    r = call("HEAD", "/sampling/stop");  // would stop sampling
    CHECK(r.status == 405);
    CHECK(*r.header("Allow") == "GET, POST");
    r = call("GET", "/sampling/start");
    CHECK(r.status == 405);
    CHECK(*r.header("Allow") == "POST");
    CHECK(contains(r.body, "method 'GET' is not allowed on /sampling/start"));
    r = call("get", "/debug/pprof/");  // methods are case-sensitive
    CHECK(r.status == 405);
    r = call("DELETE", "/debug/pprof/symbol");
    CHECK(r.status == 405);
    CHECK(*r.header("Allow") == "GET, HEAD, POST");
}

TEST_CASE("http handler: bad query strings and out-of-range values are 400 at once") {
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    for (const char* q : {"seconds=%zz", "seconds=1;x=2", "seconds=0", "seconds=-1", "seconds=abc",
                          "seconds=", "seconds=301", "seconds=1.0001", "seconds=1.", "seconds=.5",
                          "seconds=1e2", "seconds=99999999999999999999", "frequency=0",
                          "frequency=10001", "frequency=x", "frequency=", "frequency=-5",
                          "frequency=100000"}) {
        CAPTURE(q);
        for (const char* path : {"/debug/pprof/profile", "/debug/pprof/flamegraph"}) {
            const h::response r = get(path, q);
            CHECK(r.status == 400);
            CHECK(!r.body.empty());
        }
    }
    CHECK(contains(get("/debug/pprof/profile", "seconds=301").body, "(0, 300]"));
    CHECK(contains(get("/debug/pprof/profile", "frequency=0").body, "1..10000"));
    CHECK(contains(get("/debug/pprof/profile", "seconds=%zz").body, "bad percent-escape"));
    CHECK(get("/debug/pprof/heap", "seconds=0").status == 400);
    CHECK(get("/sampling/stop", "format=json").status == 400);
    CHECK(clock::now() - t0 < std::chrono::seconds(2));  // no profile ran

    // A custom maximum.
    h::request r;
    r.path = "/debug/pprof/profile";
    r.query = "seconds=11";
    CHECK(h::handle(r, h::handler_options{}.max_seconds(10)).status == 400);
    CHECK(h::handle(r, h::handler_options{}.max_seconds(0)).status == 500);
}

TEST_CASE("http handler: /debug/pprof/profile is a gzip pprof with the hot function" *
          CPPROF_NEEDS_REAL_SIGNALS) {
    h::response r;
    {
        busy_thread busy;
        r = get("/debug/pprof/profile", "seconds=0.5&frequency=500");
    }
    REQUIRE(r.status == 200);
    CHECK(*r.header("Content-Type") == "application/octet-stream");
    CHECK(contains(*r.header("Content-Disposition"), "filename=\"profile\""));
    REQUIRE(r.body.size() > 2);
    CHECK(static_cast<unsigned char>(r.body[0]) == 0x1f);  // gzip magic
    CHECK(static_cast<unsigned char>(r.body[1]) == 0x8b);
    const cpprof::profile p = cpprof::parse_pprof(r.body);
    CHECK(p.sample_types().size() == 2);
    std::int64_t samples = 0;  // samples with one stack are merged: count them by value
    for (const auto& sample : p.samples()) samples += sample.values[0];
    CHECK(samples >= 20);  // 0.5 s of a busy thread at 500 Hz is ~250
    CHECK(has_function(p, "cpprof_test_heavy_three"));
    CHECK(p.period() == 2000000);  // 500 Hz

    if (!cpprof_test::go_pprof::available()) {
        MESSAGE("SKIPPED the go tool pprof half: `go` is not on PATH (Debian: golang-go)");
        return;
    }
    cpprof_test::go_pprof pprof;
    cpprof_test::write_file(pprof.file("http_profile.pb.gz"), r.body);
    const std::string raw = pprof.run("-raw", pprof.file("http_profile.pb.gz"));
    CHECK(contains(raw, "samples/count cpu/nanoseconds"));
    CHECK(contains(raw, "cpprof_test_heavy_three"));
}

TEST_CASE("http handler: /debug/pprof/flamegraph is an SVG with the hot function" *
          CPPROF_NEEDS_REAL_SIGNALS) {
    h::response r;
    {
        busy_thread busy;
        r = get("/debug/pprof/flamegraph", "seconds=0.4&frequency=250");
    }
    REQUIRE(r.status == 200);
    CHECK(*r.header("Content-Type") == "image/svg+xml");
    CHECK(contains(r.body, "<svg"));
    CHECK(contains(r.body, "cpprof_test_heavy_three"));
    CHECK(contains(r.body, "CPU: 0.4 s at 250 Hz"));
}

TEST_CASE("http handler: a second CPU profile is 409" * CPPROF_NEEDS_REAL_SIGNALS) {
    cpprof::profiler_guard<> running;
    h::response r = get("/debug/pprof/profile", "seconds=0.1");
    CHECK(r.status == 409);
    CHECK(contains(r.body, "already running"));
    r = get("/debug/pprof/flamegraph", "seconds=0.1");
    CHECK(r.status == 409);
    r = call("POST", "/sampling/start", "", "{\"frequency\": 100}");
    CHECK(r.status == 409);
    CHECK(*r.header("Content-Type") == "application/json");
    CHECK(contains(r.body, "{\"error\": \"a CPU profile is already running"));
    // /sampling/stop has nothing of its own to stop.
    CHECK(get("/sampling/stop").status == 404);
    running.stop();
}

TEST_CASE("http handler: /sampling/start and /sampling/stop" * CPPROF_NEEDS_REAL_SIGNALS) {
    h::response r = get("/sampling/stop");
    CHECK(r.status == 404);
    CHECK(contains(r.body, "POST /sampling/start"));

    r = call("POST", "/sampling/start", "", "{\"frequency\": 500}");
    REQUIRE(r.status == 200);
    CHECK(*r.header("Content-Type") == "application/json");
    CHECK(r.body == "{\"status\": \"running\", \"frequency\": 500, \"stop\": \"/sampling/stop\"}\n");
    r = call("POST", "/sampling/start", "", "{\"frequency\": 100}");
    CHECK(r.status == 409);
    CHECK(contains(r.body, "already running"));
    CHECK(get("/debug/pprof/profile", "seconds=0.1").status == 409);
    // A bad format is refused before anything is stopped.
    CHECK(get("/sampling/stop", "format=png").status == 400);
    {
        busy_thread busy;
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
    }
    r = get("/sampling/stop");
    REQUIRE(r.status == 200);
    CHECK(*r.header("Content-Type") == "image/svg+xml");
    CHECK(contains(r.body, "cpprof_test_heavy_three"));
    CHECK(contains(r.body, " s at 500 Hz"));
    CHECK(get("/sampling/stop").status == 404);

    // An empty body takes the defaults; ?format=pprof gives a profile.
    r = call("POST", "/sampling/start", "", "");
    REQUIRE(r.status == 200);
    CHECK(contains(r.body, "\"frequency\": 100"));
    {
        busy_thread busy;
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    r = call("POST", "/sampling/stop", "format=pprof");
    REQUIRE(r.status == 200);
    const cpprof::profile p = cpprof::parse_pprof(r.body);
    CHECK(has_function(p, "cpprof_test_heavy_three"));
    CHECK(p.period() == 10000000);  // 100 Hz
}

TEST_CASE("http handler: /sampling/start refuses bad bodies with the reason") {
    struct bad_case {
        const char* body;
        const char* reason;
    };
    for (const bad_case& c : {
             bad_case{"{", "bad JSON body"},
             bad_case{"{\"frequency\": 100,}", "expected a string key"},
             bad_case{"{\"frequency\": 100} x", "unexpected text after"},
             bad_case{"{'frequency': 100}", "expected a string key"},
             bad_case{"[100]", "must be a JSON object"},
             bad_case{"100", "must be a JSON object"},
             bad_case{"{\"frequency\": \"100\"}", "got a string"},
             bad_case{"{\"frequency\": 100.5}", "got 100.5"},
             bad_case{"{\"frequency\": 1e2}", "got 1e2"},
             bad_case{"{\"frequency\": -1}", "got -1"},
             bad_case{"{\"frequency\": 0}", "got 0"},
             bad_case{"{\"frequency\": 10001}", "got 10001"},
             bad_case{"{\"frequency\": 99999999999999999999}", "1..10000"},
             bad_case{"{\"frequency\": 01}", "leading zero"},
             bad_case{"{\"frequency\": 100, \"frequency\": 200}", "duplicate key"},
             bad_case{"{\"freq\": 100}", "unknown key \\\"freq\\\""},
             bad_case{"{\"frequency\": NaN}", "bad JSON body"},
             bad_case{"{\"frequency\": null}", "got null"},
         }) {
        CAPTURE(c.body);
        const h::response r = call("POST", "/sampling/start", "", c.body);
        CHECK(r.status == 400);
        CHECK(*r.header("Content-Type") == "application/json");
        CAPTURE(r.body);
        CHECK(contains(r.body, c.reason));
        CHECK(r.body.rfind("{\"error\": \"", 0) == 0);
    }
    CHECK(get("/sampling/stop").status == 404);  // none of them started anything
}

TEST_CASE("http handler: /debug/pprof/symbol speaks Go's protocol") {
    h::response r = get("/debug/pprof/symbol");
    CHECK(r.status == 200);
    CHECK(r.body == "num_symbols: 1\n");
    CHECK(call("HEAD", "/debug/pprof/symbol").status == 200);

    const auto address = reinterpret_cast<std::uintptr_t>(&cpprof_http_symbol_target);
    char hex[32];
    std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(address));
    // Unknown, zero and malformed words are skipped, as Go does.
    r = call("POST", "/debug/pprof/symbol", "", std::string("0x1+") + hex + "+0+garbage+0xzz+");
    CHECK(r.status == 200);
    CHECK(r.body.rfind("num_symbols: 1\n", 0) == 0);
    CAPTURE(r.body);
    CHECK(contains(r.body, std::string("\n") + hex + " cpprof_http_symbol_target"));
    CHECK(r.body.find('\n', r.body.find(hex)) == r.body.size() - 1);  // one line per symbol

    // GET with the addresses in the query; decimal and octal parse too (strconv base 0).
    r = get("/debug/pprof/symbol", std::to_string(address));
    CHECK(contains(r.body, std::string(hex) + " cpprof_http_symbol_target"));
    CHECK(cpprof_http_symbol_target(1) == 4);
}

TEST_CASE("http handler: heap endpoints say how to enable them without cpprof's operator new") {
    REQUIRE_FALSE(cpprof::detail::g_global_new_linked.load());
    for (const char* path : {"/debug/pprof/heap", "/debug/pprof/allocs"}) {
        const h::response r = get(path, "gc=1");
        CHECK(r.status == 404);
        CHECK(contains(r.body, "CPPROF_IMPLEMENT_GLOBAL_NEW"));
    }
}

TEST_CASE("http handler: handle() never throws on odd requests") {
    h::request r;
    r.method = "";
    r.path = "";
    CHECK(h::handle(r).status == 404);
    r.path = std::string(1 << 16, '/');
    CHECK(h::handle(r).status == 404);
    r.path = "/debug/pprof/symbol";
    r.method = "POST";
    r.body = std::string(1 << 16, '+');
    CHECK(h::handle(r).body == "num_symbols: 1\n");
    r.body = "0xffffffffffffffffff+99999999999999999999999";
    CHECK(h::handle(r).body == "num_symbols: 1\n");
}
