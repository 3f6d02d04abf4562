#!/usr/bin/env bash
# Reproducibility across builds: every chapter prints the same bytes, with its defaults and
# with --json, in each build folder given (e.g. the ci build at -O2 and the asan build at
# -O0 under the sanitizers, as .ci/run compares them, or the ci and dev builds).
#   scripts/compare-builds.sh [--skip CHAPTER]... BUILD_DIR OTHER_BUILD_DIR...
# --skip leaves out a chapter whose defaults differ between the builds by design (chapter 10
# trains 10 steps instead of 500 under AddressSanitizer).
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: compare-builds.sh [--skip CHAPTER]... BUILD_DIR OTHER_BUILD_DIR..."
skip=" "
while [ $# -gt 0 ] && [ "$1" = "--skip" ]; do
  [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
  skip+="$2 "
  shift 2
done
[ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
first="$1"
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export NO_COLOR=1
problems=0 runs=0
while read -r chapter; do
  case "$skip" in *" $chapter "*) echo "compare-builds.sh: $chapter skipped"; continue ;; esac
  for args in "" "--json"; do
    # shellcheck disable=SC2086  # args split on purpose
    "$first/bin/$chapter" $args >"$tmp/expected"
    for other in "$@"; do
      [ -x "$other/bin/$chapter" ] || { echo "FAIL: $other/bin/$chapter is missing"; problems=$((problems + 1)); continue; }
      # shellcheck disable=SC2086
      "$other/bin/$chapter" $args >"$tmp/actual"
      runs=$((runs + 1))
      if ! cmp -s "$tmp/expected" "$tmp/actual"; then
        echo "FAIL: $chapter $args prints differently in $first and $other:"
        { diff "$tmp/expected" "$tmp/actual" || true; } | head -n 8 | sed 's/^/    /'
        problems=$((problems + 1))
      fi
    done
  done
done <"$first/chapters.txt"
echo "compare-builds.sh: $runs comparisons, $problems differences"
[ "$problems" = 0 ]
