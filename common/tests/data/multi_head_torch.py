#!/usr/bin/python3
"""Golden data for qkv's multi_head.hpp (chapter 05), from torch.nn.MultiheadAttention.

Run once, from the repository root, with Debian's python3-torch (1.13):
    common/tests/data/multi_head_torch.py > common/tests/data/multi_head_torch.json
CI never runs this script; the JSON it wrote is committed beside it.

Conventions. qkv multiplies row vectors from the right (Q = X W_q, W_q is d_model x d_model);
torch computes x @ W.T with W stored as (out, in). So torch's in_proj_weight is
[W_q^T; W_k^T; W_v^T] (3 d_model x d_model) and out_proj.weight is W_o^T. No biases.
A causal mask goes in as attn_mask (bool, True = NOT allowed); query i of T_q sits at
position T_k - T_q + i and sees keys 0..that position, as qkv::causal_mask(T_q, T_k).

Inputs are drawn in float32 (X ~ N(0, 1), weights ~ U(-1/sqrt(d_model), 1/sqrt(d_model)))
and written exactly; the reference runs in float64 so that the stored answers are better
than the float32 code they check. Every case is run without a mask and with the causal
mask, on the same inputs. Per-head outputs ("heads") come from a second call with
out_proj.weight = I, which returns the concatenated heads [O_1 ... O_h] unmixed.
"""

import json
import sys

import numpy as np
import torch

from golden_json import exact_rows, rows

# (name, T_q, T_k, d_model, h); T_q == T_k is self-attention (x_kv = x_q).
CASES = [
    ("T1_d4_h1", 1, 1, 4, 1),
    ("T1_d4_h2", 1, 1, 4, 2),
    ("T5_d8_h2", 5, 5, 8, 2),
    ("T4_d6_h3", 4, 4, 6, 3),
    ("T6_d8_h8", 6, 6, 8, 8),  # heads = d_model: d_head = 1
    ("T7_d12_h1", 7, 7, 12, 1),
    ("T3_d16_h4", 3, 3, 16, 4),
    ("T10_d32_h4", 10, 10, 32, 4),
    ("cross_Tq3_Tk5_d8_h4", 3, 5, 8, 4),  # queries from one sequence, keys/values from another
]


def causal_mask(t_q, t_k):
    """True where query i may NOT see key j (torch's bool attn_mask convention)."""
    i = np.arange(t_q)[:, None]
    j = np.arange(t_k)[None, :]
    return torch.from_numpy(j > t_k - t_q + i)


def check_by_hand(x_q, x_kv, w, h, mask, weights, output):
    """The formula of multi_head.hpp in NumPy float64, to prove the weight conventions."""
    w_q, w_k, w_v, w_o = (m.astype(np.float64) for m in w)
    q, k, v = x_q @ w_q, x_kv @ w_k, x_kv @ w_v
    d_head = q.shape[1] // h
    heads = []
    for i in range(h):
        cols = slice(i * d_head, (i + 1) * d_head)
        scores = q[:, cols] @ k[:, cols].T / np.sqrt(d_head)
        if mask is not None:
            scores = np.where(mask.numpy(), -np.inf, scores)
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        assert np.allclose(p, weights[i], rtol=1e-12, atol=1e-14)
        heads.append(p @ v[:, cols])
    assert np.allclose(np.concatenate(heads, axis=1) @ w_o, output, rtol=1e-12, atol=1e-14)


def run_case(name, t_q, t_k, d_model, h, rng):
    x_q = rng.standard_normal((t_q, d_model)).astype(np.float32)
    x_kv = x_q if t_q == t_k else rng.standard_normal((t_k, d_model)).astype(np.float32)
    bound = 1.0 / np.sqrt(d_model)
    w_q, w_k, w_v, w_o = (
        rng.uniform(-bound, bound, (d_model, d_model)).astype(np.float32) for _ in range(4)
    )

    mha = torch.nn.MultiheadAttention(d_model, h, bias=False, batch_first=True).double()
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.from_numpy(np.concatenate([w_q.T, w_k.T, w_v.T]).astype(np.float64)))
        mha.out_proj.weight.copy_(torch.from_numpy(w_o.T.astype(np.float64)))
    mha.eval()
    xq = torch.from_numpy(x_q.astype(np.float64))[None]
    xkv = torch.from_numpy(x_kv.astype(np.float64))[None]

    case = {
        "name": name,
        "self_attention": t_q == t_k,
        "t_q": t_q,
        "t_k": t_k,
        "d_model": d_model,
        "h": h,
        "x_q": exact_rows(x_q),
        "x_kv": exact_rows(x_kv),
        "w_q": exact_rows(w_q),
        "w_k": exact_rows(w_k),
        "w_v": exact_rows(w_v),
        "w_o": exact_rows(w_o),
    }
    d_head = d_model // h
    for variant, mask in (("unmasked", None), ("causal", causal_mask(t_q, t_k))):
        with torch.no_grad():
            output, weights = mha(xq, xkv, xkv, attn_mask=mask, need_weights=True,
                                  average_attn_weights=False)
            saved = mha.out_proj.weight.clone()
            mha.out_proj.weight.copy_(torch.eye(d_model, dtype=torch.float64))
            concat, _ = mha(xq, xkv, xkv, attn_mask=mask, need_weights=False)
            mha.out_proj.weight.copy_(saved)
        concat = concat[0].numpy()
        check_by_hand(x_q, x_kv, (w_q, w_k, w_v, w_o), h, mask, weights[0].numpy(),
                      output[0].numpy())
        case[variant] = {
            "weights": [rows(weights[0, i].numpy()) for i in range(h)],
            "heads": [rows(concat[:, i * d_head:(i + 1) * d_head]) for i in range(h)],
            "concat": rows(concat),
            "output": rows(output[0].numpy()),
        }
    return case


def main():
    rng = np.random.default_rng(20240505)
    data = {
        "generator": "common/tests/data/multi_head_torch.py",
        "torch_version": torch.__version__,
        "cases": [run_case(*case, rng) for case in CASES],
    }
    json.dump(data, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
