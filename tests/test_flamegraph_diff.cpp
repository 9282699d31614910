// Differential flame graphs (write_diff_flamegraph) and reversed stacks (reverse()).
//
// The expected colours and tooltips are worked out by hand from the rules of difffolded.pl and
// flamegraph.pl in reference/formats.md §4.4: widths from the shape's counts; delta = shape -
// other (other normalised to int(count * shape_total / other_total) unless normalize(false)),
// added to the last frame of each stack only; maxdelta = max |delta| over all stacks, at
// least 1; red rgb(255, g, g) with g = int(210 * (max - delta) / max) for growth, blue
// rgb(c, c, 255) with c = int(210 * (max + delta) / max) for shrinkage, white for none;
// tooltip "NAME (N samples, P%; +D%)" with D = 100 * delta / total. The before shape is
// `difffolded.pl after before | flamegraph.pl --negate`, so its sign is flipped back.
//
// Every document is checked by xmllint and read back with Python's ElementTree.
#include <cpprof/output/flamegraph.hpp>

#include <doctest/doctest.h>

#include "support/external.hpp"
#include "support/flamegraph_svg.hpp"
#include "support/stack_builder.hpp"

#include <filesystem>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using cpprof::diff_flamegraph_options;
using cpprof::flamegraph_options;
using cpprof::label;
using cpprof_test::builder;
using cpprof_test::svg_graph;

svg_graph parse(const std::string& svg) {
    return cpprof_test::parse_flamegraph_svg(svg, CPPROF_TEST_XMLLINT);
}

svg_graph render_diff(const cpprof::profile& before, const cpprof::profile& after,
                      const diff_flamegraph_options& o = {}) {
    std::ostringstream os;
    cpprof::write_diff_flamegraph(before, after, os, o);
    return parse(os.str());
}

svg_graph render(const cpprof::profile& p, const flamegraph_options& o = {}) {
    std::ostringstream os;
    cpprof::write_flamegraph(p, os, o);
    return parse(os.str());
}

constexpr double plot_width = 1180, fh = 16;

/// The pair most tests use. Self counts, before -> after:
///   main;work;parse   20 -> 60   grew by 40 (the largest change)
///   main;work;render  30 -> 20   shrank by 10
///   main;work         10 -> 10   unchanged self; its total moves (60 -> 90)
///   main;idle         40 -> 15   shrank by 25
///   main;old           5 ->  0   gone
///   main;new           0 ->  8   new
/// Totals 105 and 113.
struct sample_pair {
    builder before, after;
    sample_pair() {
        for (builder* b : {&before, &after}) {
            const bool is_after = b == &after;
            auto main = b->fn("main"), work = b->fn("work"), parse_fn = b->fn("parse"),
                 render = b->fn("render"), idle = b->fn("idle");
            b->add({main, work, parse_fn}, {is_after ? 60 : 20});
            b->add({main, work, render}, {is_after ? 20 : 30});
            b->add({main, work}, {10});
            b->add({main, idle}, {is_after ? 15 : 40});
            if (is_after)
                b->add({main, b->fn("new")}, {8});
            else
                b->add({main, b->fn("old")}, {5});
        }
    }
};

}  // namespace

