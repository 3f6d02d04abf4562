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
#include "qkv/parameter_count.hpp"  // qkv_parameter_count()
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
QkvWeights random_qkv_weights(Random& random, Index d_model, Index d_head);

/// One projection \f$ X W \f$: (T x d_model) times (d_model x d_out) gives T x d_out.
/// @throws ShapeError naming `weight_name` when X's columns differ from W's rows.
Matrix project(const Matrix& x, const Matrix& weight, std::string_view weight_name = "W");

/// \f$ Q = X W_q,\ K = X W_k,\ V = X W_v \f$.
/// @throws ShapeError if a weight does not have d_model rows, or W_q and W_k differ in
///         columns (queries and keys must share d_head to be compared).
Qkv project_qkv(const Matrix& x, const QkvWeights& w);

}  // namespace qkv
