// cpprof::pyroscope::client against a local receiver (support/http_receiver.hpp) standing in
// for Pyroscope's /ingest: the query (name with tags, from/until, format, sampleRate, spyName),
// the auth and tenant headers, and the uploaded pprof, decoded by two independent readers: npm
// `pprof-format` (tests/pyroscope/decode.cjs, under node) and `go tool pprof`. Then faults:
// receiver down, 503 with Retry-After, a hanging receiver, with push() timed on the
// application thread. Options are checked against Pyroscope's own naming rules.
//
// Needs node (CPPROF_TEST_NODE) and `npm ci` in tests/pyroscope (tools/install-deps.sh does it),
// and go for `go tool pprof`; without them those checks are skipped (and fail under CI).

#include <cpprof/export/pyroscope.hpp>
#include <doctest/doctest.h>

#include "support/external.hpp"
#include "support/go_pprof.hpp"
#include "support/http_receiver.hpp"
#include "support/json.hpp"
#include "support/sanitizers.hpp"
#include "support/stack_builder.hpp"

#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
namespace pyro = cpprof::pyroscope;
namespace json = cpprof_test::json;
using cpprof_test::http_receiver;
using cpprof_test::reply;
using clock_type = std::chrono::steady_clock;

double thread_cpu_us() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

cpprof::export_options fast_exporter() {
    return cpprof::export_options{}.timeout(2000ms).max_retries(3).initial_backoff(10ms).max_backoff(40ms).shutdown_timeout(0ms);
}

/// A CPU profile as cpprof's sampler makes them: samples/count and cpu/nanoseconds at 100 Hz.
cpprof::profile cpu_profile(std::int64_t start_ns = 1700000000123456789LL, std::int64_t duration_ns = 10000000000LL) {
    cpprof_test::builder b({{"samples", "count"}, {"cpu", "nanoseconds"}});
    const auto main_fn = b.fn("main", 10);
    const auto handle = b.fn("handle_request", 20);
    const auto orders = b.fn("load_orders", 30);
    const auto idle = b.fn("idle_loop", 40);
    b.add({main_fn, handle, orders}, {7, 70000000},
          {{"thread", "main", 0, ""}, {"route", "/api/orders", 0, ""}});
    b.add({main_fn, idle}, {3, 30000000}, {{"thread", "worker", 0, ""}});
    b.p.set_period({"cpu", "nanoseconds"}, 10000000);
    b.p.set_time_nanos(start_ns);
    b.p.set_duration_nanos(duration_ns);
    return b.p;
}

std::string error_of(const pyro::options& o) {
    try {
        pyro::client c{o};
    } catch (const cpprof::error& e) {
        return e.what();
    }
    return "no error";
}

// ---- npm pprof-format ------------------------------------------------------------------------

std::string decoder_dir() { return std::string(CPPROF_TEST_SOURCE_DIR) + "/tests/pyroscope"; }

bool decoder_available() {
    std::string missing;
    struct stat st;
    if (*CPPROF_TEST_NODE == '\0')
        missing = "node was not found when the tests were configured (Debian: nodejs)";
    else if (::stat((decoder_dir() + "/node_modules/pprof-format/package.json").c_str(), &st) != 0)
        missing = "the pprof-format npm package is not installed: run `npm ci` in " + decoder_dir() +
                  " (tools/install-deps.sh does)";
    if (missing.empty()) return true;
    const char* ci = std::getenv("CI");
    if (ci != nullptr && *ci != '\0')
        FAIL_CHECK("pprof-format check cannot run under CI: " << missing);
    else
        MESSAGE("SKIPPED: pprof-format check: " << missing);
    return false;
}

json::value pprof_format_decode(const std::string& file) {
    cpprof_test::temp_dir dir;
    const std::string err_file = dir / "stderr";
    const auto r = cpprof_test::run(cpprof_test::shell_quote(CPPROF_TEST_NODE) + " " +
                                    cpprof_test::shell_quote(decoder_dir() + "/decode.cjs") + " " +
                                    cpprof_test::shell_quote(file) + " 2>" + cpprof_test::shell_quote(err_file));
    INFO("node decode.cjs " << file << "\nstdout: " << r.out << "\nstderr: " << cpprof_test::read_file(err_file));
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out);
}

}  // namespace

