# Runs the fuzzer for SECONDS from a fresh seed corpus; fails on any crash.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus)
execute_process(COMMAND ${MAKE_CORPUS} ${WORK}/corpus RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "corpus generation failed")
endif()
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -rss_limit_mb=1024 -max_len=4096
          -artifact_prefix=${WORK}/ ${WORK}/corpus
  RESULT_VARIABLE rc
  ERROR_VARIABLE log)
string(REGEX MATCH "Done [0-9]+ runs" done "${log}")
message(STATUS "codec_fuzzer: ${done}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "codec_fuzzer found a problem (exit ${rc}):\n${log}")
endif()
