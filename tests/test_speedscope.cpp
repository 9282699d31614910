// speedscope JSON: every file is parsed by a strict JSON reader (support/json.hpp) and checked
// against the format's rules, and the real consumer, speedscope's own importer (the npm
// package, run by tests/speedscope/import.cjs under node), must read it back to the same
// threads, stacks and weights as the profile it came from.
//
// Needs node (CPPROF_TEST_NODE) and `npm ci` in tests/speedscope (tools/install-deps.sh does
// it); without them the importer checks are skipped with a message, except under CI=..., where
// they fail.
#include <cpprof/analysis/diff.hpp>
#include <cpprof/cpu/profiler_guard.hpp>
#include <cpprof/input/pprof.hpp>
#include <cpprof/output/pprof.hpp>
#include <cpprof/output/speedscope.hpp>
#include <cpprof/version.hpp>

#include <doctest/doctest.h>

#include "support/external.hpp"
#include "support/json.hpp"
#include "support/sanitizers.hpp"
#include "support/stack_builder.hpp"
#include "workloads.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sys/stat.h>

namespace {

using cpprof::label;
using cpprof::speedscope_options;
using cpprof_test::builder;
namespace json = cpprof_test::json;

using names = std::vector<std::string>;
using stack_map = std::map<names, std::int64_t>;      // root-first names -> weight
using thread_map = std::map<std::string, stack_map>;  // profile name -> its stacks

label thread(const std::string& name) { return label{"thread", name, 0, {}}; }
label tid(std::int64_t id) { return label{"thread_id", {}, id, {}}; }

std::string to_speedscope(const cpprof::profile& p, const speedscope_options& o = {}) {
    std::ostringstream os;
    cpprof::write_speedscope(p, os, o);
    return os.str();
}

// ---- the file, read strictly --------------------------------------------------------------

struct parsed_profile {
    std::string name, unit;
    std::int64_t end_value = 0;
    std::size_t samples = 0;  ///< entries in "samples"
    stack_map stacks;
};

struct parsed_file {
    json::value doc;
    std::vector<std::string> frame_names;
    std::vector<parsed_profile> profiles;
    std::size_t active = 0;

