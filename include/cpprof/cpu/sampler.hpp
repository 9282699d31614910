#pragma once
// The CPU / wall-clock sampler: one `sampler_session` per running profile.
//
//   thread timers ──SIGPROF──▶ signal handler ──▶ sample_store (lock-free ring)
//                                                      │ drained by
//                    collector thread (20-100 ms, or when the ring is half full)
//                      - aggregates raw stacks: (tid, addresses) → count, weight
//                      - finds threads that started (/proc/self/task) and arms their timers,
//                        disarms the timers of threads that exited
//   report(): drains, copies the aggregate under a short lock; the caller symbolizes the copy
//             while sampling goes on (no sample is dropped while a report is being built).
//
// Sample weights: a perf_event sample stands for exactly one period of the thread's CPU time;
// a POSIX-timer sample for the thread's clock time since its previous sample, read in the
// handler. CPU that a thread burned before it was found is recorded apart (unsampled_ns).
//
// Process-wide state (the installed handler, the active session) lives in one function-local
// static so any number of translation units can include this header.
//
// `sampler_session` is basic_sampler_session<>, and the collector-side helpers are member
// templates: see the note on lazy instantiation in config.hpp. The signal handler is part of
// the session: it is compiled where a profiler is started, and nothing was added to it.

#include <cpprof/cpu/profiler_options.hpp>
#include <cpprof/detail/alloc_state.hpp>
#include <cpprof/detail/label_stack.hpp>
#include <cpprof/detail/procfs.hpp>
#include <cpprof/detail/sample_store.hpp>
#include <cpprof/detail/thread_timers.hpp>
#include <cpprof/detail/unwind.hpp>
#include <cpprof/error.hpp>
#include <cpprof/profile.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cpprof::detail {

template <class = void>
class basic_sampler_session;
using sampler_session = basic_sampler_session<>;

// ---- process-wide state ------------------------------------------------------------------

struct sampler_globals {
    std::atomic<sampler_session*> active{nullptr};
    std::atomic<int> in_flight{0};   ///< handlers currently inside a session
    std::atomic<bool> running{false};  ///< a CPU profile is running in this process
    std::atomic<std::uint32_t> generation{0};
    struct sigaction previous {};  ///< the handler that was installed before ours
    bool have_previous = false;
    bool atfork_registered = false;
    std::mutex install_mutex;
};

inline sampler_globals& globals() {
    static sampler_globals g;
    return g;
}

/// si_value cookie of our POSIX timers: a magic tag, the session generation and a slot index,
/// so a signal can be recognised as ours (and as stale) without touching session memory.
inline constexpr std::uint64_t cookie_magic = 0xC9F0;
inline void* make_cookie(std::uint32_t generation, std::uint32_t slot) {
    std::uint64_t v = (cookie_magic << 48) | (std::uint64_t{generation & 0xffffff} << 24) |
                      (slot & 0xffffff);
    return reinterpret_cast<void*>(v);
}

// ---- /proc helpers (collector side only) --------------------------------------------------

/// Lists the threads of this process from a kept-open /proc/self/task: one lseek and a
/// couple of getdents64 calls into a stack buffer, so the collector can look often.
class thread_lister {
public:
    thread_lister() : fd_(::open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {}
    ~thread_lister() {
        if (fd_ >= 0) ::close(fd_);
    }
    thread_lister(const thread_lister&) = delete;
    thread_lister& operator=(const thread_lister&) = delete;

    /// Fills `tids` (sorted); false when /proc cannot be read.
    template <class = void>
    bool list(std::vector<int>& tids) const {
        tids.clear();
        if (fd_ < 0 || ::lseek(fd_, 0, SEEK_SET) != 0) return false;
        alignas(8) char buf[4096];
        for (;;) {
            long n = ::syscall(SYS_getdents64, fd_, buf, sizeof buf);
            if (n <= 0) break;
            for (long off = 0; off < n;) {
                const auto* d = reinterpret_cast<const dirent64*>(buf + off);
                if (d->d_name[0] >= '0' && d->d_name[0] <= '9') tids.push_back(std::atoi(d->d_name));
                off += d->d_reclen;
            }
        }
        std::sort(tids.begin(), tids.end());
        return true;
    }

private:
    int fd_;
};

/// A read-only (for the handler) sorted table of address ranges, republished by the collector
/// with a sequence lock: the handler retries nothing, it just treats a torn read as "unknown".
class range_table {
public:
    template <class = void>
    explicit range_table(std::size_t capacity) : ranges_(capacity) {}

