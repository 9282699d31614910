// The flame graph SVG in a real browser: headless Chromium, driven over the DevTools protocol
// by tests/browser/flamegraph_browser.js, opens what write_flamegraph wrote, hovers, clicks
// boxes, zooms out through a faded ancestor, presses Reset Zoom, searches through the prompt
// (button, F3, Ctrl-F), toggles case with Ctrl-I, reloads, and checks the DOM, the computed
// style and the pixels of screenshots at every step. The screenshots stay in
// CPPROF_TEST_OUTPUT_DIR (flamegraph_browser_*.png).
//
// Needs node (CPPROF_TEST_NODE) and Chromium (CPPROF_TEST_CHROMIUM, Debian package chromium);
// skipped with a message when either is missing.
#include <cpprof/output/flamegraph.hpp>

#include <doctest/doctest.h>

#include "support/external.hpp"
#include "support/stack_builder.hpp"

#include <cstdint>
#include <cstdio>
#include <map>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace {

struct stack {
    std::vector<std::string> frames;  // root first
    std::int64_t count;
};

// 1000 samples; "solve_linear_system_with_a_rather_long_name" is too narrow for its name
// until zoomed; names with < > & :: check the escaping end to end.
const std::vector<stack>& sample_stacks() {
    static const std::vector<stack> stacks = {
        {{"main", "parse", "read_file"}, 70},
        {{"main", "parse", "read_file", "fread", "sys_read"}, 50},
        {{"main", "parse", "tokenize"}, 80},
        {{"main", "compute", "solve_linear_system_with_a_rather_long_name", "mutex_lock"}, 60},
        {{"main", "compute", "solve_linear_system_with_a_rather_long_name", "LockFree::push"}, 40},
        {{"main", "compute", "solve_linear_system_with_a_rather_long_name", "dot<double>"}, 50},
        {{"main", "compute", "solve_linear_system_with_a_rather_long_name"}, 30},
        {{"main", "compute", "std::vector<int>::push_back(int&&)"}, 90},
        {{"main", "compute", "spin_lock"}, 70},
        {{"main", "compute"}, 20},
        {{"main", "write_output", "fwrite"}, 100},
        {{"main", "write_output", "spin_lock"}, 30},
        {{"main", "write_output"}, 10},
        {{"worker", "mutex_lock"}, 150},
        {{"worker", "run_task", "LockFree::pop"}, 130},
        {{"worker", "run_task", "dot<double>"}, 20},
    };
    return stacks;
}

cpprof::profile sample_profile() {
    cpprof_test::builder b;
    std::map<std::string, cpprof::frame_id> ids;
    for (const auto& s : sample_stacks()) {
        std::vector<cpprof::frame_id> root_first;
        for (const auto& f : s.frames) {
            auto it = ids.find(f);
            if (it == ids.end()) it = ids.emplace(f, b.fn(f)).first;
            root_first.push_back(it->second);
        }
        // builder::add takes an initializer list; build the leaf-first stack directly.
        std::vector<cpprof::frame_id> leaf_first(root_first.rbegin(), root_first.rend());
        b.p.add_sample(std::move(leaf_first), {s.count});
    }
    return std::move(b.p);
}

