#pragma once
// The light instrumentation header: what instrumented translation units include (labels,
// scoped regions, allocation counters). It has a compile-time budget of tens of milliseconds
// (STYLE.md section 3): it must not pull in <string>, <vector>, <iostream>, <thread>, <mutex>
// or <chrono>; <atomic> is the heaviest standard header it may use. A test
// (tests/checks/macros_light.cpp) fails the build when it does.

#include <cpprof/config.hpp>
#include <cpprof/version.hpp>
#include <cpprof/label_guard.hpp>
#include <cpprof/memory/allocation_counter.hpp>
