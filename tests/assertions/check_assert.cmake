# Runs `PROGRAM KIND` (tests/assertions/out_of_range.cpp) and checks contract D: stderr holds
# exactly one line `qkv-assert: tests/assertions/out_of_range.cpp:<line>: ...`, where <line>
# is the source line marked "out of range (<what>)", and the program aborted.
foreach(variable IN ITEMS PROGRAM KIND SOURCE)
  if(NOT DEFINED ${variable})
    message(FATAL_ERROR "usage: cmake -DPROGRAM=... -DKIND=eigen|vector -DSOURCE=... "
                        "-P ${CMAKE_CURRENT_LIST_FILE}")
  endif()
endforeach()
if(KIND STREQUAL "eigen")
  set(marker "// out of range (Eigen)")
  set(checker "Eigen checked: ")
else()
  set(marker "// out of range (std::vector)")
  set(checker "the standard library checked: ")
endif()

# The expected line: where the marker is, so that editing the program cannot break the test.
file(STRINGS "${SOURCE}" lines)
set(expected_line 0)
set(number 0)
foreach(line IN LISTS lines)
  math(EXPR number "${number} + 1")
  string(FIND "${line}" "${marker}" at)
  if(at GREATER -1)
    set(expected_line ${number})
    break()
  endif()
endforeach()
if(expected_line EQUAL 0)
  message(FATAL_ERROR "no line marked '${marker}' in ${SOURCE}")
endif()

execute_process(COMMAND "${PROGRAM}" "${KIND}" RESULT_VARIABLE result OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
set(expected "qkv-assert: tests/assertions/out_of_range.cpp:${expected_line}: ${checker}")
string(REGEX MATCHALL "qkv-assert: [^\n]*" reports "${err}")
list(LENGTH reports count)
string(FIND "${err}" "${expected}" found)
if(NOT count EQUAL 1 OR found EQUAL -1)
  message(FATAL_ERROR "expected one line starting\n  ${expected}\non stderr; got ${count} "
                      "qkv-assert lines in:\n${err}")
endif()
# execute_process reports a signal as text ("Child aborted" for SIGABRT), an exit as a number.
if(NOT result MATCHES "[Aa]bort")
  message(FATAL_ERROR "expected the program to abort (SIGABRT), got: ${result}\n${err}")
endif()
message(STATUS "ok: ${reports} (${result})")
