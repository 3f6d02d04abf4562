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
#include "qkv/parameter_count.hpp"  // multi_head_parameter_count()
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
void require_heads_divide(Index d_model, Index heads, std::string_view function);

/// Draws W_q, W_k, W_v, W_o in that order, each like nn.Linear:
/// \f$ W \sim U(-1/\sqrt{d_{model}},\ 1/\sqrt{d_{model}}) \f$.
/// @throws ValueError unless heads divides d_model.
MultiHeadWeights random_multi_head_weights(Random& random, Index d_model, Index heads);

/// Throws ShapeError unless all four weights are square and of the same size, and
/// ValueError unless `heads` divides that size.
void check_multi_head_weights(const MultiHeadWeights& w, std::string_view function);

/// Head i's own slice of the projections, as the single-head weights of chapter 02:
/// columns \f$ i\,d_{head} .. (i+1)\,d_{head}-1 \f$ of W_q, W_k and W_v (each d_model x d_head).
/// Single-head attention with these weights is exactly head i of multi_head_attention().
/// @throws ShapeError / ValueError as check_multi_head_weights(); ValueError unless
///         0 <= head < h.
QkvWeights head_weights(const MultiHeadWeights& w, Index head);

/// Splits the columns of a T x d_model matrix into h matrices of T x d_head:
/// head i is columns \f$ i\,d_{head} .. (i+1)\,d_{head}-1 \f$.
/// @throws ValueError unless heads divides the column count.
std::vector<Matrix> split_heads(const Matrix& x, Index heads);

/// The inverse of split_heads(): concatenates h matrices of T x d_head side by side into
/// T x (h d_head).
/// @throws ShapeError unless all heads have the same shape; ValueError if there are none.
Matrix merge_heads(const std::vector<Matrix>& heads);

/// Every intermediate of one multi-head attention call.
struct MultiHeadResult {
  std::vector<Matrix> weights;  ///< h matrices of T_q x T_k: each head's attention weights
  std::vector<Matrix> heads;    ///< h matrices of T_q x d_head: each head's output
  Matrix concat;                ///< T_q x (h d_head), d_model here: the heads side by side
  Matrix output;                ///< T_q x d_model: concat W_o
};

/// The loop over heads that every multi-head layer runs, chapter 05's and chapter 08's:
/// query head i of h runs chapter 03's scaled_dot_product_attention() on its columns of Q and
/// on key/value head \f$ \lfloor i / g \rfloor \f$ of K and V, \f$ g = h / \text{kv\_heads} \f$,
/// then W_o mixes the heads:
/// \f$ O_i = \mathrm{softmax}(Q_i K_{\lfloor i/g \rfloor}^\top / \sqrt{d_{head}} + M)\,
/// V_{\lfloor i/g \rfloor},\quad \mathrm{out} = [O_1 \dots O_h]\, W_o \f$.
/// Q is T_q x (h d_head), K and V are T_k x (kv_heads d_head), W_o is (h d_head) x d_model.
/// attend_heads() is kv_heads = h (every head its own keys); grouped_attend_heads() shares.
/// @throws ShapeError if Q, K, V and W_o do not fit h and kv_heads (the mask: as
///         scaled_dot_product_attention()); ValueError unless kv_heads divides h and h
///         divides W_o's rows.
MultiHeadResult attend_head_groups(const Eigen::Ref<const Matrix>& q,
                                   const Eigen::Ref<const Matrix>& k,
                                   const Eigen::Ref<const Matrix>& v, Index heads, Index kv_heads,
                                   const Matrix& w_o,
                                   const std::optional<Mask>& mask = std::nullopt);

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
MultiHeadResult attend_heads(const Eigen::Ref<const Matrix>& q, const Eigen::Ref<const Matrix>& k,
                             const Eigen::Ref<const Matrix>& v, const MultiHeadWeights& w,
                             const std::optional<Mask>& mask = std::nullopt);

/// Multi-head attention of queries from `x_q` over keys and values from `x_kv`
/// (self-attention: pass the same X twice): projects, then attend_heads(),
/// \f$ O_i = \mathrm{softmax}\big((X_q W_q)_i (X_{kv} W_k)_i^\top / \sqrt{d_{head}} + M\big)
/// (X_{kv} W_v)_i,\quad \mathrm{MHA} = [O_1 \dots O_h] W_o \f$.
/// The mask, if given, is T_q x T_k and shared by all heads.
/// @throws ShapeError if X's columns are not d_model or the mask is not T_q x T_k;
///         ValueError unless h divides d_model.
MultiHeadResult multi_head_attention(const Matrix& x_q, const Matrix& x_kv,
                                     const MultiHeadWeights& w,
                                     const std::optional<Mask>& mask = std::nullopt);

/// Self-attention: multi_head_attention(x, x, w, mask).
MultiHeadResult multi_head_attention(const Matrix& x, const MultiHeadWeights& w,
                                     const std::optional<Mask>& mask = std::nullopt);

}  // namespace qkv
