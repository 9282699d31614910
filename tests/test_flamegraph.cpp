// Flame graph SVG: every document is checked by real XML parsers (xmllint, and Python's
// ElementTree, which also pulls out the boxes for the checks below).
//
// Needs `xmllint` (Debian libxml2-utils) and `python3` on PATH.
#include <cpprof/output/flamegraph.hpp>

#include <doctest/doctest.h>

#include "support/flamegraph_svg.hpp"
#include "support/stack_builder.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <initializer_list>
#include <locale>
#include <map>
#include <sstream>
#include <string>
#include <vector>


namespace {

using cpprof::flamegraph_options;
using cpprof::frame_id;
using cpprof::label;

using cpprof_test::builder;

using svg_doc = cpprof_test::svg_graph;
using svg_frame = cpprof_test::svg_box;

svg_doc parse_svg(const std::string& svg) {
    return cpprof_test::parse_flamegraph_svg(svg, CPPROF_TEST_XMLLINT);
}

svg_doc render(const cpprof::profile& p, const flamegraph_options& o = {}) {
    std::ostringstream os;
    cpprof::write_flamegraph(p, os, o);
    return parse_svg(os.str());
}

std::size_t utf8_chars(const std::string& s) {
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

// Layout constants of the default options (font 12, frame height 16, width 1200).
constexpr double plot_width = 1180, xpad = 10, ypad1 = 36, ypad2 = 34, fh = 16;

}  // namespace

TEST_CASE("flamegraph: box widths are proportional to counts and siblings are alphabetical") {
    builder b;
    auto main = b.fn("main"), a = b.fn("a"), bb = b.fn("b"), c = b.fn("c"), other = b.fn("other");
    b.add({other}, {20});
    b.add({main, bb, c}, {20});
    b.add({main, bb}, {50});
    b.add({main, a}, {30});
    const svg_doc doc = render(b.p);

    REQUIRE(doc.boxes.size() == 6);
    const double scale = plot_width / 120;
    for (const auto& f : doc.boxes) {
        CAPTURE(f.title);
        CHECK(f.width == doctest::Approx(f.count * scale).epsilon(0.0001));
        CHECK(f.height == fh - 1);
    }
    CHECK(doc.box("all").count == 120);
    CHECK(doc.box("main").count == 100);
    CHECK(doc.box("b").count == 70);
    CHECK(doc.box("c").count == 20);

    // Left to right: a before b under main; main before other under the root; a child starts
    // at its parent's left edge.
    CHECK(doc.box("all").x == xpad);
    CHECK(doc.box("main").x == xpad);
    CHECK(doc.box("a").x == xpad);
    CHECK(doc.box("b").x == doctest::Approx(xpad + 30 * scale).epsilon(0.0001));
    CHECK(doc.box("c").x == doc.box("b").x);
    CHECK(doc.box("other").x == doctest::Approx(xpad + 100 * scale).epsilon(0.0001));

    // Normal orientation: the root sits at the bottom, each level one row higher.
    CHECK(doc.height == 4 * fh + ypad1 + ypad2);
    CHECK(doc.box("all").y == doc.height - ypad2 - fh + 1);
    CHECK(doc.box("main").y == doc.box("all").y - fh);
    CHECK(doc.box("b").y == doc.box("all").y - 2 * fh);
    CHECK(doc.box("c").y == doc.box("all").y - 3 * fh);
    CHECK(doc.box("other").y == doc.box("main").y);

    // Parents come before their children in the document (the viewer script relies on it).
    CHECK(doc.boxes[0].name == "all");
    std::vector<std::string> order;
    for (const auto& f : doc.boxes) order.push_back(f.name);
    CHECK(order == std::vector<std::string>{"all", "main", "a", "b", "c", "other"});
}

TEST_CASE("flamegraph: tooltips give name, comma-grouped count, unit and percentage") {
    builder b({{"samples", "count"}, {"cpu", "nanoseconds"}});
    auto main = b.fn("main"), work = b.fn("work"), idle = b.fn("idle");
    b.add({main, work}, {1, 1234567});
    b.add({main, idle}, {2, 2000000});
    b.add({main, idle}, {3, 3000000});  // identical stack: merges

    svg_doc doc = render(b.p);
    CHECK(doc.box("all").title == "all (6,234,567 nanoseconds, 100%)");
    CHECK(doc.box("main").title == "main (6,234,567 nanoseconds, 100.00%)");
    CHECK(doc.box("work").title == "work (1,234,567 nanoseconds, 19.80%)");
    CHECK(doc.box("idle").title == "idle (5,000,000 nanoseconds, 80.20%)");

    doc = render(b.p, flamegraph_options{}.sample_index(0));
    CHECK(doc.box("all").title == "all (6 samples, 100%)");
    CHECK(doc.box("work").title == "work (1 samples, 16.67%)");

    doc = render(b.p, flamegraph_options{}.count_name("ns of CPU"));
    CHECK(doc.box("idle").title == "idle (5,000,000 ns of CPU, 80.20%)");
}

TEST_CASE("flamegraph: C++ names are escaped and come back intact") {
    const std::vector<std::string> nasty = {
        "std::vector<int, std::allocator<int> >::operator[](unsigned long)",
        "std::ostream& operator<< <char>(std::ostream&, char const*)",
        "main::{lambda()#1}::operator()() const",
        "a \"quoted\" & 'single' name",
        "ends ]]> a CDATA section",
        "bool operator<(A const&, B const&) && x -> y",
    };
    builder b;
    auto root = b.fn("main");
    for (const auto& n : nasty) b.add({root, b.fn(n)}, {10});
    const svg_doc doc = render(b.p, flamegraph_options{}.title("<Title> & \"more\""));

    for (const auto& n : nasty) {
        CAPTURE(n);
        CHECK(doc.box(n).count == 10);
        // The label is the name, or its first characters followed by "..".
        const std::string& label = doc.box(n).label;
        if (label != n) {
            REQUIRE(label.size() > 2);
            CHECK(label.substr(label.size() - 2) == "..");
            CHECK(n.compare(0, label.size() - 2, label, 0, label.size() - 2) == 0);
        }
    }
    CHECK(doc.texts.at("title") == "<Title> & \"more\"");
    CHECK(doc.raw.find("std::vector&lt;int, std::allocator&lt;int&gt; &gt;") != std::string::npos);
}

TEST_CASE("flamegraph: bytes XML cannot carry are replaced, so the document stays well-formed") {
    builder b;
    auto root = b.fn("main");
    b.add({root, b.fn(std::string("bad\xff\xfe utf8 \xc3\x28 ctl\x01\x1b nul") + '\0' + "end")}, {5});
    b.add({root, b.fn("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\xa5")}, {5});  // valid
    const svg_doc doc = render(b.p);
    CHECK(doc.has_box("bad\xef\xbf\xbd\xef\xbf\xbd utf8 \xef\xbf\xbd( ctl   nul end"));
    CHECK(doc.has_box("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\xa5"));
}

TEST_CASE("flamegraph: labels are cut by characters to fit the box") {
    // Boxes of 10/100 of the plot: 118 px, and 118 / (12 * 0.59) = 16.7, so 16 characters fit.
    std::string cjk, amps, longer;
    for (int i = 0; i < 30; ++i) cjk += "\xe5\x87\xbd";  // U+51FD, three bytes
    amps.assign(25, '&');
    longer = "a_rather_long_function_name_that_does_not_fit";
    builder b;
    auto root = b.fn("main");
    b.add({root, b.fn(cjk)}, {10});
    b.add({root, b.fn(amps)}, {10});
    b.add({root, b.fn(longer)}, {10});
    b.add({root, b.fn("short")}, {10});
    b.add({root, b.fn("tiny_box")}, {1});  // 11.8 px: one character fits, so no label
    b.add({root, b.fn("zz_rest")}, {59});
    const svg_doc doc = render(b.p);

    CHECK(doc.box(cjk).label == cjk.substr(0, 14 * 3) + "..");
    CHECK(utf8_chars(doc.box(cjk).label) == 16);
    CHECK(doc.box(amps).label == std::string(14, '&') + "..");
    CHECK(doc.box(longer).label == "a_rather_long_..");
    CHECK(doc.box("short").label == "short");
    CHECK(doc.box("tiny_box").label.empty());
    CHECK(doc.box("all").label == "all");
}

TEST_CASE("flamegraph: the document carries the interactive viewer") {
    builder b;
    b.add({b.fn("main"), b.fn("work")}, {3});
    const svg_doc doc = render(b.p);

    CHECK(doc.onload == "init(evt)");
    CHECK(doc.texts.at("title") == "Flame Graph");
    CHECK(doc.texts.at("unzoom") == "Reset Zoom");
    CHECK(doc.text_class.at("unzoom") == "hide");  // shown once zoomed
    CHECK(doc.texts.at("search") == "Search");
    CHECK(doc.texts.at("ignorecase") == "ic");
    CHECK(doc.texts.count("details") == 1);
    CHECK(doc.texts.count("matched") == 1);
    CHECK(doc.texts.count("subtitle") == 0);
    for (const char* needle :
         {"<script type=\"text/ecmascript\"><![CDATA[", "function init(evt)", "function zoom(i)",
          "function unzoom()", "function search(term)", "function resetSearch()",
          "function toggleIgnoreCase()", "function fitLabel(f, w)", "\"F3\"", "new RegExp(",
          "Matched: ", "Reset Search", "history.replaceState", "var cpprof_config = {xpad: 10, "
          "plotWidth: 1180, frameHeight: 16, fontSize: 12, fontWidth: 0.59"}) {
        CAPTURE(needle);
        CHECK(doc.raw.find(needle) != std::string::npos);
    }
}

TEST_CASE("flamegraph: an empty profile gives a valid document that says so") {
    for (const cpprof::profile& p : {cpprof::profile{}, [] {
             builder b;
             b.add({b.fn("main")}, {0});  // samples, but nothing to draw
             return b.p;
         }()}) {
        const svg_doc doc = render(p);
        CHECK(doc.boxes.empty());
        CHECK(doc.texts.at("nodata") == "No samples to show");
        CHECK(doc.texts.at("title") == "Flame Graph");
        CHECK(doc.height > 0);
    }
}

TEST_CASE("flamegraph: inverted (icicle) layout hangs from the top") {
    builder b;
    auto main = b.fn("main"), work = b.fn("work"), leaf = b.fn("leaf");
    b.add({main, work, leaf}, {4});
    b.add({main}, {1});

    svg_doc doc = render(b.p, flamegraph_options{}.inverted(true));
    CHECK(doc.texts.at("title") == "Icicle Graph");
    CHECK(doc.box("all").y == ypad1);
    CHECK(doc.box("main").y == ypad1 + fh);
    CHECK(doc.box("leaf").y == ypad1 + 3 * fh);
    CHECK(doc.height == 4 * fh + ypad1 + ypad2);

    doc = render(b.p, flamegraph_options{}.inverted(true).title("Mine").subtitle("second line"));
    CHECK(doc.texts.at("title") == "Mine");
    CHECK(doc.texts.at("subtitle") == "second line");
    CHECK(doc.box("all").y == ypad1 + 24);  // the subtitle adds 2 * font size at the top
    CHECK(doc.height == 4 * fh + ypad1 + ypad2 + 24);
}

TEST_CASE("flamegraph: boxes narrower than min_width go, and the height follows") {
    builder b;
    auto main = b.fn("main"), big = b.fn("big"), tiny = b.fn("tiny"), deeper = b.fn("deeper");
    b.add({main, big}, {99999});
    b.add({main, tiny, deeper, b.fn("deepest")}, {1});  // 0.0118 px

    svg_doc doc = render(b.p);
    CHECK_FALSE(doc.has_box("tiny"));
    CHECK_FALSE(doc.has_box("deepest"));
    CHECK(doc.height == 3 * fh + ypad1 + ypad2);  // all, main, big

    doc = render(b.p, flamegraph_options{}.min_width(0));
    CHECK(doc.has_box("deepest"));
    CHECK(doc.height == 5 * fh + ypad1 + ypad2);

    doc = render(b.p, flamegraph_options{}.min_width(2000));  // even the root is too narrow
    CHECK(doc.boxes.size() == 1);  // the root is always drawn
}

TEST_CASE("flamegraph: thread frames appear when the profile has several threads") {
    builder b;
    auto main = b.fn("main");
    b.add({main}, {1}, {label{"thread", "worker", 0, ""}});
    b.add({main}, {2}, {label{"thread", "io", 0, ""}});

    svg_doc doc = render(b.p);
    CHECK(doc.box("io").count == 2);
    CHECK(doc.box("worker").count == 1);
    CHECK(doc.box("io").y == doc.box("all").y - fh);
    CHECK_FALSE(render(b.p, flamegraph_options{}.thread_frames(false)).has_box("io"));

    builder one;
    auto m = one.fn("main");
    one.add({m}, {1}, {label{"thread", "worker", 0, ""}});
    one.add({m}, {2}, {label{"thread", "worker", 0, ""}});
    CHECK_FALSE(render(one.p).has_box("worker"));
    CHECK(render(one.p, flamegraph_options{}.thread_frames(true)).box("worker").count == 3);
}

TEST_CASE("flamegraph: memory profiles get the mem palette unless one is asked for") {
    builder b({{"objects", "count"}, {"space", "bytes"}});
    b.add({b.fn("main"), b.fn("alloc")}, {3, 4096});
    auto green = [](const svg_doc& doc) {
        for (const auto& f : doc.boxes)
            if (std::stoi(f.fill.substr(1, 2), nullptr, 16) != 0) return false;  // mem: no red
        return !doc.boxes.empty();
    };
    CHECK(green(render(b.p)));                                         // bytes: mem
    CHECK_FALSE(green(render(b.p, flamegraph_options{}.sample_index(0))));  // counts: hot
    CHECK_FALSE(green(render(b.p, flamegraph_options{}.palette("hot"))));   // asked: hot
    CHECK(flamegraph_options{}.palette_is_set() == false);
    CHECK(flamegraph_options{}.palette("io").palette_is_set());
}

TEST_CASE("flamegraph: colours depend on the name only, per palette") {
    builder b1, b2;
    b1.add({b1.fn("main"), b1.fn("compute")}, {3});
    b2.add({b2.fn("compute"), b2.fn("zeta")}, {7});
    b2.add({b2.fn("alpha")}, {70});
    const svg_doc d1 = render(b1.p), d2 = render(b2.p);
    CHECK(d1.box("compute").fill == d2.box("compute").fill);
    CHECK(d1.box("compute").fill != d1.box("main").fill);
    CHECK(d1.box("compute").fill.size() == 7);  // #rrggbb

    auto channels = [](const std::string& hex) {
        return std::vector<int>{std::stoi(hex.substr(1, 2), nullptr, 16),
                                std::stoi(hex.substr(3, 2), nullptr, 16),
                                std::stoi(hex.substr(5, 2), nullptr, 16)};
    };
    for (const auto& f : render(b2.p, flamegraph_options{}.palette("mem")).boxes) {
        auto c = channels(f.fill);
        CHECK(c[0] == 0);
        CHECK(c[1] >= 190);
    }
    for (const auto& f : render(b2.p, flamegraph_options{}.palette(cpprof::flamegraph_palette::io)).boxes) {
        auto c = channels(f.fill);
        CHECK(c[0] == c[1]);
        CHECK(c[2] >= 190);
    }
    for (const auto& f : d2.boxes) {  // hot
        auto c = channels(f.fill);
        CHECK(c[0] >= 205);
        CHECK(c[2] <= 55);
    }
}

TEST_CASE("flamegraph: the module palette gives each library its own hue") {
    builder b;
    cpprof::mapping app, lib;
    app.filename = "/usr/bin/app";
    lib.filename = "/usr/lib/libz.so.1";
    const std::size_t app_index = b.p.add_mapping(app), lib_index = b.p.add_mapping(lib);
    auto main = b.fn("main", 0, app_index), parse = b.fn("parse", 0, app_index);
    auto inflate = b.fn("inflate", 0, lib_index), adler = b.fn("adler32", 0, lib_index);
    b.add({main, parse, inflate, adler}, {5});

    auto hue = [](const std::string& hex) {
        const double r = std::stoi(hex.substr(1, 2), nullptr, 16) / 255.0,
                     g = std::stoi(hex.substr(3, 2), nullptr, 16) / 255.0,
                     bl = std::stoi(hex.substr(5, 2), nullptr, 16) / 255.0;
        const double mx = std::max({r, g, bl}), mn = std::min({r, g, bl}), d = mx - mn;
        if (d == 0) return 0.0;
        double h = mx == r ? std::fmod((g - bl) / d, 6.0) : mx == g ? (bl - r) / d + 2 : (r - g) / d + 4;
        return std::fmod(h * 60 + 360, 360);
    };
    const svg_doc doc = render(b.p, flamegraph_options{}.palette("module"));
    CHECK(hue(doc.box("main").fill) == doctest::Approx(hue(doc.box("parse").fill)).epsilon(0.02));
    CHECK(hue(doc.box("inflate").fill) == doctest::Approx(hue(doc.box("adler32").fill)).epsilon(0.02));
    CHECK(std::abs(hue(doc.box("main").fill) - hue(doc.box("inflate").fill)) > 5);
}

TEST_CASE("flamegraph: options chain, report their defaults, and are checked") {
    flamegraph_options o;
    CHECK(o.title() == "Flame Graph");
    CHECK(o.inverted(true).title() == "Icicle Graph");
    CHECK(o.title("Mine").title() == "Mine");
    CHECK(o.width() == 1200);
    CHECK(o.frame_height() == 16);
    CHECK(o.font_size() == 12);
    CHECK(o.min_width() == doctest::Approx(0.1));
    CHECK(o.palette() == cpprof::flamegraph_palette::hot);
    CHECK_FALSE(o.thread_frames().has_value());
    CHECK_FALSE(o.sample_index().has_value());
    CHECK(o.count_name().empty());
    CHECK(o.palette("by_module").palette() == cpprof::flamegraph_palette::by_module);
    CHECK(o.width(800).frame_height(20).font_size(10).min_width(0.5).width() == 800);
    CHECK(o.frame_height() == 20);
    CHECK_THROWS_WITH_AS(o.palette("rainbow"), doctest::Contains("unknown palette 'rainbow'"),
                         cpprof::error);

    builder b;
    b.add({b.fn("main")}, {1});
    std::ostringstream os;
    CHECK_THROWS_WITH_AS(cpprof::write_flamegraph(b.p, os, flamegraph_options{}.width(5)),
                         doctest::Contains("width"), cpprof::error);
    CHECK_THROWS_WITH_AS(cpprof::write_flamegraph(b.p, os, flamegraph_options{}.sample_index(1)),
                         doctest::Contains("sample index 1 is out of range"), cpprof::error);
    CHECK_THROWS_AS(cpprof::write_flamegraph(b.p, os, flamegraph_options{}.min_width(-1)),
                    cpprof::error);
    CHECK(os.str().empty());  // nothing written before the check

    const svg_doc doc = render(b.p, flamegraph_options{}.width(800).frame_height(20));
    CHECK(doc.width == 800);
    CHECK(doc.box("main").width == doctest::Approx(780));
    CHECK(doc.box("main").height == 19);
}

TEST_CASE("flamegraph: numbers are written exactly, whatever the locale") {
    auto fixed = [](double v, int decimals, bool trim) {
        char buf[cpprof::detail::number_buffer_size];
        return std::string(buf, cpprof::detail::format_fixed(buf, v, decimals, trim));
    };
    auto grouped = [](std::int64_t v) {
        char buf[cpprof::detail::number_buffer_size];
        return std::string(buf, cpprof::detail::format_grouped(buf, v));
    };
    CHECK(fixed(12.5, 2, false) == "12.50");
    CHECK(fixed(12.5, 2, true) == "12.5");
    CHECK(fixed(10, 3, true) == "10");
    CHECK(fixed(0.0049, 2, false) == "0.00");
    CHECK(fixed(-0.004, 2, true) == "0");
    CHECK(fixed(-1.25, 1, false) == "-1.3");
    CHECK(fixed(1180.0 / 3, 3, true) == "393.333");
    CHECK(fixed(100.0 * 5 / 6, 2, false) == "83.33");
    CHECK(grouped(0) == "0");
    CHECK(grouped(999) == "999");
    CHECK(grouped(1000) == "1,000");
    CHECK(grouped(-1234567) == "-1,234,567");
    CHECK(grouped(INT64_MAX) == "9,223,372,036,854,775,807");

    // A stream with a locale that groups digits and uses a decimal comma changes nothing.
    struct comma_numpunct : std::numpunct<char> {
        char do_decimal_point() const override { return ','; }
        char do_thousands_sep() const override { return '.'; }
        std::string do_grouping() const override { return "\3"; }
    };
    builder b;
    b.add({b.fn("main"), b.fn("work")}, {1000});
    b.add({b.fn("main")}, {2000});
    std::ostringstream plain, localized;
    localized.imbue(std::locale(std::locale::classic(), new comma_numpunct));
    cpprof::write_flamegraph(b.p, plain);
    cpprof::write_flamegraph(b.p, localized);
    CHECK(plain.str() == localized.str());
    CHECK(plain.str().find("main (3,000 samples, 100.00%)") != std::string::npos);
}

TEST_CASE("flamegraph: the path overload writes the file or names the path and the reason") {
    builder b;
    b.add({b.fn("main"), b.fn("work")}, {2});
    cpprof_test::temp_dir dir;
    const std::string path = dir / "graph.svg";
    cpprof::write_flamegraph(b.p, path);
    const svg_doc doc = parse_svg(cpprof_test::read_file(path));
    CHECK(doc.box("work").count == 2);

    const std::string bad = "/nonexistent-cpprof-dir/graph.svg";
    CHECK_THROWS_WITH_AS(cpprof::write_flamegraph(b.p, bad),
                         doctest::Contains("'/nonexistent-cpprof-dir/graph.svg'"), cpprof::error);
    CHECK_THROWS_WITH_AS(cpprof::write_flamegraph(b.p, bad),
                         doctest::Contains("No such file or directory"), cpprof::error);
    // Bad options are reported before the file is created.
    const std::string unused = dir / "unused.svg";
    CHECK_THROWS_AS(cpprof::write_flamegraph(b.p, unused, flamegraph_options{}.font_size(0)),
                    cpprof::error);
    CHECK_FALSE(std::filesystem::exists(unused));
}

TEST_CASE("flamegraph: a larger random profile stays consistent") {
    // 3,000 random stacks over 50 names, every box drawn: the boxes of one depth never
    // overlap, and the tree read back from the document is consistent.
    builder b;
    std::vector<frame_id> fns;
    for (int i = 0; i < 50; ++i) fns.push_back(b.fn("fn_" + std::to_string(i) + "<T&>"));
    std::uint64_t seed = 12345;
    auto next = [&seed](std::uint64_t n) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        return (seed >> 33) % n;
    };
    for (int s = 0; s < 3000; ++s) {
        std::vector<frame_id> stack;
        for (std::uint64_t d = 0, depth = 1 + next(12); d < depth; ++d)
            stack.push_back(fns[next(d < 2 ? 4 : fns.size())]);
        b.p.add_sample(stack, {static_cast<std::int64_t>(1 + next(100))});
    }
    const svg_doc doc = render(b.p, flamegraph_options{}.min_width(0));
    CHECK(doc.box("all").count == b.p.total(0));
    std::map<double, std::vector<const svg_frame*>> rows;
    for (const auto& f : doc.boxes) rows[f.y].push_back(&f);
    for (auto& row : rows) {
        auto& fs = row.second;
        std::sort(fs.begin(), fs.end(), [](auto* a, auto* c) {  // ties: rounded to one x
            return a->x != c->x ? a->x < c->x : a->width < c->width;
        });
        for (std::size_t i = 1; i < fs.size(); ++i)
            CHECK(fs[i - 1]->x + fs[i - 1]->width <= fs[i]->x + 0.011);  // 2-decimal rounding
    }
    // Parents come first: a box's parent is the last earlier box one level up (what the viewer
    // script assumes). Children fit inside their parent, and their counts add up to at most
    // the parent's.
    std::vector<std::size_t> path;  // path[d]: index of the last box seen at depth d
    std::vector<std::int64_t> child_sum(doc.boxes.size());
    std::size_t checked = 0;
    for (std::size_t i = 0; i < doc.boxes.size(); ++i) {
        const svg_frame& f = doc.boxes[i];
        const auto depth = static_cast<std::size_t>(std::lround((doc.boxes[0].y - f.y) / fh));
        REQUIRE(depth <= path.size());
        path.resize(depth);
        path.push_back(i);
        if (depth == 0) continue;
        const svg_frame& parent = doc.boxes[path[depth - 1]];
        CHECK(f.x >= parent.x - 0.011);
        CHECK(f.x + f.width <= parent.x + parent.width + 0.011);
        child_sum[path[depth - 1]] += f.count;
        ++checked;
    }
    for (std::size_t i = 0; i < doc.boxes.size(); ++i) CHECK(child_sum[i] <= doc.boxes[i].count);
    CHECK(checked + 1 == doc.boxes.size());
    CHECK(checked > 3000);
}