TEST_CASE("pyroscope: options are checked against Pyroscope's naming rules") {
    const auto base = [] { return pyro::options{}.application("checkout").exporter(fast_exporter()); };
    CHECK(error_of(base()) == "no error");
    CHECK(error_of(base().application("my-app/v2.cpu").tags({{"env", "prod"}, {"k8s.pod_name", "x-1"}})) ==
          "no error");
    CHECK(contains(error_of(pyro::options{}), "application is required"));
    CHECK(contains(error_of(base().application("check out")),
                   "application 'check out' has the character ' ': Pyroscope allows letters, digits"));
    CHECK(contains(error_of(base().application("app{x}")), "has the character '{'"));
    CHECK(contains(error_of(base().tag("env-name", "prod")),
                   "tag key 'env-name' has the character '-': Pyroscope allows letters, digits, '_' and '.'"));
    CHECK(contains(error_of(base().tag("", "prod")), "empty key"));
    CHECK(contains(error_of(base().tag("__name__", "x")), "reserved"));
    CHECK(contains(error_of(base().tag("profile_id", "x")), "discard"));
    CHECK(contains(error_of(base().tag("env", "a").tag("env", "b")), "given twice"));
    CHECK(contains(error_of(base().tag("env", "")), "empty value"));
    CHECK(contains(error_of(base().tag("env", "a,b")), "without ',', '{', '}' and '='"));
    CHECK(contains(error_of(base().tag("env", "a}")), "'}'"));
    CHECK(contains(error_of(base().tag("env", " prod")), "starts or ends with a space"));
    pyro::options many = base();
    for (int i = 0; i < 27; ++i) many.tag("k" + std::to_string(i), "v");
    CHECK(contains(error_of(many), "more than 26 tags"));
    CHECK(contains(error_of(base().url("https://profiles-prod.grafana.net")), "https is not supported"));
    CHECK(contains(error_of(base().url("http://host:4040/?x=1")), "has a query"));
    CHECK(contains(error_of(base().basic_auth("a:b", "pw")), "basic_auth user has a ':'"));
    CHECK(contains(error_of(base().tenant_id("t\r\nX: y")), "tenant_id"));
    CHECK(contains(error_of(base().header("Content-Length", "1")), "written by cpprof itself"));
    CHECK(contains(error_of(base().sample_rate(-1)), "sample_rate"));
    CHECK(contains(error_of(base().spy_name("")), "spy_name"));
    CHECK(contains(error_of(base().exporter(cpprof::export_options{}.queue_capacity(0))), "queue_capacity"));
}

TEST_CASE("pyroscope: base64 for basic auth") {
    using pyro::detail::base64;
    CHECK(base64("") == "");
    CHECK(base64("f") == "Zg==");
    CHECK(base64("fo") == "Zm8=");
    CHECK(base64("foo") == "Zm9v");
    CHECK(base64("foob") == "Zm9vYg==");
    CHECK(base64("user:secret") == "dXNlcjpzZWNyZXQ=");
    CHECK(base64(std::string("\xff\xfe\x00", 3)) == "//4A");
}

