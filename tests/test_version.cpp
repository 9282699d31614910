// One version source (STYLE.md item 16): the top-level VERSION file, read at run time, must
// agree with the macros in <cpprof/version.hpp>.
#include <cpprof/version.hpp>

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#ifndef CPPROF_TEST_VERSION_FILE
#error "the build passes CPPROF_TEST_VERSION_FILE (path of the top-level VERSION file)"
#endif

TEST_CASE("VERSION file agrees with version.hpp") {
    std::ifstream in(CPPROF_TEST_VERSION_FILE);
    REQUIRE_MESSAGE(in.good(), "cannot open " << CPPROF_TEST_VERSION_FILE);
    std::string text;
    std::getline(in, text);
    while (!text.empty() && (text.back() == '\r' || text.back() == ' ' || text.back() == '\t')) {
        text.pop_back();
    }

    CHECK(text == CPPROF_VERSION_STRING);

    int major = -1, minor = -1, patch = -1;
    char dot1 = 0, dot2 = 0;
    std::istringstream parse(text);
    parse >> major >> dot1 >> minor >> dot2 >> patch;
    REQUIRE_MESSAGE(!parse.fail(), "VERSION must be MAJOR.MINOR.PATCH, got '" << text << "'");
    CHECK(dot1 == '.');
    CHECK(dot2 == '.');
    CHECK(major == CPPROF_VERSION_MAJOR);
    CHECK(minor == CPPROF_VERSION_MINOR);
    CHECK(patch == CPPROF_VERSION_PATCH);
    CHECK(CPPROF_VERSION == major * 10000 + minor * 100 + patch);
}
