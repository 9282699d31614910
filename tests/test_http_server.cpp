// cpprof::http::server over real sockets: a small client of the test's own, curl and
// `go tool pprof` against a live server; keep-alive and pipelining; the token; every limit
// (431, 413, 408, 503); a storm of malformed, oversized, slow and abruptly closed connections
// after which the server still answers and has leaked no thread and no descriptor; stop()
// cancelling a running profile request.

#include <cpprof/cpprof.hpp>
#include <cpprof/http/server.hpp>
#include <doctest/doctest.h>

#include "support/external.hpp"
#include "support/go_pprof.hpp"
#include "support/sanitizers.hpp"
#include "workloads.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <utility>
#include <string>
#include <thread>
#include <vector>

#define CPPROF_NEEDS_REAL_SIGNALS doctest::skip(CPPROF_TEST_TSAN != 0)

namespace {

namespace h = cpprof::http;
using clock_type = std::chrono::steady_clock;

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

/// A blocking TCP connection to 127.0.0.1:port with a 10 s receive timeout.
class connection {
public:
    explicit connection(int port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        timeval tv{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    }
    ~connection() { close(); }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    bool send(const std::string& s) {
        return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
    }
    /// Everything until the server closes (or the timeout).
    std::string read_all() {
        std::string out;
        char buf[65536];
        for (;;) {
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) return out;
            out.append(buf, static_cast<std::size_t>(n));
        }
    }
    /// One response (by Content-Length); what follows it stays in pending_.
    std::string read_response() {
        char buf[65536];
        for (;;) {
            const std::size_t head_end = pending_.find("\r\n\r\n");
            if (head_end != std::string::npos) {
                std::size_t length = 0;
                const std::size_t cl = pending_.find("Content-Length: ");
                if (cl != std::string::npos && cl < head_end)
                    length = std::stoul(pending_.substr(cl + 16));
                if (pending_.size() >= head_end + 4 + length) {
                    std::string r = pending_.substr(0, head_end + 4 + length);
                    pending_.erase(0, r.size());
                    return r;
                }
            }
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) return std::exchange(pending_, std::string());
            pending_.append(buf, static_cast<std::size_t>(n));
        }
    }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
    std::string pending_;
};

int status_of(const std::string& response) {
    if (response.compare(0, 9, "HTTP/1.1 ") != 0 || response.size() < 12) return 0;
    return std::stoi(response.substr(9, 3));
}

std::string body_of(const std::string& response) {
    const std::size_t p = response.find("\r\n\r\n");
    return p == std::string::npos ? std::string() : response.substr(p + 4);
}

std::string roundtrip(int port, const std::string& raw) {
    connection c(port);
    c.send(raw);
    return c.read_all();
}

std::string get(int port, const std::string& target, const std::string& extra = "") {
    return roundtrip(port, "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra +
                              "Connection: close\r\n\r\n");
}

/// Starts and joins a thread first, so that a sanitizer's own helper thread, started with the
/// first user thread, is already there when the baseline is counted.
std::size_t count_dir(const char* path) {
    std::thread([] {}).join();
    std::size_t n = 0;
    if (DIR* d = ::opendir(path)) {
        while (::readdir(d)) ++n;
        ::closedir(d);
    }
    return n;
}

}  // namespace

