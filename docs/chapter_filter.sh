#!/bin/sh
# Doxygen input filter for chapters/NN_name/README.md (docs/Doxyfile.in, FILTER_PATTERNS):
# prints the README as it is, then what make_site.cmake wrote for that chapter (its
# exercises and the previous/next links). Appending keeps the README's line numbers, so
# Doxygen's warnings point at the right line of the real file.
#   chapter_filter.sh NAV_DIR chapters/NN_name/README.md
set -eu
nav_dir=$1
readme=$2
cat "$readme"
chapter=$(basename "$(dirname "$readme")")
if [ -f "$nav_dir/$chapter.md" ]; then
  printf '\n'
  cat "$nav_dir/$chapter.md"
fi
