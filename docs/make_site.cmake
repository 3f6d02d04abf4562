# Builds the documentation site; run by the `docs` target (docs/CMakeLists.txt) as
#   cmake -D SOURCE_DIR=... -D BINARY_DIR=... -D WORK_DIR=... -D SITE_DIR=... -D DOXYGEN=...
#         -D MATHJAX_DIR=... -D DOXYGEN_AWESOME_DIR=... -D VERSION=... -D PYTHON=...
#         [-D LEARN=<qkv-learn>] [-D BENCHMARKS=a|b] -P make_site.cmake
# Everything is derived from <build>/chapters.txt and <build>/manifest.json, so a new chapter
# folder or a new manifest line needs no change here.
#  1. figures: runs every chapter executable with `--svg DIR`; chapter NN_name's figure X.svg
#     becomes chNN_X.svg, which the filter makes of the README's `![caption](figures/X.svg)`
#     (Doxygen copies images by file name alone, so the names must differ between chapters);
#     and the benchmarks, whose tables a README shows with `<!-- table: NAME.html -->`
#  2. pages: one page per exercise (its hints folded, level by level), an exercise overview,
#     one quiz page per chapter that has a quiz.md (`qkv-learn quiz NN --markdown`), and for
#     each chapter the lines the Doxygen input filter (chapter_text.py filter) appends to its
#     README: its quiz and exercises as subpages and the previous/next links
#  3. Doxyfile (from Doxyfile.in), Doxygen, then MathJax copied into the site
# The READMEs are GitHub Markdown; docs/chapter_text.py translates them for Doxygen 1.9.4.
cmake_minimum_required(VERSION 3.25)
foreach(var SOURCE_DIR BINARY_DIR WORK_DIR SITE_DIR DOXYGEN MATHJAX_DIR DOXYGEN_AWESOME_DIR VERSION
            PYTHON)
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

# Text for Markdown prose: Doxygen would read \ @ < > & * _ ` # $ % | :: as commands or markup.
function(qkv_escape out text)
  string(REGEX REPLACE "([\\\\@<>&*_`#$%|])" "\\\\\\1" text "${text}")
  # "::" too: "...>::infinity()" would otherwise be an explicit link request to infinity().
  string(REPLACE "::" "\\::" text "${text}")
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
  # The page id {#chNN} is the filter's: on GitHub it would show as text.
  if(NOT first_line MATCHES "^# Chapter [0-9]+: [^{]+$")
    message(FATAL_ERROR "chapters/${chapter}/README.md:1: the first line must be "
                        "'# Chapter N: Title', not '${first_line}'")
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

