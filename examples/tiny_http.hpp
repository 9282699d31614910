#pragma once
// A tiny blocking HTTP/1.1 client for the examples that talk to their own servers
// (08_http_server, 09_dynamic_sampling). Loopback only, one request per connection, body framed by the server closing the connection
// (cpprof's server sends Content-Length and, asked to, closes). Not part
// of cpprof: an application would use curl, its HTTP library, or go tool pprof.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>

namespace example {

struct http_reply {
    int status = 0;
    std::string body;
};

/// `method` `target` on 127.0.0.1:`port`; the whole reply (the server closes the connection).
inline http_reply http_request(int port, const std::string& method, const std::string& target,
                               const std::string& body = {}) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    timeval tv{30, 0};  // never hang: 30 s per read or write at most
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<unsigned short>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // A profiler's signal (SIGPROF) can interrupt any blocking call with EINTR: a connect()
    // so interrupted goes on in the background; wait for it and read its result.
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    if (rc != 0 && errno == EINTR) {
        pollfd p{fd, POLLOUT, 0};
        while ((rc = ::poll(&p, 1, 30000)) < 0 && errno == EINTR) {
        }
        int err = 0;
        socklen_t len = sizeof err;
        rc = rc == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0 ? 0 : -1;
    }
    if (rc != 0) {
        ::close(fd);
        throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
    }
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    if (!body.empty() || method == "POST")
        req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    for (std::size_t sent = 0; sent < req.size();) {
        const ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ::close(fd);
            throw std::runtime_error("send failed");
        }
        sent += static_cast<std::size_t>(n);
    }
    std::string raw;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        raw.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);

    const std::size_t head_end = raw.find("\r\n\r\n");
    if (raw.compare(0, 9, "HTTP/1.1 ") != 0 || head_end == std::string::npos)
        throw std::runtime_error("bad HTTP reply from port " + std::to_string(port));
    http_reply r;
    r.status = std::stoi(raw.substr(9, 3));
    r.body = raw.substr(head_end + 4);
    return r;
}

}  // namespace example
