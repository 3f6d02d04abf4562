#!/usr/bin/env bash
# CI: the test suite under AddressSanitizer + UndefinedBehaviorSanitizer (the asan
# preset: -fno-sanitize-recover, so the first finding fails the run), then every chapter
# executable with its defaults, with --json and with --svg. The library's, the tools' and the
# robustness tests run; the exercise and chapter tests are left out (QKV_EXERCISE_TESTS and
# QKV_CHAPTER_TESTS off in the preset, see CMakeLists.txt): the exercise tests test the
# solutions and run bounds-checked in the ci build, and every chapter runs here anyway.
# The preset compiles at -O0 -g1: measured on 2 cores, compiling dominates (at -O1 -g the
# build took twice the CPU time, and the tests saved less than that); -g1 keeps the line
# tables that sanitizer stack traces need and compiles ~15% faster than -g.
#   scripts/ci-asan.sh              cmake --workflow --preset asan, in build/asan
#   scripts/ci-asan.sh BUILD_DIR    the same preset in another folder (local runs)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
# As the asan test preset sets them; a finding aborts with a stack trace.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

if [ $# -eq 0 ]; then
  build=build/asan
  cmake --workflow --preset asan
else
  build="$1"
  cmake --preset asan -B "$build" >/dev/null
  cmake --build "$build" -j2
  ctest --test-dir "$build" --output-on-failure -j2 --no-tests=error
fi
echo "ci-asan.sh: test suite clean ($(( $(date +%s) - start ))s)"

svg_dir=$(mktemp -d)
trap 'rm -rf "$svg_dir"' EXIT
count=0
while read -r chapter; do
  for args in "" "--json" "--svg $svg_dir/$chapter"; do
    # shellcheck disable=SC2086  # args split on purpose
    if ! "$build/bin/$chapter" $args >/dev/null 2>"$svg_dir/stderr"; then
      cat "$svg_dir/stderr" >&2
      echo "ci-asan.sh: $chapter $args failed under the sanitizers (above)" >&2
      exit 1
    fi
    count=$((count + 1))
  done
done <"$build/chapters.txt"
echo "ci-asan.sh: $count chapter runs clean ($(( $(date +%s) - start ))s)"
