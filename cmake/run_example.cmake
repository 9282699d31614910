# ctest/meson helper: run an example and check what it says it wrote.
#   cmake -D PROGRAM=<exe> [-D "ARGS=a;b"] -D DIR=<working dir> -D ACTUAL=<file> -P run_example.cmake
# Fails when the program exits non-zero, and when a line of its standard output names a file
# it wrote ("wrote <path>", several per line allowed) that does not exist or is empty
# (a path ending in '/' names a directory, which must exist). The output is kept in ACTUAL.
execute_process(COMMAND "${PROGRAM}" ${ARGS}
  WORKING_DIRECTORY "${DIR}"
  OUTPUT_VARIABLE _out ERROR_VARIABLE _err RESULT_VARIABLE _rc)
file(WRITE "${ACTUAL}" "${_out}")
message("${_out}")
if(NOT _err STREQUAL "")
  message("--- stderr ---\n${_err}")
endif()
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} ${ARGS} exited with ${_rc}")
endif()
string(REGEX MATCHALL "wrote [^ \t\r\n,;:()]+" _wrote "${_out}")
set(_checked 0)
foreach(_w IN LISTS _wrote)
  string(REGEX REPLACE "^wrote " "" _path "${_w}")
  string(REGEX REPLACE "[.]$" "" _path "${_path}")  # end of a sentence
  if(NOT IS_ABSOLUTE "${_path}")
    set(_path "${DIR}/${_path}")
  endif()
  if(_path MATCHES "/$")
    if(NOT IS_DIRECTORY "${_path}")
      message(FATAL_ERROR "${PROGRAM} says it wrote the directory ${_path}, which does not exist")
    endif()
  elseif(NOT EXISTS "${_path}")
    message(FATAL_ERROR "${PROGRAM} says it wrote ${_path}, which does not exist")
  else()
    file(SIZE "${_path}" _size)
    if(_size EQUAL 0)
      message(FATAL_ERROR "${PROGRAM} says it wrote ${_path}, which is empty")
    endif()
  endif()
  math(EXPR _checked "${_checked} + 1")
endforeach()
message("run_example: exit 0, ${_checked} written file(s) checked")
