// Reference solution of exercise fused_qkv_projection (chapter 02).

#include "fused_qkv_projection.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix fuse_qkv_weights(const QkvWeights& weights) {
  for (const Matrix* other : {&weights.w_k, &weights.w_v})
    require_shapes(other->rows() == weights.w_q.rows() && other->cols() == weights.w_q.cols(),
                   "fuse_qkv_weights", "W_q, W_k and W_v must have the same shape", "W_q",
                   weights.w_q, "other", *other);
  Matrix fused(weights.w_q.rows(), 3 * weights.w_q.cols());
  fused << weights.w_q, weights.w_k, weights.w_v;
  return fused;
}

Qkv fused_qkv_projection(const Matrix& x, const Matrix& w_qkv) {
  require_shapes(x.cols() == w_qkv.rows(), "fused_qkv_projection",
                 "X's columns (d_model) must equal W_qkv's rows", "X", x, "W_qkv", w_qkv);
  require(w_qkv.cols() > 0 && w_qkv.cols() % 3 == 0, "fused_qkv_projection",
          "W_qkv must have 3 d_head columns");
  const Index d_head = w_qkv.cols() / 3;
  const Matrix all = x * w_qkv;  // T x 3 d_head: one product
  return {all.leftCols(d_head), all.middleCols(d_head, d_head), all.rightCols(d_head)};
}

}  // namespace qkv::exercises
