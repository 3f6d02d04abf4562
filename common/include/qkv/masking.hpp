#pragma once
/// @file
/// Chapter 04, masking: which keys each query is allowed to see.
///
/// A mask is a T_q x T_k boolean array, true where query i may attend to key j. It enters
/// attention as an additive matrix M with \f$ M_{ij} = 0 \f$ where allowed and
/// \f$ -\infty \f$ where not: \f$ \mathrm{softmax}(Q K^\top / \sqrt{d} + M)\, V \f$, so a
/// masked key gets weight exactly 0.
///
/// A fully masked row (a query allowed to see no key, e.g. a padded position whose keys are
/// all hidden) has only \f$ -\infty \f$ scores. The textbook softmax divides 0 by 0 there and
/// gives NaN, and so does PyTorch's `masked_fill(-inf)` followed by `softmax`; the NaN then
/// spreads to every later result that reads the row. qkv decides otherwise: such a row gets
/// all-zero weights and therefore an all-zero output row (softmax_rows(),
/// scaled_dot_product_attention()). No NaN ever comes out of a mask.

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "qkv/attention.hpp"
#include "qkv/error.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// The T_q x T_k mask whose entry (i, j) is allowed(i, j), true where query i may see key j:
/// how every mask below is made, e.g. the causal one is `mask_where(t, t, [](Index i, Index j)
/// { return j <= i; })`.
template <typename Allowed>
Mask mask_where(Index t_q, Index t_k, Allowed allowed) {
  Mask mask(t_q, t_k);
  for (Index i = 0; i < t_q; ++i)
    for (Index j = 0; j < t_k; ++j) mask(i, j) = allowed(i, j);
  return mask;
}

/// Causal mask for T_q queries that are the last T_q of T_k positions: query i sits at
/// position \f$ p_i = T_k - T_q + i \f$ and sees keys \f$ 0..p_i \f$. With T_q = T_k = T this
/// is the lower triangle: token i sees tokens 0..i.
/// @throws ValueError if a size is negative or T_q > T_k.
inline Mask causal_mask(Index t_q, Index t_k) {
  require(t_q >= 0 && t_k >= 0, "causal_mask", "sizes must not be negative");
  require(t_q <= t_k, "causal_mask", "there cannot be more queries than key positions");
  return mask_where(t_q, t_k, [=](Index i, Index j) { return j <= t_k - t_q + i; });
}

/// Square causal mask: token i sees tokens 0..i.
inline Mask causal_mask(Index t) { return causal_mask(t, t); }

/// Context-window (sliding-window) mask: token i sees tokens
/// \f$ \max(0, i - w + 1)..i \f$, the last w tokens including itself.
/// @throws ValueError unless w >= 1.
inline Mask window_mask(Index t, Index window) {
  require(t >= 0, "window_mask", "T must not be negative");
  require(window >= 1, "window_mask", "the window must hold at least one token");
  return mask_where(t, t, [=](Index i, Index j) { return j <= i && j > i - window; });
}

/// Padding mask for one sequence of `length` real tokens padded to T: every query may see
/// keys 0..length-1 only; padding keys are hidden.
/// @throws ValueError unless 0 <= length <= T.
inline Mask padding_mask(Index t, Index length) {
  require(t >= 0 && length >= 0 && length <= t, "padding_mask",
          "the length must lie between 0 and T");
  return mask_where(t, t, [=](Index, Index j) { return j < length; });
}

/// Padding mask that hides padded queries as well as padded keys: query i sees key j only
/// when both are real tokens, \f$ i < \text{length} \wedge j < \text{length} \f$. The rows
/// of the padded queries (\f$ i \ge \text{length} \f$) are fully masked, so attention gives
/// them zero weights and a zero output.
/// @throws ValueError unless 0 <= length <= T.
inline Mask query_key_padding_mask(Index t, Index length) {
  require(t >= 0 && length >= 0 && length <= t, "query_key_padding_mask",
          "the length must lie between 0 and T");
  return mask_where(t, t, [=](Index i, Index j) { return i < length && j < length; });
}

