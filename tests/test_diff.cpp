// diff() and the hotspot diff: per-stack deltas and the functions whose share moved.
#include <cpprof/cpprof.hpp>

#include <doctest/doctest.h>

#include "support/stack_builder.hpp"

#include <sstream>
#include <vector>
#include <string>

namespace {

using cpprof_test::builder;

std::int64_t stack_value(const cpprof::profile& p, const std::string& leaf_first, std::size_t i = 0) {
    for (const auto& s : p.samples()) {
        std::string names;
        for (auto id : s.stack) names += p.frames()[id].function + "<";
        if (names == leaf_first) return s.values[i];
    }
    return 0;
}

}  // namespace

TEST_CASE("diff: per-stack after minus before, matched by name, zero deltas left out") {
    builder before({{"samples", "count"}, {"cpu", "nanoseconds"}});
    auto m = before.fn("main"), a = before.fn("parse"), b = before.fn("render");
    before.add({m, a}, {10, 100});
    before.add({m, b}, {5, 50});
    before.add({m}, {1, 10});
    builder after({{"samples", "count"}, {"cpu", "nanoseconds"}});
    auto m2 = after.fn("main"), a2 = after.fn("parse"), c2 = after.fn("compress");
    after.add({m2, a2}, {4, 40});
    after.add({m2, a2}, {2, 20});  // same stack twice: summed
    after.add({m2, c2}, {7, 70});
    after.add({m2}, {1, 10});

    const cpprof::profile d = cpprof::diff(before.p, after.p);
    CHECK(d.sample_types().size() == 2);
    CHECK(stack_value(d, "parse<main<") == -4);
    CHECK(stack_value(d, "parse<main<", 1) == -40);
    CHECK(stack_value(d, "render<main<") == -5);
    CHECK(stack_value(d, "compress<main<") == 7);
    CHECK(d.samples().size() == 3);  // main alone did not change
    CHECK(d.comments().front().find("after minus before") != std::string::npos);
}

TEST_CASE("hotspot diff: the functions whose share moved most, normalised") {
    builder before;
    auto m = before.fn("main"), a = before.fn("parse"), b = before.fn("render");
    before.add({m, a}, {50});
    before.add({m, b}, {50});
    builder after;  // twice as long, parse now 80 %
    auto m2 = after.fn("main"), a2 = after.fn("parse"), b2 = after.fn("render");
    after.add({m2, a2}, {160});
    after.add({m2, b2}, {40});

    const auto rows = cpprof::hotspot_diff(before.p, after.p, 10);
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].function == "parse");  // +30 pp and render -30 pp: tie broken by name
    CHECK(rows[0].self_change() == doctest::Approx(0.30));
    CHECK(rows[1].function == "render");
    CHECK(rows[1].self_change() == doctest::Approx(-0.30));
    CHECK(rows[2].function == "main");
    CHECK(rows[2].self_change() == doctest::Approx(0.0));

    std::ostringstream os;
    cpprof::print_hotspot_diff(os, before.p, after.p, 2);
    INFO(os.str());
    CHECK(os.str().find("+30.00 pp") != std::string::npos);
    CHECK(os.str().find("-30.00 pp") != std::string::npos);
    CHECK(os.str().find("main") == std::string::npos);  // only the top 2
}

TEST_CASE("hotspot diff: a sample type missing from 'before' is an error") {
    builder before(std::vector<cpprof::value_type>{{"alloc_space", "bytes"}});
    before.add({before.fn("main")}, {1});
    builder after(std::vector<cpprof::value_type>{{"cpu", "nanoseconds"}});
    after.add({after.fn("main")}, {1});
    CHECK_THROWS_WITH_AS(cpprof::hotspot_diff(before.p, after.p),
                         doctest::Contains("no sample type 'cpu'"), cpprof::error);
}