TEST_CASE("pyroscope: push uploads the pprof to /ingest with name, times, format, auth and tenant") {
    http_receiver rx;
    pyro::client client{pyro::options{}
                            .url(rx.url())
                            .application("checkout")
                            .tags({{"env", "prod"}, {"region", "eu-west-1"}})
                            .basic_auth("user", "secret")
                            .tenant_id("team-a")
                            .header("X-Extra", "1")
                            .exporter(fast_exporter())};
    const cpprof::profile p = cpu_profile();
    REQUIRE(client.push(p));
    REQUIRE(client.flush(20000ms));
    const cpprof::export_stats s = client.stats();
    INFO(s.last_error);
    CHECK(s.sent == 1);
    REQUIRE(rx.count() == 1);
    const auto req = rx.requests()[0];
    CHECK(req.method == "POST");
    CHECK(req.path == "/ingest");
    REQUIRE(req.param("name") != nullptr);
    CHECK(*req.param("name") == "checkout{env=prod,region=eu-west-1}");
    CHECK(contains(req.query, "name=checkout%7Benv%3Dprod%2Cregion%3Deu-west-1%7D"));
    CHECK(*req.param("from") == "1700000000123456789");
    CHECK(*req.param("until") == "1700000010123456789");
    CHECK(*req.param("format") == "pprof");
    CHECK(*req.param("sampleRate") == "100");
    CHECK(*req.param("spyName") == "cpprof");
    CHECK(*req.header("Authorization") == "Basic dXNlcjpzZWNyZXQ=");
    CHECK(*req.header("X-Scope-OrgID") == "team-a");
    CHECK(*req.header("X-Extra") == "1");
    CHECK(*req.header("Content-Type") == "application/octet-stream");
    REQUIRE(req.body.size() > 2);
    CHECK(static_cast<unsigned char>(req.body[0]) == 0x1f);  // gzip
    CHECK(static_cast<unsigned char>(req.body[1]) == 0x8b);

    cpprof_test::temp_dir dir;
    const std::string file = dir / "upload.pb.gz";
    cpprof_test::write_file(file, req.body);

    SUBCASE("npm pprof-format reads the upload") {
        if (!decoder_available()) return;
        const json::value d = pprof_format_decode(file);
        CHECK(d["gzip"].kind == json::value::boolean);
        CHECK(d["gzip"].b);
        REQUIRE(d["sampleTypes"].size() == 2);
        CHECK(d["sampleTypes"][0][0].str() == "samples");
        CHECK(d["sampleTypes"][0][1].str() == "count");
        CHECK(d["sampleTypes"][1][0].str() == "cpu");
        CHECK(d["sampleTypes"][1][1].str() == "nanoseconds");
        CHECK(d["periodType"][0].str() == "cpu");
        CHECK(d["period"].str() == "10000000");
        CHECK(d["timeNanos"].str() == "1700000000123456789");
        CHECK(d["durationNanos"].str() == "10000000000");
        REQUIRE(d["samples"].size() == 2);
        const json::value& s0 = d["samples"][0];
        REQUIRE(s0["stack"].size() == 3);
        CHECK(s0["stack"][0].str() == "load_orders");  // leaf first
        CHECK(s0["stack"][1].str() == "handle_request");
        CHECK(s0["stack"][2].str() == "main");
        CHECK(s0["values"][0].str() == "7");
        CHECK(s0["values"][1].str() == "70000000");
        REQUIRE(s0["labels"].size() == 2);
        CHECK(s0["labels"][0][0].str() == "thread");
        CHECK(s0["labels"][0][1].str() == "main");
        CHECK(s0["labels"][1][0].str() == "route");
        CHECK(s0["labels"][1][1].str() == "/api/orders");
        const json::value& s1 = d["samples"][1];
        CHECK(s1["stack"][0].str() == "idle_loop");
        CHECK(s1["values"][0].str() == "3");
    }
    SUBCASE("go tool pprof reads the upload") {
        REQUIRE_GO_TOOL_PPROF();
        cpprof_test::go_pprof go;
        const std::string top = go.run("-top -sample_index=cpu", file);
        CHECK(contains(top, "load_orders"));
        CHECK(contains(top, "idle_loop"));
        INFO(top);
        CHECK(contains(top, "100ms total"));
        const std::string tags = go.run("-tags", file);
        CHECK(contains(tags, "route"));
        CHECK(contains(tags, "/api/orders"));
        CHECK(contains(tags, "worker"));
        const std::string traces = go.run("-traces", file);
        CHECK(contains(traces, "load_orders"));
        CHECK(contains(traces, "handle_request"));
    }
}