/// The mask as numbers, 1 where allowed and 0 where masked, for printing and `--json`.
inline Matrix mask_as_matrix(const Mask& mask) { return mask.cast<float>().matrix(); }

/// The additive form: \f$ M_{ij} = 0 \f$ where allowed, \f$ -\infty \f$ where masked.
template <typename Scalar = float>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> additive_mask(const Mask& mask) {
  return mask
      .select(Eigen::Array<Scalar, Eigen::Dynamic, Eigen::Dynamic>::Zero(mask.rows(), mask.cols()),
              -std::numeric_limits<Scalar>::infinity())
      .matrix();
}

/// Scores with masked entries replaced by \f$ -\infty \f$: \f$ S + M \f$.
/// @throws ShapeError if the mask and the scores differ in shape.
template <typename Derived>
Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic> apply_mask(
    const Eigen::MatrixBase<Derived>& scores, const Mask& mask) {
  using Scalar = typename Derived::Scalar;
  require_shapes(scores.rows() == mask.rows() && scores.cols() == mask.cols(), "apply_mask",
                 "the mask must have the scores' shape", "scores", scores, "mask", mask);
  return mask.select(scores.array(), -std::numeric_limits<Scalar>::infinity()).matrix();
}

/// Chapter 03's scaled dot-product attention with a mask:
/// \f$ S = Q K^\top / \sqrt{d_k} + M,\ W = \mathrm{softmax}_{\text{rows}}(S),\ O = W V \f$.
/// The mask, if given, is T_q x T_k; without one this is scaled_dot_product_attention(q, k, v).
/// A query whose keys are all masked gets zero weights and a zero output row.
/// @throws ShapeError if Q and K differ in d_k, K and V in T_k, or the mask in shape.
template <typename DerivedQ, typename DerivedK, typename DerivedV>
AttentionResultT<typename DerivedQ::Scalar> scaled_dot_product_attention(
    const Eigen::MatrixBase<DerivedQ>& q, const Eigen::MatrixBase<DerivedK>& k,
    const Eigen::MatrixBase<DerivedV>& v, const std::optional<Mask>& mask) {
  if (!mask) return scaled_dot_product_attention(q, k, v);
  check_attention_operands(q, k, v);
  if (mask->rows() != q.rows() || mask->cols() != k.rows()) {
    throw ShapeError(
        "scaled_dot_product_attention: the mask must be T_q x T_k, as the scores "
        "(mask is " +
        shape_of(*mask) + ", scores are " + std::to_string(q.rows()) + "x" +
        std::to_string(k.rows()) + ")");
  }
  return attention_from_scores(apply_mask(attention_scores(q, k), *mask), v);  // S + M
}

/// Just the output \f$ \mathrm{softmax}(Q K^\top / \sqrt{d_k} + M) V \f$ of the masked
/// scaled_dot_product_attention().
template <typename DerivedQ, typename DerivedK, typename DerivedV>
auto attention(const Eigen::MatrixBase<DerivedQ>& q, const Eigen::MatrixBase<DerivedK>& k,
               const Eigen::MatrixBase<DerivedV>& v, const std::optional<Mask>& mask) {
  return scaled_dot_product_attention(q, k, v, mask).output;
}

// On plain float matrices, compiled once in common/src/layers.cpp (see attention.hpp).
/// @cond
extern template Matrix apply_mask(const Eigen::MatrixBase<Matrix>& scores, const Mask& mask);
extern template AttentionResult scaled_dot_product_attention(const Eigen::MatrixBase<Matrix>& q,
                                                             const Eigen::MatrixBase<Matrix>& k,
                                                             const Eigen::MatrixBase<Matrix>& v,
                                                             const std::optional<Mask>& mask);
/// @endcond

}  // namespace qkv
