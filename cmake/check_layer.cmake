# The layering test (tests/CMakeLists.txt, "layers: ..."): compiles, preprocessor only, one probe
# per folder of our code against the include path a library's own sources compile with, and
# checks that exactly the folders of the library's layer and the layers below it resolve.
#
# -D CXX=<compiler> -D LIBRARY=<target name, for messages>
# -D DIRS=<the library's include directories, '|'-separated>
# -D PROBES=<header, '|'-separated> -D ALLOWED=<header, '|'-separated; a subset of PROBES>
# -D WORK=<a scratch directory>
string(REPLACE "|" ";" dirs "${DIRS}")
string(REPLACE "|" ";" probes "${PROBES}")
string(REPLACE "|" ";" allowed "${ALLOWED}")
set(flags -std=c++17 -E -o /dev/null)
foreach(d ${dirs})
  list(APPEND flags -I${d})
endforeach()
file(MAKE_DIRECTORY ${WORK})
set(failures "")
foreach(header ${probes})
  string(MAKE_C_IDENTIFIER "${header}" id)
  set(probe ${WORK}/${id}.cpp)
  file(WRITE ${probe} "#include \"${header}\"\n")
  execute_process(COMMAND ${CXX} ${flags} ${probe} RESULT_VARIABLE rc ERROR_VARIABLE err
                  OUTPUT_QUIET)
  list(FIND allowed ${header} i)
  if(i GREATER -1)
    if(NOT rc EQUAL 0)
      string(APPEND failures "  ${header}: allowed in ${LIBRARY}, but does not compile:\n${err}\n")
    endif()
  else()
    # Refused means: this very header is not found (g++'s wording, or clang's in the sanitized
    # build). Any other error proves nothing.
    if(rc EQUAL 0)
      string(APPEND failures "  ${header}: a higher layer's header, but ${LIBRARY} can include it\n")
    elseif(NOT err MATCHES "(${header}: No such file or directory|'${header}' file not found)")
      string(APPEND failures "  ${header}: expected 'not found' in ${LIBRARY}, got:\n${err}\n")
    endif()
  endif()
endforeach()
if(failures)
  message(FATAL_ERROR "layering of ${LIBRARY} broken:\n${failures}")
endif()
list(LENGTH probes n)
list(LENGTH allowed a)
message(STATUS "${LIBRARY}: ${a} of ${n} probes resolve, as the layers allow")
