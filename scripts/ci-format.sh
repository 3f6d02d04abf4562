#!/usr/bin/env bash
# CI: every tracked C++ file is clang-formatted (the repository's .clang-format), and
# clang-tidy (the profile in .clang-tidy, every finding an error) passes on the library's
# sources, every chapter's main.cpp and the tools (not their tests), with the qkv headers
# they include.
#   scripts/ci-format.sh [BUILD_DIR]   BUILD_DIR holds compile_commands.json (default build/ci)
# Needs clang-format and clang-tidy: scripts/setup.sh --lint installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/ci}"
start=$(date +%s)

mapfile -t cpp_files < <(git ls-files -- '*.cpp' '*.hpp' '*.h')
echo "clang-format: ${#cpp_files[@]} tracked C++ files"
if ! clang-format --dry-run -Werror "${cpp_files[@]}"; then
  echo "ci-format.sh: run clang-format -i on the files above" >&2
  exit 1
fi

[ -f "$build/compile_commands.json" ] || {
  echo "ci-format.sh: no $build/compile_commands.json: configure first (cmake --preset ci)" >&2
  exit 1
}
# Only files the build compiles (tracked or not): clang-tidy needs their flags.
mapfile -t tidy_files < <(
  grep -oE '"file": "[^"]*"' "$build/compile_commands.json" | sed 's/"file": "//; s/"$//' |
    grep -E "^$PWD/(common/src/[^/]*\.cpp|chapters/[^/]*/main\.cpp|tools/.*\.cpp)$" |
    grep -v "/tests/" | sort -u)
echo "clang-tidy: ${#tidy_files[@]} files, 2 at a time"
# (clang-tidy 14 prints "N warnings generated." per file even with --quiet: dropped.)
status=0
printf '%s\n' "${tidy_files[@]}" | xargs -P 2 -n 1 clang-tidy -p "$build" --quiet 2>&1 |
  { grep -v ' warnings\? generated\.$' || true; } || status=$?
if [ "$status" != 0 ]; then
  echo "ci-format.sh: clang-tidy found problems (above); the profile is .clang-tidy" >&2
  exit 1
fi
echo "ci-format.sh: clean ($(( $(date +%s) - start ))s)"
