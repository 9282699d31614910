// The one translation unit of cpprof_tests_heap that replaces operator new/delete, as a user's
// program does in one of its .cpp files.
#define CPPROF_IMPLEMENT_GLOBAL_NEW
#include <cpprof/cpprof.hpp>
