#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
//
// The heap sampler behind heap_profiler_guard and leak_detector, fed by the global operator
// new/delete replacement (memory/global_new.hpp).
//
// Sampling: a Poisson process over allocated bytes with mean `interval` (Go's MemProfileRate,
// tcmalloc's sampling). Each thread counts down the bytes to its next sample, so the fast path
// is a subtraction and a compare; the countdown is drawn from an exponential distribution,
// which is memoryless, so an allocation of s bytes is sampled with probability
// p(s) = 1 - exp(-s / interval) whatever came before it. A sampled allocation gets its stack
// (libgcc's DWARF unwinder: correct without frame pointers) and is recorded with weight 1/p(s)
// — Go's unsampling formula, applied per allocation rather than to a bucket's average size, so
// a call site that allocates mixed sizes is estimated without bias. Interval 1 records every
// allocation with weight 1.
//
// Records: one bucket per distinct stack (alloc_objects / alloc_space estimates since the
// current heap_profiler_guard started) and one live entry per sampled allocation not yet freed
// (size, weight, bucket, sequence number). In-use values and leak reports are sums over live
// entries; a sequence number orders them against checkpoints.
//
// Sessions: heap_profiler_guard (one at a time) and any number of leak_detectors each hold a
// session; the sampling interval in force is the smallest any session asked for (weights use
// the interval each allocation was sampled at, so estimates stay unbiased when it changes).
// When the last session ends the records are dropped; a block that was sampled and is freed
// later simply finds no record.
//
// Locking: one mutex guards the records. It is taken only for sampled allocations and for the
// frees of sampled blocks, never on the common path, and never while another cpprof lock is
// held. Every member marks the thread cpprof-internal before taking it: an allocation made
// under the lock that was sampled would take it again. Nothing here runs in a signal handler.

#include <cpprof/detail/alloc_state.hpp>
#include <cpprof/detail/label_stack.hpp>
#include <cpprof/detail/text.hpp>
#include <cpprof/detail/unwind.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <ctime>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <pthread.h>

