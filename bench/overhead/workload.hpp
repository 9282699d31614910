#pragma once
// The CPU-bound workload of the overhead benchmark (bench/overhead, tools/bench_overhead.sh).
//
// A deterministic stand-in for "a server handling requests": every request walks down a call
// chain 10..30 frames deep through three mutually recursive stages that each do a little work,
// then ends in one of four leaves that spend their time in the standard library (std::sort,
// std::string building and hashing, std::unordered_map, libm). The amount of work is fixed by
// the request count and the seed, never by time, so a profiler's cost shows up as extra CPU
// and wall time. Built -O2 WITHOUT frame pointers, like the code cpprof must profile.

#include <cstdint>

namespace overhead {

/// Runs `requests` requests from the stream seeded with `seed`; returns a checksum that is
/// identical for identical arguments (it is printed so the work cannot be optimised away and so
/// runs can be checked to have done the same work).
std::uint64_t run_requests(std::uint64_t seed, std::uint64_t requests);

}  // namespace overhead
