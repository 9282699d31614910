// Built with CPPROF_ENABLED=0: the continuous profiler starts no thread and no profile, the
// environment switch is always off, maybe_profile just runs the function.

#include <cpprof/cpprof.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

static_assert(CPPROF_ENABLED == 0, "this file checks the disabled build");

TEST_CASE("disabled: continuous_profiler validates its options and starts nothing") {
    int calls = 0;
    {
        cpprof::continuous_profiler cont{cpprof::continuous_options{}
                                             .window(std::chrono::milliseconds(10))
                                             .every(std::chrono::milliseconds(10))
                                             .sink([&](const cpprof::profile&) { ++calls; })};
        CHECK_FALSE(cont.running());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        CHECK(cont.stats().windows_completed == 0);
    }
    CHECK(calls == 0);
    CHECK_THROWS_AS(cpprof::continuous_profiler(cpprof::continuous_options{}.keep(0).directory("x")),
                    cpprof::error);
}

TEST_CASE("disabled: profiling_enabled is false whatever the environment, and maybe_profile runs fn") {
    ::setenv("CPPROF_ENABLE", "1", 1);
    CHECK_FALSE(cpprof::profiling_enabled());
    CHECK(cpprof::maybe_profile("op", [] { return 5; }) == 5);
    ::unsetenv("CPPROF_ENABLE");
}
