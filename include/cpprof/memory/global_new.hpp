#pragma once
// The global operator new/delete replacement. In exactly ONE .cpp file of the program:
//
//     #define CPPROF_IMPLEMENT_GLOBAL_NEW
//     #include <cpprof/cpprof.hpp>
//
// defines every replaceable form (plain, array, nothrow, sized, aligned, and their
// combinations). Each feeds allocation_stats<global_new_tag>(), the calling thread's
// allocation_counter, and the heap profiler (heap_profiler_guard, leak_detector). Other
// translation units include the header as usual; with CPPROF_ENABLED=0 nothing is replaced.
//
// Blocks come from malloc with a 16-byte header in front of what operator new returns: the
// requested size (so that every delete, sized or not, counts exact bytes), whether the block
// was sampled by the heap profiler (so that only those frees look anything up), whether it is
// cpprof's own (never counted), and its offset from the malloc'd base (so aligned blocks free
// correctly whichever delete is used). The header is checked against a value mixed with the
// block's address; a pointer without a valid header (memory from some other allocator that
// reached our delete) is passed to free() untouched. The cost: 16 bytes per block, and
// operator new's memory must not be given to free() or malloc_usable_size() directly (which
// the standard forbids anyway).

#include <cpprof/config.hpp>
#include <cpprof/detail/alloc_state.hpp>
#include <cpprof/detail/text.hpp>  // (used by heap_sampler.hpp; included here unconditionally
                                   // so that the single header keeps one unconditional copy)
#include <cpprof/memory/allocation_stats.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
#include <cpprof/detail/heap_sampler.hpp>

namespace cpprof::detail {

inline constexpr std::size_t block_header_size = 16;
inline constexpr std::uint64_t block_magic = 0x6370726f66a110c5ull;
inline constexpr std::uint64_t block_sampled = 1;
inline constexpr std::uint64_t block_internal = 2;

struct block_header {
    std::uint64_t size;   // bytes asked for
    std::uint64_t check;  // magic ^ size ^ address ^ (offset << 8 | flags)
};

inline block_header* header_of(void* user) noexcept {
    return reinterpret_cast<block_header*>(static_cast<char*>(user) - block_header_size);
}

inline void write_header(void* user, std::uint64_t size, std::uint64_t offset,
                         std::uint64_t flags) noexcept {
    block_header* h = header_of(user);
    h->size = size;
    h->check = block_magic ^ size ^ reinterpret_cast<std::uintptr_t>(user) ^ (offset << 8 | flags);
}

/// The allocation slow path: once per thread, once per sampling-interval change, and once per
/// sampled allocation. Out of line, so that the common path stays small. Returns the block's
/// flags.
[[gnu::noinline, gnu::cold]] inline std::uint64_t sample_allocation(
    thread_alloc_state& s, void* user, std::int64_t size, const void* return_address) noexcept {
    g_global_new_linked.store(true, std::memory_order_relaxed);
    if (std::int64_t interval = heap_sampling_decision(s, size)) {
        internal_allocation_scope internal;
        if (heap_records().record(user, size, interval, return_address)) return block_sampled;
    }
    return 0;
}

/// Allocates `size` bytes aligned to `align` (0: the default new alignment) with a header,
/// counts and maybe samples it. Returns nullptr when malloc fails.
inline void* tracked_allocate(std::size_t size, std::size_t align,
                              const void* return_address) noexcept {
    const std::size_t offset = align <= block_header_size ? block_header_size : align;
    if (size > static_cast<std::size_t>(PTRDIFF_MAX) - offset) return nullptr;
    void* base = nullptr;
    if (align <= block_header_size) {
        base = std::malloc(size + offset);
    } else if (posix_memalign(&base, align, size + offset) != 0) {
        base = nullptr;
    }
    if (base == nullptr) return nullptr;
    void* user = static_cast<char*>(base) + offset;

    thread_alloc_state& s = t_alloc_state;
    std::uint64_t flags = 0;
    if (s.internal != 0) {
        flags = block_internal;
    } else {
        tag_registry<global_new_tag>::on_allocate(size);
        count_thread_allocation(size);
        const auto ssize = static_cast<std::int64_t>(size);
        s.sample_countdown -= ssize;
        if (s.sample_countdown < 0 ||
            s.sample_generation != g_heap_generation.load(std::memory_order_relaxed))
            flags = sample_allocation(s, user, ssize, return_address);
    }
    write_header(user, size, offset, flags);
    return user;
}

/// Frees a block from tracked_allocate (or, without a valid header, hands it to free()).
inline void tracked_deallocate(void* user) noexcept {
    if (user == nullptr) return;
    const block_header* h = header_of(user);
    const std::uint64_t size = h->size;
    const std::uint64_t tail = h->check ^ block_magic ^ size ^ reinterpret_cast<std::uintptr_t>(user);
    const std::uint64_t flags = tail & 0xff;
    const std::uint64_t offset = tail >> 8;
    const bool valid = flags <= (block_sampled | block_internal) && offset >= block_header_size &&
                       offset <= (std::uint64_t{1} << 32) && (offset & (offset - 1)) == 0;
    if (!valid) {
        std::free(user);
        return;
    }
    if (flags & block_sampled) {
        internal_allocation_scope internal;
        heap_records().forget(user);
    }
    if (!(flags & block_internal)) {
        tag_registry<global_new_tag>::on_deallocate(size);
        count_thread_deallocation(size);
    }
    std::free(static_cast<char*>(user) - offset);
}

/// operator new's contract: retry through the new-handler, then throw std::bad_alloc.
inline void* global_new(std::size_t size, std::size_t align, const void* return_address) {
    for (;;) {
        if (void* p = tracked_allocate(size, align, return_address)) return p;
        std::new_handler handler = std::get_new_handler();
        if (handler == nullptr) throw std::bad_alloc();
        handler();
    }
}

inline void* global_new_nothrow(std::size_t size, std::size_t align,
                                const void* return_address) noexcept {
    try {
        return global_new(size, align, return_address);
    } catch (...) {
        return nullptr;
    }
}

}  // namespace cpprof::detail
#endif  // CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED

