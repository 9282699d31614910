#pragma once
// tracking_allocator: a standard allocator that counts what a group of containers allocates.
//
//     struct cache_tag {};
//     template <class T> using cache_alloc = cpprof::tracking_allocator<T, cache_tag>;
//
//     std::map<std::string, std::vector<char, cache_alloc<char>>, std::less<>,
//              cache_alloc<std::pair<const std::string, std::vector<char, cache_alloc<char>>>>>
//         cache;
//     cache["k"].assign(1000, 'x');
//
//     cpprof::allocation_statistics s = cpprof::allocation_stats<cache_tag>();
//     // s.allocations, s.deallocations, s.allocated_bytes, s.freed_bytes, s.live_bytes,
//     // s.peak_bytes: the map's nodes and every vector's buffer (the std::string keys use
//     // std::allocator and are not counted)
//
// Every allocator with the same Tag adds to the same totals, whatever T and Upstream are: the
// tag names a group of memory, not a type (it is part of the allocator's type, so allocators
// of different tags never compare equal or convert). The bytes counted are n * sizeof(T), what
// the container asked for, not what the upstream allocator rounds them up to.
//
// The allocation itself is the Upstream's (std::allocator<T> by default, or any standard
// allocator: a pool, std::pmr::polymorphic_allocator, another tracking_allocator). Equality,
// propagation and select_on_container_copy_construction are the upstream's too, so a container
// behaves exactly as it would with the upstream alone. Stateless upstreams cost no space: the
// allocator is then an empty class, and containers keep their usual size.
//
// Each allocation is also counted once for the calling thread (what allocation_counter reads),
// even when it passes through several tracking layers or cpprof's global operator new.
//
// Cost: the upstream call plus a few plain loads and stores to a per-thread block (see
// allocation_stats.hpp; bench/README.md "Memory: tracking_allocator" has the measurement).
// With CPPROF_ENABLED=0 the allocator only forwards to the upstream and counts nothing.

#include <cpprof/config.hpp>
#include <cpprof/detail/alloc_state.hpp>
#include <cpprof/memory/allocation_stats.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace cpprof {

namespace detail {

// Holds the upstream allocator. A stateless (empty, non-final) upstream becomes a private base,
// so the tracking allocator is itself empty and the containers that keep it as a base (every
// libstdc++ container does) stay as small as with the upstream alone. [[no_unique_address]]
// would do this with a member, but it is C++20.
template <class Upstream, bool AsBase = std::is_empty_v<Upstream> && !std::is_final_v<Upstream>>
class upstream_holder : private Upstream {
protected:
    upstream_holder() = default;
    explicit upstream_holder(const Upstream& u) noexcept : Upstream(u) {}
    explicit upstream_holder(Upstream&& u) noexcept : Upstream(std::move(u)) {}
    Upstream& get() noexcept { return *this; }
    const Upstream& get() const noexcept { return *this; }
};

template <class Upstream>
class upstream_holder<Upstream, false> {
protected:
    upstream_holder() = default;
    explicit upstream_holder(const Upstream& u) noexcept : upstream_(u) {}
    explicit upstream_holder(Upstream&& u) noexcept : upstream_(std::move(u)) {}
    Upstream& get() noexcept { return upstream_; }
    const Upstream& get() const noexcept { return upstream_; }

private:
    Upstream upstream_{};
};

}  // namespace detail

template <class T, class Tag = default_tag, class Upstream = std::allocator<T>>
class tracking_allocator : private detail::upstream_holder<Upstream> {
    using holder = detail::upstream_holder<Upstream>;
    using upstream_traits = std::allocator_traits<Upstream>;

    static_assert(std::is_same_v<typename upstream_traits::value_type, T>,
                  "tracking_allocator<T, Tag, Upstream>: Upstream must allocate T (rebind it)");

public:
    using value_type = T;
    using tag_type = Tag;
    using upstream_allocator_type = Upstream;
    // Spelled out, not left to allocator_traits' defaults: the upstream's own members of these
    // names are hidden behind the private base and must not be found instead.
    using pointer = typename upstream_traits::pointer;
    using const_pointer = typename upstream_traits::const_pointer;
    using void_pointer = typename upstream_traits::void_pointer;
    using const_void_pointer = typename upstream_traits::const_void_pointer;
    using size_type = typename upstream_traits::size_type;
    using difference_type = typename upstream_traits::difference_type;
    using propagate_on_container_copy_assignment =
        typename upstream_traits::propagate_on_container_copy_assignment;
    using propagate_on_container_move_assignment =
        typename upstream_traits::propagate_on_container_move_assignment;
    using propagate_on_container_swap = typename upstream_traits::propagate_on_container_swap;
    using is_always_equal = typename upstream_traits::is_always_equal;

