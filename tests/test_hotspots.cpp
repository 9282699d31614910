// hotspots(), print_hotspots() and fraction() on hand-built profiles.
#include <cpprof/analysis/hotspots.hpp>
#include <cpprof/analysis/query.hpp>

#include <doctest/doctest.h>

#include "support/stack_builder.hpp"

#include <initializer_list>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace {

using cpprof::frame_id;

using cpprof_test::builder;

/// main -> fib -> fib -> fib (recursive), main -> fib -> compute, main -> compute, main.
/// Counts 5, 3, 2, 1 (total 11); CPU 50, 30, 20, 10 ns (total 110).
builder recursive_profile() {
    builder b({{"samples", "count"}, {"cpu", "nanoseconds"}});
    auto main = b.fn("main"), fib = b.fn("fib(int)"), fib_line2 = b.fn("fib(int)", 12);
    auto compute = b.fn("compute");
    b.add({main, fib, fib_line2, fib}, {5, 50});
    b.add({main, fib, compute}, {3, 30});
    b.add({main, compute}, {2, 20});
    b.add({main}, {1, 10});
    return b;
}

std::string table(const std::vector<cpprof::hotspot>& rows, std::size_t width = 100) {
    std::ostringstream os;
    cpprof::print_hotspots(os, rows, width);
    return os.str();
}

}  // namespace

TEST_CASE("hotspots: self and total, recursion counted once per sample") {
    const builder b = recursive_profile();
    const auto rows = cpprof::hotspots(b.p);  // default sample type: cpu (the last)

    REQUIRE(rows.size() == 3);
    // fib and compute tie on self (50); fib has the larger total.
    CHECK(rows[0].function == "fib(int)");
    CHECK(rows[0].self == 50);
    CHECK(rows[0].total == 80);  // 50 + 30, not 3 * 50 + 30
    CHECK(rows[0].self_fraction == doctest::Approx(50.0 / 110));
    CHECK(rows[0].total_fraction == doctest::Approx(80.0 / 110));

    CHECK(rows[1].function == "compute");
    CHECK(rows[1].self == 50);
    CHECK(rows[1].total == 50);

    CHECK(rows[2].function == "main");
    CHECK(rows[2].self == 10);
    CHECK(rows[2].total == 110);
    CHECK(rows[2].total_fraction == doctest::Approx(1.0));
}

TEST_CASE("hotspots: the sample type, the limit and ties are honoured") {
    const builder b = recursive_profile();
    auto rows = cpprof::hotspots(b.p, 2, 0);  // counts
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].function == "fib(int)");
    CHECK(rows[0].self == 5);
    CHECK(rows[0].total == 8);
    CHECK(rows[0].self_fraction == doctest::Approx(5.0 / 11));
    CHECK(rows[1].function == "compute");

    CHECK(cpprof::hotspots(b.p, 0).empty());
    CHECK(cpprof::hotspots(b.p, static_cast<std::size_t>(-1)).size() == 3);

    builder t;  // equal self and total: alphabetical
    auto main = t.fn("main");
    t.add({main, t.fn("zeta")}, {4});
    t.add({main, t.fn("alpha")}, {4});
    t.add({main, t.fn("mid")}, {4});
    rows = cpprof::hotspots(t.p);
    REQUIRE(rows.size() == 4);
    CHECK(rows[0].function == "alpha");
    CHECK(rows[1].function == "mid");
    CHECK(rows[2].function == "zeta");
    CHECK(rows[3].function == "main");

    CHECK_THROWS_WITH_AS(cpprof::hotspots(b.p, 10, 2),
                         doctest::Contains("sample index 2 is out of range"), cpprof::error);
}

TEST_CASE("hotspots: unnamed frames, zero values and empty profiles") {
    builder b;
    cpprof::frame unknown;
    unknown.address = 0xdeadbeef;
    auto addr = b.p.intern(unknown);
    auto main = b.fn("main"), idle = b.fn("idle");
    b.add({main, addr}, {3});
    b.add({main, idle}, {0});  // contributes nothing: left out
    b.add({}, {1});            // no frames: counts in the profile's total only

    const auto rows = cpprof::hotspots(b.p);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].function == "0xdeadbeef");
    CHECK(rows[0].self == 3);
    CHECK(rows[0].self_fraction == doctest::Approx(0.75));
    CHECK(rows[1].function == "main");
    CHECK(rows[1].self == 0);
    CHECK(rows[1].total == 3);

    CHECK(cpprof::hotspots(cpprof::profile{}).empty());
}

TEST_CASE("print_hotspots: an aligned table with the function last") {
    const builder b = recursive_profile();
    CHECK(table(cpprof::hotspots(b.p)) ==
          " rank   self%   self   total%   total  function\n"
          "    1  45.45%  50 ns   72.73%   80 ns  fib(int)\n"
          "    2  45.45%  50 ns   45.45%   50 ns  compute\n"
          "    3   9.09%  10 ns  100.00%  110 ns  main\n");

    std::vector<cpprof::hotspot> big = {{"work", 1234567, 7654321, 0.1, 0.62}};
    CHECK(table(big) ==
          " rank   self%       self  total%      total  function\n"
          "    1  10.00%  1,234,567  62.00%  7,654,321  work\n");

    CHECK(table({}) ==
          " rank  self%  self  total%  total  function\n"
          "  (no samples)\n");
}

