#pragma once
// Heap profiles and leak detection, from the allocations that the global operator new
// replacement samples (memory/global_new.hpp: define CPPROF_IMPLEMENT_GLOBAL_NEW in one .cpp).
//
//     {
//         cpprof::heap_profiler_guard heap;         // Poisson sampling, mean 512 KiB
//         run_workload();
//         cpprof::profile h = heap.report();        // alloc_objects, alloc_space,
//         cpprof::write_pprof(h, "heap.pb.gz");     //   inuse_objects, inuse_space (default)
//     }
//
//     cpprof::leak_detector leaks;                  // checkpoint now
//     serve_requests();
//     leaks.checkpoint();                           // ...repeatedly: leaks.growing()
//     cpprof::profile l = leaks.report();           // allocated since, still live, by stack
//
// A heap profile covers what was allocated while its guard ran: alloc_* counts every sampled
// allocation (freed or not), inuse_* those still live. Values are unsampled estimates, so they
// read as bytes and objects; with sampling_interval(1) they are exact. The profile has Go's four
// heap sample types in Go's order, period type space/bytes with the interval as the period,
// and a numeric label "bytes" (average block size) per sample, so `go tool pprof
// -sample_index=alloc_space` and Pyroscope read it as they read Go's.
//
// One heap_profiler_guard at a time; leak_detectors can run alongside it and each other. The
// sampling interval in force is the smallest any of them asked for.

#include <cpprof/analysis/hotspots.hpp>
#include <cpprof/config.hpp>
#include <cpprof/detail/alloc_state.hpp>
#include <cpprof/detail/text.hpp>
#include <cpprof/error.hpp>
#include <cpprof/memory/heap_options.hpp>
#include <cpprof/profile.hpp>

#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
#include <cpprof/detail/heap_sampler.hpp>
#include <cpprof/detail/label_sets.hpp>
#include <cpprof/detail/symbolizer.hpp>
#include <cpprof/version.hpp>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cpprof {

/// Live totals of a leak_detector at one checkpoint: estimates over allocations made since the
/// detector was constructed and not freed.
struct leak_checkpoint {
    std::int64_t live_bytes = 0;
    std::int64_t live_objects = 0;
    std::int64_t unix_nanos = 0;  ///< when it was taken
};

