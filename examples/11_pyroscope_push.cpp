// Pyroscope push: send CPU profiles to Grafana Pyroscope's ingest API, one per window.
//
//   g++ -O2 -pthread -I single_include examples/11_pyroscope_push.cpp -o pyro
//   ./pyro http://127.0.0.1:4040      # Pyroscope's address (the default)
//   then in Grafana (Explore > Pyroscope) or Pyroscope's UI: service "cpprof-example"
//
// pyroscope::client::push() encodes the profile (gzipped pprof) and queues it; a background
// thread uploads it with retries. Without a server nothing hangs: the uploads fail (connection
// refused) and are counted in stats(). The test suite runs it against a closed port.
//
// ctest: run http://127.0.0.1:9
#include <cpprof/cpprof.hpp>

#include <chrono>
#include <cmath>
#include <iostream>
#include <string>

namespace {

volatile double sink;

__attribute__((noinline)) void render_thumbnails(int n) {
    double x = 0;
    for (int i = 1; i < n; ++i) x += std::sin(i) * std::cos(i);
    sink = x;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string url = argc > 1 ? argv[1] : "http://127.0.0.1:4040";
    cpprof::pyroscope::client pyroscope{
        cpprof::pyroscope::options{}
            .url(url)
            .application("cpprof-example")
            .tags({{"env", "dev"}, {"region", "local"}})
            .exporter(cpprof::export_options{}.timeout(std::chrono::seconds(2)).max_retries(1))};

    for (int window = 1; window <= 3; ++window) {
        cpprof::profiler_guard<cpprof::standard> guard;
        render_thumbnails(15'000'000);
        const cpprof::profile p = guard.stop();
        const bool queued = pyroscope.push(p);
        std::cout << "window " << window << ": " << p.total_samples() << " samples, "
                  << (queued ? "queued" : "dropped (queue full)") << "\n";
    }

    const bool drained = pyroscope.flush(std::chrono::seconds(10));
    const cpprof::export_stats s = pyroscope.stats();
    std::cout << "pushed to " << url << "/ingest" << (drained ? "" : " (flush timed out)") << ":\n"
              << "  enqueued " << s.enqueued << ", sent " << s.sent << ", retried " << s.retried
              << ", failed " << s.failed << ", dropped " << s.dropped_queue_full << "\n";
    if (!s.last_error.empty()) std::cout << "  last error: " << s.last_error << "\n";
    return s.enqueued == 3 && s.sent + s.failed == s.enqueued ? 0 : 1;
}
