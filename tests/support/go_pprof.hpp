#pragma once
// `go tool pprof`, the reference reader, run on files our tests write.

#include "external.hpp"

#include <doctest/doctest.h>

#include <string>

namespace cpprof_test {

/// Runs `go tool pprof` on files in a private directory. pprof wants a HOME and a writable
/// PPROF_TMPDIR; GOCACHE keeps the go command from touching the user's cache.
class go_pprof {
public:
    static bool available() {
        static const bool yes = cpprof_test::on_path("go");
        return yes;
    }
    std::string file(const std::string& name) const { return dir_ / name; }
    /// Standard output and error of `go tool pprof <args> <file>`; checks the exit code.
    std::string run(const std::string& args, const std::string& file, int expected_exit = 0) const {
        const std::string env = "HOME=" + cpprof_test::shell_quote(dir_.path()) +
                                " GOCACHE=" + cpprof_test::shell_quote(dir_ / "gocache") +
                                " PPROF_TMPDIR=" + cpprof_test::shell_quote(dir_.path());
        const auto r = cpprof_test::run(env + " go tool pprof " + args + " " +
                                        cpprof_test::shell_quote(file) + " 2>&1");
        INFO("go tool pprof " << args << " " << file << "\n" << r.out);
        CHECK(r.exit_code == expected_exit);
        return r.out;
    }

private:
    cpprof_test::temp_dir dir_;
};

#define REQUIRE_GO_TOOL_PPROF()                                                              \
    do {                                                                                     \
        if (!cpprof_test::go_pprof::available()) {                                                        \
            MESSAGE("SKIPPED: `go` is not on PATH, so `go tool pprof` cannot read the output " \
                    "(install Debian's golang-go)");                                         \
            return;                                                                          \
        }                                                                                    \
    } while (0)

}  // namespace cpprof_test