    const parsed_profile& profile(const std::string& name) const {
        for (const auto& p : profiles)
            if (p.name == name) return p;
        FAIL("no profile named " << name);
        return profiles.front();
    }
    thread_map threads() const {
        thread_map m;
        for (const auto& p : profiles)
            if (!p.stacks.empty()) m[p.name] = p.stacks;
        return m;
    }
};

/// Parses `text` (strict JSON) and checks every rule of the speedscope format along the way.
parsed_file parse_speedscope(const std::string& text) {
    parsed_file out;
    try {
        out.doc = json::parse(text);
    } catch (const std::exception& e) {
        FAIL("not valid JSON: " << e.what() << "\n" << text.substr(0, 2000));
    }
    const json::value& d = out.doc;
    REQUIRE(d.is_object());
    CHECK(d["$schema"].str() == "https://www.speedscope.app/file-format-schema.json");
    CHECK(d["exporter"].str() == std::string("cpprof@") + CPPROF_VERSION_STRING);
    CHECK(d["name"].is_string());

    const json::value& frames = d["shared"]["frames"];
    REQUIRE(frames.is_array());
    std::set<std::string> frame_keys;
    for (const auto& f : frames.items) {
        REQUIRE(f.is_object());
        for (const auto& m : f.members) CHECK((m.first == "name" || m.first == "file" || m.first == "line"));
        out.frame_names.push_back(f["name"].str());
        std::string key = f["name"].str() + '\x1f';
        if (f.has("file")) {
            CHECK_FALSE(f["file"].str().empty());
            key += f["file"].str();
        }
        key += '\x1f';
        if (f.has("line")) {
            CHECK(f["line"].as_int() > 0);
            key += f["line"].text;
        }
        CHECK_MESSAGE(frame_keys.insert(key).second, "frame listed twice: " << f["name"].str());
    }

    const json::value& profiles = d["profiles"];
    REQUIRE(profiles.is_array());
    REQUIRE(profiles.size() >= 1);  // speedscope fails on an empty list
    std::vector<char> frame_used(frames.size(), 0);
    std::int64_t heaviest = -1;
    std::size_t heaviest_at = 0;
    for (std::size_t pi = 0; pi < profiles.size(); ++pi) {
        const json::value& p = profiles[pi];
        parsed_profile pp;
        CHECK(p["type"].str() == "sampled");
        pp.name = p["name"].str();
        pp.unit = p["unit"].str();
        const std::set<std::string> units{"none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"};
        CHECK(units.count(pp.unit) == 1);
        CHECK(p["startValue"].as_int() == 0);
        pp.end_value = p["endValue"].as_int();
        const json::value& samples = p["samples"];
        const json::value& weights = p["weights"];
        REQUIRE(samples.is_array());
        REQUIRE(weights.is_array());
        REQUIRE(samples.size() == weights.size());
        pp.samples = samples.size();
        std::int64_t sum = 0;
        std::set<std::vector<std::int64_t>> distinct;
        for (std::size_t i = 0; i < samples.size(); ++i) {
            const std::int64_t w = weights[i].as_int();
            CHECK(w > 0);
            sum += w;
            names stack;
            std::vector<std::int64_t> ids;
            REQUIRE(samples[i].is_array());
            CHECK(samples[i].size() > 0);
            for (const auto& idx : samples[i].items) {
                const std::int64_t k = idx.as_int();
                REQUIRE(k >= 0);
                REQUIRE(static_cast<std::size_t>(k) < frames.size());
                frame_used[static_cast<std::size_t>(k)] = 1;
                stack.push_back(out.frame_names[static_cast<std::size_t>(k)]);
                ids.push_back(k);
            }
            CHECK_MESSAGE(distinct.insert(ids).second, "identical stacks are not merged");
            pp.stacks[stack] += w;
        }
        CHECK(pp.end_value == sum);
        if (sum > heaviest) {
            heaviest = sum;
            heaviest_at = pi;
        }
        out.profiles.push_back(std::move(pp));
    }
    for (std::size_t i = 0; i < frame_used.size(); ++i)
        CHECK_MESSAGE(frame_used[i], "frame " << out.frame_names[i] << " is listed but unused");
    out.active = static_cast<std::size_t>(d["activeProfileIndex"].as_int());
    CHECK(out.active == heaviest_at);
    return out;
}

// ---- what the profile says (the test's own reading of it) --------------------------------

std::string frame_name(const cpprof::profile& p, cpprof::frame_id f) {
    const cpprof::frame& fr = p.frame_at(f);
    return fr.function.empty() ? fr.display_name() : fr.function;
}

/// Stacks per thread as the writer should group them: thread name, else "[tid N]", else
/// "[no thread]" ("all" when that is the only group).
thread_map expected_threads(const cpprof::profile& p, std::size_t index, bool by_thread = true) {
    thread_map m;
    for (const auto& s : p.samples()) {
        const std::int64_t v = index < s.values.size() ? s.values[index] : 0;
        if (v == 0 || s.stack.empty()) continue;
        std::string t = "[no thread]";
        if (!by_thread) {
            t = "all";
        } else if (!s.label_str("thread").empty()) {
            t = std::string(s.label_str("thread"));
        } else {
            for (const auto& l : s.labels)
                if (l.key == "thread_id" && l.str.empty()) t = "[tid " + std::to_string(l.num) + "]";
        }
        names stack;
        for (auto it = s.stack.rbegin(); it != s.stack.rend(); ++it) stack.push_back(frame_name(p, *it));
        m[t][stack] += v;
    }
    if (m.size() == 1 && m.count("[no thread]")) {
        m["all"] = m["[no thread]"];
        m.erase("[no thread]");
    }
    return m;
}

std::string describe(const thread_map& m) {
    std::ostringstream os;
    for (const auto& [t, stacks] : m) {
        os << "[" << t << "]\n";
        for (const auto& [stack, w] : stacks) {
            os << "  ";
            for (std::size_t i = 0; i < stack.size(); ++i) os << (i ? ";" : "") << stack[i];
            os << " " << w << "\n";
        }
    }
    return os.str();
}

// ---- speedscope's own importer ------------------------------------------------------------

std::string importer_dir() { return std::string(CPPROF_TEST_SOURCE_DIR) + "/tests/speedscope"; }

/// True when node and the speedscope package are there; otherwise says why (and fails under
/// CI, where tools/install-deps.sh must have installed them).
bool importer_available() {
    std::string missing;
    struct stat st;
    if (*CPPROF_TEST_NODE == '\0')
        missing = "node was not found when the tests were configured (Debian: nodejs)";
    else if (::stat((importer_dir() + "/node_modules/speedscope/package.json").c_str(), &st) != 0)
        missing = "the speedscope npm package is not installed: run `npm ci` in " + importer_dir() +
                  " (tools/install-deps.sh does)";
    if (missing.empty()) return true;
    const char* ci = std::getenv("CI");
    if (ci != nullptr && *ci != '\0')
        FAIL_CHECK("speedscope importer check cannot run under CI: " << missing);
    else
        MESSAGE("SKIPPED: speedscope's importer check: " << missing);
    return false;
}

struct import_result {
    int exit_code = -1;
    std::string out, err;
};

import_result run_importer(const std::string& file) {
    cpprof_test::temp_dir dir;
    const std::string err_file = dir / "stderr";
    const auto r = cpprof_test::run(cpprof_test::shell_quote(CPPROF_TEST_NODE) + " " +
                                    cpprof_test::shell_quote(importer_dir() + "/import.cjs") + " " +
                                    cpprof_test::shell_quote(file) + " 2>" +
                                    cpprof_test::shell_quote(err_file));
    return {r.exit_code, r.out, cpprof_test::read_file(err_file)};
}

/// What speedscope made of the file `file`: its JSON description (see import.cjs).
json::value speedscope_import(const std::string& file) {
    const import_result r = run_importer(file);
    INFO("node import.cjs " << file << "\nstdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    try {
        return json::parse(r.out);
    } catch (const std::exception& e) {
        FAIL("import.cjs printed no valid JSON: " << e.what());
    }
    return {};
}

/// Imports `file` with speedscope and checks it shows exactly `expected` (profile names,
/// stacks, weights), in `unit`, with the group name `name`.
json::value check_import(const std::string& file, const thread_map& expected, const std::string& unit,
                         const std::string& name) {
    const json::value g = speedscope_import(file);
    CHECK(g["name"].str() == name);
    thread_map got;
    for (const auto& p : g["profiles"].items) {
        const std::string pname = p["name"].str();
        CHECK(p["unit"].str() == unit);
        std::int64_t sum = 0;
        std::set<std::string> stack_frames;
        for (const auto& s : p["stacks"].items) {
            names stack;
            for (const auto& n : s["stack"].items) {
                stack.push_back(n.str());
                stack_frames.insert(n.str());
            }
            got[pname][stack] += s["weight"].as_int();
            sum += s["weight"].as_int();
        }
        CHECK(p["totalWeight"].as_int() == sum);
        std::set<std::string> frame_names;
        for (const auto& f : p["frames"].items) frame_names.insert(f["name"].str());
        CHECK(frame_names == stack_frames);  // each profile has its own frames only
    }
    INFO("speedscope read:\n" << describe(got) << "expected:\n" << describe(expected));
    CHECK(got == expected);
    return g;
}

builder two_threads() {
    builder b({{"samples", "count"}, {"cpu", "nanoseconds"}});
    auto main_ = b.fn("main", 10);
    auto run = b.fn("run", 20);
    auto work = b.fn("work", 30);
    auto io = b.fn("io", 40);
    b.add({main_, run, work}, {3, 30}, {thread("main"), tid(1)});
    b.add({main_, run}, {1, 10}, {thread("main"), tid(1)});
    b.add({main_, run, work}, {2, 20}, {thread("main"), tid(1)});  // merges with the first
    b.add({run, io}, {5, 50}, {thread("worker"), tid(2)});
    b.add({run, work}, {1, 10}, {thread("worker"), tid(3)});  // same name, another thread id
    return b;
}

}  // namespace

