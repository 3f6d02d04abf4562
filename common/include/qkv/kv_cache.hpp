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
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "qkv/error.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// Bytes a KV cache holds:
/// \f[ \text{bytes} = 2 \times \text{layers} \times \text{kv\_heads} \times d_{head} \times T
///     \times \text{bytes per number}, \f]
/// the 2 for keys and values. `kv_heads` is the number of key/value heads: h for
/// multi-head attention, fewer with grouped-query attention (GQA). Example: a 7B model
/// (32 layers, 32 heads, d_head 128) at 4096 tokens in fp16 holds
/// \f$ 2 \cdot 32 \cdot 32 \cdot 128 \cdot 4096 \cdot 2 = 2^{31} \f$ bytes, 2 GiB, per sequence.
/// @throws ValueError if an argument is negative or the product overflows 64 bits.
inline std::int64_t kv_cache_bytes(Index layers, Index kv_heads, Index d_head, Index tokens,
                                   Index bytes_per_number) {
  require(layers >= 0 && kv_heads >= 0 && d_head >= 0 && tokens >= 0 && bytes_per_number >= 0,
          "kv_cache_bytes", "sizes must not be negative");
  std::int64_t bytes = 2;
  for (Index factor : {layers, kv_heads, d_head, tokens, bytes_per_number}) {
    if (factor != 0 && bytes > std::numeric_limits<std::int64_t>::max() / factor)
      throw ValueError("kv_cache_bytes: the byte count overflows 64 bits");
    bytes *= factor;
  }
  return bytes;
}

/// Floating-point operations of one decode step WITH a cache, for one layer of
/// multi-head attention, when the new token attends to \f$ T_k \f$ keys (itself included):
/// \f$ 6\,d_{model}^2 \f$ (q, k, v of one token) \f$ + 4\,T_k\,d_{model} \f$ (scores and the
/// weighted sum of values, over all heads) \f$ + 2\,d_{model}^2 \f$ (W_o), so
/// \f$ 8\,d_{model}^2 + 4\,T_k\,d_{model} \f$. A multiply-add counts as 2; the softmax
/// and the scaling are left out (they are \f$ O(T_k\,h) \f$).
/// @throws ValueError unless d_model >= 1 and T_k >= 1.
inline std::int64_t cached_step_flops(Index d_model, Index t_k) {
  require(d_model >= 1 && t_k >= 1, "cached_step_flops", "d_model and T_k must be positive");
  return 8 * d_model * d_model + 4 * t_k * d_model;
}

/// Floating-point operations of one decode step WITHOUT a cache, when the new token
/// attends to \f$ T_k \f$ keys: the query of the new token (\f$ 2\,d_{model}^2 \f$), the keys
/// and values of all \f$ T_k \f$ tokens again (\f$ 4\,T_k\,d_{model}^2 \f$), attention
/// (\f$ 4\,T_k\,d_{model} \f$) and W_o (\f$ 2\,d_{model}^2 \f$):
/// \f$ 4\,d_{model}^2 + 4\,T_k\,d_{model}^2 + 4\,T_k\,d_{model} \f$. This is the least a
/// single layer must redo; a model of several layers also recomputes every query, because
/// layer 2's keys are made from all of layer 1's outputs.
/// @throws ValueError unless d_model >= 1 and T_k >= 1.
inline std::int64_t recompute_step_flops(Index d_model, Index t_k) {
  require(d_model >= 1 && t_k >= 1, "recompute_step_flops", "d_model and T_k must be positive");
  return 4 * d_model * d_model + 4 * t_k * d_model * d_model + 4 * t_k * d_model;
}

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
  KvCache(Index capacity, Index width) {
    require(capacity >= 1 && width >= 1, "KvCache", "capacity and width must be positive");
    keys_.resize(capacity, width);
    values_.resize(capacity, width);
  }

  Index capacity() const { return keys_.rows(); }  ///< Rows it can hold.
  Index width() const { return keys_.cols(); }     ///< Numbers per row.
  /// Tokens held: the position the next appended token will have.
  Index size() const { return size_; }
  bool full() const { return size_ == capacity(); }  ///< size() == capacity().

  /// Appends the keys and values of new tokens, one row each, after the ones held.
  /// @throws ShapeError unless k_rows and v_rows are both n x width().
  /// @throws ValueError if size() + n > capacity(); the cache is then left unchanged.
  void append(const Matrix& k_rows, const Matrix& v_rows) {
    require_shapes(
        k_rows.cols() == width() && v_rows.cols() == width() && k_rows.rows() == v_rows.rows(),
        "KvCache::append", "keys and values must be n x width, the same n", "keys", k_rows,
        "values", v_rows);
    if (k_rows.rows() > capacity() - size_) {
      throw ValueError("KvCache::append: " + std::to_string(k_rows.rows()) + " more tokens do " +
                       "not fit: the cache holds " + std::to_string(size_) + " of its capacity " +
                       std::to_string(capacity()) + " (reset() it, make it larger, or use " +
                       "WindowKvCache to keep only the last tokens)");
    }
    keys_.middleRows(size_, k_rows.rows()) = k_rows;
    values_.middleRows(size_, v_rows.rows()) = v_rows;
    size_ += k_rows.rows();
  }

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
  WindowKvCache(Index window, Index width) {
    require(window >= 1 && width >= 1, "WindowKvCache", "window and width must be positive");
    keys_.resize(window, width);
    values_.resize(window, width);
  }

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
  void append(const Matrix& k_rows, const Matrix& v_rows) {
    require_shapes(
        k_rows.cols() == width() && v_rows.cols() == width() && k_rows.rows() == v_rows.rows(),
        "WindowKvCache::append", "keys and values must be n x width, the same n", "keys", k_rows,
        "values", v_rows);
    for (Index r = 0; r < k_rows.rows(); ++r, ++seen_) {
      keys_.row(slot(seen_)) = k_rows.row(r);
      values_.row(slot(seen_)) = v_rows.row(r);
    }
  }

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
  Matrix in_order(const Matrix& ring) const {
    if (seen_ <= window()) return ring.topRows(seen_);
    const Index oldest = slot(seen_);  // the slot the next token would overwrite
    Matrix out(window(), width());
    out.topRows(window() - oldest) = ring.bottomRows(window() - oldest);
    out.bottomRows(oldest) = ring.topRows(oldest);
    return out;
  }

  Matrix keys_;
  Matrix values_;
  Index seen_ = 0;
};

