// The cpprof command-line tool (tools/cpprof/), run as a program on real files: each
// subcommand's output against what the library writes for the same input (and against
// go tool pprof / xmllint where they apply), --help, exit codes, error messages, and that a
// failure never leaves a partial or clobbered output file behind.
//
// CPPROF_TEST_CLI is the built tool's full path ("" when the build has no tool: skipped).
#include <cpprof/cpprof.hpp>

#include <doctest/doctest.h>

#include "support/external.hpp"
#include "support/go_pprof.hpp"
#include "support/stack_builder.hpp"

#include <algorithm>
#include <cstdint>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sstream>
#include <string>
#include <vector>

#ifndef CPPROF_TEST_CLI
#define CPPROF_TEST_CLI ""
#endif

namespace {

using cpprof_test::shell_quote;

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

struct cli_result {
    int exit_code = -1;
    std::string out;
    std::string err;
};

/// Runs `cpprof <args>` (args already shell-quoted as needed) in `dir`, with `stdin_file` as
/// standard input (or /dev/null), capturing standard output and error apart; `stdout_file`
/// non-empty sends standard output there instead (cli_result::out is then empty).
cli_result cpprof_cli(const cpprof_test::temp_dir& dir, const std::string& args,
                      const std::string& stdin_file = "/dev/null", const std::string& stdout_file = "") {
    const std::string out = dir / "cli.stdout", err = dir / "cli.stderr";
    const auto r = cpprof_test::run("cd " + shell_quote(dir.path()) + " && " +
                                    shell_quote(CPPROF_TEST_CLI) + " " + args + " <" +
                                    shell_quote(stdin_file) + " >" +
                                    shell_quote(stdout_file.empty() ? out : stdout_file) + " 2>" +
                                    shell_quote(err));
    cli_result c;
    c.exit_code = r.exit_code;
    if (stdout_file.empty()) c.out = cpprof_test::read_file(out);
    c.err = cpprof_test::read_file(err);
    std::remove(out.c_str());
    std::remove(err.c_str());  // so list_dir() sees only what cpprof wrote
    return c;
}

#define REQUIRE_CLI()                                                                         \
    do {                                                                                      \
        if (std::string(CPPROF_TEST_CLI).empty()) {                                           \
            MESSAGE("SKIPPED: this build has no cpprof tool (CPPROF_BUILD_TOOLS=OFF)");       \
            return;                                                                           \
        }                                                                                     \
    } while (0)

/// A CPU-like profile: samples/count and cpu/nanoseconds (the default, being last).
cpprof::profile cpu_profile() {
    cpprof_test::builder b({{"samples", "count"}, {"cpu", "nanoseconds"}});
    auto m = b.fn("main"), r = b.fn("run"), c = b.fn("compute"), io = b.fn("io"), rd = b.fn("read");
    b.add({m, r, c}, {5, 50'000'000});
    b.add({m, r}, {2, 20'000'000});
    b.add({m, io, rd}, {3, 30'000'000});
    b.p.set_period({"cpu", "nanoseconds"}, 10'000'000);
    return b.p;
}

/// The same program later: compute grew, read shrank.
cpprof::profile cpu_profile_after() {
    cpprof_test::builder b({{"samples", "count"}, {"cpu", "nanoseconds"}});
    auto m = b.fn("main"), r = b.fn("run"), c = b.fn("compute"), io = b.fn("io"), rd = b.fn("read");
    b.add({m, r, c}, {8, 80'000'000});
    b.add({m, r}, {1, 10'000'000});
    b.add({m, io, rd}, {1, 10'000'000});
    return b.p;
}

cpprof::profile heap_profile() {
    cpprof_test::builder b({{"alloc_space", "bytes"}, {"inuse_space", "bytes"}});
    auto m = b.fn("main"), a = b.fn("make_buffers"), c = b.fn("cache_fill");
    b.add({m, a}, {4 << 20, 1 << 20});
    b.add({m, c}, {1 << 20, 3 << 20});
    b.p.set_default_sample_index(0);
    return b.p;
}

std::string svg_of(const cpprof::profile& p, const cpprof::flamegraph_options& o = {}) {
    std::ostringstream os;
    cpprof::write_flamegraph(p, os, o);
    return os.str();
}

std::string folded_of(const cpprof::profile& p, const cpprof::folded_options& o = {}) {
    std::ostringstream os;
    cpprof::write_folded(p, os, o);
    return os.str();
}

std::string hotspot_table(const cpprof::profile& p, std::size_t index, std::size_t n = 20) {
    std::vector<cpprof::hotspot> rows = cpprof::hotspots(p, n, index);
    std::ostringstream os;
    cpprof::print_hotspots(os, rows);
    return os.str();
}

/// Every name in `dir` except "." and "..", sorted.
std::vector<std::string> list_dir(const std::string& dir) {
    std::vector<std::string> names;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (const dirent* e = ::readdir(d)) {
            const std::string n = e->d_name;
            if (n != "." && n != "..") names.push_back(n);
        }
        ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
}

bool file_exists(const std::string& path) { return cpprof_test::run("test -e " + shell_quote(path)).exit_code == 0; }

void check_xml(const std::string& file) {
    const std::string xmllint = CPPROF_TEST_XMLLINT;
    if (xmllint.empty()) {
        MESSAGE("xmllint not installed (Debian libxml2-utils): SVG not checked by an XML parser");
        return;
    }
    const auto r = cpprof_test::run(shell_quote(xmllint) + " --noout " + shell_quote(file) + " 2>&1");
    INFO(r.out);
    CHECK(r.exit_code == 0);
}

}  // namespace

