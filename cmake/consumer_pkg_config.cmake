# ctest helper: compile SOURCE with the flags `pkg-config --cflags --libs cpprof` gives for the
# tree installed in PREFIX, then run it.
set(ENV{PKG_CONFIG_PATH} "${PREFIX}/${DATADIR}/pkgconfig")
execute_process(COMMAND "${PKG_CONFIG}" --cflags --libs cpprof
  OUTPUT_VARIABLE _flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "pkg-config --cflags --libs cpprof failed (${_rc}); PKG_CONFIG_PATH=$ENV{PKG_CONFIG_PATH}")
endif()
message(STATUS "pkg-config cpprof: ${_flags}")
separate_arguments(_flags UNIX_COMMAND "${_flags}")
get_filename_component(_dir "${OUTPUT}" DIRECTORY)
file(MAKE_DIRECTORY "${_dir}")
execute_process(COMMAND "${CXX}" -std=c++17 -Wall -Wextra -Werror "${SOURCE}" -o "${OUTPUT}" ${_flags}
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "compiling ${SOURCE} with the pkg-config flags failed (${_rc})")
endif()
execute_process(COMMAND "${OUTPUT}" RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${OUTPUT} failed (${_rc})")
endif()
