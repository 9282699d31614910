#pragma once
// cpprof for doctest: everything of <cpprof/integration/test.hpp> (test_profiler,
// CPPROF_PROFILE_TEST, fraction, allocation_counter) plus a listener that writes one flame graph
// per test case. Not part of <cpprof/cpprof.hpp>.
//
//     #include <doctest/doctest.h>
//     #include <cpprof/integration/doctest.hpp>
//
//     CPPROF_DOCTEST_LISTENER();     // in ONE .cpp of the test program, at namespace scope
//
//     $ CPPROF_OUTPUT_DIR=prof ./tests       # prof/<test case name>.svg and .pb.gz per test case
//     $ ./tests                               # no directory: the listener does nothing
//
// cpprof::doctest_listener implements all twelve doctest::IReporter methods. While a
// directory is configured (doctest_listener::output_dir(dir) from the program, else the
// environment variable CPPROF_OUTPUT_DIR; it must exist) it starts a CPU profile (1000 Hz) in
// test_case_start and, in test_case_end, writes `<dir>/<file name>.svg` (titled with the
// test case's name) and `.pb.gz`, the file name made from the test case's name as described in
// <cpprof/integration/test.hpp>. Subcases are re-entries of their test case, so the profile
// covers every pass through it. Skipped test cases get no file. A test case whose own code
// starts a cpprof::test_profiler (or CPPROF_PROFILE_TEST) makes the listener stop early: that
// file covers the test case up to that point, and the test's own profiler runs as usual.
// A test case that starts a bare cpprof::profiler_guard fails while the listener profiles it
// (one CPU profile at a time per process): run such tests without CPPROF_OUTPUT_DIR or with
// doctest's filters. If the profiler cannot start or a file cannot be written, the test run
// goes on; one line on stderr starting "cpprof: doctest_listener" says why.
//
// CPPROF_DOCTEST_LISTENER() wraps DOCTEST_REGISTER_LISTENER("cpprof", 1, cpprof::doctest_listener);
// with DOCTEST_CONFIG_DISABLE it expands to nothing (but still wants its `;`).

#include <doctest/doctest.h>

#include <cpprof/cpprof.hpp>
#include <cpprof/integration/test.hpp>

#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cpprof {

class doctest_listener : public doctest::IReporter {
public:
    explicit doctest_listener(const doctest::ContextOptions&) {}
    doctest_listener() = default;
    ~doctest_listener() override { finish(); }
    doctest_listener(const doctest_listener&) = delete;
    doctest_listener& operator=(const doctest_listener&) = delete;

    /// Sets (non-empty) or clears (empty) the directory for every listener of the program;
    /// while cleared, $CPPROF_OUTPUT_DIR decides.
    static void output_dir(std::string dir) { configured_dir() = std::move(dir); }
    static const std::string& output_dir() { return configured_dir(); }

    /// Files written so far by this listener (paths without ".svg" / ".pb.gz").
    const std::vector<std::string>& written() const { return written_; }

    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData& tc) override {
        finish();
        name_ = tc.m_name != nullptr ? tc.m_name : "";
#if CPPROF_ENABLED
        dir_ = detail::integration_output_dir(configured_dir());
#endif
        if (dir_.empty()) return;
        try {
            guard_.emplace(profiler_options{}.frequency(1000));
            active() = this;
            detail::suite_profiler_yield() = &yield;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "cpprof: doctest_listener: \"%s\" runs unprofiled: %s\n",
                         name_.c_str(), e.what());
        }
    }
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override { finish(); }
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}

private:
    static std::string& configured_dir() {
        static std::string dir;
        return dir;
    }
    static doctest_listener*& active() {
        static doctest_listener* listener = nullptr;
        return listener;
    }
    static void yield() {
        if (active() != nullptr) active()->finish();
    }

    /// Stops a running profile and writes it.
    void finish() noexcept {
        if (active() == this) {
            active() = nullptr;
            detail::suite_profiler_yield() = nullptr;
        }
        if (!guard_) return;
        try {
            profile p = guard_->stop();
            guard_.reset();
            written_.push_back(detail::write_integration_profile(p, dir_, name_));
        } catch (const std::exception& e) {
            guard_.reset();
            std::fprintf(stderr, "cpprof: doctest_listener: the profile of \"%s\" was not saved: %s\n",
                         name_.c_str(), e.what());
        }
    }

    std::string name_, dir_;
    std::optional<profiler_guard<high_precision>> guard_;
    std::vector<std::string> written_;
};

}  // namespace cpprof

#ifdef DOCTEST_CONFIG_DISABLE
#define CPPROF_DOCTEST_LISTENER() static_assert(true, "")
#else
#define CPPROF_DOCTEST_LISTENER() DOCTEST_REGISTER_LISTENER("cpprof", 1, ::cpprof::doctest_listener)
#endif
