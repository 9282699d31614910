// On-demand profiling: the environment switch, maybe_profile, and the overhead report.

#include <cpprof/cpprof.hpp>
#include <doctest/doctest.h>

#include "support/external.hpp"
#include "support/go_pprof.hpp"
#include "support/sanitizers.hpp"
#include "workloads.hpp"

#include <cstdlib>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include <sys/stat.h>

#define CPPROF_NEEDS_REAL_SIGNALS doctest::skip(CPPROF_TEST_TSAN != 0)

namespace {

using cpprof_test::env_var;
using cpprof_test::exists;

bool no_profile_running() { return !cpprof::detail::globals().running.load(); }

}  // namespace

TEST_CASE("on-demand: profiling_enabled reads CPPROF_ENABLE and ENABLE_PROFILING") {
    env_var a("CPPROF_ENABLE", nullptr), b("ENABLE_PROFILING", nullptr);
    CHECK_FALSE(cpprof::profiling_enabled());
    for (const char* yes : {"1", "true", "TRUE", "True", "yes", "YES", "on", "On"}) {
        a.set(yes);
        CHECK_MESSAGE(cpprof::profiling_enabled(), "CPPROF_ENABLE=" << yes);
        a.set(nullptr);
        b.set(yes);
        CHECK_MESSAGE(cpprof::profiling_enabled(), "ENABLE_PROFILING=" << yes);
        b.set(nullptr);
    }
    for (const char* no : {"", "0", "false", "no", "off", "2", "enabled", " true", "true ", "yess",
                           "tru", "o", "1x"}) {
        a.set(no);
        b.set(no);
        CHECK_MESSAGE(!cpprof::profiling_enabled(), "value '" << no << "'");
    }
    // Either variable suffices.
    a.set("0");
    b.set("true");
    CHECK(cpprof::profiling_enabled());
    a.set("1");
    b.set("false");
    CHECK(cpprof::profiling_enabled());
}

TEST_CASE("on-demand: maybe_profile runs fn unprofiled when disabled") {
    cpprof_test::temp_dir tmp;
    env_var a("CPPROF_ENABLE", nullptr), b("ENABLE_PROFILING", nullptr),
        dir("CPPROF_OUTPUT_DIR", tmp.path().c_str());
    int calls = 0;
    CHECK(cpprof::maybe_profile("op", [&] { return ++calls * 10; }) == 10);
    cpprof::maybe_profile("op", [&] { ++calls; });  // void
    CHECK(calls == 2);
    CHECK_FALSE(exists(tmp / "op_profile.svg"));
    CHECK_FALSE(exists(tmp / "op_profile.pb.gz"));
    // A bad name is an error whether or not profiling is enabled, and fn does not run.
    for (const char* bad : {"", ".", "..", "a/b"})
        CHECK_THROWS_WITH_AS(cpprof::maybe_profile(bad, [&] { ++calls; }),
                             doctest::Contains("cannot be a file name"), cpprof::error);
    CHECK(calls == 2);
}

TEST_CASE("on-demand: maybe_profile profiles when enabled and writes a flame graph and pprof" *
          CPPROF_NEEDS_REAL_SIGNALS) {
    cpprof_test::temp_dir tmp;
    env_var a("CPPROF_ENABLE", "1"), dir("CPPROF_OUTPUT_DIR", tmp.path().c_str());
    const int r = cpprof::maybe_profile("checkout", [] {
        cpprof_test_chain_a(200);  // ~200 ms
        return 42;
    });
    CHECK(r == 42);
    CHECK(no_profile_running());
    REQUIRE(exists(tmp / "checkout_profile.svg"));
    REQUIRE(exists(tmp / "checkout_profile.pb.gz"));
    const std::string svg = cpprof_test::read_file(tmp / "checkout_profile.svg");
    CHECK(svg.find("<svg") != std::string::npos);
    CHECK(svg.find("checkout") != std::string::npos);  // the title
    CHECK(svg.find("cpprof_test_chain_b") != std::string::npos);
    const cpprof::profile p = cpprof::read_pprof(tmp / "checkout_profile.pb.gz");
    CHECK(p.total_samples() >= 5);  // 100 Hz for ~200 ms of CPU

    if (cpprof_test::go_pprof::available()) {
        cpprof_test::go_pprof pprof;
        const std::string top = pprof.run("-top", tmp / "checkout_profile.pb.gz");
        CHECK(top.find("cpprof_test_chain_c") != std::string::npos);
    }
}

