// Folded-stack writer: exact text for hand-built profiles.
#include <cpprof/output/folded.hpp>

#include <doctest/doctest.h>

#include "support/stack_builder.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using cpprof::frame_id;
using cpprof::label;

using cpprof_test::builder;

std::string folded(const cpprof::profile& p, const cpprof::folded_options& o = {}) {
    std::ostringstream os;
    cpprof::write_folded(p, os, o);
    return os.str();
}

label thread(const std::string& name) { return label{"thread", name, 0, ""}; }

}  // namespace

TEST_CASE("folded: root first, identical stacks merged, in left-to-right flame graph order") {
    builder b;
    auto main = b.fn("main"), run = b.fn("run"), alpha = b.fn("alpha");
    auto compute = b.fn("compute", 10), compute_other_line = b.fn("compute", 20);
    auto at = b.fn("std::vector<int>::operator[]");
    b.add({main, run, compute}, {5});
    b.add({main, alpha}, {2});
    b.add({main, run, compute_other_line}, {4});  // same function, other line: merges
    b.add({main}, {1});
    b.add({main, run, compute, at}, {3});

    CHECK(folded(b.p) ==
          "main;alpha 2\n"
          "main;run;compute;std::vector<int>::operator[] 3\n"
          "main;run;compute 9\n"
          "main 1\n");
}

TEST_CASE("folded: counts the chosen sample type, default the profile's default") {
    builder b({{"samples", "count"}, {"cpu", "nanoseconds"}});
    auto main = b.fn("main"), work = b.fn("work");
    b.add({main, work}, {3, 30000000});
    b.add({main}, {1, 10000000});

    CHECK(folded(b.p) == "main;work 30000000\nmain 10000000\n");  // last type by default
    CHECK(folded(b.p, cpprof::folded_options{}.sample_index(0)) == "main;work 3\nmain 1\n");
    b.p.set_default_sample_index(0);
    CHECK(folded(b.p) == "main;work 3\nmain 1\n");
    CHECK(folded(b.p, cpprof::folded_options{}.sample_index(1)) ==
          "main;work 30000000\nmain 10000000\n");
}

TEST_CASE("folded: separators in names are replaced and unnamed frames show their address") {
    builder b;
    cpprof::frame unknown;
    unknown.address = 0x4005d0;
    auto addr = b.p.intern(unknown);
    auto semi = b.fn("a;b"), nl = b.fn("line\nbreak\r");
    b.add({semi, nl, addr}, {7});
    CHECK(folded(b.p) == "a:b;line break ;0x4005d0 7\n");
}

TEST_CASE("folded: thread names as root frames when asked") {
    builder b;
    auto main = b.fn("main"), work = b.fn("work");
    b.add({main, work}, {2}, {thread("worker-1")});
    b.add({main, work}, {3}, {thread("worker-1")});
    b.add({main}, {1}, {thread("main")});
    b.add({main}, {4}, {label{"thread_id", "", 42, ""}});
    b.add({main}, {5});

    CHECK(folded(b.p) == "main;work 5\nmain 10\n");
    CHECK(folded(b.p, cpprof::folded_options{}.thread_frames(true)) ==
          "[tid 42];main 4\n"
          "[unknown thread];main 5\n"
          "main;main 1\n"
          "worker-1;main;work 5\n");
}

TEST_CASE("folded: nothing is written for values the format cannot hold") {
    builder b;
    auto main = b.fn("main"), a = b.fn("a"), c = b.fn("c"), z = b.fn("z");
    b.add({main, a}, {0});    // zero
    b.add({main, c}, {5});
    b.add({main, c}, {-5});   // merges to zero
    b.add({main, z}, {-3});   // negative
    b.add({}, {9});           // no frames
    b.add({main}, {1});
    CHECK(folded(b.p) == "main 1\n");

    CHECK(folded(cpprof::profile{}).empty());
}

TEST_CASE("folded: a sample index the profile does not have is an error") {
    builder b;
    b.add({b.fn("main")}, {1});
    CHECK_THROWS_WITH_AS(folded(b.p, cpprof::folded_options{}.sample_index(3)),
                         doctest::Contains("sample index 3 is out of range"), cpprof::error);
}

TEST_CASE("folded: the path overload writes the file or names the path and the reason") {
    builder b;
    auto main = b.fn("main"), work = b.fn("work");
    b.add({main, work}, {2});

    const std::string path = (std::filesystem::temp_directory_path() /
                              ("cpprof_folded_" + std::to_string(::getpid()) + ".txt"))
                                 .string();
    cpprof::write_folded(b.p, path);
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text == "main;work 2\n");
    std::remove(path.c_str());

    const std::string bad = "/nonexistent-cpprof-dir/out.folded";
    CHECK_THROWS_WITH_AS(cpprof::write_folded(b.p, bad),
                         doctest::Contains("'/nonexistent-cpprof-dir/out.folded'"), cpprof::error);
    CHECK_THROWS_WITH_AS(cpprof::write_folded(b.p, bad),
                         doctest::Contains("No such file or directory"), cpprof::error);
}
