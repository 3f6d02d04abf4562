#pragma once
/// @file
/// Chapter 06, KV caching: what a cache costs in bytes, and what it saves in FLOPs.
///
/// Counts only, no matrices: kv_cache.hpp includes this header, and code that only counts
/// (exercise max_context) includes it alone, which compiles in a fraction of the time.

#include <cstdint>
#include <limits>

#include "qkv/error.hpp"
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

}  // namespace qkv
