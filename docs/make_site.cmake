# Builds the documentation site; run by the `docs` target (docs/CMakeLists.txt) as
#   cmake -D SOURCE_DIR=... -D BINARY_DIR=... -D WORK_DIR=... -D SITE_DIR=... -D DOXYGEN=...
#         -D MATHJAX_DIR=... -D DOXYGEN_AWESOME_DIR=... -D VERSION=... -P make_site.cmake
# Everything is derived from <build>/chapters.txt and exercises/manifest, so a new chapter
# folder or a new manifest line needs no change here.
#  1. figures: runs every chapter executable with `--svg DIR`; chapter NN_name's figure X.svg
#     becomes chNN_X.svg, which the chapter's README shows with `\image html chNN_X.svg "..."`
#     (Doxygen copies images by file name alone, so the names must differ between chapters);
#     and the benchmarks, whose tables a README shows with `\includedoc NAME.md`
#  2. pages: one page per exercise, an exercise overview, and for each chapter the lines a
#     Doxygen input filter (chapter_filter.sh) appends to its README: its exercises as
#     subpages and the previous/next links
#  3. Doxyfile (from Doxyfile.in), Doxygen, then MathJax copied into the site
cmake_minimum_required(VERSION 3.25)
foreach(var SOURCE_DIR BINARY_DIR WORK_DIR SITE_DIR DOXYGEN MATHJAX_DIR DOXYGEN_AWESOME_DIR VERSION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "make_site.cmake: -D ${var}=... is missing")
  endif()
endforeach()

set(figures_dir "${WORK_DIR}/figures")
set(raw_dir "${WORK_DIR}/svg")
set(pages_dir "${WORK_DIR}/pages")
set(nav_dir "${WORK_DIR}/nav")
file(REMOVE_RECURSE "${figures_dir}" "${raw_dir}" "${pages_dir}" "${nav_dir}" "${SITE_DIR}/html")
file(MAKE_DIRECTORY "${figures_dir}" "${raw_dir}" "${pages_dir}" "${nav_dir}")

