// Exercise weights_sum_to_one (chapter 03): catch a softmax over the wrong axis.
//
// A classic attention bug is a softmax over the wrong axis: normalising each column of the
// scores (each key over all queries) instead of each row (each query over all keys). The
// program still runs, the weights are still positive, and every COLUMN sums to 1; the
// outputs are quietly wrong. A check that the weights "sum to 1" catches it only if it sums
// the right way. Write the check that attention weights must pass:
//
//     w_ij >= 0 and finite for all i, j,   and   |sum_j w_ij - 1| <= tolerance for every row i
//
// The test feeds it a correct row softmax (must pass), a column softmax of the same scores
// (must fail), and other broken weights.
//
// TODO: return false if any entry is negative, NaN or infinite, or if any row's sum differs
//       from 1 by more than `tolerance`; else true. Eigen: m.allFinite(),
//       (m.array() < 0).any(), m.rowwise().sum() (a column of row sums; which axis is that?).
// Check with:  build/dev/bin/qkv-learn check weights_sum_to_one
//   or, checking again on every save:  build/dev/bin/qkv-learn watch weights_sum_to_one

#include "weights_sum_to_one.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

bool weights_sum_to_one(const Matrix& weights, float tolerance) {
  (void)weights;
  (void)tolerance;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
