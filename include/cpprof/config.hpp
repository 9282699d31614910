#pragma once
// Compile-time configuration. Every macro has a default here and may be set on the command line.
//
//   CPPROF_ENABLED   1 (default) or 0. With 0 every guard becomes an empty inline no-op, so
//                    instrumented code can ship with profiling compiled out.

#ifndef CPPROF_ENABLED
#define CPPROF_ENABLED 1
#endif

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#define CPPROF_PLATFORM_SUPPORTED 1
#else
#define CPPROF_PLATFORM_SUPPORTED 0
#endif
