#!/usr/bin/python3
"""Golden gradients for qkv's attention_backward.hpp (chapter 10), made by torch.autograd.

Run once, from the repository root, with Debian's python3-torch (1.13):
    common/tests/data/attention_backward_golden.py > common/tests/data/attention_backward_golden.json
CI never runs this script; the JSON it wrote is committed beside it.

The forward, written with torch ops (torch 1.13 has no scaled_dot_product_attention):
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    scores  = q @ k.T / sqrt(d_head), masked entries -inf
    weights = softmax(scores, dim=-1)            (a fully masked row: zeros, as qkv's softmax)
    output  = weights @ v
and loss = sum(output * d_output), so that autograd's gradients are those of d_output.
torch.autograd gives d_q, d_k, d_v (of the attention core, q, k, v as leaves) and d_x,
d_w_q, d_w_k, d_w_v (of the whole head). Inputs are drawn in float32 and written exactly; the
reference runs in float64 on them. Every case is also run in float32 and asserted to agree
with float64 within the C++ test's tolerance (1e-5 relative to the matrix's largest entry).

Cases: self-attention without a mask, causal, d_head = 1, a mask with a fully masked row, and
a larger head. (T_q != T_k is checked against central differences in the C++ test.)
"""

import json
import math

import numpy as np
import torch

from golden_json import exact_rows, rows


def forward(x, w_q, w_k, w_v, mask):
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    return q, k, v


def core(q, k, v, mask):
    scores = q @ k.T / math.sqrt(q.shape[1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    # softmax of an all -inf row is NaN in torch; qkv gives zeros (and so zero gradients).
    weights = torch.nan_to_num(weights, nan=0.0)
    return weights @ v


def gradients(x, w_q, w_k, w_v, d_output, mask, dtype):
    leaves = [torch.tensor(a, dtype=dtype, requires_grad=True) for a in (x, w_q, w_k, w_v)]
    g_out = torch.tensor(d_output, dtype=dtype)
    m = None if mask is None else torch.tensor(mask)
    q, k, v = forward(*leaves, m)
    (core(q, k, v, m) * g_out).sum().backward()
    head = [t.grad.numpy().astype(np.float64) for t in leaves]
    qkv = [t.detach().clone().requires_grad_() for t in (q, k, v)]
    (core(*qkv, m) * g_out).sum().backward()
    return head + [t.grad.numpy().astype(np.float64) for t in qkv] + [
        t.detach().numpy().astype(np.float64) for t in (q, k, v)]


def case(name, seed, t, d_model, d_head, mask=None):
    rng = np.random.default_rng(seed)
    draw = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    x, w_q, w_k, w_v, d_output = (draw(t, d_model), draw(d_model, d_head), draw(d_model, d_head),
                                  draw(d_model, d_head), draw(t, d_head))
    exact = gradients(x, w_q, w_k, w_v, d_output, mask, torch.float64)
    single = gradients(x, w_q, w_k, w_v, d_output, mask, torch.float32)
    for a, b in zip(exact, single):
        assert np.abs(a - b).max() <= 1e-5 * max(np.abs(a).max(), 1e-30) + 1e-6, name
    d_x, d_w_q, d_w_k, d_w_v, d_q, d_k, d_v = exact[:7]
    out = {"name": name, "x": exact_rows(x), "w_q": exact_rows(w_q), "w_k": exact_rows(w_k),
           "w_v": exact_rows(w_v), "d_output": exact_rows(d_output), "d_x": rows(d_x),
           "d_w_q": rows(d_w_q), "d_w_k": rows(d_w_k), "d_w_v": rows(d_w_v), "d_q": rows(d_q),
           "d_k": rows(d_k), "d_v": rows(d_v)}
    if mask is not None:
        out["mask"] = mask.astype(int).tolist()
    return out


causal5 = np.tril(np.ones((5, 5), dtype=bool))
masked_row = np.ones((4, 4), dtype=bool)
masked_row[1, :] = False
masked_row[2, 3] = False
cases = [
    case("self-attention", 1, 4, 5, 3),
    case("causal", 2, 5, 4, 4, causal5),
    case("d_head 1", 3, 3, 2, 1),
    case("a fully masked row", 4, 4, 3, 2, masked_row),
    case("larger", 5, 7, 8, 6),
]
print(json.dumps({"cases": cases}, indent=1))
