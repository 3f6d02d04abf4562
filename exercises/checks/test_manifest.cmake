# Test of cmake/QkvManifest.cmake, the one reader of exercises/manifest (ctest
# exercise_checks.manifest):  cmake -DQKV_MODULES=<repo>/cmake -DWORK=<dir> -P test_manifest.cmake
# Builds small repositories under WORK and reads their manifests, in a child cmake each
# (a configure error ends the process that meets it): good lines become the JSON that
# qkv-learn and the docs read, bad lines stop with "exercises/manifest:<line>: <what>".
cmake_minimum_required(VERSION 3.25)

if(DEFINED READ_ONE)  # the child: read one manifest
  list(APPEND CMAKE_MODULE_PATH "${QKV_MODULES}")
  include(QkvManifest)
  qkv_read_manifest(MANIFEST "${READ_ONE}/exercises/manifest" JSON "${READ_ONE}/manifest.json")
  message(STATUS "ids: ${QKV_EXERCISE_IDS}; chapter of b: ${QKV_EXERCISE_CHAPTER_b}")
  return()
endif()

# Passes when `got` equals `want`; a failure names what was checked and both values.
function(expect_equal what got want)
  if(got STREQUAL want)
    message(STATUS "ok: ${what}")
  else()
    message(SEND_ERROR "FAILED: ${what}\n  got:      '${got}'\n  expected: '${want}'")
  endif()
endfunction()

# A repository with exercises a and b (b with a header), and `text` as its manifest.
function(make_repository name text)
  set(root "${WORK}/${name}")
  file(REMOVE_RECURSE "${root}")
  foreach(path IN ITEMS exercises/01_x/a.cpp exercises/01_x/test_a.cpp solutions/01_x/a.cpp
                        exercises/02_y/b.cpp exercises/02_y/b.hpp exercises/02_y/test_b.cpp
                        solutions/02_y/b.cpp)
    file(WRITE "${root}/${path}" "")
  endforeach()
  file(WRITE "${root}/exercises/manifest" "${text}")
endfunction()

function(read_manifest name out_result out_output)
  execute_process(COMMAND "${CMAKE_COMMAND}" -DQKV_MODULES=${QKV_MODULES}
                          -DREAD_ONE=${WORK}/${name} -P "${CMAKE_CURRENT_LIST_FILE}"
                  RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
  string(REGEX REPLACE "[ \t\r\n]+" " " output "${output}")  # CMake wraps its messages
  set(${out_result} "${result}" PARENT_SCOPE)
  set(${out_output} "${output}" PARENT_SCOPE)
endfunction()

# --- a good manifest: comments, blank lines, and hints holding ; [ ] || " and \ -----------
make_repository(good [=[
# a comment | with | bars | and | more
a | 01_x | First; [one] | the idea "quoted" | more: a || b, c\d | code [x];

b | 02_y | Second | one | two
]=])
read_manifest(good result output)
expect_equal("a good manifest is read (${output})" "${result}" "0")
string(REGEX MATCH "ids: [^ ]*; chapter of b: [^ ]*" ids "${output}")
expect_equal("ids in order, and the chapter of each" "${ids}" "ids: a;b; chapter of b: 02_y")
file(READ "${WORK}/good/manifest.json" json)
string(JSON count LENGTH "${json}" exercises)
expect_equal("exercises in the JSON" "${count}" "2")
string(JSON levels LENGTH "${json}" exercises 0 hints)
expect_equal("hint levels of a" "${levels}" "3")
foreach(key IN ITEMS id chapter title file test solution tag target executable)
  string(JSON got_${key} GET "${json}" exercises 0 ${key})
endforeach()
expect_equal("a's id" "${got_id}" "a")
expect_equal("a's chapter" "${got_chapter}" "01_x")
expect_equal("a's title, with ';' and brackets" "${got_title}" "First; [one]")
expect_equal("a's file to edit" "${got_file}" "exercises/01_x/a.cpp")
expect_equal("a's test" "${got_test}" "exercises/01_x/test_a.cpp")
expect_equal("a's solution" "${got_solution}" "solutions/01_x/a.cpp")
expect_equal("a's Catch2 tag" "${got_tag}" "a")
expect_equal("a's target" "${got_target}" "exercise_a")
expect_equal("a's executable" "${got_executable}" "exercises/exercise_a")
string(JSON type TYPE "${json}" exercises 0 header)
expect_equal("a has no header: null" "${type}" "NULL")
string(JSON header GET "${json}" exercises 1 header)
expect_equal("b's header" "${header}" "exercises/02_y/b.hpp")
string(JSON hint GET "${json}" exercises 0 hints 0)
expect_equal("hint 1, with its quotes" "${hint}" [[the idea "quoted"]])
string(JSON hint GET "${json}" exercises 0 hints 1)
expect_equal("hint 2: '||' is text, the backslash kept" "${hint}" [[more: a || b, c\d]])
string(JSON hint GET "${json}" exercises 0 hints 2)
expect_equal("hint 3, with brackets and ';'" "${hint}" "code [x];")

# --- bad manifests: each stops with the file and line ----------------------------------
foreach(case IN ITEMS
    "short|a | 01_x | T | only one hint|manifest:1: expected at least 5 fields"
    "empty|# c\na | 01_x | T | one |  |manifest:2: field 5 is empty"
    "upper|A | 01_x | T | h | h|manifest:1: id 'A' must be lower_snake_case"
    "chapter|a | x | T | h | h|manifest:1: chapter 'x' must be a chapter folder name"
    "twice|a | 01_x | T | h | h\n\na | 01_x | T | h | h|manifest:3: id 'a' appears twice"
    "missing|c | 01_x | T | h | h|manifest:1: exercise 'c' needs its file exercises/01_x/c.cpp"
    "none|# nothing here|manifest: lists no exercise")
  string(REPLACE "\\n" "\n" case "${case}")
  string(REPLACE "|" ";" parts "${case}")
  list(POP_FRONT parts name)
  list(POP_BACK parts message_text)
  list(JOIN parts "|" text)
  make_repository(${name} "${text}\n")
  read_manifest(${name} result output)
  if(result EQUAL 0)
    set(result "0 (it went on)")
  else()
    set(result "stopped")
  endif()
  expect_equal("${name}: the configure step" "${result}" "stopped")
  string(FIND "${output}" "exercises/${message_text}" at)
  if(at EQUAL -1)
    set(at "not said: ${output}")
  else()
    set(at "said")
  endif()
  expect_equal("${name}: 'exercises/${message_text}'" "${at}" "said")
endforeach()
