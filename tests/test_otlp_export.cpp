// otlp::exporter and otlp::span end to end: requests go through the background transport to a
// receiver on 127.0.0.1 (support/http_receiver.hpp), and the bodies it records are decoded by
// OpenTelemetry's own code (support/otlp_decode.hpp). Faults: 503 with Retry-After, receiver
// down, a full queue.
#include <cpprof/analysis/hotspots.hpp>
#include <cpprof/analysis/query.hpp>
#include <cpprof/cpu/profiler_guard.hpp>
#include <cpprof/export/otlp.hpp>
#include <cpprof/version.hpp>

#include <doctest/doctest.h>

#include "support/http_receiver.hpp"
#include "support/json.hpp"
#include "support/otlp_decode.hpp"
#include "support/sanitizers.hpp"
#include "support/stack_builder.hpp"
#include "workloads.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace {

namespace json = cpprof_test::json;
namespace otlp = cpprof::otlp;
using cpprof_test::builder;
using cpprof_test::reply;
using cpprof_test::otlp::attr_int;
using cpprof_test::otlp::attr_str;
using ms = std::chrono::milliseconds;

CPPROF_TEST_NOINLINE void cpprof_test_otlp_spanned(int ms_cpu) {
    workloads::burn_cpu_ns(std::int64_t{ms_cpu} * 1000000);
    CPPROF_TEST_NO_TAIL_CALL();
}
CPPROF_TEST_NOINLINE void cpprof_test_otlp_outside(int ms_cpu) {
    workloads::burn_cpu_ns(std::int64_t{ms_cpu} * 1000000);
    CPPROF_TEST_NO_TAIL_CALL();
}

constexpr std::int64_t t0 = 1700000000000000000;

cpprof::profile small_profile(std::int64_t n) {
    builder b({{"samples", "count"}, {"cpu", "nanoseconds"}});
    b.add({b.fn("main"), b.fn("work")}, {n, n * 10000000});
    b.p.set_time_nanos(t0);
    b.p.set_duration_nanos(1000000000);
    return b.p;
}

otlp::options fast_options(const cpprof_test::http_receiver& rx) {
    return otlp::options{}
        .endpoint(rx.url("/"))  // a trailing slash must not double the paths'
        .service_name("checkout")
        .header("x-api-key", "secret")
        .timeout(ms(2000))
        .transport(cpprof::export_options{}
                       .timeout(ms(2000))
                       .initial_backoff(ms(20))
                       .max_backoff(ms(100))
                       .max_retries(3));
}

}  // namespace