TEST_CASE("diff flame graph: red grew, blue shrank, white unchanged, scaled by the largest") {
    const sample_pair t;
    const svg_graph g =
        render_diff(t.before.p, t.after.p, diff_flamegraph_options{}.normalize(false));

    // Widths are the after counts.
    CHECK(g.box("all").count == 113);
    CHECK(g.box("main").count == 113);
    CHECK(g.box("work").count == 90);
    CHECK(g.box("parse").count == 60);
    CHECK(g.box("parse").width == doctest::Approx(60 * plot_width / 113).epsilon(0.0001));
    CHECK(g.box("new").count == 8);
    CHECK_FALSE(g.has_box("old"));  // no width in "after"

    // maxdelta = 40 (parse).
    CHECK(g.box("parse").fill == "#ff0000");   // +40: g = 210 * 0 / 40
    CHECK(g.box("new").fill == "#ffa8a8");     // +8: g = int(210 * 32 / 40) = 168
    CHECK(g.box("render").fill == "#9d9dff");  // -10: c = int(210 * 30 / 40) = int(157.5)
    CHECK(g.box("idle").fill == "#4e4eff");    // -25: c = int(210 * 15 / 40) = int(78.75)
    // Only a stack's last frame takes its change: work's own count did not change although
    // its children's did, and neither did main's or the root's.
    CHECK(g.box("work").fill == "#ffffff");
    CHECK(g.box("main").fill == "#ffffff");
    CHECK(g.box("all").fill == "#ffffff");

    // D = 100 * delta / 113, with a sign; the root has none.
    CHECK(g.box("all").title == "all (113 samples, 100%)");
    CHECK(g.box("main").title == "main (113 samples, 100.00%; 0.00%)");
    CHECK(g.box("work").title == "work (90 samples, 79.65%; 0.00%)");
    CHECK(g.box("parse").title == "parse (60 samples, 53.10%; +35.40%)");
    CHECK(g.box("render").title == "render (20 samples, 17.70%; -8.85%)");
    CHECK(g.box("idle").title == "idle (15 samples, 13.27%; -22.12%)");
    CHECK(g.box("new").title == "new (8 samples, 7.08%; +7.08%)");

    CHECK(g.texts.at("title") == "Differential Flame Graph");
}

TEST_CASE("diff flame graph: a stack that is gone still sets the largest change") {
    sample_pair t;
    t.before.add({t.before.fn("main"), t.before.fn("gone")}, {100});  // delta -100: the largest
    const svg_graph g =
        render_diff(t.before.p, t.after.p, diff_flamegraph_options{}.normalize(false));
    CHECK_FALSE(g.has_box("gone"));
    CHECK(g.box("parse").fill == "#ff7e7e");   // +40: g = int(210 * 60 / 100) = 126
    CHECK(g.box("render").fill == "#bdbdff");  // -10: c = int(210 * 90 / 100) = 189
}

TEST_CASE("diff flame graph: a box that only a gone stack ends at shows its shrinkage") {
    // "main;a" lost all its own samples but a's child still runs: a is drawn, blue.
    builder before, after;
    auto m = before.fn("main"), a = before.fn("a"), c = before.fn("c");
    before.add({m, a}, {10});
    before.add({m, a, c}, {10});
    after.add({after.fn("main"), after.fn("a"), after.fn("c")}, {10});
    const svg_graph g = render_diff(before.p, after.p, diff_flamegraph_options{}.normalize(false));
    CHECK(g.box("a").count == 10);
    CHECK(g.box("a").fill == "#0000ff");  // -10 = -maxdelta: c = 0
    CHECK(g.box("a").title == "a (10 samples, 100.00%; -100.00%)");
    CHECK(g.box("c").fill == "#ffffff");
}

TEST_CASE("diff flame graph: normalisation scales 'before' like difffolded.pl -n, truncating") {
    // Totals 3 and 10: before's counts become int(1 * 10 / 3) = 3 and int(2 * 10 / 3) = 6.
    builder before, after;
    auto m = before.fn("main");
    before.add({m, before.fn("a")}, {1});
    before.add({m, before.fn("b")}, {2});
    auto m2 = after.fn("main");
    after.add({m2, after.fn("a")}, {5});
    after.add({m2, after.fn("b")}, {5});

    svg_graph g = render_diff(before.p, after.p);  // normalize is the default
    CHECK(diff_flamegraph_options{}.normalize());
    CHECK(g.box("a").title == "a (5 samples, 50.00%; +20.00%)");  // 5 - 3
    CHECK(g.box("b").title == "b (5 samples, 50.00%; -10.00%)");  // 5 - 6 (rounding would give 7)
    CHECK(g.box("a").fill == "#ff0000");                          // maxdelta 2
    CHECK(g.box("b").fill == "#6969ff");                          // c = 210 * 1 / 2 = 105

    g = render_diff(before.p, after.p, diff_flamegraph_options{}.normalize(false));
    CHECK(g.box("a").title == "a (5 samples, 50.00%; +40.00%)");  // 5 - 1
    CHECK(g.box("b").title == "b (5 samples, 50.00%; +30.00%)");  // 5 - 2
    CHECK(g.box("a").fill == "#ff0000");                          // maxdelta 4
    CHECK(g.box("b").fill == "#ff3434");                          // g = int(210 / 4) = 52

    // The same shares over twice the time: nothing changed once normalised.
    builder twice;
    auto m3 = twice.fn("main");
    twice.add({m3, twice.fn("a")}, {2});
    twice.add({m3, twice.fn("b")}, {4});
    g = render_diff(before.p, twice.p);
    for (const auto& b : g.boxes) {
        CAPTURE(b.title);
        CHECK(b.fill == "#ffffff");
    }
    CHECK(g.box("a").title == "a (2 samples, 33.33%; 0.00%)");
    g = render_diff(before.p, twice.p, diff_flamegraph_options{}.normalize(false));
    CHECK(g.box("a").fill == "#ff6969");  // +1 of maxdelta 2: g = 105
    CHECK(g.box("b").fill == "#ff0000");  // +2
}