# Benchmarks (BENCHMARKS: executables separated by '|', may be empty) run once with
# `--out FILE.md`. Their Markdown (paragraphs and pipe tables) becomes generated/NAME.html,
# NAME without a qkv_ prefix, which a chapter's README shows with `<!-- table: NAME.html -->`
# (the filter makes it `\htmlinclude NAME.html`):
# qkv_decode_benchmark -> decode_benchmark.html. (Doxygen 1.9.4's \includedoc would run the
# paragraphs and tables of a Markdown file together into one paragraph.)
function(qkv_markdown_to_html markdown out)
  string(REPLACE "&" "&amp;" markdown "${markdown}")
  string(REPLACE "<" "&lt;" markdown "${markdown}")
  string(REPLACE ">" "&gt;" markdown "${markdown}")
  # Lines as a CMake list: ';' would split a line and '[' ']' group them; put them back last.
  string(REPLACE ";" "@QKV_SEMICOLON@" markdown "${markdown}")
  string(REPLACE "[" "@QKV_OPEN@" markdown "${markdown}")
  string(REPLACE "]" "@QKV_CLOSE@" markdown "${markdown}")
  string(REPLACE "\n" ";" lines "${markdown}")
  list(APPEND lines "")
  set(html "")
  set(state none)  # none, paragraph, head (a table's first row read), table
  foreach(line IN LISTS lines)
    string(STRIP "${line}" line)
    if(line MATCHES "^\\|" AND state STREQUAL "head" AND line MATCHES "^[|:. -]+$")
      # |---:|:---|: the alignments, for the head row read before and the rows after.
      string(REGEX MATCHALL "[^|]+" cells "${line}")
      set(aligns "")
      foreach(cell IN LISTS cells)
        if(cell MATCHES ":[ ]*$")
          list(APPEND aligns right)
        else()
          list(APPEND aligns left)
        endif()
      endforeach()
      set(rows "${head_row}")
      set(kind th)
      set(state table)
    elseif(line MATCHES "^\\|")
      if(state STREQUAL "paragraph")
        string(APPEND html "</p>\n")
      endif()
      if(NOT state MATCHES "head|table")
        set(state head)
        set(head_row "${line}")
        continue()
      endif()
      set(rows "${line}")
      set(kind td)
    elseif(line STREQUAL "")
      if(state STREQUAL "table")
        string(APPEND html "</table>\n")
      elseif(state STREQUAL "head")  # a lone |...| line: not a table after all
        string(APPEND html "<p>${head_row}</p>\n")
      elseif(state STREQUAL "paragraph")
        string(APPEND html "</p>\n")
      endif()
      set(state none)
      continue()
    else()
      if(state STREQUAL "table")
        string(APPEND html "</table>\n")
      elseif(state STREQUAL "head")
        string(APPEND html "<p>${head_row}</p>\n")
      endif()
      if(state STREQUAL "paragraph")
        string(APPEND html " ${line}")
      else()
        string(APPEND html "<p>${line}")
        set(state paragraph)
      endif()
      continue()
    endif()
    if(kind STREQUAL "th")
      string(APPEND html "<table class=\"markdownTable\">\n")
    endif()
    string(REGEX MATCHALL "[^|]+" cells "${rows}")
    string(APPEND html "<tr>")
    set(i 0)
    list(LENGTH aligns count)
    foreach(cell IN LISTS cells)
      string(STRIP "${cell}" cell)
      set(align left)
      if(i LESS count)
        list(GET aligns ${i} align)
      endif()
      string(APPEND html "<${kind} style=\"text-align: ${align}\">${cell}</${kind}>")
      math(EXPR i "${i} + 1")
    endforeach()
    string(APPEND html "</tr>\n")
  endforeach()
  string(REPLACE "@QKV_SEMICOLON@" ";" html "${html}")
  string(REPLACE "@QKV_OPEN@" "[" html "${html}")
  string(REPLACE "@QKV_CLOSE@" "]" html "${html}")
  set(${out} "<div class=\"qkv-generated\">\n${html}</div>\n" PARENT_SCOPE)
endfunction()

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
  file(READ "${generated_dir}/${name}.md" markdown)
  qkv_markdown_to_html("${markdown}" html)
  file(WRITE "${generated_dir}/${name}.html" "${html}")
  # A table nobody shows is a table missing from the pages.
  set(shown NO)
  foreach(readme IN LISTS chapter_readmes)
    file(READ "${readme}" text)
    string(FIND "${text}" "<!-- table: ${name}.html -->" at)
    if(at GREATER -1)
      set(shown YES)
    endif()
  endforeach()
  if(NOT shown)
    message(FATAL_ERROR "No chapter README shows the table of ${benchmark}: add the line "
                        "'<!-- table: ${name}.html -->' where it belongs (e.g. in chapter 6).")
  endif()
endforeach()

# --- the exercises, from <build>/manifest.json (cmake/QkvManifest.cmake writes it) --------
set(manifest_json_path "${BINARY_DIR}/manifest.json")
if(NOT EXISTS "${manifest_json_path}")
  message(FATAL_ERROR "make_site.cmake: ${manifest_json_path} is missing: configure the build "
                      "(cmake/QkvManifest.cmake writes it from exercises/manifest)")
endif()
file(READ "${manifest_json_path}" manifest_json)
string(JSON exercise_count ERROR_VARIABLE json_error LENGTH "${manifest_json}" exercises)
if(json_error)
  message(FATAL_ERROR "${manifest_json_path}: ${json_error}")
