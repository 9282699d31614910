#pragma once
// One version source: the top-level VERSION file; a test checks that these agree with it.
#define CPPROF_VERSION_MAJOR 0
#define CPPROF_VERSION_MINOR 1
#define CPPROF_VERSION_PATCH 0
#define CPPROF_VERSION (CPPROF_VERSION_MAJOR * 10000 + CPPROF_VERSION_MINOR * 100 + CPPROF_VERSION_PATCH)
#define CPPROF_VERSION_STRING "0.1.0"

// True when this cpprof is at least MAJOR.MINOR.PATCH, for code that supports several versions:
//     #if CPPROF_VERSION_AT_LEAST(0, 2, 0)
#define CPPROF_VERSION_AT_LEAST(major, minor, patch) \
    (CPPROF_VERSION >= (major) * 10000 + (minor) * 100 + (patch))
