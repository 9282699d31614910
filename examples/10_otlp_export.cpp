// OTLP export: CPU profiles, metrics and spans to an OpenTelemetry Collector over OTLP/HTTP.
//
//   g++ -O2 -pthread -I single_include examples/10_otlp_export.cpp -o otlp
//   ./otlp http://127.0.0.1:4318      # the collector's OTLP/HTTP receiver (the default)
//
// Sends, in the background (the program never waits for the network):
//   POST /v1/metrics                profiling_samples_total, profiling_function_cpu_time_ratio
//   POST /v1development/profiles    the profile (OTLP profiles signal)
//   POST /v1/traces                 a span "checkout" with profiling.samples / profiling.hotspot
// Without a collector nothing hangs: each request fails (connection refused), is retried once
// here, and shows up in stats(). The test suite runs it against a closed port.
//
// ctest: run http://127.0.0.1:9
#include <cpprof/cpprof.hpp>

#include <chrono>
#include <cmath>
#include <iostream>
#include <string>

namespace {

volatile double sink;

__attribute__((noinline)) void price_cart() {
    double x = 0;
    for (int i = 1; i < 20000000; ++i) x += std::sqrt(static_cast<double>(i));
    sink = x;
}

__attribute__((noinline)) void checkout() {
    for (int i = 0; i < 3; ++i) price_cart();
}

}  // namespace

int main(int argc, char** argv) {
    const std::string endpoint = argc > 1 ? argv[1] : "http://127.0.0.1:4318";
    cpprof::profiler_guard<cpprof::standard> guard;
    cpprof::otlp::exporter exporter{cpprof::otlp::options{}
                                        .endpoint(endpoint)
                                        .service_name("cpprof-example")
                                        .resource_attribute("deployment.environment.name", "dev")
                                        .timeout(std::chrono::seconds(2))
                                        .max_retries(1)
                                        .profile_source([&guard] { return guard.report(); })};
    {
        cpprof::otlp::span span{exporter, "checkout"};  // labels this scope's samples
        checkout();
    }  // the span ends: exported with the samples counted from guard.report()
    const cpprof::profile p = guard.stop();
    exporter.export_metrics(p);
    exporter.export_profile(p);

    const bool drained = exporter.flush(std::chrono::seconds(10));
    const cpprof::export_stats s = exporter.stats();
    std::cout << "profile: " << p.total_samples() << " samples, "
              << 100 * cpprof::fraction(p, "price_cart") << "% in price_cart\n"
              << "exported to " << endpoint << (drained ? "" : " (flush timed out)") << ":\n"
              << "  enqueued " << s.enqueued << ", sent " << s.sent << ", retried " << s.retried
              << ", failed " << s.failed << ", dropped " << s.dropped_queue_full << ", abandoned "
              << s.abandoned << "\n";
    if (!s.last_error.empty()) std::cout << "  last error: " << s.last_error << "\n";
    // Every request was either sent or counted as failed: nothing is lost silently.
    return s.enqueued == 3 && s.sent + s.failed == s.enqueued ? 0 : 1;
}