TEST_CASE("otlp exporter: metrics, profiles and spans reach the receiver, as OTLP/HTTP says") {
    if (!cpprof_test::otlp::decoder_available()) return;
    cpprof_test::http_receiver rx;
    otlp::exporter ex{fast_options(rx)};
    CHECK(ex.export_metrics(small_profile(10)));
    CHECK(ex.export_metrics(small_profile(5)));  // the counter is cumulative: 15
    CHECK(ex.export_profile(small_profile(3)));
    otlp::span_data s;
    s.trace = otlp::trace_id::random();
    s.id = otlp::span_id::random();
    s.name = "direct";
    s.start_unix_nano = 1;
    s.end_unix_nano = 2;
    CHECK(ex.export_spans({s}));
    REQUIRE(ex.flush(std::chrono::seconds(10)));
    const cpprof::export_stats st = ex.stats();
    CHECK(st.enqueued == 4);
    CHECK(st.sent == 4);
    CHECK(st.failed == 0);
    CHECK(st.dropped_queue_full == 0);
    CHECK(st.last_error.empty());

    const auto reqs = rx.requests();
    REQUIRE(reqs.size() == 4);
    const char* paths[] = {"/v1/metrics", "/v1/metrics", "/v1development/profiles", "/v1/traces"};
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(reqs[i].method == "POST");
        CHECK(reqs[i].path == paths[i]);
        REQUIRE(reqs[i].header("Content-Type") != nullptr);
        CHECK(*reqs[i].header("Content-Type") == "application/x-protobuf");
        REQUIRE(reqs[i].header("x-api-key") != nullptr);
        CHECK(*reqs[i].header("x-api-key") == "secret");
    }
    const json::value m1 = cpprof_test::otlp::decode("metrics", reqs[0].body);
    const json::value m2 = cpprof_test::otlp::decode("metrics", reqs[1].body);
    auto total_point = [](const json::value& m) -> const json::value& {
        const json::value& rm = m["message"]["resourceMetrics"][0];
        CHECK(attr_str(rm["resource"]["attributes"], "service.name") == "checkout");
        CHECK(rm["scopeMetrics"][0]["scope"]["version"].str() == CPPROF_VERSION_STRING);
        return rm["scopeMetrics"][0]["metrics"][0]["sum"]["dataPoints"][0];
    };
    CHECK(total_point(m1)["asInt"].str() == "10");
    CHECK(total_point(m2)["asInt"].str() == "15");
    CHECK(total_point(m1)["startTimeUnixNano"].str() == std::to_string(t0));
    CHECK(total_point(m2)["startTimeUnixNano"].str() == std::to_string(t0));  // fixed start
    const json::value p = cpprof_test::otlp::decode("profiles", reqs[2].body);
    CHECK(p["message"]["resourceProfiles"][0]["scopeProfiles"][0]["profiles"].size() == 2);
    const json::value t = cpprof_test::otlp::decode("traces", reqs[3].body);
    const json::value& span = t["message"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    CHECK(span["name"].str() == "direct");
    CHECK(span["spanId"].str() == s.id.hex());
}

TEST_CASE("otlp exporter: options are checked") {
    CHECK_THROWS_AS(otlp::exporter{otlp::options{}.endpoint("https://collector:4318")}, cpprof::error);
    CHECK_THROWS_AS(otlp::exporter{otlp::options{}.header("bad\r\nname", "v")}, cpprof::error);
    CHECK_THROWS_AS(otlp::exporter{otlp::options{}.service_name("")}, cpprof::error);
    CHECK_THROWS_AS(otlp::exporter{otlp::options{}.queue_size(0)}, cpprof::error);
    const otlp::options o = otlp::options{}.queue_size(7).timeout(ms(1234)).service_name("a");
    CHECK(o.queue_size() == 7);
    CHECK(o.timeout() == ms(1234));
    CHECK(o.endpoint() == "http://127.0.0.1:4318");
}

TEST_CASE("otlp exporter: 503 with Retry-After is retried, and counted") {
    cpprof_test::http_receiver rx;
    rx.script({reply::status_code(503).header("Retry-After", "1"), reply::ok()});
    otlp::exporter ex{fast_options(rx)};
    const auto before = std::chrono::steady_clock::now();
    CHECK(ex.export_metrics(small_profile(4)));
    CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(1));  // did not wait
    REQUIRE(ex.flush(std::chrono::seconds(10)));
    const cpprof::export_stats st = ex.stats();
    CHECK(st.sent == 1);
    CHECK(st.retried == 1);
    CHECK(st.failed == 0);
    const auto reqs = rx.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[1].at - reqs[0].at >= ms(900));  // Retry-After: 1 honoured
    CHECK(reqs[0].body == reqs[1].body);
}

TEST_CASE("otlp exporter: receiver down; the caller never waits and the failure is counted") {
    std::string url;
    {
        cpprof_test::http_receiver rx;
        url = rx.url();
        rx.close_listener();
    }
    otlp::exporter ex{otlp::options{}.endpoint(url).transport(
        cpprof::export_options{}.timeout(ms(500)).initial_backoff(ms(10)).max_backoff(ms(20)).max_retries(2))};
    const auto before = std::chrono::steady_clock::now();
    for (int i = 0; i < 3; ++i) CHECK(ex.export_profile(small_profile(1)));
    CHECK(std::chrono::steady_clock::now() - before < ms(500));
    CHECK(ex.flush(std::chrono::seconds(20)));
    const cpprof::export_stats st = ex.stats();
    CHECK(st.enqueued == 3);
    CHECK(st.sent == 0);
    CHECK(st.failed == 3);
    CHECK(st.retried == 6);
    CHECK(st.last_error.find("otlp profiles") != std::string::npos);
}

