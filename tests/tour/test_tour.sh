#!/usr/bin/env bash
# Tests of scripts/tour.sh. Usage: test_tour.sh <path of tour.sh> <scratch folder>
#
# Each case copies the script into a fake repository (three chapter folders) whose build
# command, set through QKV_TOUR_BUILD, is a stub: it prints ninja-style progress lines in the
# format the tour asks for (NINJA_STATUS), writes build/dev/compile_commands.json, chapters.txt
# and stub programs for the chapters and qkv-learn, and fails when STUB_FAIL is set.
set -uo pipefail
tour_source=$1
scratch=$2
failures=0
checks=0

fail() {
  printf 'FAILED: %s\n' "$1"
  shift
  for detail in "$@"; do printf '  %s\n' "$detail"; done
  failures=$((failures + 1))
}
# expect_contains NAME TEXT WANTED: TEXT must contain WANTED.
expect_contains() {
  checks=$((checks + 1))
  [[ "$2" == *"$3"* ]] || fail "$1" "expected to find: $(printf '%q' "$3")" \
    "in the output:" "$(printf '%s' "$2" | cat -A | head -n 60)"
}
expect_lacks() {
  checks=$((checks + 1))
  [[ "$2" != *"$3"* ]] || fail "$1" "expected NOT to find: $(printf '%q' "$3")" \
    "in the output:" "$(printf '%s' "$2" | cat -A | head -n 60)"
}
expect_equal() {
  checks=$((checks + 1))
  [[ "$2" == "$3" ]] || fail "$1" "expected: $(printf '%q' "$3")" "actual:   $(printf '%q' "$2")"
}

