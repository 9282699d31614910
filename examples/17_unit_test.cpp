// Performance assertions in unit tests (doctest): where the time goes, and that a hot path
// does not allocate, checked on every test run; flame graphs when a directory is set.
//
//   g++ -O2 -pthread -I single_include examples/17_unit_test.cpp -o unit_test
//   ./unit_test                               # the checks only
//   ./unit_test --profiles prof               # + a flame graph and pprof file per test case
//   CPPROF_OUTPUT_DIR=prof ./unit_test        # the same, the usual way for any test program
//
//   CPPROF_DOCTEST_LISTENER()   a flame graph per test case (<dir>/<test case name>.svg, .pb.gz);
//                               in a test case that starts its own profiler, up to that point
//   cpprof::test_profiler       a CPU profile of part of a test, to assert on: fraction(p, "parse")
//   CPPROF_PROFILE_TEST(name)   a flame graph of the rest of the scope (<dir>/<name>.svg, .pb.gz)
//   cpprof::allocation_counter  this thread's allocations in a scope (needs
//                               CPPROF_IMPLEMENT_GLOBAL_NEW in one .cpp of the program)
//
// ctest: run --profiles unit_test_profiles
#define CPPROF_IMPLEMENT_GLOBAL_NEW  // so allocation_counter sees every operator new
#define DOCTEST_CONFIG_IMPLEMENT     // this file has its own main(), below
#include <doctest/doctest.h>
#include <cpprof/integration/doctest.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

CPPROF_DOCTEST_LISTENER();

// ---- the code under test: a config file, parsed into sorted key/value pairs ----

using config = std::vector<std::pair<std::string, std::string>>;

__attribute__((noinline)) std::string read_config_text(int entries) {
    std::string text;
    const auto number = [&text](int v) {
        char digits[16];
        text.append(digits, std::to_chars(digits, digits + sizeof digits, v).ptr);
    };
    for (int i = 0; i < entries; ++i) {
        text += "  settings.section";
        number(i % 50);
        text += ".option";
        number(i);
        text += " = value-";
        number(i * 31);
        text += "   # comment\n";
    }
    return text;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

__attribute__((noinline)) config parse_config(std::string_view text) {
    config out;
    while (!text.empty()) {
        const std::size_t eol = std::min(text.find('\n'), text.size());
        std::string_view line = text.substr(0, eol);
        text.remove_prefix(std::min(eol + 1, text.size()));
        line = line.substr(0, std::min(line.find('#'), line.size()));
        const std::size_t eq = line.find('=');
        if (eq == std::string_view::npos) continue;
        out.emplace_back(trim(line.substr(0, eq)), trim(line.substr(eq + 1)));
    }
    std::sort(out.begin(), out.end());
    return out;
}

__attribute__((noinline)) config load_config(int entries) {
    return parse_config(read_config_text(entries));
}

// The hot path: a lookup by binary search, with a string_view key.
__attribute__((noinline)) std::string_view lookup(const config& c, std::string_view key) {
    const auto before = [](const auto& entry, std::string_view k) { return entry.first < k; };
    const auto it = std::lower_bound(c.begin(), c.end(), key, before);
    return it != c.end() && it->first == key ? std::string_view(it->second) : std::string_view();
}

// ---- the tests ----

TEST_CASE("config: values are parsed") {
    const config c = parse_config("a = 1\n b=two  # note\n# only a comment\nbroken line\n");
    REQUIRE(c.size() == 2);
    CHECK(lookup(c, "a") == "1");
    CHECK(lookup(c, "b") == "two");
    CHECK(lookup(c, "missing").empty());
}

TEST_CASE("config: parsing dominates loading") {
    cpprof::test_profiler prof{"load_config"};  // writes <dir>/load_config.svg on stop()
    for (int round = 0; round < 3; ++round) CHECK(load_config(100'000).size() == 100'000);
    const cpprof::profile p = prof.stop();

    // Shares of the samples with the function on the stack (substring of the function name).
    const double parse = cpprof::fraction(p, "parse_config");
    const double read = cpprof::fraction(p, "read_config_text");
    MESSAGE(p.total_samples() << " samples: parse_config " << static_cast<int>(100 * parse + 0.5)
                              << "%, read_config_text " << static_cast<int>(100 * read + 0.5)
                              << "%");
    CHECK(p.total_samples() > 20);
    CHECK(parse > 0.5);  // the parser, sorting included, is where a faster load has to start
    CHECK(parse > read);
}

TEST_CASE("config: lookup does not allocate") {
    const config c = load_config(10'000);  // setup, before the counted scope
    CPPROF_PROFILE_TEST("lookup_hot_path");  // a flame graph of the rest of this test case
    REQUIRE(cpprof::allocation_counter::sees_global_new());  // else every count below is 0

    char key[64];
    std::size_t found = 0;
    cpprof::allocation_counter counter;
    for (int i = 0; i < 200'000; ++i) {
        const int n =
            std::snprintf(key, sizeof key, "settings.section%d.option%d", i % 50, i % 10'000);
        found += !lookup(c, std::string_view(key, static_cast<std::size_t>(n))).empty();
    }
    const std::uint64_t with_buffer = counter.allocations();
    CHECK(found == 200'000);
    CHECK(counter.allocations() == 0);

    // The same lookups with the key built as a std::string: the counter sees every one.
    counter.reset();
    for (int i = 0; i < 200'000; ++i)
        lookup(c, "settings.section" + std::to_string(i % 50) + ".option" +
                      std::to_string(i % 10'000));
    const std::uint64_t with_string = counter.allocations();  // before MESSAGE's own allocations
    MESSAGE("200000 lookups: " << with_buffer << " allocations with a char[] key, " << with_string
                               << " with a std::string key");
    CHECK(with_string >= 200'000);  // the counter does see them
}

// ---- main: doctest's, plus --profiles DIR and a list of the files written ----

namespace {

// The profiles in `dir` written since `start`: what the listener and the test profilers wrote.
std::size_t list_written(const std::string& dir, std::filesystem::file_time_type start) {
    std::vector<std::string> paths;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.is_regular_file() && e.last_write_time() >= start) paths.push_back(e.path().string());
    std::sort(paths.begin(), paths.end());
    for (const std::string& p : paths) std::cout << "wrote " << p << "\n";
    return paths.size();
}

}  // namespace

int main(int argc, char** argv) {
    doctest::Context context(argc, argv);  // doctest's own options (-tc=..., -s, ...)
    const char* env = std::getenv("CPPROF_OUTPUT_DIR");
    std::string dir = env != nullptr ? env : "";
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--profiles") == 0) {
            // The same as CPPROF_OUTPUT_DIR=DIR, which the listener, test_profiler and
            // CPPROF_PROFILE_TEST read (the directory must exist).
            dir = argv[i + 1];
            ::mkdir(dir.c_str(), 0755);
            ::setenv("CPPROF_OUTPUT_DIR", dir.c_str(), 1);
        }
    // A second of slack: file times come from a coarser clock than now().
    const auto start = std::filesystem::file_time_type::clock::now() - std::chrono::seconds(1);

    const int failed = context.run();
    if (context.shouldExit() || dir.empty()) return failed;
    if (list_written(dir, start) == 0) {
        std::cout << "no profile was written to " << dir << "\n";
        return 1;
    }
    return failed;
}