endif()
set(exercise_pages "")
set(overview "# Exercises {#exercises}\n\n")
string(APPEND overview
       "Each exercise is one file to edit in `exercises/NN_name/`, checked by its own test. "
       "Until you write it, the test fails with `not done yet` and the file's name. The order "
       "is `exercises/manifest`'s; `qkv-learn` says where you stand.\n\n"
       "| exercise | chapter | what you write |\n|---|---|---|\n")
# One member of exercise number i, or "" when it is null.
function(qkv_exercise_get out i)
  string(JSON type ERROR_VARIABLE error TYPE "${manifest_json}" exercises ${i} ${ARGN})
  if(error)
    message(FATAL_ERROR "${manifest_json_path}: exercise ${i}: ${error}")
  endif()
  set(value "")
  if(NOT type STREQUAL "NULL")
    string(JSON value GET "${manifest_json}" exercises ${i} ${ARGN})
  endif()
  set(${out} "${value}" PARENT_SCOPE)
endfunction()
if(exercise_count GREATER 0)
  math(EXPR last_exercise "${exercise_count} - 1")
  foreach(i RANGE ${last_exercise})
    foreach(member id chapter title file header tag)
      qkv_exercise_get(${member} ${i} ${member})
    endforeach()
    string(SUBSTRING "${chapter}" 0 2 nn)
    if(NOT "ch${nn}" IN_LIST chapter_labels)
      message(FATAL_ERROR "${manifest_json_path}: exercise '${id}' belongs to ${chapter}, "
                          "which is not a built chapter")
    endif()
    get_filename_component(file_name "${file}" NAME)

    # What to do: the stub's opening comment, verbatim (the TODO block), never the solution.
    # (Whole-file strings and regexes, not lists: code has ';' and '[', which lists split on.)
    file(READ "${SOURCE_DIR}/${file}" stub_text)
    string(REGEX MATCH "^(//[^\n]*\n)+" todo "${stub_text}")
    if(todo STREQUAL "")
      message(FATAL_ERROR "${file}: the stub must open with a comment saying what to do")
    endif()
    # What it implements: the header from its first /// comment to the namespace's end.
    set(declaration "")
    if(NOT header STREQUAL "" AND EXISTS "${SOURCE_DIR}/${header}")
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
    set(page "# ${id}: ${title_md} {#ex_${id}}\n\n")
    string(APPEND page "An exercise of @ref ch${nn}. The file to edit is `${file}`; its test "
                       "is tagged `[${tag}]`.\n\n## What to write\n\n`${file_name}` says:\n\n"
                       "```cpp\n${todo}```\n\n")
    if(NOT declaration STREQUAL "")
      string(APPEND page "It implements what `${header}` declares (leave that file as it "
                         "is):\n\n```cpp\n${declaration}\n```\n\n")
    endif()
    # The hints as the terminal gives them: progressive, each folded until asked for; the
    # solution is never on the page.
    string(JSON hint_count LENGTH "${manifest_json}" exercises ${i} hints)
    if(hint_count LESS 1)
      message(FATAL_ERROR "${manifest_json_path}: exercise '${id}' has no hint")
    endif()
    string(APPEND page "## Hints\n\nTry it first. Each level says more than the one before; "
                       "the last is close to code.\n\n")
    math(EXPR last_hint "${hint_count} - 1")
    foreach(level RANGE ${last_hint})
      qkv_exercise_get(hint ${i} hints ${level})
      qkv_escape(hint_md "${hint}")
      math(EXPR shown_level "${level} + 1")
      # \htmlonly: Doxygen 1.9.4 would close the <details> at the first blank line.
      string(APPEND page "\\htmlonly<details><summary>Hint ${shown_level} of ${hint_count}"
                         "</summary>\\endhtmlonly\n\n${hint_md}\n\n"
                         "\\htmlonly</details>\\endhtmlonly\n\n")
    endforeach()
    string(APPEND page "## Check it\n\n```sh\n"
                       "build/dev/bin/qkv-learn check ${id}   # rebuilds, runs, explains\n"
                       "build/dev/bin/qkv-learn watch ${id}   # the same on every save\n"
                       "```\n\nThe test passes once `${file_name}` does what its comment asks. "
                       "Stuck? Reread @ref ch${nn}, then the hints, one level at a time.\n")
    file(WRITE "${pages_dir}/exercise_${id}.md" "${page}")
    list(APPEND exercise_pages "${pages_dir}/exercise_${id}.md")
    string(APPEND overview "| @ref ex_${id} \"${id}\" | @ref ch${nn} | ${title_md} |\n")
    list(APPEND exercises_of_ch${nn} "ex_${id}")
  endforeach()