TEST_CASE("pyroscope: a URL path prefix, and a profile without a start time is dated now") {
    http_receiver rx;
    pyro::client client{pyro::options{}
                            .url(rx.url("/pyroscope/"))
                            .application("batch.job")
                            .sample_rate(99)
                            .spy_name("cpprof-test")
                            .exporter(fast_exporter())};
    const auto before = std::chrono::system_clock::now();
    REQUIRE(client.push(cpu_profile(0, 5000000000LL)));
    REQUIRE(client.flush(20000ms));
    REQUIRE(rx.count() == 1);
    const auto req = rx.requests()[0];
    CHECK(req.path == "/pyroscope/ingest");
    CHECK(*req.param("name") == "batch.job");
    CHECK(*req.param("sampleRate") == "99");
    CHECK(*req.param("spyName") == "cpprof-test");
    CHECK(req.header("Authorization") == nullptr);
    CHECK(req.header("X-Scope-OrgID") == nullptr);
    const std::string from = *req.param("from"), until = *req.param("until");
    CHECK(from.size() == 19);
    const std::int64_t from_ns = std::stoll(from), until_ns = std::stoll(until);
    CHECK(until_ns - from_ns == 5000000000LL);
    const std::int64_t before_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(before.time_since_epoch()).count();
    CHECK(until_ns >= before_ns);
    CHECK(until_ns - before_ns < 60000000000LL);
}

TEST_CASE("pyroscope: faults (down, 503 with Retry-After, 400) show in stats") {
    SUBCASE("receiver down") {
        http_receiver rx;
        const std::string url = rx.url();
        rx.close_listener();
        pyro::client client{pyro::options{}.url(url).application("app").exporter(fast_exporter().max_retries(1))};
        REQUIRE(client.push(cpu_profile()));
        REQUIRE(client.flush(20000ms));
        const auto s = client.stats();
        CHECK(s.failed == 1);
        CHECK(s.retried == 1);
        CHECK(contains(s.last_error, "pyroscope ingest: POST http://127.0.0.1:"));
        CHECK(contains(s.last_error, "Connection refused"));
    }
    SUBCASE("503 with Retry-After, then accepted") {
        http_receiver rx;
        rx.script({reply::status_code(503, "{\"code\":\"unavailable\",\"message\":\"ingester not ready\"}")
                       .header("Retry-After", "1"),
                   reply::ok()});
        pyro::client client{pyro::options{}.url(rx.url()).application("app").exporter(fast_exporter())};
        REQUIRE(client.push(cpu_profile()));
        REQUIRE(client.flush(20000ms));
        const auto s = client.stats();
        CHECK(s.sent == 1);
        CHECK(s.retried == 1);
        CHECK(contains(s.last_error, "ingester not ready"));
        const auto reqs = rx.requests();
        REQUIRE(reqs.size() == 2);
        CHECK(reqs[1].at - reqs[0].at >= 990ms);
        CHECK(reqs[0].body == reqs[1].body);
    }
    SUBCASE("400 (Pyroscope refused the name) is not retried") {
        http_receiver rx;
        rx.set_default(reply::status_code(400, "{\"code\":\"invalid_argument\",\"message\":\"invalid service name\"}"));
        pyro::client client{pyro::options{}.url(rx.url()).application("app").exporter(fast_exporter())};
        REQUIRE(client.push(cpu_profile()));
        REQUIRE(client.flush(20000ms));
        const auto s = client.stats();
        CHECK(s.failed == 1);
        CHECK(s.retried == 0);
        CHECK(rx.count() == 1);
        CHECK(contains(s.last_error, "HTTP 400 Bad Request: {\"code\":\"invalid_argument\",\"message\":\"invalid service name\"} (not retried)"));
    }
}

