#!/usr/bin/python3
"""Golden data for qkv's grouped_query.hpp (chapter 08): grouped-query attention, from torch ops.

Run once, from the repository root, with Debian's python3-torch (1.13):
    common/tests/data/grouped_query_golden.py > common/tests/data/grouped_query_golden.json
CI never runs this script; the JSON it wrote is committed beside it.

The reference is written the way Hugging Face's Llama and Mistral code write it, not the way
qkv does (so the test compares two formulations): the kv_heads key and value heads are
expanded to h heads with torch.repeat_interleave (repeat_kv: each key/value head repeated
h / kv_heads times, consecutive query heads sharing one), and then every head runs ordinary
attention in one batched product over a (heads, T, d_head) tensor.

Each case draws X ~ N(0, 1) (T x d_model) and four nn.Linear-like weights U(-1/sqrt(fan_in),
1/sqrt(fan_in)): W_q d_model x (h d_head), W_k and W_v d_model x (kv_heads d_head), W_o
(h d_head) x d_model, and stores the output of self-attention under the causal mask, or under
a sliding window of w tokens (token i sees i - w + 1 .. i) when "window" is not 0.

As in attention_golden.py (whose helpers this script imports): inputs are float32, written
exactly; the reference runs in float64 on them; every case is also computed in float32 and
asserted to agree with float64 within the tolerance the C++ test uses (1e-5 relative plus 1e-6
absolute), so a case too ill-conditioned for float32 fails here, not in CI.
"""

import math
import pathlib
import sys

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from attention_golden import assert_close  # noqa: E402
from golden_json import exact_rows, print_golden, rows  # noqa: E402


def grouped_attention(x, w_q, w_k, w_v, w_o, heads, kv_heads, window):
    t = x.shape[0]
    d_head = w_q.shape[1] // heads
    # (T, heads d_head) -> (heads, T, d_head): head i is columns i d_head .. (i+1) d_head - 1.
    q = (x @ w_q).reshape(t, heads, d_head).transpose(0, 1)
    k = (x @ w_k).reshape(t, kv_heads, d_head).transpose(0, 1)
    v = (x @ w_v).reshape(t, kv_heads, d_head).transpose(0, 1)
    k = torch.repeat_interleave(k, heads // kv_heads, dim=0)
    v = torch.repeat_interleave(v, heads // kv_heads, dim=0)
    scores = q @ k.transpose(1, 2) / math.sqrt(d_head)
    i = torch.arange(t).unsqueeze(1)
    j = torch.arange(t).unsqueeze(0)
    hidden = j > i
    if window:
        hidden = hidden | (j <= i - window)
    scores = scores.masked_fill(hidden, float("-inf"))
    out = torch.softmax(scores, dim=-1) @ v  # heads, T, d_head
    return out.transpose(0, 1).reshape(t, heads * d_head) @ w_o


def case(name, seed, t, d_model, heads, kv_heads, d_head, window):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((t, d_model)).astype(np.float32)

    def linear(fan_in, fan_out):
        bound = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32)

    w = [linear(d_model, heads * d_head), linear(d_model, kv_heads * d_head),
         linear(d_model, kv_heads * d_head), linear(heads * d_head, d_model)]
    outputs = {}
    for dtype in (torch.float64, torch.float32):
        xt = torch.from_numpy(x).to(dtype)
        wt = [torch.from_numpy(m).to(dtype) for m in w]
        outputs[dtype] = grouped_attention(xt, *wt, heads, kv_heads, window)
    assert_close(outputs[torch.float32], outputs[torch.float64], f"{name}: output")
    return {"name": name, "seed": seed, "heads": heads, "kv_heads": kv_heads, "d_head": d_head,
            "window": window, "x": exact_rows(x), "w_q": exact_rows(w[0]),
            "w_k": exact_rows(w[1]), "w_v": exact_rows(w[2]), "w_o": exact_rows(w[3]),
            "output": rows(outputs[torch.float64])}


CASES = [
    # name, seed, T, d_model, h, kv_heads, d_head, window (0: causal only)
    # T 1 and 6, 4 query heads on 1, 2 and 4 key/value heads (4: multi-head attention):
    # T1_h4_kv1 with seed 800 up to T6_h4_kv4 with seed 805.
    *[(f"T{t}_h4_kv{kv}", 800 + n, t, 16, 4, kv, 4, 0)
      for n, (t, kv) in enumerate((t, kv) for t in (1, 6) for kv in (1, 2, 4))],
    ("T9_h8_kv2_d8_dmodel32", 806, 9, 32, 8, 2, 8, 0),
    ("T7_h6_kv3_d4_dmodel12", 807, 7, 12, 6, 3, 4, 0),
    ("T8_h4_kv2_window3", 808, 8, 16, 4, 2, 4, 3),
    ("T8_h4_kv1_window1", 809, 8, 16, 4, 1, 4, 1),
    ("T10_h8_kv8_d4_window4", 810, 10, 32, 8, 8, 4, 4),
    ("T1_h8_kv2_window2", 811, 1, 16, 8, 2, 2, 2),
]


def main():
    print_golden("common/tests/data/grouped_query_golden.py", torch.__version__,
                 cases=[case(*c) for c in CASES])


if __name__ == "__main__":
    main()
