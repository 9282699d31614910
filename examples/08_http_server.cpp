// An application with its own API on one port and cpprof's /debug/pprof endpoints on another.
//
//   g++ -O2 -pthread -I single_include examples/08_http_server.cpp -o app
//   ./app                          # API on 127.0.0.1:8080, pprof on 127.0.0.1:6060, until Ctrl-C
//   ./app --address 0.0.0.0        # listen on every interface (what the Docker image does)
//   curl 'http://127.0.0.1:8080/api/primes?n=200000'
//   go tool pprof -top 'http://127.0.0.1:6060/debug/pprof/profile?seconds=10'
//   curl -o cpu.svg 'http://127.0.0.1:6060/debug/pprof/flamegraph?seconds=10'
//   ./app --selftest               # free ports, calls both servers itself, writes, exits
//   ./app --pyroscope http://127.0.0.1:4040   # also push 10 s profiles every 15 s to Pyroscope
//
// With --pyroscope a cpprof::continuous_profiler takes the windows and hands each to a
// cpprof::pyroscope::client (examples/docker runs it so). One CPU profile runs at a time in a
// process: /debug/pprof/profile answers 409 while a window runs (retry in the gap), and a
// window that finds a profile request running is skipped and counted.
//
// The API handler labels each request's samples with its route (CPPROF_LABEL("route", ...)):
// `go tool pprof -tags`, Pyroscope's label filter, and --selftest's per-route shares and
// http_by_route.svg (examples/18_labels.cpp shows labels on their own).
//
// cpprof::http::server runs on background threads of its own; the application's server (here
// a deliberately trivial blocking socket server) is not touched. Keep the pprof port private
// (loopback, a firewall, or server_options::token()).
//
// ctest: run --selftest
#include <cpprof/cpprof.hpp>

#include "tiny_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

// ---- the application's work ----

__attribute__((noinline)) std::uint64_t count_primes(std::uint64_t n) {
    std::uint64_t count = 0;
    for (std::uint64_t i = 2; i < n; ++i) {
        bool prime = true;
        for (std::uint64_t d = 2; d * d <= i; ++d)
            if (i % d == 0) {
                prime = false;
                break;
            }
        count += prime;
    }
    return count;
}

// ---- the application's own API server: GET /api/primes?n=N, GET /health ----

class api_server {
public:
    api_server(const std::string& address, int port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        const int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<unsigned short>(port));
        if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1 ||
            ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0)
            throw std::runtime_error("api_server: cannot listen on " + address + ":" +
                                     std::to_string(port) + ": " + std::strerror(errno));
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~api_server() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    int port() const { return port_; }

private:
    void serve() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;  // wake up every 100 ms to see stop_
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) continue;  // EINTR included: see below
            char buf[4096];
            // The profiler's signal interrupts blocking calls (EINTR): retry them. (One recv is
            // enough for these tiny GET requests on loopback; a real server would parse.)
            ssize_t n;
            while ((n = ::recv(c, buf, sizeof buf - 1, 0)) < 0 && errno == EINTR) {
            }
            std::string request(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
            const char* route = request.rfind("GET /api/primes?n=", 0) == 0 ? "/api/primes"
                                : request.rfind("GET /health ", 0) == 0    ? "/health"
                                                                           : "(unknown)";
            // Every sample taken while this request is handled carries route=... (a pprof label:
            // go tool pprof -tags; a Pyroscope label). A fixed set of values, not the raw path.
            CPPROF_LABEL("route", route);
            std::string status = "200 OK", body;
            if (std::strcmp(route, "/api/primes") == 0) {
                const std::uint64_t limit = std::stoull(request.substr(18));
                body = "{\"primes_below\": " + std::to_string(limit) + ", \"count\": " +
                       std::to_string(count_primes(limit)) + "}\n";
            } else if (std::strcmp(route, "/health") == 0) {
                body = "{\"status\": \"ok\"}\n";
            } else {
                status = "404 Not Found";
                body = "{\"error\": \"try /api/primes?n=100000 or /health\"}\n";
            }
            const std::string reply = "HTTP/1.1 " + status +
                                      "\r\nContent-Type: application/json\r\nContent-Length: " +
                                      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
            for (std::size_t sent = 0; sent < reply.size();) {
                const ssize_t w = ::send(c, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR) continue;
                if (w <= 0) break;
                sent += static_cast<std::size_t>(w);
            }
            ::close(c);
        }
    }
    int fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

std::atomic<bool> g_stop{false};

