# CPACK_PRE_BUILD_SCRIPTS: runs after cpack staged the components, before it builds the
# packages. Takes the Debian-only files out of the rpm and gives the rpm its state directory
# (the deb's postinst creates it instead, and its postrm removes it on purge).
if(NOT CPACK_TEMPORARY_INSTALL_DIRECTORY)
  message(FATAL_ERROR "prebuild.cmake: CPACK_TEMPORARY_INSTALL_DIRECTORY is not set")
endif()
if(CPACK_GENERATOR STREQUAL "RPM")
  foreach(comp daemon dev)
    set(root "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/${comp}")
    file(REMOVE_RECURSE "${root}/usr/share/lintian")
    file(GLOB debian_changelogs "${root}/usr/share/doc/*/changelog.Debian.gz")
    if(debian_changelogs)
      file(REMOVE ${debian_changelogs})
    endif()
  endforeach()
  file(MAKE_DIRECTORY "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/daemon/var/lib/wallet-eventd")
endif()
