#pragma once
// The heap benchmark's workload (bench/heap/workload.cpp): allocation-heavy, deterministic,
// single-threaded. Compiled into every variant unchanged; only the driver differs.

#include <cstdint>

namespace heapbench {

/// Runs `requests` requests; returns a checksum of the results (the same for every variant).
std::uint64_t run_workload(std::uint64_t requests);

}  // namespace heapbench
