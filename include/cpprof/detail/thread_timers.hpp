#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
//
// Per-thread sources of the sampling signal (Linux). Each sampled thread gets its own source,
// started at a random phase, so every thread is sampled at the asked rate (process-wide
// setitimer is biased between threads and capped at one signal per tick):
//
//  - perf_event: a software `cpu-clock` event on that thread (hrtimer based), its fd set to
//    O_ASYNC with F_SETSIG = SIGPROF and F_SETOWN_EX = the thread. Each period of the thread's
//    CPU time raises SIGPROF on that very thread, with si_fd telling which event it was.
//  - POSIX timer: timer_create on the thread's CPU clock (or CLOCK_MONOTONIC for wall time) with
//    SIGEV_THREAD_ID. CPU-clock timers only fire on scheduler ticks; the kernel reports the
//    periods it could not signal as si_overrun (not reliably, on some kernels: the handler
//    weighs POSIX-timer samples by the thread's own clock instead).
//
// Raw syscalls are used so that the kernel's timer id (an int) travels in si_value untouched.
// None of these functions run in the signal handler.

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>

#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cpprof::detail {

inline int current_tid() noexcept { return static_cast<int>(::syscall(SYS_gettid)); }

/// The clock id of another thread's CPU-time clock (Linux encoding: CPUCLOCK_SCHED with the
/// per-thread flag, in the complement of the tid shifted by 3).
inline clockid_t thread_cpu_clock(int tid) noexcept {
    return static_cast<clockid_t>((~static_cast<unsigned>(tid) << 3) | 6u);
}

/// Opens a cpu-clock perf event on `tid` that signals `signo` to that thread every
/// `period_ns` of its CPU time. Returns the fd, or -1 with errno set.
inline int open_perf_cpu_clock(int tid, std::uint64_t period_ns, int signo) noexcept {
    perf_event_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.sample_period = period_ns;
    attr.disabled = 1;
    attr.exclude_hv = 1;
    attr.wakeup_events = 1;
    int fd = static_cast<int>(
        ::syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0 && (errno == EACCES || errno == EPERM)) {
        // perf_event_paranoid >= 2 without CAP_PERFMON: user-space time only. Periods that
        // expire while the thread is in the kernel are then not signalled.
        attr.exclude_kernel = 1;
        fd = static_cast<int>(
            ::syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC));
    }
    if (fd < 0) return -1;
    f_owner_ex owner{F_OWNER_TID, tid};
    if (::fcntl(fd, F_SETSIG, signo) != 0 || ::fcntl(fd, F_SETOWN_EX, &owner) != 0 ||
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_ASYNC) != 0 ||
        ::ioctl(fd, PERF_EVENT_IOC_RESET, 0) != 0 || ::ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) != 0) {
        int saved = errno;
        ::close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/// Stops and closes a perf event opened by open_perf_cpu_clock.
inline void close_perf_event(int fd) noexcept {
    ::ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
    ::close(fd);
}

/// Creates a POSIX timer on `clock` that sends `signo` with `cookie` in si_value to thread
/// `tid`, first after `first_ns` and then every `period_ns`. Returns the kernel timer id, or
/// -1 with errno set.
inline int create_thread_timer(clockid_t clock, int tid, int signo, void* cookie,
                               std::uint64_t first_ns, std::uint64_t period_ns) noexcept {
    struct sigevent sev;
    std::memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = signo;
    sev.sigev_value.sival_ptr = cookie;
#ifdef sigev_notify_thread_id
    sev.sigev_notify_thread_id = tid;
#else
    sev._sigev_un._tid = tid;
#endif
    int timer_id = -1;
    if (::syscall(SYS_timer_create, clock, &sev, &timer_id) != 0) return -1;
    struct itimerspec its;
    its.it_interval.tv_sec = static_cast<time_t>(period_ns / 1000000000u);
    its.it_interval.tv_nsec = static_cast<long>(period_ns % 1000000000u);
    its.it_value.tv_sec = static_cast<time_t>(first_ns / 1000000000u);
    its.it_value.tv_nsec = static_cast<long>(first_ns % 1000000000u);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
    if (::syscall(SYS_timer_settime, timer_id, 0, &its, nullptr) != 0) {
        int saved = errno;
        ::syscall(SYS_timer_delete, timer_id);
        errno = saved;
        return -1;
    }
    return timer_id;
}

inline void delete_thread_timer(int timer_id) noexcept {
    ::syscall(SYS_timer_delete, timer_id);
}

}  // namespace cpprof::detail