void save(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

// Calls both servers, as a user (and go tool pprof) would.
int selftest(const api_server& api, const cpprof::http::server& pprof) {
    std::cout << "API on 127.0.0.1:" << api.port() << ", pprof on 127.0.0.1:" << pprof.port() << "\n";
    const example::http_reply health = example::http_request(api.port(), "GET", "/health");
    std::cout << "GET /health -> " << health.status << " " << health.body;

    // Clients keep the API busy while the profile is taken.
    std::atomic<bool> done{false};
    std::atomic<int> api_calls{0};
    std::thread load([&] {
        while (!done) {
            example::http_request(api.port(), "GET", "/api/primes?n=60000");
            ++api_calls;
        }
    });
    const example::http_reply prof =
        example::http_request(pprof.port(), "GET", "/debug/pprof/profile?seconds=1");
    const example::http_reply svg =
        example::http_request(pprof.port(), "GET", "/debug/pprof/flamegraph?seconds=0.5");
    done = true;
    load.join();
    const example::http_reply index = example::http_request(pprof.port(), "GET", "/debug/pprof/");

    std::cout << "GET /debug/pprof/profile?seconds=1 -> " << prof.status << ", " << prof.body.size()
              << " bytes while the API answered " << api_calls << " calls\n"
              << "GET /debug/pprof/flamegraph?seconds=0.5 -> " << svg.status << ", "
              << svg.body.size() << " bytes\n"
              << "GET /debug/pprof/ -> " << index.status << ", " << index.body.size() << " bytes\n";
    if (prof.status != 200 || svg.status != 200 || index.status != 200) return 1;

    save("http_profile.pb.gz", prof.body);
    save("http_flamegraph.svg", svg.body);
    const cpprof::profile p = cpprof::parse_pprof(prof.body);
    const double share = cpprof::fraction(p, "count_primes");
    std::cout << "the profile has " << p.total_samples() << " samples, " << 100 * share
              << "% of them in count_primes (the API's work)\n";
    // The handler's labels came back with the profile: the share of each route.
    const double total = static_cast<double>(p.total(p.default_sample_index()));
    for (const auto& [route, weight] : cpprof::label_values(p, "route"))
        std::cout << "  route=" << route << ": " << 100 * static_cast<double>(weight) / total
                  << "% of the samples\n";
    std::cout << "\n";
    cpprof::print_hotspots(std::cout, cpprof::hotspots(p, 3));
    cpprof::write_flamegraph(p, "http_by_route.svg",
                             cpprof::flamegraph_options{}.group_by_label("route"));
    std::cout << "\nwrote http_profile.pb.gz (go tool pprof -top http_profile.pb.gz)\n"
              << "wrote http_flamegraph.svg\n"
              << "wrote http_by_route.svg (one root per route, route=(none) for the rest)\n";
    return share > 0 && !cpprof::filter(p, "route", "/api/primes").empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    bool self_test = false;
    std::string address = "127.0.0.1", pyroscope_url;
    int api_port = 8080, pprof_port = 6060;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--selftest") self_test = true;
        else if (a == "--address" && i + 1 < argc) address = argv[++i];
        else if (a == "--api-port" && i + 1 < argc) api_port = std::stoi(argv[++i]);
        else if (a == "--pprof-port" && i + 1 < argc) pprof_port = std::stoi(argv[++i]);
        else if (a == "--pyroscope" && i + 1 < argc) pyroscope_url = argv[++i];
        else {
            std::cerr << "usage: " << argv[0]
                      << " [--selftest] [--address A] [--api-port N] [--pprof-port N] [--pyroscope URL]\n";
            return 2;
        }
    }
    if (self_test) api_port = pprof_port = 0;  // free ports: never clash with anything

    api_server api{address, api_port};
    cpprof::http::server pprof{cpprof::http::server_options{}.address(address).port(pprof_port)};
    if (self_test) return selftest(api, pprof);

    // Optional continuous push to Pyroscope (declared before the profiler that uses it).
    std::unique_ptr<cpprof::pyroscope::client> pyroscope;
    std::unique_ptr<cpprof::continuous_profiler> continuous;
    if (!pyroscope_url.empty()) {
        pyroscope = std::make_unique<cpprof::pyroscope::client>(
            cpprof::pyroscope::options{}.url(pyroscope_url).application("cpprof-example-app"));
        continuous = std::make_unique<cpprof::continuous_profiler>(
            cpprof::continuous_options{}
                .frequency(100)
                .window(std::chrono::seconds(10))
                .every(std::chrono::seconds(15))
                .directory("profiles")
                .keep(20)
                .sink(*pyroscope));
        std::cout << "pushing 10 s CPU profiles every 15 s to " << pyroscope_url
                  << " (files in ./profiles)\n";
    }

    std::signal(SIGINT, [](int) { g_stop = true; });
    std::signal(SIGTERM, [](int) { g_stop = true; });
    std::cout << "API:   http://" << address << ":" << api.port() << "/api/primes?n=200000\n"
              << "pprof: http://" << address << ":" << pprof.port() << "/debug/pprof/\n"
              << "Ctrl-C to stop" << std::endl;
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::cout << "stopping\n";
    if (continuous) {
        continuous->stop();
        const cpprof::export_stats s = pyroscope->stats();
        std::cout << "pyroscope: sent " << s.sent << ", failed " << s.failed << "\n";
    }
}