// ---- structure ------------------------------------------------------------------------------

TEST_CASE("speedscope: one sampled profile per thread, frames shared, stacks root first") {
    builder b = two_threads();
    const std::string text = to_speedscope(b.p);
    const parsed_file f = parse_speedscope(text);

    CHECK(f.doc["name"].str() == "cpu profile");
    // Four functions, each listed once although several threads use them.
    CHECK(f.frame_names == std::vector<std::string>{"io", "main", "run", "work"});
    REQUIRE(f.profiles.size() == 2);
    CHECK(f.profiles[0].name == "main");
    CHECK(f.profiles[1].name == "worker");
    CHECK(f.profiles[0].unit == "nanoseconds");
    CHECK(f.threads() == expected_threads(b.p, 1));
    CHECK(f.profile("main").stacks == stack_map{{{"main", "run", "work"}, 50}, {{"main", "run"}, 10}});
    CHECK(f.profile("main").samples == 2);  // identical stacks merged
    CHECK(f.profile("main").end_value == 60);
    CHECK(f.profile("worker").end_value == 60);
    CHECK(f.active == 0);  // a tie: the first

    // Frames carry their file and line when the profile knows them.
    cpprof::frame located;
    located.function = "located";
    located.file = "src/located.cpp";
    located.line = 77;
    b.add({b.p.intern(located)}, {1, 1000}, {thread("worker")});
    const parsed_file g = parse_speedscope(to_speedscope(b.p));
    const json::value& fr = g.doc["shared"]["frames"][1];
    CHECK(fr["name"].str() == "located");
    CHECK(fr["file"].str() == "src/located.cpp");
    CHECK(fr["line"].as_int() == 77);
    CHECK_FALSE(g.doc["shared"]["frames"][0].has("file"));
    CHECK(g.active == 1);  // worker is now the heavier
    CHECK(g.doc["activeProfileIndex"].as_int() == 1);
}