#if defined(CPPROF_IMPLEMENT_GLOBAL_NEW) && CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
#ifdef CPPROF_GLOBAL_NEW_IMPLEMENTED
#error "CPPROF_IMPLEMENT_GLOBAL_NEW: the replacement operators were already emitted in this translation unit"
#endif
#define CPPROF_GLOBAL_NEW_IMPLEMENTED 1

namespace cpprof::detail {
namespace {
// allocation_counter::sees_global_new() is true from static initialisation on.
const bool global_new_linked_at_startup = (g_global_new_linked.store(true), true);
}  // namespace
}  // namespace cpprof::detail

// The replaceable forms of [new.delete]. __builtin_return_address(0) is the caller of operator
// new: the heap profiler's stacks start there. noinline: the compiler may otherwise inline
// these into callers in this translation unit, and the return address would skip a frame.
[[gnu::noinline]] void* operator new(std::size_t n) {
    return cpprof::detail::global_new(n, 0, __builtin_return_address(0));
}
[[gnu::noinline]] void* operator new[](std::size_t n) {
    return cpprof::detail::global_new(n, 0, __builtin_return_address(0));
}
[[gnu::noinline]] void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    return cpprof::detail::global_new_nothrow(n, 0, __builtin_return_address(0));
}
[[gnu::noinline]] void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    return cpprof::detail::global_new_nothrow(n, 0, __builtin_return_address(0));
}
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t a) {
    return cpprof::detail::global_new(n, static_cast<std::size_t>(a), __builtin_return_address(0));
}
[[gnu::noinline]] void* operator new[](std::size_t n, std::align_val_t a) {
    return cpprof::detail::global_new(n, static_cast<std::size_t>(a), __builtin_return_address(0));
}
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return cpprof::detail::global_new_nothrow(n, static_cast<std::size_t>(a),
                                              __builtin_return_address(0));
}
[[gnu::noinline]] void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return cpprof::detail::global_new_nothrow(n, static_cast<std::size_t>(a),
                                              __builtin_return_address(0));
}

// Every delete reads the size and offset from the block's header, so the sized and aligned
// forms need not trust their extra arguments. noinline as well: inlined into a std::allocator
// of this translation unit, GCC >= 11 pairs the new it sees with the free() inside and reports
// a -Wmismatched-new-delete that is not one (at -O3). Other translation units call them
// anyway, so nothing is lost.
[[gnu::noinline]] void operator delete(void* p) noexcept { cpprof::detail::tracked_deallocate(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { cpprof::detail::tracked_deallocate(p); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept {
    cpprof::detail::tracked_deallocate(p);
}
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept {
    cpprof::detail::tracked_deallocate(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { cpprof::detail::tracked_deallocate(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { cpprof::detail::tracked_deallocate(p); }
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept { cpprof::detail::tracked_deallocate(p); }
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t) noexcept {
    cpprof::detail::tracked_deallocate(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    cpprof::detail::tracked_deallocate(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    cpprof::detail::tracked_deallocate(p);
}
[[gnu::noinline]] void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    cpprof::detail::tracked_deallocate(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    cpprof::detail::tracked_deallocate(p);
}
#endif