// ---- help and version ------------------------------------------------------------------------

TEST_CASE("cli: --version prints the library's version") {
    REQUIRE_CLI();
    cpprof_test::temp_dir dir;
    for (const char* args : {"--version", "top --version"}) {
        const cli_result r = cpprof_cli(dir, args);
        CHECK(r.exit_code == 0);
        CHECK(r.out == std::string("cpprof ") + CPPROF_VERSION_STRING + "\n");
        CHECK(r.err.empty());
    }
}

TEST_CASE("cli: --help, global and per command") {
    REQUIRE_CLI();
    cpprof_test::temp_dir dir;
    for (const char* args : {"--help", "-h", "help"}) {
        const cli_result r = cpprof_cli(dir, args);
        INFO(args);
        CHECK(r.exit_code == 0);
        CHECK(r.err.empty());
        CHECK(contains(r.out, "Usage: cpprof <command> [options] <input>..."));
        for (const char* cmd : {"\n  top ", "\n  flame ", "\n  diff ", "\n  convert "}) CHECK(contains(r.out, cmd));
        CHECK(contains(r.out, "Exit status: 0 success; 1 "));
        CHECK(contains(r.out, "-q, --quiet"));
    }
    // No command: the help goes to standard error, as a usage error.
    const cli_result none = cpprof_cli(dir, "");
    CHECK(none.exit_code == 2);
    CHECK(none.out.empty());
    CHECK(contains(none.err, "Usage: cpprof <command>"));

    struct expected {
        const char* command;
        std::vector<std::string> lines;
    };
    const expected all[] = {
        {"top", {"Usage: cpprof top [options] PROFILE", "-n, --limit N", "--sample-index TYPE", "--cum", "Examples:"}},
        {"flame", {"Usage: cpprof flame [options] INPUT -o OUT.svg", "-o, --output FILE", "--title TEXT",
                   "--inverted", "--reverse", "--palette NAME", "--width PIXELS", "--min-width PIXELS",
                   "--count-name WORD", "--sample-index TYPE"}},
        {"diff", {"Usage: cpprof diff [options] BEFORE AFTER [-o OUT.svg]", "--no-normalize", "--before-shape",
                  "--negate", "-n, --limit N"}},
        {"convert", {"Usage: cpprof convert [options] INPUT [--to FORMAT] -o OUT", "--to FORMAT", "speedscope",
                     "--uncompressed"}},
    };
    for (const expected& e : all) {
        INFO(e.command);
        const cli_result r = cpprof_cli(dir, std::string(e.command) + " --help");
        CHECK(r.exit_code == 0);
        for (const std::string& l : e.lines) CHECK_MESSAGE(contains(r.out, l), l);
        CHECK(contains(r.out, "-v, --verbose"));  // the general options are listed too
        CHECK(cpprof_cli(dir, std::string("help ") + e.command).out == r.out);
        CHECK(cpprof_cli(dir, std::string(e.command) + " -h").out == r.out);
    }
}

// ---- top -------------------------------------------------------------------------------------

