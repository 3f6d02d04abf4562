#!/usr/bin/env bash
# Builds the learner's build (the dev preset) and runs every chapter in order with its
# defaults, then shows where the exercises stand and what to do next.
#   scripts/tour.sh            all chapters
#   scripts/tour.sh 03         from chapter 03 on
# The build shows one line of progress; its full log (build/tour-build.log) is printed only
# when it fails. On a terminal the tour pauses after each chapter (Enter: the next one, q: stop,
# with the command that goes on from there); in a pipe it runs straight through.
# QKV_TOUR_BUILD replaces the build command (tests/tour runs the tour with a stub).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: scripts/tour.sh [NN]    NN: the chapter to start from, e.g. 03 (default: 01)"
}
from=1
if (($# > 1)); then usage >&2; exit 2; fi
case "${1:-}" in
  "") ;;
  -h | --help) usage; exit 0 ;;
  [0-9] | [0-9][0-9]) from=$((10#$1)) ;;
  *) echo "tour.sh: expected a chapter number like 03, not '$1'" >&2; usage >&2; exit 2 ;;
esac
numbers=()
for dir in chapters/[0-9][0-9]_*/; do
  [[ -d "$dir" ]] && numbers+=("${dir:9:2}")
done
if ((${#numbers[@]} == 0)); then echo "tour.sh: no chapters in $PWD/chapters" >&2; exit 1; fi
found=false
for number in "${numbers[@]}"; do ((10#$number == from)) && found=true; done
if ! $found; then
  printf 'tour.sh: there is no chapter %02d; the chapters are %s to %s\n' "$from" \
    "${numbers[0]}" "${numbers[${#numbers[@]} - 1]}" >&2
  exit 2
fi

# A terminal gets pauses and a progress line redrawn in place; escape codes (bold) only when
# NO_COLOR is unset too. A pipe gets plain lines and no questions.
interactive=false
[[ -t 0 && -t 1 ]] && interactive=true
redraw=false
[[ -t 1 ]] && redraw=true
styled=false
[[ -t 1 && -z "${NO_COLOR:-}" ]] && styled=true
heading() {
  if $styled; then printf '\n\033[1m%s\033[0m\n' "$1"; else printf '\n%s\n' "$1"; fi
}
elapsed() { printf '%d:%02d' $(((SECONDS - start) / 60)) $(((SECONDS - start) % 60)); }

build_dir=build/dev
log=build/tour-build.log
build_command="${QKV_TOUR_BUILD:-cmake --workflow --preset dev}"
# Ninja prints this before every step it starts: "[qkv 37/412] Building CXX object ...".
export NINJA_STATUS="[qkv %f/%t] "
steps=""

# Reads the build's output, keeps all of it in $log and shows one line: the phase, the step
# and the time so far. `read -t 1` lets the clock move while a long step prints nothing.
show_progress() {
  local line="" partial="" status
  : >"$log"
  while :; do
    if IFS= read -r -t 1 line; then
      line="$partial$line"
      partial=""
      printf '%s\n' "$line" >>"$log"
      if [[ "$line" =~ ^\[qkv\ ([0-9]+)/([0-9]+)\]\  ]]; then
        steps="step ${BASH_REMATCH[1]} of ${BASH_REMATCH[2]}"
      fi
    else
      status=$?
      if ((status > 128)); then
        partial="$partial$line"  # timed out in the middle of a line: keep what came
      else
        [[ -n "$partial$line" ]] && printf '%s\n' "$partial$line" >>"$log"
        break
      fi
    fi
    if $redraw; then
      printf '\rBuilding build/dev: %-24s %s ' "${steps:-configuring}" "$(elapsed)"
    fi
  done
  if $redraw; then printf '\r%60s\r' ""; fi
}

mkdir -p build
printf 'Building the learner build (build/dev): %s\n' "$build_command"
$redraw || printf '(progress is shown on a terminal; the log goes to %s)\n' "$log"
start=$SECONDS
set +e
sh -c "$build_command" </dev/null 2>&1 | show_progress
build_status=${PIPESTATUS[0]}
set -e
last_step=$(grep -Eo '^\[qkv [0-9]+/[0-9]+\]' "$log" | tail -n 1 | tr -d '[]' || true)

# clangd and IDEs look for compile_commands.json at the root: point it at the learner's build
# (even after a failed build, if the configure step wrote it). Never replace the learner's own.
if [[ -e "$build_dir/compile_commands.json" && ! -e compile_commands.json &&
      ! -L compile_commands.json ]]; then
  ln -s "$build_dir/compile_commands.json" compile_commands.json
  echo "compile_commands.json -> $build_dir/compile_commands.json (for clangd and IDEs)"
fi

if ((build_status != 0)); then
  cat "$log" >&2
  echo "tour.sh: the build failed after $(elapsed) (exit status $build_status); its full log" \
    "is above and in $log." >&2
  exit 1
fi
if [[ -n "$last_step" ]]; then
  echo "Built in $(elapsed) (${last_step#qkv } steps)."
else
  echo "Built in $(elapsed): everything was up to date."
fi

chapters=()
while read -r chapter; do
  [[ -n "$chapter" ]] && ((10#${chapter:0:2} >= from)) && chapters+=("$chapter")
done <"$build_dir/chapters.txt"

for ((i = 0; i < ${#chapters[@]}; i++)); do
  chapter=${chapters[i]}
  heading "################ $chapter ################"
  printf '(%s/bin/%s; the text is chapters/%s/README.md)\n' "$build_dir" "$chapter" "$chapter"
  if ! "$build_dir/bin/$chapter"; then
    echo "tour.sh: $build_dir/bin/$chapter failed" >&2
    exit 1
  fi
  printf '\nTest yourself on this chapter: %s/bin/qkv-learn quiz %s\n' "$build_dir" "${chapter:0:2}"
  if $interactive && ((i + 1 < ${#chapters[@]})); then
    next=${chapters[i + 1]}
    printf 'Enter: chapter %s; q: stop here. ' "$next"
    answer=""
    read -r answer || answer=q
    if [[ "$answer" == [qQ]* ]]; then
      printf 'To go on from chapter %s later: scripts/tour.sh %s\n' "${next:0:2}" "${next:0:2}"
      exit 0
    fi
  fi
done

heading "################ Your exercises ################"
"$build_dir/bin/qkv-learn" status
