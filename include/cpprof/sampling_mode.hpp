#pragma once
// Sampling-mode policy types: a profiler_guard's template argument fixes its rate and clock at
// compile time; profiler_options gives the same knobs at run time.

#include <type_traits>

namespace cpprof {

/// Which clock drives sampling.
///  - cpu:  a thread is sampled in proportion to the CPU time it burns (on-CPU profiling).
///  - wall: every thread is sampled at the same rate in real time, running or blocked
///          (off-CPU profiling: time spent waiting shows up too).
enum class clock_kind { cpu, wall };

template <int Hz, clock_kind Clock = clock_kind::cpu>
struct sampling_mode {
    static_assert(Hz >= 1 && Hz <= 10000, "cpprof::sampling_mode: frequency must be in 1..10000 Hz");
    static constexpr int frequency = Hz;
    static constexpr clock_kind clock = Clock;
};

using low_overhead = sampling_mode<10>;      ///< 10 Hz CPU: leave it on in production
using standard = sampling_mode<100>;         ///< 100 Hz CPU: the default
using high_precision = sampling_mode<1000>;  ///< 1000 Hz CPU: short benchmarks and tests
template <int Hz = 100>
using wall_clock = sampling_mode<Hz, clock_kind::wall>;  ///< wall time: blocked threads too

template <class T>
struct is_sampling_mode : std::false_type {};
template <int Hz, clock_kind C>
struct is_sampling_mode<sampling_mode<Hz, C>> : std::true_type {};

}  // namespace cpprof