TEST_CASE("cli: top prints the hotspot table of a pprof profile or folded stacks") {
    REQUIRE_CLI();
    cpprof_test::temp_dir dir;
    const cpprof::profile p = cpu_profile();
    cpprof::write_pprof(p, dir / "cpu.pb.gz");
    cpprof::write_pprof(p, dir / "cpu.pb");  // raw protobuf
    cpprof_test::write_file(dir / "cpu.folded", folded_of(p, cpprof::folded_options{}.sample_index(0)));

    SUBCASE("the default sample type, by self") {
        const cli_result r = cpprof_cli(dir, "top cpu.pb.gz");
        CHECK(r.exit_code == 0);
        CHECK(r.err.empty());  // no progress when standard error is not a terminal
        CHECK(r.out ==
              "Type: cpu (nanoseconds)\n"
              "Total: 100.00 ms\n"
              "Showing 5 of 5 functions, sorted by self\n"
              " rank   self%      self   total%      total  function\n"
              "    1  50.00%  50.00 ms   50.00%   50.00 ms  compute\n"
              "    2  30.00%  30.00 ms   30.00%   30.00 ms  read\n"
              "    3  20.00%  20.00 ms   70.00%   70.00 ms  run\n"
              "    4   0.00%   0.00 ms  100.00%  100.00 ms  main\n"
              "    5   0.00%   0.00 ms   30.00%   30.00 ms  io\n");
        // The raw protobuf, the same.
        CHECK(cpprof_cli(dir, "top cpu.pb").out == r.out);
    }
    SUBCASE("-n, --sample-index by name and by index") {
        const std::string table = hotspot_table(p, 0, 2);
        for (const char* args : {"top -n 2 --sample-index samples cpu.pb.gz", "top -n2 --sample-index=0 cpu.pb.gz",
                                 "top --limit=2 cpu.pb.gz --sample-index 0"}) {
            INFO(args);
            const cli_result r = cpprof_cli(dir, args);
            CHECK(r.exit_code == 0);
            CHECK(r.out == "Type: samples (count)\nTotal: 10\nShowing 2 of 5 functions, sorted by self\n" + table);
        }
        // -n 0: all of them.
        CHECK(contains(cpprof_cli(dir, "top -n 0 cpu.pb.gz").out, "Showing 5 of 5 functions"));
    }
    SUBCASE("--cum sorts by total") {
        const cli_result r = cpprof_cli(dir, "top --cum -n 3 cpu.pb.gz");
        CHECK(r.exit_code == 0);
        CHECK(contains(r.out, "Showing 3 of 5 functions, sorted by total\n"));
        CHECK(contains(r.out, "    1   0.00%   0.00 ms  100.00%  100.00 ms  main\n"
                              "    2  20.00%  20.00 ms   70.00%   70.00 ms  run\n"
                              "    3  50.00%  50.00 ms   50.00%   50.00 ms  compute\n"));
    }
    SUBCASE("folded stacks, from a file and from standard input") {
        const std::string expected =
            "Type: samples (count)\nTotal: 10\nShowing 5 of 5 functions, sorted by self\n" + hotspot_table(p, 0);
        const cli_result r = cpprof_cli(dir, "top cpu.folded");
        CHECK(r.exit_code == 0);
        CHECK(r.out == expected);
        CHECK(cpprof_cli(dir, "top -", dir / "cpu.folded").out == expected);
        // gzip-compressed folded stacks are recognised by content too (no .gz in the name).
        cpprof_test::run("gzip -c " + shell_quote(dir / "cpu.folded") + " > " + shell_quote(dir / "folded.data"));
        CHECK(cpprof_cli(dir, "top folded.data").out == expected);
        // ... and a pprof profile on standard input.
        CHECK(cpprof_cli(dir, "top -n 2 --sample-index 0 -", dir / "cpu.pb.gz").out ==
              "Type: samples (count)\nTotal: 10\nShowing 2 of 5 functions, sorted by self\n" + hotspot_table(p, 0, 2));
    }
    SUBCASE("a heap profile in bytes") {
        cpprof::write_pprof(heap_profile(), dir / "heap.pb.gz");
        const cli_result r = cpprof_cli(dir, "top --sample-index inuse_space heap.pb.gz");
        CHECK(r.exit_code == 0);
        CHECK(r.out == "Type: inuse_space (bytes)\nTotal: 4.00 MiB\nShowing 3 of 3 functions, sorted by self\n" +
                           hotspot_table(heap_profile(), 1));
    }
}

// ---- flame -----------------------------------------------------------------------------------