TEST_CASE("speedscope: threads without a name go by thread id, then into one profile") {
    builder b;
    auto a = b.fn("a"), c = b.fn("c");
    b.add({a}, {1}, {thread("zeta")});
    b.add({a, c}, {2}, {tid(12)});
    b.add({a}, {3}, {tid(9)});
    b.add({c}, {4}, {});
    b.add({c}, {5}, {thread("alpha")});
    b.add({a}, {6}, {label{"thread", "", 0, {}}, tid(9)});  // an empty name is no name
    const parsed_file f = parse_speedscope(to_speedscope(b.p));
    std::vector<std::string> order;
    for (const auto& p : f.profiles) order.push_back(p.name);
    CHECK(order == std::vector<std::string>{"alpha", "zeta", "[tid 9]", "[tid 12]", "[no thread]"});
    CHECK(f.profile("[tid 9]").stacks == stack_map{{{"a"}, 9}});
    CHECK(f.threads() == expected_threads(b.p, 0));
    CHECK(f.profiles[f.active].name == "[tid 9]");
    CHECK(f.profiles[0].unit == "none");  // samples/count

    // Everything in one profile on request; and a profile without threads is "all".
    const parsed_file one = parse_speedscope(to_speedscope(b.p, speedscope_options{}.thread_profiles(false)));
    REQUIRE(one.profiles.size() == 1);
    CHECK(one.profiles[0].name == "all");
    CHECK(one.profiles[0].stacks == stack_map{{{"a"}, 10}, {{"a", "c"}, 2}, {{"c"}, 9}});
    const parsed_file named =
        parse_speedscope(to_speedscope(b.p, speedscope_options{}.thread_profiles(false).name("run 7")));
    CHECK(named.doc["name"].str() == "run 7");
    CHECK(named.profiles[0].name == "run 7");
}

