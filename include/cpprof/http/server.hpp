#pragma once
// cpprof::http::server: the /debug/pprof endpoints (http/handler.hpp) on a small HTTP/1.1
// server of cpprof's own, on background threads, safe to leave on in production.
//
//     cpprof::http::server pprof_server{cpprof::http::server_options{}.port(6060)};
//     // go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=10
//
// - Binds 127.0.0.1 unless address() says otherwise (an IPv4 or IPv6 literal); port(0) takes a
//   free port, which port() then tells. Serving starts in the constructor (a bind failure
//   throws cpprof::error naming the address and the system's reason); stop() and the
//   destructor close the listener and every connection, cancel running profile requests
//   (503) and join every thread.
// - token(): when set, every request needs "Authorization: Bearer <token>" (compared in
//   constant time), else 401.
// - Bounded: request line + headers (max_head_bytes, 431), body (max_body_bytes, 413), open
//   connections (max_connections; one more is answered 503 and closed at once), the time a
//   request may take to arrive once it started (request_timeout_ms, then 408 and close, so a
//   slow client cannot hold a worker), idle keep-alive connections (idle_timeout_ms, then
//   closed), writes (write_timeout_ms), profile lengths (max_seconds, 400 past it).
// - One thread accepts; each connection has a thread of its own (at most max_connections), which
//   reads requests, handles keep-alive and pipelined requests in order, and answers
//   "Expect: 100-continue". A request the parser refuses gets its 4xx/5xx and the connection
//   is closed.
// - With CPPROF_ENABLED=0 the server is an empty shell like every guard: it binds nothing and
//   port() is 0.
// Linux (and POSIX) only; elsewhere the constructor throws cpprof::error.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <cpprof/config.hpp>
#include <cpprof/detail/socket.hpp>
#include <cpprof/error.hpp>
#include <cpprof/http/handler.hpp>
#include <cpprof/http/message.hpp>
#include <cpprof/http/wire.hpp>

#if CPPROF_DETAIL_SOCKETS
#define CPPROF_DETAIL_HTTP_SERVER 1
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#else
#define CPPROF_DETAIL_HTTP_SERVER 0
#endif