TEST_CASE("cli: flame writes the library's flame graph with the options asked for") {
    REQUIRE_CLI();
    cpprof_test::temp_dir dir;
    const cpprof::profile p = cpu_profile();
    cpprof::write_pprof(p, dir / "cpu.pb.gz");
    const cpprof::profile read_back = cpprof::read_pprof(dir / "cpu.pb.gz");

    SUBCASE("defaults") {
        const cli_result r = cpprof_cli(dir, "flame cpu.pb.gz -o cpu.svg");
        CHECK(r.exit_code == 0);
        CHECK(r.out.empty());
        CHECK(r.err.empty());
        const std::string svg = cpprof_test::read_file(dir / "cpu.svg");
        CHECK(svg == svg_of(read_back));
        CHECK(contains(svg, "compute (50,000,000 nanoseconds, 50.00%)"));
        check_xml(dir / "cpu.svg");
        // -o -: the same bytes on standard output, and nothing else.
        const cli_result out = cpprof_cli(dir, "flame cpu.pb.gz -o -");
        CHECK(out.exit_code == 0);
        CHECK(out.out == svg);
        CHECK(list_dir(dir.path()) == std::vector<std::string>{"cpu.pb.gz", "cpu.svg"});
    }
    SUBCASE("every option") {
        const cli_result r = cpprof_cli(
            dir, "flame cpu.pb.gz --title 'CPU & more' --subtitle 'run 7' --inverted --palette io "
                 "--width 800 --min-width 2.5 --count-name ticks --sample-index samples -o out.svg");
        CHECK(r.exit_code == 0);
        const std::string svg = cpprof_test::read_file(dir / "out.svg");
        CHECK(svg == svg_of(read_back, cpprof::flamegraph_options{}
                                           .title("CPU & more")
                                           .subtitle("run 7")
                                           .inverted(true)
                                           .palette(cpprof::flamegraph_palette::io)
                                           .width(800)
                                           .min_width(2.5)
                                           .count_name("ticks")
                                           .sample_index(0)));
        CHECK(contains(svg, "CPU &amp; more"));
        CHECK(contains(svg, "compute (5 ticks, 50.00%)"));
        check_xml(dir / "out.svg");
    }
    SUBCASE("--reverse: the innermost functions at the root") {
        CHECK(cpprof_cli(dir, "flame cpu.pb.gz --reverse -o rev.svg").exit_code == 0);
        const std::string svg = cpprof_test::read_file(dir / "rev.svg");
        CHECK(svg == svg_of(read_back, cpprof::flamegraph_options{}.reverse(true)));
        CHECK(svg != svg_of(read_back));
        check_xml(dir / "rev.svg");
    }
    SUBCASE("folded stacks in, from standard input") {
        const std::string text = "main;run;compute 42\nmain;run 3\nmain;io;read 10\n";
        cpprof_test::write_file(dir / "in.folded", text);
        const cli_result r = cpprof_cli(dir, "flame - -o folded.svg --palette mem", dir / "in.folded");
        CHECK(r.exit_code == 0);
        CHECK(cpprof_test::read_file(dir / "folded.svg") ==
              svg_of(cpprof::parse_folded(text), cpprof::flamegraph_options{}.palette("mem")));
        check_xml(dir / "folded.svg");
    }
}

// ---- convert ---------------------------------------------------------------------------------

TEST_CASE("cli: convert writes pprof, folded stacks, speedscope JSON") {
    REQUIRE_CLI();
    cpprof_test::temp_dir dir;
    const cpprof::profile p = cpu_profile();
    cpprof::write_pprof(p, dir / "cpu.pb.gz");
    const cpprof::profile read_back = cpprof::read_pprof(dir / "cpu.pb.gz");

    SUBCASE("to folded: exact text, by --to or by the output name") {
        CHECK(cpprof_cli(dir, "convert cpu.pb.gz --to folded -o cpu.out").exit_code == 0);
        CHECK(cpprof_test::read_file(dir / "cpu.out") ==
              "main;io;read 30000000\nmain;run;compute 50000000\nmain;run 20000000\n");
        CHECK(cpprof_cli(dir, "convert cpu.pb.gz -o cpu.folded --sample-index samples").exit_code == 0);
        CHECK(cpprof_test::read_file(dir / "cpu.folded") == "main;io;read 3\nmain;run;compute 5\nmain;run 2\n");
        const cli_result out = cpprof_cli(dir, "convert cpu.pb.gz --to folded -o -");
        CHECK(out.exit_code == 0);
        CHECK(out.out == "main;io;read 30000000\nmain;run;compute 50000000\nmain;run 20000000\n");
    }
    SUBCASE("to pprof: gzip by default, --uncompressed for raw; the same profile") {
        cpprof_test::write_file(dir / "in.folded", "main;run;compute 42\nmain;run 3\n");
        CHECK(cpprof_cli(dir, "convert in.folded -o out.pb.gz").exit_code == 0);
        const std::string gz = cpprof_test::read_file(dir / "out.pb.gz");
        REQUIRE(gz.size() > 2);
        CHECK(static_cast<unsigned char>(gz[0]) == 0x1f);
        CHECK(static_cast<unsigned char>(gz[1]) == 0x8b);
        const cpprof::profile folded = cpprof::parse_folded("main;run;compute 42\nmain;run 3\n");
        CHECK(cpprof::encode_pprof(cpprof::read_pprof(dir / "out.pb.gz")) == cpprof::encode_pprof(folded));

        CHECK(cpprof_cli(dir, "convert in.folded --to pprof --uncompressed -o out.raw").exit_code == 0);
        CHECK(cpprof_test::read_file(dir / "out.raw") == cpprof::encode_pprof(folded));

        // pprof -> pprof keeps every sample type, the period and the default.
        CHECK(cpprof_cli(dir, "convert cpu.pb.gz -o again.pb.gz").exit_code == 0);
        CHECK(cpprof::encode_pprof(cpprof::read_pprof(dir / "again.pb.gz")) == cpprof::encode_pprof(read_back));
    }
}