namespace cpprof::detail {

/// What the allocation fast path reads: bumped whenever the interval in force changes, so each
/// thread redraws its countdown. Starts at 1 so that a thread's zeroed state is out of date.
inline std::atomic<std::uint32_t> g_heap_generation{1};
/// The sampling interval in force in bytes; 0 when no session runs.
inline std::atomic<std::int64_t> g_heap_interval{0};

inline constexpr std::int64_t heap_countdown_off = std::int64_t{1} << 62;

/// Next countdown for `interval`: an exponential draw with that mean (xorshift64* for the
/// uniform), -1 for interval 1 so that every allocation, even of 0 bytes, is sampled.
inline std::int64_t draw_heap_countdown(thread_alloc_state& s, std::int64_t interval) noexcept {
    if (interval <= 1) return -1;
    if (s.rng == 0) {
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s.rng = (static_cast<std::uint64_t>(ts.tv_nsec) << 20) ^
                reinterpret_cast<std::uintptr_t>(&s) ^ 0x9e3779b97f4a7c15ull;
    }
    s.rng ^= s.rng >> 12;
    s.rng ^= s.rng << 25;
    s.rng ^= s.rng >> 27;
    std::uint64_t r = s.rng * 0x2545f4914f6cdd1dull;
    double u = static_cast<double>((r >> 11) + 1) * 0x1.0p-53;  // (0, 1]
    double next = -math::log(u) * static_cast<double>(interval);
    if (next > static_cast<double>(heap_countdown_off)) next = static_cast<double>(heap_countdown_off);
    return static_cast<std::int64_t>(next);
}

/// Decides, once a thread's countdown ran out or its generation is stale, whether the
/// allocation of `size` bytes (already subtracted from the countdown) is sampled. Returns the
/// interval it was sampled at, or 0.
inline std::int64_t heap_sampling_decision(thread_alloc_state& s, std::int64_t size) noexcept {
    std::uint32_t gen = g_heap_generation.load(std::memory_order_acquire);
    std::int64_t interval = g_heap_interval.load(std::memory_order_acquire);
    if (s.sample_generation != gen) {
        s.sample_generation = gen;
        if (interval <= 0) {
            s.sample_countdown = heap_countdown_off;
            return 0;
        }
        s.sample_countdown = draw_heap_countdown(s, interval) - size;
        if (s.sample_countdown >= 0) return 0;
    }
    if (interval <= 0) {
        s.sample_countdown = heap_countdown_off;
        return 0;
    }
    s.sample_countdown = draw_heap_countdown(s, interval);
    return interval;
}

/// Go's unsampling factor for one allocation of `size` bytes sampled at `interval`.
inline double heap_sample_weight(std::int64_t size, std::int64_t interval) noexcept {
    if (interval <= 1) return 1.0;
    double p = 1.0 - math::exp(-static_cast<double>(size) / static_cast<double>(interval));
    return p > 0 ? 1.0 / p : 1.0;
}

// ---- stacks ------------------------------------------------------------------------------

/// Leaf-first stack of the allocation whose operator new returns to `return_address`. Not in
/// a signal handler: a plain synchronous libgcc walk.
inline std::size_t capture_heap_stack(const void* return_address, std::uint64_t* out,
                                      std::size_t max, bool& truncated) noexcept {
    const auto ra = reinterpret_cast<std::uintptr_t>(return_address);
    walk_result r = walk_libgcc_from(ra, out, max);
    truncated = r.truncated;
    if (r.found) return r.depth;
    // The caller's frame was not seen (no unwind info for it): keep its address alone rather
    // than a stack of cpprof's own frames.
    truncated = false;
    if (max == 0 || ra == 0) return 0;
    out[0] = ra - 1;
    return 1;
}

// ---- records -----------------------------------------------------------------------------

/// Room for the labels in force (label_guard) that a sampled allocation records.
inline constexpr std::size_t heap_label_bytes = 256;

struct heap_bucket {
    std::vector<std::uint64_t> stack;  // leaf first
    std::string labels;                // label set (detail/label_sets.hpp format), or empty
    double alloc_objects = 0;          // estimates since the current guard started
    double alloc_space = 0;
};

struct heap_live_entry {
    std::uint32_t bucket;
    std::int64_t size;
    double weight;
    std::uint64_t seq;
};

/// A copy of the records a report needs, taken under the lock and built into a profile
/// outside it.
struct heap_snapshot {
    std::vector<heap_bucket> buckets;   // with alloc estimates
    std::vector<double> inuse_objects;  // per bucket, over live entries with seq >= since
    std::vector<double> inuse_space;
    std::int64_t interval = 0;
    std::uint64_t truncated = 0;
    std::uint64_t dropped = 0;
};

template <class = void>
class basic_heap_records {
public:
    /// Registers a session asking for `interval`; returns its id.
    std::uint64_t open_session(std::int64_t interval, int max_depth) {
        internal_allocation_scope internal;
        std::lock_guard<std::mutex> lock(mu_);
        install_fork_handlers();
        std::uint64_t id = next_session_++;
        sessions_.push_back({id, interval, max_depth});
        apply_sessions();
        return id;
    }

    void close_session(std::uint64_t id) {
        internal_allocation_scope internal;
        std::lock_guard<std::mutex> lock(mu_);
        for (std::size_t i = 0; i < sessions_.size(); ++i) {
            if (sessions_[i].id == id) {
                sessions_.erase(sessions_.begin() + static_cast<std::ptrdiff_t>(i));
                break;
            }
        }
        apply_sessions();
        if (sessions_.empty()) {
            // Nothing asks for the records any more: give their memory back.
            std::vector<heap_bucket>().swap(buckets_);
            std::unordered_map<std::string, std::uint32_t>().swap(index_);
            std::unordered_map<std::uintptr_t, heap_live_entry>().swap(live_);
            truncated_ = dropped_ = 0;
        }
    }

