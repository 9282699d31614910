#pragma once
// Run-time knobs of the CPU / wall-clock profiler. Chained setters return *this, same-named
// getters read back; values are validated when a profiler starts (cpprof::error).

#include <cpprof/sampling_mode.hpp>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace cpprof {

/// How stacks are walked inside the signal handler.
///  - libgcc: DWARF CFI via libgcc's `_Unwind_Backtrace`. Correct for code built WITHOUT frame
///    pointers (the default for -O2). Unwind tables are found through glibc's lock-free
///    `_dl_find_object` (glibc >= 2.35).
///  - frame_pointer: follows the RBP chain with bounds-checked reads. Several times cheaper, but
///    stacks through code built without `-fno-omit-frame-pointer` come out short.
enum class unwinder { libgcc, frame_pointer };

/// What raises the sampling signal in CPU mode.
///  - automatic:   perf_event if the kernel allows it, else POSIX timers.
///  - perf_event:  a per-thread software `cpu-clock` perf event (hrtimer based: reaches the asked
///                 rate, 1000 Hz included, whatever the kernel's HZ).
///  - posix_timer: a per-thread POSIX timer on the thread's CPU clock. Fires on scheduler ticks,
///                 so it delivers at most HZ (often 250) samples per second per thread; each
///                 sample is weighed by the thread's CPU time since its previous one, so CPU
///                 time stays right.
/// Wall-clock mode always uses per-thread POSIX timers on CLOCK_MONOTONIC (hrtimers).
enum class timer_source { automatic, perf_event, posix_timer };

/// Which threads are sampled.
enum class thread_scope { all, calling_thread };

class profiler_options {
public:
    /// Samples per second per thread, 1..10000. 0 (default) = the guard's sampling mode decides.
    profiler_options& frequency(int hz) { frequency_ = hz; return *this; }
    int frequency() const { return frequency_; }

    profiler_options& clock(clock_kind c) { clock_ = c; clock_set_ = true; return *this; }
    clock_kind clock() const { return clock_; }
    bool clock_is_set() const { return clock_set_; }

    /// Mapping-name substrings (e.g. "libc.so", "vdso"): a sample whose interrupted instruction
    /// lies in a matching mapping is skipped (and counted), and never unwound.
    profiler_options& blocklist(std::vector<std::string> substrings) {
        blocklist_ = std::move(substrings);
        return *this;
    }
    const std::vector<std::string>& blocklist() const { return blocklist_; }

    /// Deepest stack recorded, 1..1024 frames (default 128). Deeper stacks keep their leaf-side
    /// frames and are counted as truncated.
    profiler_options& max_depth(int frames) { max_depth_ = frames; return *this; }
    int max_depth() const { return max_depth_; }

    profiler_options& stack_unwinder(cpprof::unwinder u) { unwinder_ = u; return *this; }
    cpprof::unwinder stack_unwinder() const { return unwinder_; }

    profiler_options& timer(timer_source t) { timer_ = t; return *this; }
    timer_source timer() const { return timer_; }

    profiler_options& threads(thread_scope s) { threads_ = s; return *this; }
    thread_scope threads() const { return threads_; }

    /// Capacity of the signal handler's sample store, in samples (default 1024). When the
    /// collector cannot drain it fast enough, further samples are dropped and counted.
    profiler_options& buffer_samples(std::size_t n) { buffer_samples_ = n; return *this; }
    std::size_t buffer_samples() const { return buffer_samples_; }

    /// Bytes reserved in each sample for the labels in force (label_guard), 0..4096 (default
    /// 256; 0 records no labels). Each label takes 2 bytes plus its key and value; labels
    /// that do not fit are left out, outermost first, and the sample says so with the numeric
    /// label "cpprof.labels_dropped".
    profiler_options& label_bytes(std::size_t n) { label_bytes_ = n; return *this; }
    std::size_t label_bytes() const { return label_bytes_; }

    /// How often new threads are looked for while threads come and go, in milliseconds
    /// (default 20); while the thread count is steady the collector backs off to 100 ms.
    profiler_options& thread_scan_interval_ms(int ms) { scan_interval_ms_ = ms; return *this; }
    int thread_scan_interval_ms() const { return scan_interval_ms_; }

private:
    int frequency_ = 0;
    clock_kind clock_ = clock_kind::cpu;
    bool clock_set_ = false;
    std::vector<std::string> blocklist_;
    int max_depth_ = 128;
    cpprof::unwinder unwinder_ = cpprof::unwinder::libgcc;
    timer_source timer_ = timer_source::automatic;
    thread_scope threads_ = thread_scope::all;
    std::size_t buffer_samples_ = 1024;
    std::size_t label_bytes_ = 256;
    int scan_interval_ms_ = 20;
};

}  // namespace cpprof