// "Matched: X%" as flamegraph.pl defines it: the outermost matching boxes cover exactly the
// samples with a matching frame somewhere on their stack. To 1 decimal, "100" for everything.
std::string expected_matched(const std::string& term, bool ignore_case) {
    auto flags = std::regex::ECMAScript;
    if (ignore_case) flags |= std::regex::icase;
    const std::regex re(term, flags);
    std::int64_t matched = 0, total = 0;
    for (const auto& s : sample_stacks()) {
        total += s.count;
        for (const auto& f : s.frames)
            if (std::regex_search(f, re)) {
                matched += s.count;
                break;
            }
    }
    if (matched == total) return "100";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", 100.0 * static_cast<double>(matched) / static_cast<double>(total));
    return buf;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string json_path(const std::vector<std::string>& names) {
    std::string out = "[";
    for (std::size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + json_string(names[i]);
    return out + "]";
}

struct graph_spec {
    std::string name;
    bool inverted = false;
    std::string search;            // the term searched with the button
    bool ignore_case_step = false; // then Ctrl-I
    bool reload = false;
    std::vector<std::string> key_searches;  // F3, Ctrl-F, F3, ...
};

// Writes the SVG for `g` and returns its entry of the harness's spec.
std::string graph_json(const graph_spec& g, const std::string& svg_path) {
    cpprof::flamegraph_options options;
    options.inverted(g.inverted);
    cpprof::write_flamegraph(sample_profile(), svg_path, options);

    std::string j = "{\"name\":" + json_string(g.name) + ",\"svg\":" + json_string(svg_path) +
                    ",\"inverted\":" + (g.inverted ? "true" : "false") +
                    ",\"width\":1200,\"frameHeight\":16,\"fontSize\":12,\"fontWidth\":0.59,\"stacks\":[";
    bool first = true;
    for (const auto& s : sample_stacks()) {
        j += (first ? "[" : ",[") + json_path(s.frames) + "," + std::to_string(s.count) + "]";
        first = false;
    }
    j += "],\"zoom\":" +
         json_path({"main", "compute", "solve_linear_system_with_a_rather_long_name"}) +
         ",\"zoomOut\":" + json_path({"main", "compute"});
    j += ",\"search\":{\"term\":" + json_string(g.search) +
         ",\"matched\":" + json_string(expected_matched(g.search, false));
    if (g.ignore_case_step)
        j += ",\"matchedIgnoreCase\":" + json_string(expected_matched(g.search, true));
    j += "},\"reload\":";
    j += g.reload ? "true" : "false";
    j += ",\"keySearches\":[";
    for (std::size_t i = 0; i < g.key_searches.size(); ++i)
        j += (i ? ",{\"term\":" : "{\"term\":") + json_string(g.key_searches[i]) +
             ",\"matched\":" + json_string(expected_matched(g.key_searches[i], false)) + "}";
    return j + "]}";
}

bool tools_present() {
    if (*CPPROF_TEST_NODE == '\0') {
        MESSAGE("node not found (Debian: nodejs, or run tools/install-deps.sh); skipped");
        return false;
    }
    if (*CPPROF_TEST_CHROMIUM == '\0') {
        MESSAGE("chromium not found (Debian: chromium, or run tools/install-deps.sh); skipped");
        return false;
    }
    return true;
}

// Runs the harness on `graphs` (JSON array text); returns its exit code and output.
cpprof_test::command_result run_harness(const std::string& tag, const std::string& graphs) {
    const std::string out_dir = CPPROF_TEST_OUTPUT_DIR;
    const std::string spec_path = out_dir + "/flamegraph_browser_" + tag + ".json";
    cpprof_test::write_file(spec_path, "{\"chromium\":" + json_string(CPPROF_TEST_CHROMIUM) +
                                           ",\"outputDir\":" + json_string(out_dir) +
                                           ",\"timeoutMs\":150000,\"graphs\":" + graphs + "}\n");
    // The harness ends the browser itself within timeoutMs; `timeout` is the backstop.
    const std::string script = std::string(CPPROF_TEST_SOURCE_DIR) + "/tests/browser/flamegraph_browser.js";
    return cpprof_test::run("timeout -k 10 200 " + cpprof_test::shell_quote(CPPROF_TEST_NODE) + " " +
                            cpprof_test::shell_quote(script) + " " + cpprof_test::shell_quote(spec_path) +
                            " 2>&1");
}

int passed_checks(const std::string& out) {
    const std::string key = "flamegraph browser: ";
    const auto at = out.rfind(key);
    if (at == std::string::npos) return -1;
    return std::atoi(out.c_str() + at + key.size());
}

bool is_png(const std::string& path) {
    try {
        const std::string data = cpprof_test::read_file(path);
        return data.size() > 1000 && data.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
    } catch (...) {
        return false;
    }
}

}  // namespace

TEST_CASE("flame graph browser: zoom, search, case, reload work in headless Chromium" *
          doctest::timeout(300)) {
    if (!tools_present()) return;
    const std::string out_dir = CPPROF_TEST_OUTPUT_DIR;

    graph_spec flame;
    flame.name = "flame";
    flame.search = "lock";
    flame.ignore_case_step = true;
    flame.reload = true;
    flame.key_searches = {"^(main|worker)$", "dot<double>|::push", "^main$|_lock"};
    graph_spec icicle;
    icicle.name = "icicle";
    icicle.inverted = true;
    icicle.search = "_lock$|<double>";  // characters the URL must carry through the reload
    icicle.reload = true;

    // The expectations are not degenerate: a proper share, everything, and nested matches
    // counted once.
    CHECK(expected_matched("lock", false) == "31.0");
    CHECK(expected_matched("lock", true) == "48.0");
    CHECK(expected_matched("^(main|worker)$", false) == "100");
    CHECK(expected_matched("^main$|_lock", false) == "85.0");
    CHECK(expected_matched("_lock$|<double>", false) == "38.0");

    const std::string graphs = "[" + graph_json(flame, out_dir + "/flamegraph_browser_flame.svg") +
                               "," + graph_json(icicle, out_dir + "/flamegraph_browser_icicle.svg") +
                               "]";
    const auto r = run_harness("main", graphs);
    INFO("harness output:\n" << r.out);
    CHECK(r.exit_code == 0);
    // Every step ran: a harness that stops early or checks nothing must not pass.
    CHECK(passed_checks(r.out) > 1000);
    CHECK(r.out.find("FAILED") == std::string::npos);
    for (const char* shot : {"flame_1_initial", "flame_2_zoomed", "flame_3_search", "flame_4_search_zoomed",
                             "flame_5_reloaded", "icicle_1_initial", "icicle_2_zoomed", "icicle_4_search_zoomed"})
        CHECK_MESSAGE(is_png(out_dir + "/flamegraph_browser_" + shot + ".png"), shot);
}

TEST_CASE("flame graph browser: the harness notices a viewer whose clicks do nothing" *
          doctest::timeout(300)) {
    if (!tools_present()) return;
    const std::string out_dir = CPPROF_TEST_OUTPUT_DIR;
    graph_spec g;
    g.name = "broken";
    g.search = "lock";
    const std::string svg = out_dir + "/flamegraph_browser_broken.svg";
    std::string json = graph_json(g, svg);

    // Break the viewer: zoom() returns at once.
    std::string text = cpprof_test::read_file(svg);
    const std::string from = "function zoom(i) {";
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.insert(at + from.size(), " return;");
    cpprof_test::write_file(svg, text);

    const auto r = run_harness("broken", "[" + json + "]");
    INFO("harness output:\n" << r.out);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("the zoomed box spans the plot") != std::string::npos);
    CHECK(r.out.find("off the path: hidden") != std::string::npos);
}