    template <class = void>
    void publish(std::vector<stack_bounds> r) {  // collector side
        std::sort(r.begin(), r.end(), [](auto& a, auto& b) { return a.lo < b.lo; });
        // merge touching ranges (a thread stack and its neighbour mapping)
        std::vector<stack_bounds> merged;
        for (auto& x : r) {
            if (!merged.empty() && x.lo <= merged.back().hi)
                merged.back().hi = std::max(merged.back().hi, x.hi);
            else
                merged.push_back(x);
        }
        if (merged.size() > ranges_.size()) merged.resize(ranges_.size());
        seq_.fetch_add(1, std::memory_order_acq_rel);  // odd: writing
        for (std::size_t i = 0; i < merged.size(); ++i) {
            ranges_[i].lo.store(merged[i].lo, std::memory_order_relaxed);
            ranges_[i].hi.store(merged[i].hi, std::memory_order_relaxed);
        }
        size_.store(merged.size(), std::memory_order_relaxed);
        seq_.fetch_add(1, std::memory_order_release);  // even: stable
    }

    /// The range containing `addr`, or {0,0}. Async-signal-safe (runs in the handler).
    stack_bounds find(std::uint64_t addr) const noexcept {
        std::uint64_t s0 = seq_.load(std::memory_order_acquire);
        if (s0 & 1) return {0, 0};
        std::size_t lo = 0, hi = size_.load(std::memory_order_acquire);
        stack_bounds found{0, 0};
        while (lo < hi) {
            std::size_t mid = (lo + hi) / 2;
            // acquire: the sequence re-check below cannot move above these loads
            std::uint64_t a = ranges_[mid].lo.load(std::memory_order_acquire);
            std::uint64_t b = ranges_[mid].hi.load(std::memory_order_acquire);
            if (addr < a) hi = mid;
            else if (addr >= b) lo = mid + 1;
            else { found = {a, b}; break; }
        }
        if (seq_.load(std::memory_order_relaxed) != s0) return {0, 0};
        return found;
    }

private:
    struct entry {
        std::atomic<std::uint64_t> lo{0}, hi{0};
    };
    std::vector<entry> ranges_;
    std::atomic<std::size_t> size_{0};
    std::atomic<std::uint64_t> seq_{0};
};

// ---- the aggregate handed to the profile builder -----------------------------------------

struct stack_key_hash {
    std::size_t operator()(const std::vector<std::uint64_t>& v) const noexcept {
        std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ v.size();
        for (std::uint64_t x : v) {
            h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
            h *= 0xff51afd7ed558ccdULL;
        }
        return static_cast<std::size_t>(h ^ (h >> 33));
    }
};

struct stack_stats {
    std::int64_t count = 0;   ///< signals delivered
    std::int64_t weight = 0;  ///< clock nanoseconds they stand for
};

/// Clock nanoseconds of the samples lost for each cause of sample_losses.
struct lost_weights {
    std::int64_t buffer_full = 0, unwind_failed = 0, in_exception = 0, blocklisted = 0;
};

/// What the sampler collected, before symbolization. Keys are [thread, leaf, ..., root], where
/// `thread` is the tid in the low 32 bits and an index into `label_sets` in the high 32 bits
/// (raw_thread_tid / raw_thread_label_set).
struct raw_profile {
    std::unordered_map<std::vector<std::uint64_t>, stack_stats, stack_key_hash> stacks;
    /// Distinct label sets seen: [labels dropped][labels cut] then the packed labels
    /// (detail/label_stack.hpp). Index 0 is the empty set.
    std::vector<std::string> label_sets{std::string(2, '\0')};
    std::unordered_map<int, std::string> thread_names;
    /// CPU time threads that started after the profiler burned before the collector found
    /// them and armed their timers (CPU mode only): real, but seen by no sample.
    std::unordered_map<int, std::int64_t> unsampled_ns;
    sample_losses losses;
    /// The clock nanoseconds the lost samples of `losses` stood for, in its order: buffer
    /// full, unwind failed, in exception, blocklisted. A POSIX-timer sample can stand for more
    /// than one period (it weighs the time since the thread's previous signal).
    lost_weights lost_ns;
    clock_kind clock = clock_kind::cpu;
    int frequency = 0;
    std::int64_t period_ns = 0;
    const char* timer_name = "";
    std::int64_t start_unix_ns = 0;
    std::int64_t duration_ns = 0;
    bool from_parent_process = false;  ///< a fork() child: what the parent collected is not here
};

inline int raw_thread_tid(std::uint64_t key0) {
    return static_cast<int>(static_cast<std::int32_t>(key0 & 0xffffffffu));
}
inline std::size_t raw_thread_label_set(std::uint64_t key0) {
    return static_cast<std::size_t>(key0 >> 32);
}

// ---- the session ---------------------------------------------------------------------------

template <class = void>
std::int64_t unix_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

template <class>
class basic_sampler_session {
public:
    struct resolved_options {
        int frequency;
        clock_kind clock;
        profiler_options opts;
    };

