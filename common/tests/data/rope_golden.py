#!/usr/bin/python3
"""Golden data for qkv's rope.hpp (chapter 07): rotary position embedding, from torch ops.

Run once, from the repository root, with Debian's python3-torch (1.13):
    common/tests/data/rope_golden.py > common/tests/data/rope_golden.json
CI never runs this script; the JSON it wrote is committed beside it.

The two conventions are written the way the code that defined them writes them, not the way
qkv does (so the test compares two different formulations):
  - interleaved, as Meta's Llama reference (model.py, apply_rotary_emb): each pair
    (2i, 2i+1) viewed as one complex number, multiplied by e^(i p theta_i) (torch.polar);
  - rotate_half, as Hugging Face's Llama (apply_rotary_pos_emb): x * cos + rotate_half(x) *
    sin, with cos and sin repeated over the two halves and rotate_half(x) = [-x2, x1].
theta_i = base^(-2i / d_head); angle = (p * position_scale) * theta_i.

Single-head cases draw Q, K, V ~ N(0, 1) directly (T x d_head) and store the rotated queries
and keys and causal attention over them: scores = q_rot k_rot^T / sqrt(d_head) (masked entries
null), weights, output. Multi-head cases draw X ~ N(0, 1) and four nn.Linear-like weights
U(-1/sqrt(d_model), 1/sqrt(d_model)), and store the output of causal multi-head attention with
RoPE on every head: Q = rope(X W_q), K = rope(X W_k), V = X W_v, concat(heads) W_o.

As in attention_golden.py (whose helpers this script imports): inputs are float32, written
exactly; the reference runs in float64 on them; every case is also computed in float32 (the
angles and their cosines and sines in float64, as qkv does, then rounded to float32) and
asserted to agree with float64 within the tolerance the C++ test uses (1e-5 relative plus
1e-6 absolute), so a case too ill-conditioned for float32 fails here, not in CI.
"""

import math
import pathlib
import sys

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from attention_golden import assert_close, exact_rows, rows  # noqa: E402
from golden_json import print_golden  # noqa: E402


def angles(positions, d_head, base, scale):
    theta = base ** (-torch.arange(0, d_head, 2, dtype=torch.float64) / d_head)
    return torch.outer(torch.as_tensor(positions, dtype=torch.float64) * scale, theta)


