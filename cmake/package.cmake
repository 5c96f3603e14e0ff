# Install rules and the Debian package (scripts/package; docs/operations.md "Installing the
# package"). Included at the end of the top-level CMakeLists.txt, after every target exists.
#
# Layout (prefix /usr, the default here):
#   /usr/bin/switchboard, /usr/bin/switchboard-loadtest
#   /etc/switchboard/switchboard.yaml           the example config, storage.path /var/lib/switchboard
#   /lib/systemd/system/switchboard.service     deploy/systemd/switchboard.service
#   /usr/lib/sysusers.d/switchboard.conf        the system user `switchboard`
#   /usr/share/doc/switchboard/                 README.md, docs/, loadtest/README.md (the tree's
#                                               layout, so the README's links work), copyright,
#                                               changelog.gz, examples/
#   /usr/share/man/man1/                        switchboard.1, switchboard-loadtest.1
# switchboard-bench and switchboard-loopback (loadtest/) measure the build tree itself and are
# not installed.

# A service goes where systemd and dpkg look, and where the unit's ExecStart= points: prefix /usr
# (the package's, CPACK_PACKAGING_INSTALL_PREFIX) unless another than the default was chosen.
if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT OR CMAKE_INSTALL_PREFIX STREQUAL "/usr/local")
  set(CMAKE_INSTALL_PREFIX /usr CACHE PATH "Install prefix (the package's: /usr)" FORCE)
endif()
include(GNUInstallDirs)

set(SB_PACKAGE_MAINTAINER "Switchboard maintainers <maintainers@switchboard.example>"
    CACHE STRING "The .deb's Maintainer (and the changelog's and copyright's contact)")
set(SB_PACKAGE_HOMEPAGE "" CACHE STRING "The .deb's Homepage (omitted when empty)")

set(_sb_pkg_src ${PROJECT_SOURCE_DIR}/deploy)
set(_sb_pkg_gen ${CMAKE_BINARY_DIR}/package-files)
file(MAKE_DIRECTORY ${_sb_pkg_gen})
set(_sb_example_config ${PROJECT_SOURCE_DIR}/config/switchboard.example.yaml)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${_sb_example_config} ${_sb_pkg_src}/debian/copyright.in ${_sb_pkg_src}/debian/changelog.in
  ${_sb_pkg_src}/man/switchboard.1 ${_sb_pkg_src}/man/switchboard-loadtest.1)

# The config and the unit go to Debian 12's places, absolute whatever the prefix (stage an
# install with DESTDIR=, not with another prefix); the rest is below the prefix.
set(SB_INSTALL_CONFDIR /etc/switchboard)
set(SB_INSTALL_UNITDIR /lib/systemd/system)

# The packaged config: the example (one source, so the two cannot drift) with storage.path in
# the unit's StateDirectory. The example's secrets stay DEV-ONLY fallbacks of ${VAR}s and it
# listens on loopback only; postinst gives the machine its own master key
# (/etc/switchboard/switchboard.env). tests/package/check_package.sh runs --check-config on it.
file(READ ${_sb_example_config} _sb_yaml)
string(REGEX MATCHALL "\n  path: \\./data\n" _sb_path_lines "${_sb_yaml}")
list(LENGTH _sb_path_lines _sb_path_count)
if(NOT _sb_path_count EQUAL 1)
  message(FATAL_ERROR "cmake/package.cmake: ${_sb_example_config} must have exactly one "
                      "'  path: ./data' line (storage.path), which the packaged config replaces")
endif()
string(REPLACE "\n  path: ./data\n" "\n  path: /var/lib/switchboard  # the unit's StateDirectory\n"
       _sb_yaml "${_sb_yaml}")
set(_sb_yaml_header [=[# /etc/switchboard/switchboard.yaml: the configuration of switchboard.service, installed by the
# switchboard package from the source tree's config/switchboard.example.yaml with storage.path set
# to the service's state directory. Edit it, check it with
# `switchboard --check-config /etc/switchboard/switchboard.yaml`, then `systemctl reload switchboard`.
# The ${VAR}s below come from /etc/switchboard/switchboard.env (mode 0600), where the package put
# a master key of this machine's own: set the channels' secrets there too.
#
]=])
file(WRITE ${_sb_pkg_gen}/switchboard.yaml.in "${_sb_yaml_header}${_sb_yaml}")
configure_file(${_sb_pkg_gen}/switchboard.yaml.in ${_sb_pkg_gen}/switchboard.yaml COPYONLY)

