#!/usr/bin/python3
"""Golden data for qkv's projection.hpp, softmax.hpp and attention.hpp (chapters 02 and 03).

Run once, from the repository root, with Debian's python3-torch (1.13):
    common/tests/data/attention_golden.py > common/tests/data/attention_golden.json
CI never runs this script; the JSON it wrote is committed beside it.

The reference is scaled dot-product attention written with torch ops (torch 1.13 has no
scaled_dot_product_attention):
    q, k, v = x_q @ w_q, x_kv @ w_k, x_kv @ w_v          # when the case has embeddings
    scores  = q @ k.T / sqrt(d_k)
    weights = torch.softmax(scores, dim=-1)
    output  = weights @ v
Inputs are drawn in float32 and written exactly (shortest decimals that read back to the same
float32); the reference runs in float64 on those float32 inputs, so the stored answers are
better than the float32 code they check. Every case is also computed in float32 by torch and
asserted to agree with float64 within the tolerance the C++ test uses (1e-5 relative plus
1e-6 absolute): a case too ill-conditioned for float32 would fail here, not in CI.

Cases: self-attention from embeddings (several seeds and shapes, T = 1, d_model = d_head = 1),
cross-attention with T_q != T_k and d_v != d_k, and large-magnitude scores (hundreds). The
large scores come from integer-valued queries and keys with d_k = 4, so that Q K^T / 2 is
exact in float32 as well: what the test then checks is softmax's handling of large numbers,
not the rounding of the scores. Softmax cases add hand-picked rows (1000, -1000, ties, one
entry, -inf) with their weights and entropies, and weights at a temperature; a score of
-inf is written as null, and the test reads it back as -inf.
"""

import math

import numpy as np
import torch

from golden_json import exact_rows, print_golden
from golden_json import rows as rows_of

RTOL, ATOL = 1e-5, 1e-6


def rows(array):
    """float64 values, 10 significant digits; NaN and infinities as null."""
    return rows_of(array, digits=10)


def values(array):
    return [float(f"{v:.10g}") for v in np.asarray(array, dtype=np.float64)]


def torch_attention(q, k, v, dtype):
    q, k, v = (torch.from_numpy(np.asarray(a)).to(dtype) for a in (q, k, v))
    scores = (q @ k.T) / math.sqrt(q.shape[1])
    weights = torch.softmax(scores, dim=-1)
    return scores, weights, weights @ v


def torch_projection(x_q, x_kv, w_q, w_k, w_v, dtype):
    t = lambda a: torch.from_numpy(np.asarray(a)).to(dtype)
    return t(x_q) @ t(w_q), t(x_kv) @ t(w_k), t(x_kv) @ t(w_v)


def assert_close(a32, a64, name):
    a32, a64 = np.asarray(a32, dtype=np.float64), np.asarray(a64, dtype=np.float64)
    assert np.all(np.abs(a32 - a64) <= ATOL + RTOL * np.abs(a64)), name


def attention_case(name, seed, t_q, t_k, d_model, d_head, d_v, kind, scale=1.0):
    """kind: "self" (one sequence, x_q = x_kv), "cross" (two sequences) or "integer" (Q, K given
    directly with integer entries, for large exact scores)."""
    rng = np.random.default_rng(seed)
    case = {"name": name, "seed": seed, "kind": kind}
    if kind in ("self", "cross"):
        x_kv = (rng.standard_normal((t_k, d_model)) * scale).astype(np.float32)
        x_q = x_kv if kind == "self" else (rng.standard_normal((t_q, d_model)) * scale).astype(
            np.float32)
        bound = 1.0 / np.sqrt(d_model)  # nn.Linear's initialisation
        w_q, w_k = (rng.uniform(-bound, bound, (d_model, d_head)).astype(np.float32)
                    for _ in range(2))
        w_v = rng.uniform(-bound, bound, (d_model, d_v)).astype(np.float32)
        q, k, v = torch_projection(x_q, x_kv, w_q, w_k, w_v, torch.float64)
        q32, k32, v32 = torch_projection(x_q, x_kv, w_q, w_k, w_v, torch.float32)
        for a32, a64, what in ((q32, q, "q"), (k32, k, "k"), (v32, v, "v")):
            assert_close(a32, a64, f"{name}: {what}")
        if kind == "cross":
            case["x_q"] = exact_rows(x_q)
        case.update({"x": exact_rows(x_kv), "w_q": exact_rows(w_q), "w_k": exact_rows(w_k),
                     "w_v": exact_rows(w_v), "q": rows(q), "k": rows(k), "v": rows(v)})
        inputs32 = (q32, k32, v32)
    else:
        q = rng.integers(-20, 21, (t_q, d_head)).astype(np.float32)
        k = rng.integers(-20, 21, (t_k, d_head)).astype(np.float32)
        v = rng.standard_normal((t_k, d_v)).astype(np.float32)
        case.update({"q": exact_rows(q), "k": exact_rows(k), "v": exact_rows(v)})
        inputs32 = (q, k, v)
        q, k, v = (torch.from_numpy(a).double() for a in (q, k, v))

    scores, weights, output = torch_attention(q, k, v, torch.float64)
    scores32, weights32, output32 = torch_attention(*inputs32, torch.float32)
    for a32, a64, what in ((scores32, scores, "scores"), (weights32, weights, "weights"),
                           (output32, output, "output")):
        assert_close(a32, a64, f"{name}: {what}")
    case.update({"scores": rows(scores), "weights": rows(weights), "output": rows(output)})
    case["largest_score"] = float(scores.abs().max())
    return case