    explicit basic_sampler_session(resolved_options r)
        : opts_(std::move(r.opts)),
          frequency_(r.frequency),
          clock_(r.clock),
          period_ns_(1000000000LL / r.frequency),
          store_(opts_.buffer_samples(), static_cast<std::size_t>(opts_.max_depth()),
                 opts_.label_bytes()),
          slots_(max_slots),
          stack_ranges_(4096),
          owner_pid_(::getpid()) {
        fd_slot_.reset(new std::atomic<std::int32_t>[fd_table_size]);
        for (std::size_t i = 0; i < fd_table_size; ++i) fd_slot_[i].store(-1);
        wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (wake_fd_ < 0) throw error(std::string("eventfd failed: ") + std::strerror(errno));
        start_unix_ns_ = unix_now_ns();
        start_steady_ = std::chrono::steady_clock::now();
    }

    ~basic_sampler_session() {
        if (wake_fd_ >= 0) ::close(wake_fd_);
    }

    basic_sampler_session(const basic_sampler_session&) = delete;
    basic_sampler_session& operator=(const basic_sampler_session&) = delete;

    /// Starts sampling: called with globals().running already claimed.
    void start() {
        auto& g = globals();
        generation_ = g.generation.fetch_add(1) + 1;
        // libgcc's one-time initialisation (pthread_once, lazy binding of _Unwind_*) must
        // never happen inside the signal handler.
        if (opts_.stack_unwinder() == unwinder::libgcc) warm_up_unwinder();
        compute_blocklist();
        if (opts_.stack_unwinder() == unwinder::frame_pointer) refresh_stack_ranges();
        install_handler();
        g.active.store(this, std::memory_order_seq_cst);
        collector_tid_ = -1;
        if (opts_.threads() == thread_scope::calling_thread) {
            int tid = current_tid();
            if (!arm(tid)) {
                disarm_all();
                g.active.store(nullptr);
                wait_for_handlers();
                throw error(arm_error_);
            }
            thread_names_[tid] = thread_name(tid);
        } else {
            scan_threads();
            if (armed_count_ == 0) {
                g.active.store(nullptr);
                wait_for_handlers();
                throw error(arm_error_.empty() ? "no thread could be sampled" : arm_error_);
            }
        }
        start_collector();
    }

    /// Stops sampling and returns everything collected.
    raw_profile stop() {
        auto& g = globals();
        if (owner_pid_ != ::getpid()) {  // we are a fork() child: the collector is not here
            raw_profile r = make_raw_header();
            r.from_parent_process = true;
            return r;
        }
        stop_requested_.store(true);
        wake();
        ::pthread_join(collector_, nullptr);
        disarm_all();  // timers first: no new signal is raised after this line...
        g.active.store(nullptr, std::memory_order_seq_cst);
        wait_for_handlers();  // ...and none is still running on session memory after this one
        std::lock_guard<std::mutex> lock(mutex_);
        drain_locked();
        refresh_thread_names_locked();
        raw_profile r = make_raw_header();
        r.stacks = std::move(stacks_);
        r.thread_names = std::move(thread_names_);
        r.unsampled_ns = std::move(unsampled_ns_);
        r.label_sets = std::move(label_sets_);
        r.losses = losses_locked();
        r.lost_ns = lost_weights_locked();
        return r;
    }

    /// A snapshot; sampling goes on.
    raw_profile snapshot() {
        if (owner_pid_ != ::getpid()) {
            raw_profile r = make_raw_header();
            r.from_parent_process = true;
            return r;
        }
        std::lock_guard<std::mutex> lock(mutex_);
        drain_locked();
        refresh_thread_names_locked();
        raw_profile r = make_raw_header();
        r.stacks = stacks_;
        r.thread_names = thread_names_;
        r.unsampled_ns = unsampled_ns_;
        r.label_sets = label_sets_;
        r.losses = losses_locked();
        r.lost_ns = lost_weights_locked();
        return r;
    }

    const char* timer_name() const { return timer_name_; }

    // ---- signal handler side: everything below runs inside the SIGPROF handler ------------

