// <cpprof/macros.hpp> is what every instrumented translation unit includes, so it has a
// compile-time budget (STYLE.md section 3: tens of milliseconds). The standard headers that
// would blow it are refused here; <atomic> is the heaviest one it may use.
#include <cpprof/macros.hpp>

#if defined(_GLIBCXX_STRING) || defined(_LIBCPP_STRING)
#error "cpprof/macros.hpp must stay light, but it pulls in <string>"
#endif
#if defined(_GLIBCXX_VECTOR) || defined(_LIBCPP_VECTOR)
#error "cpprof/macros.hpp must stay light, but it pulls in <vector>"
#endif
#if defined(_GLIBCXX_IOSTREAM) || defined(_LIBCPP_IOSTREAM)
#error "cpprof/macros.hpp must stay light, but it pulls in <iostream>"
#endif
#if defined(_GLIBCXX_THREAD) || defined(_LIBCPP_THREAD)
#error "cpprof/macros.hpp must stay light, but it pulls in <thread>"
#endif
#if defined(_GLIBCXX_MUTEX) || defined(_LIBCPP_MUTEX)
#error "cpprof/macros.hpp must stay light, but it pulls in <mutex>"
#endif
#if defined(_GLIBCXX_CHRONO) || defined(_LIBCPP_CHRONO)
#error "cpprof/macros.hpp must stay light, but it pulls in <chrono>"
#endif
