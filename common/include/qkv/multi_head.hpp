#pragma once
/// @file
/// Chapter 05, multi-head attention: h heads attend in parallel, each in its own subspace.
///
/// With d_head = d_model / h: \f$ Q = X W_q,\ K = X W_k,\ V = X W_v \f$ (all T x d_model);
/// head i takes columns \f$ i\,d_{head} .. (i+1)\,d_{head}-1 \f$ of each,
/// \f$ O_i = \mathrm{softmax}(Q_i K_i^\top / \sqrt{d_{head}} + M)\, V_i \f$; the heads are
/// concatenated and mixed: \f$ \mathrm{MHA}(X) = [O_1 \dots O_h]\, W_o \f$.
/// Shapes: T x d_model -> h x (T x d_head) -> T x d_model.
///
/// Heads add no parameters: they split d_model, and head i owns columns
/// \f$ i\,d_{head} .. (i+1)\,d_{head}-1 \f$ of W_q, W_k, W_v and the same rows of W_o
/// (head_weights()). Because \f$ [O_1 \dots O_h]\, W_o = \sum_i O_i\, W_o^{(i)} \f$, each head
/// writes into the output through its own d_head rows \f$ W_o^{(i)} \f$ of W_o.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "qkv/attention.hpp"
#include "qkv/error.hpp"
#include "qkv/masking.hpp"
#include "qkv/projection.hpp"
#include "qkv/random.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// The four d_model x d_model matrices of a multi-head attention layer (no biases).
struct MultiHeadWeights {
  Matrix w_q;       ///< d_model x d_model; columns i d_head .. (i+1) d_head - 1 belong to head i
  Matrix w_k;       ///< d_model x d_model
  Matrix w_v;       ///< d_model x d_model
  Matrix w_o;       ///< d_model x d_model: mixes the concatenated heads
  Index heads = 1;  ///< h, the number of heads; must divide d_model

  /// d_model, the width of the tokens (rows of W_q).
  Index d_model() const { return w_q.rows(); }
  /// \f$ d_{head} = d_{model} / h \f$, the width of one head's queries, keys and values.
  Index d_head() const { return heads > 0 ? w_q.cols() / heads : 0; }
};

/// Throws ValueError unless d_model > 0, heads > 0 and heads divides d_model.
inline void require_heads_divide(Index d_model, Index heads, std::string_view function) {
  require(d_model > 0 && heads > 0, function, "d_model and the number of heads must be positive");
  if (d_model % heads != 0) {
    throw ValueError(std::string(function) + ": " + std::to_string(heads) +
                     " heads do not divide d_model = " + std::to_string(d_model) +
                     " (d_head = d_model / heads must be a whole number)");
  }
}

/// Draws W_q, W_k, W_v, W_o in that order, each like nn.Linear:
/// \f$ W \sim U(-1/\sqrt{d_{model}},\ 1/\sqrt{d_{model}}) \f$.
/// @throws ValueError unless heads divides d_model.
inline MultiHeadWeights random_multi_head_weights(Random& random, Index d_model, Index heads) {
  require_heads_divide(d_model, heads, "random_multi_head_weights");
  MultiHeadWeights w;
  w.w_q = init_linear_weight(random, d_model, d_model);
  w.w_k = init_linear_weight(random, d_model, d_model);
  w.w_v = init_linear_weight(random, d_model, d_model);
  w.w_o = init_linear_weight(random, d_model, d_model);
  w.heads = heads;
  return w;
}

/// Throws ShapeError unless all four weights are square and of the same size, and
/// ValueError unless `heads` divides that size.
inline void check_multi_head_weights(const MultiHeadWeights& w, std::string_view function) {
  for (const Matrix* m : {&w.w_k, &w.w_v, &w.w_o})
    require_shapes(m->rows() == w.w_q.rows() && m->cols() == w.w_q.cols(), function,
                   "W_q, W_k, W_v and W_o must all be d_model x d_model", "W_q", w.w_q, "other",
                   *m);
  require_shapes(w.w_q.rows() == w.w_q.cols(), function, "W_q must be square (d_model x d_model)",
                 "W_q", w.w_q, "W_o", w.w_o);
  require_heads_divide(w.w_q.rows(), w.heads, function);
}

/// Head i's own slice of the projections, as the single-head weights of chapter 02:
/// columns \f$ i\,d_{head} .. (i+1)\,d_{head}-1 \f$ of W_q, W_k and W_v (each d_model x d_head).
/// Single-head attention with these weights is exactly head i of multi_head_attention().
/// @throws ShapeError / ValueError as check_multi_head_weights(); ValueError unless
///         0 <= head < h.
inline QkvWeights head_weights(const MultiHeadWeights& w, Index head) {
  check_multi_head_weights(w, "head_weights");
  require(head >= 0 && head < w.heads, "head_weights", "the head index must lie in 0..h-1");
  const Index d_head = w.d_head();
  return {w.w_q.middleCols(head * d_head, d_head), w.w_k.middleCols(head * d_head, d_head),
          w.w_v.middleCols(head * d_head, d_head)};
}

/// Splits the columns of a T x d_model matrix into h matrices of T x d_head:
/// head i is columns \f$ i\,d_{head} .. (i+1)\,d_{head}-1 \f$.
/// @throws ValueError unless heads divides the column count.
inline std::vector<Matrix> split_heads(const Matrix& x, Index heads) {
  require_heads_divide(x.cols(), heads, "split_heads");
  const Index d_head = x.cols() / heads;
  std::vector<Matrix> parts;
  for (Index i = 0; i < heads; ++i) parts.emplace_back(x.middleCols(i * d_head, d_head));
  return parts;
}

