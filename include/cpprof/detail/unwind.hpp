#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
//
// Stack walkers that run INSIDE the SIGPROF handler. Everything here is async-signal-safe:
// no malloc, no locks, no stdio; reads of stack memory are bounds-checked.
//
// Both walkers produce leaf-first addresses: [0] is the interrupted instruction itself, every
// caller entry is its return address minus one, so that it lies inside the call instruction
// and symbolizes to the calling function (a return address can point past the end of a
// function that ends in a call to a noreturn function).

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <ucontext.h>
#include <unwind.h>

namespace cpprof::detail {

/// Registers of the interrupted context that the walkers need.
struct interrupted_context {
    std::uint64_t pc = 0;
    std::uint64_t sp = 0;
    std::uint64_t fp = 0;
};

inline interrupted_context context_of(const void* ucontext) noexcept {
    interrupted_context c;
    const auto* uc = static_cast<const ucontext_t*>(ucontext);
#if defined(__x86_64__)
    c.pc = static_cast<std::uint64_t>(uc->uc_mcontext.gregs[REG_RIP]);
    c.sp = static_cast<std::uint64_t>(uc->uc_mcontext.gregs[REG_RSP]);
    c.fp = static_cast<std::uint64_t>(uc->uc_mcontext.gregs[REG_RBP]);
#elif defined(__aarch64__)
    c.pc = uc->uc_mcontext.pc;
    c.sp = uc->uc_mcontext.sp;
    c.fp = uc->uc_mcontext.regs[29];
#else
    (void)uc;
#endif
    return c;
}

struct walk_result {
    std::size_t depth = 0;   ///< entries written
    bool truncated = false;  ///< more frames existed beyond max
    bool found = false;      ///< the interrupted frame was reached (libgcc walker)
};

// ---- libgcc (DWARF CFI) ------------------------------------------------------------------

struct libgcc_walk_state {
    std::uint64_t target_pc;
    bool target_is_return_address;  // a caller's return address, not an interrupted PC
    std::uint64_t* out;
    std::size_t max;
    std::size_t depth;
    std::size_t skipped;
    bool found;
    bool truncated;
};

inline _Unwind_Reason_Code libgcc_walk_callback(struct _Unwind_Context* ctx, void* arg) {
    // Runs inside the signal handler (called by _Unwind_Backtrace): async-signal-safe.
    auto* st = static_cast<libgcc_walk_state*>(arg);
    int before_insn = 0;
    auto ip = static_cast<std::uint64_t>(_Unwind_GetIPInfo(ctx, &before_insn));
    if (!st->found) {
        // The first frames are the handler's own and the kernel's signal trampoline; the
        // interrupted frame is the one whose IP is the PC saved in the ucontext. (Walking from
        // a return address instead: the frames before it are the walker's caller's own.)
        if (ip == st->target_pc) {
            st->found = true;
            st->out[st->depth++] = st->target_is_return_address ? ip - 1 : ip;
            return _URC_NO_REASON;
        }
        return ++st->skipped > 32 ? _URC_END_OF_STACK : _URC_NO_REASON;
    }
    if (ip == 0) return _URC_END_OF_STACK;
    if (st->depth == st->max) {
        st->truncated = true;
        return _URC_END_OF_STACK;
    }
    st->out[st->depth++] = before_insn ? ip : ip - 1;
    return _URC_NO_REASON;
}

/// Walks the interrupted thread's stack with libgcc's unwinder, starting from the signal
/// handler and skipping up to the interrupted frame. Async-signal-safe given that unwind tables
/// are found without locks (glibc >= 2.35 `_dl_find_object`, used by libgcc >= 12) and that the
/// unwinder was warmed up once outside the handler (warm_up_unwinder).
inline walk_result walk_libgcc(const interrupted_context& c, std::uint64_t* out,
                               std::size_t max) noexcept {
    libgcc_walk_state st{c.pc, false, out, max, 0, 0, false, false};
    if (max == 0) return {};
    _Unwind_Backtrace(&libgcc_walk_callback, &st);
    return walk_result{st.depth, st.truncated, st.found};
}

/// Walks the calling thread's own stack (synchronously, not in a signal handler), keeping the
/// frames from the one that `return_address` returns into: with the return address of the
/// current function, the stack of its caller. Used by the heap sampler in operator new.
inline walk_result walk_libgcc_from(std::uint64_t return_address, std::uint64_t* out,
                                    std::size_t max) noexcept {
    libgcc_walk_state st{return_address, true, out, max, 0, 0, false, false};
    if (max == 0) return {};
    _Unwind_Backtrace(&libgcc_walk_callback, &st);
    return walk_result{st.depth, st.truncated, st.found};
}

inline _Unwind_Reason_Code warm_up_callback(struct _Unwind_Context*, void* arg) {
    ++*static_cast<int*>(arg);
    return _URC_NO_REASON;
}

/// Runs the unwinder once outside any signal handler, so that its one-time initialisation
/// (pthread_once, lazy PLT binding of _Unwind_* symbols) never happens inside the handler.
inline int warm_up_unwinder() {
    int frames = 0;
    _Unwind_Backtrace(&warm_up_callback, &frames);
    return frames;
}

// ---- frame pointers ----------------------------------------------------------------------

/// The readable stack range the walker may touch: [lo, hi). Filled outside the handler from
/// /proc/self/maps; the handler only reads it.
struct stack_bounds {
    std::uint64_t lo;
    std::uint64_t hi;
};

/// Follows the frame-pointer chain from the interrupted context. Every read is checked to lie
/// within `bounds` (the mapping that holds the interrupted SP), moves strictly upward and is
/// 8-byte aligned, so a clobbered RBP (code built without frame pointers) ends the walk instead
/// of faulting. Async-signal-safe.
inline walk_result walk_frame_pointers(const interrupted_context& c, stack_bounds bounds,
                                       std::uint64_t* out, std::size_t max) noexcept {
    walk_result r;
    if (max == 0) return r;
    out[r.depth++] = c.pc;
    r.found = true;
    std::uint64_t fp = c.fp;
    std::uint64_t lo = c.sp > bounds.lo ? c.sp : bounds.lo;
    while (fp >= lo && fp % 8 == 0 && fp + 16 <= bounds.hi) {
        const auto* f = reinterpret_cast<const std::uint64_t*>(fp);
        std::uint64_t next = f[0];
        std::uint64_t ret = f[1];
        if (ret < 4096) break;
        if (r.depth == max) {
            r.truncated = true;
            break;
        }
        out[r.depth++] = ret - 1;
        if (next <= fp) break;
        fp = next;
    }
    return r;
}

}  // namespace cpprof::detail