# Text for Markdown prose: Doxygen would read \ @ < > & * _ ` # $ % as commands or markup.
function(qkv_escape out text)
  string(REGEX REPLACE "([\\\\@<>&*_`#$%|])" "\\\\\\1" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# --- the chapters, in order --------------------------------------------------------------
if(NOT EXISTS "${BINARY_DIR}/chapters.txt")
  message(FATAL_ERROR "make_site.cmake: ${BINARY_DIR}/chapters.txt is missing (configure first)")
endif()
file(STRINGS "${BINARY_DIR}/chapters.txt" chapters)
if(NOT chapters)
  message(FATAL_ERROR "make_site.cmake: no chapters in ${BINARY_DIR}/chapters.txt")
endif()
set(chapter_labels "")
set(chapter_readmes "")
foreach(chapter IN LISTS chapters)
  set(readme "${SOURCE_DIR}/chapters/${chapter}/README.md")
  if(NOT EXISTS "${readme}")
    message(FATAL_ERROR "chapters/${chapter}/README.md is missing: every chapter needs its text")
  endif()
  string(SUBSTRING "${chapter}" 0 2 nn)
  file(STRINGS "${readme}" first_line LIMIT_COUNT 1 ENCODING UTF-8)
  if(NOT first_line MATCHES "^# Chapter [0-9]+: .+ \\{#ch${nn}\\}$")
    message(FATAL_ERROR "chapters/${chapter}/README.md:1: the first line must be "
                        "'# Chapter N: Title {#ch${nn}}', not '${first_line}'")
  endif()
  list(APPEND chapter_labels "ch${nn}")
  list(APPEND chapter_readmes "${readme}")

  # Figures: the executable writes them into its own folder; they are renamed chNN_X.svg.
  set(exe "${BINARY_DIR}/bin/${chapter}")
  execute_process(COMMAND "${exe}" --svg "${raw_dir}/${chapter}"
                  RESULT_VARIABLE status OUTPUT_QUIET ERROR_VARIABLE error)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${exe} --svg ${raw_dir}/${chapter} failed (${status}):\n${error}")
  endif()
  file(GLOB svgs "${raw_dir}/${chapter}/*.svg")
  foreach(svg IN LISTS svgs)
    get_filename_component(name "${svg}" NAME)
    file(COPY_FILE "${svg}" "${figures_dir}/ch${nn}_${name}")
  endforeach()
endforeach()

# Benchmarks (BENCHMARKS: executables separated by '|', may be empty) run once with `--out FILE.md`, their
# Markdown table going to generated/NAME.md (NAME without a qkv_ prefix), which a chapter's
# README shows with `\includedoc NAME.md`: e.g. qkv_decode_benchmark -> decode_benchmark.md.
set(generated_dir "${WORK_DIR}/generated")
file(REMOVE_RECURSE "${generated_dir}")
file(MAKE_DIRECTORY "${generated_dir}")
string(REPLACE "|" ";" BENCHMARKS "${BENCHMARKS}")
foreach(benchmark IN LISTS BENCHMARKS)
  get_filename_component(name "${benchmark}" NAME_WE)
  string(REGEX REPLACE "^qkv_" "" name "${name}")
  execute_process(COMMAND "${benchmark}" --out "${generated_dir}/${name}.md"
                  RESULT_VARIABLE status OUTPUT_QUIET ERROR_VARIABLE error)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${benchmark} --out ${generated_dir}/${name}.md failed (${status}):\n${error}")
  endif()
endforeach()

# --- the exercises, from the manifest ------------------------------------------------------
file(STRINGS "${SOURCE_DIR}/exercises/manifest" manifest_lines ENCODING UTF-8)
set(exercise_pages "")
set(overview "# Exercises {#exercises}\n\n")
string(APPEND overview
       "Each exercise is one file to edit in `exercises/NN_name/`, checked by its own test. "
       "Until you write it, the test fails with `not done yet` and the file's name. The order "
       "is `exercises/manifest`'s.\n\n| exercise | chapter | what you write |\n|---|---|---|\n")
foreach(line IN LISTS manifest_lines)
  if(line MATCHES "^[ \t]*(#.*)?$")
    continue()
  endif()
  if(NOT line MATCHES "^([^|]+)\\|([^|]+)\\|([^|]+)\\|([^|]+)\\|([^|]+)\\|(.+)$")
    message(FATAL_ERROR "exercises/manifest: expected 6 fields separated by '|':\n  ${line}")
  endif()
  string(STRIP "${CMAKE_MATCH_1}" id)
  string(STRIP "${CMAKE_MATCH_2}" chapter)
  string(STRIP "${CMAKE_MATCH_3}" title)
  string(STRIP "${CMAKE_MATCH_4}" file)
  string(STRIP "${CMAKE_MATCH_5}" tag)
  string(STRIP "${CMAKE_MATCH_6}" hint)
  string(SUBSTRING "${chapter}" 0 2 nn)
  if(NOT "ch${nn}" IN_LIST chapter_labels)
    message(FATAL_ERROR "exercises/manifest: exercise '${id}' belongs to ${chapter}, "
                        "which is not a built chapter")
  endif()
  set(stub "exercises/${chapter}/${file}")
  get_filename_component(stem "${file}" NAME_WE)
  set(header "exercises/${chapter}/${stem}.hpp")

  # What to do: the stub's opening comment, verbatim (the TODO block), never the solution.
  # (Whole-file strings and regexes, not lists: code has ';' and '[', which lists split on.)
  file(READ "${SOURCE_DIR}/${stub}" stub_text)
  string(REGEX MATCH "^(//[^\n]*\n)+" todo "${stub_text}")
  if(todo STREQUAL "")
    message(FATAL_ERROR "${stub}: the stub must open with a comment saying what to do")
  endif()
  # What it implements: the header from its first /// comment to the namespace's end.
  set(declaration "")
  if(EXISTS "${SOURCE_DIR}/${header}")
    file(READ "${SOURCE_DIR}/${header}" header_text)
    string(FIND "${header_text}" "\n///" begin)
    string(FIND "${header_text}" "\n}" end REVERSE)
    if(begin GREATER -1 AND end GREATER begin)
      math(EXPR length "${end} - ${begin}")
      string(SUBSTRING "${header_text}" ${begin} ${length} declaration)
      string(STRIP "${declaration}" declaration)
    endif()
  endif()

  qkv_escape(title_md "${title}")
  qkv_escape(hint_md "${hint}")
  set(page "# ${id}: ${title_md} {#ex_${id}}\n\n")
  string(APPEND page "An exercise of @ref ch${nn}. The file to edit is `${stub}`; its test "
                     "is tagged `[${tag}]`.\n\n## What to write\n\n`${file}` says:\n\n```cpp\n"
                     "${todo}```\n\n")
  if(NOT declaration STREQUAL "")
    string(APPEND page "It implements what `${header}` declares (leave that file as it "
                       "is):\n\n```cpp\n${declaration}\n```\n\n")
  endif()
  string(APPEND page "## Hint\n\n<details><summary>Show the hint</summary>\n\n${hint_md}\n\n"
                     "</details>\n\n## Check it\n\n```sh\n"
                     "cmake --build --preset dev && ctest --preset dev -R 'exercise.${id}$'\n"
                     "```\n\nThe test passes once `${file}` does what its comment asks. "
                     "Stuck? Reread @ref ch${nn}, then the hint.\n")
  file(WRITE "${pages_dir}/exercise_${id}.md" "${page}")
  list(APPEND exercise_pages "${pages_dir}/exercise_${id}.md")
  string(APPEND overview "| @ref ex_${id} \"${id}\" | @ref ch${nn} | ${title_md} |\n")
  list(APPEND exercises_of_ch${nn} "ex_${id}")
endforeach()
file(WRITE "${pages_dir}/exercises.md" "${overview}")

# --- what chapter_filter.sh appends to each chapter's README ------------------------------
list(LENGTH chapter_labels count)
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  list(GET chapter_labels ${i} label)
  list(GET chapters ${i} chapter)
  set(nav "\n<hr>\n")
  if(exercises_of_${label})
    string(APPEND nav "**Exercises** (all of them: @ref exercises):\n")
    foreach(page_label IN LISTS exercises_of_${label})
      string(APPEND nav "- \\subpage ${page_label}\n")
    endforeach()
    string(APPEND nav "\n")
  endif()
  set(links "")
  if(i GREATER 0)
    math(EXPR prev "${i} - 1")
    list(GET chapter_labels ${prev} prev_label)
    string(APPEND links "<span class=\"qkv-prev\">Previous: @ref ${prev_label}</span>")
  endif()
  if(i LESS last)
    math(EXPR next "${i} + 1")
    list(GET chapter_labels ${next} next_label)
    string(APPEND links "<span class=\"qkv-next\">Next: @ref ${next_label}</span>")
  endif()
  string(APPEND nav "<div class=\"qkv-prev-next\">${links}</div>\n")
  file(WRITE "${nav_dir}/${chapter}.md" "${nav}")
endforeach()

# --- Doxygen -------------------------------------------------------------------------------
# Doxygen lists pages in input order: the main page, the chapters, the exercises, the API.
set(input "${SOURCE_DIR}/README.md" ${chapter_readmes} "${pages_dir}/exercises.md"
          ${exercise_pages} "${SOURCE_DIR}/docs/api.dox" "${SOURCE_DIR}/common/include/qkv")
list(JOIN input " \\\n                         " QKV_DOCS_INPUT)
set(PROJECT_SOURCE_DIR "${SOURCE_DIR}")
set(PROJECT_VERSION "${VERSION}")
set(QKV_DOCS_OUTPUT "${SITE_DIR}")
set(QKV_DOCS_WORK "${WORK_DIR}")
set(QKV_DOCS_FILTER "sh ${SOURCE_DIR}/docs/chapter_filter.sh ${nav_dir}")
set(QKV_DOXYGEN_AWESOME "${DOXYGEN_AWESOME_DIR}")
configure_file("${SOURCE_DIR}/docs/Doxyfile.in" "${WORK_DIR}/Doxyfile" @ONLY)
execute_process(COMMAND "${DOXYGEN}" "${WORK_DIR}/Doxyfile" WORKING_DIRECTORY "${SOURCE_DIR}"
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "Doxygen reported the problems above (every warning is an error).")
endif()

# --- MathJax 2, served from the site itself: the parts HTML-CSS output of TeX needs --------
set(mathjax "${SITE_DIR}/html/mathjax")
file(COPY "${MATHJAX_DIR}/MathJax.js" DESTINATION "${mathjax}")
foreach(part extensions jax/element jax/input/TeX fonts/HTML-CSS/TeX/woff
        jax/output/HTML-CSS/autoload jax/output/HTML-CSS/fonts/TeX)
  get_filename_component(parent "${mathjax}/${part}" DIRECTORY)
  file(COPY "${MATHJAX_DIR}/${part}" DESTINATION "${parent}")
endforeach()
file(COPY "${MATHJAX_DIR}/jax/output/HTML-CSS/jax.js" "${MATHJAX_DIR}/jax/output/HTML-CSS/config.js"
     DESTINATION "${mathjax}/jax/output/HTML-CSS")
message(STATUS "The documentation site: ${SITE_DIR}/html/index.html")
