#pragma once
/// @file
/// The backward pass of attention (chapter 10): given how the loss changes with the output,
/// dL/dO, how it changes with everything the output was made from. Each backward line quotes
/// the forward line it reverses, as llm.c writes it:
///
///     forward                          backward
///     S = Q K^T / sqrt(d) (+ mask)     dQ = dS K / sqrt(d),  dK = dS^T Q / sqrt(d)
///     P = softmax_rows(S)              dS = P * (dP - rowsum(dP * P))
///     O = P V                          dV = P^T dO,  dP = dO V^T
///     Q = X W_q, K = X W_k, V = X W_v  dW_q = X^T dQ, ...; dX = dQ W_q^T + dK W_k^T + dV W_v^T
///
/// (* is the entrywise product.) The forward is the library's one attention core,
/// qkv::scaled_dot_product_attention (masking.hpp): the backward takes its weights P, in which
/// a masked entry is exactly 0, so a masked score gets exactly zero gradient and a fully
/// masked row (P = 0, O = 0) gets zeros, never NaN. Templates on the scalar, compiled for
/// float (training) and double (the gradient check) in common/src/attention_backward.cpp.
#include <optional>

#include "qkv/masking.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// A dynamic matrix of `Scalar`.
template <typename Scalar>
using MatrixOf = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

/// The backward of the row softmax P = softmax_rows(S): given P and dL/dP, returns dL/dS,
/// \f$ dS_{ij} = P_{ij} \left( dP_{ij} - \sum_k dP_{ik} P_{ik} \right) \f$: the softmax's
/// Jacobian \f$ \partial P_{ij} / \partial S_{il} = P_{ij} (\delta_{jl} - P_{il}) \f$ applied
/// without forming it (one T_k x T_k matrix per row). An all-zero row of P (a fully masked
/// query) gives a zero row.
/// @throws ShapeError if P and dP differ in shape.
template <typename Scalar>
MatrixOf<Scalar> softmax_rows_backward(const MatrixOf<Scalar>& weights,
                                       const MatrixOf<Scalar>& d_weights);

/// The gradients of one attention call with respect to its three inputs.
template <typename Scalar>
struct AttentionGradientsT {
  MatrixOf<Scalar> d_q;        ///< T_q x d_k: \f$ dQ = dS\, K / \sqrt{d_k} \f$
  MatrixOf<Scalar> d_k;        ///< T_k x d_k: \f$ dK = dS^\top Q / \sqrt{d_k} \f$
  MatrixOf<Scalar> d_v;        ///< T_k x d_v: \f$ dV = P^\top dO \f$
  MatrixOf<Scalar> d_weights;  ///< T_q x T_k: \f$ dP = dO\, V^\top \f$
  MatrixOf<Scalar>
      d_scores;  ///< T_q x T_k: \f$ dS = P \circ (dP - \mathrm{rowsum}(dP \circ P)) \f$
};
using AttentionGradients = AttentionGradientsT<float>;  ///< The float gradients training uses.

/// The backward of \f$ O = \mathrm{softmax}(Q K^\top / \sqrt{d_k} + M)\, V \f$, given the
/// forward's weights P (masked entries 0) and \f$ dO = \partial L / \partial O \f$:
/// \f$ dV = P^\top dO,\ dP = dO V^\top,\ dS = P \circ (dP - \mathrm{rowsum}(dP \circ P)), \;
///     dQ = dS K / \sqrt{d_k},\ dK = dS^\top Q / \sqrt{d_k} \f$.
/// rowsum(dP * P) equals rowsum(dO * O) (since O = P V): FlashAttention-2's D, which needs no
/// T_q x T_k matrix.
/// @throws ShapeError naming both shapes if Q, K, V, P and dO do not fit together.
template <typename Scalar>
AttentionGradientsT<Scalar> attention_backward(const MatrixOf<Scalar>& q, const MatrixOf<Scalar>& k,
                                               const MatrixOf<Scalar>& v,
                                               const MatrixOf<Scalar>& weights,
                                               const MatrixOf<Scalar>& d_output);

/// The projections of a single attention head: Q = X W_q, K = X W_k, V = X W_v.
template <typename Scalar>
struct HeadWeightsT {
  MatrixOf<Scalar> w_q;  ///< d_model x d_head
  MatrixOf<Scalar> w_k;  ///< d_model x d_head
  MatrixOf<Scalar> w_v;  ///< d_model x d_v
};

/// Everything the forward of a self-attention head computed, kept for its backward.
template <typename Scalar>
struct HeadForwardT {
  MatrixOf<Scalar> q;                  ///< T x d_head: Q = X W_q
  MatrixOf<Scalar> k;                  ///< T x d_head: K = X W_k
  MatrixOf<Scalar> v;                  ///< T x d_v: V = X W_v
  AttentionResultT<Scalar> attention;  ///< scores, weights and output (T x d_v)
};

