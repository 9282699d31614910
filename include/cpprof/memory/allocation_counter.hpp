#pragma once
// allocation_counter: counts what the current thread allocates inside a scope.
//
//     TEST_CASE("the hot path does not allocate") {
//         cpprof::allocation_counter c;
//         hot_path();
//         CHECK(c.allocations() == 0);
//     }
//
// It sees every operator new of the thread when one translation unit of the program defines
// CPPROF_IMPLEMENT_GLOBAL_NEW (sees_global_new() says so), and every allocation made through a
// cpprof::tracking_allocator or cpprof::tracking_resource in any case; an allocation that
// passes through several of these layers counts once. Allocations cpprof makes for itself are
// not counted. Entering and leaving the scope costs a few loads and stores: no atomics, no
// system calls. Light: part of <cpprof/macros.hpp>.

#include <cpprof/config.hpp>
#include <cpprof/detail/alloc_state.hpp>

#include <cstdint>

namespace cpprof {

class allocation_counter {
public:
    /// Starts counting now, for the calling thread.
    allocation_counter() noexcept { reset(); }

    /// Allocations the thread made since construction (or reset()).
    std::uint64_t allocations() const noexcept { return now().allocations - start_.allocations; }
    /// Bytes those allocations asked for.
    std::uint64_t bytes() const noexcept {
        return now().allocated_bytes - start_.allocated_bytes;
    }
    /// Deallocations the thread made since construction (of memory allocated anywhere).
    std::uint64_t deallocations() const noexcept {
        return now().deallocations - start_.deallocations;
    }
    /// Bytes those deallocations gave back.
    std::uint64_t freed_bytes() const noexcept {
        return now().freed_bytes - start_.freed_bytes;
    }

    /// Starts counting again from zero.
    void reset() noexcept { start_ = now(); }

    /// Whether operator new/delete are cpprof's (some translation unit defines
    /// CPPROF_IMPLEMENT_GLOBAL_NEW). When false, only tracking allocators and resources count.
    static bool sees_global_new() noexcept {
#if CPPROF_ENABLED
        return detail::g_global_new_linked.load();  // relaxed (detail::relaxed_flag)
#else
        return false;
#endif
    }

private:
    struct totals {
        std::uint64_t allocations = 0;
        std::uint64_t deallocations = 0;
        std::uint64_t allocated_bytes = 0;
        std::uint64_t freed_bytes = 0;
    };

    static totals now() noexcept {
#if CPPROF_ENABLED
        const detail::thread_alloc_state& s = detail::t_alloc_state;
        return {s.allocations, s.deallocations, s.allocated_bytes, s.freed_bytes};
#else
        return {};
#endif
    }

    totals start_;
};

}  // namespace cpprof