ATTENTION_CASES = [
    # name, seed, T_q, T_k, d_model, d_head, d_v, kind, input scale
    ("self_T4_d6_h3", 300, 4, 4, 6, 3, 3, "self"),
    ("self_T6_d8_h4", 301, 6, 6, 8, 4, 4, "self"),
    ("self_T6_d8_h4_seed2", 302, 6, 6, 8, 4, 4, "self"),
    ("self_T16_d32_h8", 303, 16, 16, 32, 8, 8, "self"),
    ("self_T1_d5_h2", 304, 1, 1, 5, 2, 2, "self"),
    ("self_T5_d1_h1", 305, 5, 5, 1, 1, 1, "self"),
    ("self_T1_d1_h1", 306, 1, 1, 1, 1, 1, "self"),
    ("self_T8_d16_h16_scaled", 307, 8, 8, 16, 16, 16, "self", 3.0),
    ("cross_Tq3_Tk7_d6_h4_v5", 308, 3, 7, 6, 4, 5, "cross"),
    ("cross_Tq9_Tk2_d4_h2_v3", 309, 9, 2, 4, 2, 3, "cross"),
    ("cross_Tq1_Tk5_d3_h1_v2", 310, 1, 5, 3, 1, 2, "cross"),
    ("integer_large_T5_h4", 311, 5, 5, 0, 4, 3, "integer"),
    ("integer_large_Tq3_Tk6_h4", 312, 3, 6, 0, 4, 2, "integer"),
]


def exact_scores(array32):
    """Like exact_rows, with -inf (a masked score) written as null: JSON has no infinities."""
    return [[None if v == -np.inf else float(repr(v)) for v in row]
            for row in np.asarray(array32, dtype=np.float32)]


def softmax_case(name, scores, temperature):
    s32 = np.asarray(scores, dtype=np.float32)  # the scores the C++ test will read
    assert np.all(np.isfinite(s32) | (s32 == -np.inf)), name
    s = torch.from_numpy(s32).double()
    weights = torch.softmax(s, dim=-1)
    # Entropy H = -sum w ln w with 0 ln 0 = 0 (torch.special.entr does exactly that).
    entropy = torch.special.entr(weights).sum(dim=-1)
    tempered = torch.softmax(s / temperature, dim=-1)
    for a32, a64, what in ((torch.softmax(torch.from_numpy(s32), dim=-1), weights, "weights"),
                           (torch.softmax(torch.from_numpy(s32) / np.float32(temperature), dim=-1),
                            tempered, "tempered")):
        assert_close(a32, a64, f"{name}: {what}")
    return {"name": name, "scores": exact_scores(s32), "weights": rows(weights),
            "entropy": values(entropy), "temperature": temperature,
            "tempered_weights": rows(tempered)}


def softmax_cases():
    rng = np.random.default_rng(320)
    inf = float("inf")
    return [
        softmax_case("hand_rows", [[0.0, math.log(3.0), 0.0, 0.0], [1.0, 1.0, 1.0, 1.0],
                                   [1000.0, 999.0, 998.0, 0.0], [-1000.0, -1001.0, -1002.0, -1e4],
                                   [-inf, 2.0, -inf, 2.0], [5.0, -inf, -inf, -inf]], 0.5),
        softmax_case("one_column", [[3.5], [-1000.0], [0.0]], 2.0),
        softmax_case("random_5x7", rng.standard_normal((5, 7)).astype(np.float32).tolist(), 0.25),
        softmax_case("random_wide_3x40",
                     (rng.standard_normal((3, 40)) * 4).astype(np.float32).tolist(), 3.0),
    ]


def main():
    print_golden("common/tests/data/attention_golden.py", torch.__version__,
                 attention=[attention_case(*case) for case in ATTENTION_CASES],
                 softmax=softmax_cases())


if __name__ == "__main__":
    main()
