#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
// Socket helpers shared by cpprof's HTTP server (http/server.hpp) and its HTTP client
// (export/transport.hpp): deadlines on the steady clock, a poll() that also watches a "stop"
// descriptor (the read end of a self-pipe) and retries on EINTR (the CPU profiler's SIGPROF
// interrupts system calls), and a send-everything loop for non-blocking sockets.
//
// CPPROF_DETAIL_SOCKETS is 1 where POSIX sockets exist and cpprof is enabled; the helpers
// exist only then.

#include <chrono>
#include <string>
#include <string_view>

#include <cpprof/config.hpp>

#if CPPROF_ENABLED && (defined(__unix__) || defined(__APPLE__))
#define CPPROF_DETAIL_SOCKETS 1
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#else
#define CPPROF_DETAIL_SOCKETS 0
#endif

namespace cpprof {
namespace detail {

#if CPPROF_DETAIL_SOCKETS

inline std::string errno_text(int e) { return std::strerror(e); }

using steady = std::chrono::steady_clock;

/// Milliseconds from now until `deadline`, for poll(): 0 when passed, capped at 1000 s, rounded
/// up so that poll() never wakes before the deadline (rounded down, a 5 ms backoff could end
/// after 4.x ms).
inline int ms_until(steady::time_point deadline) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - steady::now()).count();
    return left <= 0 ? 0 : (left > 1000000 ? 1000000 : static_cast<int>(left));
}

/// Waits until `fd` is ready for `events` (POLLIN / POLLOUT), `stop_fd` becomes readable (a
/// byte in a self-pipe: -1 for none), or the deadline passes. `fd` may be -1 to just sleep
/// until the deadline or the stop. Returns 1 ready, 0 timed out, -1 stopped or error.
inline int wait_fd(int fd, short events, steady::time_point deadline, int stop_fd) {
    for (;;) {
        pollfd p[2] = {{stop_fd, POLLIN, 0}, {fd, events, 0}};
        const nfds_t n = fd >= 0 ? 2 : 1;
        const int r = ::poll(stop_fd >= 0 ? p : p + 1, stop_fd >= 0 ? n : n - 1, ms_until(deadline));
        if (r < 0) {
            if (errno == EINTR) continue;  // the CPU profiler's signals
            return -1;
        }
        if (stop_fd >= 0 && p[0].revents != 0) return -1;
        if (r == 0) {
            if (ms_until(deadline) == 0) return 0;
            continue;  // poll's clock and ours disagree by a millisecond
        }
        if (fd < 0) continue;
        if (p[1].revents & (POLLERR | POLLNVAL)) {
            // A failed connect() shows as POLLERR on POLLOUT: let the caller ask SO_ERROR.
            if (events & POLLOUT) return 1;
            return -1;
        }
        return 1;  // readable, writable or hung up: the read or write tells which
    }
}

enum class io_status { ok, timed_out, stopped, failed };

/// Sends all of `data` on a non-blocking socket before the deadline. On `failed`, `err` is the
/// errno (0 when the peer closed).
inline io_status send_all(int fd, std::string_view data, steady::time_point deadline, int stop_fd,
                          int& err) {
    err = 0;
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            const int w = wait_fd(fd, POLLOUT, deadline, stop_fd);
            if (w == 0) return io_status::timed_out;
            if (w < 0) return io_status::stopped;
            continue;
        }
        err = n < 0 ? errno : 0;
        return io_status::failed;
    }
    return io_status::ok;
}

/// A pipe whose read end becomes readable once signal() wrote a byte: the "stop" descriptor
/// that wait_fd() watches. Both ends close-on-exec; the write end non-blocking.
struct self_pipe {
    int read_fd = -1, write_fd = -1;

    /// False (errno set) when the pipe cannot be made.
    bool open() {
        int fds[2];
        if (::pipe(fds) != 0) return false;
        read_fd = fds[0];
        write_fd = fds[1];
        ::fcntl(read_fd, F_SETFD, FD_CLOEXEC);
        ::fcntl(write_fd, F_SETFD, FD_CLOEXEC);
        ::fcntl(write_fd, F_SETFL, ::fcntl(write_fd, F_GETFL) | O_NONBLOCK);
        return true;
    }
    void signal() const {
        if (write_fd < 0) return;
        const char b = 1;
        while (::write(write_fd, &b, 1) < 0 && errno == EINTR) {
        }
    }
    void close() {
        for (int* fd : {&read_fd, &write_fd})
            if (*fd >= 0) {
                ::close(*fd);
                *fd = -1;
            }
    }
};

#endif  // CPPROF_DETAIL_SOCKETS

}  // namespace detail
}  // namespace cpprof
