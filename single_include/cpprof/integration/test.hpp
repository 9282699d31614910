#pragma once
// Profiles in unit tests, for any test framework (doctest, Catch2, GoogleTest, plain asserts).
//
//     #include <cpprof/integration/test.hpp>
//
//     TEST_CASE("parse dominates load") {
//         cpprof::test_profiler prof{"parse dominates load"};   // CPU profile, 1000 Hz
//         load_file("big.json");
//         cpprof::profile p = prof.stop();      // also writes <dir>/parse_dominates_load.svg
//         CHECK(cpprof::fraction(p, "parse") > 0.5);
//     }
//
//     TEST_CASE("hot path") {
//         CPPROF_PROFILE_TEST("hot path");      // flame graph of the rest of the scope
//         cpprof::allocation_counter allocs;
//         hot_path();
//         CHECK(allocs.allocations() == 0);
//     }
//
// test_profiler(name, options)
//   Starts a CPU profile (cpprof::high_precision's 1000 Hz unless options say otherwise: a
//   test is short). stop() returns the profile and, when an output directory is configured,
//   writes `<dir>/<file name>.svg` (flame graph titled `name`) and `<dir>/<file name>.pb.gz`
//   (pprof). The directory is test_profiler_options::output_dir() when set, else the
//   environment variable CPPROF_OUTPUT_DIR when set and non-empty; it must exist. With
//   neither, nothing is written: the profile is still taken and returned, so assertions work
//   the same on a developer's machine and in CI. The destructor stops a profiler that was not
//   stopped and writes the files the same way; errors there go to stderr (one line starting
//   "cpprof: test_profiler"), never out of the destructor. stop() throws cpprof::error when
//   the files cannot be written. With CPPROF_ENABLED=0 the profile is empty and nothing is
//   written.
//   One CPU profile runs at a time in a process: the constructor throws cpprof::error when
//   another is running. The exception is cpprof's doctest listener (<cpprof/integration/
//   doctest.hpp>), which profiles every test case: a test_profiler asks it to stop early
//   (its file then covers the test case up to that point) and starts its own.
//
// CPPROF_PROFILE_TEST(name)
//   A test_profiler for the rest of the enclosing scope, for when only the flame graph is
//   wanted. Declares one variable; needs the `;`.
//
// File names (test_file_name): the name with every run of characters other than ASCII
//   letters, digits, '.', '-' and '_' replaced by one '_', leading and trailing '_' and '.'
//   removed, cut to 200 bytes; "unnamed" when nothing is left. "BM_parse/1024/threads:2"
//   becomes "BM_parse_1024_threads_2", "parser: handles \"\"" becomes "parser_handles".
//   Two names that differ only in replaced characters share a file: the later one wins.
//
// Assertions: cpprof::fraction(p, "parse") (query.hpp) is the share of samples with at least
//   one frame whose function name contains "parse" (a substring of the demangled name, e.g.
//   "json::parse(std::string_view)" matches "parse" and "json::"); self_fraction(p, "parse")
//   counts only samples whose leaf frame matches (time spent in the function itself).
//   cpprof::allocation_counter (memory/allocation_counter.hpp) counts the calling thread's
//   allocations in a scope: `CHECK(counter.allocations() == 0)`. It sees plain `new` only in
//   a program where one .cpp defines CPPROF_IMPLEMENT_GLOBAL_NEW before including
//   <cpprof/cpprof.hpp> (allocation_counter::sees_global_new() says so); otherwise only
//   tracking_allocator / tracking_resource allocations count, and the check passes vacuously.
//
// Integration headers include only <cpprof/cpprof.hpp>, so they work with include/ and with
// the single header (single_include/ ships a copy of them). They are not part of the umbrella.

#include <cpprof/cpprof.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace cpprof {

