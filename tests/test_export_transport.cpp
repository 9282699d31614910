// The export transport (export/transport.hpp) against a real peer on 127.0.0.1
// (support/http_receiver.hpp): what goes on the wire, response framings, retries with backoff
// and Retry-After, no retry on 4xx, timeouts, a receiver that is down, hangs or closes
// mid-response; the application thread's submit() stays fast throughout, drops are counted,
// and flush() and the destructor return within their bounds.

#include <cpprof/export/transport.hpp>
#include <doctest/doctest.h>

#include "support/http_receiver.hpp"
#include "support/sanitizers.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using cpprof::export_options;
using cpprof::export_stats;
using cpprof::detail::background_exporter;
using cpprof::detail::export_request;
using cpprof_test::http_receiver;
using cpprof_test::reply;
using clock_type = std::chrono::steady_clock;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

double ms_since(clock_type::time_point t0) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

/// Options for tests: short backoffs and timeouts, so faults are seen in milliseconds.
export_options fast_options() {
    return export_options{}
        .timeout(2000ms)
        .max_retries(3)
        .initial_backoff(10ms)
        .max_backoff(40ms)
        .shutdown_timeout(0ms);
}

export_request post(const std::string& url, std::string body = "payload") {
    export_request r;
    r.url = url;
    r.content_type = "application/octet-stream";
    r.body = std::move(body);
    r.what = "test upload";
    return r;
}

/// Waits until the exporter has finished with everything it accepted (flush), failing the test
/// when it does not within 20 s (a loaded machine is slow, never that slow).
void drain(background_exporter& e) { REQUIRE(e.flush(20000ms)); }

void check_balance(const export_stats& s) {
    CHECK(s.enqueued == s.sent + s.failed + s.abandoned + s.in_queue);
}

}  // namespace

