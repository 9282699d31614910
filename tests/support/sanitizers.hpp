#pragma once
// Which sanitizer this test executable is built with, for tests whose premise a sanitizer
// changes (deferred signals under ThreadSanitizer, allocators that are not fork-safe).

#if defined(__SANITIZE_THREAD__)
#define CPPROF_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CPPROF_TEST_TSAN 1
#endif
#endif
#ifndef CPPROF_TEST_TSAN
#define CPPROF_TEST_TSAN 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define CPPROF_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CPPROF_TEST_ASAN 1
#endif
#endif
#ifndef CPPROF_TEST_ASAN
#define CPPROF_TEST_ASAN 0
#endif
