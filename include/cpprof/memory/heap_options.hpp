#pragma once
// Run-time knobs of the heap profiler and the leak detector. Chained setters return *this,
// same-named getters read back; values are validated when a profiler starts (cpprof::error).

#include <cstdint>

namespace cpprof {

class heap_options {
public:
    /// Mean number of bytes allocated between two sampled allocations (Poisson sampling over
    /// bytes, as Go and tcmalloc do). 512 KiB (the default) costs a few percent; 1 records every
    /// allocation exactly (and unwinds a stack for each: a debugging mode). 1..2^40.
    heap_options& sampling_interval(std::int64_t bytes) {
        sampling_interval_ = bytes;
        return *this;
    }
    std::int64_t sampling_interval() const { return sampling_interval_; }

    /// Deepest stack recorded per sampled allocation, 1..1024 frames (deeper stacks keep their
    /// innermost frames and are counted as truncated).
    heap_options& max_depth(int frames) {
        max_depth_ = frames;
        return *this;
    }
    int max_depth() const { return max_depth_; }

private:
    std::int64_t sampling_interval_ = 512 * 1024;
    int max_depth_ = 128;
};

}  // namespace cpprof
