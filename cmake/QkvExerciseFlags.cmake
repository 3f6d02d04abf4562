# How the exercise tests are compiled, apart from the library they test (included by
# exercises/CMakeLists.txt). Two goals, measured by scripts/verdict-times.sh:
#  - checks on: an out-of-range index stops the test at the learner's line instead of
#    corrupting memory. Eigen's assertions (no NDEBUG) and libstdc++'s (_GLIBCXX_ASSERTIONS)
#    stay on in every build type; neither changes a type's layout or a function's ABI (Eigen
#    reads NDEBUG only in function bodies; libstdc++ documents _GLIBCXX_ASSERTIONS as
#    ABI-neutral, unlike _GLIBCXX_DEBUG), so the tests link the qkv library as it is, compiled
#    with the build type's flags. A failed check prints `qkv-assert: FILE:LINE: ...`
#    (common/testing/qkv/assert_handler.cpp).
#  - a verdict within seconds of a save: one precompiled header, Eigen's product kernels
#    compiled once in the library (qkv/eigen_kernels.hpp), and the fastest linker there is.
# The chapters and the library keep the project's flags: the numbers they print do not change.

# The handler of failed checks, linked into every exercise test. It defines the functions
# glibc's assert() and libstdc++'s checks call, so it must be compiled with the same
# _GLIBCXX_ASSERTIONS as the tests.
add_library(qkv_assert_handler STATIC "${PROJECT_SOURCE_DIR}/common/testing/qkv/assert_handler.cpp")
target_link_libraries(qkv_assert_handler PRIVATE qkv::options)
target_compile_definitions(qkv_assert_handler PRIVATE _GLIBCXX_ASSERTIONS
                           "QKV_SOURCE_DIR=\"${PROJECT_SOURCE_DIR}\"")
# GCC's libbacktrace reads the line tables, inlined frames included, to find the learner's
# line. Without it (another compiler) the handler names the checking header's line.
set(qkv_libbacktrace "")
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  execute_process(COMMAND "${CMAKE_CXX_COMPILER}" -print-file-name=libbacktrace.a
                  OUTPUT_VARIABLE qkv_libbacktrace OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT IS_ABSOLUTE "${qkv_libbacktrace}" OR NOT EXISTS "${qkv_libbacktrace}")
    set(qkv_libbacktrace "")
  endif()
endif()
if(qkv_libbacktrace)
  target_compile_definitions(qkv_assert_handler PRIVATE QKV_HAVE_LIBBACKTRACE=1)
  target_link_libraries(qkv_assert_handler PRIVATE "${qkv_libbacktrace}")
else()
  message(STATUS "libbacktrace not found: a failed check in an exercise test names the "
                 "checking header's line, not the learner's")
  target_compile_definitions(qkv_assert_handler PRIVATE QKV_HAVE_LIBBACKTRACE=0)
endif()

add_library(qkv_exercise_flags INTERFACE)
# -UNDEBUG comes after the build type's -DNDEBUG on the command line, and wins.
target_compile_options(qkv_exercise_flags INTERFACE -UNDEBUG)
target_compile_definitions(qkv_exercise_flags INTERFACE _GLIBCXX_ASSERTIONS)
target_link_libraries(qkv_exercise_flags INTERFACE qkv_assert_handler)
# -g where the build type has none: the handler needs line tables to name the line.
target_compile_options(qkv_exercise_flags INTERFACE $<$<NOT:$<CONFIG:Debug,RelWithDebInfo>>:-g1>)
# Linking an exercise test with GNU ld takes 0.4 s more than with lld or gold (measured on
# the 2-core machine); either is a Debian package (lld; gold comes with binutils).
include(CheckLinkerFlag)
foreach(linker IN ITEMS lld gold)
  check_linker_flag(CXX "-fuse-ld=${linker}" QKV_LINKER_${linker})
  if(QKV_LINKER_${linker})
    target_link_options(qkv_exercise_flags INTERFACE "-fuse-ld=${linker}")
    break()
  endif()
endforeach()

# One precompiled header (Eigen, the extern kernels, qkv's types and errors) that every
# exercise target reuses: rebuilding a learner's file then skips parsing Eigen. A target of
# its own compiles it, with the same flags as theirs (g++ ignores a header compiled with
# other macros). More of qkv's headers in it would cost, not save: g++ instantiates the
# templates their inline functions use in every file that includes the header, used or not,
# and a precompiled header does not keep those instantiations.
file(CONFIGURE OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/exercise_pch.cpp"
     CONTENT "// Owns the precompiled header of the exercise tests.\n")
add_library(qkv_exercise_pch OBJECT "${CMAKE_CURRENT_BINARY_DIR}/exercise_pch.cpp")
target_link_libraries(qkv_exercise_pch PRIVATE qkv_testing qkv_exercise_flags)
target_precompile_headers(qkv_exercise_pch PRIVATE <Eigen/Core> [["qkv/eigen_kernels.hpp"]]
                          [["qkv/types.hpp"]] [["qkv/error.hpp"]])

# The handler's own test: an exercise-like program that indexes out of range must stop at
# its own line, saying so in one `qkv-assert:` line, and abort.
add_executable(qkv_assert_check "${PROJECT_SOURCE_DIR}/tests/assertions/out_of_range.cpp")
target_link_libraries(qkv_assert_check PRIVATE qkv::qkv qkv_exercise_flags)
foreach(kind IN ITEMS eigen vector)
  add_test(NAME assert.${kind}
           COMMAND "${CMAKE_COMMAND}" -DPROGRAM=$<TARGET_FILE:qkv_assert_check> -DKIND=${kind}
                   "-DSOURCE=${PROJECT_SOURCE_DIR}/tests/assertions/out_of_range.cpp"
                   -P "${PROJECT_SOURCE_DIR}/tests/assertions/check_assert.cmake")
  set_tests_properties(assert.${kind} PROPERTIES LABELS assert)
endforeach()