TEST_CASE("speedscope: units, the value column, and bad options") {
    builder b({{"samples", "count"},
               {"alloc_space", "bytes"},
               {"delay", "microseconds"},
               {"t_ms", "milliseconds"},
               {"t_s", "seconds"},
               {"size", "kilobytes"}});
    auto f = b.fn("f"), g = b.fn("g");
    b.add({f}, {1, 100, 7, 1, 2, 5});
    b.add({f, g}, {2, 0, 3, 1, 2, 5});
    const char* expected_units[] = {"none", "bytes", "microseconds", "milliseconds", "seconds", "none"};
    for (std::size_t i = 0; i < 6; ++i) {
        CAPTURE(i);
        const parsed_file pf = parse_speedscope(to_speedscope(b.p, speedscope_options{}.sample_index(i)));
        CHECK(pf.profiles[0].unit == expected_units[i]);
        CHECK(pf.threads() == expected_threads(b.p, i));
        CHECK(pf.doc["name"].str() == b.p.sample_types()[i].type + " profile");
    }
    // The default is the profile's default column (the last), zero values are left out.
    CHECK(parse_speedscope(to_speedscope(b.p)).profiles[0].unit == "none");
    b.p.set_default_sample_index(1);
    const parsed_file bytes = parse_speedscope(to_speedscope(b.p));
    CHECK(bytes.profiles[0].unit == "bytes");
    CHECK(bytes.profiles[0].stacks == stack_map{{{"f"}, 100}});
    CHECK(bytes.frame_names == std::vector<std::string>{"f"});  // g only had zero-weight samples

    std::ostringstream os;
    CHECK_THROWS_WITH_AS(cpprof::write_speedscope(b.p, os, speedscope_options{}.sample_index(6)),
                         "cpprof: write_speedscope: sample index 6 is out of range; the profile has 6 "
                         "sample type(s): samples, alloc_space, delay, t_ms, t_s, size",
                         cpprof::error);
    CHECK(os.str().empty());
}

TEST_CASE("speedscope: an empty profile is a valid file speedscope opens") {
    for (const cpprof::profile& p :
         {cpprof::profile(), cpprof::profile({{"samples", "count"}, {"cpu", "nanoseconds"}})}) {
        const std::string text = to_speedscope(p);
        const parsed_file f = parse_speedscope(text);
        CHECK(f.frame_names.empty());
        REQUIRE(f.profiles.size() == 1);
        CHECK(f.profiles[0].name == "all");
        CHECK(f.profiles[0].samples == 0);
        CHECK(f.profiles[0].end_value == 0);

        if (!importer_available()) continue;
        cpprof_test::temp_dir dir;
        cpprof::write_speedscope(p, dir / "empty.json");
        const json::value g = speedscope_import(dir / "empty.json");
        REQUIRE(g["profiles"].size() == 1);
        CHECK(g["profiles"][0]["name"].str() == "all");
        CHECK(g["profiles"][0]["totalWeight"].as_int() == 0);
        CHECK(g["profiles"][0]["stacks"].size() == 0);
    }
    // A profile whose samples all weigh zero is empty too.
    builder b;
    b.add({b.fn("f")}, {0});
    const parsed_file f = parse_speedscope(to_speedscope(b.p));
    CHECK(f.frame_names.empty());
    CHECK(f.profiles[0].samples == 0);
}

TEST_CASE("speedscope: negative values are an error, before any file is created") {
    builder before, after;
    auto f1 = before.fn("f"), g1 = before.fn("g");
    before.add({f1}, {10});
    before.add({f1, g1}, {5});
    auto f2 = after.fn("f"), g2 = after.fn("g");
    after.add({f2}, {4});
    after.add({f2, g2}, {9});
    const cpprof::profile d = cpprof::diff(before.p, after.p);  // f: -6, f;g: +4

    cpprof_test::temp_dir dir;
    const std::string path = dir / "diff.json";
    try {
        cpprof::write_speedscope(d, path);
        FAIL("no error for a negative value");
    } catch (const cpprof::error& e) {
        const std::string what = e.what();
        INFO(what);
        CHECK(what.rfind("cpprof: write_speedscope: sample ", 0) == 0);
        CHECK(what.find("negative value -6 in column 0 (samples)") != std::string::npos);
        CHECK(what.find("speedscope rejects negative weights") != std::string::npos);
    }
    struct stat st;
    CHECK(::stat(path.c_str(), &st) != 0);
    std::ostringstream os;
    CHECK_THROWS_AS(cpprof::write_speedscope(d, os), cpprof::error);
    CHECK(os.str().empty());

    // It is speedscope's rule, not ours: its importer refuses such a file.
    if (!importer_available()) return;
    const std::string hand = dir / "negative.json";
    cpprof_test::write_file(hand, R"({"$schema":"https://www.speedscope.app/file-format-schema.json",
        "shared":{"frames":[{"name":"f"}]},"profiles":[{"type":"sampled","name":"t","unit":"none",
        "startValue":0,"endValue":0,"samples":[[0]],"weights":[-6]}]})");
    const import_result r = run_importer(hand);
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("Samples must have positive weights") != std::string::npos);
}

