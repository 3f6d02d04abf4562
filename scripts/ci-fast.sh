#!/usr/bin/env bash
# CI's check of the fast build (preset fast: -O3 -march=native, OpenMP): it compiles, its
# attention tests pass (the library's softmax, attention, masking, multi-head, KV-cache and
# tiled-attention tests, label attention-fast, in one executable of their own), every chapter
# builds and runs (g++ 12's false warnings at -march=native differ from one CPU to the next:
# chapter 04 failed to compile on an Intel Xeon only), and the benchmarks build and start. Lean on purpose: the ci preset has already run the whole suite,
# and every exercise built a second time would cost CI minutes it does not have.
#   scripts/ci-fast.sh
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
cmake --preset fast >/dev/null
cmake --build --preset fast --target test_qkv_attention benchmarks chapters
ctest --preset fast -L attention-fast
for chapter in build/fast/bin/[0-9][0-9]_*; do
  "$chapter" >/dev/null || { echo "ci-fast.sh: $chapter failed in the fast build" >&2; exit 1; }
done
# A smoke run of each benchmark at its smallest size (the real runs: scripts/run-benchmarks.sh).
build/fast/bin/qkv_attention_benchmark --max-tokens 512 --reps 1 >/dev/null
build/fast/bin/qkv_decode_benchmark --max-tokens 128 --reps 1 >/dev/null
build/fast/bin/qkv_decode_bandwidth --max-tokens 128 --reps 1 --triad-mib 8 --rotate-mib 8 \
  --min-time 0.01 >/dev/null
echo "ci-fast.sh: the fast build passes its attention tests ($(( $(date +%s) - start )) s)"
