#pragma once
// Per-tag allocation totals: what tracking_allocator, tracking_resource and the global
// operator new replacement count, and what allocation_stats<Tag>() reads.
//
//     struct cache_tag {};
//     std::vector<int, cpprof::tracking_allocator<int, cache_tag>> v(1000);
//     cpprof::allocation_statistics s = cpprof::allocation_stats<cache_tag>();
//     // s.allocations == 1, s.allocated_bytes == 4000, s.live_bytes == 4000, ...
//
// Cheap and thread-safe without a contended atomic per call: every thread that uses a tag owns
// a cache-line-sized block of counters that only it writes (plain relaxed loads and stores, no
// read-modify-write), and a reader sums the blocks. A block outlives its thread (blocks are
// never freed; a new thread adopts a retired one), so totals never go backwards.
//
// Peak: the true peak is a maximum over time of a sum over threads, which no per-thread
// counter can see. Each thread publishes its net live change to one shared total once it has
// moved by publish_batch bytes (and when the thread exits), and records the highest total it
// has seen. With one thread using a tag the peak is exact; with several it is within
// publish_batch bytes per thread of the truth. Allocations, bytes and live bytes are always
// exact once the writing threads are quiet.

#include <cpprof/config.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace cpprof {

/// The tag of a tracking_allocator or tracking_resource that names none.
struct default_tag {};

/// The tag the global operator new/delete replacement (CPPROF_IMPLEMENT_GLOBAL_NEW) counts
/// under: allocation_stats<global_new_tag>() is every operator new in the process.
struct global_new_tag {};

/// A snapshot of one tag's totals since the program started.
struct allocation_statistics {
    std::uint64_t allocations = 0;      ///< allocate calls
    std::uint64_t deallocations = 0;    ///< deallocate calls
    std::uint64_t allocated_bytes = 0;  ///< bytes asked for, in total
    std::uint64_t freed_bytes = 0;      ///< bytes given back, in total
    std::int64_t live_bytes = 0;        ///< allocated_bytes - freed_bytes
    std::int64_t peak_bytes = 0;        ///< highest live_bytes seen (see the note on peaks)
};

namespace detail {

/// Net live bytes a thread accumulates before publishing them to the tag's shared total.
inline constexpr std::int64_t publish_batch = 64 * 1024;

struct alignas(64) counter_block {
    // Written only by the owning thread; read by anyone.
    std::atomic<std::uint64_t> allocations{0};
    std::atomic<std::uint64_t> deallocations{0};
    std::atomic<std::uint64_t> allocated_bytes{0};
    std::atomic<std::uint64_t> freed_bytes{0};
    std::atomic<std::int64_t> peak_seen{0};
    // Owner-only.
    std::int64_t pending = 0;    ///< live change not yet published
    std::int64_t seen_live = 0;  ///< the shared total right after our last publish
    std::atomic<bool> owned{false};
    bool shared = false;  ///< the tag's fallback block: updated with atomic read-modify-writes
    counter_block* next = nullptr;
};

struct tag_counters {
    std::atomic<counter_block*> blocks{nullptr};  // push-only list
    std::atomic<std::int64_t> published_live{0};
    std::atomic<std::int64_t> published_peak{0};
    counter_block fallback;  // threads past their thread_local teardown, or out of memory
};

inline void store_max(std::atomic<std::int64_t>& target, std::int64_t v) noexcept {
    std::int64_t cur = target.load(std::memory_order_relaxed);
    while (v > cur && !target.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
    }
}

inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t n) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

template <class Tag>
struct tag_registry {
    static tag_counters& counters() noexcept {
        // Constructed on first use and never destroyed: operator delete may count into it
        // during static destruction.
        alignas(tag_counters) static unsigned char storage[sizeof(tag_counters)];
        static tag_counters* c = [] {
            auto* t = new (storage) tag_counters();
            t->fallback.shared = true;
            t->fallback.owned.store(true, std::memory_order_relaxed);
            return t;
        }();
        return *c;
    }

    // The calling thread's block: null until its first use of the tag; the fallback block
    // once the thread's thread_local objects are being destroyed.
    static inline thread_local counter_block* mine = nullptr;

    struct releaser {
        ~releaser() {
            counter_block* b = mine;
            mine = &counters().fallback;
            if (b == nullptr || b->shared) return;
            publish(counters(), *b);
            b->owned.store(false, std::memory_order_release);
        }
    };

    static void publish(tag_counters& t, counter_block& b) noexcept {
        std::int64_t now =
            t.published_live.fetch_add(b.pending, std::memory_order_relaxed) + b.pending;
        b.pending = 0;
        b.seen_live = now;
        store_max(t.published_peak, now);
    }

