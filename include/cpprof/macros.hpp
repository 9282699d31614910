#pragma once
// The light instrumentation header: what instrumented translation units include (labels:
// label_guard and CPPROF_LABEL; allocation counters). It has a compile-time budget of 50 ms
// over an empty translation unit (STYLE.md section 3, issue 6), checked by ctest's
// macros_include_cost (tools/check_include_cost.sh; about 12 ms with g++ 12 now): it must not
// pull in <string>, <vector>, <iostream>, <thread>, <mutex> or <chrono> (checked by
// tests/checks/macros_light.cpp), and it no longer needs <atomic> either (the __atomic
// builtins do), which alone would take most of the budget.

#include <cpprof/config.hpp>
#include <cpprof/version.hpp>
#include <cpprof/label_guard.hpp>
#include <cpprof/memory/allocation_counter.hpp>
