// Dynamic start/stop: switch CPU sampling on and off in a running service over HTTP, and get
// the profile of exactly the interval in between.
//
//   g++ -O2 -pthread -I single_include examples/09_dynamic_sampling.cpp -o dyn && ./dyn
//
//   curl -X POST -d '{"frequency": 250}' http://127.0.0.1:6060/sampling/start
//   ... reproduce the slow case ...
//   curl -o slow.svg  'http://127.0.0.1:6060/sampling/stop'               (SVG flame graph)
//   curl -o slow.pb.gz 'http://127.0.0.1:6060/sampling/stop?format=pprof'  (gzipped pprof)
//
// Here the program calls its own cpprof::http::server with a plain socket (tiny_http.hpp).
//
// ctest: run
#include <cpprof/cpprof.hpp>

#include "tiny_http.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

namespace {

volatile double sink;

__attribute__((noinline)) void background_work() {  // always running
    double x = 0;
    for (int i = 1; i < 200000; ++i) x += std::log(static_cast<double>(i));
    sink = x;
}

__attribute__((noinline)) void slow_request() {  // the case we want to see
    double x = 0;
    for (int i = 1; i < 2000000; ++i) x += std::sqrt(static_cast<double>(i)) * std::sin(i);
    sink = x;
}

void show(const char* what, const example::http_reply& r) {
    std::string body = r.body.size() < 120 ? r.body : "<" +
                                                         std::to_string(r.body.size()) + " bytes>";
    while (!body.empty() && body.back() == '\n') body.pop_back();
    std::cout << what << " -> " << r.status << " " << body << "\n";
}

}  // namespace

int main() {
    cpprof::http::server server{cpprof::http::server_options{}.port(0)};  // a free port
    const int port = server.port();
    std::cout << "cpprof endpoints on 127.0.0.1:" << port << "\n\n";

    std::atomic<bool> done{false};
    std::thread service([&] {
        while (!done) background_work();
    });

    // Nothing is sampled until someone asks.
    show("GET  /sampling/stop (nothing running)", example::http_request(port, "GET", "/sampling/stop"));

    // Round 1: 250 Hz, flame graph.
    show("POST /sampling/start {\"frequency\": 250}",
         example::http_request(port, "POST", "/sampling/start", "{\"frequency\": 250}"));
    show("POST /sampling/start again", example::http_request(port, "POST", "/sampling/start", "{}"));
    for (int i = 0; i < 10; ++i) slow_request();
    example::http_reply svg = example::http_request(port, "GET", "/sampling/stop");
    show("GET  /sampling/stop", svg);
    std::ofstream("dynamic.svg", std::ios::binary) << svg.body;

    // Round 2: default 100 Hz, pprof.
    show("POST /sampling/start (empty body)", example::http_request(port, "POST", "/sampling/start"));
    for (int i = 0; i < 10; ++i) slow_request();
    example::http_reply pb = example::http_request(port, "GET", "/sampling/stop?format=pprof");
    show("GET  /sampling/stop?format=pprof", pb);
    std::ofstream("dynamic.pb.gz", std::ios::binary) << pb.body;

    done = true;
    service.join();

    const cpprof::profile p = cpprof::parse_pprof(pb.body);
    std::cout << "\nround 2 profile: " << p.total_samples() << " samples over "
              << p.duration_nanos() / 1000000 << " ms; slow_request "
              << 100 * cpprof::fraction(p, "slow_request") << "%, background_work "
              << 100 * cpprof::fraction(p, "background_work") << "%\n"
              << "wrote dynamic.svg (round 1, 250 Hz)\n"
              << "wrote dynamic.pb.gz (round 2, 100 Hz)\n";
    return svg.status == 200 && pb.status == 200 && p.total_samples() > 0 ? 0 : 1;
}
