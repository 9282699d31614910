#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
//
// The per-thread state every allocation hook touches: what allocation_counter reads, the
// layering rule that keeps one allocation from being counted twice, the flag that makes
// cpprof's own allocations invisible, and the heap sampler's byte countdown. One plain,
// constant-initialised thread_local struct, so a hook pays one TLS address computation and no
// initialisation check. Light: only <cstdint>, because <cpprof/macros.hpp> includes it (not
// even <atomic>, which alone would take most of that header's include budget).

#include <cstdint>

namespace cpprof::detail {

struct thread_alloc_state {
    // What allocation_counter reads: allocations this thread made (and freed) through any
    // cpprof-observed path, counted once each.
    std::uint64_t allocations;
    std::uint64_t deallocations;
    std::uint64_t allocated_bytes;
    std::uint64_t freed_bytes;
    // > 0 while a tracking layer (tracking_allocator, tracking_resource) calls its upstream:
    // the layers below it (another tracking layer, the global operator new) still feed their
    // own per-tag totals and the heap profiler, but do not count the allocation for the thread
    // a second time.
    int layer_depth;
    // > 0 while cpprof itself allocates (building a report, the sampler's own bookkeeping):
    // such allocations are neither counted nor profiled, and are marked so that freeing them
    // later, from any thread, is not counted either.
    int internal;
    // Heap sampler (memory/heap_profiler.hpp): bytes left before the next sampled allocation,
    // and the sampler generation the countdown was drawn for.
    std::int64_t sample_countdown;
    std::uint32_t sample_generation;
    std::uint64_t rng;
};

// Zero-initialised and trivially destructible: accessing it needs no TLS wrapper call.
inline thread_local thread_alloc_state t_alloc_state{};

/// A bool read and written with relaxed atomic operations (the GCC/Clang __atomic builtins),
/// so that this header needs no <atomic>. load() and store() take and ignore a memory order,
/// so code written for std::atomic<bool> reads the same.
struct relaxed_flag {
    bool value;
    template <class Order = int>
    bool load(Order = Order{}) const noexcept {
        return __atomic_load_n(&value, __ATOMIC_RELAXED);
    }
    template <class Order = int>
    void store(bool v, Order = Order{}) noexcept {
        __atomic_store_n(&value, v, __ATOMIC_RELAXED);
    }
};

/// Set (once, at static initialisation) by the translation unit that defines
/// CPPROF_IMPLEMENT_GLOBAL_NEW: operator new/delete are cpprof's.
inline relaxed_flag g_global_new_linked{false};

/// Makes everything the current thread allocates in scope cpprof-internal.
struct internal_allocation_scope {
    internal_allocation_scope() noexcept { ++t_alloc_state.internal; }
    ~internal_allocation_scope() { --t_alloc_state.internal; }
    internal_allocation_scope(const internal_allocation_scope&) = delete;
    internal_allocation_scope& operator=(const internal_allocation_scope&) = delete;
};

/// Held by a tracking layer around its call to the upstream allocator (see layer_depth).
struct allocation_layer_scope {
    allocation_layer_scope() noexcept { ++t_alloc_state.layer_depth; }
    ~allocation_layer_scope() { --t_alloc_state.layer_depth; }
    allocation_layer_scope(const allocation_layer_scope&) = delete;
    allocation_layer_scope& operator=(const allocation_layer_scope&) = delete;
};

/// Counts one allocation for the calling thread, unless an outer layer already did or cpprof
/// itself is allocating. Returns whether it counted.
inline bool count_thread_allocation(std::uint64_t bytes) noexcept {
    thread_alloc_state& s = t_alloc_state;
    if (s.layer_depth != 0 || s.internal != 0) return false;
    ++s.allocations;
    s.allocated_bytes += bytes;
    return true;
}

/// Counts one deallocation for the calling thread, unless an outer layer already did. (Whether
/// the block was cpprof's own is known from the block, not from the freeing thread's state.)
inline bool count_thread_deallocation(std::uint64_t bytes) noexcept {
    thread_alloc_state& s = t_alloc_state;
    if (s.layer_depth != 0) return false;
    ++s.deallocations;
    s.freed_bytes += bytes;
    return true;
}

}  // namespace cpprof::detail