TEST_CASE("cli: convert --to speedscope writes the library's speedscope file, which speedscope reads") {
    REQUIRE_CLI();
    cpprof_test::temp_dir dir;
    cpprof::profile p = cpu_profile();
    // Two threads, so one profile per thread and --no-threads differ.
    p.mutable_samples()[0].labels.push_back({"thread", "worker", 0, ""});
    p.mutable_samples()[2].labels.push_back({"thread", "main", 0, ""});
    cpprof::write_pprof(p, dir / "cpu.pb.gz");
    const cpprof::profile read_back = cpprof::read_pprof(dir / "cpu.pb.gz");
    auto speedscope_of = [](const cpprof::profile& q, const cpprof::speedscope_options& o) {
        std::ostringstream os;
        cpprof::write_speedscope(q, os, o);
        return os.str();
    };

    CHECK(cpprof_cli(dir, "convert cpu.pb.gz -o cpu.json").exit_code == 0);  // by the name
    const std::string json = cpprof_test::read_file(dir / "cpu.json");
    CHECK(json == speedscope_of(read_back, {}));
    CHECK(contains(json, "\"name\":\"worker\""));

    const cli_result r = cpprof_cli(
        dir, "convert cpu.pb.gz --to speedscope --sample-index samples --name 'my run' --no-threads --lines -o -");
    CHECK(r.exit_code == 0);
    CHECK(r.out == speedscope_of(read_back, cpprof::speedscope_options{}
                                                .sample_index(0)
                                                .name("my run")
                                                .thread_profiles(false)
                                                .lines(true)));
    CHECK(contains(r.out, "\"name\":\"my run\""));

    // speedscope-only options are refused for other formats.
    const cli_result bad = cpprof_cli(dir, "convert cpu.pb.gz --to folded --no-threads -o x.folded");
    CHECK(bad.exit_code == 2);
    CHECK(contains(bad.err, "cpprof convert: --no-threads is for --to speedscope\n"));

    // speedscope's own importer (tests/speedscope/import.cjs), when node and the package are there.
    const std::string importer = std::string(CPPROF_TEST_SOURCE_DIR) + "/tests/speedscope";
    if (std::string(CPPROF_TEST_NODE).empty() || !file_exists(importer + "/node_modules/speedscope/package.json")) {
        MESSAGE("speedscope's importer not installed (npm ci in tests/speedscope): not run on the file");
        return;
    }
    const auto imported = cpprof_test::run(shell_quote(CPPROF_TEST_NODE) + " " + shell_quote(importer + "/import.cjs") +
                                           " " + shell_quote(dir / "cpu.json") + " 2>&1");
    INFO(imported.out);
    CHECK(imported.exit_code == 0);
    CHECK(contains(imported.out, "\"name\":\"worker\""));
    CHECK(contains(imported.out, "\"name\":\"compute\""));
}

TEST_CASE("cli: go tool pprof reads what convert writes") {
    REQUIRE_CLI();
    REQUIRE_GO_TOOL_PPROF();
    cpprof_test::temp_dir dir;
    cpprof_test::write_file(dir / "in.folded", "main;run;compute 42\nmain;run 3\nmain;io;read 10\n");
    REQUIRE(cpprof_cli(dir, "convert in.folded --to pprof -o out.pb.gz").exit_code == 0);
    cpprof_test::go_pprof pprof;
    const std::string top = pprof.run("-symbolize=none -top", dir / "out.pb.gz");
    CHECK(contains(top, "Type: samples"));
    CHECK(contains(top, "        42 76.36% 76.36%         42 76.36%  compute\n"));
    CHECK(contains(top, "         0     0%   100%         55   100%  main\n"));
}

// ---- diff ------------------------------------------------------------------------------------

TEST_CASE("cli: diff prints the hotspot diff table") {
    REQUIRE_CLI();
    cpprof_test::temp_dir dir;
    cpprof::write_pprof(cpu_profile(), dir / "before.pb.gz");
    cpprof::write_pprof(cpu_profile_after(), dir / "after.pb.gz");
    const cpprof::profile before = cpprof::read_pprof(dir / "before.pb.gz");
    cpprof::profile after = cpprof::read_pprof(dir / "after.pb.gz");

    const cli_result r = cpprof_cli(dir, "diff before.pb.gz after.pb.gz");
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    std::ostringstream expected;
    cpprof::print_hotspot_diff(expected, before, after, 20);
    CHECK(r.out == expected.str());
    CHECK(contains(r.out, "    1        50.00%  80.00%  +30.00 pp         50.00%   80.00%  compute\n"));

    // -n and --sample-index (by name; the before profile is read at the same type).
    const cli_result two = cpprof_cli(dir, "diff -n 2 --sample-index samples before.pb.gz after.pb.gz");
    CHECK(two.exit_code == 0);
    after.set_default_sample_index(0);
    std::ostringstream expected_two;
    cpprof::print_hotspot_diff(expected_two, before, after, 2);
    CHECK(two.out == expected_two.str());

    // Folded stacks compare with a pprof profile of the same sample type name.
    cpprof_test::write_file(dir / "b.folded", "main;run;compute 5\nmain;run 2\nmain;io;read 3\n");
    const cli_result mixed = cpprof_cli(dir, "diff b.folded after.pb.gz --sample-index samples");
    CHECK(mixed.exit_code == 0);
    CHECK(contains(mixed.out, "    1        50.00%  80.00%  +30.00 pp         50.00%   80.00%  compute\n"));
}

