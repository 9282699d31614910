#pragma once
// tracking_resource: a std::pmr::memory_resource that counts what passes through it, for code
// that already uses polymorphic allocators.
//
//     struct parser_tag {};
//     cpprof::tracking_resource<parser_tag> counted;              // upstream: the default resource
//     std::pmr::vector<std::pmr::string> tokens(&counted);
//     tokens.emplace_back("a string too long for the small-string buffer");
//     cpprof::allocation_statistics s = cpprof::allocation_stats<parser_tag>();
//
//     std::pmr::monotonic_buffer_resource arena;
//     cpprof::tracking_resource<parser_tag> over_arena(&arena);   // counts what the arena hands out
//
// Same totals as tracking_allocator: every tracking_resource<Tag> and tracking_allocator<T, Tag>
// add to allocation_stats<Tag>(), and each allocation counts once for the calling thread
// (allocation_counter) however many tracking layers it passes through. Bytes are what the
// caller asked for; the alignment is passed to the upstream and not counted.
//
// The upstream is fixed at construction: by default std::pmr::get_default_resource() as it is
// then (so do not make this resource the default and then construct another one without naming
// its upstream, or each would forward to itself). Two tracking resources are equal only when
// they are the same object, which is what std::pmr expects of a resource with its own
// counters. Like every memory_resource, it is neither copyable nor movable.
//
// With CPPROF_ENABLED=0 it only forwards to the upstream and counts nothing.

#include <cpprof/config.hpp>
#include <cpprof/detail/alloc_state.hpp>
#include <cpprof/memory/allocation_stats.hpp>

#include <cstddef>
#include <memory_resource>

namespace cpprof {

template <class Tag = default_tag>
class tracking_resource : public std::pmr::memory_resource {
public:
    using tag_type = Tag;

    /// Forwards to the default resource as it is now.
    tracking_resource() noexcept : upstream_(std::pmr::get_default_resource()) {}

    /// Forwards to `upstream`, which must outlive this resource (null means the default
    /// resource as it is now).
    explicit tracking_resource(std::pmr::memory_resource* upstream) noexcept
        : upstream_(upstream != nullptr ? upstream : std::pmr::get_default_resource()) {}

    tracking_resource(const tracking_resource&) = delete;
    tracking_resource& operator=(const tracking_resource&) = delete;
    ~tracking_resource() override = default;

    std::pmr::memory_resource* upstream_resource() const noexcept { return upstream_; }

protected:
    void* do_allocate(std::size_t bytes, std::size_t alignment) override {
#if CPPROF_ENABLED
        void* p;
        {
            // Inner layers (a tracking_allocator or resource below, the global operator new)
            // count for their own tags but not for the thread again; see tracking_allocator.
            detail::allocation_layer_scope layer;
            p = upstream_->allocate(bytes, alignment);
        }
        // Only once the upstream succeeded: a throwing upstream changes no counter.
        detail::tag_registry<Tag>::on_allocate(bytes);
        detail::count_thread_allocation(bytes);
        return p;
#else
        return upstream_->allocate(bytes, alignment);
#endif
    }

    void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override {
#if CPPROF_ENABLED
        detail::tag_registry<Tag>::on_deallocate(bytes);
        detail::count_thread_deallocation(bytes);  // before the layer: it skips inside one
        detail::allocation_layer_scope layer;      // held until the upstream call returns
#endif
        upstream_->deallocate(p, bytes, alignment);
    }

    bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
        return this == &other;
    }

private:
    std::pmr::memory_resource* upstream_;
};

}  // namespace cpprof
