# Run by cpack (CPACK_PROJECT_CONFIG_FILE) before it builds a package: refuses the trees whose
# .deb would be wrong rather than merely different.
if(CPACK_GENERATOR STREQUAL "DEB")
  if(CPACK_SOCKS5D_C_FLAGS MATCHES "-fsanitize")
    message(FATAL_ERROR "this tree is built with sanitizers (${CPACK_SOCKS5D_C_FLAGS}); "
                        "package a RelWithDebInfo tree instead")
  endif()
  # /etc/default/socks5d and the unit's paths were fixed when the tree was configured.
  if(NOT CPACK_SOCKS5D_INSTALL_PREFIX STREQUAL "/usr")
    message(FATAL_ERROR "configure the tree with -DCMAKE_INSTALL_PREFIX=/usr to package it "
                        "(it is ${CPACK_SOCKS5D_INSTALL_PREFIX})")
  endif()
  # The changelog's newest entry is the package's version.
  file(STRINGS "${CPACK_SOCKS5D_CHANGELOG}" changelog_top LIMIT_COUNT 1)
  string(REPLACE "." "\\." version_pattern "${CPACK_PACKAGE_VERSION}")
  if(NOT changelog_top MATCHES "^socks5d \\(${version_pattern}\\) ")
    message(FATAL_ERROR "packaging/changelog has no entry for ${CPACK_PACKAGE_VERSION} at "
                        "the top (${changelog_top})")
  endif()
endif()