    /// Returns false when the signal is not one of this session's (the caller chains it).
    /// Async-signal-safe: atomics, the lock-free store, the unwinder, write(2) on an eventfd.
    bool on_signal(const siginfo_t* info, void* ucontext) noexcept {
        std::int32_t slot = -1;
        std::int64_t weight = period_ns_;
        if (info->si_code == SI_TIMER) {
            auto v = reinterpret_cast<std::uint64_t>(info->si_value.sival_ptr);
            if ((v >> 48) != cookie_magic) return false;
            if (((v >> 24) & 0xffffff) != (generation_ & 0xffffff)) return true;  // stale
            slot = static_cast<std::int32_t>(v & 0xffffff);
            if (slot >= static_cast<std::int32_t>(max_slots)) return true;
            // POSIX CPU timers fire on scheduler ticks and their overrun counts are not
            // reliable on every kernel: weigh the sample by the clock time this thread
            // really spent since its previous sample. clock_gettime is async-signal-safe, and
            // this handler runs on the sampled thread, so THREAD_CPUTIME_ID is its clock.
            thread_slot& ts = slots_[static_cast<std::size_t>(slot)];
            std::int64_t now = read_clock_ns(clock_ == clock_kind::cpu ? CLOCK_THREAD_CPUTIME_ID
                                                                     : CLOCK_MONOTONIC);
            std::int64_t last = ts.last_clock_ns.exchange(now, std::memory_order_relaxed);
            weight = now > last && last > 0 ? now - last
                                            : period_ns_ * (1 + static_cast<std::int64_t>(info->si_overrun));
        } else if (info->si_code >= POLL_IN && info->si_code <= POLL_HUP) {
            int fd = info->si_fd;
            if (fd < 0 || static_cast<std::size_t>(fd) >= fd_table_size) return false;
            slot = fd_slot_[fd].load(std::memory_order_acquire);
            if (slot < 0) return false;
        } else {
            return false;
        }
        std::int32_t tid = slots_[static_cast<std::size_t>(slot)].tid.load(std::memory_order_relaxed);
        interrupted_context ctx = context_of(ucontext);
        // The counters below are lock-free atomics (static_assert at their declaration):
        // async-signal-safe.
        if (is_blocklisted(ctx.pc)) {
            blocklisted_.fetch_add(1, std::memory_order_relaxed);
            blocklisted_ns_.fetch_add(weight, std::memory_order_relaxed);
            return true;
        }
        // libgcc rewrites saved registers while it unwinds an exception: do not unwind
        // concurrently on the same thread.
        if (std::uncaught_exceptions() > 0) {
            in_exception_.fetch_add(1, std::memory_order_relaxed);
            in_exception_ns_.fetch_add(weight, std::memory_order_relaxed);
            return true;
        }
        std::size_t ticket = 0;
        raw_sample* s = store_.claim(&ticket);
        if (!s) {
            buffer_full_.fetch_add(1, std::memory_order_relaxed);
            buffer_full_ns_.fetch_add(weight, std::memory_order_relaxed);
            return true;
        }
        walk_result w;
        if (opts_.stack_unwinder() == unwinder::frame_pointer)
            w = walk_frame_pointers(ctx, stack_ranges_.find(ctx.sp), s->frames(), store_.max_depth());
        else
            w = walk_libgcc(ctx, s->frames(), store_.max_depth());
        s->tid = tid;
        s->weight = weight;
        s->depth = static_cast<std::uint16_t>(w.found ? w.depth : 0);  // 0 = unwind failed
        s->flags = w.truncated ? raw_truncated : 0;
        // Labels in force on this thread (label_guard), copied into the claimed cell: the
        // guards live on this thread's stack and are gone by the time the collector drains.
        // Async-signal-safe: labels() is pointer arithmetic; pack_labels reads only this
        // thread's constant-initialised thread_local and the live guards it links, copies
        // bytes, takes no lock and does not allocate (see detail/label_stack.hpp); the stores
        // below go to the cell this handler claimed and nobody else touches until publish().
        // The handler runs on the sampled thread (SIGEV_THREAD_ID / F_OWNER_TID), so the
        // thread_local is that thread's.
        if (raw_labels* l = store_.labels(s)) {  // in the handler: pointer arithmetic only
            packed_labels_info li = pack_labels(l->data(), store_.label_bytes());  // in the handler
            l->bytes = static_cast<std::uint16_t>(li.bytes);  // in the handler: plain stores
            l->dropped = static_cast<std::uint8_t>(li.dropped > 255 ? 255 : li.dropped);
            l->cut = static_cast<std::uint8_t>(li.cut > 255 ? 255 : li.cut);
        }
        store_.publish(ticket);
        if (store_.approx_size() * 2 >= store_.capacity() &&
            !wake_pending_.exchange(true, std::memory_order_relaxed))
            wake();
        return true;
    }

private:
    static constexpr std::size_t max_slots = 8192;       // threads sampled at once
    static constexpr std::size_t fd_table_size = 65536;  // perf fds we can recognise

