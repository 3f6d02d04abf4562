#!/usr/bin/env bash
# CI for the documentation site (called by .ci/run): builds it with the docs preset, where
# every Doxygen warning is an error (a snippet marker gone, a broken reference, an
# undocumented public function, a figure no chapter wrote), then opens it in headless
# Chromium with the network off (docs/check_site.py, the preset's one test). Screenshots of
# the pages it opened are left in build/docs/screenshots/. The chapter READMEs are GitHub
# Markdown that docs/chapter_text.py translates for Doxygen; that they match the chapters
# (code blocks, figures, flags, --json keys) is checked without Doxygen by the ci preset's
# tests labelled docs-text (tests/docs).
#   scripts/ci-docs.sh             the docs preset, in build/docs (its own build of the chapters)
#   scripts/ci-docs.sh BUILD_DIR   reuses a configured build of the same flags (.ci/run passes
#                                  build/ci): its chapters, benchmarks and qkv-learn are built
#                                  already, so only the site is made, not a second copy of the
#                                  library (about 3 minutes of CI on 2 cores). The docs switch
#                                  is turned back off afterwards, so that folder's own test
#                                  preset stays as it was.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
if [ $# -eq 0 ]; then
  build=build/docs
  cmake --workflow --preset docs
else
  build="$1"
  [ -f "$build/CMakeCache.txt" ] || { echo "ci-docs.sh: $build is not a configured build" >&2; exit 2; }
  trap 'cmake -S . -B "$build" -DQKV_BUILD_DOCS=OFF >/dev/null' EXIT
  cmake -S . -B "$build" -DQKV_BUILD_DOCS=ON >/dev/null
  cmake --build "$build" --target docs
  ctest --test-dir "$build" -L '^docs$' --output-on-failure --no-tests=error
fi
echo "ci-docs.sh: built and checked in $(( $(date +%s) - start )) s: $build/html/index.html," \
     "screenshots in $build/screenshots/"
