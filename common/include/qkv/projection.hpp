#pragma once
/// @file
/// Chapter 02, learned projections: every token plays three roles.
///
/// Token embeddings X (T x d_model, one token per row) are multiplied by three learned
/// matrices W_q, W_k, W_v (d_model x d_head each): Q = X W_q (what each token asks for),
/// K = X W_k (how each token can be found), V = X W_v (what each token hands over).
/// X itself comes from embedding.hpp (token embeddings, also chapter 02); the scores S = Q K^T /
/// sqrt(d_head) that compare queries with keys are attention_scores() in attention.hpp (chapter
/// 03's formula).

#include <string_view>
#include <utility>

#include "qkv/embedding.hpp"  // X, the input projected here
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

/// The number of learned parameters of one head's projections: 3 d_model d_head
/// (no biases, as in GPT-style attention).
inline Index qkv_parameter_count(Index d_model, Index d_head) { return 3 * d_model * d_head; }

}  // namespace qkv
