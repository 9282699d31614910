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
#ifndef CPPROF_TEST_CHANGELOG_FILE
#error "the build passes CPPROF_TEST_CHANGELOG_FILE (path of the top-level CHANGELOG.md)"
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

TEST_CASE("CPPROF_VERSION_AT_LEAST compares with the macros") {
    static_assert(CPPROF_VERSION_AT_LEAST(0, 0, 0), "every version is at least 0.0.0");
    CHECK(CPPROF_VERSION_AT_LEAST(CPPROF_VERSION_MAJOR, CPPROF_VERSION_MINOR, CPPROF_VERSION_PATCH));
    CHECK_FALSE(CPPROF_VERSION_AT_LEAST(CPPROF_VERSION_MAJOR, CPPROF_VERSION_MINOR, CPPROF_VERSION_PATCH + 1));
    CHECK_FALSE(CPPROF_VERSION_AT_LEAST(CPPROF_VERSION_MAJOR, CPPROF_VERSION_MINOR + 1, 0));
    CHECK_FALSE(CPPROF_VERSION_AT_LEAST(CPPROF_VERSION_MAJOR + 1, 0, 0));
    if (CPPROF_VERSION_PATCH > 0) CHECK(CPPROF_VERSION_AT_LEAST(CPPROF_VERSION_MAJOR, CPPROF_VERSION_MINOR, 0));
}

TEST_CASE("CHANGELOG.md has an entry for the VERSION") {
    std::ifstream in(CPPROF_TEST_CHANGELOG_FILE);
    REQUIRE_MESSAGE(in.good(), "cannot open " << CPPROF_TEST_CHANGELOG_FILE);
    const std::string heading = std::string("## [") + CPPROF_VERSION_STRING + "]";
    bool found = false;
    for (std::string line; std::getline(in, line);) {
        if (line.compare(0, heading.size(), heading) == 0) found = true;
    }
    CHECK_MESSAGE(found, "CHANGELOG.md has no heading starting '" << heading << "'");
}