    struct thread_slot {
        std::atomic<std::int32_t> tid{0};  // read by the handler
        std::atomic<std::int64_t> last_clock_ns{0};  // clock reading at the previous sample
        int perf_fd = -1;
        int timer_id = -1;
        bool armed = false;
        std::uint64_t retired_scan = 0;  // reusable two scans after retirement
    };

    static std::int64_t read_clock_ns(clockid_t clock) noexcept {  // async-signal-safe
        timespec ts{};
        if (::clock_gettime(clock, &ts) != 0) return 0;
        return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
    }

    void wake() noexcept {
        std::uint64_t one = 1;
        ssize_t rc = ::write(wake_fd_, &one, sizeof one);  // async-signal-safe
        (void)rc;
    }

    bool is_blocklisted(std::uint64_t pc) const noexcept {
        for (std::size_t i = 0; i < blocklist_count_; ++i)
            if (pc >= blocklist_[i].lo && pc < blocklist_[i].hi) return true;
        return false;
    }

    static void wait_for_handlers() {
        while (globals().in_flight.load(std::memory_order_seq_cst) != 0) ::sched_yield();
    }

    raw_profile make_raw_header() const {
        raw_profile r;
        r.clock = clock_;
        r.frequency = frequency_;
        r.period_ns = period_ns_;
        r.timer_name = timer_name_;
        r.start_unix_ns = start_unix_ns_;
        r.duration_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now() - start_steady_)
                            .count();
        return r;
    }

    lost_weights lost_weights_locked() const {
        lost_weights w;
        w.buffer_full = buffer_full_ns_.load();
        w.unwind_failed = unwind_failed_ns_;
        w.in_exception = in_exception_ns_.load();
        w.blocklisted = blocklisted_ns_.load();
        return w;
    }

    sample_losses losses_locked() const {
        sample_losses l;
        l.buffer_full = buffer_full_.load();
        l.in_exception = in_exception_.load();
        l.blocklisted = blocklisted_.load();
        l.unwind_failed = unwind_failed_;
        l.truncated = truncated_;
        return l;
    }

    // ---- setup ----------------------------------------------------------------------------

    void compute_blocklist() {
        blocklist_count_ = 0;
        if (opts_.blocklist().empty()) return;
        for (const auto& m : read_self_maps()) {
            if (!m.executable || m.path.empty()) continue;
            for (const auto& sub : opts_.blocklist()) {
                if (!sub.empty() && m.path.find(sub) != std::string::npos &&
                    blocklist_count_ < max_blocklist) {
                    blocklist_[blocklist_count_++] = {m.start, m.end};
                    break;
                }
            }
        }
    }

    void refresh_stack_ranges() {
        std::vector<stack_bounds> r;
        for (const auto& m : read_self_maps())
            if (m.readable && m.writable) r.push_back({m.start, m.end});
        stack_ranges_.publish(std::move(r));
    }

    static void handler(int sig, siginfo_t* info, void* ucontext);

    void install_handler() {
        auto& g = globals();
        std::lock_guard<std::mutex> lock(g.install_mutex);
        struct sigaction current {};
        ::sigaction(SIGPROF, nullptr, &current);
        bool ours = (current.sa_flags & SA_SIGINFO) && current.sa_sigaction == &handler;
        if (!ours) {
            // Whatever is installed now (the default action, or the user's own handler) is
            // what non-profiler SIGPROFs are forwarded to.
            g.previous = current;
            g.have_previous = true;
            struct sigaction sa {};
            sa.sa_sigaction = &handler;
            sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
            sigemptyset(&sa.sa_mask);
            if (::sigaction(SIGPROF, &sa, nullptr) != 0)
                throw error(std::string("cannot install the SIGPROF handler: ") +
                            std::strerror(errno));
        }
        if (!g.atfork_registered) {
            ::pthread_atfork(nullptr, nullptr, &after_fork_in_child);
            g.atfork_registered = true;
        }
    }

    static void after_fork_in_child() {
        // The child has none of the parent's threads or timers: it is not profiling.
        auto& g = globals();
        if (basic_sampler_session* s = g.active.load()) {
            for (auto& slot : s->slots_)
                if (slot.armed && slot.perf_fd >= 0) ::close(slot.perf_fd);
        }
        g.active.store(nullptr);
        g.in_flight.store(0);
        g.running.store(false);
    }

