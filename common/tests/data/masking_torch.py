#!/usr/bin/python3
"""Golden data for qkv's masking.hpp (chapter 04): masked attention computed with PyTorch.

Run once, from the repository root, with Debian's python3-torch (1.13):
    common/tests/data/masking_torch.py > common/tests/data/masking_torch.json
CI never runs this script; the JSON it wrote is committed beside it.

The reference is the textbook recipe in torch ops (torch 1.13 has no
scaled_dot_product_attention):
    scores  = (x_q W_q) (x_kv W_k)^T / sqrt(d_head)
    scores  = scores.masked_fill(~mask, -inf)          # mask: True = may attend
    weights = softmax(scores, dim=-1)
    output  = weights @ (x_kv W_v)
Inputs are drawn in float32 and written exactly; the reference runs in float64, so the stored
answers are better than the float32 code they check. Masks are built here from their
definitions, independently of the C++ code; each case names the kind of mask and its
parameters so that the C++ test can rebuild it with qkv's functions and compare.

Fully masked rows: softmax of a row of -inf is 0/0, and torch gives NaN there (in float32 and
float64 alike; checked below). The JSON writes NaN and -inf as null. qkv gives such a row zero
weights and a zero output instead: the C++ test expects exactly 0 wherever torch has NaN, and
checks that those are exactly the rows the mask leaves empty ("nan_rows" lists them).
"""

import math

import numpy as np
import torch

from golden_json import exact_rows, print_golden, rows


def causal(t_q, t_k):
    """Query i sits at position t_k - t_q + i and sees keys 0..that position."""
    i = np.arange(t_q)[:, None]
    j = np.arange(t_k)[None, :]
    return j <= t_k - t_q + i


def window(t, w):
    """Token i sees tokens max(0, i - w + 1)..i."""
    i = np.arange(t)[:, None]
    j = np.arange(t)[None, :]
    return (j <= i) & (j > i - w)


def key_padding(t, length):
    """Every query sees the real keys 0..length-1 only."""
    return np.broadcast_to(np.arange(t)[None, :] < length, (t, t)).copy()


def query_key_padding(t, length):
    """Query i sees key j only when both are real tokens (padded queries see nothing)."""
    real = np.arange(t) < length
    return real[:, None] & real[None, :]


# (name, T_q, T_k, d_model, d_head, mask kind, mask parameters, input scale)
CASES = [
    ("causal_T5_d8_h4", 5, 5, 8, 4, "causal", {}, 1.0),
    ("causal_T1_d3_h2", 1, 1, 3, 2, "causal", {}, 1.0),
    ("causal_T1_d1_h1", 1, 1, 1, 1, "causal", {}, 1.0),
    ("causal_T4_d1_h1", 4, 4, 1, 1, "causal", {}, 1.0),
    ("causal_Tq3_Tk6_d8_h4", 3, 6, 8, 4, "causal", {}, 1.0),  # the last 3 of 6 positions
    ("causal_T6_d8_h4_large", 6, 6, 8, 4, "causal", {}, 7.0),  # scores up to about 70
    ("window_T7_w3_d6_h3", 7, 7, 6, 3, "window", {"window": 3}, 1.0),
    ("window_T4_w1_d4_h2", 4, 4, 4, 2, "window", {"window": 1}, 1.0),
    ("window_T5_w5_d4_h4", 5, 5, 4, 4, "window", {"window": 5}, 1.0),  # w = T: causal
    ("window_T3_w8_d5_h2", 3, 3, 5, 2, "window", {"window": 8}, 1.0),  # w > T: causal
    ("padding_T5_len2_d6_h3", 5, 5, 6, 3, "padding", {"length": 2}, 1.0),
    ("qk_padding_T6_len4_d8_h4", 6, 6, 8, 4, "query_key_padding", {"length": 4}, 1.0),
    ("qk_padding_T3_len0_d4_h2", 3, 3, 4, 2, "query_key_padding", {"length": 0}, 1.0),
    ("causal_padding_T6_len3_d8_h4", 6, 6, 8, 4, "causal_and_padding", {"length": 3}, 1.0),
    ("none_T4_d6_h3", 4, 4, 6, 3, "none", {}, 1.0),
    ("none_Tq2_Tk5_d4_h2", 2, 5, 4, 2, "none", {}, 1.0),
]


def build_mask(kind, params, t_q, t_k):
    if kind == "causal":
        return causal(t_q, t_k)
    if kind == "window":
        return window(t_k, params["window"])
    if kind == "padding":
        return key_padding(t_k, params["length"])
    if kind == "query_key_padding":
        return query_key_padding(t_k, params["length"])
    if kind == "causal_and_padding":
        return causal(t_q, t_k) & key_padding(t_k, params["length"])
    if kind == "none":
        return np.ones((t_q, t_k), dtype=bool)
    raise ValueError(kind)


def attention(x_q, x_kv, w_q, w_k, w_v, mask, dtype):
    t = lambda a: torch.from_numpy(np.asarray(a)).to(dtype)
    q, k, v = t(x_q) @ t(w_q), t(x_kv) @ t(w_k), t(x_kv) @ t(w_v)
    scores = (q @ k.T) / math.sqrt(q.shape[1])
    scores = scores.masked_fill(~torch.from_numpy(mask), float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return q, k, v, scores, weights, weights @ v


def run_case(seed, name, t_q, t_k, d_model, d_head, kind, params, scale):
    rng = np.random.default_rng(seed)
    x_kv = (rng.standard_normal((t_k, d_model)) * scale).astype(np.float32)
    x_q = x_kv[t_k - t_q:]  # self-attention: the queries are the last T_q tokens
    bound = 1.0 / np.sqrt(d_model)
    w_q, w_k, w_v = (rng.uniform(-bound, bound, (d_model, d_head)).astype(np.float32)
                     for _ in range(3))
    mask = build_mask(kind, params, t_q, t_k)
    q, k, v, scores, weights, output = attention(x_q, x_kv, w_q, w_k, w_v, mask, torch.float64)
    _, _, _, _, weights32, output32 = attention(x_q, x_kv, w_q, w_k, w_v, mask, torch.float32)

    empty_rows = [i for i in range(t_q) if not mask[i].any()]
    nan_rows = [i for i in range(t_q) if torch.isnan(weights[i]).any()]
    # torch's NaN is exactly the fully masked rows, in float32 too, and spreads to the output.
    assert nan_rows == empty_rows, name
    assert nan_rows == [i for i in range(t_q) if torch.isnan(weights32[i]).all()], name
    assert nan_rows == [i for i in range(t_q) if torch.isnan(output32[i]).all()], name
    assert not torch.isnan(output32[[i for i in range(t_q) if i not in nan_rows]]).any(), name

    return {
        "name": name,
        "seed": seed,
        "mask_kind": kind,
        **params,
        "t_q": t_q,
        "t_k": t_k,
        "d_model": d_model,
        "d_head": d_head,
        "x_q": exact_rows(x_q),
        "x_kv": exact_rows(x_kv),
        "w_q": exact_rows(w_q),
        "w_k": exact_rows(w_k),
        "w_v": exact_rows(w_v),
        "mask": mask.astype(int).tolist(),
        "q": rows(q),
        "k": rows(k),
        "v": rows(v),
        "scores": rows(scores),
        "weights": rows(weights),
        "output": rows(output),
        "nan_rows": nan_rows,
    }


def main():
    # One seed per case.
    print_golden("common/tests/data/masking_torch.py", torch.__version__,
                 cases=[run_case(400 + n, *case) for n, case in enumerate(CASES)])


if __name__ == "__main__":
    main()
