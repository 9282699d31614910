# ctest helper: build TARGET in BUILD_DIR (config CONFIG), then run RUN if given.
#   cmake -D BUILD_DIR=... -D TARGET=... [-D CONFIG=...] [-D RUN=...] -P build_and_run.cmake
set(_config_args "")
if(CONFIG)
  set(_config_args --config "${CONFIG}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" ${_config_args} --target "${TARGET}"
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "building ${TARGET} failed (${_rc})")
endif()
if(RUN)
  execute_process(COMMAND "${RUN}" RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "${RUN} failed (${_rc})")
  endif()
endif()
