# ctest helper: the single header with a bare compiler command line, as the README's first
# paragraph promises: `CXX [-std=c++17] -I single_include -pthread consumer.cpp`, then run it.
#   -D CXX=... -D SOURCE_DIR=<checkout> -D WORK_DIR=<scratch> [-D STD_FLAG=-std=c++17]
# STD_FLAG is empty for g++ (C++17 is its default since GCC 11) and -std=c++17 for clang++ 14,
# whose default is still C++14 (the header then stops with a message saying so: checked too).
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(_src "${SOURCE_DIR}/tests/cmake/consumer.cpp")
set(_out "${WORK_DIR}/consumer")
set(_cmd "${CXX}" ${STD_FLAG} -I "${SOURCE_DIR}/single_include" -pthread "${_src}" -o "${_out}")
string(REPLACE ";" " " _shown "${_cmd}")
message(STATUS "${_shown}")
execute_process(COMMAND ${_cmd} RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "the bare command line failed (${_rc}): ${_shown}")
endif()
execute_process(COMMAND "${_out}" RESULT_VARIABLE _rc OUTPUT_VARIABLE _stdout)
message(STATUS "${_stdout}")
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${_out} failed (${_rc})")
endif()

# Too old a language mode is refused with a message naming the fix, not a wall of errors.
execute_process(COMMAND "${CXX}" -std=c++14 -fsyntax-only -I "${SOURCE_DIR}/single_include" "${_src}"
  RESULT_VARIABLE _rc ERROR_VARIABLE _err)
if(_rc EQUAL 0)
  message(FATAL_ERROR "compiling with -std=c++14 succeeded; expected the C++17 #error")
endif()
if(NOT _err MATCHES "cpprof needs C\\+\\+17 or later: compile with -std=c\\+\\+17")
  message(FATAL_ERROR "compiling with -std=c++14 failed without cpprof's message:\n${_err}")
endif()
