// Exercise online_softmax (chapter 09): softmax in one pass over a stream of score blocks.
//
// The chapter's tiled kernel never holds a whole row of scores: it sees the keys one block
// at a time and keeps, per query, a running maximum m, a running sum l and an unnormalised
// output o. Write that state for one query, fed blocks of scores that are already computed
// (a block may be empty, and a masked key's score is -inf). For scores 1, 3 then 2, 5 with
// value rows 10, 20 then 30, 40 (d_v = 1):
//
//     after block 1:  m = 3,  l = e^-2 + 1,                    o = 10 e^-2 + 20
//     after block 2:  m = 5,  l = (e^-2 + 1) e^-2 + e^-3 + 1,  o = (10 e^-2 + 20) e^-2
//                                                                  + 30 e^-3 + 40
//     output = o / l,  log_sum_exp = 5 + log l
//
// TODO: 1. add: check the shapes (qkv::require_shapes: values is scores.size() x d_v()),
//          count the keys, find the new maximum m' = max(m, largest score of the block).
//       2. If the maximum grew, everything summed so far is relative to the old m: multiply
//          l AND o by e^(m - m'). Then add e^(s_j - m') to l and e^(s_j - m') v_j to o.
//          Careful with -inf: while every score so far is masked, m' is -inf and
//          -inf - (-inf) is NaN.
//       3. output: o / l, divided once, here, not in add; zeros when l is 0.
//          log_sum_exp: m + log l, or -inf when l is 0.
// Check with:  build/dev/bin/qkv-learn check online_softmax
//   or, checking again on every save:  build/dev/bin/qkv-learn watch online_softmax

#include "online_softmax.hpp"

#include <cmath>

#include "qkv/error.hpp"

namespace qkv::exercises {

void OnlineSoftmax::add(const Vector& scores, const Matrix& values) {
  (void)scores;
  (void)values;
  QKV_NOT_DONE();
}

Vector OnlineSoftmax::output() const { QKV_NOT_DONE(); }

float OnlineSoftmax::log_sum_exp() const { QKV_NOT_DONE(); }

}  // namespace qkv::exercises