    // ---- arming threads (collector thread, or start()) ------------------------------------

    std::uint64_t random_phase(int tid) {
        std::uint64_t x = static_cast<std::uint64_t>(tid) * 0x9e3779b97f4a7c15ULL ^
                          static_cast<std::uint64_t>(
                              std::chrono::steady_clock::now().time_since_epoch().count());
        x ^= x >> 31;
        x *= 0xbf58476d1ce4e5b9ULL;
        x ^= x >> 27;
        return 1 + x % static_cast<std::uint64_t>(period_ns_);
    }

    bool arm(int tid) {
        std::size_t index = max_slots;
        for (std::size_t i = 0; i < max_slots; ++i) {
            auto& s = slots_[i];
            if (!s.armed && (s.retired_scan == 0 || scan_number_ >= s.retired_scan + 2)) {
                index = i;
                break;
            }
        }
        if (index == max_slots) {
            arm_error_ = "too many threads: at most 8192 are sampled at once";
            return false;
        }
        auto& s = slots_[index];
        s.tid.store(tid, std::memory_order_relaxed);
        s.perf_fd = -1;
        s.timer_id = -1;
        bool want_perf = clock_ == clock_kind::cpu && opts_.timer() != timer_source::posix_timer &&
                         !perf_unavailable_;
        if (want_perf) {
            int fd = open_perf_cpu_clock(tid, static_cast<std::uint64_t>(period_ns_), SIGPROF);
            if (fd >= 0 && static_cast<std::size_t>(fd) < fd_table_size) {
                fd_slot_[fd].store(static_cast<std::int32_t>(index), std::memory_order_release);
                s.perf_fd = fd;
                timer_name_ = "perf_event cpu-clock";
            } else {
                int err = errno;
                if (fd >= 0) close_perf_event(fd);
                if (opts_.timer() == timer_source::perf_event) {
                    arm_error_ = std::string("perf_event_open(cpu-clock) failed: ") +
                                 std::strerror(err) +
                                 " (kernel.perf_event_paranoid, seccomp or a container may forbid"
                                 " it; timer_source::automatic falls back to POSIX timers)";
                    return false;
                }
                // ESRCH: the thread is already gone; anything else: perf is not usable here.
                if (err == ESRCH) return false;
                perf_unavailable_ = true;
            }
        }
        if (s.perf_fd < 0) {
            clockid_t clock = clock_ == clock_kind::cpu ? thread_cpu_clock(tid) : CLOCK_MONOTONIC;
            s.last_clock_ns.store(read_clock_ns(clock), std::memory_order_relaxed);
            int id = create_thread_timer(clock, tid, SIGPROF,
                                         make_cookie(generation_, static_cast<std::uint32_t>(index)),
                                         random_phase(tid), static_cast<std::uint64_t>(period_ns_));
            if (id < 0) {
                if (errno != ESRCH && errno != EINVAL)
                    arm_error_ = std::string("timer_create failed: ") + std::strerror(errno);
                return false;
            }
            s.timer_id = id;
            timer_name_ = clock_ == clock_kind::cpu ? "POSIX timer on the thread CPU clock"
                                                    : "POSIX timer on CLOCK_MONOTONIC";
        }
        s.armed = true;
        ++armed_count_;
        armed_tids_[tid] = index;
        return true;
    }

    void disarm(std::size_t index) {
        auto& s = slots_[index];
        if (!s.armed) return;
        if (s.perf_fd >= 0) {
            close_perf_event(s.perf_fd);
            // fd_slot_ keeps pointing here: a signal still queued for this fd is attributed to
            // this slot, which is harmless; the entry is overwritten when the fd is reused.
        }
        if (s.timer_id >= 0) delete_thread_timer(s.timer_id);
        s.armed = false;
        s.retired_scan = scan_number_ + 1;
        --armed_count_;
    }

    void disarm_all() {
        for (std::size_t i = 0; i < max_slots; ++i) disarm(i);
        armed_tids_.clear();
    }

