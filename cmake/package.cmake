# Installation and the Debian package.
#
#   cmake --install build [--prefix DIR]      the binary, the manual and the changelog
#   (cd build && cpack -G DEB)                evalgate_<version>_amd64.deb
#
# The binary is all evalgate needs at run time (the scorer prompts and the HTML
# report's assets are compiled into it), with <libdir>/evalgate/pii_phone.so,
# the libphonenumber module the pii scorer opens when it looks for phones, and
# <libdir>/evalgate/json_schema.so, the validator the json-schema scorer opens. The package's dependencies are the shared
# libraries the binary links, found by dpkg-shlibdeps (so they name Debian's
# runtime packages: libcjson1, libpcre2-8-0, libsqlite3-0, ...), and libcurl4,
# which the binary opens when something first speaks HTTP through it
# (runner/util/curl_load.h): dpkg-shlibdeps cannot see it, so it is named here,
# at the version whose headers the build used.
include(GNUInstallDirs)

install(TARGETS evalgate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# the modules the pii and json-schema scorers open (scorers/module.h)
install(TARGETS eg_pii_phone_module eg_json_schema_module LIBRARY DESTINATION ${EG_PKGLIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md")

set(CPACK_PACKAGE_NAME evalgate)
set(CPACK_PACKAGE_VENDOR evalgate)
set(CPACK_PACKAGE_CONTACT "evalgate maintainers <evalgate@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "CI evaluation and release-gate runner for LLM applications")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # evalgate_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libcurl4 (>= ${CURL_VERSION})")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/evalgate/evalgate")
set(CPACK_GENERATOR DEB)
include(CPack)