TEST_CASE("cli: diff -o writes the library's differential flame graph") {
    REQUIRE_CLI();
    cpprof_test::temp_dir dir;
    cpprof::write_pprof(cpu_profile(), dir / "before.pb.gz");
    cpprof::write_pprof(cpu_profile_after(), dir / "after.pb.gz");
    const cpprof::profile before = cpprof::read_pprof(dir / "before.pb.gz");
    const cpprof::profile after = cpprof::read_pprof(dir / "after.pb.gz");
    auto diff_svg = [&](const cpprof::diff_flamegraph_options& o) {
        std::ostringstream os;
        cpprof::write_diff_flamegraph(before, after, os, o);
        return os.str();
    };

    const cli_result r = cpprof_cli(dir, "diff before.pb.gz after.pb.gz -o diff.svg");
    CHECK(r.exit_code == 0);
    CHECK(r.out.empty());  // no table with -o
    const std::string svg = cpprof_test::read_file(dir / "diff.svg");
    CHECK(svg == diff_svg({}));
    CHECK(contains(svg, "Differential Flame Graph"));
    check_xml(dir / "diff.svg");

    const cli_result all = cpprof_cli(dir, "diff before.pb.gz after.pb.gz --no-normalize --before-shape --negate "
                                           "--title 'Before/after' --subtitle 'build 7' --inverted --reverse "
                                           "--width 900 --min-width 1 --sample-index samples -o -");
    CHECK(all.exit_code == 0);
    CHECK(all.out == diff_svg(cpprof::diff_flamegraph_options{}
                                  .normalize(false)
                                  .before_shape(true)
                                  .negate(true)
                                  .title("Before/after")
                                  .subtitle("build 7")
                                  .inverted(true)
                                  .reverse(true)
                                  .width(900)
                                  .min_width(1)
                                  .sample_index(0)));
    CHECK(all.out != svg);
    CHECK(list_dir(dir.path()) == std::vector<std::string>{"after.pb.gz", "before.pb.gz", "diff.svg"});

    // A sample type only one of them has.
    cpprof::write_pprof(heap_profile(), dir / "heap.pb.gz");
    const cli_result bad = cpprof_cli(dir, "diff heap.pb.gz after.pb.gz -o bad.svg");
    CHECK(bad.exit_code == 1);
    CHECK(bad.err == "cpprof: cannot compare sample type 'cpu': 'heap.pb.gz' does not have it (its sample types are "
                     "alloc_space, inuse_space)\n");
    CHECK_FALSE(file_exists(dir / "bad.svg"));
}

// ---- progress --------------------------------------------------------------------------------

TEST_CASE("cli: progress on standard error with --verbose, none with -q") {
    REQUIRE_CLI();
    cpprof_test::temp_dir dir;
    cpprof::write_pprof(cpu_profile(), dir / "cpu.pb.gz");
    const cli_result v = cpprof_cli(dir, "flame -v cpu.pb.gz -o cpu.svg");
    CHECK(v.exit_code == 0);
    CHECK(v.out.empty());
    CHECK(contains(v.err, "cpprof: reading 'cpu.pb.gz' ("));
    CHECK(contains(v.err, "cpprof: read 'cpu.pb.gz': pprof (gzip), 3 samples, 5 frames ("));
    CHECK(contains(v.err, "cpprof: rendering the flame graph of 3 samples...\n"));
    CHECK(contains(v.err, "cpprof: wrote 'cpu.svg' (" +
                              cpprof::detail::grouped_number(static_cast<std::int64_t>(
                                  cpprof_test::read_file(dir / "cpu.svg").size())) +
                              " bytes) in "));
    const cli_result q = cpprof_cli(dir, "--verbose flame -q cpu.pb.gz -o cpu.svg");
    CHECK(q.exit_code == 0);
    CHECK(q.err.empty());
}

// ---- errors ----------------------------------------------------------------------------------

