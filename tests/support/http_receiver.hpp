#pragma once
// A scriptable HTTP/1.1 receiver on 127.0.0.1 for export tests (Pyroscope push, OTLP/HTTP):
// it records every request it reads and answers each one as scripted.
//
//     cpprof_test::http_receiver rx;                       // listens on a free port
//     rx.script({cpprof_test::reply::status_code(503).header("Retry-After", "1"),
//                cpprof_test::reply::ok()});               // first request 503, then 200
//     exporter.submit({rx.url("/ingest?name=app"), ...});
//     REQUIRE(rx.wait_for_requests(2, std::chrono::seconds(10)));
//     rx.requests()[1].body ...
//
// Replies are used in order, one per request; after the script runs out, the default reply
// (200, empty body, unless set_default() says otherwise) answers. What a reply can do:
//   status / headers / body       as given, framed with Content-Length (default), chunked
//                                 (framing::chunked) or by closing (framing::close)
//   delay(ms)                     wait before answering (a slow server)
//   hang()                        never answer; keep the connection open until the client
//                                 closes it or the receiver stops
//   close_without_answer()        close the connection right after reading the request
//   close_mid_response()          send the head and half the body, then close
// close_listener() stops accepting: later connections are refused (the "receiver down" case).
// Requests are parsed with cpprof's own request parser (it enforces Content-Length framing and
// refuses chunked uploads, as a strict server would); a request it refuses is recorded with
// method "" and its reason in `error`, and answered 400.

#include <cpprof/http/message.hpp>
#include <cpprof/http/wire.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace cpprof_test {

struct received_request {
    std::string method;            ///< "" when the parser refused the request (see error)
    std::string path;              ///< percent-decoded
    std::string query;             ///< raw, without '?'
    cpprof::http::fields params;   ///< decoded query parameters
    cpprof::http::fields headers;
    std::string body;
    std::string error;
    std::chrono::steady_clock::time_point at;  ///< when it was read completely

    const std::string* header(std::string_view name) const {
        return cpprof::http::detail::find_field(headers, name, true);
    }
    const std::string* param(std::string_view name) const {
        return cpprof::http::detail::find_field(params, name, false);
    }
};

enum class framing { content_length, chunked, close };

struct reply {
    enum class action { answer, hang, close_without_answer, close_mid_response };
    int status_ = 200;
    cpprof::http::fields headers_;
    std::string body_;
    framing framing_ = framing::content_length;
    int delay_ms_ = 0;
    action action_ = action::answer;

    static reply ok() { return reply{}; }
    static reply status_code(int s, std::string body = {}) {
        reply r;
        r.status_ = s;
        r.body_ = std::move(body);
        return r;
    }
    reply& header(std::string name, std::string value) {
        headers_.emplace_back(std::move(name), std::move(value));
        return *this;
    }
    reply& body(std::string b) { body_ = std::move(b); return *this; }
    reply& framed(framing f) { framing_ = f; return *this; }
    reply& delay(int ms) { delay_ms_ = ms; return *this; }
    reply& hang() { action_ = action::hang; return *this; }
    reply& close_without_answer() { action_ = action::close_without_answer; return *this; }
    reply& close_mid_response() { action_ = action::close_mid_response; return *this; }
};

class http_receiver {
public:
    http_receiver() {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (listen_fd_ < 0) throw std::runtime_error("http_receiver: socket() failed");
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = 0;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::listen(listen_fd_, 64) != 0) {
            ::close(listen_fd_);
            throw std::runtime_error("http_receiver: cannot listen on 127.0.0.1");
        }
        socklen_t len = sizeof a;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        int fds[2];
        if (::pipe(fds) != 0) throw std::runtime_error("http_receiver: pipe() failed");
        wake_read_ = fds[0];
        wake_write_ = fds[1];
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~http_receiver() { stop(); }
    http_receiver(const http_receiver&) = delete;
    http_receiver& operator=(const http_receiver&) = delete;

    int port() const { return port_; }
    /// "http://127.0.0.1:<port>" + path_and_query.
    std::string url(const std::string& path_and_query = "") const {
        return "http://127.0.0.1:" + std::to_string(port_) + path_and_query;
    }

    /// Replies for the next requests, in order (appended to what is left of the script).
    void script(std::vector<reply> replies) {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto& r : replies) script_.push_back(std::move(r));
    }
    /// The reply once the script has run out (default: 200 with an empty body).
    void set_default(reply r) {
        std::lock_guard<std::mutex> lock(mutex_);
        default_ = std::move(r);
    }

    std::vector<received_request> requests() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return requests_;
    }
    std::size_t count() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return requests_.size();
    }
    /// Connections accepted so far (a request that was refused or cut short still counts here).
    std::size_t connections() const { return connections_.load(); }
    /// True once at least `n` requests were read, false after `timeout`.
    bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
    }

    /// Stops accepting: connections to port() are refused from now on.
    void close_listener() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (listen_fd_ >= 0) {
            ::shutdown(listen_fd_, SHUT_RDWR);
        }
        listening_ = false;
    }

    /// Closes everything and joins every thread (hanging replies are released). Idempotent.
    void stop() {
        if (stopping_.exchange(true)) return;
        const char b = 1;
        (void)!::write(wake_write_, &b, 1);
        if (acceptor_.joinable()) acceptor_.join();
        std::vector<std::thread> workers;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            workers.swap(workers_);
        }
        for (auto& t : workers) t.join();
        for (int fd : {listen_fd_, wake_read_, wake_write_})
            if (fd >= 0) ::close(fd);
        listen_fd_ = wake_read_ = wake_write_ = -1;
    }

