// Exercise head_diagnostics (chapter 05): what each head does, in two numbers.
//
// The chapter's heatmaps show that heads differ: one looks at the previous token, another
// spreads over the whole sentence. With dozens of heads in every layer nobody reads
// heatmaps; interpretability work (Clark et al. 2019 on BERT's heads, the "mean attention
// distance" plots of the Vision Transformer paper) summarises each head by two numbers,
// averaged over its queries q:
//
//     entropy    H = mean over q of  - sum_j w(q, j) ln w(q, j)       (0 ln 0 counts as 0)
//     distance   D = mean over q of    sum_j w(q, j) |p_q - j|        p_q = T_k - T_q + q
//
// A head that always looks at one key has H = 0; one that spreads evenly over n keys has
// H = ln n. D is how far back (or ahead) a head looks, on average, in positions. The queries
// are the last T_q of the T_k positions, as in decoding; in self-attention T_q = T_k and
// query q sits at position q.
//
//     w = (1    0    0  )    row 0: H = 0,           D = 0
//         (0.5  0.5  0  )    row 1: H = ln 2,        D = 0.5 * 1 = 0.5
//         (0.25 0.25 0.5)    row 2: H = 1.5 ln 2,    D = 0.25 * 2 + 0.25 * 1 = 0.75
//                            head:  H = (5/6) ln 2 = 0.5776,   D = 1.25 / 3 = 0.4167
//
// TODO: 1. Throw qkv::ValueError (qkv::require in qkv/error.hpp) for an empty list and
//          unless 1 <= T_q <= T_k; qkv::ShapeError (qkv::require_shapes) when a head's
//          weights differ in shape from head 0's.
//       2. For every head, every row: reject a weight that is negative or not finite, and
//          a row whose sum is further than `tolerance` from 1. Add up the row's entropy and
//          distance (sum in double; std::log(0) is -inf, and 0 times -inf is NaN).
//       3. Divide each head's sums by the number of queries.
// Check with:  build/dev/bin/qkv-learn check head_diagnostics
//   or, checking again on every save:  build/dev/bin/qkv-learn watch head_diagnostics

#include "head_diagnostics.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

HeadDiagnostics head_diagnostics(const std::vector<Matrix>& weights, float tolerance) {
  (void)weights;
  (void)tolerance;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
