#!/usr/bin/env bash
# Builds the learner's build (the dev preset) and runs every chapter in order with its
# defaults, then shows where the exercises stand and what to do next.
#   scripts/tour.sh            all chapters
#   scripts/tour.sh 03         from chapter 03 on
set -euo pipefail
cd "$(dirname "$0")/.."
from="${1:-00}"
case "$from" in [0-9][0-9]) ;; *) echo "tour.sh: expected a chapter number like 03, not '$from'" >&2; exit 2 ;; esac

cmake --workflow --preset dev >/tmp/qkv-build-$$.log 2>&1 || {
  cat /tmp/qkv-build-$$.log; rm -f /tmp/qkv-build-$$.log
# clangd and IDEs look for compile_commands.json at the root: point it at the learner's build.
[ -e compile_commands.json ] || ln -s build/dev/compile_commands.json compile_commands.json
  echo "tour.sh: the build failed (above)." >&2; exit 1; }
rm -f /tmp/qkv-build-$$.log

while read -r chapter; do
  [[ "$chapter" < "$from" ]] && continue
  printf '\n\033[1m################ %s ################\033[0m\n' "$chapter"
  printf '(build/dev/bin/%s; the text is chapters/%s/README.md)\n' "$chapter" "$chapter"
  "build/dev/bin/$chapter"
done < build/dev/chapters.txt

printf '\n\033[1m################ Your exercises ################\033[0m\n'
build/dev/bin/qkv-learn status
