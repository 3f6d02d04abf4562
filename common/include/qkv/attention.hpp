#pragma once
/// @file
/// Chapter 03, scaled dot-product attention, the whole mechanism in one formula:
/// \f[ \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) V
/// \f] Each output row is a weighted average of the value rows, weighted by how well that
/// query matches each key. Chapter 04 (masking.hpp) adds a mask M to the scores, and chapter 05
/// (multi_head.hpp) runs this formula once per head.
///
/// The functions take any Eigen expression (a Matrix, a block, a view into a cache), so a
/// caller never copies its operands to call them.

#include <cmath>
#include <utility>

#include "qkv/error.hpp"
#include "qkv/softmax.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// Scaled attention scores \f$ S = \frac{Q K^\top}{\sqrt{d_k}} \f$: entry (i, j) is how
/// relevant key j is to query i. Q is T_q x d_k, K is T_k x d_k, S is T_q x T_k.
/// @throws ShapeError if Q and K differ in d_k; ValueError if d_k is 0.
template <typename DerivedQ, typename DerivedK>
Eigen::Matrix<typename DerivedQ::Scalar, Eigen::Dynamic, Eigen::Dynamic> attention_scores(
    const Eigen::MatrixBase<DerivedQ>& q, const Eigen::MatrixBase<DerivedK>& k) {
  using Scalar = typename DerivedQ::Scalar;
  require_shapes(q.cols() == k.cols(), "attention_scores",
                 "queries and keys must have the same dimension d_k (columns)", "Q", q, "K", k);
  require(q.cols() > 0, "attention_scores", "d_k must be positive");
  // The product straight into the result, then scaled in place: one T_q x T_k matrix, where
  // `(q * k.transpose()) / sqrt(d_k)` would first fill a temporary with the product.
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> scores = q * k.transpose();
  scores /= std::sqrt(static_cast<Scalar>(q.cols()));
  return scores;
}

/// Every intermediate of one attention call, so chapters can show them and tests check them.
template <typename Scalar>
struct AttentionResultT {
  /// A dynamic-size matrix of `Scalar` (float or double).
  using MatrixT = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  MatrixT scores;   ///< T_q x T_k: \f$ Q K^\top / \sqrt{d_k} \f$ (masked entries \f$ -\infty \f$)
  MatrixT weights;  ///< T_q x T_k: softmax of each row of the scores
  MatrixT output;   ///< T_q x d_v: weights times V
};
/// The float result the chapters use.
using AttentionResult = AttentionResultT<float>;

/// Throws ShapeError unless Q and K share d_k and K and V share T_k.
template <typename DerivedQ, typename DerivedK, typename DerivedV>
void check_attention_operands(const Eigen::MatrixBase<DerivedQ>& q,
                              const Eigen::MatrixBase<DerivedK>& k,
                              const Eigen::MatrixBase<DerivedV>& v) {
  require_shapes(q.cols() == k.cols(), "scaled_dot_product_attention",
                 "queries and keys must have the same dimension d_k (columns)", "Q", q, "K", k);
  require_shapes(k.rows() == v.rows(), "scaled_dot_product_attention",
                 "keys and values must have the same number of rows (T_k)", "K", k, "V", v);
}

/// The rest of attention once the scores S are known (T_q x T_k, masked or not):
/// \f$ W = \mathrm{softmax}_{\text{rows}}(S),\ O = W V \f$.
/// @throws ShapeError unless V has T_k rows.
template <typename Scalar, typename DerivedV>
AttentionResultT<Scalar> attention_from_scores(
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> scores,
    const Eigen::MatrixBase<DerivedV>& v) {
  require_shapes(scores.cols() == v.rows(), "attention_from_scores",
                 "V must have one row per key (T_k, the scores' columns)", "scores", scores, "V",
                 v);
  AttentionResultT<Scalar> result;
  result.scores = std::move(scores);
  result.weights = softmax_rows(result.scores);
  result.output = result.weights * v;
  return result;
}

/// Scaled dot-product attention:
/// \f$ S = Q K^\top / \sqrt{d_k},\ W = \mathrm{softmax}_{\text{rows}}(S),\ O = W V \f$.
/// Q is T_q x d_k, K is T_k x d_k, V is T_k x d_v. (masking.hpp adds the overload with a mask.)
/// @throws ShapeError if Q and K differ in d_k, or K and V in T_k.
template <typename DerivedQ, typename DerivedK, typename DerivedV>
AttentionResultT<typename DerivedQ::Scalar> scaled_dot_product_attention(
    const Eigen::MatrixBase<DerivedQ>& q, const Eigen::MatrixBase<DerivedK>& k,
    const Eigen::MatrixBase<DerivedV>& v) {
  check_attention_operands(q, k, v);
  return attention_from_scores(attention_scores(q, k), v);
}

/// Just the output \f$ \mathrm{softmax}(Q K^\top / \sqrt{d_k}) V \f$ (see
/// scaled_dot_product_attention()).
template <typename DerivedQ, typename DerivedK, typename DerivedV>
Eigen::Matrix<typename DerivedQ::Scalar, Eigen::Dynamic, Eigen::Dynamic> attention(
    const Eigen::MatrixBase<DerivedQ>& q, const Eigen::MatrixBase<DerivedK>& k,
    const Eigen::MatrixBase<DerivedV>& v) {
  return scaled_dot_product_attention(q, k, v).output;
}

// On plain float matrices, the common case (the exercises, the chapters),
// these are compiled once, in common/src/layers.cpp: a file that calls them then skips
// instantiating the softmax and the products, seconds of g++'s time. (Hidden from the API
// reference: they are the functions above, not new ones.)
/// @cond
extern template Matrix attention_scores(const Eigen::MatrixBase<Matrix>& q,
                                        const Eigen::MatrixBase<Matrix>& k);
extern template AttentionResult scaled_dot_product_attention(const Eigen::MatrixBase<Matrix>& q,
                                                             const Eigen::MatrixBase<Matrix>& k,
                                                             const Eigen::MatrixBase<Matrix>& v);
/// @endcond

}  // namespace qkv
