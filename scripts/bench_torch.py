#!/usr/bin/env python3
"""The PyTorch peers of qkv_attention_benchmark (benchmarks/attention_benchmark.cpp).

Run with the Python whose torch is to be measured; scripts/run-benchmarks.sh runs it with
Debian's /usr/bin/python3 (torch 1.13, rows torch_mha) and with a virtual environment holding
PyPI's torch 2.x (rows torch2_mha, torch2_sdpa). Same shapes and thread counts as the C++ rows:
  torch*_mha   nn.MultiheadAttention(512, 8 heads, zero biases), self-attention on 1 x T x 512,
               the default call (need_weights=True: it returns the head-averaged weights)
               and need_weights=False (the output only: the inference fast path), T 512 and
               2048, 1 thread
  torch2_sdpa  F.scaled_dot_product_attention on 1 x 1 x T x 64, T 512 .. 16384, causal and
               not, 1 and 2 threads
Each case runs in a fresh process (this script, --one), so that its peak resident memory
(VmHWM of /proc/self/status, which includes torch itself; getrusage's ru_maxrss would include
the parent's peak, which Linux carries over across fork and exec) is its own. Wall-clock and process-CPU medians
of --reps calls after one warm-up call. Prints a JSON list of rows in the benchmark's format.
  bench_torch.py [--reps R] [--max-tokens N] > rows.json
Benchmark tool only: neither the build nor CI needs torch.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SIZES = [512, 1024, 2048, 4096, 8192, 16384]


def blas_name(torch):
    config = torch.__config__.show()
    for line in config.splitlines():
        if "BLAS_INFO=" in line:
            blas = line.split("BLAS_INFO=")[1].split(",")[0]
            if blas in ("generic", "blas"):  # Debian: whatever libblas.so.3 points at
                target = os.path.realpath("/etc/alternatives/libblas.so.3-x86_64-linux-gnu")
                return "OpenBLAS" if "openblas" in target else os.path.basename(target)
            return {"mkl": "MKL", "open": "OpenBLAS"}.get(blas, blas)
    return "unknown BLAS"


def peak_rss_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    return 0


def run_one(impl, t, threads, causal, reps, need_weights):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(2024)
    with torch.inference_mode():
        if impl.endswith("_mha"):
            # Biases present but zero, so the layer computes what qkv's (which has none) does:
            # torch 1.13's inference fast path fails on bias=False.
            layer = torch.nn.MultiheadAttention(512, 8, bias=True, batch_first=True).eval()
            torch.nn.init.zeros_(layer.in_proj_bias)
            torch.nn.init.zeros_(layer.out_proj.bias)
            x = torch.randn(1, t, 512)

            def call():
                return layer(x, x, x, need_weights=need_weights)[0]
        else:
            q, k, v = (torch.randn(1, 1, t, 64) for _ in range(3))

            def call():
                return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)

        call()  # warm-up
        seconds, cpu_seconds = [], []
        for _ in range(reps):
            start, start_cpu = time.perf_counter(), time.process_time()
            call()
            seconds.append(time.perf_counter() - start)
            cpu_seconds.append(time.process_time() - start_cpu)
    median = statistics.median(seconds)
    note = f"torch {torch.__version__.split('+')[0]}, {blas_name(torch)}"
    if impl.endswith("_mha"):
        note += ", need_weights=" + str(need_weights)
    return {
        "impl": impl, "T": t, "d_head": 512 if impl.endswith("_mha") else 64,
        "threads": threads, "causal": causal, "seconds": median,
        "cpu_seconds": statistics.median(cpu_seconds),
        "spread": (max(seconds) - min(seconds)) / median,
        "peak_rss_bytes": peak_rss_bytes(),
        "note": note,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=16384, choices=SIZES)
    parser.add_argument("--one", nargs=5, metavar=("IMPL", "T", "THREADS", "CAUSAL", "WEIGHTS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        impl, t, threads, causal, weights = args.one
        row = run_one(impl, int(t), int(threads), causal == "1", args.reps, weights == "1")
        print(json.dumps(row))
        return
    import torch

    major = int(torch.__version__.split(".")[0])
    prefix = "torch2" if major >= 2 else "torch"
    cases = [(f"{prefix}_mha", t, 1, False, weights) for t in (512, 2048)
             if t <= args.max_tokens for weights in (True, False)]
    if major >= 2:
        cases += [("torch2_sdpa", t, threads, causal, False) for t in SIZES
                  if t <= args.max_tokens for threads in (1, 2) for causal in (False, True)]
    rows = []
    for impl, t, threads, causal, weights in cases:
        # torch.set_num_threads() does not reach Debian's OpenBLAS (libopenblas0-pthread runs
        # its own threads: torch 1.13's T 512 case took 2 cores' CPU time on "1 thread"), so
        # the BLAS libraries are held to the case's threads before the child imports torch.
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
        out = subprocess.run(
            [sys.executable, __file__, "--reps", str(args.reps), "--one", impl, str(t),
             str(threads), "1" if causal else "0", "1" if weights else "0"],
            check=True, capture_output=True, text=True, env=env).stdout
        rows.append(json.loads(out))
        print(f"{impl} T {t} threads {threads} causal {causal}: {rows[-1]['seconds'] * 1e3:.2f} ms",
              file=sys.stderr)
    json.dump(rows, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
