# Every dependency is a Debian 12 package (scripts/setup.sh installs them). A missing one
# stops the configure step with the package to install, not a wall of CMake errors.
macro(qkv_require package debian_package)
  find_package(${package} ${ARGN} QUIET)
  if(NOT ${package}_FOUND)
    message(FATAL_ERROR
      "qkv needs ${package} (${ARGN}), which was not found.\n"
      "Install it with:  sudo apt-get install ${debian_package}\n"
      "or run scripts/setup.sh, which installs everything qkv needs.")
  endif()
endmacro()

qkv_require(Eigen3 libeigen3-dev 3.4 NO_MODULE)
qkv_require(fmt libfmt-dev 9)
qkv_require(CLI11 libcli11-dev 2.1)
# qkv-learn reads <build>/manifest.json and Catch2's XML reports.
qkv_require(nlohmann_json nlohmann-json3-dev 3.10)
qkv_require(pugixml libpugixml-dev 1.13)
# The benchmarks' harness (benchmarks/; built with the project, never run by ctest).
qkv_require(benchmark libbenchmark-dev 1.7)

if(QKV_BUILD_TESTS)
  # Catch2 v3 where the distribution has it, else v2.13 (Debian 12). The include
  # difference lives in common/testing/qkv/catch.hpp.
  find_package(Catch2 3 QUIET)
  if(NOT Catch2_FOUND)
    qkv_require(Catch2 catch2 2.13)
  endif()
  include(Catch)
endif()
