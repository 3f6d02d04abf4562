# The one reader of exercises/manifest. Everything else (the exercise targets, qkv-learn,
# the docs site, CI's stub check) uses what it produces: the variables below, or the JSON
# file it writes, so the format is parsed in exactly one place.
#
#   qkv_read_manifest(MANIFEST <path> JSON <output path> [ROOT <repository root>])
#
# The manifest has one line per exercise, in the order a learner does them:
#
#   id | chapter | title | hint 1 | hint 2 [| hint 3 ...]
#
# Blank lines and lines starting with '#' are skipped; fields are trimmed. A single '|'
# separates fields; '||' (C++'s "or", in a code-level hint) is text. Hints are progressive: at least two, the first names the idea, the last is
# code-level. The files of exercise <id> follow from its chapter:
#   exercises/<chapter>/<id>.cpp        the file to edit
#   exercises/<chapter>/<id>.hpp        its declarations, when it has any
#   exercises/<chapter>/test_<id>.cpp   its test (Catch2 tag [<id>])
#   solutions/<chapter>/<id>.cpp        the reference solution
# ROOT defaults to the folder above the manifest's (the manifest is <root>/exercises/manifest).
#
# A malformed line, a duplicate id or a missing file stops the configure step with
# "<manifest>:<line>: ...". On success it sets, in the caller's scope:
#   QKV_EXERCISE_IDS               the ids, in manifest order
#   QKV_EXERCISE_CHAPTER_<id>      the chapter folder of <id>
# and writes the JSON file (only when its content changed, so readers are not rebuilt):
#   {"exercises": [{"id", "chapter", "title", "file", "header" (or null), "test", "solution",
#                   "tag", "target", "executable", "hints": [...]}, ...]}
# with source paths relative to ROOT and "executable" relative to the build directory.

# `value` with each FROM replaced by its TO, pair by pair in order, into `out`:
# _qkv_replace_each(out value FROM TO [FROM TO ...]). The pairs are read as ARGVn, never
# as a list, so ';', '[' and ']' may be among them.
function(_qkv_replace_each out value)
  math(EXPR last "${ARGC} - 1")
  foreach(from RANGE 2 ${last} 2)
    math(EXPR to "${from} + 1")
    string(REPLACE "${ARGV${from}}" "${ARGV${to}}" value "${value}")
  endforeach()
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

# Writes `value` as a JSON string literal (with its quotes) into `out`.
function(_qkv_json_string out value)
  _qkv_replace_each(value "${value}" "\\" "\\\\" "\"" "\\\"" "\t" "\\t" "\r" "\\r")
  set(${out} "\"${value}\"" PARENT_SCOPE)
endfunction()

# The text of `value` with the characters hidden from list() restored, into `out`.
function(_qkv_unhide out value)
  _qkv_replace_each(value "${value}" "@qkv_semicolon@" ";" "@qkv_open@" "[" "@qkv_close@" "]"
                    "@qkv_or@" "||")
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