private:
    /// 1 readable, 0 timeout, -1 stopping.
    int wait(int fd, int ms) const {
        for (;;) {
            pollfd p[2] = {{fd, POLLIN, 0}, {wake_read_, POLLIN, 0}};
            const int r = ::poll(p, 2, ms);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0 || p[1].revents != 0 || stopping_.load()) return -1;
            return r == 0 ? 0 : 1;
        }
    }

    void accept_loop() {
        for (;;) {
            const int ready = wait(listen_fd_, 200);
            if (ready < 0) return;
            if (ready == 0) continue;  // poll timed out: accept4 would block, and stop() could not end it
            bool listening;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                listening = listening_;
            }
            if (!listening) {  // shut down by close_listener(): the socket polls readable
                if (wait(-1, 50) < 0) return;
                continue;
            }
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            ++connections_;
            std::lock_guard<std::mutex> lock(mutex_);
            workers_.emplace_back([this, fd] {
                serve(fd);
                ::close(fd);
            });
        }
    }

    void send_all(int fd, std::string_view data) const {
        while (!data.empty()) {
            const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    void serve(int fd) {
        std::string buffer;
        cpprof::http::request req;
        cpprof::http::detail::parse_limits limits;
        limits.max_body = 256u << 20;
        limits.max_head = 64 * 1024;
        for (;;) {
            const int w = wait(fd, 30000);
            if (w <= 0) return;
            char chunk[16384];
            const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;
            buffer.append(chunk, static_cast<std::size_t>(n));
            const auto res = cpprof::http::detail::parse_request(buffer, req, limits);
            if (res.status == cpprof::http::detail::parse_status::incomplete) {
                if (res.expect_continue) send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n");
                continue;
            }
            received_request rec;
            rec.at = std::chrono::steady_clock::now();
            reply r;
            if (res.status == cpprof::http::detail::parse_status::error) {
                rec.error = std::to_string(res.error_status) + " " + res.reason;
                r = reply::status_code(400, res.reason);
            } else {
                rec.method = req.method;
                rec.path = req.path;
                rec.query = req.query;
                rec.params = req.params;
                rec.headers = req.headers;
                rec.body = std::move(req.body);
            }
            {
                std::lock_guard<std::mutex> lock(mutex_);
                if (rec.error.empty()) {
                    if (!script_.empty()) {
                        r = std::move(script_.front());
                        script_.erase(script_.begin());
                    } else {
                        r = default_;
                    }
                }
                requests_.push_back(std::move(rec));
            }
            cv_.notify_all();
            answer(fd, r);
            return;  // one request per connection: the reply says "Connection: close"
        }
    }

    void answer(int fd, const reply& r) {
        if (r.delay_ms_ > 0 && wait(wake_read_, r.delay_ms_) != 0) {
            // stopping (wait on the wake pipe itself returns at once when it is written)
        }
        if (stopping_.load()) return;
        switch (r.action_) {
            case reply::action::close_without_answer:
                return;
            case reply::action::hang: {
                char b[256];
                while (wait(fd, 60000) == 1) {  // until the client closes, or the receiver stops
                    const ssize_t n = ::recv(fd, b, sizeof b, 0);
                    if (n == 0 || (n < 0 && errno != EINTR)) return;
                }
                return;
            }
            default:
                break;
        }
        std::string head = "HTTP/1.1 " + std::to_string(r.status_) + " " +
                           cpprof::http::status_text(r.status_) + "\r\n";
        for (const auto& kv : r.headers_) head += kv.first + ": " + kv.second + "\r\n";
        head += "Connection: close\r\n";
        if (r.action_ == reply::action::close_mid_response) {
            head += "Content-Length: " + std::to_string(r.body_.size() + 100) + "\r\n\r\n";
            send_all(fd, head + r.body_.substr(0, r.body_.size() / 2));
            return;
        }
        switch (r.framing_) {
            case framing::content_length:
                head += "Content-Length: " + std::to_string(r.body_.size()) + "\r\n\r\n";
                send_all(fd, head + r.body_);
                break;
            case framing::close:
                send_all(fd, head + "\r\n" + r.body_);
                break;
            case framing::chunked: {
                head += "Transfer-Encoding: chunked\r\n\r\n";
                send_all(fd, head);
                static const char hex[] = "0123456789abcdef";
                for (std::size_t i = 0; i < r.body_.size(); i += 7) {  // small chunks, sent apart
                    const std::string piece = r.body_.substr(i, 7);
                    std::string size;
                    for (std::size_t v = piece.size(); v != 0; v /= 16) size.insert(size.begin(), hex[v % 16]);
                    send_all(fd, size + ";ext=1\r\n" + piece + "\r\n");
                }
                send_all(fd, "0\r\nX-Trailer: yes\r\n\r\n");
                break;
            }
        }
        ::shutdown(fd, SHUT_WR);
        // Let the client read everything before the close (no reset with unread data).
        char b[256];
        while (wait(fd, 2000) == 1) {
            const ssize_t n = ::recv(fd, b, sizeof b, 0);
            if (n == 0 || (n < 0 && errno != EINTR)) break;
        }
    }

    int listen_fd_ = -1, wake_read_ = -1, wake_write_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> connections_{0};
    bool listening_ = true;
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    std::vector<reply> script_;
    reply default_;
    std::vector<received_request> requests_;
    std::vector<std::thread> workers_;
    std::thread acceptor_;
};

}  // namespace cpprof_test