TEST_CASE("cli: usage errors exit 2 with a hint") {
    REQUIRE_CLI();
    cpprof_test::temp_dir dir;
    cpprof::write_pprof(cpu_profile(), dir / "cpu.pb.gz");
    struct expected {
        const char* args;
        const char* message;
    };
    const expected all[] = {
        {"tpo cpu.pb.gz", "cpprof: unknown command 'tpo' (did you mean 'top'?)"},
        {"--frobnicate", "cpprof: unknown option '--frobnicate'"},
        {"top", "cpprof top: missing input file\nTry 'cpprof top --help' for more information.\n"},
        {"top cpu.pb.gz --nope", "cpprof top: unknown option '--nope'\n"},
        {"top cpu.pb.gz -x", "cpprof top: unknown option '-x'\n"},
        {"top cpu.pb.gz -n", "cpprof top: option '-n' needs a value (N)\n"},
        {"top cpu.pb.gz -n many", "cpprof top: option '-n/--limit' expects a whole number, not 'many'\n"},
        {"top cpu.pb.gz --cum=yes", "cpprof top: option '--cum' takes no value\n"},
        {"top cpu.pb.gz cpu.pb.gz", "cpprof top: unexpected argument 'cpu.pb.gz'\n"},
        {"flame cpu.pb.gz", "cpprof flame: missing -o FILE"},
        {"flame cpu.pb.gz -o x.svg --titel T", "cpprof flame: unknown option '--titel' (did you mean '--title'?)\n"},
        {"flame cpu.pb.gz -o x.svg --palette red", "cpprof flame: unknown palette 'red' (expected hot, mem, io or module)\n"},
        {"flame cpu.pb.gz -o x.svg --width 5", "cpprof flame: width must be between 100 and 1000000 pixels, not 5\n"},
        {"flame cpu.pb.gz -o x.svg --min-width x", "cpprof flame: option '--min-width' expects a number, not 'x'\n"},
        {"diff cpu.pb.gz", "cpprof diff: expected 2 input files, got 1\n"},
        {"diff - -", "cpprof diff: only one input can be standard input\n"},
        {"diff cpu.pb.gz cpu.pb.gz --before-shape", "cpprof diff: --before-shape is for the flame graph: add -o FILE\n"},
        {"diff cpu.pb.gz cpu.pb.gz -n 3 -o d.svg", "cpprof diff: '-n/--limit' is for the table, which -o replaces\n"},
        {"diff cpu.pb.gz cpu.pb.gz --width 50 -o d.svg", "cpprof diff: width must be between 100 and 1000000 pixels, not 50\n"},
        {"convert cpu.pb.gz -o out.bin", "cpprof convert: say which format to write with --to pprof, --to folded or --to speedscope"},
        {"convert cpu.pb.gz --to svg -o out", "cpprof convert: unknown format 'svg' for --to (expected pprof, folded or speedscope)"},
        {"convert cpu.pb.gz --to folded --uncompressed -o out", "cpprof convert: --uncompressed is for --to pprof\n"},
    };
    for (const expected& e : all) {
        INFO(e.args);
        const cli_result r = cpprof_cli(dir, e.args);
        CHECK(r.exit_code == 2);
        CHECK(r.out.empty());
        CHECK_MESSAGE(contains(r.err, e.message), r.err);
        CHECK(contains(r.err, "--help' for more information.\n"));
    }
    // Nothing was written by any of them.
    CHECK(list_dir(dir.path()) == std::vector<std::string>{"cpu.pb.gz"});
}