namespace detail {

inline std::int64_t unix_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// Whether `function` (demangled) belongs to the C++ runtime's allocation plumbing
/// (std::allocator, containers' internals, operator new) rather than to the program.
template <class = void>
bool is_library_frame(const std::string& function) {
    // The qualified name: before the parameter list, template arguments dropped, return type
    // dropped ("void std::vector<T>::_M_realloc_insert<...>(...)" -> "std::vector::_M_realloc_insert").
    std::string name;
    int angle = 0;
    for (char c : function.substr(0, function.find('('))) {
        if (c == '<') ++angle;
        else if (c == '>') --angle;
        else if (angle == 0) name += c;
    }
    const auto space = name.rfind(' ');
    if (space != std::string::npos && name.compare(0, 8, "operator") != 0) name.erase(0, space + 1);
    return name.compare(0, 5, "std::") == 0 || name.compare(0, 11, "__gnu_cxx::") == 0 ||
           name.compare(0, 12, "operator new") == 0 || name.compare(0, 2, "__") == 0;
}

template <class = void>
void validate_heap_options(const heap_options& o, const char* who) {
    if (o.sampling_interval() < 1 || o.sampling_interval() > (std::int64_t{1} << 40))
        throw error(std::string(who) + ": sampling_interval must be in 1..2^40 bytes, got " +
                    std::to_string(o.sampling_interval()));
    if (o.max_depth() < 1 || o.max_depth() > 1024)
        throw error(std::string(who) + ": max_depth must be in 1..1024 frames, got " +
                    std::to_string(o.max_depth()));
}

#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED

template <class = void>
void require_global_new(const char* who) {
    if (!g_global_new_linked.load(std::memory_order_relaxed))
        throw error(std::string(who) +
                    ": heap profiling needs cpprof's operator new: define "
                    "CPPROF_IMPLEMENT_GLOBAL_NEW before including <cpprof/cpprof.hpp> in exactly "
                    "one .cpp file of the program");
}

/// A session on the process's heap records, closed on destruction.
class heap_session {
public:
    heap_session() = default;
    heap_session(const heap_options& o, const char* who) {
        validate_heap_options(o, who);
        require_global_new(who);
        id_ = heap_records().open_session(o.sampling_interval(), o.max_depth());
    }
    heap_session(heap_session&& o) noexcept : id_(std::exchange(o.id_, 0)) {}
    heap_session& operator=(heap_session&& o) noexcept {
        if (this != &o) {
            close();
            id_ = std::exchange(o.id_, 0);
        }
        return *this;
    }
    ~heap_session() { close(); }
    bool open() const noexcept { return id_ != 0; }
    void close() noexcept {
        if (id_ == 0) return;
        try {
            heap_records().close_session(id_);
        } catch (...) {
        }
        id_ = 0;
    }

private:
    std::uint64_t id_ = 0;
};

inline std::atomic<bool>& heap_guard_running() {
    static std::atomic<bool> running{false};
    return running;
}

/// Builds a profile from a snapshot. `with_alloc`: the four Go types; otherwise the leak
/// report's two in-use types.
template <class T = void>
profile build_heap_profile(heap_snapshot&& snap, bool with_alloc, std::int64_t start_ns,
                           const char* what) {  // (not a std::string: built outside the scope below)
    internal_allocation_scope internal;
    std::vector<value_type> types;
    if (with_alloc) {
        types = {{"alloc_objects", "count"},
                 {"alloc_space", "bytes"},
                 {"inuse_objects", "count"},
                 {"inuse_space", "bytes"}};
    } else {
        types = {{"inuse_objects", "count"}, {"inuse_space", "bytes"}};
    }
    profile p(std::move(types));
    p.set_period({"space", "bytes"}, snap.interval);
    p.set_time_nanos(start_ns);
    const std::int64_t now = unix_now_ns();
    p.set_duration_nanos(now > start_ns ? now - start_ns : 0);
    p.add_comment(std::string("cpprof ") + CPPROF_VERSION_STRING + ": " + what + ", " +
                  (snap.interval <= 1 ? std::string("every allocation recorded")
                                      : "Poisson sampling every " +
                                            grouped_number(snap.interval) +
                                            " bytes on average; values are unsampled estimates "
                                            "(Go's formula, per allocation)"));
    if (snap.truncated > 0)
        p.add_comment(grouped_number(static_cast<std::int64_t>(snap.truncated)) +
                      " sampled stacks were deeper than max_depth and lost their outer frames");
    if (snap.dropped > 0)
        p.add_comment(grouped_number(static_cast<std::int64_t>(snap.dropped)) +
                      " sampled allocations could not be recorded (out of memory)");

    std::unique_lock<std::mutex> lock;
    basic_symbolizer<T>& sym = process_symbolizer<T>(lock);
    std::unordered_map<std::uint64_t, frame_id> ids;
    std::vector<frame_id> stack;
    for (std::size_t i = 0; i < snap.buckets.size(); ++i) {
        const heap_bucket& b = snap.buckets[i];
        const auto ao = math::llround(b.alloc_objects), as = math::llround(b.alloc_space);
        const auto io = math::llround(snap.inuse_objects[i]),
                   is = math::llround(snap.inuse_space[i]);
        if (with_alloc ? (ao == 0 && io == 0) : io == 0) continue;
        stack.clear();
        for (std::uint64_t addr : b.stack) stack.push_back(intern_address(p, sym, ids, addr));
        // Go's label: the average size of the blocks this sample stands for.
        std::vector<label> labels;
        const double objs = with_alloc ? b.alloc_objects : snap.inuse_objects[i];
        const double bytes = with_alloc ? b.alloc_space : snap.inuse_space[i];
        if (objs > 0) labels.push_back(label{"bytes", {}, math::llround(bytes / objs), {}});
        // The labels in force (label_guard) when the allocations were sampled.
        if (!b.labels.empty()) {
            std::vector<label> extra = decode_label_set(b.labels);
            labels.insert(labels.end(), extra.begin(), extra.end());
        }
        if (with_alloc) {
            p.add_sample(stack, {ao, as, io, is}, std::move(labels));
        } else {
            p.add_sample(stack, {io, is}, std::move(labels));
        }
    }
    for (const auto& m : sym.mappings()) p.add_mapping(m);
    return p;
}

#endif  // CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED

}  // namespace detail

