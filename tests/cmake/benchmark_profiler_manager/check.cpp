// Runs pm_bench (bench.cpp: cpprof::benchmark_profiler_registration over four benchmarks) on a
// real Google Benchmark with benchmark::ProfilerManager and reads what it writes back: the
// flame graphs through xmllint + the SVG reader, the pprof files through `go tool pprof`.
// Each profile must hold its own benchmark's hot function and nothing from the work before the
// loop, so a profile started too early, numbered out of order or missing fails here.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "external.hpp"
#include "flamegraph_svg.hpp"
#include "go_pprof.hpp"

#include <dirent.h>

#include <cstdint>
#include <cstdio>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::set<std::string> list_dir(const std::string& path) {
    std::set<std::string> names;
    DIR* d = ::opendir(path.c_str());
    REQUIRE_MESSAGE(d != nullptr, "cannot list " << path);
    while (const dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n != "." && n != "..") names.insert(n);
    }
    ::closedir(d);
    return names;
}

std::string numbered(int i, const char* ext) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "profile_%03d%s", i, ext);
    return buf;
}

/// Runs pm_bench in `cwd` with `env` (e.g. "CPPROF_OUTPUT_DIR=..."; CPPROF_OUTPUT_DIR is
/// removed from the environment first) and returns its output; the benchmark rows it reported
/// are appended to `rows`, in report order.
std::string run_bench(const std::string& cwd, const std::string& env, const std::string& args,
                      std::vector<std::string>& rows) {
    const auto r = cpprof_test::run("cd " + cpprof_test::shell_quote(cwd) +
                                    " && env -u CPPROF_OUTPUT_DIR " + env + " " +
                                    cpprof_test::shell_quote(PM_BENCH) + " " + args + " 2>&1");
    INFO("pm_bench " << args << "\n" << r.out);
    REQUIRE(r.exit_code == 0);
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("BM_", 0) == 0) rows.push_back(line.substr(0, line.find(' ')));
    return r.out;
}

const char* const hot_functions[] = {"cpprof_pm_hot_alpha", "cpprof_pm_hot_beta",
                                     "cpprof_pm_hot_gamma", "cpprof_pm_hot_delta"};

std::string hot_function_of(const std::string& row) {
    if (row.rfind("BM_alpha", 0) == 0) return "cpprof_pm_hot_alpha";
    if (row.rfind("BM_beta", 0) == 0) return "cpprof_pm_hot_beta";
    if (row.rfind("BM_gamma", 0) == 0) return "cpprof_pm_hot_gamma";
    if (row.rfind("BM_guarded", 0) == 0) return "cpprof_pm_hot_delta";
    FAIL("unexpected benchmark row " << row);
    return {};
}

/// CPU nanoseconds in boxes whose name contains `fn` (a function can sit under several
/// callers). The flame graph shows the pprof sample value: 1,000,000 ns per sample at 1000 Hz.
std::int64_t cpu_ns_in(const cpprof_test::svg_graph& g, const std::string& fn) {
    std::int64_t n = 0;
    for (const auto& b : g.boxes)
        if (b.name.find(fn) != std::string::npos) n += b.count;
    return n;
}

/// The function with the most flat samples, from `go tool pprof -top` (rows are sorted by
/// flat; the first row after the header).
std::string pprof_top_function(const cpprof_test::go_pprof& pprof, const std::string& file) {
    const std::string top = pprof.run("-top -nodecount=20", file);
    std::istringstream lines(top);
    bool header = false;
    for (std::string line; std::getline(lines, line);) {
        if (!header) {
            header = line.find("flat%") != std::string::npos && line.find("cum%") != std::string::npos;
            continue;
        }
        std::istringstream fields(line);
        std::string flat, flat_pct, sum_pct, cum, cum_pct, name;
        fields >> flat >> flat_pct >> sum_pct >> cum >> cum_pct;
        std::getline(fields, name);
        const auto start = name.find_first_not_of(' ');
        return start == std::string::npos ? std::string() : name.substr(start);
    }
    FAIL("no rows in go tool pprof -top output:\n" << top);
    return {};
}

/// <dir>/<base>.svg and .pb.gz hold `row`'s hot function, nearly only it: not the other
/// benchmarks' hot functions, nor the work before the loop.
void check_profile(const std::string& dir, const std::string& base, const std::string& row) {
    const std::string expected = hot_function_of(row);
    const std::string svg = dir + "/" + base + ".svg";
    const std::string pb = dir + "/" + base + ".pb.gz";
    INFO(row << ": " << svg);
    const auto g = cpprof_test::parse_flamegraph_svg(cpprof_test::read_file(svg), PM_XMLLINT);
    const std::int64_t total = g.box("all").count;
    const std::int64_t hot = cpu_ns_in(g, expected);
    MESSAGE(row << " -> " << base << ": " << hot / 1000000 << " of " << total / 1000000
                << " ms of samples in " << expected);
    CHECK(hot >= 15 * 1000000);    // one iteration of ~40-60 ms CPU at 1000 Hz
    CHECK(hot * 10 >= total * 8);  // the measured loop is nearly all of the profile
    for (const char* other : hot_functions)
        if (other != expected) CHECK_MESSAGE(cpu_ns_in(g, other) == 0, other);
    CHECK(cpu_ns_in(g, "cpprof_pm_setup_work") == 0);  // before the loop: not profiled

    if (!cpprof_test::go_pprof::available()) {
        MESSAGE("SKIPPED: `go` is not on PATH, so `go tool pprof` cannot read " << pb);
        return;
    }
    cpprof_test::go_pprof pprof;
    const std::string top = pprof_top_function(pprof, pb);
    CHECK_MESSAGE(top.find(expected) != std::string::npos, "top function: " << top);
}

