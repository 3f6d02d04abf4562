// Exercise fused_qkv_projection (chapter 02): one matrix product instead of three.
//
// The chapter computed Q = X W_q, K = X W_k and V = X W_v as three products. Real models
// (GPT-2's c_attn, for one) store the three matrices side by side and do one product,
// which is faster: one large product keeps the hardware busier than three small ones.
//
//     W_qkv = [W_q | W_k | W_v]           d_model x 3 d_head
//     X W_qkv = [X W_q | X W_k | X W_v]   T x 3 d_head: Q, K, V side by side
//
// TODO: 1. fuse_qkv_weights: check that W_k and W_v have W_q's shape (qkv::require_shapes),
//          then copy the three into the column blocks of one matrix. Eigen:
//          m.middleCols(start, count) is a block of columns you can assign to, or use the
//          comma initializer: fused << a, b, c;
//       2. fused_qkv_projection: check the shapes (qkv::require_shapes for X and W_qkv,
//          qkv::require for the column count), compute X W_qkv once, and return its three
//          column blocks as Q, K and V.
// Check with:  build/dev/bin/qkv-learn check fused_qkv_projection
//   or, checking again on every save:  build/dev/bin/qkv-learn watch fused_qkv_projection

#include "fused_qkv_projection.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix fuse_qkv_weights(const QkvWeights& weights) {
  (void)weights;
  QKV_NOT_DONE();
}

Qkv fused_qkv_projection(const Matrix& x, const Matrix& w_qkv) {
  (void)x;
  (void)w_qkv;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
