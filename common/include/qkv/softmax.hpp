#pragma once
/// @file
/// Chapter 03, softmax: scores become weights that are positive and sum to 1.
///
/// \f$ \mathrm{softmax}(s)_j = \frac{e^{s_j}}{\sum_l e^{s_l}} \f$, computed as
/// \f$ \frac{e^{s_j - m}}{\sum_l e^{s_l - m}} \f$ with \f$ m = \max_l s_l \f$: the same
/// value, but no exponent is positive, so nothing overflows.
/// Masked scores are \f$ -\infty \f$ and get weight exactly 0. A row whose scores are all
/// \f$ -\infty \f$ (a query allowed to see nothing) gets all-zero weights, never NaN.

#include <algorithm>
#include <cmath>
#include <limits>

#include "qkv/error.hpp"
#include "qkv/types.hpp"

namespace qkv {

namespace detail {

/// \f$ e^{x} \f$ of every entry of an array expression. The reference builds (dev, ci) call
/// std::exp on each entry, so that the lessons print the same digits everywhere; the fast build
/// (QKV_VECTORIZED_EXP, README "The fast build") uses Eigen's vectorized exp, several times
/// faster and now and then one bit off.
template <typename Derived>
auto exp_of_entries(const Eigen::ArrayBase<Derived>& x) {
#ifdef QKV_VECTORIZED_EXP
  return x.exp();
#else
  return x.unaryExpr([](typename Derived::Scalar value) { return std::exp(value); });
#endif
}

}  // namespace detail

/// Row-wise softmax, numerically stable:
/// \f$ W_{ij} = \frac{e^{S_{ij} - m_i}}{\sum_l e^{S_{il} - m_i}},\ m_i = \max_l S_{il} \f$.
/// Entries of \f$ -\infty \f$ get weight 0; an all-\f$ -\infty \f$ row gets all zeros.
/// A NaN score makes its whole row NaN (propagated, not hidden).
template <typename Derived>
Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic> softmax_rows(
    const Eigen::MatrixBase<Derived>& scores) {
  using Scalar = typename Derived::Scalar;
  using MatrixT = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using ColumnT = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
  constexpr Scalar minus_infinity = -std::numeric_limits<Scalar>::infinity();
  const Eigen::Ref<const MatrixT> s(scores);  // no copy when the scores are a matrix
  const Index rows = s.rows(), cols = s.cols();
  MatrixT weights(rows, cols);
  // Eigen stores a matrix column by column: the entries of a row lie `rows` apart in memory.
  // So every step walks the matrix column by column, keeping one running value per row (its
  // maximum, its sum): memory is read in order, and each row still meets its entries in the
  // order j = 0, 1, 2, ...
  //
  // m_i, the largest score of row i. A fully masked row (m_i = -inf) is shifted by 0 instead:
  // its entries stay -inf, get weight 0, and no -inf - (-inf) = NaN appears. (A NaN score
  // makes its row's sum NaN below, whatever m_i is.)
  ColumnT row_max = ColumnT::Constant(rows, minus_infinity);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) row_max(i) = std::max(row_max(i), s(i, j));
  row_max = (row_max == minus_infinity).select(Scalar(0), row_max);
  // e^(S_ij - m_i) and the row sums, a chunk of columns at a time so that the chunk is still
  // in the cache when it is summed. What is below the smallest normal float is set to exactly
  // 0: masked entries, and scores so far below m_i that e^(S_ij - m_i) underflows, for which
  // Eigen's vectorized exp returns about 3e-39 instead of 0 (exp(-inf) included).
  ColumnT row_sum = ColumnT::Zero(rows);
  const Index chunk = std::max<Index>(1, 8192 / std::max<Index>(rows, 1));  // ~32 KiB of floats
  for (Index first = 0; first < cols; first += chunk) {
    const Index n = std::min(chunk, cols - first);
    auto w = weights.middleCols(first, n).array();
    w = s.middleCols(first, n).array().colwise() - row_max;
    w = detail::exp_of_entries(
        w);  // not in the line above: Eigen would not vectorize the exp there
    for (Index j = 0; j < n; ++j) {
      for (Index i = 0; i < rows; ++i) {
        w(i, j) = w(i, j) < std::numeric_limits<Scalar>::min() ? Scalar(0) : w(i, j);
        row_sum(i) += w(i, j);
      }
    }
  }
  // A fully masked row sums to 0; dividing its zeros by 1 keeps them zeros.
  row_sum = (row_sum == Scalar(0)).select(Scalar(1), row_sum);
  weights.array().colwise() /= row_sum;
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