/// Samples heap allocations while it lives. See the top of this header.
template <class = void>
class basic_heap_profiler_guard {
public:
    /// Starts with Poisson sampling every 512 KiB on average.
    basic_heap_profiler_guard() : basic_heap_profiler_guard(heap_options{}) {}

    /// Starts with `options`. Throws cpprof::error when another heap_profiler_guard runs, when
    /// operator new is not cpprof's (CPPROF_IMPLEMENT_GLOBAL_NEW), or for bad options.
    explicit basic_heap_profiler_guard(const heap_options& options) { start(options); }

    basic_heap_profiler_guard(const basic_heap_profiler_guard&) = delete;
    basic_heap_profiler_guard& operator=(const basic_heap_profiler_guard&) = delete;
    ~basic_heap_profiler_guard() { finish(); }

    bool running() const noexcept { return running_; }

    /// The heap profile so far; sampling goes on.
    profile report() const {
#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
        if (!running_)
            throw error("heap_profiler_guard::report(): the heap profiler was already stopped");
        return detail::build_heap_profile(detail::heap_records().snapshot(since_), true,
                                          start_ns_, "heap profile");
#else
        return profile{};
#endif
    }

    /// Stops sampling and returns the whole profile. A guard can be stopped once.
    profile stop() {
#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
        if (!running_)
            throw error("heap_profiler_guard::stop(): the heap profiler was already stopped");
        profile p = report();
        finish();
        return p;
#else
        return profile{};
#endif
    }

private:
    void start(const heap_options& options) {
        detail::validate_heap_options(options, "heap_profiler_guard");
#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
        detail::require_global_new("heap_profiler_guard");
        bool expected = false;
        if (!detail::heap_guard_running().compare_exchange_strong(expected, true))
            throw error("a heap profile is already running in this process; stop it (or let "
                        "its heap_profiler_guard go out of scope) before starting another");
        try {
            session_ = detail::heap_session(options, "heap_profiler_guard");
            since_ = detail::heap_records().restart_totals();
            start_ns_ = detail::unix_now_ns();
            running_ = true;
        } catch (...) {
            detail::heap_guard_running().store(false);
            throw;
        }
#elif CPPROF_ENABLED
        throw error("heap profiling is supported on Linux x86_64 and aarch64 only");
#endif
    }

    void finish() noexcept {
#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
        if (!running_) return;
        session_.close();
        running_ = false;
        detail::heap_guard_running().store(false);
#endif
    }

#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
    detail::heap_session session_;
    std::uint64_t since_ = 0;
    std::int64_t start_ns_ = 0;
#endif
    bool running_ = false;
};

using heap_profiler_guard = basic_heap_profiler_guard<>;

/// Finds memory that stays allocated: live allocations made since a checkpoint, by stack, and
/// whether the live total keeps growing across checkpoints. Sampled like the heap profiler
/// (default every 512 KiB on average: a leak of a few hundred KiB may go unseen; pass
/// heap_options{}.sampling_interval(1) to record every allocation).
template <class = void>
class basic_leak_detector {
public:
    /// Starts sampling and takes the first checkpoint (zero live bytes) now.
    basic_leak_detector() : basic_leak_detector(heap_options{}) {}

    explicit basic_leak_detector(const heap_options& options) {
        detail::validate_heap_options(options, "leak_detector");
#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
        session_ = detail::heap_session(options, "leak_detector");
        since_ = detail::heap_records().current_seq();
#elif CPPROF_ENABLED
        throw error("leak detection is supported on Linux x86_64 and aarch64 only");
#endif
        start_ns_ = detail::unix_now_ns();
        detail::internal_allocation_scope internal;
        checkpoints_.push_back(leak_checkpoint{0, 0, start_ns_});
    }

    basic_leak_detector(const basic_leak_detector&) = delete;
    basic_leak_detector& operator=(const basic_leak_detector&) = delete;

    /// Records the live totals now (allocations made since construction and not freed).
    leak_checkpoint checkpoint() {
        detail::internal_allocation_scope internal;  // the list of checkpoints is cpprof's
        leak_checkpoint c;
#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
        auto [objects, bytes] = detail::heap_records().live_totals(since_);
        c.live_objects = detail::math::llround(objects);
        c.live_bytes = detail::math::llround(bytes);
#endif
        c.unix_nanos = detail::unix_now_ns();
        checkpoints_.push_back(c);
        return c;
    }

