#!/usr/bin/env bash
# Reproducibility across builds: every chapter prints the same bytes, with its defaults and
# with --json, in each build folder given (e.g. the ci and dev builds, or the asan build,
# compiled with other flags).
#   scripts/compare-builds.sh BUILD_DIR OTHER_BUILD_DIR...
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: compare-builds.sh BUILD_DIR OTHER_BUILD_DIR..." >&2; exit 2; }
first="$1"
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export NO_COLOR=1
problems=0 runs=0
while read -r chapter; do
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
