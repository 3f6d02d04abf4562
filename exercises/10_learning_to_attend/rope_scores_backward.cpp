// Exercise rope_scores_backward (chapter 10): the backward of scores between rotated queries
// and keys, as a model with RoPE (chapter 7) needs it.
//
// Two steps backwards. The scores S = Q_rot K_rot^T / sqrt(d) give dQ_rot and dK_rot exactly
// as in the chapter's backward. Then Q_rot = R(Q): a rotation is linear, y = R x, so
// dx = R^T dy, and the transpose of a rotation is the rotation by minus the angle. For one
// pair at angle pi/2 (position pi/2, pair 0):
//
//     R = [ 0 -1 ]   dy = (1, 0)   dx = R^T dy = (0, -1) = dy turned by -pi/2.
//         [ 1  0 ]
//
// TODO: 1. Check the shapes (qkv::require_shapes): q and k with the same columns, one
//          position per row of each, dS of T_q x T_k.
//       2. Rotate q and k forward (qkv::apply_rope, at their positions).
//       3. The gradients of the rotated ones, as the chapter derives them (mind the scale,
//          and which side of dS is transposed).
//       4. Rotate each gradient back: by minus its row's angle.
// Check with:  build/dev/bin/qkv-learn check rope_scores_backward
//   or, checking again on every save:  build/dev/bin/qkv-learn watch rope_scores_backward

#include "rope_scores_backward.hpp"

#include <cmath>

#include "qkv/error.hpp"
#include "qkv/rope.hpp"

namespace qkv::exercises {

RopeScoreGradients rope_scores_backward(const Matrix& q, const Matrix& k,
                                        const VectorD& q_positions, const VectorD& k_positions,
                                        const Matrix& d_scores) {
  (void)q;
  (void)k;
  (void)q_positions;
  (void)k_positions;
  (void)d_scores;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
