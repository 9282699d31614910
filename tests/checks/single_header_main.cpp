// The single header as a user compiles it: only single_include/ on the include path,
// -Wall -Wextra -Wpedantic -Werror, built once with CPPROF_ENABLED=1 and once with 0.
// Two translation units include it and are linked together, so anything defined in the header
// that is not inline (or a template) fails to link. This one also emits the global operator
// new/delete replacement, as one .cpp file of a user's program does.
#define CPPROF_IMPLEMENT_GLOBAL_NEW
#include <cpprof/cpprof.hpp>
#include <cpprof/cpprof.hpp>  // the include guard makes the second include a no-op

#if !defined(CPPROF_SINGLE_INCLUDE_CPPROF_HPP)
#error "this must compile against single_include/cpprof/cpprof.hpp"
#endif

#include <cstdio>
#include <cstring>
#include <memory>

int cpprof_single_header_second_tu();

int main() {
    static_assert(CPPROF_VERSION == CPPROF_VERSION_MAJOR * 10000 + CPPROF_VERSION_MINOR * 100 +
                                        CPPROF_VERSION_PATCH,
                  "CPPROF_VERSION must agree with its parts");
    std::printf("cpprof %s, CPPROF_ENABLED=%d\n", CPPROF_VERSION_STRING, CPPROF_ENABLED);
    cpprof::allocation_counter c;
    auto block = std::make_unique<int[]>(10);
    asm volatile("" : : "r"(block.get()) : "memory");  // or the compiler may elide the pair
    if (c.allocations() != (CPPROF_ENABLED ? 1u : 0u) || c.bytes() != (CPPROF_ENABLED ? 40u : 0u)) {
        std::printf("allocation_counter saw %llu allocations of %llu bytes\n",
                    static_cast<unsigned long long>(c.allocations()),
                    static_cast<unsigned long long>(c.bytes()));
        return 1;
    }
    return cpprof_single_header_second_tu() == cpprof::standard::frequency ? 0 : 1;
}
