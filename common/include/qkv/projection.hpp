#pragma once
/// @file
/// Chapter 02, learned projections: every token plays three roles.
///
/// Token embeddings X (T x d_model, one token per row) are multiplied by three learned
/// matrices W_q, W_k, W_v (d_model x d_head each): Q = X W_q (what each token asks for),
/// K = X W_k (how each token can be found), V = X W_v (what each token hands over).
/// The attention scores compare every query with every key: S = Q K^T / sqrt(d_head).

#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "qkv/error.hpp"
#include "qkv/random.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// The three projection matrices of one attention head, each d_model x d_head.
struct QkvWeights {
  Matrix w_q;  ///< d_model x d_head: X W_q gives the queries
  Matrix w_k;  ///< d_model x d_head: X W_k gives the keys
  Matrix w_v;  ///< d_model x d_head (d_v = d_head here): X W_v gives the values
};

/// Queries, keys and values of T tokens, each T x d_head.
struct Qkv {
  Matrix q;  ///< \f$ Q = X W_q \f$
  Matrix k;  ///< \f$ K = X W_k \f$
  Matrix v;  ///< \f$ V = X W_v \f$
};

/// Draws W_q, W_k, W_v (in that order) like PyTorch's nn.Linear:
/// \f$ W \sim U(-1/\sqrt{d_{model}},\ 1/\sqrt{d_{model}}) \f$.
/// @throws ValueError if a size is not positive.
inline QkvWeights random_qkv_weights(Random& random, Index d_model, Index d_head) {
  require(d_model > 0 && d_head > 0, "random_qkv_weights", "d_model and d_head must be positive");
  QkvWeights w;
  w.w_q = init_linear_weight(random, d_model, d_head);
  w.w_k = init_linear_weight(random, d_model, d_head);
  w.w_v = init_linear_weight(random, d_model, d_head);
  return w;
}

/// One projection \f$ X W \f$: (T x d_model) times (d_model x d_out) gives T x d_out.
/// @throws ShapeError naming `weight_name` when X's columns differ from W's rows.
inline Matrix project(const Matrix& x, const Matrix& weight, std::string_view weight_name = "W") {
  require_shapes(x.cols() == weight.rows(), "project",
                 "X's columns (d_model) must equal the weight's rows", "X", x, weight_name, weight);
  return x * weight;
}

/// \f$ Q = X W_q,\ K = X W_k,\ V = X W_v \f$.
/// @throws ShapeError if a weight does not have d_model rows, or W_q and W_k differ in
///         columns (queries and keys must share d_head to be compared).
inline Qkv project_qkv(const Matrix& x, const QkvWeights& w) {
  require_shapes(w.w_q.cols() == w.w_k.cols(), "project_qkv",
                 "W_q and W_k must have the same number of columns (d_head)", "W_q", w.w_q, "W_k",
                 w.w_k);
  for (const auto& [name, weight] : {std::pair{"W_q", &w.w_q}, {"W_k", &w.w_k}, {"W_v", &w.w_v}})
    require_shapes(x.cols() == weight->rows(), "project_qkv",
                   "X's columns (d_model) must equal every weight's rows", "X", x, name, *weight);
  return {project(x, w.w_q, "W_q"), project(x, w.w_k, "W_k"), project(x, w.w_v, "W_v")};
}

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
  return (q * k.transpose()) / std::sqrt(static_cast<Scalar>(q.cols()));
}

/// The number of learned parameters of one head's projections: 3 d_model d_head
/// (no biases, as in GPT-style attention).
inline Index qkv_parameter_count(Index d_model, Index d_head) { return 3 * d_model * d_head; }

/// Labels for T tokens: the first T words of `sentence`, or "t0", "t1", ..., "t{T-1}" when
/// T exceeds the sentence (a made-up sequence has no words).
/// @throws ValueError if T is negative.
inline Labels token_labels(const Labels& sentence, Index t) {
  require(t >= 0, "token_labels", "T must not be negative");
  Labels labels;
  for (Index i = 0; i < t; ++i)
    labels.push_back(t <= static_cast<Index>(sentence.size())
                         ? sentence[static_cast<std::size_t>(i)]
                         : "t" + std::to_string(i));
  return labels;
}

/// A vocabulary built from a token sequence: every distinct token once, in order of first
/// appearance, and each token's id (its row in the embedding table).
struct Vocabulary {
  Labels words;            ///< the distinct tokens; word i has id i
  std::vector<Index> ids;  ///< one id per token of the sequence
};

/// The vocabulary of `tokens`: "the cat sat on the mat" gives the words
/// the, cat, sat, on, mat and the ids 0 1 2 3 0 4 (both "the" share id 0).
inline Vocabulary build_vocabulary(const Labels& tokens) {
  Vocabulary vocabulary;
  for (const auto& token : tokens) {
    Index id = 0;
    while (id < static_cast<Index>(vocabulary.words.size()) &&
           vocabulary.words[static_cast<std::size_t>(id)] != token)
      ++id;
    if (id == static_cast<Index>(vocabulary.words.size())) vocabulary.words.push_back(token);
    vocabulary.ids.push_back(id);
  }
  return vocabulary;
}

/// Embedding lookup: row t of X is row \f$ \mathrm{id}_t \f$ of the table E
/// (vocabulary size x d_model), \f$ X_{t,:} = E_{\mathrm{id}_t,:} \f$. The same token always
/// gets the same embedding, wherever it stands. X is T x d_model.
/// @throws ValueError if an id is not a row of the table.
inline Matrix embed(const Matrix& table, const std::vector<Index>& ids) {
  Matrix x(static_cast<Index>(ids.size()), table.cols());
  for (std::size_t t = 0; t < ids.size(); ++t) {
    if (ids[t] < 0 || ids[t] >= table.rows()) {
      throw ValueError("embed: token id " + std::to_string(ids[t]) + " is not a row of the " +
                       shape_of(table) + " embedding table");
    }
    x.row(static_cast<Index>(t)) = table.row(ids[t]);
  }
  return x;
}

}  // namespace qkv
