# ctest helper: the installed command-line tool CLI (PREFIX/bin/cpprof) exists, reports VERSION
# and works from the install tree: folded stacks -> pprof -> top table.
if(NOT EXISTS "${CLI}")
  message(FATAL_ERROR "cmake --install did not put the cpprof tool at ${CLI}")
endif()
execute_process(COMMAND "${CLI}" --version OUTPUT_VARIABLE _out RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0 OR NOT _out STREQUAL "cpprof ${VERSION}\n")
  message(FATAL_ERROR "${CLI} --version: exit ${_rc}, printed '${_out}' (expected 'cpprof ${VERSION}')")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
file(WRITE "${WORK_DIR}/stacks.folded" "main;run;compute 42\nmain;run 3\n")
execute_process(COMMAND "${CLI}" convert stacks.folded -o stacks.pb.gz
  WORKING_DIRECTORY "${WORK_DIR}" RESULT_VARIABLE _rc ERROR_VARIABLE _err)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${CLI} convert: exit ${_rc}: ${_err}")
endif()
execute_process(COMMAND "${CLI}" top stacks.pb.gz
  WORKING_DIRECTORY "${WORK_DIR}" OUTPUT_VARIABLE _out RESULT_VARIABLE _rc ERROR_VARIABLE _err)
if(NOT _rc EQUAL 0 OR NOT _out MATCHES "1 +93\\.33% +42 +93\\.33% +42 +compute")
  message(FATAL_ERROR "${CLI} top: exit ${_rc}, printed:\n${_out}${_err}")
endif()
message(STATUS "${CLI}: ${VERSION}, convert and top work")
