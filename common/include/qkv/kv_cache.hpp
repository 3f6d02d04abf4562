#pragma once
/// @file
/// Chapter 06, KV caching: generating one token at a time without recomputing the past.
///
/// A decoder generates token t from tokens 0..t. Without a cache, every step projects the
/// whole prefix again: \f$ K = X_{0..t} W_k,\ V = X_{0..t} W_v \f$, work that grows with t.
/// But the keys and values of tokens 0..t-1 do not change when token t arrives (a causal
/// mask means no earlier token ever looks at a later one). So keep them: a KV cache holds
/// \f$ k_j = x_j W_k \f$ and \f$ v_j = x_j W_v \f$ of every token seen, and each step
/// computes \f$ q_t, k_t, v_t \f$ of the new token only, appends \f$ k_t, v_t \f$ and
/// attends one query to all cached keys:
/// \f[ o_t = \mathrm{softmax}\!\left(\frac{q_t K_{0..t}^\top}{\sqrt{d_{head}}}\right) V_{0..t}
/// \quad \text{(per head, then } [o^1 \dots o^h]\, W_o \text{)}, \f]
/// chapter 05's attend_heads() on the cache's rows: the same layer, cached.
/// The price is memory: the cache grows by one key and one value per layer and token.

#include <algorithm>

#include "qkv/cache_size.hpp"  // kv_cache_bytes() and the FLOP counts
#include "qkv/error.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// The keys and values of every token seen so far, for one attention layer. Row j of
/// keys() is token j's key \f$ k_j = x_j W_k \f$ with the heads side by side (head i in
/// columns \f$ i\,d_{head} .. (i+1)\,d_{head}-1 \f$, as split_heads() cuts them), row j of
/// values() its value. Room for `capacity` tokens is allocated once, up front, so appending
/// never reallocates or moves rows; a full cache refuses more (ValueError) rather than
/// growing behind your back.
class KvCache {
 public:
  /// An empty cache with room for `capacity` rows of `width` numbers
  /// (width = kv_heads x d_head; d_model for multi-head attention).
  /// @throws ValueError unless capacity >= 1 and width >= 1.
  KvCache(Index capacity, Index width);

  Index capacity() const { return keys_.rows(); }  ///< Rows it can hold.
  Index width() const { return keys_.cols(); }     ///< Numbers per row.
  /// Tokens held: the position the next appended token will have.
  Index size() const { return size_; }
  bool full() const { return size_ == capacity(); }  ///< size() == capacity().

  /// Appends the keys and values of new tokens, one row each, after the ones held.
  /// @throws ShapeError unless k_rows and v_rows are both n x width().
  /// @throws ValueError if size() + n > capacity(); the cache is then left unchanged.
  void append(const Matrix& k_rows, const Matrix& v_rows);

  /// The keys held, size() x width(): a view into the cache (no copy), valid until the
  /// next append() or reset().
  auto keys() const { return keys_.topRows(size_); }
  /// The values held, size() x width() (a view, like keys()).
  auto values() const { return values_.topRows(size_); }

  /// Forgets every token (keeps the memory): the next sequence starts at position 0.
  void reset() { size_ = 0; }

 private:
  Matrix keys_;
  Matrix values_;
  Index size_ = 0;
};

/// A fixed-window cache: the keys and values of the last `window` tokens only, in a ring
/// buffer of `window` rows. The token at position p lives in row (slot) \f$ p \bmod w \f$:
/// appending token p overwrites token p - w, which a window of w tokens no longer shows.
/// Memory stays \f$ w \times \text{width} \f$ however long the generation runs. Decoding
/// with it equals attention under window_mask(T, w) (chapter 04).
class WindowKvCache {
 public:
  /// @throws ValueError unless window >= 1 and width >= 1.
  WindowKvCache(Index window, Index width);

  Index window() const { return keys_.rows(); }  ///< w: the most recent tokens it keeps.
  Index width() const { return keys_.cols(); }   ///< Numbers per row.
  /// Tokens appended since the last reset(): the position the next token will have.
  Index seen() const { return seen_; }
  /// Tokens held: \f$ \min(\text{seen}, w) \f$.
  Index size() const { return std::min(seen_, window()); }
  /// The row that holds (or will hold) the token at `position`: \f$ p \bmod w \f$.
  Index slot(Index position) const {
    require(position >= 0, "WindowKvCache::slot", "positions start at 0");
    return position % window();
  }