TEST_CASE("otlp exporter: a full queue drops requests and ended spans, and counts them") {
    cpprof_test::http_receiver rx;
    rx.set_default(reply::ok().hang());
    otlp::exporter ex{otlp::options{}.endpoint(rx.url()).queue_size(1).transport(
        // The hung request stays in flight for the whole test (the destructor abandons it:
        // shutdown_timeout 0), however slowly the lines below run.
        cpprof::export_options{}.queue_capacity(1).timeout(ms(30000)).max_retries(0).shutdown_timeout(ms(0)))};
    REQUIRE(ex.export_metrics(small_profile(1)));
    REQUIRE(rx.wait_for_requests(1, std::chrono::seconds(5)));  // in flight: the queue is free
    CHECK(ex.export_metrics(small_profile(1)));                 // waits in the queue
    CHECK_FALSE(ex.export_metrics(small_profile(1)));           // dropped
    {
        otlp::span a{ex, "a"};
    }
    {
        otlp::span b{ex, "b"};  // queue_size 1: the second waiting span is dropped
    }
    const cpprof::export_stats st = ex.stats();
    CHECK(st.dropped_queue_full == 2);
    CHECK_FALSE(st.last_error.empty());
}

TEST_CASE("otlp span: samples inside carry its ids, and it goes out with profiling attributes" *
          doctest::skip(CPPROF_TEST_TSAN != 0)) {
    if (!cpprof_test::otlp::decoder_available()) return;
    cpprof_test::http_receiver rx;
    otlp::exporter ex{fast_options(rx)};
    std::string span_hex, trace_hex;
    cpprof::profile p;
    {
        cpprof::profiler_guard<cpprof::high_precision> guard;  // 1000 Hz CPU time
        {
            otlp::span span{ex, "expensive_operation"};
            span.set_attribute("order.items", 3).set_attribute("region", "eu");
            span_hex = span.id().hex();
            trace_hex = span.trace().hex();
            cpprof_test_otlp_spanned(300);  // ~300 ms of CPU
        }
        cpprof_test_otlp_outside(100);
        p = guard.stop();
    }
    // The profiler saw the span's labels on the samples taken inside it, and only there.
    // `labelled` is what the span is credited with: every sample taken while it was open, which
    // may include one or two outside cpprof_test_otlp_spanned (in the span's own constructor,
    // say), so the attributes are compared with it, not with the function's samples.
    std::int64_t inside = 0, outside = 0, labelled = 0;
    for (const auto& s : p.samples()) {
        if (s.label_str("span_id") == span_hex) labelled += s.values[0];
        bool in_fn = false, out_fn = false;
        for (auto id : s.stack) {
            in_fn |= p.frame_at(id).function.find("cpprof_test_otlp_spanned") != std::string::npos;
            out_fn |= p.frame_at(id).function.find("cpprof_test_otlp_outside") != std::string::npos;
        }
        if (in_fn) {
            inside += s.values[0];
            CHECK(std::string(s.label_str("span_id")) == span_hex);
            CHECK(std::string(s.label_str("trace_id")) == trace_hex);
        }
        if (out_fn) {
            outside += s.values[0];
            CHECK(s.label_str("span_id").empty());
        }
    }
    REQUIRE(inside > 20);
    CHECK(outside > 0);
    CHECK(labelled >= inside);

    // The ended span waited for a profile; export_profile(p) gives it its attributes.
    CHECK(rx.count() == 0);
    CHECK(ex.export_profile(p));
    REQUIRE(ex.flush(std::chrono::seconds(10)));
    CHECK(ex.stats().sent == 2);
    const auto reqs = rx.requests();
    REQUIRE(reqs.size() == 2);
    REQUIRE(reqs[1].path == "/v1/traces");
    const json::value t = cpprof_test::otlp::decode("traces", reqs[1].body);
    const json::value& sp = t["message"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    CHECK(sp["name"].str() == "expensive_operation");
    CHECK(sp["spanId"].str() == span_hex);
    CHECK(sp["traceId"].str() == trace_hex);
    CHECK(std::stoull(sp["endTimeUnixNano"].str()) - std::stoull(sp["startTimeUnixNano"].str()) >= 250000000ULL);
    CHECK(attr_int(sp["attributes"], "profiling.samples") == std::to_string(labelled));
    const cpprof::profile mine = cpprof::filter(p, "span_id", span_hex);
    const auto top = cpprof::hotspots(mine, 1, mine.sample_index("cpu"));
    REQUIRE(top.size() == 1);
    CHECK(attr_str(sp["attributes"], "profiling.hotspot") == top[0].function);
    CHECK(attr_int(sp["attributes"], "order.items") == "3");
    CHECK(attr_str(sp["attributes"], "region") == "eu");

    // The profile links the span's samples to it.
    REQUIRE(reqs[0].path == "/v1development/profiles");
    const json::value pr = cpprof_test::otlp::decode("profiles", reqs[0].body);
    const json::value& dict = pr["message"]["dictionary"];
    const json::value& prof = pr["message"]["resourceProfiles"][0]["scopeProfiles"][0]["profiles"][0];
    std::int64_t linked = 0;
    for (const auto& s : prof["samples"].items) {
        if (!s.has("linkIndex")) continue;
        const json::value& l = dict["linkTable"][static_cast<std::size_t>(s["linkIndex"].as_int())];
        CHECK(l["spanId"].str() == span_hex);
        CHECK(l["traceId"].str() == trace_hex);
        linked += std::stoll(s["values"][0].str());
    }
    CHECK(linked == labelled);
}

TEST_CASE("otlp span: with a profile source it is counted and sent when it ends; given ids are kept") {
    if (!cpprof_test::otlp::decoder_available()) return;
    cpprof_test::http_receiver rx;
    const auto trace = otlp::trace_id::from_hex("0af7651916cd43dd8448eb211c80319c");
    const auto parent = otlp::span_id::from_hex("b7ad6b7169203331");
    std::string seen_span;
    // A source that returns a profile whose samples carry the current span's id, as a running
    // profiler's report() would.
    otlp::exporter ex{fast_options(rx).profile_source([&] {
        builder b({{"samples", "count"}, {"cpu", "nanoseconds"}});
        const auto main_ = b.fn("main"), hot = b.fn("hot"), cold = b.fn("cold");
        b.add({main_, hot}, {7, 70}, {{"span_id", seen_span, 0, {}}, {"trace_id", trace.hex(), 0, {}}});
        b.add({main_, cold}, {2, 20}, {{"span_id", seen_span, 0, {}}, {"trace_id", trace.hex(), 0, {}}});
        b.add({main_, cold}, {50, 500});  // another span's or no span's samples
        return b.p;
    })};
    {
        otlp::span child{ex, "child", trace, parent};
        seen_span = child.id().hex();
        CHECK(child.trace() == trace);
    }
    REQUIRE(ex.flush(std::chrono::seconds(10)));
    REQUIRE(rx.count() == 1);
    const json::value t = cpprof_test::otlp::decode("traces", rx.requests()[0].body);
    const json::value& sp = t["message"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    CHECK(sp["traceId"].str() == trace.hex());
    CHECK(sp["parentSpanId"].str() == parent.hex());
    CHECK(sp["spanId"].str() == seen_span);
    CHECK(attr_int(sp["attributes"], "profiling.samples") == "9");
    CHECK(attr_str(sp["attributes"], "profiling.hotspot") == "hot");

    CHECK_THROWS_AS(otlp::span(ex, "", trace, parent), cpprof::error);
}
