#!/usr/bin/env bash
# CI for the documentation site (called by .ci/run): builds it with the docs preset, where
# every Doxygen warning is an error (a snippet marker gone, a broken reference, an
# undocumented public function, a figure no chapter wrote), then opens it in headless
# Chromium with the network off (docs/check_site.py, the preset's one test). Screenshots of
# the pages it opened are left in build/docs/screenshots/. The chapter READMEs are GitHub
# Markdown that docs/chapter_text.py translates for Doxygen; that they match the chapters
# (code blocks, figures, flags, --json keys) is checked without Doxygen by the ci preset's
# tests labelled docs-text (tests/docs).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
cmake --workflow --preset docs
echo "ci-docs.sh: built and checked in $(( $(date +%s) - start )) s: build/docs/html/index.html," \
     "screenshots in build/docs/screenshots/"
