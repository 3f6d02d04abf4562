#!/usr/bin/env bash
# Brings the chapter texts up to date with the chapters, in one command, after a chapter's
# main.cpp or a figure's drawing changed:
#   - every code block of a chapters/NN_name/README.md marked
#     <!-- snippet: PATH NAME --> is rewritten from the code between PATH's `//! [NAME]` lines;
#   - chapters/NN_name/figures/*.svg become what `NN_name --svg` draws now (stale ones removed).
# Then the test that fails when they drift (ctest -L docs-text) passes again; review the
# diff (git diff chapters/) and commit it. Prose, the Flags paragraph and the --json key list
# are written by hand: the test names what differs.
#   scripts/update-chapter-texts.sh [PRESET] [CHAPTER...]     PRESET: ci (default) or dev
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-ci}
shift || true
if [ ! -f "build/$preset/build.ninja" ]; then
  cmake --preset "$preset" >/dev/null
fi
cmake --build --preset "$preset" --target chapters
python3 docs/chapter_text.py update --root . --bin "build/$preset/bin" "$@"
python3 docs/chapter_text.py check --root . --bin "build/$preset/bin" \
  ${@:-$(cat "build/$preset/chapters.txt")}
