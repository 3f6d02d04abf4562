# Warnings, sanitizers and language flags for every qkv target. Architecture flags are
# deliberately left at the compiler's default and set nowhere per target: objects that share
# Eigen types must agree on alignment, and printed numbers must not depend on -march.
add_library(qkv_options INTERFACE)
add_library(qkv::options ALIAS qkv_options)

target_compile_options(qkv_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion
  # __FILE__ relative to the repository, so "not done yet" messages name exercises/...
  "-fmacro-prefix-map=${PROJECT_SOURCE_DIR}/=")
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # Eigen's SIMD packet types carry attributes that g++ reports as ignored in templates.
  target_compile_options(qkv_options INTERFACE -Wno-ignored-attributes)
endif()
if(QKV_WARNINGS_AS_ERRORS)
  target_compile_options(qkv_options INTERFACE -Werror)
endif()
if(QKV_SANITIZE)
  target_compile_options(qkv_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(qkv_options INTERFACE -fsanitize=address,undefined)
endif()