TEST_CASE("diff flame graph: the pair with normalisation, both shapes") {
    const sample_pair t;
    // After shape: before * 113 / 105, truncated: parse 21, render 32, work 10, idle 43, old 5.
    svg_graph g = render_diff(t.before.p, t.after.p);
    CHECK(g.box("parse").title == "parse (60 samples, 53.10%; +34.51%)");  // +39, the largest
    CHECK(g.box("parse").fill == "#ff0000");
    CHECK(g.box("render").title == "render (20 samples, 17.70%; -10.62%)");  // -12
    CHECK(g.box("render").fill == "#9191ff");  // int(210 * 27 / 39) = 145
    CHECK(g.box("idle").fill == "#3b3bff");    // -28: int(210 * 11 / 39) = 59
    CHECK(g.box("new").fill == "#ffa6a6");     // +8: int(210 * 31 / 39) = 166
    CHECK(g.box("work").fill == "#ffffff");

    // Before shape: after * 105 / 113: parse 55, render 18, work 9, idle 13, new 7; the
    // change shown is still after - before.
    g = render_diff(t.before.p, t.after.p, diff_flamegraph_options{}.before_shape(true));
    CHECK(g.box("all").count == 105);
    CHECK(g.box("parse").title == "parse (20 samples, 19.05%; +33.33%)");  // +35, the largest
    CHECK(g.box("parse").fill == "#ff0000");
    CHECK(g.box("render").fill == "#8a8aff");  // -12: int(210 * 23 / 35) = 138
    CHECK(g.box("work").title == "work (60 samples, 57.14%; -0.95%)");  // 9 - 10
    CHECK(g.box("work").fill == "#ccccff");    // -1: int(210 * 34 / 35) = 204
    CHECK(g.box("idle").fill == "#3030ff");    // -27: int(210 * 8 / 35) = 48
    CHECK(g.box("old").fill == "#b4b4ff");     // -5: int(210 * 30 / 35) = 180
    CHECK_FALSE(g.has_box("new"));
}

TEST_CASE("diff flame graph: the before shape draws what will happen, including gone stacks") {
    const sample_pair t;
    const svg_graph g = render_diff(t.before.p, t.after.p,
                                    diff_flamegraph_options{}.normalize(false).before_shape(true));
    // Widths are the before counts; "old" is drawn and "new" is not.
    CHECK(g.box("all").title == "all (105 samples, 100%)");
    CHECK(g.box("work").count == 60);
    CHECK(g.box("parse").count == 20);
    CHECK(g.box("parse").width == doctest::Approx(20 * plot_width / 105).epsilon(0.0001));
    CHECK_FALSE(g.has_box("new"));
    // The same changes as in the after shape (maxdelta 40), as shares of 105.
    CHECK(g.box("parse").fill == "#ff0000");
    CHECK(g.box("parse").title == "parse (20 samples, 19.05%; +38.10%)");
    CHECK(g.box("render").fill == "#9d9dff");
    CHECK(g.box("render").title == "render (30 samples, 28.57%; -9.52%)");
    CHECK(g.box("idle").fill == "#4e4eff");
    CHECK(g.box("old").fill == "#b7b7ff");  // -5: int(210 * 35 / 40) = 183
    CHECK(g.box("old").title == "old (5 samples, 4.76%; -4.76%)");
    CHECK(g.box("work").fill == "#ffffff");

    // shape() says the same as before_shape().
    const diff_flamegraph_options o = diff_flamegraph_options{}.shape(cpprof::diff_shape::before);
    CHECK(o.before_shape());
    CHECK(render_diff(t.before.p, t.after.p, diff_flamegraph_options(o).normalize(false)).raw ==
          g.raw);
}

