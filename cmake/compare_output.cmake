# ctest helper: run PROGRAM, write its standard output to ACTUAL, compare with EXPECTED.
execute_process(COMMAND "${PROGRAM}" OUTPUT_VARIABLE _out RESULT_VARIABLE _rc)
file(WRITE "${ACTUAL}" "${_out}")
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with ${_rc}")
endif()
file(READ "${EXPECTED}" _expected)
if(NOT _out STREQUAL _expected)
  message(FATAL_ERROR "output of ${PROGRAM} differs from ${EXPECTED}\n"
                      "--- expected ---\n${_expected}\n--- actual (${ACTUAL}) ---\n${_out}")
endif()