  /// Appends the keys and values of new tokens (n rows each, n may exceed the window:
  /// then only the last w stay). Never fails for lack of room.
  /// @throws ShapeError unless k_rows and v_rows are both n x width().
  void append(const Matrix& k_rows, const Matrix& v_rows);

  /// The rows held, in slot order, size() x width() (a view, no copy). Once the ring has
  /// wrapped this is not the order of positions, which does not matter to one query:
  /// attention is a weighted sum over keys, unchanged when keys and values are permuted
  /// together.
  auto stored_keys() const { return keys_.topRows(size()); }
  /// The values held, in slot order (see stored_keys()).
  auto stored_values() const { return values_.topRows(size()); }

  /// The keys held, oldest first (a copy): positions seen() - size() .. seen() - 1.
  Matrix keys() const { return in_order(keys_); }
  /// The values held, oldest first (a copy).
  Matrix values() const { return in_order(values_); }

  /// Forgets every token: the next one gets position 0 and slot 0 again. Forgetting to
  /// reset the position is the classic cache bug: the next sequence would start mid-ring.
  void reset() { seen_ = 0; }

 private:
  Matrix in_order(const Matrix& ring) const;

  Matrix keys_;
  Matrix values_;
  Index seen_ = 0;
};

/// One step of cached decoding: the new tokens' rows `x_new` (T_new x d_model; one row
/// when generating, the whole prompt when prefilling) are projected,
/// \f$ q = x W_q,\ k = x W_k,\ v = x W_v \f$ (the new rows only), k and v are appended to
/// the cache, and the queries attend to every cached key. Within a chunk of several new
/// tokens, query i sees the cache and new tokens 0..i (causal_mask(T_new, T_k)). Returns
/// the T_new x d_model output rows: the same rows multi_head_attention() with a causal
/// mask gives over the whole sequence.
/// @throws ShapeError if x_new or the cache's width is not d_model.
/// @throws ValueError if x_new has no rows or the new rows do not fit in the cache (which is
///         then left unchanged).
Matrix decode_step(const Matrix& x_new, const MultiHeadWeights& w, KvCache& cache);

/// One step of decoding with a fixed-window cache: like decode_step(const Matrix&, const
/// MultiHeadWeights&, KvCache&), but each new token at position p attends only to positions
/// \f$ p - w + 1 .. p \f$, as window_mask(T, w) says. A single new token appends first and
/// attends to the ring as it is stored. A chunk of several tokens attends first (to the
/// tokens held, oldest first, and to the chunk, under the window mask), then appends: the
/// chunk's own later tokens may push out keys its earlier tokens still need.
/// @throws ShapeError if x_new or the cache's width is not d_model.
/// @throws ValueError if x_new has no rows.
Matrix decode_step(const Matrix& x_new, const MultiHeadWeights& w, WindowKvCache& cache);

/// One step of decoding WITHOUT a cache, for comparison: the output row of the last token
/// of `x_prefix` (T x d_model), recomputing the keys and values of all T tokens:
/// multi_head_attention(x_prefix.bottomRows(1), x_prefix, w). The last token may see every
/// token, so no mask is needed. Work grows with T (see recompute_step_flops()).
/// @throws ShapeError if x_prefix does not have d_model columns; ValueError if it is empty.
Matrix recompute_step(const Matrix& x_prefix, const MultiHeadWeights& w);

/// Generation WITHOUT a cache, all T rows of `x` (T x d_model): the first `prompt` rows in
/// one multi_head_attention() under the causal mask (window_mask(P, window) when
/// window >= 1), then every later token t by recompute_step() over the tokens it may see,
/// 0..t or the last `window` of them. The rows a cached generation must reproduce, computed
/// the slow way (chapter 06 times the two).
/// @throws ShapeError if x does not have d_model columns; ValueError unless
///         1 <= prompt <= T and window >= 0.
Matrix generate_without_cache(const Matrix& x, const MultiHeadWeights& w, Index prompt,
                              Index window = 0);

}  // namespace qkv