TEST_CASE("diff flame graph: negate swaps the hues and the sign, as flamegraph.pl --negate") {
    const sample_pair t;
    svg_graph g = render_diff(t.before.p, t.after.p,
                              diff_flamegraph_options{}.normalize(false).negate(true));
    CHECK(g.box("parse").fill == "#0000ff");
    CHECK(g.box("parse").title == "parse (60 samples, 53.10%; -35.40%)");
    CHECK(g.box("render").fill == "#ff9d9d");
    CHECK(g.box("render").title == "render (20 samples, 17.70%; +8.85%)");
    CHECK(g.box("work").fill == "#ffffff");

    g = render_diff(t.before.p, t.after.p,
                    diff_flamegraph_options{}.normalize(false).before_shape(true).negate(true));
    CHECK(g.box("parse").fill == "#0000ff");
    CHECK(g.box("old").fill == "#ffb7b7");
}

TEST_CASE("diff flame graph: tiny changes keep their sign, and the viewer reads every tooltip") {
    builder before, after;
    auto m = before.fn("main"), big = before.fn("big");
    before.add({m, big}, {100000});
    before.add({m, before.fn("f(int) (clone)")}, {3});
    auto m2 = after.fn("main"), big2 = after.fn("big");
    after.add({m2, big2}, {100000});
    after.add({m2, after.fn("f(int) (clone)")}, {2});
    after.add({m2, after.fn("g")}, {1});
    const svg_graph g = render_diff(before.p, after.p,
                                    diff_flamegraph_options{}.normalize(false).min_width(0));
    CHECK(g.box("f(int) (clone)").title == "f(int) (clone) (2 samples, 0.00%; -0.00%)");
    CHECK(g.box("g").title == "g (1 samples, 0.00%; +0.00%)");
    CHECK(g.box("big").title == "big (100,000 samples, 100.00%; 0.00%)");
    (void)m;
    (void)big;

    // The viewer takes each box's name and count from its tooltip with the `tooltip` regex
    // (search matches names, "Matched" adds counts): run that very regex over every tooltip,
    // with Node.js when it is there and Python's re (same syntax for this pattern) otherwise.
    const std::string_view script = cpprof::detail::flamegraph_script;
    const auto start = script.find("var tooltip = /");
    REQUIRE(start != std::string_view::npos);
    const auto end = script.find(";\n", start);
    const std::string literal(script.substr(start + 14, end - start - 14));  // /.../
    REQUIRE(literal.size() > 2);
    REQUIRE(literal.back() == '/');

    cpprof_test::temp_dir dir;
    std::string titles;
    for (const auto& b : g.boxes) titles += b.title + "\n";
    cpprof_test::write_file(dir / "titles.txt", titles);
    const std::string node = CPPROF_TEST_NODE;
    cpprof_test::command_result r;
    if (!node.empty()) {
        cpprof_test::write_file(
            dir / "read.js",
            "var re = " + literal + ";\n"
            "var lines = require('fs').readFileSync(process.argv[2], 'utf8').split('\\n');\n"
            "lines.pop();\n"
            "lines.forEach(function (l) {\n"
            "  var m = re.exec(l);\n"
            "  console.log(m ? m[1] + '\\x1f' + parseInt(m[2].replace(/,/g, ''), 10)\n"
            "                : 'NO MATCH');\n"
            "});\n");
        r = cpprof_test::run(cpprof_test::shell_quote(node) + " " +
                             cpprof_test::shell_quote(dir / "read.js") + " " +
                             cpprof_test::shell_quote(dir / "titles.txt"));
    } else {
        cpprof_test::write_file(dir / "pattern.txt", literal.substr(1, literal.size() - 2));
        cpprof_test::write_file(
            dir / "read.py",
            "import re, sys\n"
            "p = re.compile(open(sys.argv[1], encoding='utf-8').read())\n"
            "for l in open(sys.argv[2], encoding='utf-8').read().split('\\n')[:-1]:\n"
            "    m = p.match(l)\n"
            "    print(m.group(1) + '\\x1f' + str(int(m.group(2).replace(',', ''))) if m and "
            "m.end() == len(l) else 'NO MATCH')\n");
        r = cpprof_test::run("python3 " + cpprof_test::shell_quote(dir / "read.py") + " " +
                             cpprof_test::shell_quote(dir / "pattern.txt") + " " +
                             cpprof_test::shell_quote(dir / "titles.txt"));
    }
    REQUIRE(r.exit_code == 0);
    std::string expected;
    for (const auto& b : g.boxes) expected += b.name + "\x1f" + std::to_string(b.count) + "\n";
    CHECK(r.out == expected);
    CHECK(expected.find("f(int) (clone)\x1f" "2\n") != std::string::npos);
}

