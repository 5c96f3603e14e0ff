# A compile-fail test (tests/CMakeLists.txt): compiles SOURCE, syntax only, once with
# -DSB_CASE_ok, which must succeed (so a failure below is the mistake's, not a broken probe),
# then with -DSB_CASE_<CASE>, which must fail with an error matching EXPECT.
#
# -D CXX=<compiler> -D SOURCE=<file> -D CASE=<name> -D EXPECT=<regex>
# -D DIRS=<include directories, '|'-separated>
string(REPLACE "|" ";" dirs "${DIRS}")
set(flags -std=c++17 -fsyntax-only)
foreach(d ${dirs})
  list(APPEND flags -I${d})
endforeach()
execute_process(COMMAND ${CXX} ${flags} -DSB_CASE_ok ${SOURCE} RESULT_VARIABLE rc
                ERROR_VARIABLE err OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the correct case of ${SOURCE} does not compile:\n${err}")
endif()
execute_process(COMMAND ${CXX} ${flags} -DSB_CASE_${CASE} ${SOURCE} RESULT_VARIABLE rc
                ERROR_VARIABLE err OUTPUT_QUIET)
if(rc EQUAL 0)
  message(FATAL_ERROR "case ${CASE} of ${SOURCE} compiles: the mistake is no longer caught")
elseif(NOT err MATCHES "${EXPECT}")
  message(FATAL_ERROR "case ${CASE} of ${SOURCE} fails, but not with /${EXPECT}/:\n${err}")
endif()
message(STATUS "case ${CASE}: refused by the compiler, as it should be")
