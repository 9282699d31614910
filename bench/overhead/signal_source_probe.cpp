// What a sampling-signal SOURCE costs by itself: one thread burns a fixed amount of CPU while
// a source sends it signals whose handler does nothing. The CPU time above the run with no
// source, divided by the signals delivered, is the kernel's (and on a VM the hypervisor's)
// price of one sample before any profiler code runs.
//
//   signal_source_probe none|fasync|sigtrap|posix HZ SPIN_ITERATIONS
//
//   fasync   cpprof's perf_event source: a software cpu-clock perf event, O_ASYNC +
//            F_SETSIG(SIGPROF) + F_SETOWN_EX(thread). The kernel raises the signal from an
//            IRQ-work interrupt queued by the hrtimer interrupt: two interrupts per sample.
//   sigtrap  the same cpu-clock event with attr.sigtrap = 1 (Linux >= 5.13): the kernel sends
//            a synchronous SIGTRAP (si_code TRAP_PERF, si_perf_data = attr.sig_data) on return
//            to user space, without the IRQ-work interrupt.
//   posix    a POSIX timer on the thread's CPU clock (timer_create, SIGEV_THREAD_ID): checked
//            on scheduler ticks, so at most HZ signals per second and no extra interrupt.
//
// Prints one line: mode=... hz=... cpu_ns=... signals=... timer_irqs=... irq_work_irqs=...
// (interrupt counts are system-wide deltas from /proc/interrupts).

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>

#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

std::atomic<long> g_signals{0};

void on_signal(int, siginfo_t*, void*) { g_signals.fetch_add(1, std::memory_order_relaxed); }

long long now_ns(clockid_t c) {
    timespec t;
    clock_gettime(c, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

void read_irqs(long long& timer, long long& irq_work) {
    timer = irq_work = 0;
    std::ifstream f("/proc/interrupts");
    std::string line;
    while (std::getline(f, line)) {
        std::size_t i = line.find_first_not_of(' ');
        if (i == std::string::npos) continue;
        long long* dst = line.compare(i, 4, "LOC:") == 0   ? &timer
                         : line.compare(i, 4, "IWI:") == 0 ? &irq_work
                                                           : nullptr;
        if (!dst) continue;
        const char* p = line.c_str() + i + 4;
        char* end = nullptr;
        for (;;) {
            long long v = std::strtoll(p, &end, 10);
            if (end == p) break;
            *dst += v;
            p = end;
        }
    }
}

__attribute__((noinline)) unsigned long long spin(unsigned long long n) {
    unsigned long long x = 88172645463325252ULL;
    for (unsigned long long i = 0; i < n; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s none|fasync|sigtrap|posix HZ SPIN_ITERATIONS\n", argv[0]);
        return 2;
    }
    const std::string mode = argv[1];
    const long hz = std::atol(argv[2]);
    const unsigned long long iterations = std::strtoull(argv[3], nullptr, 10);
    const int tid = static_cast<int>(syscall(SYS_gettid));

    struct sigaction sa {};
    sa.sa_sigaction = &on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPROF, &sa, nullptr);
    sigaction(SIGTRAP, &sa, nullptr);

    int fd = -1;
    if (mode == "fasync" || mode == "sigtrap") {
        perf_event_attr a;
        std::memset(&a, 0, sizeof a);
        a.size = sizeof a;
        a.type = PERF_TYPE_SOFTWARE;
        a.config = PERF_COUNT_SW_CPU_CLOCK;
        a.sample_period = static_cast<unsigned long long>(1000000000 / hz);
        a.disabled = 1;
        a.exclude_hv = 1;
        a.wakeup_events = 1;
        if (mode == "sigtrap") {
            a.sigtrap = 1;
            a.remove_on_exec = 1;  // required with sigtrap
            a.sig_data = 0xC9F0;
        }
        fd = static_cast<int>(syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC));
        if (fd < 0) {
            std::perror("perf_event_open");
            return 1;
        }
        if (mode == "fasync") {
            f_owner_ex owner{F_OWNER_TID, tid};
            fcntl(fd, F_SETSIG, SIGPROF);
            fcntl(fd, F_SETOWN_EX, &owner);
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC);
        }
    } else if (mode == "posix") {
        sigevent sev{};
        sev.sigev_notify = SIGEV_THREAD_ID;
        sev.sigev_signo = SIGPROF;
        sev._sigev_un._tid = tid;
        timer_t timer;
        if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &timer) != 0) {
            std::perror("timer_create");
            return 1;
        }
        itimerspec its{};
        its.it_interval.tv_nsec = 1000000000 / hz;
        its.it_value = its.it_interval;
        timer_settime(timer, 0, &its, nullptr);
    } else if (mode != "none") {
        std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
        return 2;
    }

    long long loc0, iwi0, loc1, iwi1;
    read_irqs(loc0, iwi0);
    const long long c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    if (fd >= 0) ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
    const unsigned long long r = spin(iterations);
    if (fd >= 0) ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
    const long long c1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    read_irqs(loc1, iwi1);
    std::printf("mode=%s hz=%ld cpu_ns=%lld signals=%ld timer_irqs=%lld irq_work_irqs=%lld "
                "checksum=%llu\n",
                mode.c_str(), hz, c1 - c0, g_signals.load(), loc1 - loc0, iwi1 - iwi0, r & 0xff);
    return 0;
}
