# ctest helper: build tests/meson_subproject's consumer with Meson and run it, finding cpprof
#   as a subproject:  -D MESON=... -D SOURCE_DIR=<checkout> -D WORK_DIR=<scratch> -D CXX=...
#                     [-D SINGLE_HEADER=ON]
#   or installed:     the same plus -D PREFIX=<install prefix> -D DATADIR=<share>: Meson's
#                     dependency('cpprof') through the installed cpprof.pc, subprojects off.
# The consumer's meson.build says dependency('cpprof', fallback: 'cpprof'); each mode forces
# one of the two routes, so neither test passes by taking the other.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/src/subprojects")
file(COPY "${SOURCE_DIR}/tests/meson_subproject/meson.build" "${SOURCE_DIR}/tests/cmake/consumer.cpp"
  DESTINATION "${WORK_DIR}/src")
set(ENV{CXX} "${CXX}")
set(_opts "")
if(PREFIX)
  set(ENV{PKG_CONFIG_PATH} "${PREFIX}/${DATADIR}/pkgconfig")
  list(APPEND _opts "--wrap-mode=nofallback")
else()
  file(CREATE_LINK "${SOURCE_DIR}" "${WORK_DIR}/src/subprojects/cpprof" SYMBOLIC)
  list(APPEND _opts "--force-fallback-for=cpprof")
  if(SINGLE_HEADER)
    list(APPEND _opts "-Dcpprof:single_header=true")
  endif()
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
# Which cpprof Meson took, from its own log: the installed .pc or the subproject.
file(READ "${WORK_DIR}/build/meson-logs/meson-log.txt" _log)
if(PREFIX)
  string(FIND "${_log}" "${PREFIX}/${DATADIR}/pkgconfig" _at)
  if(_at EQUAL -1)
    message(FATAL_ERROR "Meson's log does not show the installed cpprof.pc under ${PREFIX}")
  endif()
endif()