/// The inverse of split_heads(): concatenates h matrices of T x d_head side by side into
/// T x (h d_head).
/// @throws ShapeError unless all heads have the same shape; ValueError if there are none.
inline Matrix merge_heads(const std::vector<Matrix>& heads) {
  require(!heads.empty(), "merge_heads", "there are no heads");
  const Index rows = heads.front().rows(), d_head = heads.front().cols();
  Matrix merged(rows, d_head * static_cast<Index>(heads.size()));
  for (std::size_t i = 0; i < heads.size(); ++i) {
    require_shapes(heads[i].rows() == rows && heads[i].cols() == d_head, "merge_heads",
                   "every head must have the same shape", "head 0", heads.front(), "another head",
                   heads[i]);
    merged.middleCols(static_cast<Index>(i) * d_head, d_head) = heads[i];
  }
  return merged;
}

/// Every intermediate of one multi-head attention call.
struct MultiHeadResult {
  std::vector<Matrix> weights;  ///< h matrices of T_q x T_k: each head's attention weights
  std::vector<Matrix> heads;    ///< h matrices of T_q x d_head: each head's output
  Matrix concat;                ///< T_q x d_model: the heads side by side
  Matrix output;                ///< T_q x d_model: concat W_o
};

/// The one multi-head attention, on queries, keys and values already projected (heads side
/// by side, head i in columns \f$ i\,d_{head} .. (i+1)\,d_{head}-1 \f$): each head runs
/// chapter 03's scaled_dot_product_attention() on its columns, and W_o mixes the heads,
/// \f$ O_i = \mathrm{softmax}(Q_i K_i^\top / \sqrt{d_{head}} + M)\, V_i,\quad
/// \mathrm{MHA} = [O_1 \dots O_h]\, W_o \f$.
/// Q is T_q x d_model, K and V are T_k x d_model, given as views (a block of a KV cache is
/// read in place, not copied); the mask, if given, is T_q x T_k and shared by all heads.
/// multi_head_attention() projects X and calls this; so does every cached decode step.
/// @throws ShapeError if Q, K or V does not have d_model columns, K and V differ in rows, or
///         the mask is not T_q x T_k; ValueError unless h divides d_model.
inline MultiHeadResult attend_heads(Eigen::Ref<const Matrix> q, Eigen::Ref<const Matrix> k,
                                    Eigen::Ref<const Matrix> v, const MultiHeadWeights& w,
                                    const std::optional<Mask>& mask = std::nullopt) {
  check_multi_head_weights(w, "attend_heads");
  require_shapes(q.cols() == w.d_model() && k.cols() == w.d_model(), "attend_heads",
                 "queries and keys must have d_model columns", "Q", q, "K", k);
  require_shapes(v.cols() == w.d_model() && v.rows() == k.rows(), "attend_heads",
                 "the values must be T_k x d_model, as the keys", "K", k, "V", v);
  const Index d_head = w.d_head();
  MultiHeadResult result;
  for (Index i = 0; i < w.heads; ++i) {
    auto head = scaled_dot_product_attention(q.middleCols(i * d_head, d_head),
                                             k.middleCols(i * d_head, d_head),
                                             v.middleCols(i * d_head, d_head), mask);
    result.weights.push_back(std::move(head.weights));
    result.heads.push_back(std::move(head.output));
  }
  result.concat = merge_heads(result.heads);
  result.output = result.concat * w.w_o;
  return result;
}

/// Multi-head attention of queries from `x_q` over keys and values from `x_kv`
/// (self-attention: pass the same X twice): projects, then attend_heads(),
/// \f$ O_i = \mathrm{softmax}\big((X_q W_q)_i (X_{kv} W_k)_i^\top / \sqrt{d_{head}} + M\big)
/// (X_{kv} W_v)_i,\quad \mathrm{MHA} = [O_1 \dots O_h] W_o \f$.
/// The mask, if given, is T_q x T_k and shared by all heads.
/// @throws ShapeError if X's columns are not d_model or the mask is not T_q x T_k;
///         ValueError unless h divides d_model.
inline MultiHeadResult multi_head_attention(const Matrix& x_q, const Matrix& x_kv,
                                            const MultiHeadWeights& w,
                                            const std::optional<Mask>& mask = std::nullopt) {
  check_multi_head_weights(w, "multi_head_attention");
  require_shapes(x_q.cols() == w.d_model() && x_kv.cols() == w.d_model(), "multi_head_attention",
                 "the inputs must have d_model columns", "X_q", x_q, "X_kv", x_kv);
  if (mask)
    require_shapes(mask->rows() == x_q.rows() && mask->cols() == x_kv.rows(),
                   "multi_head_attention", "the mask must be T_q x T_k (one row per query)", "mask",
                   *mask, "X_kv", x_kv);
  return attend_heads(x_q * w.w_q, x_kv * w.w_k, x_kv * w.w_v, w, mask);
}

/// Self-attention: multi_head_attention(x, x, w, mask).
inline MultiHeadResult multi_head_attention(const Matrix& x, const MultiHeadWeights& w,
                                            const std::optional<Mask>& mask = std::nullopt) {
  return multi_head_attention(x, x, w, mask);
}

/// Learned parameters of a multi-head attention layer: \f$ 4\,d_{model}^2 \f$ weights, plus
/// \f$ 4\,d_{model} \f$ biases when the projections have them (GPT-2's do). Independent of
/// the number of heads: heads split d_model, they do not add parameters.
inline Index multi_head_parameter_count(Index d_model, bool with_biases = false) {
  require(d_model > 0, "multi_head_parameter_count", "d_model must be positive");
  return 4 * d_model * d_model + (with_biases ? 4 * d_model : 0);
}

}  // namespace qkv
