# Writes the manual page (gzipped, without a timestamp) and the bash completion that the
# binary BIN prints from its own CLI definition, into the folder OUT.
execute_process(COMMAND ${BIN} self-doc man OUTPUT_FILE ${OUT}/roofaudit.1 RESULT_VARIABLE man_result)
execute_process(COMMAND ${BIN} self-doc bash OUTPUT_FILE ${OUT}/roofaudit.bash-completion RESULT_VARIABLE bash_result)
if(NOT man_result EQUAL 0 OR NOT bash_result EQUAL 0)
  message(FATAL_ERROR "roofaudit self-doc failed: man ${man_result}, bash ${bash_result}")
endif()
execute_process(COMMAND gzip -9nf ${OUT}/roofaudit.1 RESULT_VARIABLE gzip_result)
if(NOT gzip_result EQUAL 0)
  message(FATAL_ERROR "gzip of the manual page failed: ${gzip_result}")
endif()
