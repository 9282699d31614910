// Built with CPPROF_ENABLED=0: the export transport and the Pyroscope client still compile and
// validate their options, but start no thread and send nothing; submit()/push() say so.

#include <cpprof/cpprof.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <string>

static_assert(CPPROF_ENABLED == 0, "this file checks the disabled build");

TEST_CASE("disabled: the exporter and the Pyroscope client send nothing and say why") {
    cpprof::detail::background_exporter e;
    CHECK_FALSE(e.submit({"http://127.0.0.1:1/x", "", {}, "body", "test"}));
    CHECK(e.flush(std::chrono::milliseconds(0)));
    const cpprof::export_stats s = e.stats();
    CHECK(s.enqueued == 0);
    CHECK(s.last_error.find("CPPROF_ENABLED=0") != std::string::npos);

    cpprof::pyroscope::client pyro{cpprof::pyroscope::options{}.application("app")};
    CHECK_FALSE(pyro.push(cpprof::profile{{"samples", "count"}}));
    CHECK_THROWS_AS(cpprof::pyroscope::client(cpprof::pyroscope::options{}), cpprof::error);
}
