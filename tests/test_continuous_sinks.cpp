// The continuous profiler with the real sinks of issue 6: a cpprof::pyroscope::client (by its
// push) and a cpprof::otlp::exporter (by its export_profile), each talking to a local receiver.
// Every completed window reaches both peers; the Pyroscope upload is a pprof profile.

#include <cpprof/cpprof.hpp>
#include <cpprof/export/pyroscope.hpp>
#include <doctest/doctest.h>

#include "support/http_receiver.hpp"
#include "workloads.hpp"

#include <chrono>
#include <functional>

using namespace std::chrono_literals;

TEST_CASE("continuous: a pyroscope client and an OTLP exporter as sinks receive every window") {
    cpprof_test::http_receiver pyro_rx, otlp_rx;
    cpprof::pyroscope::client pyro{
        cpprof::pyroscope::options{}.url(pyro_rx.url()).application("checkout")};
    cpprof::otlp::exporter otlp{
        cpprof::otlp::options{}.endpoint(otlp_rx.url()).service_name("checkout")};
    cpprof::continuous_stats st;
    {
        cpprof::continuous_profiler cont{cpprof::continuous_options{}
                                             .frequency(200).window(150ms).every(250ms)
                                             .sink(pyro)
                                             .sink(otlp)};
        const auto end = std::chrono::steady_clock::now() + 30s;
        while (cont.stats().windows_completed < 3 && std::chrono::steady_clock::now() < end)
            workloads::burn_cpu_ns(5'000'000);
        cont.stop();
        st = cont.stats();
    }
    INFO("last_error: " << st.last_error);
    REQUIRE(st.windows_completed >= 3);
    CHECK(st.sink_failures == 0);
    REQUIRE(pyro.flush(10s));
    REQUIRE(otlp.flush(10s));
    const auto n = static_cast<std::size_t>(st.windows_completed);
    const auto pr = pyro_rx.requests();
    REQUIRE(pr.size() == n);
    for (const auto& r : pr) {
        CHECK(r.method == "POST");
        CHECK(r.path == "/ingest");
        CHECK(r.query.find("name=checkout") != std::string::npos);
        const cpprof::profile p = cpprof::parse_pprof(r.body);
        CHECK(p.period() == 1'000'000'000 / 200);
    }
    const auto orq = otlp_rx.requests();
    REQUIRE(orq.size() == n);
    for (const auto& r : orq) {
        CHECK(r.method == "POST");
        CHECK(r.path == "/v1development/profiles");
    }
    CHECK(pyro.stats().sent == n);
    CHECK(otlp.stats().sent == n);
}