namespace cpprof {
namespace http {

class server_options {
public:
    /// Address to listen on, an IPv4 or IPv6 literal (default "127.0.0.1": loopback only).
    server_options& address(std::string a) { address_ = std::move(a); return *this; }
    const std::string& address() const { return address_; }
    /// TCP port, 0..65535 (default 6060; 0 = a free port, see server::port()).
    server_options& port(int p) { port_ = p; return *this; }
    int port() const { return port_; }
    /// Bearer token every request must carry; empty (default) = no authentication.
    server_options& token(std::string t) { token_ = std::move(t); return *this; }
    const std::string& token() const { return token_; }
    /// Connections served at once, 1..1024 (default 16); more are answered 503.
    server_options& max_connections(int n) { max_connections_ = n; return *this; }
    int max_connections() const { return max_connections_; }
    /// Request line and headers, 256..1 MiB (default 8 KiB); more is 431.
    server_options& max_head_bytes(std::size_t n) { max_head_ = n; return *this; }
    std::size_t max_head_bytes() const { return max_head_; }
    /// Request body, 0..16 MiB (default 64 KiB); more is 413.
    server_options& max_body_bytes(std::size_t n) { max_body_ = n; return *this; }
    std::size_t max_body_bytes() const { return max_body_; }
    /// Time a request may take to arrive from its first byte, ms (default 10000); then 408.
    server_options& request_timeout_ms(int ms) { request_timeout_ms_ = ms; return *this; }
    int request_timeout_ms() const { return request_timeout_ms_; }
    /// Time an idle keep-alive connection stays open, ms (default 5000).
    server_options& idle_timeout_ms(int ms) { idle_timeout_ms_ = ms; return *this; }
    int idle_timeout_ms() const { return idle_timeout_ms_; }
    /// Time a response may take to be written, ms (default 10000); then the connection closes.
    server_options& write_timeout_ms(int ms) { write_timeout_ms_ = ms; return *this; }
    int write_timeout_ms() const { return write_timeout_ms_; }
    /// Longest profile a request may ask for, in seconds (default 300).
    server_options& max_seconds(int s) { max_seconds_ = s; return *this; }
    int max_seconds() const { return max_seconds_; }

private:
    std::string address_ = "127.0.0.1";
    int port_ = 6060;
    std::string token_;
    int max_connections_ = 16;
    std::size_t max_head_ = 8 * 1024;
    std::size_t max_body_ = 64 * 1024;
    int request_timeout_ms_ = 10000;
    int idle_timeout_ms_ = 5000;
    int write_timeout_ms_ = 10000;
    int max_seconds_ = 300;
};

namespace detail {

/// Equal strings, in time that depends on the lengths only (not on where they differ).
inline bool constant_time_equals(std::string_view a, std::string_view b) {
    const std::size_t n = a.size() > b.size() ? a.size() : b.size();
    unsigned diff = a.size() == b.size() ? 0u : 1u;
    for (std::size_t i = 0; i < n; ++i) {
        const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
        const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
        diff |= static_cast<unsigned>(x ^ y);
    }
    return diff == 0;
}

/// Whether the request carries "Authorization: Bearer <token>".
inline bool authorized(const request& req, const std::string& token) {
    if (token.empty()) return true;
    const std::string* auth = req.header("Authorization");
    if (!auth || auth->size() < 7 || !iequals(std::string_view(*auth).substr(0, 7), "Bearer "))
        return false;
    return constant_time_equals(trim_ows(std::string_view(*auth).substr(7)), token);
}

inline void validate_server_options(const server_options& o) {
    auto bad = [](const std::string& what) { throw error("http::server_options: " + what); };
    if (o.port() < 0 || o.port() > 65535) bad("port must be in 0..65535, got " + std::to_string(o.port()));
    if (o.max_connections() < 1 || o.max_connections() > 1024)
        bad("max_connections must be in 1..1024, got " + std::to_string(o.max_connections()));
    if (o.max_head_bytes() < 256 || o.max_head_bytes() > (1u << 20))
        bad("max_head_bytes must be in 256..1048576, got " + std::to_string(o.max_head_bytes()));
    if (o.max_body_bytes() > (16u << 20))
        bad("max_body_bytes must be at most 16777216, got " + std::to_string(o.max_body_bytes()));
    for (int ms : {o.request_timeout_ms(), o.idle_timeout_ms(), o.write_timeout_ms()})
        if (ms < 1 || ms > 3600 * 1000)
            bad("timeouts must be in 1..3600000 ms, got " + std::to_string(ms));
    if (o.max_seconds() < 1 || o.max_seconds() > 86400)
        bad("max_seconds must be in 1..86400, got " + std::to_string(o.max_seconds()));
    if (o.token().find_first_of("\r\n") != std::string::npos) bad("token has a CR or LF");
}

#if CPPROF_DETAIL_HTTP_SERVER

// Deadlines, poll() and sends are shared with the HTTP client (detail/socket.hpp).
using cpprof::detail::errno_text;
using cpprof::detail::ms_until;
using cpprof::detail::steady;

/// State shared by the accepting thread and the connection threads.
struct server_state {
    server_options options;
    int listen_fd = -1;
    int wake_read = -1, wake_write = -1;  ///< a byte in the pipe = stop
    int port = 0;
    std::atomic<bool> stopping{false};
    std::atomic<int> connections{0};

    struct worker {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    std::mutex mutex;
    std::vector<worker> workers;
    std::thread acceptor;

    /// Waits until `fd` is ready for `events`, the server stops, or the deadline passes.
    /// Returns 1 ready, 0 timed out, -1 stopping or error.
    int wait(int fd, short events, steady::time_point deadline) const {
        if (stopping.load()) return -1;
        const int r = cpprof::detail::wait_fd(fd, events, deadline, wake_read);
        return r == 1 && stopping.load() ? -1 : r;
    }

    /// Writes all of `data` before the write deadline. False when the connection is lost.
    bool write_all(int fd, std::string_view data) const {
        if (stopping.load()) return false;
        const auto deadline = steady::now() + std::chrono::milliseconds(options.write_timeout_ms());
        int err = 0;
        return cpprof::detail::send_all(fd, data, deadline, wake_read, err) ==
               cpprof::detail::io_status::ok;
    }

    void send_and_close(int fd, const response& r) const {
        (void)write_all(fd, serialize_response(r, false, false));
        ::shutdown(fd, SHUT_WR);
        // Drain briefly so the peer sees the response rather than a reset.
        char buf[1024];
        const auto deadline = steady::now() + std::chrono::milliseconds(200);
        while (wait(fd, POLLIN, deadline) == 1) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
        }
    }