TEST_CASE("speedscope: names are escaped, and invalid UTF-8 becomes U+FFFD") {
    builder b;
    const std::string fffd = "\xEF\xBF\xBD";
    struct name_case {
        std::string raw, shown;
    };
    const std::vector<name_case> cases = {
        {"quote\"back\\slash", "quote\"back\\slash"},
        {"ctl\x01\x1f\b\f\n\r\t\x7f", "ctl\x01\x1f\b\f\n\r\t\x7f"},
        {"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF"},
        {"stray\x80\xBF", "stray" + fffd + fffd},
        {"cut\xE2\x82", "cut" + fffd + fffd},
        {"overlong\xC0\xAF", "overlong" + fffd + fffd},
        {"surrogate\xED\xA0\x80x", "surrogate" + fffd + fffd + fffd + "x"},
        {"big\xF4\x90\x80\x80", "big" + fffd + fffd + fffd + fffd},
        {"ff\xFF", "ff" + fffd},
        {"</script><!--", "</script><!--"},
    };
    std::vector<cpprof::frame_id> ids;
    for (const auto& c : cases) ids.push_back(b.fn(c.raw));
    for (std::size_t i = 0; i < ids.size(); ++i)
        b.add({ids[i]}, {static_cast<std::int64_t>(i + 1)}, {thread("t\xFF" + std::to_string(i % 2))});
    speedscope_options o;
    o.name("na\"me\xC3");
    const std::string text = to_speedscope(b.p, o);
    const parsed_file f = parse_speedscope(text);  // strict: fails on any invalid byte
    CHECK(f.doc["name"].str() == "na\"me" + fffd);
    std::set<std::string> shown(f.frame_names.begin(), f.frame_names.end());
    for (const auto& c : cases) CHECK_MESSAGE(shown.count(c.shown) == 1, "missing: " << c.shown);
    REQUIRE(f.profiles.size() == 2);
    CHECK(f.profiles[0].name == "t" + fffd + "0");
    CHECK(text.find("\\u0001\\u001f\\b\\f\\n\\r\\t") != std::string::npos);

    if (!importer_available()) return;
    cpprof_test::temp_dir dir;
    cpprof::write_speedscope(b.p, dir / "names.json", o);
    const json::value g = speedscope_import(dir / "names.json");
    CHECK(g["name"].str() == "na\"me" + fffd);
    std::set<std::string> imported;
    for (const auto& p : g["profiles"].items)
        for (const auto& fr : p["frames"].items) imported.insert(fr["name"].str());
    CHECK(imported == shown);
}

TEST_CASE("speedscope: inlined functions are frames of their own, caller first") {
    // leaf-first: inner (inlined into mid) , mid (inlined into outer), outer, main
    builder b({{"samples", "count"}, {"cpu", "nanoseconds"}});
    auto frame = [&](const char* name, std::uint64_t address, int line, bool inlined) {
        cpprof::frame f;
        f.function = name;
        f.address = address;
        f.file = "inl.cpp";
        f.line = line;
        f.inlined = inlined;
        return b.p.intern(f);
    };
    const auto inner = frame("inner", 0x1010, 3, true);
    const auto mid = frame("mid", 0x1010, 8, true);
    const auto outer = frame("outer", 0x1010, 15, false);
    const auto main_ = frame("main", 0x2020, 30, false);
    b.p.add_sample({inner, mid, outer, main_}, {1, 100}, {thread("main")});
    b.p.add_sample({outer, main_}, {1, 50}, {thread("main")});

    const thread_map expected{{"main", {{{"main", "outer", "mid", "inner"}, 100}, {{"main", "outer"}, 50}}}};
    CHECK(parse_speedscope(to_speedscope(b.p)).threads() == expected);

    // Through pprof: one Location with three Lines, expanded again by read_pprof.
    std::ostringstream pb;
    cpprof::write_pprof(b.p, pb, false);
    const cpprof::profile back = cpprof::parse_pprof(pb.str());
    const parsed_file f = parse_speedscope(to_speedscope(back));
    CHECK(f.threads() == expected);
    const json::value& frames = f.doc["shared"]["frames"];
    REQUIRE(frames.size() == 4);
    CHECK(frames[0]["name"].str() == "inner");
    CHECK(frames[0]["file"].str() == "inl.cpp");
    CHECK(frames[0]["line"].as_int() == 3);
}