function(qkv_read_manifest)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "MANIFEST;JSON;ROOT" "")
  if(NOT arg_MANIFEST OR NOT arg_JSON OR arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "usage: qkv_read_manifest(MANIFEST <path> JSON <output path> "
                        "[ROOT <repository root>])")
  endif()
  get_filename_component(manifest "${arg_MANIFEST}" ABSOLUTE)
  if(arg_ROOT)
    get_filename_component(root "${arg_ROOT}" ABSOLUTE)
  else()
    get_filename_component(root "${manifest}" DIRECTORY)
    get_filename_component(root "${root}" DIRECTORY)
  endif()
  if(NOT EXISTS "${manifest}")
    message(FATAL_ERROR "qkv_read_manifest: there is no manifest at ${manifest}")
  endif()
  if(NOT CMAKE_SCRIPT_MODE_FILE)  # cmake -P (the parser's own test) has no directory
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${manifest}")
  endif()
  # Errors name the manifest as a learner sees it: relative to the repository.
  file(RELATIVE_PATH where "${root}" "${manifest}")

  # Read the text ourselves instead of file(STRINGS): CMake lists split at ';' and group
  # at '[' ']', both of which a hint may contain. Hide them while the text is a list.
  file(READ "${manifest}" text)
  string(REPLACE ";" "@qkv_semicolon@" text "${text}")
  string(REPLACE "[" "@qkv_open@" text "${text}")
  string(REPLACE "]" "@qkv_close@" text "${text}")
  string(REPLACE "\r\n" "\n" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")

  set(ids "")
  set(entries "")
  set(line_number 0)
  foreach(line IN LISTS lines)
    math(EXPR line_number "${line_number} + 1")
    if(line MATCHES "^[ \t]*(#.*)?$")
      continue()
    endif()
    set(at "${where}:${line_number}")
    # Split at '|' while ';' and the brackets are still hidden, then restore each field.
    string(REPLACE "||" "@qkv_or@" fields "${line}")
    string(REPLACE "|" ";" fields "${fields}")
    _qkv_unhide(line "${line}")
    set(field_count 0)
    foreach(field IN LISTS fields)
      math(EXPR field_count "${field_count} + 1")
      _qkv_unhide(field "${field}")
      string(STRIP "${field}" field)
      if(field STREQUAL "")
        message(FATAL_ERROR "${at}: field ${field_count} is empty (expected "
                            "'id | chapter | title | hint 1 | hint 2 [| hint 3 ...]'):\n  ${line}")
      endif()
      set(field_${field_count} "${field}")
    endforeach()
    if(field_count LESS 5)
      message(FATAL_ERROR "${at}: expected at least 5 fields separated by '|' "
                          "(id | chapter | title | hint 1 | hint 2 [| hint 3 ...]), "
                          "found ${field_count}:\n  ${line}")
    endif()
    set(id "${field_1}")
    set(chapter "${field_2}")
    set(title "${field_3}")
    if(NOT id MATCHES "^[a-z][a-z0-9_]*$")
      message(FATAL_ERROR "${at}: id '${id}' must be lower_snake_case")
    endif()
    if(id IN_LIST ids)
      message(FATAL_ERROR "${at}: id '${id}' appears twice")
    endif()
    if(NOT chapter MATCHES "^[0-9][0-9]_[a-z0-9_]+$")
      message(FATAL_ERROR "${at}: chapter '${chapter}' must be a chapter folder name, "
                          "such as 01_dot_product_relevance")
    endif()
    set(file "exercises/${chapter}/${id}.cpp")
    set(header "exercises/${chapter}/${id}.hpp")
    set(test "exercises/${chapter}/test_${id}.cpp")
    set(solution "solutions/${chapter}/${id}.cpp")
    foreach(required IN ITEMS file test solution)
      if(NOT EXISTS "${root}/${${required}}")
        message(FATAL_ERROR "${at}: exercise '${id}' needs its ${required} ${${required}}")
      endif()
    endforeach()

    # Built as a string, not a list: a hint may contain ';'.
    set(hints_json "")
    foreach(level RANGE 4 ${field_count})
      _qkv_json_string(hint "${field_${level}}")
      if(NOT level EQUAL 4)
        string(APPEND hints_json ", ")
      endif()
      string(APPEND hints_json "${hint}")
    endforeach()
    set(entry "")
    foreach(key IN ITEMS id chapter title file header test solution)
      if(key STREQUAL "header" AND NOT EXISTS "${root}/${header}")
        string(APPEND entry "\"header\": null, ")
      else()
        _qkv_json_string(value "${${key}}")
        string(APPEND entry "\"${key}\": ${value}, ")
      endif()
    endforeach()
    string(APPEND entry "\"tag\": \"${id}\", \"target\": \"exercise_${id}\", "
                        "\"executable\": \"exercises/exercise_${id}\", \"hints\": [${hints_json}]")
    # One list element per exercise: hide the JSON's own brackets from list().
    string(REPLACE "[" "@qkv_open@" entry "${entry}")
    string(REPLACE "]" "@qkv_close@" entry "${entry}")
    string(REPLACE ";" "@qkv_semicolon@" entry "${entry}")
    list(APPEND entries "    {${entry}}")
    list(APPEND ids "${id}")
    set(QKV_EXERCISE_CHAPTER_${id} "${chapter}" PARENT_SCOPE)
  endforeach()
  if(NOT ids)
    message(FATAL_ERROR "${where}: lists no exercise")
  endif()

  list(JOIN entries ",\n" body)
  _qkv_unhide(body "${body}")
  get_filename_component(json "${arg_JSON}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  file(WRITE "${json}.new" "{\"exercises\": [\n${body}\n]}\n")
  file(COPY_FILE "${json}.new" "${json}" ONLY_IF_DIFFERENT)
  file(REMOVE "${json}.new")
  set(QKV_EXERCISE_IDS "${ids}" PARENT_SCOPE)
endfunction()
