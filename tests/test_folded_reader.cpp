// Folded-stack reader: what it reads back, and every malformed line named.
#include <cpprof/cpprof.hpp>

#include <doctest/doctest.h>

#include "support/external.hpp"
#include "support/stack_builder.hpp"

#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <thread>

namespace {

std::string folded(const cpprof::profile& p) {
    std::ostringstream os;
    cpprof::write_folded(p, os);
    return os.str();
}

std::string leaf_to_root(const cpprof::profile& p, const cpprof::sample& s) {
    std::string out;
    for (auto id : s.stack) out += p.frames()[id].function + "<";
    return out;
}

}  // namespace

TEST_CASE("folded reader: stacks, counts and frame names come back, leaf first") {
    const cpprof::profile p = cpprof::parse_folded(
        "main;run;compute 42\n"
        "# a comment\n"
        "\n"
        "main;run 3\r\n"
        "main;std::vector<int>::operator[](unsigned long) const 7\n"
        "main;run;compute 8");  // no final newline
    REQUIRE(p.sample_types().size() == 1);
    CHECK(p.sample_types()[0].type == "samples");
    REQUIRE(p.samples().size() == 4);
    CHECK(leaf_to_root(p, p.samples()[0]) == "compute<run<main<");
    CHECK(p.samples()[0].values[0] == 42);
    CHECK(leaf_to_root(p, p.samples()[1]) == "run<main<");
    CHECK(p.samples()[1].values[0] == 3);
    CHECK(p.samples()[2].values[0] == 7);
    CHECK(p.frames()[p.samples()[2].stack[0]].function ==
          "std::vector<int>::operator[](unsigned long) const");
    CHECK(p.frames().size() == 4);  // main, run, compute, operator[]: interned once each
    CHECK(p.total(0) == 60);
    // Written back, the same stacks merge as folded text does.
    CHECK(folded(p) == "main;run;compute 50\nmain;run 3\n"
                       "main;std::vector<int>::operator[](unsigned long) const 7\n");
}

TEST_CASE("folded reader: round trip of write_folded") {
    cpprof_test::builder b;
    auto m = b.fn("main"), w = b.fn("worker"), x = b.fn("x");
    b.add({m, w, x}, {5});
    b.add({m, w}, {2});
    b.add({m, x}, {9});
    const std::string text = folded(b.p);
    CHECK(folded(cpprof::parse_folded(text)) == text);
}

TEST_CASE("folded reader: malformed lines are errors naming the line and the fault") {
    struct bad {
        const char* text;
        const char* message;
    };
    for (const bad& c : {bad{"main;run 3\nmain;run\n", "line 2: has no count"},
                         bad{"main;run x3\n", "line 1: count 'x3' is not a non-negative integer"},
                         bad{"main;run -3\n", "count '-3' is not a non-negative integer"},
                         bad{"main;run 1.5\n", "count '1.5' is not"},
                         bad{"main;run 99999999999999999999\n", "too large for 64 bits"},
                         bad{"main;;run 1\n", "line 1: has an empty frame name at column 6"},
                         bad{";main 1\n", "empty frame name at column 1"},
                         bad{"main; 1\n", "empty frame name"},
                         bad{"   5\n", "has a count but no frames"}}) {
        CAPTURE(c.text);
        CHECK_THROWS_WITH_AS(cpprof::parse_folded(c.text), doctest::Contains(c.message),
                             cpprof::error);
    }
    CHECK_THROWS_WITH_AS(cpprof::parse_folded(std::string("a 1\n\n\nb\0c 2\n", 12)),
                         doctest::Contains("line 4: contains a NUL byte"), cpprof::error);
    CHECK(cpprof::parse_folded("").samples().empty());
    CHECK(cpprof::parse_folded("\n\n# only comments\n").samples().empty());
}

TEST_CASE("folded reader: random bytes and mutations never crash") {
    std::mt19937_64 rng(20261126);
    const std::string valid = "main;run;compute 42\nmain;run 3\nmain;alloc;new 1000\n";
    for (int i = 0; i < 3000; ++i) {
        std::string t = valid;
        const int edits = 1 + static_cast<int>(rng() % 8);
        for (int e = 0; e < edits; ++e) {
            const auto at = static_cast<std::size_t>(rng() % t.size());
            switch (rng() % 3) {
                case 0: t[at] = static_cast<char>(rng()); break;
                case 1: t.erase(at, 1 + rng() % 4); break;
                default: t.insert(at, 1, "; \n0123456789\r#"[rng() % 15]); break;
            }
            if (t.empty()) t = " ";
        }
        try {
            const cpprof::profile p = cpprof::parse_folded(t);
            for (const auto& s : p.samples()) CHECK_FALSE(s.stack.empty());
        } catch (const cpprof::error&) {
        }
    }
}

TEST_CASE("folded reader: the file overload reads files and names the path in errors") {
    cpprof_test::temp_dir dir;
    const std::string good = dir / "stacks.folded", bad = dir / "bad.folded";
    cpprof_test::write_file(good, "main;a 2\nmain;b 3\n");
    cpprof_test::write_file(bad, "main;a 2\nmain;b\n");
    CHECK(cpprof::read_folded(good).total(0) == 5);
    std::string message;
    try {
        (void)cpprof::read_folded(bad);
    } catch (const cpprof::error& e) {
        message = e.what();
    }
    CHECK(message == "cpprof: folded: line 2: has no count (expected \"a;b;c 42\") (in '" + bad + "')");
    CHECK_THROWS_WITH_AS(cpprof::read_folded(dir / "missing.folded"),
                         doctest::Contains("cannot open"), cpprof::error);
}

TEST_CASE("folded reader: reads a pipe, whose size is unknown, as well as a file") {
    // Regular files are read into a buffer of their size; a pipe takes the other path.
    cpprof_test::temp_dir dir;
    std::string text;
    for (int i = 0; i < 20000; ++i)  // ~400 KB: several 64 KiB reads
        text += "main;handler_" + std::to_string(i % 97) + ";leaf " + std::to_string(i + 1) + "\n";
    const std::string file = dir / "stacks.folded";
    cpprof_test::write_file(file, text);
    const std::int64_t expected = std::int64_t{20000} * 20001 / 2;
    CHECK(cpprof::read_folded(file).total(0) == expected);

    const std::string fifo = dir / "stacks.fifo";
    REQUIRE(cpprof_test::run("mkfifo " + cpprof_test::shell_quote(fifo)).exit_code == 0);
    // The writer blocks in open() until read_folded opens the other end.
    std::thread writer([&] { cpprof_test::write_file(fifo, text); });
    CHECK(cpprof::read_folded(fifo).total(0) == expected);
    writer.join();
}

TEST_CASE("folded reader: counts that each fit but add up past 2^63 - 1 are an error, not an overflow") {
    // Found by the fuzzer: two lines of one stack, 8.8e18 each, merged by every writer.
    const cpprof::profile p =
        cpprof::parse_folded("a;b 8818088180808188101\na;b 8818088180808188101\n");
    std::ostringstream os;
    CHECK_THROWS_WITH_AS(cpprof::write_folded(p, os), doctest::Contains("add up to more than 2^63 - 1"),
                         cpprof::error);
    CHECK_THROWS_AS(cpprof::write_flamegraph(p, os), cpprof::error);
    // Different stacks whose total overflows, too.
    const cpprof::profile q =
        cpprof::parse_folded("a;b 8818088180808188101\na;c 8818088180808188101\n");
    CHECK_THROWS_AS(cpprof::write_flamegraph(q, os), cpprof::error);
}