endif()
file(WRITE "${pages_dir}/exercises.md" "${overview}")

# --- the quizzes: `qkv-learn quiz NN --markdown` for each chapter with a quiz.md ----------
# The page is the chapter's quiz with the answers folded away; the filter translates its
# Markdown like a README's and gives it the page id quizNN.
set(quiz_pages "")
foreach(chapter IN LISTS chapters)
  string(SUBSTRING "${chapter}" 0 2 nn)
  if(NOT EXISTS "${SOURCE_DIR}/chapters/${chapter}/quiz.md")
    message(STATUS "No quiz page for ${chapter}: chapters/${chapter}/quiz.md does not exist")
    continue()
  endif()
  if(NOT LEARN OR NOT EXISTS "${LEARN}")
    message(FATAL_ERROR "chapters/${chapter}/quiz.md exists but qkv-learn ('${LEARN}') does "
                        "not: it writes the quiz page")
  endif()
  execute_process(COMMAND "${LEARN}" quiz ${nn} --markdown WORKING_DIRECTORY "${SOURCE_DIR}"
                  RESULT_VARIABLE status OUTPUT_VARIABLE quiz ERROR_VARIABLE error)
  if(NOT status EQUAL 0 OR quiz STREQUAL "")
    message(FATAL_ERROR "${LEARN} quiz ${nn} --markdown failed (${status}), for "
                        "chapters/${chapter}/quiz.md:\n${error}")
  endif()
  # The page id is the docs build's (quizNN, which the chapter pages link), not the one the
  # quiz's own heading may carry.
  string(REGEX REPLACE "^(# [^\n]*[^ \n]) *[{]#[A-Za-z0-9_]+[}]" "\\1" quiz "${quiz}")
  if(NOT quiz MATCHES "^# ")
    string(REGEX REPLACE "^0" "" number "${nn}")
    set(quiz "# Chapter ${number}: quiz\n\n${quiz}")
  endif()
  file(WRITE "${pages_dir}/quiz_${nn}.md" "${quiz}")
  list(APPEND quiz_pages "${pages_dir}/quiz_${nn}.md")
  set(quiz_of_ch${nn} "quiz${nn}")
endforeach()

# --- what the filter appends to each chapter's README ------------------------------
list(LENGTH chapter_labels count)
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  list(GET chapter_labels ${i} label)
  list(GET chapters ${i} chapter)
  set(nav "\n<hr>\n")
  if(quiz_of_${label})
    string(APPEND nav "**Check your understanding**: \\subpage ${quiz_of_${label}}\n\n")
  endif()
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
set(input "${SOURCE_DIR}/README.md" ${chapter_readmes} ${quiz_pages} "${pages_dir}/exercises.md"
          ${exercise_pages} "${SOURCE_DIR}/docs/api.dox" "${SOURCE_DIR}/common/include/qkv")
list(JOIN input " \\\n                         " QKV_DOCS_INPUT)
set(PROJECT_SOURCE_DIR "${SOURCE_DIR}")
set(PROJECT_VERSION "${VERSION}")
set(QKV_DOCS_OUTPUT "${SITE_DIR}")
set(QKV_DOCS_WORK "${WORK_DIR}")
set(QKV_DOCS_FILTER "${PYTHON} ${SOURCE_DIR}/docs/chapter_text.py filter ${nav_dir}")
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