TEST_CASE("on-demand: maybe_profile passes results, references and exceptions through") {
    cpprof_test::temp_dir tmp;
    env_var a("CPPROF_ENABLE", "yes"), dir("CPPROF_OUTPUT_DIR", tmp.path().c_str());

    // void
    int side = 0;
    cpprof::maybe_profile("void_op", [&] { side = 7; });
    CHECK(side == 7);
    CHECK(no_profile_running());
    // a reference comes back as the same object
    int target = 1;
    int& ref = cpprof::maybe_profile("ref_op", [&]() -> int& { return target; });
    CHECK(&ref == &target);
    // a move-only result
    auto up = cpprof::maybe_profile("move_op", [] { return std::make_unique<int>(5); });
    REQUIRE(up);
    CHECK(*up == 5);
    // Mode as a template argument
    CHECK(cpprof::maybe_profile<cpprof::low_overhead>("low_op", [] { return 3; }) == 3);

    // An exception propagates, nothing is left running, and no file is written.
    CHECK_THROWS_WITH_AS(cpprof::maybe_profile("throwing_op",
                                               []() -> int {
                                                   workloads::burn_cpu_ns(20'000'000);
                                                   throw std::runtime_error("boom");
                                               }),
                         "boom", std::runtime_error);
    CHECK(no_profile_running());
    CHECK_FALSE(exists(tmp / "throwing_op_profile.svg"));
    CHECK_FALSE(exists(tmp / "throwing_op_profile.pb.gz"));
    cpprof::profiler_guard<cpprof::standard> g;  // a profiler can start again
    CHECK(g.running());

    // While another profile runs, fn still runs (unprofiled) and its result comes back.
    CHECK(cpprof::maybe_profile("busy_op", [] { return 9; }) == 9);
    CHECK_FALSE(exists(tmp / "busy_op_profile.pb.gz"));
    g.stop();

    // An output directory that cannot be written: the result still comes back.
    dir.set((tmp / "missing/dir").c_str());
    CHECK(cpprof::maybe_profile("unwritable_op", [] { return 11; }) == 11);
    CHECK(no_profile_running());
}

TEST_CASE("on-demand: measure_overhead reports baseline, profiled, ratio and samples") {
    auto workload = [] { workloads::burn_cpu_ns(30'000'000); };
    const cpprof::overhead_report r = cpprof::measure_overhead(
        workload, cpprof::standard{}, cpprof::overhead_options{}.repetitions(3).warmup(0));
    CHECK(r.frequency == 100);
    CHECK(r.clock == cpprof::clock_kind::cpu);
    CHECK(r.repetitions == 3);
    REQUIRE(r.baseline_runs.size() == 3);
    REQUIRE(r.profiled_runs.size() == 3);
    CHECK(r.baseline >= std::chrono::milliseconds(29));
    CHECK(r.profiled >= std::chrono::milliseconds(29));
    CHECK(r.baseline_cpu >= std::chrono::milliseconds(29));
    CHECK(r.ratio > 0.5);
    // Wall time is what a neighbour on a busy machine stretches, so its ratio is only checked
    // for sanity; the process's CPU time is not stretched, and profiling at 100 Hz must not
    // triple it.
    CHECK(r.ratio < 10.0);
    CHECK(r.profiled_cpu < 3 * r.baseline_cpu);
    CHECK(r.overhead_percent == doctest::Approx((r.ratio - 1.0) * 100.0));
    CHECK(r.overhead() == r.profiled - r.baseline);
    CHECK(no_profile_running());
    if (!CPPROF_TEST_TSAN) CHECK(r.samples >= 3);  // 3 x 30 ms of CPU at 100 Hz: ~9

    std::ostringstream os;
    os << r;
    const std::string text = os.str();
    CHECK(text.find("Profiling overhead (100 Hz cpu, 3 repetitions, medians):") == 0);
    CHECK(text.find("Baseline:") != std::string::npos);
    CHECK(text.find("With profiling:") != std::string::npos);
    CHECK(text.find("Overhead:") != std::string::npos);
    CHECK(text.find("%)") != std::string::npos);
    CHECK(text.find("Samples:        " + std::to_string(r.samples)) != std::string::npos);
    CHECK(text == cpprof::to_string(r));

    // the default mode, and a bad option
    const auto d = cpprof::measure_overhead([] {}, cpprof::low_overhead{},
                                            cpprof::overhead_options{}.repetitions(1));
    CHECK(d.frequency == 10);
    CHECK_THROWS_WITH_AS(cpprof::measure_overhead([] {}, cpprof::standard{},
                                                  cpprof::overhead_options{}.repetitions(0)),
                         doctest::Contains("repetitions must be in 1..1000"), cpprof::error);
    // A profile already running: measuring is impossible, and says so.
    cpprof::profiler_guard<cpprof::standard> g;
    CHECK_THROWS_WITH_AS(cpprof::measure_overhead([] {}), doctest::Contains("already running"),
                         cpprof::error);
}
