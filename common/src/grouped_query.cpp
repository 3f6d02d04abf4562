/// @file
/// The out-of-line bodies of qkv/grouped_query.hpp (chapter 08; the formulas are documented
/// there), except grouped_decode_attention(), which is common/src/grouped_decode.cpp's.

#include "qkv/grouped_query.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "qkv/attention.hpp"
#include "qkv/error.hpp"
#include "qkv/kv_cache.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/rope.hpp"
#include "qkv/types.hpp"

namespace qkv {

void require_kv_heads_divide(Index heads, Index kv_heads, std::string_view function) {
  if (heads < 1 || kv_heads < 1 || heads % kv_heads != 0) {
    throw ValueError(std::string(function) + ": kv_heads = " + std::to_string(kv_heads) +
                     " must be positive and divide heads = " + std::to_string(heads) +
                     " (each key/value head serves the same number of query heads)");
  }
}

Index kv_head_of(Index query_head, Index heads, Index kv_heads) {
  require_kv_heads_divide(heads, kv_heads, "kv_head_of");
  require(query_head >= 0 && query_head < heads, "kv_head_of",
          "the query head must be 0 .. heads - 1");
  return query_head / (heads / kv_heads);
}

void check_grouped_weights(const GroupedWeights& w, std::string_view function) {
  require_kv_heads_divide(w.heads, w.kv_heads, function);
  require_heads_divide(w.w_q.cols(), w.heads, function);
  const Index d_head = w.d_head(), kv_width = w.kv_heads * d_head;
  require_shapes(w.w_k.rows() == w.d_model() && w.w_k.cols() == kv_width, function,
                 "W_k must be d_model x (kv_heads d_head)", "W_q", w.w_q, "W_k", w.w_k);
  require_shapes(w.w_v.rows() == w.w_k.rows() && w.w_v.cols() == w.w_k.cols(), function,
                 "W_v must have W_k's shape", "W_k", w.w_k, "W_v", w.w_v);
  require_shapes(w.w_o.rows() == w.w_q.cols() && w.w_o.cols() == w.d_model(), function,
                 "W_o must be (h d_head) x d_model", "W_q", w.w_q, "W_o", w.w_o);
}

GroupedWeights random_grouped_weights(Random& random, Index d_model, Index heads, Index kv_heads,
                                      Index d_head) {
  require_kv_heads_divide(heads, kv_heads, "random_grouped_weights");
  require(d_model >= 1 && d_head >= 1, "random_grouped_weights",
          "d_model and d_head must be positive");
  GroupedWeights w;
  w.w_q = init_linear_weight(random, d_model, heads * d_head);
  w.w_k = init_linear_weight(random, d_model, kv_heads * d_head);
  w.w_v = init_linear_weight(random, d_model, kv_heads * d_head);
  w.w_o = init_linear_weight(random, heads * d_head, d_model);
  w.heads = heads;
  w.kv_heads = kv_heads;
  return w;
}

GroupedWeights mean_pool_kv_heads(const MultiHeadWeights& w, Index kv_heads) {
  check_multi_head_weights(w, "mean_pool_kv_heads");
  require_kv_heads_divide(w.heads, kv_heads, "mean_pool_kv_heads");
  const Index d_head = w.d_head(), group = w.heads / kv_heads;
  if (group == 1) return {w.w_q, w.w_k, w.w_v, w.w_o, w.heads, kv_heads};
  GroupedWeights g{w.w_q,
                   Matrix::Zero(w.d_model(), kv_heads * d_head),
                   Matrix::Zero(w.d_model(), kv_heads * d_head),
                   w.w_o,
                   w.heads,
                   kv_heads};
  for (Index i = 0; i < w.heads; ++i) {
    const Index kv = i / group;
    g.w_k.middleCols(kv * d_head, d_head) += w.w_k.middleCols(i * d_head, d_head);
    g.w_v.middleCols(kv * d_head, d_head) += w.w_v.middleCols(i * d_head, d_head);
  }
  const float scale = 1.0f / static_cast<float>(group);
  g.w_k *= scale;
  g.w_v *= scale;
  return g;
}

GroupedResult grouped_attend_heads(const Eigen::Ref<const Matrix>& q,
                                   const Eigen::Ref<const Matrix>& k,
                                   const Eigen::Ref<const Matrix>& v, const GroupedWeights& w,
                                   const std::optional<Mask>& mask) {
  check_grouped_weights(w, "grouped_attend_heads");
  const Index d_head = w.d_head();
  require_shapes(q.cols() == w.heads * d_head && k.cols() == w.kv_heads * d_head,
                 "grouped_attend_heads", "Q must be h d_head wide and K kv_heads d_head wide", "Q",
                 q, "K", k);
  require_shapes(v.cols() == k.cols() && v.rows() == k.rows(), "grouped_attend_heads",
                 "the values must have the keys' shape", "K", k, "V", v);
  return attend_head_groups(q, k, v, w.heads, w.kv_heads, w.w_o, mask);
}

namespace {

void require_even_d_head(Index d_head, std::string_view function) {
  if (d_head < 2 || d_head % 2 != 0) {
    throw ValueError(std::string(function) + ": d_head = " + std::to_string(d_head) +
                     " must be even for RoPE (it rotates pairs of coordinates)");
  }
}

}  // namespace

GroupedResult grouped_query_attention(const Matrix& x, const GroupedWeights& w,
                                      const std::optional<Mask>& mask,
                                      const std::optional<RopeConfig>& rope) {
  check_grouped_weights(w, "grouped_query_attention");
  require_shapes(x.cols() == w.d_model(), "grouped_query_attention", "X must have d_model columns",
                 "X", x, "W_q", w.w_q);
  if (mask)
    require_shapes(mask->rows() == x.rows() && mask->cols() == x.rows(), "grouped_query_attention",
                   "the mask must be T x T", "mask", *mask, "X", x);
  if (!rope) return grouped_attend_heads(x * w.w_q, x * w.w_k, x * w.w_v, w, mask);
  require_even_d_head(w.d_head(), "grouped_query_attention");
  const VectorD positions = rope_positions(x.rows());
  return grouped_attend_heads(apply_rope(x * w.w_q, positions, w.heads, *rope),
                              apply_rope(x * w.w_k, positions, w.kv_heads, *rope), x * w.w_v, w,
                              mask);
}

Matrix grouped_decode_step(const Matrix& x_new, const GroupedWeights& w, KvCache& cache,
                           const std::optional<RopeConfig>& rope, int threads) {
  check_grouped_weights(w, "grouped_decode_step");
  require_shapes(x_new.cols() == w.d_model(), "grouped_decode_step",
                 "the new rows must have d_model columns", "X_new", x_new, "W_q", w.w_q);
  require(x_new.rows() >= 1, "grouped_decode_step", "there must be at least one new token");
  if (cache.width() != w.kv_heads * w.d_head()) {
    throw ShapeError("grouped_decode_step: the cache's width " + std::to_string(cache.width()) +
                     " is not kv_heads d_head = " + std::to_string(w.kv_heads * w.d_head()));
  }
  Matrix q = x_new * w.w_q, k = x_new * w.w_k;
  if (rope) {
    require_even_d_head(w.d_head(), "grouped_decode_step");
    // The new rows follow the cache: positions size() .. size() + T_new - 1. The key is
    // rotated once, here, and stays rotated in the cache (chapter 07).
    const VectorD positions = rope_positions(x_new.rows(), static_cast<double>(cache.size()));
    q = apply_rope(q, positions, w.heads, *rope);
    k = apply_rope(k, positions, w.kv_heads, *rope);
  }
  cache.append(k, x_new * w.w_v);
  return grouped_decode_attention(q, cache.keys(), cache.values(), w.heads, w.kv_heads, threads) *
         w.w_o;
}

std::int64_t decode_attention_flops(Index context, Index heads, Index d_head) {
  require(context >= 0 && heads >= 0 && d_head >= 0, "decode_attention_flops",
          "sizes must not be negative");
  return std::int64_t{4} * context * heads * d_head;
}

std::int64_t decode_cache_bytes(Index context, Index kv_heads, Index d_head,
                                Index bytes_per_number) {
  // The same count as one layer's cache of `context` tokens (chapter 06), read once.
  return kv_cache_bytes(1, kv_heads, d_head, context, bytes_per_number);
}

Matrix windowed_stack(const Matrix& x, const GroupedWeights& w, Index layers, Index window) {
  require(layers >= 0, "windowed_stack", "the number of layers must not be negative");
  require(window >= 1, "windowed_stack", "the window must hold at least one token");
  check_grouped_weights(w, "windowed_stack");
  require_shapes(x.cols() == w.d_model(), "windowed_stack", "X must have d_model columns", "X", x,
                 "W_q", w.w_q);
  const Mask mask = window_mask(x.rows(), window);
  Matrix h = x;
  for (Index l = 0; l < layers; ++l) h += grouped_query_attention(h, w, mask).output;
  return h;
}

}  // namespace qkv