namespace detail {

inline void check_decode_inputs(const Matrix& x_new, const MultiHeadWeights& w, Index cache_width,
                                std::string_view function) {
  check_multi_head_weights(w, function);
  require_shapes(x_new.cols() == w.d_model(), function, "the new rows must have d_model columns",
                 "X_new", x_new, "W_q", w.w_q);
  require(x_new.rows() >= 1, function, "there must be at least one new token");
  if (cache_width != w.d_model()) {
    throw ShapeError(std::string(function) + ": the cache's width " + std::to_string(cache_width) +
                     " is not d_model = " + std::to_string(w.d_model()));
  }
}

}  // namespace detail

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
inline Matrix decode_step(const Matrix& x_new, const MultiHeadWeights& w, KvCache& cache) {
  detail::check_decode_inputs(x_new, w, cache.width(), "decode_step");
  const Matrix q = x_new * w.w_q;
  cache.append(x_new * w.w_k, x_new * w.w_v);
  const Index t_new = x_new.rows();
  std::optional<Mask> mask;
  if (t_new > 1) mask = causal_mask(t_new, cache.size());
  return attend_heads(q, cache.keys(), cache.values(), w, mask).output;
}

/// One step of decoding with a fixed-window cache: like decode_step(const Matrix&, const
/// MultiHeadWeights&, KvCache&), but each new token at position p attends only to positions
/// \f$ p - w + 1 .. p \f$, as window_mask(T, w) says. A single new token appends first and
/// attends to the ring as it is stored. A chunk of several tokens attends first (to the
/// tokens held, oldest first, and to the chunk, under the window mask), then appends: the
/// chunk's own later tokens may push out keys its earlier tokens still need.
/// @throws ShapeError if x_new or the cache's width is not d_model.
/// @throws ValueError if x_new has no rows.
inline Matrix decode_step(const Matrix& x_new, const MultiHeadWeights& w, WindowKvCache& cache) {
  detail::check_decode_inputs(x_new, w, cache.width(), "decode_step");
  const Matrix q = x_new * w.w_q;
  const Matrix k = x_new * w.w_k;
  const Matrix v = x_new * w.w_v;
  const Index t_new = x_new.rows();
  if (t_new == 1) {
    cache.append(k, v);
    return attend_heads(q, cache.stored_keys(), cache.stored_values(), w).output;
  }
  const Index held = cache.size();
  Matrix keys(held + t_new, w.d_model()), values(held + t_new, w.d_model());
  keys.topRows(held) = cache.keys();
  keys.bottomRows(t_new) = k;
  values.topRows(held) = cache.values();
  values.bottomRows(t_new) = v;
  // Keys are consecutive positions and the queries the last t_new of them, so the window
  // relation is chapter 04's window mask, bottom rows.
  const Mask mask = window_mask(held + t_new, cache.window()).bottomRows(t_new);
  Matrix out = attend_heads(q, keys, values, w, mask).output;
  cache.append(k, v);
  return out;
}

/// One step of decoding WITHOUT a cache, for comparison: the output row of the last token
/// of `x_prefix` (T x d_model), recomputing the keys and values of all T tokens:
/// multi_head_attention(x_prefix.bottomRows(1), x_prefix, w). The last token may see every
/// token, so no mask is needed. Work grows with T (see recompute_step_flops()).
/// @throws ShapeError if x_prefix does not have d_model columns; ValueError if it is empty.
inline Matrix recompute_step(const Matrix& x_prefix, const MultiHeadWeights& w) {
  require(x_prefix.rows() >= 1, "recompute_step", "the prefix must hold at least one token");
  require_shapes(x_prefix.cols() == w.w_q.rows(), "recompute_step",
                 "the prefix must have d_model columns", "X", x_prefix, "W_q", w.w_q);
  return multi_head_attention(Matrix(x_prefix.bottomRows(1)), x_prefix, w).output;
}

}  // namespace qkv
