#pragma once
/// @file
/// Chapter 03, scaled dot-product attention, the whole mechanism in one formula:
/// \f[ \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}} + M\right)
/// V \f] Each output row is a weighted average of the value rows, weighted by how well that query
/// matches each key. Chapter 04 adds the mask M.

#include <optional>

#include "qkv/error.hpp"
#include "qkv/masking.hpp"
#include "qkv/projection.hpp"
#include "qkv/softmax.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// Every intermediate of one attention call, so chapters can show them and tests check them.
template <typename Scalar>
struct AttentionResultT {
  /// A dynamic-size matrix of `Scalar` (float or double).
  using MatrixT = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  MatrixT scores;   ///< T_q x T_k: \f$ Q K^\top / \sqrt{d_k} \f$, masked entries \f$ -\infty \f$
  MatrixT weights;  ///< T_q x T_k: softmax of each row of the scores
  MatrixT output;   ///< T_q x d_v: weights times V
};
/// The float result the chapters use.
using AttentionResult = AttentionResultT<float>;

/// Scaled dot-product attention with an optional mask:
/// \f$ S = Q K^\top / \sqrt{d_k} + M,\ W = \mathrm{softmax}_{\text{rows}}(S),\ O = W V \f$.
/// Q is T_q x d_k, K is T_k x d_k, V is T_k x d_v; the mask, if given, T_q x T_k.
/// A query whose keys are all masked gets zero weights and a zero output row.
/// @throws ShapeError if Q and K differ in d_k, K and V in T_k, or the mask in shape.
template <typename Scalar>
AttentionResultT<Scalar> scaled_dot_product_attention(
    const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& q,
    const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& k,
    const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& v,
    const std::optional<Mask>& mask = std::nullopt) {
  require_shapes(q.cols() == k.cols(), "scaled_dot_product_attention",
                 "queries and keys must have the same dimension d_k (columns)", "Q", q, "K", k);
  require_shapes(k.rows() == v.rows(), "scaled_dot_product_attention",
                 "keys and values must have the same number of rows (T_k)", "K", k, "V", v);
  AttentionResultT<Scalar> result;
  result.scores = attention_scores(q, k);
  if (mask) {
    require_shapes(mask->rows() == q.rows() && mask->cols() == k.rows(),
                   "scaled_dot_product_attention", "the mask must be T_q x T_k, as the scores",
                   "mask", *mask, "scores", result.scores);
    result.scores = apply_mask(result.scores, *mask);
  }
  result.weights = softmax_rows(result.scores);
  result.output = result.weights * v;
  return result;
}

/// Just the output \f$ \mathrm{softmax}(Q K^\top / \sqrt{d_k} + M) V \f$ (see
/// scaled_dot_product_attention()).
template <typename Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> attention(
    const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& q,
    const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& k,
    const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& v,
    const std::optional<Mask>& mask = std::nullopt) {
  return scaled_dot_product_attention(q, k, v, mask).output;
}

}  // namespace qkv