    /// One connection, until it closes, times out, errs, or the server stops.
    void serve_connection(int fd) {
        parse_limits limits;
        limits.max_head = options.max_head_bytes();
        limits.max_body = options.max_body_bytes();
        const handler_options hopts = handler_options{}
                                          .max_seconds(options.max_seconds())
                                          .cancel_flag(&stopping);
        std::string buffer;
        bool continue_sent = false;
        auto deadline = steady::now() + std::chrono::milliseconds(options.idle_timeout_ms());
        bool in_request = false;  // bytes of a request have arrived: the request timeout runs
        for (;;) {
            if (!buffer.empty()) {
                if (!in_request) {
                    in_request = true;
                    deadline = steady::now() + std::chrono::milliseconds(options.request_timeout_ms());
                }
                request req;
                const parse_result res = parse_request(buffer, req, limits);
                if (res.status == parse_status::error) {
                    send_and_close(fd, text_response(res.error_status, res.reason));
                    return;
                }
                if (res.status == parse_status::complete) {
                    buffer.erase(0, res.consumed);
                    response out;
                    if (!authorized(req, options.token())) {
                        out = text_response(401, "this server needs \"Authorization: Bearer "
                                                 "<token>\" (server_options::token)");
                        out.set_header("WWW-Authenticate", "Bearer realm=\"cpprof\"");
                    } else {
                        out = handle(req, hopts);
                    }
                    const bool keep = res.keep_alive && !stopping.load();
                    if (!write_all(fd, serialize_response(out, req.method == "HEAD", keep)) || !keep)
                        return;
                    continue_sent = false;
                    in_request = false;
                    deadline = steady::now() + std::chrono::milliseconds(options.idle_timeout_ms());
                    continue;  // a pipelined request may already be in the buffer
                }
                if (res.expect_continue && !continue_sent) {
                    if (!write_all(fd, "HTTP/1.1 100 Continue\r\n\r\n")) return;
                    continue_sent = true;
                }
            }
            const int w = wait(fd, POLLIN, deadline);
            if (w < 0) return;
            if (w == 0) {
                if (in_request)
                    send_and_close(fd, text_response(408, "the request did not arrive within " +
                                                              std::to_string(options.request_timeout_ms()) +
                                                              " ms"));
                return;  // idle keep-alive connection: closed silently
            }
            char chunk[16 * 1024];
            const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
            if (n <= 0) return;  // closed by the client, or an error
            buffer.append(chunk, static_cast<std::size_t>(n));
        }
    }

    void reap(bool all) {
        std::vector<worker> finished;
        {
            std::lock_guard<std::mutex> lock(mutex);
            for (std::size_t i = 0; i < workers.size();) {
                if (all || workers[i].done->load()) {
                    finished.push_back(std::move(workers[i]));
                    workers[i] = std::move(workers.back());
                    workers.pop_back();
                } else {
                    ++i;
                }
            }
        }
        for (auto& w : finished) w.thread.join();
    }

    void accept_loop() {
        for (;;) {
            reap(false);
            if (stopping.load()) return;
            pollfd p[2] = {{listen_fd, POLLIN, 0}, {wake_read, POLLIN, 0}};
            // Wake up now and then to join finished connection threads.
            const int r = ::poll(p, 2, 1000);
            if (r < 0 && errno != EINTR) return;
            if (stopping.load() || p[1].revents != 0) return;
            if (r <= 0 || !(p[0].revents & POLLIN)) continue;
            const int fd = ::accept(listen_fd, nullptr, nullptr);
            if (fd < 0) {
                // Out of descriptors: the listener stays readable, so back off instead of spinning.
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                    std::this_thread::sleep_for(std::chrono::milliseconds(100));
                continue;  // EINTR, ECONNABORTED...: try again
            }
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
            const int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (connections.load() >= options.max_connections()) {
                response busy = text_response(503, "too many connections (max_connections " +
                                                       std::to_string(options.max_connections()) +
                                                       "); try again");
                busy.set_header("Retry-After", "1");
                const std::string text = serialize_response(busy, false, false);
                (void)::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
                ::close(fd);
                continue;
            }
            ++connections;
            auto done = std::make_shared<std::atomic<bool>>(false);
            try {
                std::thread t([this, fd, done] {
                    try {
                        serve_connection(fd);
                    } catch (...) {
                        // A failure in one connection (e.g. out of memory) ends that connection.
                    }
                    ::close(fd);
                    --connections;
                    done->store(true);
                });
                std::lock_guard<std::mutex> lock(mutex);
                workers.push_back({std::move(t), std::move(done)});
            } catch (...) {
                ::close(fd);
                --connections;
            }
        }
    }