TEST_CASE("diff flame graph: stacks match by function name, sample types by type name") {
    // Two builds: different addresses and lines, frames interned in another order, and the
    // sample type at another index.
    builder before(std::vector<cpprof::value_type>{{"cpu", "nanoseconds"}});
    auto f1 = before.fn("compute", 10), f2 = before.fn("compute", 20), m = before.fn("main", 1);
    before.add({m, f1}, {100});
    before.add({m, f2}, {100});  // same name: merges with the line above
    builder after({{"samples", "count"}, {"cpu", "nanoseconds"}});
    auto c = after.fn("compute", 99), m2 = after.fn("main", 5);
    after.add({m2, c}, {3, 300});

    const svg_graph g = render_diff(before.p, after.p, diff_flamegraph_options{}.normalize(false));
    CHECK(g.box("compute").title == "compute (300 nanoseconds, 100.00%; +33.33%)");
    CHECK(g.all("compute").size() == 1);

    // The after profile's samples/count has no counterpart in before.
    std::ostringstream os;
    CHECK_THROWS_WITH_AS(
        cpprof::write_diff_flamegraph(before.p, after.p, os,
                                      diff_flamegraph_options{}.sample_index(0)),
        doctest::Contains("the 'before' profile has no sample type 'samples' (it has cpu)"),
        cpprof::error);
    CHECK(os.str().empty());
}

TEST_CASE("diff flame graph: bad input is refused before anything is written") {
    builder after(std::vector<cpprof::value_type>{{"cpu", "nanoseconds"}});
    after.add({after.fn("main")}, {1});
    builder micro(std::vector<cpprof::value_type>{{"cpu", "microseconds"}});
    micro.add({micro.fn("main")}, {1});
    std::ostringstream os;
    CHECK_THROWS_WITH_AS(cpprof::write_diff_flamegraph(micro.p, after.p, os),
                         doctest::Contains("sample type 'cpu' is in 'microseconds' in the 'before' "
                                           "profile but in 'nanoseconds' in the 'after' profile"),
                         cpprof::error);
    CHECK_THROWS_WITH_AS(
        cpprof::write_diff_flamegraph(after.p, after.p, os,
                                      diff_flamegraph_options{}.sample_index(3)),
        doctest::Contains("write_diff_flamegraph, 'after' profile: sample index 3 is out of range"),
        cpprof::error);
    CHECK_THROWS_WITH_AS(
        cpprof::write_diff_flamegraph(after.p, after.p, os, diff_flamegraph_options{}.width(5)),
        doctest::Contains("write_diff_flamegraph: width must be between"), cpprof::error);
    CHECK_THROWS_AS(cpprof::write_diff_flamegraph(after.p, after.p, os,
                                                  diff_flamegraph_options{}.min_width(-1)),
                    cpprof::error);
    CHECK(os.str().empty());

    // The path overload: bad options before the file is created; then the path and reason.
    cpprof_test::temp_dir dir;
    const std::string unused = dir / "unused.svg";
    CHECK_THROWS_AS(cpprof::write_diff_flamegraph(micro.p, after.p, unused), cpprof::error);
    CHECK_FALSE(std::filesystem::exists(unused));
    CHECK_THROWS_WITH_AS(
        cpprof::write_diff_flamegraph(after.p, after.p, "/nonexistent-cpprof-dir/diff.svg"),
        doctest::Contains("write_diff_flamegraph: "), cpprof::error);
    CHECK_THROWS_WITH_AS(
        cpprof::write_diff_flamegraph(after.p, after.p, "/nonexistent-cpprof-dir/diff.svg"),
        doctest::Contains("'/nonexistent-cpprof-dir/diff.svg'"), cpprof::error);
    const std::string path = dir / "diff.svg";
    cpprof::write_diff_flamegraph(after.p, after.p, path,
                                  diff_flamegraph_options{}.title("Same"));
    const svg_graph g = parse(cpprof_test::read_file(path));
    CHECK(g.texts.at("title") == "Same");
    CHECK(g.box("main").fill == "#ffffff");
}