TEST_CASE("export: URLs: http only, https refused with the reason, bad URLs named") {
    using cpprof::detail::parse_http_url;
    auto u = parse_http_url("http://127.0.0.1:4040/ingest?name=app%7Benv%3Dprod%7D");
    CHECK(u.host == "127.0.0.1");
    CHECK(u.port == 4040);
    CHECK(u.target == "/ingest?name=app%7Benv%3Dprod%7D");
    CHECK(u.host_header == "127.0.0.1:4040");
    u = parse_http_url("HTTP://collector");
    CHECK(u.port == 80);
    CHECK(u.target == "/");
    CHECK(u.host_header == "collector");
    u = parse_http_url("http://[::1]:4318?x=1");
    CHECK(u.host == "::1");
    CHECK(u.target == "/?x=1");
    CHECK(u.host_header == "[::1]:4318");

    auto message = [](const char* url) {
        try {
            (void)parse_http_url(url);
        } catch (const cpprof::error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    const std::string tls = message("https://collector:4318/v1/metrics");
    CHECK(contains(tls, "https is not supported"));
    CHECK(contains(tls, "TLS"));
    CHECK(contains(tls, "collector or agent"));
    CHECK(contains(message("ftp://x/"), "not an http:// URL"));
    CHECK(contains(message("http://user:pw@host/"), "credentials"));
    CHECK(contains(message("http://host:99999/"), "larger than 65535"));
    CHECK(contains(message("http://host:/"), "empty port"));
    CHECK(contains(message("http:///path"), "no host"));
    CHECK(contains(message("http://host/a b"), "space"));
    CHECK(contains(message("http://host/#frag"), "fragment"));
    CHECK(contains(message("http://ho$t/"), "bad host name"));
}

TEST_CASE("export: response reader: Content-Length, chunked, close-delimited, interim, limits") {
    using reader = cpprof::detail::http_response_reader;
    using st = reader::state;
    // Fed one byte at a time, so every state sees partial input.
    auto read_all = [](const std::string& wire, std::size_t /*max_body*/, bool eof, reader& r) {
        st s = st::more;
        for (char c : wire) {
            s = r.feed(std::string_view(&c, 1));
            if (s != st::more) return s;
        }
        return eof ? r.finish() : s;
    };
    {
        reader r(1 << 20);
        CHECK(read_all("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhello", 1 << 20, false, r) == st::done);
        CHECK(r.status == 200);
        CHECK(r.body == "hello");
        REQUIRE(r.header("x-a") != nullptr);
        CHECK(*r.header("x-a") == "b");
    }
    {
        reader r(1 << 20);
        CHECK(read_all("HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n"
                       "Retry-After: 3\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nT: 1\r\n\r\n",
                       1 << 20, false, r) == st::done);
        CHECK(r.status == 503);
        CHECK(r.body == "hello!");
        CHECK(*r.header("Retry-After") == "3");
    }
    {
        reader r(1 << 20);
        CHECK(read_all("HTTP/1.0 200 OK\nContent-Type: text/plain\n\nuntil close", 1 << 20, false, r) == st::more);
        CHECK(r.finish() == st::done);
        CHECK(r.body == "until close");
    }
    {
        reader r(1 << 20);
        CHECK(read_all("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 1 << 20, false, r) == st::done);
        CHECK(r.status == 204);
        CHECK(r.body.empty());
    }
    {
        reader r(4);
        CHECK(read_all("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", 4, false, r) == st::done);
        CHECK(r.body == "0123");
        CHECK(r.truncated);
    }
    {
        reader r(1 << 20);
        CHECK(read_all("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234", 1 << 20, true, r) == st::error);
        CHECK(contains(r.error, "closed in the middle of the response body"));
    }
    {
        reader r(1 << 20);
        CHECK(read_all("HTTP/1.1 200 OK\r\nContent-Le", 1 << 20, true, r) == st::error);
        CHECK(contains(r.error, "in the middle of the response headers"));
    }
    {
        reader r(1 << 20);
        CHECK(r.finish() == st::error);
        CHECK(contains(r.error, "before any response"));
    }
    for (const char* bad : {"SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
                            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n"}) {
        reader r(1 << 20);
        INFO(bad);
        CHECK(read_all(bad, 1 << 20, true, r) == st::error);
        CHECK(!r.error.empty());
    }
    {
        reader r(1 << 20);
        const std::string huge = "HTTP/1.1 200 OK\r\nX: " + std::string(70000, 'a');
        CHECK(r.feed(huge) == st::error);
        CHECK(contains(r.error, "64 KiB"));
    }
}

TEST_CASE("export: Retry-After in seconds and as an HTTP-date in all three forms") {
    using cpprof::detail::parse_http_date;
    using cpprof::detail::retry_after_ms;
    std::int64_t t = 0;
    REQUIRE(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", t));
    CHECK(t == 784111777);
    REQUIRE(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", t));
    CHECK(t == 784111777);
    REQUIRE(parse_http_date("Sun Nov  6 08:49:37 1994", t));
    CHECK(t == 784111777);
    REQUIRE(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT", t));
    CHECK(t == 0);
    REQUIRE(parse_http_date("Tue, 29 Feb 2028 23:59:59 GMT", t));
    CHECK(t == 1835481599);
    for (const char* bad : {"", "tomorrow", "Sun, 06 Nov 1994", "Sun, 06 Foo 1994 08:49:37 GMT",
                            "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:00:00 GMT"})
        CHECK_MESSAGE(!parse_http_date(bad, t), bad);

    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(784111777));
    CHECK(retry_after_ms("120", now) == 120000);
    CHECK(retry_after_ms(" 0 ", now) == 0);
    CHECK(retry_after_ms("Sun, 06 Nov 1994 08:49:47 GMT", now) == 10000);
    CHECK(retry_after_ms("Sun, 06 Nov 1994 08:49:30 GMT", now) == 0);  // in the past: now
    CHECK(retry_after_ms("-5", now) == -1);
    CHECK(retry_after_ms("soon", now) == -1);
}

TEST_CASE("export: options are validated with clear messages") {
    auto message = [](const export_options& o) {
        try {
            background_exporter e{o};
        } catch (const cpprof::error& err) {
            return std::string(err.what());
        }
        return std::string("no error");
    };
    CHECK(contains(message(export_options{}.queue_capacity(0)), "queue_capacity must be in 1..100000"));
    CHECK(contains(message(export_options{}.timeout(0ms)), "timeout must be"));
    CHECK(contains(message(export_options{}.max_retries(-1)), "max_retries"));
    CHECK(contains(message(export_options{}.initial_backoff(100ms).max_backoff(10ms)),
                   "max_backoff (10 ms) is shorter than initial_backoff (100 ms)"));
    CHECK(contains(message(export_options{}.user_agent("a\r\nb")), "user_agent"));
    CHECK(message(export_options{}) == "no error");
}

TEST_CASE("export: a request arrives with its method, target, headers and exact body") {
    http_receiver rx;
    background_exporter e{fast_options().user_agent("cpprof-test/1")};
    std::string body = std::string("\x00\x01\x02 binary\r\n\r\n", 14) + std::string(300000, 'x');
    export_request r = post(rx.url("/ingest?name=app%7Benv%3Dprod%7D&from=1"), body);
    r.headers = {{"X-Scope-OrgID", "tenant-1"}, {"Authorization", "Basic dTpw"}};
    REQUIRE(e.submit(r));
    drain(e);
    REQUIRE(rx.count() == 1);
    const auto got = rx.requests()[0];
    CHECK(got.method == "POST");
    CHECK(got.path == "/ingest");
    CHECK(got.query == "name=app%7Benv%3Dprod%7D&from=1");
    REQUIRE(got.param("name") != nullptr);
    CHECK(*got.param("name") == "app{env=prod}");
    CHECK(*got.header("Content-Type") == "application/octet-stream");
    CHECK(*got.header("X-Scope-OrgID") == "tenant-1");
    CHECK(*got.header("Authorization") == "Basic dTpw");
    CHECK(*got.header("User-Agent") == "cpprof-test/1");
    CHECK(*got.header("Host") == "127.0.0.1:" + std::to_string(rx.port()));
    CHECK(got.body == body);
    const export_stats s = e.stats();
    CHECK(s.enqueued == 1);
    CHECK(s.sent == 1);
    CHECK(s.retried == 0);
    CHECK(s.failed == 0);
    CHECK(s.in_queue == 0);
    CHECK(s.last_error.empty());
}

TEST_CASE("export: chunked, close-delimited and 204 responses count as sent") {
    http_receiver rx;
    rx.script({reply::ok().body("{\"ok\":true, a longer body in chunks}").framed(cpprof_test::framing::chunked),
               reply::ok().body("closed when done").framed(cpprof_test::framing::close),
               reply::status_code(204),
               reply::status_code(202, "accepted")});
    background_exporter e{fast_options()};
    for (int i = 0; i < 4; ++i) REQUIRE(e.submit(post(rx.url("/v1/metrics"))));
    drain(e);
    const export_stats s = e.stats();
    INFO(s.last_error);
    CHECK(s.sent == 4);
    CHECK(s.retried == 0);
    CHECK(rx.count() == 4);
}

TEST_CASE("export: 500 and 503 are retried with backoff until the receiver accepts") {
    http_receiver rx;
    rx.script({reply::status_code(500, "boom"), reply::status_code(503, "later"), reply::ok()});
    background_exporter e{fast_options()};
    REQUIRE(e.submit(post(rx.url("/ingest"))));
    drain(e);
    const export_stats s = e.stats();
    CHECK(s.sent == 1);
    CHECK(s.retried == 2);
    CHECK(s.failed == 0);
    CHECK(contains(s.last_error, "HTTP 503 Service Unavailable: later"));
    const auto reqs = rx.requests();
    REQUIRE(reqs.size() == 3);
    for (const auto& r : reqs) CHECK(r.body == "payload");
    // Backoff with jitter: the first wait is in [5, 10] ms, the second in [10, 20] ms.
    CHECK(reqs[1].at - reqs[0].at >= 5ms);
    CHECK(reqs[2].at - reqs[1].at >= 10ms);
    check_balance(s);
}

TEST_CASE("export: retries are exhausted: failed, with the attempts in last_error") {
    http_receiver rx;
    rx.set_default(reply::status_code(502, "bad gateway"));
    background_exporter e{fast_options().max_retries(2)};
    REQUIRE(e.submit(post(rx.url("/x"))));
    drain(e);
    const export_stats s = e.stats();
    CHECK(rx.count() == 3);
    CHECK(s.retried == 2);
    CHECK(s.failed == 1);
    CHECK(s.sent == 0);
    CHECK(contains(s.last_error, "test upload: POST http://127.0.0.1:"));
    CHECK(contains(s.last_error, "HTTP 502 Bad Gateway: bad gateway (gave up after 3 attempts)"));
    check_balance(s);
}

TEST_CASE("export: 429 with Retry-After in seconds waits that long, not the short backoff") {
    http_receiver rx;
    rx.script({reply::status_code(429, "slow down").header("Retry-After", "1"), reply::ok()});
    background_exporter e{fast_options()};
    REQUIRE(e.submit(post(rx.url("/ingest"))));
    drain(e);
    const auto reqs = rx.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[1].at - reqs[0].at >= 990ms);
    const export_stats s = e.stats();
    CHECK(s.sent == 1);
    CHECK(s.retried == 1);
    CHECK(contains(s.last_error, "HTTP 429 Too Many Requests (Retry-After: 1): slow down"));
}

TEST_CASE("export: Retry-After as an HTTP-date, and its cap max_retry_after") {
    http_receiver rx;
    // Three seconds from now, in IMF-fixdate. The date has whole seconds, so it is more than 2 s
    // away; the wait is capped at 1.5 s, and checked at >= 0.9 s, so the first request may take
    // a second to arrive on a busy machine and the check still holds.
    const std::time_t when = std::time(nullptr) + 3;
    std::tm tm{};
    ::gmtime_r(&when, &tm);
    char date[64];
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    rx.script({reply::status_code(503).header("Retry-After", date), reply::ok(),
               reply::status_code(503).header("Retry-After", "3600"), reply::ok()});
    background_exporter e{fast_options().max_retry_after(1500ms)};
    REQUIRE(e.submit(post(rx.url("/a"))));
    REQUIRE(e.submit(post(rx.url("/b"))));
    drain(e);
    const auto reqs = rx.requests();
    REQUIRE(reqs.size() == 4);
    INFO("Retry-After: " << date);
    CHECK(reqs[1].at - reqs[0].at >= 900ms);
    CHECK(reqs[3].at - reqs[2].at >= 1490ms);  // an hour asked, max_retry_after granted
    CHECK(reqs[3].at - reqs[2].at < 5000ms);
    CHECK(e.stats().sent == 2);
}

TEST_CASE("export: other 4xx statuses and redirects fail at once, without retry") {
    http_receiver rx;
    rx.script({reply::status_code(400, "{\"code\":\"invalid_argument\",\"message\":\"bad name\"}"),
               reply::status_code(413, "too large"), reply::status_code(301).header("Location", "/y")});
    background_exporter e{fast_options()};
    for (int i = 0; i < 3; ++i) REQUIRE(e.submit(post(rx.url("/ingest"))));
    drain(e);
    const export_stats s = e.stats();
    CHECK(rx.count() == 3);
    CHECK(s.failed == 3);
    CHECK(s.retried == 0);
    CHECK(contains(s.last_error, "HTTP 301"));
    CHECK(contains(s.last_error, "(not retried)"));
}

TEST_CASE("export: receiver down (connection refused): retried, then failed, submit stays fast") {
    http_receiver rx;
    const std::string url = rx.url("/ingest");
    rx.close_listener();
    background_exporter e{fast_options().max_retries(2)};
    const auto t0 = clock_type::now();
    REQUIRE(e.submit(post(url)));
    CHECK(ms_since(t0) < 50.0);
    drain(e);
    const export_stats s = e.stats();
    CHECK(s.failed == 1);
    CHECK(s.retried == 2);
    CHECK(contains(s.last_error, "cannot connect to 127.0.0.1:"));
    CHECK(contains(s.last_error, "Connection refused"));
    CHECK(contains(s.last_error, "gave up after 3 attempts"));
    CHECK(rx.count() == 0);
}

TEST_CASE("export: a slow receiver times out, the attempt is retried, then given up") {
    http_receiver rx;
    rx.set_default(reply::ok().delay(5000));
    background_exporter e{fast_options().timeout(200ms).max_retries(1)};
    const auto t0 = clock_type::now();
    REQUIRE(e.submit(post(rx.url("/slow"))));
    drain(e);
    const double took = ms_since(t0);
    const export_stats s = e.stats();
    CHECK(s.failed == 1);
    CHECK(s.retried == 1);
    CHECK(contains(s.last_error, "timed out waiting for the response from 127.0.0.1:"));
    CHECK(contains(s.last_error, "after 200 ms"));
    CHECK(took >= 400.0);   // two attempts of 200 ms
    CHECK(took < 4000.0);   // not the receiver's 5 s
    CHECK(rx.count() == 2);
}

TEST_CASE("export: the receiver closes mid-response or without answering: retried") {
    http_receiver rx;
    rx.script({reply::ok().body("0123456789").close_mid_response(), reply::ok().close_without_answer(),
               reply::ok()});
    background_exporter e{fast_options()};
    REQUIRE(e.submit(post(rx.url("/ingest"))));
    drain(e);
    const export_stats s = e.stats();
    CHECK(s.sent == 1);
    CHECK(s.retried == 2);
    CHECK(rx.count() == 3);
    CHECK(contains(s.last_error, "before any response"));
}

TEST_CASE("export: a request that cannot be sent fails without touching the network") {
    http_receiver rx;
    background_exporter e{fast_options()};
    export_request bad_header = post(rx.url("/x"));
    bad_header.headers = {{"X-Bad", "a\r\nInjected: yes"}};
    export_request own_header = post(rx.url("/x"));
    own_header.headers = {{"content-length", "1"}};
    REQUIRE(e.submit(bad_header));
    REQUIRE(e.submit(own_header));
    REQUIRE(e.submit(post("https://127.0.0.1:1/v1/traces")));
    drain(e);
    const export_stats s = e.stats();
    CHECK(s.failed == 3);
    CHECK(s.retried == 0);
    CHECK(contains(s.last_error, "test upload: export: URL 'https://127.0.0.1:1/v1/traces': https is not supported"));
    CHECK(rx.connections() == 0);
}

TEST_CASE("export: a hanging receiver: submit stays fast, the queue bound drops, flush and the "
          "destructor return in time") {
    http_receiver rx;
    rx.set_default(reply::ok().hang());
    std::vector<double> submit_us;
    export_stats s;
    double destroy_ms = 0;
    {
        auto e = std::make_unique<background_exporter>(export_options{}
                                                           .queue_capacity(4)
                                                           .timeout(30000ms)  // the hang would last 30 s
                                                           .shutdown_timeout(100ms));
        REQUIRE(e->submit(post(rx.url("/first"))));
        REQUIRE(rx.wait_for_requests(1, 10000ms));  // the first one is in flight, hanging
        int accepted = 0;
        for (int i = 0; i < 200; ++i) {
            export_request r = post(rx.url("/more"), std::string(10000, 'p'));
            const auto t0 = clock_type::now();
            accepted += e->submit(std::move(r)) ? 1 : 0;
            submit_us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
        }
        CHECK(accepted == 4);
        const auto t0 = clock_type::now();
        CHECK_FALSE(e->flush(200ms));
        const double flush_ms = ms_since(t0);
        CHECK(flush_ms >= 190.0);
        CHECK(flush_ms < 2000.0);
        s = e->stats();
        CHECK(s.enqueued == 5);
        CHECK(s.dropped_queue_full == 196);
        CHECK(s.in_queue == 5);
        check_balance(s);
        const auto d0 = clock_type::now();
        e.reset();
        destroy_ms = ms_since(d0);
    }
    std::sort(submit_us.begin(), submit_us.end());
    const double median = submit_us[submit_us.size() / 2];
    const double p95 = submit_us[submit_us.size() * 95 / 100];
    const double worst = submit_us.back();
    MESSAGE("submit() while the receiver hangs: median " << median << " us, p95 " << p95
                                                         << " us, max " << worst << " us; destructor "
                                                         << destroy_ms << " ms");
    const double slow = (CPPROF_TEST_TSAN || CPPROF_TEST_ASAN) ? 20.0 : 1.0;  // sanitizer overhead
    CHECK(median < 100.0 * slow);
    CHECK(p95 < 1000.0 * slow);
    CHECK(worst < 50000.0 * slow);  // one preemption on a loaded machine, never a network wait
    CHECK(destroy_ms < 2000.0);  // shutdown_timeout 100 ms + cancelling the hung call
}

TEST_CASE("export: the destructor cancels a long backoff and counts what was left as abandoned") {
    http_receiver rx;
    rx.set_default(reply::status_code(503).header("Retry-After", "30"));
    auto e = std::make_unique<background_exporter>(
        export_options{}.max_retry_after(60000ms).shutdown_timeout(50ms));
    REQUIRE(e->submit(post(rx.url("/a"))));
    REQUIRE(e->submit(post(rx.url("/b"))));
    REQUIRE(rx.wait_for_requests(1, 10000ms));
    // The first request now waits 30 s for its retry (once its 503 has been read).
    export_stats s = e->stats();
    for (const auto until = clock_type::now() + 10s; s.retried == 0 && clock_type::now() < until;
         s = e->stats())
        std::this_thread::sleep_for(5ms);
    CHECK(s.retried == 1);
    CHECK(contains(s.last_error, "retrying in 30000 ms"));
    const auto t0 = clock_type::now();
    e.reset();
    CHECK(ms_since(t0) < 2000.0);
    CHECK(rx.count() == 1);
}

TEST_CASE("export: flush waits for the queue, then returns true, with concurrent submitters") {
    http_receiver rx;
    background_exporter e{fast_options().queue_capacity(1000)};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 10; ++i) e.submit(post(rx.url("/t" + std::to_string(t))));
        });
    for (auto& t : threads) t.join();
    CHECK(e.flush(20000ms));
    const export_stats s = e.stats();
    CHECK(s.enqueued == 40);
    CHECK(s.sent == 40);
    CHECK(rx.count() == 40);
    CHECK(e.flush(0ms));  // nothing left: true at once
}
