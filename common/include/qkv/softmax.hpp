#pragma once
/// @file
/// Chapter 03, softmax: scores become weights that are positive and sum to 1.
///
/// \f$ \mathrm{softmax}(s)_j = \frac{e^{s_j}}{\sum_l e^{s_l}} \f$, computed as
/// \f$ \frac{e^{s_j - m}}{\sum_l e^{s_l - m}} \f$ with \f$ m = \max_l s_l \f$: the same
/// value, but no exponent is positive, so nothing overflows.
/// Masked scores are \f$ -\infty \f$ and get weight exactly 0. A row whose scores are all
/// \f$ -\infty \f$ (a query allowed to see nothing) gets all-zero weights, never NaN.

#include <cmath>
#include <limits>

#include "qkv/error.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// Row-wise softmax, numerically stable:
/// \f$ W_{ij} = \frac{e^{S_{ij} - m_i}}{\sum_l e^{S_{il} - m_i}},\ m_i = \max_l S_{il} \f$.
/// Entries of \f$ -\infty \f$ get weight 0; an all-\f$ -\infty \f$ row gets all zeros.
/// A NaN score makes its whole row NaN (propagated, not hidden).
template <typename Derived>
Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic> softmax_rows(
    const Eigen::MatrixBase<Derived>& scores) {
  using Scalar = typename Derived::Scalar;
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> weights(scores.rows(), scores.cols());
  for (Index i = 0; i < scores.rows(); ++i) {
    // PropagateNaN: Eigen's default max may skip a NaN, and a NaN among -inf scores would
    // then pass for a fully masked row.
    const Scalar row_max = scores.cols() > 0
                               ? scores.row(i).template maxCoeff<Eigen::PropagateNaN>()
                               : -std::numeric_limits<Scalar>::infinity();
    if (row_max == -std::numeric_limits<Scalar>::infinity()) {  // fully masked (or empty)
      weights.row(i).setZero();
      continue;
    }
    // Masked entries are set to exactly 0 rather than left to exp(-inf): Eigen's vectorized
    // exp returns a tiny positive number (about 3e-39) for -inf, not 0.
    const auto masked = scores.row(i).array() == -std::numeric_limits<Scalar>::infinity();
    weights.row(i) = masked.select(Scalar(0), (scores.row(i).array() - row_max).exp()).matrix();
    weights.row(i) /= weights.row(i).sum();
  }
  return weights;
}

/// Softmax of one vector of scores (see softmax_rows()).
inline Vector softmax(const Vector& scores) { return softmax_rows(scores.transpose()).transpose(); }

/// The textbook formula \f$ e^{S_{ij}} / \sum_l e^{S_{il}} \f$ without the max subtraction.
/// Shown in chapter 03 to overflow: in float, \f$ e^{89} \f$ is already infinite, and
/// inf / inf is NaN. Do not use it for anything else.
template <typename Derived>
Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic> naive_softmax_rows(
    const Eigen::MatrixBase<Derived>& scores) {
  Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic> weights =
      scores.array().exp().matrix();
  for (Index i = 0; i < weights.rows(); ++i) weights.row(i) /= weights.row(i).sum();
  return weights;
}

/// Softmax with temperature \f$ \tau \f$: \f$ \mathrm{softmax}(S / \tau) \f$. \f$ \tau < 1 \f$
/// sharpens the weights toward the largest score, \f$ \tau > 1 \f$ flattens them.
/// @throws ValueError unless \f$ \tau > 0 \f$.
template <typename Derived>
Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic>
softmax_rows_with_temperature(const Eigen::MatrixBase<Derived>& scores, double temperature) {
  require(temperature > 0.0 && std::isfinite(temperature), "softmax_rows_with_temperature",
          "the temperature must be positive and finite");
  return softmax_rows(scores / static_cast<typename Derived::Scalar>(temperature));
}

/// The entropy of each row of weights, in nats:
/// \f$ H_i = -\sum_j W_{ij} \ln W_{ij} \f$ (with \f$ 0 \ln 0 = 0 \f$). 0 for a one-hot row,
/// \f$ \ln T \f$ for a uniform row over T keys.
template <typename Derived>
Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, 1> row_entropy(
    const Eigen::MatrixBase<Derived>& weights) {
  using Scalar = typename Derived::Scalar;
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> entropy(weights.rows());
  for (Index i = 0; i < weights.rows(); ++i) {
    Scalar sum = 0;
    for (Index j = 0; j < weights.cols(); ++j) {
      const Scalar w = weights(i, j);
      if (w > 0) sum -= w * std::log(w);
    }
    entropy(i) = sum;
  }
  return entropy;
}

}  // namespace qkv