    /// Arms every thread that appeared and disarms every thread that exited.
    /// Returns whether the set of threads changed since the last scan.
    bool scan_threads() {
        if (!lister_.list(tids_)) return false;
        if (tids_ == previous_tids_ && rename_pending_.empty()) return false;  // the usual case
        std::lock_guard<std::mutex> lock(mutex_);  // armed_tids_ and thread_names_
        bool changed = tids_ != previous_tids_;
        previous_tids_ = tids_;
        const std::vector<int>& tids = tids_;
        ++scan_number_;
        auto live = [&tids](int tid) { return std::binary_search(tids.begin(), tids.end(), tid); };
        bool new_threads = false;
        for (auto it = armed_tids_.begin(); it != armed_tids_.end();) {
            if (!live(it->first)) {
                disarm(it->second);
                it = armed_tids_.erase(it);
            } else {
                ++it;
            }
        }
        // A new thread usually names itself right after it starts: the name read when it was
        // found may still be its parent's, so it is read once more on the next scan.
        for (int tid : rename_pending_) {
            std::string n = live(tid) ? thread_name(tid) : std::string();
            if (!n.empty()) thread_names_[tid] = std::move(n);
        }
        rename_pending_.clear();
        for (int tid : tids) {
            if (tid == collector_tid_ || armed_tids_.count(tid)) continue;
            if (arm(tid)) {
                new_threads = true;
                thread_names_[tid] = thread_name(tid);
                if (collector_tid_ >= 0) {  // started after the profiler: found late
                    rename_pending_.push_back(tid);
                    if (clock_ == clock_kind::cpu) {
                        timespec ts{};
                        if (::clock_gettime(thread_cpu_clock(tid), &ts) == 0)
                            unsampled_ns_[tid] += static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
                    }
                }
            }
        }
        if (new_threads && opts_.stack_unwinder() == unwinder::frame_pointer)
            refresh_stack_ranges();
        return changed;
    }

    /// Thread names change after start (pthread_setname_np): re-read those still alive.
    void refresh_thread_names_locked() {
        for (auto& [tid, index] : armed_tids_) {
            (void)index;
            std::string n = thread_name(tid);
            if (!n.empty()) thread_names_[tid] = std::move(n);
        }
    }

    // ---- collector thread -----------------------------------------------------------------

    void start_collector() {
        sigset_t all, old;
        sigfillset(&all);
        ::pthread_sigmask(SIG_SETMASK, &all, &old);  // the collector inherits "all blocked"
        std::atomic<int> started_tid{0};
        struct start_args {
            basic_sampler_session* self;
            std::atomic<int>* tid;
        } args{this, &started_tid};
        int rc = ::pthread_create(
            &collector_, nullptr,
            [](void* p) -> void* {
                auto* a = static_cast<start_args*>(p);
                basic_sampler_session* self = a->self;
                ::pthread_setname_np(::pthread_self(), "cpprof-collect");
                // Everything this thread allocates is cpprof's own: not counted by the
                // allocation counters, not in heap profiles.
                ++t_alloc_state.internal;
                self->collector_tid_ = current_tid();
                a->tid->store(1);  // `a` is dead after this store
                self->collector_loop();
                return nullptr;
            },
            &args);
        ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
        if (rc != 0) {
            disarm_all();
            globals().active.store(nullptr);
            wait_for_handlers();
            throw error(std::string("cannot start the collector thread: ") + std::strerror(rc));
        }
        while (started_tid.load() == 0) ::sched_yield();
    }

