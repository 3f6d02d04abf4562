#pragma once
/// @file
/// Chapter 08, grouped-query attention: h query heads share kv_heads < h key/value heads.
///
/// Multi-head attention (chapter 05) gives every query head its own keys and values, and
/// the KV cache (chapter 06) stores all of them. Grouped-query attention (GQA, Ainslie et
/// al., 2023) keeps h query heads but only kv_heads key/value heads: the query heads come in
/// kv_heads groups of \f$ g = h / \text{kv\_heads} \f$ consecutive heads, and
/// query head i reads key/value head \f$ \lfloor i / g \rfloor \f$:
/// \f[ O_i = \mathrm{softmax}\!\big(Q_i K_{\lfloor i/g \rfloor}^\top / \sqrt{d_{head}} + M\big)
///     V_{\lfloor i/g \rfloor},\qquad \mathrm{GQA}(X) = [O_1 \dots O_h]\, W_o. \f]
/// Multi-query attention (MQA, Shazeer, 2019) is kv_heads = 1; kv_heads = h is chapter 05's
/// multi-head attention. Shapes: W_q is d_model x (h d_head), W_k and W_v are
/// d_model x (kv_heads d_head), W_o is (h d_head) x d_model; the cache is kv_heads d_head wide,
/// h / kv_heads times narrower than multi-head attention's.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "qkv/error.hpp"
#include "qkv/kv_cache.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"
#include "qkv/rope.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// The four projections of a grouped-query attention layer (no biases).
struct GroupedWeights {
  Matrix w_q;          ///< d_model x (h d_head); columns i d_head .. (i+1) d_head - 1: query head i
  Matrix w_k;          ///< d_model x (kv_heads d_head); columns g d_head ..: key/value head g
  Matrix w_v;          ///< d_model x (kv_heads d_head)
  Matrix w_o;          ///< (h d_head) x d_model: mixes the concatenated query heads
  Index heads = 1;     ///< h, the number of query heads
  Index kv_heads = 1;  ///< the number of key/value heads; divides h

  /// d_model, the width of the tokens (rows of W_q).
  Index d_model() const { return w_q.rows(); }
  /// d_head, the width of one head (W_q's columns / h).
  Index d_head() const { return heads > 0 ? w_q.cols() / heads : 0; }
  /// g = h / kv_heads, the query heads that share one key/value head.
  Index group_size() const { return kv_heads > 0 ? heads / kv_heads : 0; }
};

/// The key/value head that query head i reads: \f$ \lfloor i / (h / \text{kv\_heads}) \rfloor \f$
/// (consecutive query heads share, as in Llama and Mistral; not i mod kv_heads).
/// @throws ValueError unless 0 < kv_heads, kv_heads divides heads and 0 <= i < heads.
Index kv_head_of(Index query_head, Index heads, Index kv_heads);

/// Throws ValueError unless heads >= 1, kv_heads >= 1 and kv_heads divides heads; the
/// message names both numbers.
void require_kv_heads_divide(Index heads, Index kv_heads, std::string_view function);

/// Throws ShapeError unless the four weights fit together (W_q d_model x (h d_head), W_k and
/// W_v d_model x (kv_heads d_head), W_o (h d_head) x d_model), and ValueError unless kv_heads
/// divides h and h divides W_q's columns.
void check_grouped_weights(const GroupedWeights& w, std::string_view function);

/// Draws W_q, W_k, W_v, W_o in that order, each like nn.Linear:
/// \f$ W \sim U(-1/\sqrt{\text{fan\_in}},\ 1/\sqrt{\text{fan\_in}}) \f$, with d_head given.
/// @throws ValueError unless all sizes are positive and kv_heads divides heads.
GroupedWeights random_grouped_weights(Random& random, Index d_model, Index heads, Index kv_heads,
                                      Index d_head);

/// The "uptraining" starting point of Ainslie et al. (2023): a multi-head layer made grouped
/// by mean-pooling the key and value projections of each group,
/// \f$ W_k^{(g)} = \frac{1}{|G_g|} \sum_{i \in G_g} W_k^{(i)} \f$ (the same for W_v), where
/// \f$ G_g \f$ are the query heads i with \f$ \lfloor i / (h/\text{kv\_heads}) \rfloor = g \f$;
/// W_q and W_o are kept. With kv_heads = h it returns the same matrices.
/// @throws ShapeError / ValueError as check_multi_head_weights(), and ValueError unless
///         kv_heads divides h.
GroupedWeights mean_pool_kv_heads(const MultiHeadWeights& w, Index kv_heads);

/// Every intermediate of one grouped-query attention call: the same as multi-head
/// attention's (h weight matrices, h head outputs, concat, output), since both run
/// attend_head_groups().
using GroupedResult = MultiHeadResult;

