// <cpprof/integration/test.hpp> and <cpprof/integration/doctest.hpp>: test_profiler,
// CPPROF_PROFILE_TEST, the assertion helpers on real profiles, file naming, and the doctest
// listener driven through its IReporter methods (plus registered in this program, idle while
// no directory is configured). This executable links cpprof's operator new.

#include <doctest/doctest.h>
#include <cpprof/integration/doctest.hpp>

#include "../support/external.hpp"
#include "../support/flamegraph_svg.hpp"
#include "../support/go_pprof.hpp"
#include "../support/sanitizers.hpp"
#include "../workloads.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <optional>
#include <string>

// Registered for real: idle in this run, since no test leaves a directory configured when the
// next test case starts.
CPPROF_DOCTEST_LISTENER();

// Global, so the frames' names are plain in the profile.
CPPROF_TEST_NOINLINE void cpprof_itest_leaf_work(std::uint64_t units) {
    workloads::spin_units(units);
    CPPROF_TEST_NO_TAIL_CALL();
}
CPPROF_TEST_NOINLINE void cpprof_itest_outer_caller(std::uint64_t units) {
    cpprof_itest_leaf_work(units);
    CPPROF_TEST_NO_TAIL_CALL();
}
CPPROF_TEST_NOINLINE void cpprof_itest_other_work(std::uint64_t units) {
    workloads::spin_units(units);
    CPPROF_TEST_NO_TAIL_CALL();
}

// ThreadSanitizer defers signals, so CPU samples of busy loops never land there (see
// tests/test_cpu_profiler.cpp): the checks on what was sampled are left out under TSan; the
// files and the listener's mechanics are still checked.
constexpr bool real_samples = CPPROF_TEST_TSAN == 0;

namespace {

using cpprof_test::env_var;
using cpprof_test::exists;

/// Sets doctest_listener::output_dir for a scope.
struct listener_dir {
    explicit listener_dir(const std::string& d) { cpprof::doctest_listener::output_dir(d); }
    ~listener_dir() { cpprof::doctest_listener::output_dir(""); }
    listener_dir(const listener_dir&) = delete;
    listener_dir& operator=(const listener_dir&) = delete;
};

std::int64_t samples_in(const cpprof_test::svg_graph& g, const std::string& function) {
    std::int64_t n = 0;
    for (const auto& b : g.boxes)
        if (b.name.find(function) != std::string::npos) n += b.count;
    return n;
}

doctest::TestCaseData test_case_named(const char* name) {
    doctest::TestCaseData tc{};
    tc.m_name = name;
    tc.m_test_suite = "";
    tc.m_description = "";
    return tc;
}

}  // namespace

TEST_CASE("integration: test_file_name keeps [A-Za-z0-9._-] and folds the rest into one '_'") {
    using cpprof::detail::test_file_name;
    CHECK(test_file_name("BM_parse/1024/threads:2") == "BM_parse_1024_threads_2");
    CHECK(test_file_name("parser: handles \"\"") == "parser_handles");
    CHECK(test_file_name("  a  b  ") == "a_b");
    CHECK(test_file_name("../etc/passwd") == "etc_passwd");
    CHECK(test_file_name("v1.2-rc_3") == "v1.2-rc_3");
    CHECK(test_file_name("") == "unnamed");
    CHECK(test_file_name("///") == "unnamed");
    CHECK(test_file_name("..") == "unnamed");
    CHECK(test_file_name(std::string(300, 'x')).size() == 200);
}

TEST_CASE("integration: fraction and self_fraction on a real profile" *
          doctest::skip(CPPROF_TEST_TSAN != 0)) {
    env_var env("CPPROF_OUTPUT_DIR", nullptr);
    cpprof::test_profiler prof{"fractions"};
    cpprof_itest_outer_caller(300);  // ~300 ms
    cpprof_itest_other_work(100);    // ~100 ms
    const cpprof::profile p = prof.stop();
    CHECK(prof.written().empty());  // no directory: nothing written
    REQUIRE(p.total(p.default_sample_index()) > 0);

    const double outer = cpprof::fraction(p, "cpprof_itest_outer_caller");
    const double outer_self = cpprof::self_fraction(p, "cpprof_itest_outer_caller");
    const double leaf = cpprof::fraction(p, "cpprof_itest_leaf_work");
    const double other = cpprof::fraction(p, "cpprof_itest_other_work");
    INFO("outer " << outer << " outer self " << outer_self << " leaf " << leaf << " other " << other);
    CHECK(outer > 0.6);
    CHECK(outer < 0.9);
    CHECK(other > 0.1);
    CHECK(leaf == doctest::Approx(outer).epsilon(0.05));  // every outer sample passes through leaf
    CHECK(outer_self < 0.05);  // the outer function does nothing itself
    CHECK(cpprof::self_fraction(p, "spin_units") > 0.9);  // the leaf of nearly every sample
    CHECK(cpprof::fraction(p, "no_such_function_anywhere") == 0.0);
}