    /// Starts the alloc_* totals afresh (a heap_profiler_guard starting); returns the sequence
    /// number that separates what comes after.
    std::uint64_t restart_totals() {
        internal_allocation_scope internal;  // what is allocated under mu_ must not be sampled
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& b : buckets_) b.alloc_objects = b.alloc_space = 0;
        truncated_ = dropped_ = 0;
        return next_seq_;
    }

    std::uint64_t current_seq() {
        internal_allocation_scope internal;  // what is allocated under mu_ must not be sampled
        std::lock_guard<std::mutex> lock(mu_);
        return next_seq_;
    }

    /// Records a sampled allocation. Called from operator new with the thread marked internal.
    /// Returns false when it could not (no session any more, out of memory).
    bool record(const void* block, std::int64_t size, std::int64_t interval,
                const void* return_address) noexcept {
        // The stack buffer comes from malloc, not the stack: operator new may run on a thread
        // with a small stack. (malloc is never hooked; only operator new is.)
        // Labels in force go in the same buffer, after the stack.
        const auto cap = static_cast<std::size_t>(max_depth_.load(std::memory_order_relaxed));
        struct buffer {
            std::uint64_t* p;
            ~buffer() { std::free(p); }
        } buf{static_cast<std::uint64_t*>(
            std::malloc(cap * sizeof(std::uint64_t) + 2 + heap_label_bytes))};
        if (buf.p == nullptr) return false;
        std::uint64_t* stack = buf.p;
        bool truncated = false;
        std::size_t depth = capture_heap_stack(return_address, stack, cap, truncated);
        // This runs on the allocating thread, inside the guards' scopes: its labels are live.
        auto* packed = reinterpret_cast<unsigned char*>(stack + cap);
        const packed_labels_info li = pack_labels(packed + 2, heap_label_bytes);
        packed[0] = static_cast<unsigned char>(li.dropped > 255 ? 255 : li.dropped);
        packed[1] = static_cast<unsigned char>(li.cut > 255 ? 255 : li.cut);
        const bool labelled = li.bytes != 0 || li.dropped != 0;
        try {
            std::lock_guard<std::mutex> lock(mu_);
            if (sessions_.empty()) return false;
            // The bucket key: the stack, then the label set and its length, then a tag byte
            // saying whether there are labels; read from the end, it decodes one way only.
            std::string key(reinterpret_cast<const char*>(stack), depth * sizeof stack[0]);
            if (labelled) {
                const auto n = static_cast<std::uint16_t>(2 + li.bytes);
                key.append(reinterpret_cast<const char*>(packed), n);
                key.append(reinterpret_cast<const char*>(&n), sizeof n);
            }
            key.push_back(labelled ? '\1' : '\0');
            auto it = index_.find(key);
            if (it == index_.end()) {
                heap_bucket b;
                b.stack.assign(stack, stack + depth);
                if (labelled) b.labels.assign(reinterpret_cast<const char*>(packed), 2 + li.bytes);
                buckets_.push_back(std::move(b));
                it = index_.emplace(std::move(key), static_cast<std::uint32_t>(buckets_.size() - 1))
                         .first;
            }
            const double w = heap_sample_weight(size, interval);
            heap_bucket& b = buckets_[it->second];
            b.alloc_objects += w;
            b.alloc_space += w * static_cast<double>(size);
            live_[reinterpret_cast<std::uintptr_t>(block)] =
                heap_live_entry{it->second, size, w, next_seq_++};
            truncated_ += truncated;
            return true;
        } catch (...) {
            std::lock_guard<std::mutex> lock(mu_);
            ++dropped_;
            return false;
        }
    }