/// profile_001, profile_002, ... for `rows`, in order.
void check_profiles(const std::string& dir, const std::vector<std::string>& rows) {
    for (std::size_t i = 0; i < rows.size(); ++i)
        check_profile(dir, numbered(static_cast<int>(i + 1), ""), rows[i]);
}

const std::string three = cpprof_test::shell_quote("--benchmark_filter=^BM_(alpha|beta|gamma)/");

}  // namespace

TEST_CASE("profiler manager: one profile_NNN.svg + .pb.gz per benchmark, in report order") {
    cpprof_test::temp_dir out, cwd;
    std::vector<std::string> rows;
    const std::string output = run_bench(
        cwd.path(), "CPPROF_OUTPUT_DIR=" + cpprof_test::shell_quote(out.path()), three, rows);
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].rfind("BM_alpha", 0) == 0);
    CHECK(rows[1].rfind("BM_beta", 0) == 0);
    CHECK(rows[2].rfind("BM_gamma", 0) == 0);
    CHECK(output.find("cpprof profiles written: 3") != std::string::npos);
    const std::set<std::string> expected_files = {
        numbered(1, ".svg"), numbered(1, ".pb.gz"), numbered(2, ".svg"),
        numbered(2, ".pb.gz"), numbered(3, ".svg"), numbered(3, ".pb.gz")};
    CHECK(list_dir(out.path()) == expected_files);
    CHECK(list_dir(cwd.path()).empty());
    check_profiles(out.path(), rows);
}

TEST_CASE("profiler manager: the order follows the run, e.g. a filter and repetitions") {
    // Google Benchmark runs its profiling pass once per repetition (after measuring it): two
    // files each for BM_beta and BM_gamma, in run order; none for the aggregate rows.
    cpprof_test::temp_dir out, cwd;
    std::vector<std::string> rows;
    const std::string output = run_bench(
        cwd.path(), "CPPROF_OUTPUT_DIR=" + cpprof_test::shell_quote(out.path()),
        cpprof_test::shell_quote("--benchmark_filter=^BM_(gamma|beta)/") +
            " --benchmark_repetitions=2 --benchmark_report_aggregates_only=false",
        rows);
    std::vector<std::string> runs;  // the per-repetition rows, without _mean, _median, ...
    for (const auto& r : rows)
        if (r.find("_mean") == std::string::npos && r.find("_median") == std::string::npos &&
            r.find("_stddev") == std::string::npos && r.find("_cv") == std::string::npos)
            runs.push_back(r);
    REQUIRE(runs.size() == 4);
    CHECK(output.find("cpprof profiles written: 4") != std::string::npos);
    CHECK(list_dir(out.path()).size() == 8);
    check_profiles(out.path(), runs);
}

TEST_CASE("profiler manager: a body with its own benchmark_guard: its number is skipped") {
    cpprof_test::temp_dir out, cwd;
    std::vector<std::string> rows;
    const std::string output = run_bench(
        cwd.path(), "CPPROF_OUTPUT_DIR=" + cpprof_test::shell_quote(out.path()), "", rows);
    REQUIRE(rows.size() == 4);
    REQUIRE(rows[2].rfind("BM_guarded", 0) == 0);
    CHECK(output.find("cpprof: benchmark_profiler_manager: profile_003 not written") !=
          std::string::npos);
    CHECK(output.find("cpprof profiles written: 3") != std::string::npos);
    const std::set<std::string> expected_files = {
        numbered(1, ".svg"), numbered(1, ".pb.gz"), numbered(2, ".svg"), numbered(2, ".pb.gz"),
        numbered(4, ".svg"), numbered(4, ".pb.gz"), "BM_guarded.svg", "BM_guarded.pb.gz"};
    CHECK(list_dir(out.path()) == expected_files);
    check_profile(out.path(), numbered(1, ""), rows[0]);
    check_profile(out.path(), numbered(2, ""), rows[1]);
    check_profile(out.path(), numbered(4, ""), rows[3]);
    check_profile(out.path(), "BM_guarded", rows[2]);  // the guard's, from the profiling run
}

TEST_CASE("profiler manager: without CPPROF_OUTPUT_DIR nothing is written") {
    cpprof_test::temp_dir cwd;
    std::vector<std::string> rows;
    const std::string output = run_bench(cwd.path(), "", "", rows);
    CHECK(rows.size() == 4);  // the benchmarks still run and report
    CHECK(output.find("cpprof profiles written: 0") != std::string::npos);
    CHECK(output.find("cpprof:") == std::string::npos);  // and nothing complains
    CHECK(list_dir(cwd.path()).empty());
}