/// Grouped-query attention on queries, keys and values already projected (q: T_q x h d_head,
/// k and v: T_k x kv_heads d_head, heads side by side): chapter 05's loop over heads,
/// attend_head_groups(), with kv_heads < h, so query head i runs scaled_dot_product_attention()
/// (the one core) on its columns of Q and on key/value head kv_head_of(i) of K and V; then
/// \f$ [O_1 \dots O_h] W_o \f$. The mask, if given, is T_q x T_k and shared by all heads.
/// With kv_heads = h this is attend_heads() call for call, so the results are bit-identical.
/// @throws ShapeError if Q, K, V or the mask do not fit the weights; ValueError as
///         check_grouped_weights().
GroupedResult grouped_attend_heads(const Eigen::Ref<const Matrix>& q,
                                   const Eigen::Ref<const Matrix>& k,
                                   const Eigen::Ref<const Matrix>& v, const GroupedWeights& w,
                                   const std::optional<Mask>& mask = std::nullopt);

/// Grouped-query self-attention over X (T x d_model): \f$ Q = X W_q,\ K = X W_k,\ V = X W_v \f$,
/// then grouped_attend_heads(). With `rope`, Q and K are rotated at positions 0 .. T-1 first
/// (chapter 07's apply_rope(), h heads for Q and kv_heads heads for K).
/// @throws ShapeError if X's columns are not d_model or the mask is not T x T; ValueError as
///         check_grouped_weights() (and unless d_head is even, with rope).
GroupedResult grouped_query_attention(const Matrix& x, const GroupedWeights& w,
                                      const std::optional<Mask>& mask = std::nullopt,
                                      const std::optional<RopeConfig>& rope = std::nullopt);

/// Attention of T_new new queries (the LAST T_new of N positions) over N cached keys and values,
/// grouped: query head i reads key/value head i / (heads / kv_heads); causal among the new rows
/// (new row r sees keys 0 .. N - T_new + r). q: T_new x (heads d_head); keys, values:
/// N x (kv_heads d_head), heads side by side (head g in columns g d_head .. (g+1) d_head - 1);
/// returns T_new x (heads d_head), the heads side by side, BEFORE W_o.
/// A group's query heads (all their rows) are ONE (group_size T_new) x d_head matrix against
/// the group's keys: K and V are read once per group, not once per query head.
/// threads >= 1: the work is split over std::threads (groups, and when there are fewer groups
/// than threads, chunks of keys whose softmax states are merged: split-KV, "flash decoding").
/// Per query head: \f$ o_{i,r} = \mathrm{softmax}(q_{i,r} K_g^\top / \sqrt{d_{head}}
/// + M_r) V_g \f$ with \f$ g = \lfloor i / (h/\text{kv\_heads}) \rfloor \f$ and
/// \f$ M_r \f$ hiding keys after N - T_new + r: grouped_attend_heads()'s concat under
/// causal_mask(T_new, N), to float rounding (relative 1e-5; bit-identical for every thread
/// count that splits over groups only).
/// Defined in common/src/grouped_decode.cpp (benchmarks/decode_bandwidth times it).
/// @throws ShapeError (naming both shapes) / ValueError (heads % kv_heads != 0, threads < 1,
///         T_new > N, N = 0 ...).
Matrix grouped_decode_attention(Eigen::Ref<const Matrix> q, Eigen::Ref<const Matrix> keys,
                                Eigen::Ref<const Matrix> values, Index heads, Index kv_heads,
                                int threads = 1);

/// One step of cached grouped decoding: the new rows x_new (T_new x d_model) are projected,
/// \f$ q = x W_q,\ k = x W_k,\ v = x W_v \f$ (with `rope`: q and k rotated at positions
/// cache.size() .. cache.size() + T_new - 1, so the cache holds rotated keys), k and v are
/// appended to the cache (kv_heads d_head wide), and the queries attend through
/// grouped_decode_attention() (one read of each group's keys), then W_o. Returns the rows
/// grouped_query_attention() under causal_mask(T) gives for the same positions, to float
/// rounding.
/// @throws ShapeError if x_new is not d_model wide or the cache not kv_heads d_head wide;
///         ValueError if x_new is empty or does not fit (the cache is then left unchanged).
Matrix grouped_decode_step(const Matrix& x_new, const GroupedWeights& w, KvCache& cache,
                           const std::optional<RopeConfig>& rope = std::nullopt, int threads = 1);

/// FLOPs of the attention part of one decode step of one layer at context N (one new
/// token): \f$ 4\,N\,h\,d_{head} \f$ (scores and weighted values, a multiply-add counted as
/// 2; softmax and projections left out). Independent of kv_heads: every query head still
/// scores every key.
/// @throws ValueError if an argument is negative.
std::int64_t decode_attention_flops(Index context, Index heads, Index d_head);

/// Bytes of cache one decode step of one layer reads at context N:
/// \f$ 2\,N\,\text{kv\_heads}\,d_{head} \times \text{bytes per number} \f$ (keys and values,
/// each read once when a group's query heads share the read).
/// @throws ValueError if an argument is negative or the count overflows 64 bits.
std::int64_t decode_cache_bytes(Index context, Index kv_heads, Index d_head,
                                Index bytes_per_number);

/// The output of a stack of `layers` windowed self-attention layers, each a residual block
/// \f$ X \leftarrow X + \mathrm{GQA}(X) \f$ under window_mask(T, window) with the same
/// weights: a change to token j reaches rows j .. j + layers (window - 1) and no further.
/// @throws as grouped_query_attention(); ValueError unless layers >= 0 and window >= 1.
Matrix windowed_stack(const Matrix& x, const GroupedWeights& w, Index layers, Index window);

}  // namespace qkv