    /// Forgets a sampled block being freed. Called from operator delete, thread marked internal.
    void forget(const void* block) noexcept {
        std::lock_guard<std::mutex> lock(mu_);
        live_.erase(reinterpret_cast<std::uintptr_t>(block));
    }

    /// The records, with in-use sums over allocations sampled at or after `since`.
    heap_snapshot snapshot(std::uint64_t since) {
        internal_allocation_scope internal;  // what is allocated under mu_ must not be sampled
        heap_snapshot s;
        std::lock_guard<std::mutex> lock(mu_);
        s.buckets = buckets_;
        s.inuse_objects.assign(buckets_.size(), 0.0);
        s.inuse_space.assign(buckets_.size(), 0.0);
        for (const auto& [addr, e] : live_) {
            (void)addr;
            if (e.seq < since) continue;
            s.inuse_objects[e.bucket] += e.weight;
            s.inuse_space[e.bucket] += e.weight * static_cast<double>(e.size);
        }
        s.interval = g_heap_interval.load(std::memory_order_relaxed);
        s.truncated = truncated_;
        s.dropped = dropped_;
        return s;
    }

    /// Estimated {objects, bytes} still live among allocations sampled at or after `since`.
    std::pair<double, double> live_totals(std::uint64_t since) {
        internal_allocation_scope internal;  // what is allocated under mu_ must not be sampled
        std::lock_guard<std::mutex> lock(mu_);
        double objects = 0, bytes = 0;
        for (const auto& [addr, e] : live_) {
            (void)addr;
            if (e.seq < since) continue;
            objects += e.weight;
            bytes += e.weight * static_cast<double>(e.size);
        }
        return {objects, bytes};
    }

private:
    struct session {
        std::uint64_t id;
        std::int64_t interval;
        int max_depth;
    };

    // Under mu_: puts the smallest asked interval (and largest depth) in force.
    void apply_sessions() {
        std::int64_t interval = 0;
        int depth = 1;
        for (const auto& s : sessions_) {
            if (interval == 0 || s.interval < interval) interval = s.interval;
            if (s.max_depth > depth) depth = s.max_depth;
        }
        max_depth_.store(depth, std::memory_order_relaxed);
        if (interval != g_heap_interval.load(std::memory_order_relaxed)) {
            g_heap_interval.store(interval, std::memory_order_release);
            g_heap_generation.fetch_add(1, std::memory_order_acq_rel);
        }
    }

    // A fork() while another thread holds mu_ would leave the child's copy locked forever:
    // hold it across the fork, as malloc does with its own locks.
    void install_fork_handlers() {
        static bool installed = [] {
            pthread_atfork([] { instance_mutex().lock(); }, [] { instance_mutex().unlock(); },
                           [] { instance_mutex().unlock(); });
            return true;
        }();
        (void)installed;
    }

public:
    static std::mutex& instance_mutex();

private:
    std::mutex mu_;
    std::vector<session> sessions_;
    std::uint64_t next_session_ = 1;
    std::vector<heap_bucket> buckets_;
    std::unordered_map<std::string, std::uint32_t> index_;
    std::unordered_map<std::uintptr_t, heap_live_entry> live_;
    std::uint64_t next_seq_ = 1;
    std::uint64_t truncated_ = 0;
    std::uint64_t dropped_ = 0;
    std::atomic<int> max_depth_{128};
};

/// The process's records: constructed on first use, never destroyed (operator delete may
/// reach them during static destruction).
template <class T = void>
basic_heap_records<T>& heap_records() {
    alignas(basic_heap_records<T>) static unsigned char storage[sizeof(basic_heap_records<T>)];
    static basic_heap_records<T>* r = [] {
        internal_allocation_scope internal;
        return new (storage) basic_heap_records<T>();
    }();
    return *r;
}

template <class T>
std::mutex& basic_heap_records<T>::instance_mutex() {
    return heap_records<T>().mu_;
}

}  // namespace cpprof::detail