TEST_CASE("speedscope: frames are functions, or lines on request") {
    builder b;
    auto f10 = b.fn("f", 10), f12 = b.fn("f", 12), f0 = b.fn("f", 0), m = b.fn("main", 5);
    b.add({m, f12}, {1});
    b.add({m, f10}, {2});
    b.add({m, f0}, {4});
    const parsed_file by_function = parse_speedscope(to_speedscope(b.p));
    REQUIRE(by_function.frame_names == std::vector<std::string>{"f", "main"});
    CHECK(by_function.doc["shared"]["frames"][0]["line"].as_int() == 10);  // the lowest seen
    CHECK(by_function.profiles[0].stacks == stack_map{{{"main", "f"}, 7}});

    const parsed_file by_line = parse_speedscope(to_speedscope(b.p, speedscope_options{}.lines(true)));
    const json::value& frames = by_line.doc["shared"]["frames"];
    REQUIRE(frames.size() == 4);
    CHECK_FALSE(frames[0].has("line"));
    CHECK(frames[1]["line"].as_int() == 10);
    CHECK(frames[2]["line"].as_int() == 12);
    CHECK(by_line.profiles[0].samples == 3);

    // Same name in two files: two frames.
    cpprof::frame other;
    other.function = "f";
    other.file = "other.cpp";
    b.add({m, b.p.intern(other)}, {8});
    const parsed_file two = parse_speedscope(to_speedscope(b.p));
    CHECK(two.frame_names == std::vector<std::string>{"f", "f", "main"});
}

TEST_CASE("speedscope: the file overload writes the same bytes and names the path on failure") {
    builder b = two_threads();
    cpprof_test::temp_dir dir;
    cpprof::write_speedscope(b.p, dir / "out.speedscope.json");
    CHECK(cpprof_test::read_file(dir / "out.speedscope.json") == to_speedscope(b.p));

    const std::string bad = dir.path() + "/missing/x.json";
    CHECK_THROWS_WITH_AS(cpprof::write_speedscope(b.p, bad),
                         ("cpprof: write_speedscope: cannot open '" + bad +
                          "' for writing: No such file or directory")
                             .c_str(),
                         cpprof::error);
    struct stat st;
    if (::stat("/dev/full", &st) == 0)
        CHECK_THROWS_WITH_AS(cpprof::write_speedscope(b.p, "/dev/full"),
                             "cpprof: write_speedscope: cannot write '/dev/full': No space left on device",
                             cpprof::error);
    // Bad options fail before the file is created.
    const std::string never = dir / "never.json";
    CHECK_THROWS_AS(cpprof::write_speedscope(b.p, never, speedscope_options{}.sample_index(9)), cpprof::error);
    CHECK(::stat(never.c_str(), &st) != 0);
}

// ---- the real consumer ------------------------------------------------------------------

