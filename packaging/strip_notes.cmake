# Run by cpack (CPACK_PRE_BUILD_SCRIPTS) once the files are staged and CPACK_STRIP_FILES has
# stripped the binaries: drops the two sections plain strip keeps and dh_strip removes, the
# compilers' .comment and .note.
foreach(binary IN ITEMS usr/sbin/socks5d usr/bin/socks5ctl)
  set(path "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/${binary}")
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "${binary} is not staged in ${CPACK_TEMPORARY_INSTALL_DIRECTORY}")
  endif()
  execute_process(COMMAND "${CPACK_SOCKS5D_STRIP}" --remove-section=.comment
                          --remove-section=.note "${path}"
                  COMMAND_ERROR_IS_FATAL ANY)
endforeach()
