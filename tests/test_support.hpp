#pragma once
// Shared helpers for tests that check our output with real third-party readers
// (`go tool pprof`, xmllint, python3).

#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace test_support {

struct command_result {
    int exit_code = -1;
    std::string output;  ///< stdout and stderr together
};

/// Runs a shell command and captures its output.
inline command_result run(const std::string& command) {
    command_result r;
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    if (!p) return r;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
    int status = ::pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

inline bool have_program(const std::string& name) {
    return run("command -v " + name + " >/dev/null").exit_code == 0;
}

/// A fresh directory for one test's files (kept after the run, for inspection).
inline std::string temp_dir(const std::string& name) {
    const char* base = std::getenv("CPPROF_TEST_OUTPUT");
    std::string dir = std::string(base && *base ? base : "/tmp") + "/cpprof-test-" +
                      std::to_string(::getpid()) + "-" + name;
    run("rm -rf '" + dir + "' && mkdir -p '" + dir + "'");
    return dir;
}

/// `go tool pprof <args> <file>` with a private cache and temp dir, so it works as any user
/// and without network access.
inline command_result go_pprof(const std::string& args, const std::string& file) {
    std::string env = "HOME=/tmp GOCACHE=/tmp/cpprof-gocache GOFLAGS= PPROF_TMPDIR=/tmp ";
    return run(env + "go tool pprof " + args + " '" + file + "'");
}

inline bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace test_support