    /// Every checkpoint, the construction one (all zeros) first.
    const std::vector<leak_checkpoint>& checkpoints() const noexcept { return checkpoints_; }

    /// Live bytes at the last checkpoint minus at the one before it.
    std::int64_t growth() const noexcept {
        const auto n = checkpoints_.size();
        return n < 2 ? 0 : checkpoints_[n - 1].live_bytes - checkpoints_[n - 2].live_bytes;
    }

    /// True when live bytes grew by more than `min_bytes` at each of the last `intervals`
    /// checkpoints: memory that is kept, round after round.
    bool growing(std::size_t intervals = 3, std::int64_t min_bytes = 0) const noexcept {
        if (intervals == 0 || checkpoints_.size() < intervals + 1) return false;
        for (std::size_t i = checkpoints_.size() - intervals; i < checkpoints_.size(); ++i)
            if (checkpoints_[i].live_bytes - checkpoints_[i - 1].live_bytes <= min_bytes)
                return false;
        return true;
    }

    /// Allocations made since construction and still live, by stack: inuse_objects and
    /// inuse_space (the default), estimates as in a heap profile.
    profile report() const {
#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
        return detail::build_heap_profile(detail::heap_records().snapshot(since_), false,
                                          start_ns_, "leak report (live allocations made since "
                                                     "the leak_detector was created)");
#else
        return profile{};
#endif
    }

    /// Prints the `n` stacks holding the most live memory, and the checkpoints' totals.
    void print(std::ostream& os, std::size_t n = 10) const {
        const profile p = report();
        const std::size_t bytes_index = p.sample_types().size() - 1;
        // One row per allocating call path as printed: stacks that differ only inside the
        // standard library's allocator plumbing are one row.
        struct row {
            std::string where;
            std::int64_t bytes = 0;
            std::int64_t objects = 0;
        };
        std::vector<row> rows;
        std::unordered_map<std::string, std::size_t> index;
        std::int64_t total_bytes = 0, total_objects = 0;
        for (const sample& s : p.samples()) {
            std::string where;
            std::size_t printed = 0, f = 0;
            for (; f < s.stack.size() && printed < 4; ++f) {
                const std::string& name = p.frames()[s.stack[f]].function;
                if (printed == 0 && f + 1 < s.stack.size() && detail::is_library_frame(name))
                    continue;
                if (printed++) where += " <- ";
                where += name.empty() ? "??" : detail::shorten_function_name(name, 60);
            }
            if (f < s.stack.size()) where += " <- ...";
            auto it = index.emplace(where, rows.size()).first;
            if (it->second == rows.size()) rows.push_back(row{std::move(where)});
            rows[it->second].bytes += s.values[bytes_index];
            rows[it->second].objects += s.values[0];
            total_bytes += s.values[bytes_index];
            total_objects += s.values[0];
        }
        std::sort(rows.begin(), rows.end(),
                  [](const row& a, const row& b) { return a.bytes > b.bytes; });
        os << "cpprof leak report: " << format_bytes(total_bytes) << " in " << total_objects
           << " allocations made since the checkpoint are still live\n";
        if (checkpoints_.size() > 1) {
            os << "checkpoints (live bytes):";
            for (std::size_t i = 1; i < checkpoints_.size(); ++i)
                os << (i == 1 ? " " : " -> ") << format_bytes(checkpoints_[i].live_bytes);
            os << (growing() ? "  (growing)\n" : "\n");
        }
        const std::size_t shown = std::min(n, rows.size());
        for (std::size_t i = 0; i < shown; ++i)
            os << "  " << format_bytes(rows[i].bytes) << " in " << rows[i].objects
               << " allocations at " << rows[i].where << '\n';
        if (rows.size() > shown) os << "  ... and " << rows.size() - shown << " more\n";
    }

private:
    static std::string format_bytes(std::int64_t v) {
        return detail::format_quantity(v, detail::scale_for("bytes", v));
    }

#if CPPROF_ENABLED && CPPROF_PLATFORM_SUPPORTED
    detail::heap_session session_;
    std::uint64_t since_ = 0;
#endif
    std::int64_t start_ns_ = 0;
    std::vector<leak_checkpoint> checkpoints_;
};

using leak_detector = basic_leak_detector<>;

}  // namespace cpprof