    [[gnu::noinline]] static counter_block& acquire() noexcept {
        tag_counters& t = counters();
        counter_block* b = nullptr;
        for (counter_block* c = t.blocks.load(std::memory_order_acquire); c; c = c->next) {
            bool expected = false;
            if (!c->owned.load(std::memory_order_relaxed) &&
                c->owned.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
                b = c;
                break;
            }
        }
        if (b == nullptr) {
            // std::malloc, not operator new: this runs inside the global operator new hook.
            void* mem = std::aligned_alloc(alignof(counter_block), sizeof(counter_block));
            if (mem == nullptr) return t.fallback;
            b = new (mem) counter_block();
            b->owned.store(true, std::memory_order_relaxed);
            counter_block* head = t.blocks.load(std::memory_order_relaxed);
            do {
                b->next = head;
            } while (!t.blocks.compare_exchange_weak(head, b, std::memory_order_release,
                                                     std::memory_order_relaxed));
        }
        b->pending = 0;
        b->seen_live = t.published_live.load(std::memory_order_relaxed);
        mine = b;
        static thread_local releaser r;  // gives the block back when the thread exits
        (void)r;
        return *b;
    }

    static counter_block& block() noexcept {
        counter_block* b = mine;
        return b != nullptr ? *b : acquire();
    }

    [[gnu::noinline, gnu::cold]] static void on_allocate_shared(counter_block& b,
                                                              std::uint64_t bytes) noexcept {
        tag_counters& t = counters();
        b.allocations.fetch_add(1, std::memory_order_relaxed);
        b.allocated_bytes.fetch_add(bytes, std::memory_order_relaxed);
        std::int64_t now = t.published_live.fetch_add(static_cast<std::int64_t>(bytes),
                                                      std::memory_order_relaxed) +
                           static_cast<std::int64_t>(bytes);
        store_max(t.published_peak, now);
    }
    [[gnu::noinline]] static void publish_own(counter_block& b) noexcept { publish(counters(), b); }
    [[gnu::noinline, gnu::cold]] static void on_deallocate_shared(counter_block& b,
                                                                std::uint64_t bytes) noexcept {
        b.deallocations.fetch_add(1, std::memory_order_relaxed);
        b.freed_bytes.fetch_add(bytes, std::memory_order_relaxed);
        counters().published_live.fetch_sub(static_cast<std::int64_t>(bytes),
                                            std::memory_order_relaxed);
    }

    static void on_allocate(std::uint64_t bytes) noexcept {
        counter_block& b = block();
        if (b.shared) return on_allocate_shared(b, bytes);
        bump(b.allocations, 1);
        bump(b.allocated_bytes, bytes);
        b.pending += static_cast<std::int64_t>(bytes);
        // Publishing records the fresh shared total as a peak candidate. The local view must
        // not be used then: seen_live may be old (other threads may have freed a lot since),
        // and only a pending below publish_batch keeps its error within the documented bound.
        if (b.pending >= publish_batch) {
            publish_own(b);
            return;
        }
        std::int64_t view = b.seen_live + b.pending;
        if (view > b.peak_seen.load(std::memory_order_relaxed))
            b.peak_seen.store(view, std::memory_order_relaxed);
    }

    static void on_deallocate(std::uint64_t bytes) noexcept {
        counter_block& b = block();
        if (b.shared) return on_deallocate_shared(b, bytes);
        bump(b.deallocations, 1);
        bump(b.freed_bytes, bytes);
        b.pending -= static_cast<std::int64_t>(bytes);
        if (b.pending <= -publish_batch) publish_own(b);
    }

    static allocation_statistics read() noexcept {
        tag_counters& t = counters();
        allocation_statistics s;
        std::int64_t peak = t.published_peak.load(std::memory_order_relaxed);
        auto add = [&](const counter_block& b) {
            s.allocations += b.allocations.load(std::memory_order_relaxed);
            s.deallocations += b.deallocations.load(std::memory_order_relaxed);
            s.allocated_bytes += b.allocated_bytes.load(std::memory_order_relaxed);
            s.freed_bytes += b.freed_bytes.load(std::memory_order_relaxed);
            std::int64_t p = b.peak_seen.load(std::memory_order_relaxed);
            if (p > peak) peak = p;
        };
        add(t.fallback);
        for (counter_block* c = t.blocks.load(std::memory_order_acquire); c; c = c->next) add(*c);
        s.live_bytes = static_cast<std::int64_t>(s.allocated_bytes - s.freed_bytes);
        s.peak_bytes = peak > s.live_bytes ? peak : s.live_bytes;
        return s;
    }
};

}  // namespace detail

/// Totals for `Tag` since the program started: every tracking_allocator<T, Tag> and
/// tracking_resource<Tag> (and, for global_new_tag, every operator new) counts here.
template <class Tag = default_tag>
allocation_statistics allocation_stats() noexcept {
#if CPPROF_ENABLED
    return detail::tag_registry<Tag>::read();
#else
    return {};
#endif
}

}  // namespace cpprof