TEST_CASE("cli: bad input exits 1 with the reason and leaves no output behind") {
    REQUIRE_CLI();
    cpprof_test::temp_dir dir;
    cpprof::write_pprof(cpu_profile(), dir / "cpu.pb.gz");
    const std::string good = cpprof_test::read_file(dir / "cpu.pb.gz");
    cpprof_test::write_file(dir / "truncated.pb.gz", good.substr(0, good.size() / 2));
    cpprof_test::write_file(dir / "corrupt.pb", std::string("\x0a\x7f\x08\x01", 4));
    cpprof_test::write_file(dir / "page.html", "<html>\n<body>hi</body>\n</html>\n");
    cpprof_test::write_file(dir / "empty", "");

    struct expected {
        const char* input;
        const char* message;
    };
    const expected all[] = {
        {"missing.pb.gz", "cpprof: cannot open 'missing.pb.gz': No such file or directory\n"},
        {"truncated.pb.gz", "cpprof: gzip: "},
        {"corrupt.pb", "(in 'corrupt.pb', read as a pprof profile)\n"},
        {"page.html", "cpprof: folded: line 1: has no count (expected \"a;b;c 42\") (in 'page.html', read as folded stacks: it is text)\n"},
        {"empty", "cpprof: 'empty' is empty (expected a pprof profile or folded stacks)\n"},
        {".", "cpprof: cannot read '.': Is a directory\n"},
    };
    for (const expected& e : all) {
        INFO(e.input);
        const std::vector<std::string> before = list_dir(dir.path());
        for (const std::string& cmd : {"top " + std::string(e.input), "flame " + std::string(e.input) + " -o out.svg",
                                       "convert " + std::string(e.input) + " -o out.pb.gz",
                                       "diff cpu.pb.gz " + std::string(e.input) + " -o out.svg"}) {
            INFO(cmd);
            const cli_result r = cpprof_cli(dir, cmd);
            CHECK(r.exit_code == 1);
            CHECK(r.out.empty());
            CHECK_MESSAGE(contains(r.err, e.message), r.err);
            CHECK(r.err.find('\n') == r.err.size() - 1);  // one line
            CHECK(list_dir(dir.path()) == before);        // no output, no temporary file
        }
    }
    CHECK(contains(cpprof_cli(dir, "top truncated.pb.gz").err, "(in 'truncated.pb.gz')"));

    SUBCASE("an existing output file is left as it was") {
        cpprof_test::write_file(dir / "keep.svg", "old contents");
        const cli_result r = cpprof_cli(dir, "flame truncated.pb.gz -o keep.svg");
        CHECK(r.exit_code == 1);
        CHECK(cpprof_test::read_file(dir / "keep.svg") == "old contents");
        // ... and replaced whole when the run succeeds.
        CHECK(cpprof_cli(dir, "flame cpu.pb.gz -o keep.svg").exit_code == 0);
        CHECK(contains(cpprof_test::read_file(dir / "keep.svg"), "</svg>"));
        // A read-only file is not replaced (the rename could; root may write it anyway).
        if (::geteuid() != 0) {
            cpprof_test::write_file(dir / "ro.svg", "read-only");
            ::chmod((dir / "ro.svg").c_str(), 0444);
            const cli_result ro = cpprof_cli(dir, "flame cpu.pb.gz -o ro.svg");
            CHECK(ro.exit_code == 1);
            CHECK(ro.err == "cpprof: cannot write 'ro.svg': Permission denied\n");
            CHECK(cpprof_test::read_file(dir / "ro.svg") == "read-only");
        }
    }
    SUBCASE("a sample type the profile does not have") {
        const cli_result r = cpprof_cli(dir, "top cpu.pb.gz --sample-index inuse_space");
        CHECK(r.exit_code == 1);
        CHECK(r.err == "cpprof: no sample type 'inuse_space' in 'cpu.pb.gz'; its sample types are samples [0], cpu [1]\n");
        const cli_result n = cpprof_cli(dir, "flame cpu.pb.gz --sample-index 2 -o x.svg");
        CHECK(n.exit_code == 1);
        CHECK(n.err == "cpprof: sample index 2 is out of range in 'cpu.pb.gz'; its sample types are samples [0], cpu [1]\n");
        CHECK_FALSE(file_exists(dir / "x.svg"));
        // A profile with no sample type at all has nothing to rank or draw.
        cpprof::write_pprof(cpprof::profile(), dir / "notypes.pb");
        for (const char* args : {"top notypes.pb", "flame notypes.pb -o x.svg", "diff notypes.pb notypes.pb"}) {
            const cli_result e = cpprof_cli(dir, args);
            CHECK(e.exit_code == 1);
            CHECK(e.err == "cpprof: 'notypes.pb' has no sample types: there is nothing to show\n");
        }
        CHECK_FALSE(file_exists(dir / "x.svg"));
        std::remove((dir / "notypes.pb").c_str());
    }
    SUBCASE("outputs that cannot be written") {
        const cli_result r = cpprof_cli(dir, "flame cpu.pb.gz -o no/such/dir/out.svg");
        CHECK(r.exit_code == 1);
        CHECK(r.err == "cpprof: cannot write 'no/such/dir/out.svg': the folder 'no/such/dir' does not exist\n");
        const cli_result d = cpprof_cli(dir, "convert cpu.pb.gz --to folded -o .");
        CHECK(d.exit_code == 1);
        CHECK(d.err == "cpprof: cannot write '.': Is a directory\n");
        if (cpprof_test::run("test -w /dev/full").exit_code == 0) {
            const cli_result full = cpprof_cli(dir, "top cpu.pb.gz", "/dev/null", "/dev/full");
            CHECK(full.exit_code == 1);
            CHECK(contains(full.err, "cpprof: cannot write to standard output"));
            const cli_result svg = cpprof_cli(dir, "flame cpu.pb.gz -o -", "/dev/null", "/dev/full");
            CHECK(svg.exit_code == 1);
            CHECK(contains(svg.err, "cpprof: cannot write to standard output"));
            // A device is written in place (not replaced by a rename).
            const cli_result dev = cpprof_cli(dir, "flame cpu.pb.gz -o /dev/full");
            CHECK(dev.exit_code == 1);
            CHECK(contains(dev.err, "'/dev/full'"));
        }
        CHECK(list_dir(dir.path()) ==
              std::vector<std::string>{"corrupt.pb", "cpu.pb.gz", "empty", "page.html", "truncated.pb.gz"});
    }
}