def rope_interleaved(x, ang):
    """Meta's Llama: pairs (2i, 2i+1) as complex numbers times e^(i angle)."""
    t, d = x.shape
    real_dtype = x.dtype
    z = torch.view_as_complex(x.reshape(t, d // 2, 2).contiguous())
    rotation = torch.polar(torch.ones_like(ang), ang).to(z.dtype)
    return torch.view_as_real(z * rotation).reshape(t, d).to(real_dtype)


def rope_rotate_half(x, ang):
    """Hugging Face's Llama: x cos + rotate_half(x) sin, pairs (i, i + d/2)."""
    cos = torch.cat((ang.cos(), ang.cos()), dim=-1).to(x.dtype)
    sin = torch.cat((ang.sin(), ang.sin()), dim=-1).to(x.dtype)
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


ROPE = {"interleaved": rope_interleaved, "rotate_half": rope_rotate_half}


def causal_attention(q, k, v):
    t = q.shape[0]
    scores = (q @ k.T) / math.sqrt(q.shape[1])
    hidden = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(hidden, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return scores, weights, weights @ v


def head_case(name, seed, t, d_head, base, first, scale=1.0):
    rng = np.random.default_rng(seed)
    q, k, v = (rng.standard_normal((t, d_head)).astype(np.float32) for _ in range(3))
    positions = [first + i for i in range(t)]
    case = {"name": name, "seed": seed, "base": base, "position_scale": scale,
            "positions": positions, "q": exact_rows(q), "k": exact_rows(k), "v": exact_rows(v)}
    ang = angles(positions, d_head, base, scale)
    for layout, rope in ROPE.items():
        results = {}
        for dtype in (torch.float64, torch.float32):
            qt, kt, vt = (torch.from_numpy(a).to(dtype) for a in (q, k, v))
            q_rot, k_rot = rope(qt, ang), rope(kt, ang)
            results[dtype] = (q_rot, k_rot) + causal_attention(q_rot, k_rot, vt)
        names = ("q_rot", "k_rot", "scores", "weights", "output")
        for what, a64, a32 in zip(names, results[torch.float64], results[torch.float32]):
            finite = torch.isfinite(a64)
            assert_close(a32[finite], a64[finite], f"{name}: {layout} {what}")
            case[f"{what}_{layout}"] = rows(a64)
    return case


def multi_head_case(name, seed, t, d_model, heads, base, first):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((t, d_model)).astype(np.float32)
    bound = 1.0 / np.sqrt(d_model)
    w = [rng.uniform(-bound, bound, (d_model, d_model)).astype(np.float32) for _ in range(4)]
    positions = [first + i for i in range(t)]
    d_head = d_model // heads
    ang = angles(positions, d_head, base, 1.0)
    case = {"name": name, "seed": seed, "base": base, "heads": heads, "positions": positions,
            "x": exact_rows(x), "w_q": exact_rows(w[0]), "w_k": exact_rows(w[1]),
            "w_v": exact_rows(w[2]), "w_o": exact_rows(w[3])}
    for layout, rope in ROPE.items():
        outputs = {}
        for dtype in (torch.float64, torch.float32):
            xt = torch.from_numpy(x).to(dtype)
            w_q, w_k, w_v, w_o = (torch.from_numpy(m).to(dtype) for m in w)
            q, k, v = xt @ w_q, xt @ w_k, xt @ w_v
            heads_out = []
            for h in range(heads):
                cols = slice(h * d_head, (h + 1) * d_head)
                heads_out.append(causal_attention(rope(q[:, cols], ang), rope(k[:, cols], ang),
                                                  v[:, cols])[2])
            outputs[dtype] = torch.cat(heads_out, dim=1) @ w_o
        assert_close(outputs[torch.float32], outputs[torch.float64], f"{name}: {layout} output")
        case[f"output_{layout}"] = rows(outputs[torch.float64])
    return case


HEAD_CASES = [
    # name, seed, T, d_head, base, first position[, position scale]
    ("T1_d2_base1e4_at0", 700, 1, 2, 10000.0, 0),
    ("T5_d2_base1e4_at0", 701, 5, 2, 10000.0, 0),
    ("T5_d8_base1e4_at1000", 702, 5, 8, 10000.0, 1000),
    ("T8_d64_base1e4_at0", 703, 8, 64, 10000.0, 0),
    ("T7_d64_base1e4_at1000", 704, 7, 64, 10000.0, 1000),
    ("T6_d64_base5e5_at0", 705, 6, 64, 500000.0, 0),
    ("T3_d64_base5e5_at1000", 706, 3, 64, 500000.0, 1000),
    ("T1_d64_base5e5_at1000", 707, 1, 64, 500000.0, 1000),
    ("T9_d16_base1e4_at0_seed2", 708, 9, 16, 10000.0, 0),
    ("T4_d16_base1e4_at30000_interpolated", 709, 4, 16, 10000.0, 30000, 0.125),
]

MULTI_HEAD_CASES = [
    # name, seed, T, d_model, heads, base, first position
    ("mha_T5_d16_h2_at0", 720, 5, 16, 2, 10000.0, 0),
    ("mha_T1_d8_h4_at1000", 721, 1, 8, 4, 10000.0, 1000),
    ("mha_T7_d24_h3_base5e5_at1000", 722, 7, 24, 3, 500000.0, 1000),
]


def main():
    print_golden("common/tests/data/rope_golden.py", torch.__version__,
                 heads=[head_case(*case) for case in HEAD_CASES],
                 multi_head=[multi_head_case(*case) for case in MULTI_HEAD_CASES])


if __name__ == "__main__":
    main()
