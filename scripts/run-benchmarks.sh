#!/usr/bin/env bash
# Runs chapter 09's attention benchmark with its PyTorch peers, in one go, from the fast build,
# and writes docs-ready tables:
#   OUT/attention_benchmark.md    the table and the targets of issue 14 (Markdown)
#   OUT/attention_benchmark.csv   one row per case
#   OUT/attention_benchmark.json  the rows as a JSON list (impl, T, d_head, threads, causal,
#                                 seconds, gflops, peak_rss_bytes, ...)
#   OUT/peers.json                the rows the Python drivers measured
#   OUT/decode_benchmark.md       chapter 06's decode benchmark (with --decode)
#   OUT/decode_bandwidth.{md,csv,json}  chapter 08's decode bandwidth benchmark, MHA / GQA / MQA
#                                 against a STREAM triad (with --bandwidth)
#
#   scripts/run-benchmarks.sh [--reps R] [--max-tokens N] [--decode] [--bandwidth] [OUT]
#                                 (OUT: build/fast/benchmarks)
#
# Peers (benchmark tools only; neither the build nor CI needs them):
#   torch_mha            Debian's python3-torch 1.13 in /usr/bin/python3; install
#                        libopenblas0-pthread so that it multiplies with OpenBLAS
#   torch2_mha, torch2_sdpa  PyPI's torch 2.x in a virtual environment, $TORCH2_PYTHON
#                        (default venv-torch2/bin/python): python3 -m venv venv-torch2 &&
#                        venv-torch2/bin/pip install torch
# A peer whose Python or torch is missing is left out, with a note. The machine should be
# quiet: every number is a median of R repetitions, and the ratios come from the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=5 max_tokens=16384 decode=0 bandwidth=0 out=build/fast/benchmarks
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --max-tokens) max_tokens=$2; shift 2 ;;
    --decode) decode=1; shift ;;
    --bandwidth) bandwidth=1; shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run-benchmarks.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) out=$1; shift ;;
  esac
done
mkdir -p "$out"
cmake --preset fast >/dev/null
cmake --build --preset fast --target benchmarks

peer_files=()
run_peer() {  # run_peer NAME PYTHON
  if [ -x "$2" ] && "$2" -c 'import torch' 2>/dev/null; then
    echo "== peers: $1 ($2)"
    "$2" scripts/bench_torch.py --reps "$reps" --max-tokens "$max_tokens" > "$out/peers-$1.json"
    peer_files+=("$out/peers-$1.json")
  else
    echo "== peers: $1 left out: $2 cannot import torch" >&2
  fi
}
run_peer torch1 /usr/bin/python3
run_peer torch2 "${TORCH2_PYTHON:-venv-torch2/bin/python}"
python3 - "$out/peers.json" "${peer_files[@]}" <<'PY'
import json, sys
rows = [row for name in sys.argv[2:] for row in json.load(open(name))]
json.dump(rows, open(sys.argv[1], "w"), indent=1)
PY

echo "== qkv_attention_benchmark"
build/fast/bin/qkv_attention_benchmark --reps "$reps" --max-tokens "$max_tokens" \
  --peers "$out/peers.json" --md "$out/attention_benchmark.md" \
  --csv "$out/attention_benchmark.csv" --json "$out/attention_benchmark.json"
if [ "$decode" = 1 ]; then
  echo "== qkv_decode_benchmark"
  build/fast/bin/qkv_decode_benchmark --reps "$reps" --out "$out/decode_benchmark.md"
fi
if [ "$bandwidth" = 1 ]; then
  echo "== qkv_decode_bandwidth"
  build/fast/bin/qkv_decode_bandwidth --reps "$reps" --md "$out/decode_bandwidth.md" \
    --csv "$out/decode_bandwidth.csv" --json "$out/decode_bandwidth.json"
fi
echo "run-benchmarks.sh: tables in $out/"
