# The fast build (preset `fast`): -march=native and OpenMP for every target of the project.
# Set here, once, for the whole directory tree, never per target: objects that share Eigen
# types must be compiled for the same SIMD width, or Eigen's alignment assumptions differ
# between them (ECOSYSTEM.md: a test object without -march=native linked to one with it
# crashed with "double free or corruption").
#
# QKV_VECTORIZED_EXP lets softmax use Eigen's vectorized exp instead of std::exp per entry.
# Like FMA and wider vectors in the products, it changes the last digits of the results: the
# numbers the lessons print are those of the dev and ci builds (README, "The fast build").
if(NOT QKV_FAST)
  return()
endif()
find_package(OpenMP COMPONENTS CXX QUIET)
if(NOT OpenMP_CXX_FOUND)
  message(FATAL_ERROR "QKV_FAST needs OpenMP for C++ (g++ brings libgomp; clang needs libomp-dev)")
endif()
add_compile_options(-march=native)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # g++ 12 at -O3 reports std::string's operator+ as an overlapping memcpy (a false positive,
  # GCC bug 105329); the ci preset (-O2) still checks -Wrestrict.
  add_compile_options(-Wno-restrict)
  # With AVX-512 (Zen 4/5, recent Xeons), g++ 12 reports its own intrinsics' placeholder
  # `__m512 __Y = __Y;` (_mm512_undefined_ps, inlined into Eigen's packet transposes) as
  # maybe-uninitialized, and where Eigen's AVX-512 pexp inlines _mm512_min_ps into a chapter
  # (chapter 04 on an Intel Xeon) as "'__Y' is used uninitialized": false positives, GCC bug
  # 105593, fixed in g++ 13. Only where -march=native means AVX-512; the ci preset (no -march)
  # still checks both warnings.
  execute_process(COMMAND "${CMAKE_CXX_COMPILER}" -march=native -dM -E -x c++ /dev/null
                  OUTPUT_VARIABLE qkv_native_macros ERROR_QUIET)
  if(qkv_native_macros MATCHES "__AVX512F__")
    add_compile_options(-Wno-maybe-uninitialized -Wno-uninitialized)
  endif()
endif()
add_compile_definitions(QKV_VECTORIZED_EXP)
# -fopenmp when compiling and libgomp when linking, for every target created after this line.
# Eigen then runs its large products on all cores (Eigen::setNbThreads() or OMP_NUM_THREADS
# limit it).
link_libraries(OpenMP::OpenMP_CXX)