    template <class U>
    struct rebind {
        using other =
            tracking_allocator<U, Tag, typename upstream_traits::template rebind_alloc<U>>;
    };

    // Copy and move are the implicit ones: exactly the upstream's (polymorphic_allocator, for
    // one, cannot be assigned, and neither can a tracking_allocator over it).
    tracking_allocator() = default;

    /// Counts what `upstream` allocates.
    explicit tracking_allocator(const Upstream& upstream) noexcept : holder(upstream) {}
    explicit tracking_allocator(Upstream&& upstream) noexcept : holder(std::move(upstream)) {}

    /// The rebinding conversion containers use: same tag, the upstream converted.
    template <class U, class UpstreamU,
              class = std::enable_if_t<std::is_constructible_v<Upstream, const UpstreamU&>>>
    tracking_allocator(const tracking_allocator<U, Tag, UpstreamU>& other) noexcept
        : holder(Upstream(other.upstream())) {}

    Upstream& upstream() noexcept { return holder::get(); }
    const Upstream& upstream() const noexcept { return holder::get(); }

    [[nodiscard]] pointer allocate(size_type n) {
        // n * sizeof(T) must fit in size_t, both for the upstream and for the byte counters.
        if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) {
            throw std::bad_array_new_length();
        }
#if CPPROF_ENABLED
        pointer p;
        {
            // The layers below (another tracking_allocator, the global operator new) count
            // the allocation for their own tags but not for the thread again. The scope closes
            // before we count the thread: count_thread_allocation skips inside a layer.
            detail::allocation_layer_scope layer;
            p = upstream_traits::allocate(upstream(), n);
        }
        // Only after the upstream succeeded: a throwing upstream leaves every counter as it was.
        const std::uint64_t bytes = static_cast<std::uint64_t>(n) * sizeof(T);
        detail::tag_registry<Tag>::on_allocate(bytes);
        detail::count_thread_allocation(bytes);
        return p;
#else
        return upstream_traits::allocate(upstream(), n);
#endif
    }

    void deallocate(pointer p, size_type n) {
#if CPPROF_ENABLED
        const std::uint64_t bytes = static_cast<std::uint64_t>(n) * sizeof(T);
        detail::tag_registry<Tag>::on_deallocate(bytes);
        detail::count_thread_deallocation(bytes);  // before the layer: it skips inside one
        detail::allocation_layer_scope layer;      // held until the upstream call returns
#endif
        upstream_traits::deallocate(upstream(), p, n);
    }

    size_type max_size() const noexcept { return upstream_traits::max_size(upstream()); }

    // Construction goes through the upstream, so an upstream with its own construct (a scoped
    // or polymorphic allocator's uses-allocator construction) keeps that behaviour. The
    // noexcept specifications are the upstream's: std::vector relocates its elements on growth
    // only when constructing and destroying through the allocator cannot throw.
    template <class U, class... Args>
    void construct(U* p, Args&&... args) noexcept(noexcept(
        upstream_traits::construct(std::declval<Upstream&>(), p, std::forward<Args>(args)...))) {
        upstream_traits::construct(upstream(), p, std::forward<Args>(args)...);
    }
    template <class U>
    void destroy(U* p) noexcept(noexcept(upstream_traits::destroy(std::declval<Upstream&>(), p))) {
        upstream_traits::destroy(upstream(), p);
    }

    tracking_allocator select_on_container_copy_construction() const {
        return tracking_allocator(
            upstream_traits::select_on_container_copy_construction(upstream()));
    }
};

/// Equal when the upstreams are: memory from one can be freed through the other.
template <class T, class U, class Tag, class UpstreamT, class UpstreamU>
bool operator==(const tracking_allocator<T, Tag, UpstreamT>& a,
                const tracking_allocator<U, Tag, UpstreamU>& b) noexcept {
    return a.upstream() == b.upstream();
}

template <class T, class U, class Tag, class UpstreamT, class UpstreamU>
bool operator!=(const tracking_allocator<T, Tag, UpstreamT>& a,
                const tracking_allocator<U, Tag, UpstreamU>& b) noexcept {
    return !(a == b);
}

}  // namespace cpprof
