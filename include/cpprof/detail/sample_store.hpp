#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
//
// The bounded, lock-free store between the signal handler (many producers: every sampled
// thread) and the collector (one consumer at a time, serialised by the caller's mutex).
//
// It is a ring of fixed-size cells with per-cell sequence numbers (the classic bounded MPMC
// queue design): a producer claims a cell with one CAS on the enqueue counter, writes the stack
// straight into it and publishes it with a release store of the sequence number. No malloc, no
// lock, no syscall: safe to use from a signal handler. When the ring is full the producer gets
// nullptr and the caller counts the sample as lost.
//
// A producer that is itself interrupted between claim and publish cannot be re-entered by the
// same signal (SIGPROF is blocked while its handler runs), and other producers just move on to
// the next cell; the consumer stops at the unpublished cell and picks it up on the next drain.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

namespace cpprof::detail {

struct raw_sample {
    std::int32_t tid;       ///< kernel thread id of the sampled thread
    std::uint16_t depth;    ///< number of valid entries in frames
    std::uint16_t flags;    ///< raw_sample_flags
    std::int64_t weight;    ///< clock nanoseconds this sample stands for
    // `max_depth` frame addresses follow the header in the cell, leaf first, then the
    // label area (sample_store::labels).
    std::uint64_t* frames() noexcept { return reinterpret_cast<std::uint64_t*>(this + 1); }
    const std::uint64_t* frames() const noexcept {
        return reinterpret_cast<const std::uint64_t*>(this + 1);
    }
};
static_assert(sizeof(raw_sample) == 16, "frames must follow the header at 8-byte alignment");

enum raw_sample_flags : std::uint16_t {
    raw_truncated = 1,  ///< the stack was cut at max_depth
};

/// The label area of a cell: a small header, then the labels in force when the sample was
/// taken, packed by detail::pack_labels (detail/label_stack.hpp).
struct raw_labels {
    std::uint16_t bytes;    ///< packed bytes that follow
    std::uint8_t dropped;   ///< labels in force left out (no room), saturated at 255
    std::uint8_t cut;       ///< labels recorded whose key or value the guard had cut
    unsigned char* data() noexcept { return reinterpret_cast<unsigned char*>(this + 1); }
    const unsigned char* data() const noexcept {
        return reinterpret_cast<const unsigned char*>(this + 1);
    }
};
static_assert(sizeof(raw_labels) == 4, "the packed labels follow a 4-byte header");

class sample_store {
public:
    /// `label_bytes`: room for packed labels in each cell (0: no label area).
    sample_store(std::size_t capacity, std::size_t max_depth, std::size_t label_bytes = 0)
        : max_depth_(max_depth), label_bytes_(label_bytes) {
        std::size_t cap = 16;
        while (cap < capacity) cap <<= 1;
        mask_ = cap - 1;
        // cell = sequence number + raw_sample header + max_depth frames, 8-byte aligned.
        stride_ = sizeof(std::atomic<std::size_t>) + sizeof(raw_sample) +
                  max_depth * sizeof(std::uint64_t) +
                  (label_bytes ? sizeof(raw_labels) + label_bytes : 0);
        stride_ = (stride_ + 63) & ~std::size_t{63};  // one cell never shares a line's tail
        memory_.reset(static_cast<unsigned char*>(
            ::operator new[](cap * stride_, std::align_val_t{64})));
        for (std::size_t i = 0; i < cap; ++i) new (seq(i)) std::atomic<std::size_t>(i);
    }
    sample_store(const sample_store&) = delete;
    sample_store& operator=(const sample_store&) = delete;

    std::size_t capacity() const { return mask_ + 1; }
    std::size_t max_depth() const { return max_depth_; }
    /// Room for packed labels in each cell; 0 when the cells have no label area.
    std::size_t label_bytes() const noexcept { return label_bytes_; }

    /// The label area of a cell (async-signal-safe: pointer arithmetic), or nullptr when the
    /// cells have none.
    raw_labels* labels(raw_sample* s) const noexcept {
        if (label_bytes_ == 0) return nullptr;
        return reinterpret_cast<raw_labels*>(s->frames() + max_depth_);
    }
    const raw_labels* labels(const raw_sample* s) const noexcept {
        if (label_bytes_ == 0) return nullptr;
        return reinterpret_cast<const raw_labels*>(s->frames() + max_depth_);
    }

    /// Producer (async-signal-safe): claims a cell, or returns nullptr when the store is full.
    /// `*ticket` must be passed to publish().
    raw_sample* claim(std::size_t* ticket) noexcept {
        std::size_t pos = enqueue_.load(std::memory_order_relaxed);
        for (;;) {
            std::atomic<std::size_t>* s = seq(pos & mask_);
            std::size_t cell_seq = s->load(std::memory_order_acquire);
            auto diff = static_cast<std::ptrdiff_t>(cell_seq - pos);
            if (diff == 0) {
                if (enqueue_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
                    *ticket = pos;
                    return cell(pos & mask_);
                }
            } else if (diff < 0) {
                return nullptr;  // full: the consumer has not freed this cell yet
            } else {
                pos = enqueue_.load(std::memory_order_relaxed);
            }
        }
    }

    /// Producer (async-signal-safe): makes a claimed cell visible to the consumer.
    void publish(std::size_t ticket) noexcept {
        seq(ticket & mask_)->store(ticket + 1, std::memory_order_release);
    }

    /// Consumer: calls f(const raw_sample&) for every published sample in order, frees the
    /// cells, and returns how many it drained. One consumer at a time (caller serialises).
    template <class F>
    std::size_t drain(F&& f) {
        std::size_t n = 0;
        std::size_t pos = dequeue_.load(std::memory_order_relaxed);
        for (;;) {
            std::atomic<std::size_t>* s = seq(pos & mask_);
            if (s->load(std::memory_order_acquire) != pos + 1) break;  // empty or unpublished
            f(*cell(pos & mask_));
            s->store(pos + mask_ + 1, std::memory_order_release);
            ++pos;
            ++n;
        }
        dequeue_.store(pos, std::memory_order_relaxed);
        return n;
    }

    /// Approximate number of published-or-claimed cells (async-signal-safe).
    std::size_t approx_size() const noexcept {
        std::size_t e = enqueue_.load(std::memory_order_relaxed);
        std::size_t d = dequeue_.load(std::memory_order_relaxed);
        return e >= d ? e - d : 0;
    }

private:
    struct aligned_delete {
        void operator()(unsigned char* p) const { ::operator delete[](p, std::align_val_t{64}); }
    };
    std::atomic<std::size_t>* seq(std::size_t i) const {
        return reinterpret_cast<std::atomic<std::size_t>*>(memory_.get() + i * stride_);
    }
    raw_sample* cell(std::size_t i) const {
        return reinterpret_cast<raw_sample*>(memory_.get() + i * stride_ +
                                             sizeof(std::atomic<std::size_t>));
    }

    static_assert(std::atomic<std::size_t>::is_always_lock_free,
                  "the sample store needs lock-free atomics to be signal-safe");

    std::size_t max_depth_;
    std::size_t label_bytes_;
    std::size_t mask_ = 0;
    std::size_t stride_ = 0;
    std::unique_ptr<unsigned char[], aligned_delete> memory_;
    alignas(64) std::atomic<std::size_t> enqueue_{0};
    alignas(64) std::atomic<std::size_t> dequeue_{0};
};

}  // namespace cpprof::detail
