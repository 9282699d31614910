// Differential flame graph: what changed between two profiles of the same program.
//
//   g++ -O2 -pthread -I single_include examples/07_diff_flamegraph.cpp -o diff && ./diff
//
// write_diff_flamegraph(before, after, file) draws `after`'s shape, each frame red where its
// share grew and blue where it shrank (as flamegraph.pl's difffolded.pl -n); the counts are
// normalised, so profiles of different lengths compare. print_hotspot_diff prints the functions
// whose share moved most.
//
// ctest: run
#include <cpprof/cpprof.hpp>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

namespace {

volatile std::uint64_t sink;

// Version 1 looks every id up with a linear scan.
__attribute__((noinline)) bool lookup_linear(const std::vector<std::uint32_t>& ids, std::uint32_t id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// Version 2 sorts once and uses binary search.
__attribute__((noinline)) bool lookup_binary(const std::vector<std::uint32_t>& ids, std::uint32_t id) {
    return std::binary_search(ids.begin(), ids.end(), id);
}

__attribute__((noinline)) std::uint64_t format_results(int n) {
    std::uint64_t total = 0;
    for (int i = 0; i < n; ++i) total += std::to_string(i * 31).size();
    return total;
}

__attribute__((noinline)) void serve(bool optimised) {
    std::vector<std::uint32_t> ids;
    for (std::uint32_t i = 0; i < 10000; ++i) ids.push_back(i * 2654435761u % 1000000);
    if (optimised) std::sort(ids.begin(), ids.end());
    std::uint64_t found = 0;
    for (int round = 0; round < 3; ++round)
        for (std::uint32_t q = 0; q < 30000; ++q)
            found += optimised ? lookup_binary(ids, q * 5) : lookup_linear(ids, q * 5);
    sink = found + format_results(10'000'000);
}

cpprof::profile profile_version(bool optimised) {
    cpprof::profiler_guard<cpprof::high_precision> guard;
    serve(optimised);
    return guard.stop();
}

}  // namespace

int main() {
    const cpprof::profile before = profile_version(false);
    const cpprof::profile after = profile_version(true);
    std::cout << "before: " << before.total_samples() << " samples ("
              << before.duration_nanos() / 1000000 << " ms), after: " << after.total_samples()
              << " samples (" << after.duration_nanos() / 1000000 << " ms)\n\n";

    cpprof::print_hotspot_diff(std::cout, before, after, 5);

    cpprof::write_flamegraph(before, "diff_before.svg");
    cpprof::write_flamegraph(after, "diff_after.svg");
    cpprof::write_diff_flamegraph(before, after, "diff.svg");  // after's shape, coloured by change
    cpprof::write_diff_flamegraph(before, after, "diff_before_shape.svg",
                                  cpprof::diff_flamegraph_options{}.before_shape(true));
    std::cout << "\nwrote diff_before.svg, wrote diff_after.svg (each run on its own)\n"
              << "wrote diff.svg (the after profile; blue = shrank, red = grew)\n"
              << "wrote diff_before_shape.svg (the before profile's shape: shows what disappeared)\n";
    return 0;
}