namespace detail {

/// See "File names" at the top of this header.
template <class = void>
std::string test_file_name(std::string_view name) {
    std::string out;
    bool pending_underscore = false;
    for (const char c : name) {
        const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
        if (keep) {
            if (pending_underscore && !out.empty()) out += '_';
            pending_underscore = false;
            out += c;
        } else {
            pending_underscore = true;
        }
    }
    std::size_t begin = 0, end = out.size();
    while (begin < end && (out[begin] == '_' || out[begin] == '.')) ++begin;
    while (end > begin && (out[end - 1] == '_' || out[end - 1] == '.')) --end;
    out = out.substr(begin, end - begin);
    if (out.size() > 200) out.resize(200);
    if (out.empty()) out = "unnamed";
    return out;
}

/// `explicit_dir` when non-empty, else $CPPROF_OUTPUT_DIR, else "" (= write nothing). Ends in
/// '/' when non-empty.
template <class = void>
std::string integration_output_dir(const std::string& explicit_dir) {
    std::string dir = explicit_dir;
    if (dir.empty()) {
        const char* d = std::getenv("CPPROF_OUTPUT_DIR");
        if (d != nullptr) dir = d;
    }
    if (!dir.empty() && dir.back() != '/') dir += '/';
    return dir;
}

/// Writes <dir><file name>.svg and .pb.gz; returns the path without extension.
template <class = void>
std::string write_integration_profile(const profile& p, const std::string& dir,
                                      std::string_view name, bool svg = true, bool pprof = true) {
    const std::string base = dir + test_file_name(name);
    if (svg) {
        flamegraph_options fo;
        fo.title(std::string(name));
        write_flamegraph(p, base + ".svg", fo);
    }
    if (pprof) write_pprof(p, base + ".pb.gz");
    return base;
}

/// Set by a test-suite-wide profiler (the doctest listener) while it profiles a test case:
/// stops it early, so a test_profiler in that test case can start (one CPU profile at a time).
inline void (*&suite_profiler_yield() noexcept)() {
    static void (*yield)() = nullptr;
    return yield;
}

}  // namespace detail

/// Options of test_profiler. Chained setters return *this.
class test_profiler_options {
public:
    /// Where the files go (must exist). Default: $CPPROF_OUTPUT_DIR; neither = no files.
    test_profiler_options& output_dir(std::string dir) { output_dir_ = std::move(dir); return *this; }
    const std::string& output_dir() const { return output_dir_; }
    /// The CPU profiler's options; a frequency left at 0 means 1000 Hz.
    test_profiler_options& profiler(profiler_options o) { profiler_ = std::move(o); return *this; }
    const profiler_options& profiler() const { return profiler_; }

private:
    std::string output_dir_;
    profiler_options profiler_;
};

/// A CPU profile of a test (or any scope) that writes its flame graph when a directory is
/// configured. See the top of this header.
class test_profiler {
public:
    explicit test_profiler(std::string name, test_profiler_options options = {})
        : name_(std::move(name)), options_(std::move(options)) {
        profiler_options po = options_.profiler();
        if (po.frequency() == 0) po.frequency(1000);
        if (void (*yield)() = detail::suite_profiler_yield()) yield();
        guard_.emplace(po);
    }
    test_profiler(const test_profiler&) = delete;
    test_profiler& operator=(const test_profiler&) = delete;

    ~test_profiler() {
        if (!guard_ || !guard_->running()) return;
        try {
            (void)stop();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "cpprof: test_profiler(\"%s\"): the profile was not saved: %s\n",
                         name_.c_str(), e.what());
        }
    }

    /// Stops profiling, writes the files when a directory is configured, returns the profile.
    profile stop() {
        profile p = guard_->stop();
#if CPPROF_ENABLED
        const std::string dir = detail::integration_output_dir(options_.output_dir());
        if (!dir.empty()) written_ = detail::write_integration_profile(p, dir, name_);
#endif
        return p;
    }

    const std::string& name() const { return name_; }
    /// The path of the files written (without ".svg" / ".pb.gz"), empty when none were.
    const std::string& written() const { return written_; }

private:
    std::string name_;
    test_profiler_options options_;
    std::optional<profiler_guard<high_precision>> guard_;
    std::string written_;
};

}  // namespace cpprof

/// CPPROF_PROFILE_TEST("name"); profiles the rest of the scope (see test_profiler).
#define CPPROF_PROFILE_TEST(name) \
    ::cpprof::test_profiler CPPROF_DETAIL_CONCAT(cpprof_test_profiler_, __COUNTER__) { name }