TEST_CASE("speedscope: speedscope's importer reads the threads, stacks and weights") {
    if (!importer_available()) return;
    builder b = two_threads();
    auto idle = b.fn("idle");
    b.add({idle}, {1, 7}, {tid(44)});
    b.add({idle}, {1, 3}, {});
    cpprof_test::temp_dir dir;

    // Both ways speedscope recognises the format: the *.speedscope.json name, and "$schema".
    for (const char* file : {"cpu.speedscope.json", "cpu.json"}) {
        CAPTURE(file);
        cpprof::write_speedscope(b.p, dir / file, speedscope_options{}.name("threads"));
        const json::value g = check_import(dir / file, expected_threads(b.p, 1), "nanoseconds", "threads");
        std::vector<std::string> order;
        for (const auto& p : g["profiles"].items) order.push_back(p["name"].str());
        CHECK(order == std::vector<std::string>{"main", "worker", "[tid 44]", "[no thread]"});
        CHECK(g["indexToView"].as_int() == 0);
        const json::value& main_frames = g["profiles"][0]["frames"];
        REQUIRE(main_frames.size() == 3);  // main, run, work: this thread's own
        CHECK(main_frames[0]["name"].str() == "main");
        CHECK(main_frames[0]["line"].as_int() == 10);
        CHECK(main_frames[0]["total"].as_int() == 60);
        CHECK(main_frames[2]["name"].str() == "work");
        CHECK(main_frames[2]["self"].as_int() == 50);
    }

    // The sample counts column, by another unit, and the heaviest thread first.
    b.add({idle}, {100, 1}, {tid(44)});
    cpprof::write_speedscope(b.p, dir / "count.json", speedscope_options{}.sample_index(0));
    const json::value g = check_import(dir / "count.json", expected_threads(b.p, 0), "none", "samples profile");
    CHECK(g["indexToView"].as_int() == 2);
}

TEST_CASE("speedscope: a profile read back with read_pprof imports the same") {
    if (!importer_available()) return;
    builder b = two_threads();
    cpprof_test::temp_dir dir;
    cpprof::write_pprof(b.p, dir / "cpu.pb.gz");
    const cpprof::profile back = cpprof::read_pprof(dir / "cpu.pb.gz");
    cpprof::write_speedscope(back, dir / "back.json");
    CHECK(cpprof_test::read_file(dir / "back.json") == to_speedscope(b.p));
    check_import(dir / "back.json", expected_threads(b.p, 1), "nanoseconds", "cpu profile");
}

// ThreadSanitizer defers the profiler's signals, so no stack unwinds there (see
// test_cpu_profiler.cpp): the threads' samples would all be "lost" ones, with no thread.
TEST_CASE("speedscope: a real CPU profile, one profile per thread" *
          doctest::skip(CPPROF_TEST_TSAN != 0)) {
    cpprof::profile p;
    {
        cpprof::profiler_guard<> guard;
        std::vector<std::thread> pool;
        for (int t = 0; t < 2; ++t)
            pool.emplace_back([t] {
                const std::string name = "ss-worker-" + std::to_string(t);
                pthread_setname_np(pthread_self(), name.c_str());
                workloads::burn_cpu_ns(60'000'000);
            });
        for (auto& t : pool) t.join();
        p = guard.stop();
    }
    const std::size_t cpu = p.sample_index("cpu");
    REQUIRE(cpu != static_cast<std::size_t>(-1));
    const std::string text = to_speedscope(p);
    const parsed_file f = parse_speedscope(text);
    const thread_map expected = expected_threads(p, cpu);
    CHECK(f.threads() == expected);
    CHECK(f.profiles[0].unit == "nanoseconds");
    for (const char* t : {"ss-worker-0", "ss-worker-1"}) {
        CAPTURE(t);
        REQUIRE(expected.count(t) == 1);
        std::int64_t total = 0;
        for (const auto& s : p.samples())
            if (s.label_str("thread") == t) total += s.values[cpu];
        CHECK(f.profile(t).end_value == total);
        CHECK(total > 20'000'000);  // 60 ms burned; POSIX CPU timers may lose some
        bool burns = false;
        for (const auto& [stack, w] : f.profile(t).stacks)
            for (const auto& n : stack) burns = burns || n.find("burn_cpu_ns") != std::string::npos;
        CHECK(burns);
    }

    if (!importer_available()) return;
    cpprof_test::temp_dir dir;
    cpprof::write_speedscope(p, dir / "real.json");
    check_import(dir / "real.json", expected, "nanoseconds", "cpu profile");
}