TEST_CASE("print_hotspots: time and memory in readable units, scaled by the largest value") {
    std::vector<cpprof::hotspot> cpu = {{"spin", 320'000'000, 1'500'000'000, 0.2, 0.9, "nanoseconds"},
                                        {"idle", 10'000'000, 20'000'000, 0.01, 0.02, "nanoseconds"}};
    CHECK(table(cpu) ==
          " rank   self%    self  total%   total  function\n"
          "    1  20.00%  0.32 s  90.00%  1.50 s  spin\n"
          "    2   1.00%  0.01 s   2.00%  0.02 s  idle\n");

    std::vector<cpprof::hotspot> heap = {{"alloc", 3 * 1048576, 5 * 1048576 / 2, 0.5, 0.4, "bytes"}};
    CHECK(table(heap) ==
          " rank   self%      self  total%     total  function\n"
          "    1  50.00%  3.00 MiB  40.00%  2.50 MiB  alloc\n");

    std::vector<cpprof::hotspot> small = {{"f", 512, 900, 0.5, 0.9, "nanoseconds"}};
    CHECK(table(small) ==
          " rank   self%    self  total%   total  function\n"
          "    1  50.00%  512 ns  90.00%  900 ns  f\n");

    builder b({{"samples", "count"}, {"cpu", "nanoseconds"}});
    b.add({b.fn("main")}, {1, 10'000'000});
    CHECK(cpprof::hotspots(b.p).at(0).unit == "nanoseconds");
    CHECK(cpprof::hotspots(b.p, 10, 0).at(0).unit == "count");
}

TEST_CASE("print_hotspots: long C++ names stay readable") {
    const std::string map_at =
        "std::map<int, std::vector<int, std::allocator<int> >, std::less<int>, "
        "std::allocator<std::pair<int const, std::vector<int, std::allocator<int> > > > "
        ">::operator[](int const&)";
    const std::string shift =
        "std::basic_ostream<char, std::char_traits<char> >& std::operator<< "
        "<std::char_traits<char> >(std::basic_ostream<char, std::char_traits<char> >&, char "
        "const*)";
    std::vector<cpprof::hotspot> rows = {{map_at, 2, 2, 0.5, 0.5}, {shift, 1, 1, 0.25, 0.25}};

    // Template arguments collapse, deepest first, until the name fits.
    CHECK(cpprof::detail::shorten_function_name(map_at, 100) ==
          "std::map<int, std::vector<...>, std::less<...>, std::allocator<...> "
          ">::operator[](int const&)");
    CHECK(cpprof::detail::shorten_function_name(map_at, 40) == "std::map<...>::operator[](int const&)");
    // operator<< is not a bracket.
    CHECK(cpprof::detail::shorten_function_name(shift, 90) ==
          "std::basic_ostream<...>& std::operator<< <...>(std::basic_ostream<...>&, char const*)");
    CHECK(cpprof::detail::shorten_function_name("std::operator<<(x<int>)", 23) ==
          "std::operator<<(x<int>)");  // fits: unchanged
    CHECK(cpprof::detail::shorten_function_name("std::operator<<(x<int>)", 22) ==
          "std::oper...<<(x<...>)");
    // Still too long, or brackets that do not balance: the middle goes, keeping both ends.
    CHECK(cpprof::detail::shorten_function_name(map_at, 21) == "std::map<...t const&)");
    CHECK(cpprof::detail::shorten_function_name("f<<<<<x(int, int, int, int)", 15) ==
          "f<<<<<..., int)");
    // Cut by characters, not bytes: U+51FD is three bytes.
    std::string cjk;
    for (int i = 0; i < 10; ++i) cjk += "\xe5\x87\xbd";
    CHECK(cpprof::detail::shorten_function_name(cjk, 8) ==
          "\xe5\x87\xbd\xe5\x87\xbd...\xe5\x87\xbd\xe5\x87\xbd\xe5\x87\xbd");
    CHECK(cpprof::detail::shorten_function_name(map_at, 0) == map_at);

    const std::string t = table(rows, 40);
    CHECK(t.find("std::map<...>::operator[](int const&)\n") != std::string::npos);
    CHECK(table(rows, 0).find(map_at) != std::string::npos);
}

TEST_CASE("fraction: share of the default sample value with a matching frame") {
    const builder b = recursive_profile();  // default: cpu, total 110
    CHECK(cpprof::fraction(b.p, "fib") == doctest::Approx(80.0 / 110));  // once per sample
    CHECK(cpprof::fraction(b.p, "compute") == doctest::Approx(50.0 / 110));
    CHECK(cpprof::fraction(b.p, "omp") == doctest::Approx(50.0 / 110));  // any part of the name
    CHECK(cpprof::fraction(b.p, "main") == doctest::Approx(1.0));
    CHECK(cpprof::fraction(b.p, "(int)") == doctest::Approx(80.0 / 110));
    CHECK(cpprof::fraction(b.p, "nothing") == 0);

    builder counts = recursive_profile();
    counts.p.set_default_sample_index(0);  // total 11
    CHECK(cpprof::fraction(counts.p, "compute") == doctest::Approx(5.0 / 11));

    CHECK(cpprof::fraction(cpprof::profile{}, "main") == 0);

    builder unnamed;
    cpprof::frame f;
    f.address = 0x4005d0;
    unnamed.add({unnamed.p.intern(f)}, {2});
    unnamed.add({unnamed.fn("main")}, {6});
    CHECK(cpprof::fraction(unnamed.p, "0x4005") == doctest::Approx(0.25));
}
