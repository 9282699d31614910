# ctest helper: build tests/meson_subproject with cpprof as a Meson subproject and run it.
#   -D MESON=... -D SOURCE_DIR=<checkout> -D WORK_DIR=<scratch> -D CXX=... [-D SINGLE_HEADER=ON]
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/src/subprojects")
file(COPY "${SOURCE_DIR}/tests/meson_subproject/meson.build" "${SOURCE_DIR}/tests/cmake/consumer.cpp"
  DESTINATION "${WORK_DIR}/src")
file(CREATE_LINK "${SOURCE_DIR}" "${WORK_DIR}/src/subprojects/cpprof" SYMBOLIC)
set(ENV{CXX} "${CXX}")
set(_opts "")
if(SINGLE_HEADER)
  set(_opts "-Dcpprof:single_header=true")
endif()
foreach(_step
    "setup;${WORK_DIR}/build;${WORK_DIR}/src;${_opts}"
    "compile;-C;${WORK_DIR}/build"
    "test;-C;${WORK_DIR}/build;--print-errorlogs")
  execute_process(COMMAND "${MESON}" ${_step} RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "meson ${_step} failed (${_rc})")
  endif()
endforeach()
