#!/usr/bin/env bash
# How long a learner waits for a verdict: for each exercise, put its reference solution in
# place of the file the learner edits, then RUNS times make a one-line change and time what
# `qkv-learn check <id>` does (build the exercise's target, run its test). Prints a Markdown
# table of the medians: wall time, and CPU time (user + sys of the build and the test, which
# other work on a shared machine does not inflate as much), with the 1-minute load average
# when the exercise's runs ended (on a shared machine the wall times say little without it).
#
#   scripts/verdict-times.sh [--build DIR] [--runs N] [ID ...]
#
# DIR is a dev build (default build/dev, made by `cmake --workflow --preset dev`). Every
# learner file it touches is copied to DIR/verdict-times-backup/ first and put back at the
# end, on Ctrl-C too; the exercises' test programs are then rebuilt from the restored files.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

usage() {
  echo "usage: scripts/verdict-times.sh [--build DIR] [--runs N] [ID ...]" >&2
  exit 2
}
build=build/dev runs=5 only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
    --runs) [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || usage; runs=$2; shift 2 ;;
    -h | --help) usage ;;
    -*) echo "verdict-times.sh: unknown option $1" >&2; usage ;;
    *) only+=("$1"); shift ;;
  esac
done

cache="$build/CMakeCache.txt"
if [ ! -f "$cache" ]; then
  echo "verdict-times.sh: no build in $build (make one: cmake --workflow --preset dev)" >&2
  exit 1
fi
if ! grep -q '^QKV_EXERCISES_FROM:STRING=exercises$' "$cache"; then
  echo "verdict-times.sh: $build builds the tests from solutions/; use a dev build" >&2
  exit 1
fi

# The exercises, in order: <build>/manifest.json (written at configure time by
# cmake/QkvManifest.cmake), else the id and chapter columns of exercises/manifest.
exercises=()
if [ -f "$build/manifest.json" ]; then
  mapfile -t exercises < <(python3 -c '
import json, sys
for e in json.load(open(sys.argv[1]))["exercises"]:
    print(e["id"] + " " + e["chapter"])' "$build/manifest.json")
else
  mapfile -t exercises < <(sed -n 's/^ *\([a-z0-9_]*\) *| *\([A-Za-z0-9_]*\) *|.*/\1 \2/p' \
    exercises/manifest)
fi
[ ${#exercises[@]} -gt 0 ] || { echo "verdict-times.sh: no exercises found" >&2; exit 1; }
for id in "${only[@]}"; do
  if [[ ! " ${exercises[*]} " == *" $id "* ]]; then
    echo "verdict-times.sh: no exercise '$id' in the manifest" >&2
    usage
  fi
done

backup="$build/verdict-times-backup"
if [ -e "$backup" ]; then
  echo "verdict-times.sh: $backup exists: an earlier run did not finish. Its files are the" >&2
  echo "learner's; copy them back into exercises/ (same paths) and remove $backup." >&2
  exit 1
fi
mkdir -p "$backup"
changed=()  # repository-relative paths of learner files now replaced

restore() {
  local file
  for file in "${changed[@]}"; do
    cp "$backup/$file" "$root/$file"
    touch "$root/$file"  # newer than its object: the next build recompiles it
  done
  rm -rf "$backup"
  changed=()
}
interrupted() {
  restore
  echo "verdict-times.sh: interrupted; your files are back (rebuild before trusting a verdict)" >&2
  exit 130
}
trap interrupted INT TERM
trap restore EXIT

# Median of numbers, one per line.
median() {
  sort -n | awk '{ v[NR] = $1 }
    END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Builds and tests one exercise once, as qkv-learn check does. Prints "wall cpu status".
check_once() {
  local id=$1 status=pass times
  local TIMEFORMAT='%R %U %S'
  times=$( { time {
    if ! cmake --build "$build" --target "exercise_$id" >/dev/null 2>&1; then
      echo build-failed >"$build/verdict-times-status"
    elif ! "$build/exercises/exercise_$id" "[$id]" -r xml --order decl >/dev/null 2>&1; then
      echo test-failed >"$build/verdict-times-status"
    else
      echo pass >"$build/verdict-times-status"
    fi
  }; } 2>&1)
  status=$(cat "$build/verdict-times-status")
  rm -f "$build/verdict-times-status"
  read -r wall user sys <<<"$times"
  awk -v w="$wall" -v u="$user" -v s="$sys" -v st="$status" \
    'BEGIN { printf "%.2f %.2f %s\n", w, u + s, st }'
}

echo "Verdict times: $runs runs per exercise, medians; $(nproc) CPUs, load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg) at the start; $(c++ --version | head -n 1)" >&2
echo
echo "| exercise | save to verdict (wall) | CPU (user + sys) | verdict | load |"
echo "|----------|-----------------------:|-----------------:|---------|-----:|"
for entry in "${exercises[@]}"; do
  read -r id chapter <<<"$entry"
  if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " == *" $id "* ]]; then continue; fi
  file="exercises/$chapter/$id.cpp"
  mkdir -p "$backup/exercises/$chapter"
  cp -p "$file" "$backup/$file"
  changed+=("$file")
  cp "solutions/$chapter/$id.cpp" "$file"
  check_once "$id" >/dev/null  # the solution built once: the runs below change one line
  walls=() cpus=() verdict=pass
  for ((run = 1; run <= runs; run++)); do
    echo "// verdict-times.sh: one-line change $run" >>"$file"
    read -r wall cpu status < <(check_once "$id")
    walls+=("$wall") cpus+=("$cpu")
    [ "$status" = pass ] || verdict=$status
  done
  wall=$(printf '%s\n' "${walls[@]}" | median)
  cpu=$(printf '%s\n' "${cpus[@]}" | median)
  printf '| %s | %.1f s | %.1f s | %s | %s |\n' "$id" "$wall" "$cpu" "$verdict" \
    "$(cut -d' ' -f1 /proc/loadavg)"
done
echo
echo "(load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)" >&2

trap - INT TERM EXIT
targets=()
for file in "${changed[@]}"; do targets+=("exercise_$(basename "$file" .cpp)"); done
restore
echo "Rebuilding the exercise tests from your files..." >&2
cmake --build "$build" --target "${targets[@]}" >/dev/null 2>&1 ||
  echo "(some of your exercises do not compile: qkv-learn check says why)" >&2
