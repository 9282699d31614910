// A consumer's program, shared by the consumer tests (add_subdirectory, FetchContent,
// find_package, pkg-config): the umbrella header through cpprof::cpprof. It includes only
// <cpprof/cpprof.hpp>, the one header that exists in both distributions (include/ and
// single_include/).
#include <cpprof/cpprof.hpp>

#include <cstdio>

int main() {
    std::printf("consumer built against cpprof %s\n", CPPROF_VERSION_STRING);
    return cpprof::standard::frequency == 100 ? 0 : 1;
}