TEST_CASE("diff flame graph: empty sides") {
    // Nothing in either: a valid document that says so.
    svg_graph g = render_diff(cpprof::profile{}, cpprof::profile{});
    CHECK(g.boxes.empty());
    CHECK(g.texts.at("nodata") == "No samples to show");
    CHECK(g.texts.at("title") == "Differential Flame Graph");

    // Nothing before: everything grew (no normalisation from a zero total).
    builder before, after;
    after.add({after.fn("main"), after.fn("a")}, {4});
    after.add({after.fn("main"), after.fn("b")}, {2});
    g = render_diff(before.p, after.p);
    CHECK(g.box("a").fill == "#ff0000");
    CHECK(g.box("b").fill == "#ff6969");  // int(210 * 2 / 4) = 105
    CHECK(g.box("a").title == "a (4 samples, 66.67%; +66.67%)");

    // Nothing after: the after shape is empty, the before shape all blue.
    g = render_diff(after.p, before.p);
    CHECK(g.boxes.empty());
    g = render_diff(after.p, before.p, diff_flamegraph_options{}.before_shape(true));
    CHECK(g.box("a").fill == "#0000ff");
    CHECK(g.box("a").title == "a (4 samples, 66.67%; -66.67%)");
}

TEST_CASE("diff flame graph: options share the flame graph's, chain, and have their defaults") {
    static_assert(std::is_same_v<decltype(diff_flamegraph_options{}.width(800)),
                                 diff_flamegraph_options&>);
    static_assert(std::is_same_v<decltype(flamegraph_options{}.width(800)), flamegraph_options&>);
    static_assert(
        std::is_same_v<decltype(flamegraph_options{}.reverse(true)), flamegraph_options&>);

    diff_flamegraph_options o;
    CHECK(o.title() == "Differential Flame Graph");
    CHECK(o.inverted(true).title() == "Differential Icicle Graph");
    CHECK(o.normalize());
    CHECK(o.shape() == cpprof::diff_shape::after);
    CHECK_FALSE(o.before_shape());
    CHECK_FALSE(o.negate());
    CHECK_FALSE(o.reverse());
    CHECK(o.width() == 1200);
    CHECK(o.min_width() == doctest::Approx(0.1));
    o.width(800).subtitle("v1 -> v2").normalize(false).before_shape(true).negate(true);
    o.reverse(true);
    CHECK(o.width() == 800);
    CHECK(o.subtitle() == "v1 -> v2");
    CHECK_FALSE(o.normalize());
    CHECK(o.shape() == cpprof::diff_shape::before);
    CHECK(o.negate());
    CHECK(o.reverse());
    CHECK(flamegraph_options{}.title() == "Flame Graph");
    CHECK_FALSE(flamegraph_options{}.reverse());

    // Geometry options act as in write_flamegraph.
    const sample_pair t;
    const svg_graph g = render_diff(
        t.before.p, t.after.p,
        diff_flamegraph_options{}.inverted(true).width(600).count_name("ticks"));
    CHECK(g.width == 600);
    CHECK(g.texts.at("title") == "Differential Icicle Graph");
    CHECK(g.box("all").y < g.box("main").y);
    CHECK(g.box("main").title.find(" ticks, ") != std::string::npos);
}

