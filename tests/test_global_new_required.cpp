// Heap profiling without cpprof's operator new: this executable does not define
// CPPROF_IMPLEMENT_GLOBAL_NEW, so the heap profiler must say how to enable it.

#include <cpprof/cpprof.hpp>
#include <doctest/doctest.h>

TEST_CASE("heap profiling without CPPROF_IMPLEMENT_GLOBAL_NEW fails with the way to enable it") {
    CHECK_FALSE(cpprof::allocation_counter::sees_global_new());
    CHECK_THROWS_WITH_AS(cpprof::heap_profiler_guard{},
                         doctest::Contains("define CPPROF_IMPLEMENT_GLOBAL_NEW"), cpprof::error);
    CHECK_THROWS_WITH_AS(cpprof::leak_detector{},
                         doctest::Contains("define CPPROF_IMPLEMENT_GLOBAL_NEW"), cpprof::error);
    // Bad options are reported first, whatever the build.
    CHECK_THROWS_WITH_AS(cpprof::heap_profiler_guard{cpprof::heap_options{}.sampling_interval(-5)},
                         doctest::Contains("sampling_interval"), cpprof::error);
}
