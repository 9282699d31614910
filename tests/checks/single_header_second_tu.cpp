// Second translation unit of the single-header check (see single_header_main.cpp).
#include <cpprof/cpprof.hpp>

int cpprof_single_header_second_tu() {
    cpprof::profile p;
    (void)p;
    return cpprof::standard::frequency;
}
