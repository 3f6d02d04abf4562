#!/usr/bin/env bash
# CI's check of the untouched stubs: every exercise test, built from exercises/ (the
# learner's files), must fail and name the file to edit (`qkv-learn status --expect-stubs`).
#   scripts/ci-stubs.sh             the dev preset, in build/dev (what a learner builds)
#   scripts/ci-stubs.sh BUILD_DIR   reuses a configured build of the ci preset (.ci/run passes
#                                   build/ci): it is switched to QKV_EXERCISES_FROM=exercises, so
#                                   only the 30 exercise files are compiled again, not a second
#                                   copy of the library, chapters and qkv-learn (about 4 minutes
#                                   of CI on 2 cores), and switched back to solutions/ afterwards.
#                                   The dev preset differs from ci only in that switch and in
#                                   warnings not being errors (the stubs compile under -Werror
#                                   here); it is configured too, so a broken preset still fails.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
if [ $# -eq 0 ]; then
  build=build/dev
  cmake --preset dev >/dev/null
  cmake --build --preset dev --target exercises qkv-learn
else
  build="$1"
  [ -f "$build/CMakeCache.txt" ] || { echo "ci-stubs.sh: $build is not a configured build" >&2; exit 2; }
  cmake --preset dev >/dev/null
  trap 'cmake -S . -B "$build" -DQKV_EXERCISES_FROM=solutions >/dev/null' EXIT
  cmake -S . -B "$build" -DQKV_EXERCISES_FROM=exercises >/dev/null
  cmake --build "$build" --target exercises qkv-learn
fi
"$build/bin/qkv-learn" --build "$build" status --expect-stubs --no-build
echo "ci-stubs.sh: every stub fails and names its file ($(( $(date +%s) - start )) s)"