/// The forward of one self-attention head, \f$ O = \mathrm{softmax}(X W_q (X W_k)^\top /
/// \sqrt{d_{head}} + M)\, X W_v \f$, through the library's scaled_dot_product_attention, with
/// every intermediate kept for head_backward().
/// @throws ShapeError if X's columns are not the weights' rows, or the mask is not T x T.
template <typename Scalar>
HeadForwardT<Scalar> head_forward(const MatrixOf<Scalar>& x, const HeadWeightsT<Scalar>& w,
                                  const std::optional<Mask>& mask = std::nullopt);

/// The gradients of one self-attention head.
template <typename Scalar>
struct HeadGradientsT {
  AttentionGradientsT<Scalar> attention;  ///< dQ, dK, dV, dP, dS
  HeadWeightsT<Scalar> d_w;  ///< \f$ dW_q = X^\top dQ,\ dW_k = X^\top dK,\ dW_v = X^\top dV \f$
  /// \f$ dX = dQ W_q^\top + dK W_k^\top + dV W_v^\top \f$: X reaches the output along three
  /// paths, and their gradients add.
  MatrixOf<Scalar> d_x;
};

/// The backward of head_forward(), given \f$ dO = \partial L / \partial O \f$.
/// @throws ShapeError if dO is not the shape of the forward's output.
template <typename Scalar>
HeadGradientsT<Scalar> head_backward(const MatrixOf<Scalar>& x, const HeadWeightsT<Scalar>& w,
                                     const HeadForwardT<Scalar>& forward,
                                     const MatrixOf<Scalar>& d_output);

/// The relative error of a gradient against a numeric one, as the gradient check prints it:
/// \f$ \max |a - n| / \max(\max |a|, \max |n|, 10^{-30}) \f$ over the whole matrix (the floor
/// keeps an all-zero gradient, such as a fully masked row's, from dividing by zero).
/// @throws ShapeError if the two differ in shape.
double max_relative_error(const MatrixD& analytic, const MatrixD& numeric);

/// Central differences of a scalar function f at every entry of `at`:
/// \f$ (f(x + h e_{ij}) - f(x - h e_{ij})) / 2h \f$, error \f$ O(h^2) \f$. `at` is changed
/// and put back, entry by entry; f reads it.
/// @throws ValueError if h is not positive.
template <typename F>
MatrixD central_differences(MatrixD& at, double h, F&& f) {
  require(h > 0, "central_differences", "the step h must be positive");
  MatrixD gradient(at.rows(), at.cols());
  for (Index r = 0; r < at.rows(); ++r)
    for (Index c = 0; c < at.cols(); ++c) {
      const double saved = at(r, c);
      at(r, c) = saved + h;
      const double up = f();
      at(r, c) = saved - h;
      const double down = f();
      at(r, c) = saved;
      gradient(r, c) = (up - down) / (2 * h);
    }
  return gradient;
}

/// @cond
extern template MatrixOf<float> softmax_rows_backward(const MatrixOf<float>&,
                                                      const MatrixOf<float>&);
extern template MatrixOf<double> softmax_rows_backward(const MatrixOf<double>&,
                                                       const MatrixOf<double>&);
extern template AttentionGradientsT<float> attention_backward(const MatrixOf<float>&,
                                                              const MatrixOf<float>&,
                                                              const MatrixOf<float>&,
                                                              const MatrixOf<float>&,
                                                              const MatrixOf<float>&);
extern template AttentionGradientsT<double> attention_backward(const MatrixOf<double>&,
                                                               const MatrixOf<double>&,
                                                               const MatrixOf<double>&,
                                                               const MatrixOf<double>&,
                                                               const MatrixOf<double>&);
extern template HeadForwardT<float> head_forward(const MatrixOf<float>&, const HeadWeightsT<float>&,
                                                 const std::optional<Mask>&);
extern template HeadForwardT<double> head_forward(const MatrixOf<double>&,
                                                  const HeadWeightsT<double>&,
                                                  const std::optional<Mask>&);
extern template HeadGradientsT<float> head_backward(const MatrixOf<float>&,
                                                    const HeadWeightsT<float>&,
                                                    const HeadForwardT<float>&,
                                                    const MatrixOf<float>&);
extern template HeadGradientsT<double> head_backward(const MatrixOf<double>&,
                                                     const HeadWeightsT<double>&,
                                                     const HeadForwardT<double>&,
                                                     const MatrixOf<double>&);
/// @endcond

}  // namespace qkv