TEST_CASE("integration: allocation_counter reads naturally in a CHECK") {
    REQUIRE(cpprof::allocation_counter::sees_global_new());
    cpprof::allocation_counter counter;
    std::uint64_t x = 7;
    for (int i = 0; i < 100; ++i) x = x * 31 + 1;
    workloads::sink.fetch_add(x);
    CHECK(counter.allocations() == 0);

    // The pointers escape through a volatile, so the optimiser cannot elide the new/delete
    // pairs (C++14 allows that); read the counter before CHECK, which may allocate itself.
    static int* volatile escape = nullptr;
    counter.reset();
    escape = new int(1);
    delete escape;
    escape = new int(2);
    delete escape;
    const std::uint64_t allocations = counter.allocations(), bytes = counter.bytes();
    CHECK(allocations == 2);
    CHECK(bytes == 2 * sizeof(int));
}

TEST_CASE("integration: test_profiler and CPPROF_PROFILE_TEST write a flame graph when a directory is set") {
    cpprof_test::temp_dir dir;
    {
        cpprof::test_profiler prof{"explicit dir: case", cpprof::test_profiler_options{}.output_dir(dir.path())};
        cpprof_itest_other_work(100);
        prof.stop();
        CHECK(prof.written() == dir / "explicit_dir_case");
    }
    CHECK(exists(dir / "explicit_dir_case.svg"));
    CHECK(exists(dir / "explicit_dir_case.pb.gz"));
    {
        env_var env("CPPROF_OUTPUT_DIR", dir.path().c_str());
        {
            CPPROF_PROFILE_TEST("macro: scope");
            cpprof_itest_other_work(100);
        }  // written here
    }
    REQUIRE(exists(dir / "macro_scope.svg"));
    const auto g = cpprof_test::parse_flamegraph_svg(cpprof_test::read_file(dir / "macro_scope.svg"),
                                                     CPPROF_TEST_XMLLINT);
    if (real_samples) CHECK(samples_in(g, "cpprof_itest_other_work") > 10);
    CHECK(g.raw.find("macro: scope") != std::string::npos);  // the title is the name as given
}

TEST_CASE("integration: the doctest listener writes one flame graph per test case") {
    env_var env("CPPROF_OUTPUT_DIR", nullptr);
    cpprof_test::temp_dir dir;
    cpprof::doctest_listener listener;
    const doctest::TestCaseData idle = test_case_named("listener: no directory");
    listener.test_case_start(idle);
    cpprof_itest_other_work(10);
    listener.test_case_end(doctest::CurrentTestCaseStats{});
    CHECK(listener.written().empty());

    {
        listener_dir set(dir.path());
        const doctest::TestCaseData tc = test_case_named("listener: parse / big input");
        listener.test_case_start(tc);
        listener.subcase_start(doctest::SubcaseSignature{doctest::String("first"), "f.cpp", 1});
        cpprof_itest_outer_caller(100);
        listener.subcase_end();
        listener.test_case_reenter(tc);
        cpprof_itest_other_work(100);
        listener.test_case_end(doctest::CurrentTestCaseStats{});
    }
    REQUIRE(listener.written().size() == 1);
    CHECK(listener.written()[0] == dir / "listener_parse_big_input");
    REQUIRE(exists(dir / "listener_parse_big_input.svg"));
    const auto g = cpprof_test::parse_flamegraph_svg(
        cpprof_test::read_file(dir / "listener_parse_big_input.svg"), CPPROF_TEST_XMLLINT);
    CHECK(g.raw.find("listener: parse / big input") != std::string::npos);
    if (!real_samples) return;
    CHECK(samples_in(g, "cpprof_itest_leaf_work") > 10);   // before the re-entry
    CHECK(samples_in(g, "cpprof_itest_other_work") > 10);  // after it: one profile for both

    REQUIRE_GO_TOOL_PPROF();
    cpprof_test::go_pprof pprof;
    const std::string top = pprof.run("-top -nodecount=50", dir / "listener_parse_big_input.pb.gz");
    CHECK(top.find("cpprof_itest_leaf_work") != std::string::npos);
}

TEST_CASE("integration: a test_profiler inside a listened test case makes the listener stop early") {
    env_var env("CPPROF_OUTPUT_DIR", nullptr);
    cpprof_test::temp_dir dir;
    cpprof::doctest_listener listener;
    listener_dir set(dir.path());
    const doctest::TestCaseData tc = test_case_named("listener: yields");
    listener.test_case_start(tc);
    cpprof_itest_outer_caller(50);
    cpprof::profile own;
    {
        cpprof::test_profiler prof{"own profile", cpprof::test_profiler_options{}.output_dir(dir.path())};
        CHECK(listener.written().size() == 1);  // the listener stopped and wrote its part
        cpprof_itest_other_work(100);
        own = prof.stop();
    }
    listener.test_case_end(doctest::CurrentTestCaseStats{});
    CHECK(listener.written().size() == 1);  // nothing more to write at the end
    CHECK(exists(dir / "listener_yields.svg"));
    CHECK(exists(dir / "own_profile.svg"));
    if (real_samples) CHECK(cpprof::fraction(own, "cpprof_itest_other_work") > 0.8);
    CHECK(cpprof::fraction(own, "cpprof_itest_leaf_work") < 0.1);
}