# A fresh fake repository at $scratch/$1; prints its path.
make_repo() {
  local repo="$scratch/$1"
  rm -rf "$repo"
  mkdir -p "$repo/scripts" "$repo/chapters/01_first" "$repo/chapters/02_second" \
    "$repo/chapters/03_third"
  cp "$tour_source" "$repo/scripts/tour.sh"
  cat >"$repo/stub-build.sh" <<'STUB'
#!/usr/bin/env bash
# Stands in for `cmake --workflow --preset dev`.
echo "-- Configuring done (stub)"
mkdir -p build/dev/bin
echo '[]' >build/dev/compile_commands.json
printf '01_first\n02_second\n03_third\n' >build/dev/chapters.txt
for chapter in 01_first 02_second 03_third; do
  printf '#!/bin/sh\necho "chapter %s runs"\n' "$chapter" >"build/dev/bin/$chapter"
  chmod +x "build/dev/bin/$chapter"
done
printf '#!/bin/sh\necho "qkv-learn $*: 0 of 18 done"\n' >build/dev/bin/qkv-learn
chmod +x build/dev/bin/qkv-learn
status=${NINJA_STATUS-"[%f/%t] "}
for step in 1 2 3; do
  line=${status//%f/$step}
  echo "${line//%t/3}Building CXX object step$step.o"
  if [[ $step == 2 && -n "${STUB_SLOW:-}" ]]; then
    printf 'half of a line, '
    sleep 2.5
    echo 'then the rest'
  fi
  if [[ $step == 2 && -n "${STUB_FAIL:-}" ]]; then
    echo "step2.cpp:7:3: error: stub compile error"
    exit 1
  fi
done
STUB
  chmod +x "$repo/stub-build.sh"
  printf '%s' "$repo"
}

# run_tour REPO [ARGS...]: runs the tour in a pipe; sets out, err and status.
run_tour() {
  local repo=$1
  shift
  out=$(cd "$repo" && QKV_TOUR_BUILD=./stub-build.sh bash scripts/tour.sh "$@" \
    2>"$scratch/stderr" </dev/null)
  status=$?
  err=$(cat "$scratch/stderr")
}

# --- In a pipe, a build that succeeds: the link, every chapter in order, no log, no escapes.
repo=$(make_repo pipe)
run_tour "$repo"
expect_equal "pipe: exit status" "$status" 0
expect_equal "pipe: nothing on stderr" "$err" ""
checks=$((checks + 1))
if [[ -L "$repo/compile_commands.json" ]]; then
  expect_equal "pipe: the link's target" "$(readlink "$repo/compile_commands.json")" \
    "build/dev/compile_commands.json"
else
  fail "pipe: compile_commands.json is not a symbolic link" "$(ls -la "$repo")"
fi
expect_contains "pipe: link message" "$out" \
  "compile_commands.json -> build/dev/compile_commands.json"
expect_contains "pipe: summary" "$out" "Built in 0:0"
expect_contains "pipe: step count" "$out" "(3/3 steps)"
expect_contains "pipe: chapters in order" "$out" \
  "chapter 01_first runs"$'\n\n'"Test yourself on this chapter: build/dev/bin/qkv-learn quiz 01"
expect_contains "pipe: chapter 03 after 02" "$out" \
  "chapter 02_second runs"$'\n\n'"Test yourself on this chapter: build/dev/bin/qkv-learn quiz 02"
expect_contains "pipe: exercises" "$out" "qkv-learn status: 0 of 18 done"
expect_lacks "pipe: the build log stays in the file" "$out" "Building CXX object"
expect_lacks "pipe: no escape codes" "$out" $'\033'
expect_lacks "pipe: no carriage returns" "$out" $'\r'
expect_lacks "pipe: no pause" "$out" "Enter: chapter"
expect_contains "pipe: the log is kept" "$(cat "$repo/build/tour-build.log")" \
  "[qkv 3/3] Building CXX object step3.o"

# --- A second run keeps the link; a compile_commands.json of the learner's own is never replaced.
run_tour "$repo"
expect_equal "again: exit status" "$status" 0
expect_lacks "again: no new link" "$out" "compile_commands.json ->"
repo=$(make_repo own)
echo '"my own"' >"$repo/compile_commands.json"
run_tour "$repo"
expect_equal "own file: exit status" "$status" 0
expect_equal "own file: untouched" "$(cat "$repo/compile_commands.json")" '"my own"'

# --- A build that fails: exit status 1, the full log on stderr, no chapter run.
repo=$(make_repo failed)
out=$(cd "$repo" && STUB_FAIL=1 QKV_TOUR_BUILD=./stub-build.sh bash scripts/tour.sh \
  2>"$scratch/stderr" </dev/null)
status=$?
err=$(cat "$scratch/stderr")
expect_equal "failed build: exit status" "$status" 1
expect_contains "failed build: the log" "$err" "step2.cpp:7:3: error: stub compile error"
expect_contains "failed build: the log from its start" "$err" "-- Configuring done (stub)"
expect_contains "failed build: the message" "$err" "tour.sh: the build failed"
expect_lacks "failed build: no chapter" "$out" "chapter 01_first runs"
checks=$((checks + 1))
[[ -L "$repo/compile_commands.json" ]] ||
  fail "failed build: the link is made once the configure step wrote its target"

# --- Starting from a chapter; bad requests exit 2.
repo=$(make_repo from)
for from in 02 2; do
  run_tour "$repo" "$from"
  expect_equal "from $from: exit status" "$status" 0
  expect_lacks "from $from: skips chapter 01" "$out" "chapter 01_first runs"
  expect_contains "from $from: runs chapter 02" "$out" "chapter 02_second runs"
  expect_contains "from $from: runs chapter 03" "$out" "chapter 03_third runs"
done
for bad in 09 x 1x; do
  run_tour "$repo" "$bad"
  expect_equal "tour.sh $bad: exit status" "$status" 2
done
run_tour "$repo" 09
expect_contains "tour.sh 09: the message" "$err" "there is no chapter 09; the chapters are 01 to 03"
run_tour "$repo" 01 02
expect_equal "two arguments: exit status" "$status" 2
expect_contains "two arguments: usage" "$err" "usage: scripts/tour.sh [NN]"

# --- On a terminal (a pty from `script`): the progress line, bold headings, and the pauses.
if command -v script >/dev/null; then
  repo=$(make_repo terminal)
  # Enter after chapter 01, q after chapter 02.
  out=$(cd "$repo" && printf '\nq\n' | STUB_SLOW=1 QKV_TOUR_BUILD=./stub-build.sh \
    script -qec "bash scripts/tour.sh" /dev/null)
  status=$?
  expect_equal "terminal: exit status" "$status" 0
  expect_contains "terminal: progress" "$out" $'\rBuilding build/dev: step 2 of 3'
  # The clock moves while a step prints nothing (read -t): 0:02 while step 2 sleeps.
  checks=$((checks + 1))
  [[ "$out" =~ step\ 2\ of\ 3\ +0:02 ]] ||
    fail "terminal: the clock moves" "expected 'step 2 of 3 ... 0:02' in:" "$(cat -A <<<"$out")"
  expect_contains "terminal: a line cut by the clock stays whole in the log" \
    "$(cat "$repo/build/tour-build.log")" "half of a line, then the rest"
  expect_contains "terminal: bold heading" "$out" $'\033[1m################ 01_first'
  expect_contains "terminal: pause after 01" "$out" "Enter: chapter 02_second; q: stop here."
  expect_contains "terminal: chapter 02 after Enter" "$out" "chapter 02_second runs"
  expect_contains "terminal: how to resume" "$out" \
    "To go on from chapter 03 later: scripts/tour.sh 03"
  expect_lacks "terminal: stopped before 03" "$out" "chapter 03_third runs"
  expect_lacks "terminal: the build log stays in the file" "$out" "Building CXX object"

  out=$(cd "$repo" && printf '\n\n' | NO_COLOR=1 QKV_TOUR_BUILD=./stub-build.sh \
    script -qec "bash scripts/tour.sh 02" /dev/null)
  expect_lacks "terminal with NO_COLOR: no escape codes" "$out" $'\033'
  expect_contains "terminal with NO_COLOR: still pauses" "$out" "Enter: chapter 03_third"
  expect_contains "terminal with NO_COLOR: runs to the end" "$out" "qkv-learn status"
else
  echo "note: no 'script' command (util-linux): the terminal cases were not run"
fi

if ((failures > 0)); then
  printf '%d of %d checks failed\n' "$failures" "$checks"
  exit 1
fi
printf 'all %d checks passed\n' "$checks"