TEST_CASE("http server: serves on a free port and stops cleanly") {
    const std::size_t fds_before = count_dir("/proc/self/fd");
    const std::size_t threads_before = count_dir("/proc/self/task");
    int port = 0;
    {
        h::server s{h::server_options{}.port(0)};
        port = s.port();
        REQUIRE(port > 0);
        CHECK(s.running());
        const std::string r = get(port, "/debug/pprof/cmdline");
        CHECK(status_of(r) == 200);
        CHECK(contains(r, "Connection: close\r\n"));
        CHECK(contains(body_of(r), "cpprof_tests"));
        CHECK(status_of(get(port, "/nope")) == 404);
        // HEAD: the same head, no body.
        const std::string head = roundtrip(port, "HEAD /debug/pprof/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        CHECK(status_of(head) == 200);
        CHECK(body_of(head).empty());
        CHECK(!contains(head, "Content-Length: 0\r\n"));
        s.stop();
        CHECK(s.port() == 0);
        s.stop();  // idempotent
    }
    // Nothing listens any more.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0);
    ::close(fd);
    CHECK(count_dir("/proc/self/fd") == fds_before);
    CHECK(count_dir("/proc/self/task") == threads_before);
}

TEST_CASE("http server: bad options and a taken port throw cpprof::error") {
    h::server first{h::server_options{}.port(0)};
    CHECK_THROWS_WITH_AS(h::server{h::server_options{}.port(first.port())},
                         doctest::Contains("cannot listen on 127.0.0.1 port"), cpprof::error);
    CHECK_THROWS_WITH_AS(h::server{h::server_options{}.port(70000)}, doctest::Contains("0..65535"),
                         cpprof::error);
    CHECK_THROWS_WITH_AS(h::server{h::server_options{}.port(0).address("localhost")},
                         doctest::Contains("not an IPv4 or IPv6 literal"), cpprof::error);
    CHECK_THROWS_AS(h::server{h::server_options{}.port(0).max_connections(0)}, cpprof::error);
    CHECK_THROWS_AS(h::server{h::server_options{}.port(0).token("a\nb")}, cpprof::error);
}

TEST_CASE("http server: keep-alive and pipelined requests are answered in order") {
    h::server s{h::server_options{}.port(0)};
    connection c(s.port());
    REQUIRE(c.send("GET /debug/pprof/symbol HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string r = c.read_response();
    CHECK(status_of(r) == 200);
    CHECK(contains(r, "Connection: keep-alive\r\n"));
    CHECK(body_of(r) == "num_symbols: 1\n");
    // Three at once, the last one closing.
    REQUIRE(c.send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                   "POST /debug/pprof/symbol HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n0x0"
                   "GET /debug/pprof/cmdline HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    CHECK(status_of(c.read_response()) == 404);
    r = c.read_response();
    CHECK(status_of(r) == 200);
    CHECK(body_of(r) == "num_symbols: 1\n");
    r = c.read_response();
    CHECK(status_of(r) == 200);
    CHECK(contains(r, "Connection: close\r\n"));
    CHECK(c.read_all().empty());  // then the server closed
    // Expect: 100-continue gets its interim response.
    connection e(s.port());
    REQUIRE(e.send("POST /debug/pprof/symbol HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                   "Content-Length: 3\r\nConnection: close\r\n\r\n"));
    CHECK(e.read_response() == "HTTP/1.1 100 Continue\r\n\r\n");  // before the body is sent
    REQUIRE(e.send("0x0"));
    CHECK(status_of(e.read_all()) == 200);
}

TEST_CASE("http server: the token is required when set") {
    h::server s{h::server_options{}.port(0).token("s3cret")};
    std::string r = get(s.port(), "/debug/pprof/cmdline");
    CHECK(status_of(r) == 401);
    CHECK(contains(r, "WWW-Authenticate: Bearer"));
    CHECK(status_of(get(s.port(), "/debug/pprof/cmdline", "Authorization: Bearer wrong\r\n")) == 401);
    CHECK(status_of(get(s.port(), "/debug/pprof/cmdline", "Authorization: Bearer s3cret0\r\n")) == 401);
    CHECK(status_of(get(s.port(), "/debug/pprof/cmdline", "Authorization: Basic s3cret\r\n")) == 401);
    CHECK(status_of(get(s.port(), "/debug/pprof/cmdline", "Authorization: Bearer s3cret\r\n")) == 200);
    CHECK(status_of(get(s.port(), "/debug/pprof/cmdline", "authorization: bearer  s3cret \r\n")) == 200);
}

TEST_CASE("http server: limits are answered with 431, 413, 400, 501 and 408") {
    h::server s{h::server_options{}.port(0).request_timeout_ms(300)};
    const int port = s.port();
    std::string r = get(port, "/debug/pprof/" + std::string(9000, 'a'));
    CHECK(status_of(r) == 431);
    CHECK(contains(r, "Connection: close"));
    r = roundtrip(port, "POST /sampling/start HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    CHECK(status_of(r) == 413);
    r = roundtrip(port, "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(status_of(r) == 400);
    CHECK(contains(body_of(r), "bad percent-escape"));
    r = roundtrip(port, "POST /sampling/start HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK(status_of(r) == 501);
    r = roundtrip(port, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));  // TLS hello
    CHECK(status_of(r) == 400);
    CHECK(contains(body_of(r), "TLS"));

    // A slow client: half a request, then nothing.
    const auto t0 = clock_type::now();
    r = roundtrip(port, "GET /debug/pprof/ HTTP/1.1\r\nHo");
    CHECK(status_of(r) == 408);
    CHECK(clock_type::now() - t0 < std::chrono::seconds(3));
}

TEST_CASE("http server: connections beyond max_connections are answered 503") {
    h::server s{h::server_options{}.port(0).max_connections(4)};
    const int port = s.port();
    std::vector<std::unique_ptr<connection>> held;
    for (int i = 0; i < 4; ++i) {
        held.push_back(std::make_unique<connection>(port));
        held.back()->send("GET / HTTP/1.1\r\n");  // keeps its worker waiting for the rest
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::string r = get(port, "/debug/pprof/cmdline");
    CHECK(status_of(r) == 503);
    CHECK(contains(r, "Retry-After: 1"));
    CHECK(contains(body_of(r), "too many connections (max_connections 4)"));
    held.clear();  // the workers see the clients close and end
    int status = 0;
    for (int i = 0; i < 40 && status != 200; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        status = status_of(get(port, "/debug/pprof/cmdline"));
    }
    CHECK(status == 200);
}

TEST_CASE("http server: a storm of bad clients leaves it answering, with no thread or fd leaked") {
    const std::size_t fds_before = count_dir("/proc/self/fd");
    const std::size_t threads_before = count_dir("/proc/self/task");
    {
        h::server s{h::server_options{}.port(0).request_timeout_ms(500).idle_timeout_ms(500).max_connections(8)};
        const int port = s.port();
        const std::vector<std::string> nasty = {
            "",                                          // connect and close
            "GET / HTTP/1.1\r\nHost: x\r\n",             // no end of head, then close
            "GARBAGE\r\n\r\n",
            std::string(20000, 'A'),
            "GET /debug/pprof/ HTTP/1.1\r\nHost: x\r\n\r\nGET /debug/pprof/ HTTP/1.1\r\n",
            "POST /sampling/start HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"fre",
            std::string("GET /\0 HTTP/1.1\r\n\r\n", 20),
            "GET / HTTP/1.1\r\nHost: x\r\n" + std::string(200, 'X') + ": y\r\n\r\n",
        };
        std::vector<std::thread> clients;
        for (int t = 0; t < 8; ++t)
            clients.emplace_back([&, t] {
                for (int i = 0; i < 12; ++i) {
                    const std::string& payload = nasty[static_cast<std::size_t>(t + i) % nasty.size()];
                    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                    sockaddr_in a{};
                    a.sin_family = AF_INET;
                    a.sin_port = htons(static_cast<std::uint16_t>(port));
                    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
                        (void)::send(fd, payload.data(), payload.size(), MSG_NOSIGNAL);
                        if (i % 3 == 0) {  // abrupt close: RST instead of FIN
                            linger l{1, 0};
                            ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
                        } else if (i % 3 == 1) {
                            char buf[4096];
                            timeval tv{2, 0};
                            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
                            while (::recv(fd, buf, sizeof buf, 0) > 0) {
                            }
                        }
                    }
                    ::close(fd);
                }
            });
        for (auto& c : clients) c.join();
        // Give slow-client timeouts time to fire, then a normal request must work.
        // (503 while the last workers wind down is the designed answer, so it is retried.)
        std::this_thread::sleep_for(std::chrono::milliseconds(700));
        std::string r = get(port, "/debug/pprof/cmdline");
        for (int i = 0; i < 20 && status_of(r) == 503; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            r = get(port, "/debug/pprof/cmdline");
        }
        CHECK(status_of(r) == 200);
        CHECK(contains(body_of(r), "cpprof_tests"));
    }
    CHECK(count_dir("/proc/self/fd") == fds_before);
    CHECK(count_dir("/proc/self/task") == threads_before);
}

TEST_CASE("http server: stop() cancels a running profile request" * CPPROF_NEEDS_REAL_SIGNALS) {
    auto s = std::make_unique<h::server>(h::server_options{}.port(0));
    const int port = s->port();
    std::string r;
    std::thread client([&] { r = get(port, "/debug/pprof/profile?seconds=30"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto t0 = clock_type::now();
    s.reset();
    CHECK(clock_type::now() - t0 < std::chrono::seconds(2));
    client.join();
    CHECK((r.empty() || status_of(r) == 503));
    // The CPU profiler is free again.
    cpprof::profiler_guard<> g;
    g.stop();
}

TEST_CASE("http server: a client that hangs up abandons its profile" * CPPROF_NEEDS_REAL_SIGNALS) {
    h::server s{h::server_options{}.port(0)};
    {
        connection c(s.port());
        REQUIRE(c.send("GET /debug/pprof/profile?seconds=30 HTTP/1.1\r\nHost: x\r\n\r\n"));
        // The profile is running: the CPU profiler is taken.
        bool busy = false;
        for (int i = 0; i < 100 && !busy; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            try {
                cpprof::profiler_guard<> probe;
                probe.stop();
            } catch (const cpprof::error&) {
                busy = true;
            }
        }
        REQUIRE(busy);
    }  // the client goes away 30 s early
    // Within about one 50 ms poll the server notices and frees the profiler, instead of
    // profiling on for nobody until the 30 s are up.
    const auto t0 = clock_type::now();
    bool free_again = false;
    while (!free_again && clock_type::now() - t0 < std::chrono::seconds(5)) {
        try {
            cpprof::profiler_guard<> g;
            g.stop();
            free_again = true;
        } catch (const cpprof::error&) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    CHECK(free_again);
    // And the server still answers.
    CHECK(status_of(get(s.port(), "/debug/pprof/cmdline")) == 200);
}

TEST_CASE("http server: curl and go tool pprof against a live server" * CPPROF_NEEDS_REAL_SIGNALS) {
    h::server s{h::server_options{}.port(0)};
    const std::string base = "http://127.0.0.1:" + std::to_string(s.port());
    if (cpprof_test::on_path("curl")) {
        auto r = cpprof_test::run("curl -sS " + cpprof_test::shell_quote(base + "/debug/pprof/cmdline"));
        CHECK(r.exit_code == 0);
        CHECK(contains(r.out, "cpprof_tests"));
        r = cpprof_test::run("curl -sS -X POST -H 'Content-Type: application/json' -d '{\"frequency\": 250}' " +
                             cpprof_test::shell_quote(base + "/sampling/start"));
        CHECK(r.exit_code == 0);
        CHECK(contains(r.out, "\"status\": \"running\""));
        for (int i = 0; i < 100; ++i) cpprof_test_heavy_three(2);
        r = cpprof_test::run("curl -sS " + cpprof_test::shell_quote(base + "/sampling/stop"));
        CHECK(r.exit_code == 0);
        CHECK(contains(r.out, "<svg"));
        CHECK(contains(r.out, "cpprof_test_heavy_three"));
        r = cpprof_test::run("curl -sS -o /dev/null -w '%{http_code}' " +
                             cpprof_test::shell_quote(base + "/sampling/stop"));
        CHECK(r.out == "404");
    } else {
        MESSAGE("SKIPPED the curl half: curl is not on PATH");
    }
    if (!cpprof_test::go_pprof::available()) {
        MESSAGE("SKIPPED the go tool pprof half: `go` is not on PATH (Debian: golang-go)");
        return;
    }
    std::atomic<bool> stop{false};
    std::thread busy([&] {
        while (!stop.load()) cpprof_test_heavy_three(1);
    });
    cpprof_test::go_pprof pprof;
    const std::string raw = pprof.run("-raw", base + "/debug/pprof/profile?seconds=1");
    stop.store(true);
    busy.join();
    CHECK(contains(raw, "samples/count cpu/nanoseconds"));
    CHECK(contains(raw, "cpprof_test_heavy_three"));
}
