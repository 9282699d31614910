#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
//
// The per-thread stack of labels that label_guard pushes and pops, and the two readers of it:
// the SIGPROF handler (cpu/sampler.hpp) and the heap sampler (detail/heap_sampler.hpp), which
// both run on the thread whose labels they read.
//
// Lifetimes. A guard copies its key and value into itself (bounded: label_key_bytes and
// label_value_bytes), so `label_guard g{"user", std::to_string(id)}` is safe: the temporary
// string may die at the end of the statement, the guard's copy does not. The stack is an
// intrusive list of guards that live on the thread's own stack, linked through `top`; a reader
// on the same thread (a signal handler interrupting it, or operator new called inside the
// scope) only ever sees guards that are fully built and not yet destroyed, because:
//   - a guard fills in all its fields, then (compiler fence) makes itself the top;
//   - a guard unlinks itself, then (compiler fence) is destroyed.
// Only the owning thread reads or writes its stack, so compiler fences (atomic_signal_fence)
// are all the ordering needed; no atomics, no locks. A reader copies the bytes it wants out of
// the guards (into the sample store cell, or into the heap record), never keeps a pointer.
//
// The packed form a reader produces (pack_labels): for each label, innermost first,
//   [key length: 1 byte][value length: 1 byte][key bytes][value bytes]
// with bit 7 of the key-length byte set when the guard had to cut the key or the value.
// Key and value lengths are at most 127, so bit 7 is free.
//
// Light: <cpprof/macros.hpp> includes this header, so only <atomic> and <cstddef>/<cstdint>;
// copies use __builtin_memcpy/__builtin_strlen (GCC and Clang, the compilers cpprof supports).

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace cpprof::detail {

/// Bytes of a label key a guard keeps; longer keys are cut (and the cut is recorded).
inline constexpr std::size_t label_key_bytes = 32;
/// Bytes of a label value a guard keeps; longer values are cut (and the cut is recorded).
inline constexpr std::size_t label_value_bytes = 64;
/// Most labels one sample carries; with more guards in force the outermost are dropped.
inline constexpr std::size_t max_labels_per_sample = 16;
/// How many guards a reader looks at, at most (bounds the time spent in the signal handler).
inline constexpr std::size_t max_label_walk = 64;
/// Bit 7 of a packed key-length byte: the guard cut this label's key or value.
inline constexpr unsigned char packed_label_cut = 0x80;

struct label_entry {
    const label_entry* prev;  ///< the guard below this one on the thread's stack
    std::uint8_t key_len;
    std::uint8_t value_len;
    bool cut;  ///< key or value was longer than the guard keeps
    char key[label_key_bytes];
    char value[label_value_bytes];
};

struct label_stack {
    const label_entry* top;  ///< innermost guard in force, or nullptr
    std::uint32_t depth;     ///< guards in force
};

// Zero-initialised and trivially destructible: constant-initialised, so reading it needs no
// TLS wrapper call and no initialisation check (safe from a signal handler, see above).
inline thread_local label_stack t_label_stack{};

/// Pointer and length of a key or value given to label_guard.
struct label_text {
    const char* data;
    std::size_t size;
};

inline label_text to_label_text(const char* s) noexcept {
    return {s, s ? __builtin_strlen(s) : 0};
}

/// Anything with data() and size() (std::string, std::string_view, ...).
template <class S, class = decltype(static_cast<const char*>(static_cast<const S*>(nullptr)->data())),
          class = decltype(static_cast<std::size_t>(static_cast<const S*>(nullptr)->size()))>
label_text to_label_text(const S& s) noexcept {
    return {s.data(), static_cast<std::size_t>(s.size())};
}

/// Length to keep of `t` in `cap` bytes: all of it when it fits, otherwise cut at a UTF-8
/// character boundary.
inline std::size_t label_keep_bytes(label_text t, std::size_t cap, bool& cut) noexcept {
    if (t.size <= cap) return t.size;
    cut = true;
    std::size_t n = cap;
    while (n > 0 && (static_cast<unsigned char>(t.data[n]) & 0xC0) == 0x80) --n;
    return n;
}

/// Fills `e` and pushes it on the calling thread's stack.
inline void push_label(label_entry& e, label_text key, label_text value) noexcept {
    bool cut = false;
    const std::size_t k = label_keep_bytes(key, label_key_bytes, cut);
    const std::size_t v = label_keep_bytes(value, label_value_bytes, cut);
    if (k) __builtin_memcpy(e.key, key.data, k);
    if (v) __builtin_memcpy(e.value, value.data, v);
    e.key_len = static_cast<std::uint8_t>(k);
    e.value_len = static_cast<std::uint8_t>(v);
    e.cut = cut;
    label_stack& s = t_label_stack;
    e.prev = s.top;
    ++s.depth;
    // Everything above is written before a signal handler on this thread can see `e`.
    std::atomic_signal_fence(std::memory_order_release);
    s.top = &e;
    std::atomic_signal_fence(std::memory_order_seq_cst);
}

/// Unlinks `e` from the calling thread's stack (normally its top; a guard destroyed out of
/// order, which scoped guards never are, is unlinked from the middle).
inline void pop_label(label_entry& e) noexcept {
    label_stack& s = t_label_stack;
    if (s.top == &e) {
        s.top = e.prev;
    } else {
        for (const label_entry* p = s.top; p; p = p->prev) {
            if (p->prev == &e) {
                const_cast<label_entry*>(p)->prev = e.prev;
                break;
            }
        }
    }
    --s.depth;
    // `e` is unreachable for a signal handler on this thread before its storage is reused.
    std::atomic_signal_fence(std::memory_order_seq_cst);
}

/// What pack_labels did.
struct packed_labels_info {
    std::size_t bytes = 0;           ///< bytes written
    std::uint32_t count = 0;         ///< labels written
    std::uint32_t dropped = 0;       ///< labels in force that did not fit (count or bytes)
    std::uint32_t cut = 0;           ///< labels written whose key or value a guard had cut
};

/// Copies the calling thread's labels in force into `out` (at most `cap` bytes), innermost
/// first, leaving out labels shadowed by an inner guard with the same key.
///
/// ASYNC-SIGNAL-SAFE: called from the SIGPROF handler. It reads only the calling thread's own
/// constant-initialised thread_local and the guards it links (live on this thread's stack, see
/// the lifetime note at the top), writes only to `out`, and its loops are bounded by
/// max_label_walk and max_labels_per_sample: no allocation, no lock, no system call.
inline packed_labels_info pack_labels(unsigned char* out, std::size_t cap) noexcept {
    packed_labels_info info;
    const label_stack& s = t_label_stack;              // signal-safe: own thread's TLS
    const label_entry* e = s.top;                      // signal-safe: plain load
    std::atomic_signal_fence(std::memory_order_acquire);  // pairs with push_label's fence
    std::size_t walked = 0;
    const label_entry* seen[max_labels_per_sample];    // signal-safe: fixed stack array
    for (; e && walked < max_label_walk; e = e->prev, ++walked) {  // bounded walk
        bool is_shadowed = false;
        for (std::uint32_t i = 0; i < info.count; ++i) {  // bounded by max_labels_per_sample
            const label_entry* o = seen[i];
            if (o->key_len == e->key_len && __builtin_memcmp(o->key, e->key, e->key_len) == 0) {
                is_shadowed = true;
                break;
            }
        }
        if (is_shadowed) continue;  // an inner guard with the same key wins
        const std::size_t need = 2 + std::size_t{e->key_len} + e->value_len;
        if (info.count == max_labels_per_sample || info.bytes + need > cap) {
            ++info.dropped;  // an outer label with no room left; it may shadow nothing
            continue;
        }
        unsigned char* p = out + info.bytes;
        p[0] = static_cast<unsigned char>(e->key_len | (e->cut ? packed_label_cut : 0));
        p[1] = e->value_len;
        __builtin_memcpy(p + 2, e->key, e->key_len);  // signal-safe: plain byte copy
        __builtin_memcpy(p + 2 + e->key_len, e->value, e->value_len);
        info.bytes += need;
        seen[info.count++] = e;
        info.cut += e->cut ? 1 : 0;
    }
    // Guards beyond the walk limit were not looked at: counted as dropped (some of them may
    // be shadowed; without walking them that cannot be told, so this errs towards reporting).
    if (e && s.depth > walked) info.dropped += static_cast<std::uint32_t>(s.depth - walked);
    return info;
}

/// Calls f(key, key_len, value, value_len, cut) for each label in a packed buffer.
template <class F>
void for_each_packed_label(const unsigned char* p, std::size_t n, F&& f) {
    std::size_t i = 0;
    while (i + 2 <= n) {
        const std::size_t k = p[i] & 0x7F, v = p[i + 1];
        const bool cut = (p[i] & packed_label_cut) != 0;
        if (i + 2 + k + v > n) break;
        f(reinterpret_cast<const char*>(p + i + 2), k,
          reinterpret_cast<const char*>(p + i + 2 + k), v, cut);
        i += 2 + k + v;
    }
}

}  // namespace cpprof::detail