    /// Wakes when the handler says the store is half full, or to look for new threads: every
    /// `thread_scan_interval_ms` while threads come and go, backing off to 100 ms (or the
    /// option, if larger) while the set of threads is steady.
    void collector_loop() {
        const int base_ms = std::max(1, opts_.thread_scan_interval_ms());
        const int max_ms = std::max(base_ms, 100);
        int interval_ms = base_ms;
        while (!stop_requested_.load()) {
            pollfd pfd{wake_fd_, POLLIN, 0};
            ::poll(&pfd, 1, interval_ms);
            if (pfd.revents & POLLIN) {
                std::uint64_t v;
                ssize_t rc = ::read(wake_fd_, &v, sizeof v);
                (void)rc;
                wake_pending_.store(false, std::memory_order_relaxed);
            }
            if (stop_requested_.load()) break;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                drain_locked();
            }
            if (opts_.threads() != thread_scope::all) continue;
            bool changed = scan_threads();
            interval_ms = changed ? base_ms : std::min(interval_ms * 2, max_ms);
        }
    }

    void drain_locked() {
        store_.drain([this](const raw_sample& s) {
            if (s.depth == 0) {
                ++unwind_failed_;
                unwind_failed_ns_ += s.weight;
                return;
            }
            if (s.flags & raw_truncated) ++truncated_;
            std::uint64_t set = 0;
            if (const raw_labels* l = store_.labels(&s)) {
                if (l->bytes != 0 || l->dropped != 0) {
                    set_key_.assign(1, static_cast<char>(l->dropped));
                    set_key_.push_back(static_cast<char>(l->cut));
                    set_key_.append(reinterpret_cast<const char*>(l->data()), l->bytes);
                    auto it = label_set_ids_.find(set_key_);
                    if (it == label_set_ids_.end()) {
                        label_sets_.push_back(set_key_);
                        it = label_set_ids_.emplace(set_key_, label_sets_.size() - 1).first;
                    }
                    set = it->second;
                }
            }
            key_.clear();
            key_.push_back(static_cast<std::uint32_t>(s.tid) | (set << 32));
            key_.insert(key_.end(), s.frames(), s.frames() + s.depth);
            auto& st = stacks_[key_];
            st.count += 1;
            st.weight += s.weight;
        });
    }

    // options and constants
    profiler_options opts_;
    int frequency_;
    clock_kind clock_;
    std::int64_t period_ns_;
    std::uint32_t generation_ = 0;

    // shared with the signal handler
    sample_store store_;
    std::vector<thread_slot> slots_;
    std::unique_ptr<std::atomic<std::int32_t>[]> fd_slot_;
    range_table stack_ranges_;
    static constexpr std::size_t max_blocklist = 256;
    stack_bounds blocklist_[max_blocklist] = {};
    std::size_t blocklist_count_ = 0;
    std::atomic<std::uint64_t> buffer_full_{0}, in_exception_{0}, blocklisted_{0};
    std::atomic<std::int64_t> buffer_full_ns_{0}, in_exception_ns_{0}, blocklisted_ns_{0};
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
                      std::atomic<std::int64_t>::is_always_lock_free,
                  "the signal handler counts lost samples with lock-free atomics only");
    std::atomic<bool> wake_pending_{false};
    int wake_fd_ = -1;

    // collector side
    pthread_t collector_{};
    int collector_tid_ = -1;
    std::atomic<bool> stop_requested_{false};
    std::unordered_map<int, std::size_t> armed_tids_;
    std::size_t armed_count_ = 0;
    std::uint64_t scan_number_ = 0;
    bool perf_unavailable_ = false;
    std::string arm_error_;
    const char* timer_name_ = "none";
    pid_t owner_pid_;
    std::int64_t start_unix_ns_ = 0;
    std::chrono::steady_clock::time_point start_steady_;
    thread_lister lister_;
    std::vector<int> tids_, previous_tids_;
    std::vector<int> rename_pending_;  // threads found since the last scan

    // aggregate (guarded by mutex_)
    std::mutex mutex_;
    std::unordered_map<std::vector<std::uint64_t>, stack_stats, stack_key_hash> stacks_;
    std::unordered_map<int, std::string> thread_names_;
    std::unordered_map<int, std::int64_t> unsampled_ns_;
    std::vector<std::uint64_t> key_;
    // label sets seen (raw_profile::label_sets), index 0 the empty one
    std::vector<std::string> label_sets_{std::string(2, '\0')};
    std::unordered_map<std::string, std::uint64_t> label_set_ids_;
    std::string set_key_;
    std::uint64_t unwind_failed_ = 0;
    std::int64_t unwind_failed_ns_ = 0;
    std::uint64_t truncated_ = 0;
};

template <class T>
void basic_sampler_session<T>::handler(int sig, siginfo_t* info, void* ucontext) {
    // THE SIGPROF HANDLER. Async-signal-safe: saves errno, no malloc, no locks, no stdio.
    int saved_errno = errno;
    auto& g = globals();
    g.in_flight.fetch_add(1, std::memory_order_seq_cst);
    bool ours = false;
    if (sampler_session* s = g.active.load(std::memory_order_seq_cst))
        ours = s->on_signal(info, ucontext);
    else if (info->si_code == SI_TIMER &&
             (reinterpret_cast<std::uint64_t>(info->si_value.sival_ptr) >> 48) == cookie_magic)
        ours = true;  // a late signal of a stopped profile: drop it
    g.in_flight.fetch_sub(1, std::memory_order_seq_cst);
    if (!ours && g.have_previous) {
        // Chain to whatever handled SIGPROF before us; SIG_DFL would kill the process for a
        // signal that is only late, so it is ignored like SIG_IGN.
        const struct sigaction& p = g.previous;
        if (p.sa_flags & SA_SIGINFO) {
            if (p.sa_sigaction) p.sa_sigaction(sig, info, ucontext);
        } else if (p.sa_handler != SIG_DFL && p.sa_handler != SIG_IGN) {
            p.sa_handler(sig);
        }
    }
    errno = saved_errno;
}

}  // namespace cpprof::detail
