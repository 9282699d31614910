#pragma once
// label_guard: every CPU and heap sample taken on this thread inside the scope carries the
// label key=value (pprof labels, shown by `go tool pprof -tags`, and Pyroscope tags).
//
//     void handle(const request& r) {
//         cpprof::label_guard route{"route", r.path};       // or CPPROF_LABEL("route", r.path);
//         cpprof::label_guard user{"user", std::to_string(r.user_id)};   // safe: copied
//         ...
//     }
//
// - Thread-local: a guard labels the samples of the thread that made it, nothing else.
// - Nests: labels of enclosing guards stay in force; an inner guard with the same key shadows
//   the outer one until it ends; each guard restores what was there on exit.
// - Copies: key and value are copied into the guard (up to 32 and 64 bytes), so the strings
//   may die right after the constructor. Longer ones are cut at a UTF-8 boundary, and samples
//   that carry a cut label get the numeric label "cpprof.labels_cut" (and the profile counts
//   them), so a cut is visible rather than silent.
// - Per sample: at most 16 labels and as many bytes as the sampler reserves per sample
//   (profiler_options::label_bytes, default 256); the outermost labels that do not fit are
//   left out and counted in the numeric label "cpprof.labels_dropped".
// - Scoped: non-copyable, non-movable, not heap-allocatable. Entering and leaving costs two
//   short copies and a few stores (bench/bench_labels.cpp): no atomics, no system calls.
// - With CPPROF_ENABLED=0 the guard is empty and CPPROF_LABEL evaluates nothing.
//
// Key and value: a const char* (nullptr is ""), or anything with data() and size()
// (std::string, std::string_view). Light: part of <cpprof/macros.hpp>.

#include <cpprof/config.hpp>
#include <cpprof/detail/label_stack.hpp>

#include <cstddef>

namespace cpprof {

class label_guard {
public:
    /// Puts key=value in force on this thread until the guard is destroyed.
    template <class Key, class Value>
    [[nodiscard]] label_guard(const Key& key, const Value& value) noexcept {
#if CPPROF_ENABLED
        detail::push_label(entry_, detail::to_label_text(key), detail::to_label_text(value));
#else
        (void)key;
        (void)value;
#endif
    }

    ~label_guard() {
#if CPPROF_ENABLED
        detail::pop_label(entry_);
#endif
    }

    label_guard(const label_guard&) = delete;
    label_guard& operator=(const label_guard&) = delete;
    label_guard(label_guard&&) = delete;
    label_guard& operator=(label_guard&&) = delete;
    // Scoped only: a guard on the heap could outlive the guards above it.
    static void* operator new(std::size_t) = delete;
    static void* operator new[](std::size_t) = delete;

private:
#if CPPROF_ENABLED
    detail::label_entry entry_;  // not initialised here: push_label fills every field it reads
#endif
};

}  // namespace cpprof

#define CPPROF_DETAIL_CONCAT_IMPL(a, b) a##b
#define CPPROF_DETAIL_CONCAT(a, b) CPPROF_DETAIL_CONCAT_IMPL(a, b)

/// CPPROF_LABEL("route", path); labels the rest of the enclosing scope (see label_guard).
/// With CPPROF_ENABLED=0 it declares nothing and evaluates neither argument.
#if CPPROF_ENABLED
#define CPPROF_LABEL(key, value) \
    const ::cpprof::label_guard CPPROF_DETAIL_CONCAT(cpprof_label_, __COUNTER__) { (key), (value) }
#else
#define CPPROF_LABEL(key, value) static_assert(true, "")
#endif