TEST_CASE("pyroscope: push stays fast while the server hangs, drops are counted, destruction is bounded") {
    http_receiver rx;
    rx.set_default(reply::ok().hang());
    const cpprof::profile p = cpu_profile();
    std::vector<double> push_us, push_cpu_us;
    double destroy_ms = 0;
    cpprof::export_stats s;
    {
        auto client = std::make_unique<pyro::client>(
            pyro::options{}.url(rx.url()).application("app").exporter(
                cpprof::export_options{}.queue_capacity(8).timeout(30000ms).shutdown_timeout(200ms)));
        REQUIRE(client->push(p));
        REQUIRE(rx.wait_for_requests(1, 10000ms));
        for (int i = 0; i < 100; ++i) {
            const double c0 = thread_cpu_us();
            const auto t0 = clock_type::now();
            client->push(p);
            push_us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
            push_cpu_us.push_back(thread_cpu_us() - c0);
        }
        s = client->stats();
        const auto t0 = clock_type::now();
        client.reset();
        destroy_ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
    }
    std::sort(push_us.begin(), push_us.end());
    std::sort(push_cpu_us.begin(), push_cpu_us.end());
    const double median = push_us[push_us.size() / 2], p95 = push_us[push_us.size() * 95 / 100];
    const double cpu_p95 = push_cpu_us[push_cpu_us.size() * 95 / 100];
    MESSAGE("pyroscope push() (encode + gzip + queue) while the server hangs: median " << median << " us, p95 "
                                                                                       << p95 << " us, max "
                                                                                       << push_us.back()
                                                                                       << " us (CPU p95 " << cpu_p95
                                                                                       << " us); destructor "
                                                                                       << destroy_ms << " ms");
    // Encoding and gzip are CPU work on the caller's thread (about 10 us for this profile in a
    // release build); sanitizers and -O0 make that work 10-50x slower, never a network wait. The
    // work is checked in the thread's CPU time, which other processes on a busy machine do not
    // stretch; the wall time only has to show that no push waited for the hung server (its
    // timeout is 30 s).
#ifdef __OPTIMIZE__
    const double slow = (CPPROF_TEST_TSAN || CPPROF_TEST_ASAN) ? 20.0 : 1.0;
#else
    const double slow = (CPPROF_TEST_TSAN || CPPROF_TEST_ASAN) ? 50.0 : 5.0;
#endif
    CHECK(cpu_p95 < 1000.0 * slow);
    CHECK(push_us.back() < 1e6);
    CHECK(s.enqueued == 9);
    CHECK(s.dropped_queue_full == 92);
    CHECK(s.in_queue == 9);
    CHECK(destroy_ms < 2000.0);
}

TEST_CASE("pyroscope: Node's HTTP server as the peer: a 503 retried, a chunked 200, pprof-format decodes") {
    if (!decoder_available()) return;
    // server.cjs prints its port, then one JSON line per request once it has two.
    const std::string cmd = cpprof_test::shell_quote(CPPROF_TEST_NODE) + " " +
                            cpprof_test::shell_quote(decoder_dir() + "/server.cjs") + " 2";
    std::FILE* node = ::popen(cmd.c_str(), "r");
    REQUIRE(node != nullptr);
    char line[256] = {};
    REQUIRE(std::fgets(line, sizeof line, node) != nullptr);
    const int port = std::atoi(line);
    REQUIRE(port > 0);
    cpprof::export_stats s;
    {
        pyro::client client{pyro::options{}
                                .url("http://localhost:" + std::to_string(port))  // a name: getaddrinfo
                                .application("checkout")
                                .tag("env", "prod")
                                .exporter(fast_exporter())};
        REQUIRE(client.push(cpu_profile()));
        CHECK(client.flush(20000ms));
        s = client.stats();
    }
    std::string out;
    while (std::fgets(line, sizeof line, node) != nullptr) out += line;
    const int status = ::pclose(node);
    INFO("server.cjs printed:\n" << out << "\nlast_error: " << s.last_error);
    CHECK(status == 0);
    CHECK(s.sent == 1);
    CHECK(s.retried == 1);
    CHECK(contains(s.last_error, "HTTP 503 Service Unavailable (Retry-After: 0): {\"code\":\"unavailable\",\"message\":\"try again\"}"));
    std::vector<json::value> reqs;
    std::size_t pos = 0;
    while (pos < out.size()) {
        const std::size_t nl = out.find('\n', pos);
        reqs.push_back(json::parse(out.substr(pos, nl - pos)));
        pos = nl == std::string::npos ? out.size() : nl + 1;
    }
    REQUIRE(reqs.size() == 2);
    for (const json::value& r : reqs) {
        CHECK(r["method"].str() == "POST");
        CHECK(contains(r["url"].str(), "/ingest?name=checkout%7Benv%3Dprod%7D&from=1700000000123456789"));
        CHECK(r["headers"]["host"].str() == "localhost:" + std::to_string(port));
        CHECK(r["headers"]["content-type"].str() == "application/octet-stream");
        REQUIRE(r.has("profile"));
        CHECK(r["profile"]["samples"].as_int() == 2);
        CHECK(r["profile"]["sampleTypes"][1][0].str() == "cpu");
        REQUIRE(r["profile"]["functions"].size() == 4);
        CHECK(r["profile"]["functions"][0].str() == "handle_request");
    }
}