# copyright and the changelog (gzip -9n: no timestamp in the header, as lintian wants). The
# changelog's date is the last commit's, so a rebuild of the same tree gives the same file.
configure_file(${_sb_pkg_src}/debian/copyright.in ${_sb_pkg_gen}/copyright @ONLY)
execute_process(COMMAND git -C ${PROJECT_SOURCE_DIR} log -1 --format=%cD
                OUTPUT_VARIABLE SB_PACKAGE_DATE OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE _sb_git_result ERROR_QUIET)
if(NOT _sb_git_result EQUAL 0 OR SB_PACKAGE_DATE STREQUAL "")
  string(TIMESTAMP SB_PACKAGE_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
endif()
configure_file(${_sb_pkg_src}/debian/changelog.in ${_sb_pkg_gen}/changelog @ONLY)
foreach(_sb_gz changelog switchboard.1 switchboard-loadtest.1)
  if(_sb_gz STREQUAL "changelog")
    set(_sb_gz_in ${_sb_pkg_gen}/changelog)
  else()
    set(_sb_gz_in ${_sb_pkg_src}/man/${_sb_gz})
  endif()
  execute_process(COMMAND gzip -9n -c ${_sb_gz_in} OUTPUT_FILE ${_sb_pkg_gen}/${_sb_gz}.gz
                  RESULT_VARIABLE _sb_gz_result)
  if(NOT _sb_gz_result EQUAL 0)
    message(FATAL_ERROR "cmake/package.cmake: gzip ${_sb_gz_in} failed")
  endif()
endforeach()

install(TARGETS switchboard switchboard-loadtest RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${_sb_pkg_gen}/switchboard.yaml DESTINATION ${SB_INSTALL_CONFDIR})
install(FILES ${_sb_pkg_src}/systemd/switchboard.service DESTINATION ${SB_INSTALL_UNITDIR})
install(FILES ${_sb_pkg_src}/systemd/switchboard.sysusers
        DESTINATION lib/sysusers.d RENAME switchboard.conf)
install(FILES ${_sb_pkg_gen}/switchboard.1.gz ${_sb_pkg_gen}/switchboard-loadtest.1.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${_sb_pkg_gen}/copyright ${_sb_pkg_gen}/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB _sb_docs ${PROJECT_SOURCE_DIR}/docs/*.md ${PROJECT_SOURCE_DIR}/docs/*.json)
install(FILES ${_sb_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/images DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
install(FILES ${PROJECT_SOURCE_DIR}/loadtest/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}/loadtest)
file(GLOB _sb_scenarios ${PROJECT_SOURCE_DIR}/loadtest/scenarios/*.yaml)
install(FILES ${_sb_scenarios} DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/loadtest)
# The monitoring files of deploy/ (alert rules, dashboards), where present.
foreach(_sb_dir prometheus grafana)
  if(IS_DIRECTORY ${_sb_pkg_src}/${_sb_dir})
    install(DIRECTORY ${_sb_pkg_src}/${_sb_dir} DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
  endif()
endforeach()

# The .deb (`scripts/package`, or `cpack -G DEB` in the build directory). Packaging needs only
# the two installed binaries: `install` (and cpack's preinstall step) does not build `all`, the
# test suite included; build them first (scripts/package does).
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME switchboard)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${SB_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "messaging gateway between chat platforms and your backend")
set(CPACK_PACKAGE_DESCRIPTION "\
Switchboard receives the webhooks of WhatsApp, Telegram, Messenger, Instagram,
Slack, e-mail, Shopify, WooCommerce and HubSpot, verifies each one, normalizes
every event into one schema, stores it (SQLite or PostgreSQL, encrypted at
rest) and serves one stream to your backend: Server-Sent Events, a pull API or
signed HTTP push. Backends answer customers through it.

The package installs the gateway, its load tester, a sandboxed systemd unit
(not enabled) and a configuration that listens on loopback only.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES TRUE)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
if(SB_PACKAGE_HOMEPAGE)
  set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${SB_PACKAGE_HOMEPAGE}")
endif()
# The shared libraries' packages come from dpkg-shlibdeps; adduser is postinst's fallback where
# systemd-sysusers is missing; ca-certificates for the platforms' HTTPS APIs.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_sb_pkg_src}/debian/conffiles ${_sb_pkg_src}/debian/postinst ${_sb_pkg_src}/debian/prerm
    ${_sb_pkg_src}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