    void open() {
        sockaddr_storage addr{};
        socklen_t len = 0;
        int family = AF_INET;
        auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
        if (::inet_pton(AF_INET, options.address().c_str(), &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            v4->sin_port = htons(static_cast<std::uint16_t>(options.port()));
            len = sizeof(sockaddr_in);
        } else if (::inet_pton(AF_INET6, options.address().c_str(), &v6->sin6_addr) == 1) {
            family = AF_INET6;
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons(static_cast<std::uint16_t>(options.port()));
            len = sizeof(sockaddr_in6);
        } else {
            throw error("http::server: address '" + options.address() +
                        "' is not an IPv4 or IPv6 literal (such as 127.0.0.1 or ::1)");
        }
        const std::string where = options.address() + " port " + std::to_string(options.port());
        listen_fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (listen_fd < 0) throw error("http::server: socket(): " + errno_text(errno));
        const int one = 1;
        ::setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
            const int e = errno;
            close_all();
            throw error("http::server: cannot listen on " + where + ": " + errno_text(e));
        }
        if (::listen(listen_fd, 64) != 0) {
            const int e = errno;
            close_all();
            throw error("http::server: listen() on " + where + ": " + errno_text(e));
        }
        sockaddr_storage bound{};
        socklen_t bound_len = sizeof bound;
        ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
        port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
        int fds[2];
        if (::pipe(fds) != 0) {
            const int e = errno;
            close_all();
            throw error("http::server: pipe(): " + errno_text(e));
        }
        wake_read = fds[0];
        wake_write = fds[1];
        ::fcntl(wake_read, F_SETFD, FD_CLOEXEC);
        ::fcntl(wake_write, F_SETFD, FD_CLOEXEC);
        try {
            acceptor = std::thread([this] { accept_loop(); });
        } catch (...) {
            close_all();
            throw;
        }
    }

    void stop() {
        if (stopping.exchange(true)) return;
        if (wake_write >= 0) {
            const char b = 1;
            while (::write(wake_write, &b, 1) < 0 && errno == EINTR) {
            }
        }
        if (acceptor.joinable()) acceptor.join();
        reap(true);
        close_all();
    }

    void close_all() {
        for (int* fd : {&listen_fd, &wake_read, &wake_write})
            if (*fd >= 0) {
                ::close(*fd);
                *fd = -1;
            }
    }
};

#endif  // CPPROF_DETAIL_HTTP_SERVER

}  // namespace detail

/// See the top of this header.
class server {
public:
    /// Starts serving on a background thread. Throws cpprof::error for bad options or when the
    /// address cannot be bound.
    explicit server(const server_options& options = {}) {
        detail::validate_server_options(options);
#if CPPROF_DETAIL_HTTP_SERVER
        state_ = std::make_unique<detail::server_state>();
        state_->options = options;
        state_->open();
#elif CPPROF_ENABLED
        throw error("http::server needs POSIX sockets; on this platform use cpprof::http::handle() "
                    "from the application's own HTTP server");
#endif
    }

    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Stops serving; see stop().
    ~server() { stop(); }

    /// The port listened on (the one picked when server_options::port was 0); 0 once stopped
    /// or when cpprof is compiled out.
    int port() const noexcept {
#if CPPROF_DETAIL_HTTP_SERVER
        return state_ && !state_->stopping.load() ? state_->port : 0;
#else
        return 0;
#endif
    }

    bool running() const noexcept { return port() != 0; }

    /// Closes the listener and every connection, answers running profile requests with 503,
    /// and joins every thread. Idempotent.
    void stop() noexcept {
#if CPPROF_DETAIL_HTTP_SERVER
        try {
            if (state_) state_->stop();
        } catch (...) {
            // std::thread::join failing is a bug of the process's state; nothing more to do
        }
#endif
    }

private:
#if CPPROF_DETAIL_HTTP_SERVER
    std::unique_ptr<detail::server_state> state_;
#endif
};

}  // namespace http
}  // namespace cpprof
