#!/usr/bin/env bash
# Where the exercises stand, from their tests alone (no state file), in manifest order.
#   scripts/exercise-status.sh BUILD_DIR [--expect-all-fail]
# With --expect-all-fail (CI, on the untouched stubs): exit 1 unless every exercise test
# fails and its output names the file to edit.
set -uo pipefail
cd "$(dirname "$0")/.."
build="${1:?usage: exercise-status.sh BUILD_DIR [--expect-all-fail]}"
expect_fail=0
[ "${2:-}" = "--expect-all-fail" ] && expect_fail=1

# Strips leading and trailing blanks, leaving quotes and apostrophes alone.
trim() { local s="$1"; s="${s#"${s%%[![:space:]]*}"}"; printf '%s' "${s%"${s##*[![:space:]]}"}"; }

done_count=0 total=0 next="" problems=0
while IFS='|' read -r id chapter title file tag hint; do
  id=$(trim "$id"); chapter=$(trim "$chapter"); file=$(trim "$file")
  tag=$(trim "$tag"); title=$(trim "$title"); hint=$(trim "$hint")
  total=$((total + 1))
  exe="$build/exercises/exercise_$id"
  if [ ! -x "$exe" ]; then
    echo "missing $exe: build first (cmake --workflow --preset dev)" >&2; exit 1
  fi
  if output=$("$exe" "[$tag]" 2>&1); then
    done_count=$((done_count + 1)); mark="done"
    if [ "$expect_fail" = 1 ]; then
      echo "FAIL: exercise $id passes with the untouched stub: its test cannot catch a missing solution"
      problems=$((problems + 1))
    fi
  else
    mark="todo"
    [ -z "$next" ] && next="$id|exercises/$chapter/$file|$hint"
    if [ "$expect_fail" = 1 ]; then
      if grep -q "exercises/$chapter/$file" <<<"$output"; then
        echo "ok:   exercise $id fails on its stub and names exercises/$chapter/$file"
        echo "      hint: $hint"
      else
        echo "FAIL: exercise $id fails on its stub without naming exercises/$chapter/$file:"
        echo "$output" | tail -n 15 | sed 's/^/      /'
        problems=$((problems + 1))
      fi
    fi
  fi
  [ "$expect_fail" = 1 ] || printf '  [%s] %-28s %s\n' "$mark" "$id" "$title"
done < <(grep -vE '^[[:space:]]*(#|$)' exercises/manifest)

if [ "$expect_fail" = 1 ]; then
  echo "$((total - problems)) passed, $problems failed"
  [ "$problems" = 0 ]; exit
fi
echo
echo "$done_count of $total exercises done."
if [ -n "$next" ]; then
  IFS='|' read -r id path hint <<<"$next"
  echo "Next: $id. Open $path, then run:  ctest --preset dev -R 'exercise.$id\$'"
fi
