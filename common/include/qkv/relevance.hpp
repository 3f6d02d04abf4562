#pragma once
/// @file
/// Chapter 01, dot-product relevance: how well does a query match each key?
///
/// A query q and the keys k_1 ... k_T are vectors of the same dimension d, the keys stored
/// one per row of a T x d matrix K. The relevance of key j is the dot product q . k_j; the
/// value stored under the most relevant key is what hard retrieval returns. Chapter 03
/// softens this into a weighted average of all values.

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "qkv/error.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// The dot product \f$ a \cdot b = \sum_{i=1}^{d} a_i b_i \f$.
/// @throws ShapeError if a and b differ in length.
inline float dot_product(const Vector& a, const Vector& b) {
  require_shapes(a.size() == b.size(), "dot_product", "vectors must have the same length", "a", a,
                 "b", b);
  return a.dot(b);
}

/// The relevance of every key to one query: \f$ s_j = q \cdot k_j \f$ for each row
/// \f$ k_j \f$ of K, i.e. \f$ s = K q \f$ (a T-vector).
/// @param query a d-vector.  @param keys T x d, one key per row.
/// @throws ShapeError if the query's length is not the keys' dimension.
inline Vector relevance_scores(const Vector& query, const Matrix& keys) {
  require_shapes(keys.cols() == query.size(), "relevance_scores",
                 "the query's length must equal the keys' dimension (columns)", "query", query,
                 "keys", keys);
  return keys * query;
}

/// Scaled relevance \f$ s_j = \frac{q \cdot k_j}{\sqrt{d}} \f$. For q and k with independent
/// unit-variance entries, \f$ q \cdot k \f$ has variance d; dividing by \f$ \sqrt{d} \f$
/// brings it back to 1 whatever d is.
/// @throws ShapeError as relevance_scores(); ValueError if d is 0.
inline Vector scaled_relevance_scores(const Vector& query, const Matrix& keys) {
  require_shapes(keys.cols() == query.size(), "scaled_relevance_scores",
                 "the query's length must equal the keys' dimension (columns)", "query", query,
                 "keys", keys);
  Vector scores = relevance_scores(query, keys);
  require(query.size() > 0, "scaled_relevance_scores", "the dimension d must be positive");
  return scores / std::sqrt(static_cast<float>(query.size()));
}

/// Cosine similarity \f$ \cos(a, b) = \frac{a \cdot b}{\lVert a \rVert \, \lVert b \rVert} \f$,
/// the dot product with the lengths divided out: it lies in [-1, 1] and ignores magnitude.
/// @throws ShapeError if the lengths differ; ValueError if either vector is zero.
inline float cosine_similarity(const Vector& a, const Vector& b) {
  require_shapes(a.size() == b.size(), "cosine_similarity", "vectors must have the same length",
                 "a", a, "b", b);
  const float product = dot_product(a, b);
  const float norms = a.norm() * b.norm();
  require(norms > 0.0f, "cosine_similarity", "undefined for a zero vector");
  return product / norms;
}

/// \f$ s_j = \cos(q, k_j) \f$ for every row of K.
/// @throws ShapeError as relevance_scores(); ValueError if the query or a key is zero.
inline Vector cosine_scores(const Vector& query, const Matrix& keys) {
  require_shapes(keys.cols() == query.size(), "cosine_scores",
                 "the query's length must equal the keys' dimension (columns)", "query", query,
                 "keys", keys);
  Vector scores(keys.rows());
  for (Index j = 0; j < keys.rows(); ++j)
    scores(j) = cosine_similarity(query, keys.row(j).transpose());
  return scores;
}

/// Key indices from most to least relevant: sorted by descending score, equal scores in
/// ascending index order, so the ranking is the same on every platform.
/// @throws ValueError if a score is NaN (it has no place in an order).
inline std::vector<Index> rank_by_relevance(const Vector& scores) {
  require(!scores.hasNaN(), "rank_by_relevance", "a score is NaN");
  std::vector<Index> order(static_cast<std::size_t>(scores.size()));
  std::iota(order.begin(), order.end(), Index{0});
  std::stable_sort(order.begin(), order.end(),
                   [&scores](Index a, Index b) { return scores(a) > scores(b); });
  return order;
}

/// \f$ j^* = \arg\max_j s_j \f$, the lowest index among equal maxima.
/// @throws ValueError if there are no scores or a score is NaN.
inline Index most_relevant(const Vector& scores) {
  require(scores.size() > 0, "most_relevant", "there are no scores");
  return rank_by_relevance(scores).front();
}

/// Hard retrieval: the value stored under the most relevant key,
/// \f$ v_{j^*} \f$ with \f$ j^* = \arg\max_j q \cdot k_j \f$.
/// @param keys T x d.  @param values T x d_v, row j stored under key j.
/// @throws ShapeError if keys and values differ in row count or the query does not fit.
inline Vector hard_retrieve(const Vector& query, const Matrix& keys, const Matrix& values) {
  require_shapes(keys.rows() == values.rows(), "hard_retrieve",
                 "there must be one value row per key row", "keys", keys, "values", values);
  require_shapes(keys.cols() == query.size(), "hard_retrieve",
                 "the query's length must equal the keys' dimension (columns)", "query", query,
                 "keys", keys);
  return values.row(most_relevant(relevance_scores(query, keys))).transpose();
}

/// Mean and standard deviation of a sample.
struct Spread {
  double mean = 0.0;  ///< \f$ \bar x = \frac{1}{n}\sum_i x_i \f$
  /// Population standard deviation \f$ \sqrt{\frac{1}{n}\sum_i (x_i - \bar x)^2} \f$.
  double stddev = 0.0;
};

/// The mean and (population) standard deviation of `samples`, accumulated in double.
/// @throws ValueError if there are no samples.
inline Spread spread_of(const Vector& samples) {
  require(samples.size() > 0, "spread_of", "there are no samples");
  const Eigen::VectorXd x = samples.cast<double>();
  const double mean = x.mean();
  const double variance = (x.array() - mean).square().mean();
  return {mean, std::sqrt(variance)};
}

}  // namespace qkv
