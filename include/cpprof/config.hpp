#pragma once
// Compile-time configuration. Every macro has a default here and may be set on the command line.
//
//   CPPROF_ENABLED   1 (default) or 0. With 0 every guard becomes an empty inline no-op, so
//                    instrumented code can ship with profiling compiled out.

#if !defined(__cplusplus) || __cplusplus < 201703L
#error "cpprof needs C++17 or later: compile with -std=c++17 (clang 14 and older default to C++14)"
#endif

#ifndef CPPROF_ENABLED
#define CPPROF_ENABLED 1
#endif

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#define CPPROF_PLATFORM_SUPPORTED 1
#else
#define CPPROF_PLATFORM_SUPPORTED 0
#endif

// Lazy instantiation (the "dummy template parameter" idiom). Including a header should cost
// only its declarations: a non-template `inline` function that uses standard templates
// (std::sort, std::vector<std::string>, std::unordered_map, ...) makes EVERY translation unit
// that includes it instantiate them, even one that never calls it. So cpprof's heavier code is
// written as templates that nobody has to spell:
//
//     template <class = void> class basic_symbolizer { ... };   // members: instantiated on use
//     using symbolizer = basic_symbolizer<>;
//
//     template <class = void>                                    // called as encode_pprof(p)
//     std::string encode_pprof(const profile& p) { ... }
//
// The parameter is never deduced, so calls read exactly as for a plain function. Anything a
// template calls must be lazy too (a non-template wrapper around it would instantiate it), and
// a template that builds one of these classes names it with its own parameter
// (`basic_pprof_encoder<T>(p)`) so that not even the class is instantiated until it is used.
// Tables that used to be computed by constexpr at compile time are built once at run time into
// function-local statics, for the same reason. Headers that use the idiom refer to this note.