TEST_CASE("diff flame graph: thread frames when either profile has several threads") {
    builder before, after;
    before.add({before.fn("main")}, {5}, {label{"thread", "t1", 0, ""}});
    after.add({after.fn("main")}, {5}, {label{"thread", "t1", 0, ""}});
    after.add({after.fn("main")}, {5}, {label{"thread", "t2", 0, ""}});
    svg_graph g = render_diff(before.p, after.p, diff_flamegraph_options{}.normalize(false));
    CHECK(g.box("t1").fill == "#ffffff");
    CHECK(g.box("t2").fill == "#ffffff");
    CHECK(g.all("main").size() == 2);
    CHECK(g.all("main")[0].fill == "#ffffff");  // t1;main: 5 -> 5
    CHECK(g.all("main")[1].fill == "#ff0000");  // t2;main: 0 -> 5
    g = render_diff(before.p, after.p,
                    diff_flamegraph_options{}.normalize(false).thread_frames(false));
    CHECK_FALSE(g.has_box("t1"));
    CHECK(g.box("main").fill == "#ff0000");
}

TEST_CASE("flamegraph: reverse puts the leaves at the root, like flamegraph.pl --reverse") {
    builder b;
    auto main = b.fn("main"), a = b.fn("a"), bb = b.fn("b"), c = b.fn("c"), leaf = b.fn("leaf");
    b.add({main, a, leaf}, {3});
    b.add({main, bb, leaf}, {2});
    b.add({main, c}, {5});

    svg_graph g = render(b.p);
    CHECK(g.all("main").size() == 1);
    CHECK(g.all("leaf").size() == 2);

    // Reversed: leaf;a;main 3, leaf;b;main 2, c;main 5.
    g = render(b.p, flamegraph_options{}.reverse(true));
    const double root_y = g.box("all").y;
    CHECK(g.box("leaf").count == 5);
    CHECK(g.box("leaf").y == root_y - fh);
    CHECK(g.box("c").count == 5);
    CHECK(g.box("c").y == root_y - fh);
    CHECK(g.box("c").x < g.box("leaf").x);  // siblings stay alphabetical
    CHECK(g.box("a").count == 3);
    CHECK(g.box("a").y == root_y - 2 * fh);
    CHECK(g.box("b").count == 2);
    const auto mains = g.all("main");
    REQUIRE(mains.size() == 3);  // on top of a, b and c
    CHECK(mains[0].count == 5);
    CHECK(mains[0].y == root_y - 2 * fh);  // c;main
    CHECK(mains[1].count == 3);
    CHECK(mains[1].y == root_y - 3 * fh);  // leaf;a;main
    CHECK(mains[2].count == 2);
    CHECK(g.height == render(b.p).height);  // same depth either way here
    // Names keep their colours.
    CHECK(g.box("leaf").fill == render(b.p).all("leaf")[0].fill);

    // The thread frame is the far end of the stack, so it goes on top.
    builder t;
    auto tm = t.fn("main"), tw = t.fn("work");
    t.add({tm, tw}, {4}, {label{"thread", "io", 0, ""}});
    t.add({tm, tw}, {2}, {label{"thread", "ui", 0, ""}});
    g = render(t.p, flamegraph_options{}.reverse(true));
    CHECK(g.box("work").count == 6);
    CHECK(g.box("work").y == g.box("all").y - fh);
    CHECK(g.all("main").size() == 1);
    CHECK(g.box("io").y == g.box("all").y - 3 * fh);
    CHECK(g.box("ui").count == 2);
}

TEST_CASE("diff flame graph: reversed, each change goes to the reversed stack's last frame") {
    // flamegraph.pl --reverse turns the folded line around before it adds the delta to the
    // last frame: here that is main, the original root.
    builder before, after;
    auto m = before.fn("main");
    before.add({m, before.fn("x")}, {10});
    before.add({m, before.fn("y")}, {10});
    auto m2 = after.fn("main");
    after.add({m2, after.fn("x")}, {20});
    after.add({m2, after.fn("y")}, {10});
    const svg_graph g = render_diff(before.p, after.p,
                                    diff_flamegraph_options{}.normalize(false).reverse(true));
    CHECK(g.box("x").fill == "#ffffff");
    CHECK(g.box("x").y == g.box("all").y - fh);
    const auto mains = g.all("main");
    REQUIRE(mains.size() == 2);
    CHECK(mains[0].fill == "#ff0000");  // x;main: +10
    CHECK(mains[0].title == "main (20 samples, 66.67%; +33.33%)");
    CHECK(mains[1].fill == "#ffffff");  // y;main: 0
}
