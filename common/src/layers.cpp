/// @file
/// The out-of-line bodies of the layers that qkv/embedding.hpp, qkv/projection.hpp,
/// qkv/multi_head.hpp and qkv/kv_cache.hpp declare (their formulas are documented there).
/// They live here, compiled once, because g++ instantiates every Eigen template an inline
/// body uses in each file that includes its header, called or not: an exercise that
/// includes kv_cache.hpp would otherwise pay seconds per save for code it never runs.

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "qkv/attention.hpp"
#include "qkv/embedding.hpp"
#include "qkv/error.hpp"
#include "qkv/kv_cache.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/projection.hpp"
#include "qkv/random.hpp"
#include "qkv/types.hpp"

namespace qkv {

// attention.hpp (chapter 03) and masking.hpp (chapter 04): the templates on float matrices,
// which the headers declare `extern`.
template Matrix attention_scores(const Eigen::MatrixBase<Matrix>& q,
                                 const Eigen::MatrixBase<Matrix>& k);
template AttentionResult scaled_dot_product_attention(const Eigen::MatrixBase<Matrix>& q,
                                                      const Eigen::MatrixBase<Matrix>& k,
                                                      const Eigen::MatrixBase<Matrix>& v);
template Matrix apply_mask(const Eigen::MatrixBase<Matrix>& scores, const Mask& mask);
template AttentionResult scaled_dot_product_attention(const Eigen::MatrixBase<Matrix>& q,
                                                      const Eigen::MatrixBase<Matrix>& k,
                                                      const Eigen::MatrixBase<Matrix>& v,
                                                      const std::optional<Mask>& mask);

// embedding.hpp (chapter 02)

Labels token_labels(const Labels& sentence, Index t) {
  require(t >= 0, "token_labels", "T must not be negative");
  Labels labels;
  for (Index i = 0; i < t; ++i)
    labels.push_back(t <= static_cast<Index>(sentence.size()) ? sentence[i]
                                                              : "t" + std::to_string(i));
  return labels;
}

Vocabulary build_vocabulary(const Labels& tokens) {
  Vocabulary vocabulary;
  for (const auto& token : tokens) {
    Index id = 0;
    while (id < static_cast<Index>(vocabulary.words.size()) && vocabulary.words[id] != token) ++id;
    if (id == static_cast<Index>(vocabulary.words.size())) vocabulary.words.push_back(token);
    vocabulary.ids.push_back(id);
  }
  return vocabulary;
}

Matrix embed(const Matrix& table, const std::vector<Index>& ids) {
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

// projection.hpp (chapter 02)

QkvWeights random_qkv_weights(Random& random, Index d_model, Index d_head) {
  require(d_model > 0 && d_head > 0, "random_qkv_weights", "d_model and d_head must be positive");
  QkvWeights w;
  w.w_q = init_linear_weight(random, d_model, d_head);
  w.w_k = init_linear_weight(random, d_model, d_head);
  w.w_v = init_linear_weight(random, d_model, d_head);
  return w;
}

Matrix project(const Matrix& x, const Matrix& weight, std::string_view weight_name) {
  require_shapes(x.cols() == weight.rows(), "project",
                 "X's columns (d_model) must equal the weight's rows", "X", x, weight_name, weight);
  return x * weight;
}

Qkv project_qkv(const Matrix& x, const QkvWeights& w) {
  require_shapes(w.w_q.cols() == w.w_k.cols(), "project_qkv",
                 "W_q and W_k must have the same number of columns (d_head)", "W_q", w.w_q, "W_k",
                 w.w_k);
  for (const auto& [name, weight] : {std::pair{"W_q", &w.w_q}, {"W_k", &w.w_k}, {"W_v", &w.w_v}})
    require_shapes(x.cols() == weight->rows(), "project_qkv",
                   "X's columns (d_model) must equal every weight's rows", "X", x, name, *weight);
  return {project(x, w.w_q, "W_q"), project(x, w.w_k, "W_k"), project(x, w.w_v, "W_v")};
}

// multi_head.hpp (chapter 05)

void require_heads_divide(Index d_model, Index heads, std::string_view function) {
  require(d_model > 0 && heads > 0, function, "d_model and the number of heads must be positive");
  if (d_model % heads != 0) {
    throw ValueError(std::string(function) + ": " + std::to_string(heads) +
                     " heads do not divide d_model = " + std::to_string(d_model) +
                     " (d_head = d_model / heads must be a whole number)");
  }
}

MultiHeadWeights random_multi_head_weights(Random& random, Index d_model, Index heads) {
  require_heads_divide(d_model, heads, "random_multi_head_weights");
  MultiHeadWeights w;
  w.w_q = init_linear_weight(random, d_model, d_model);
  w.w_k = init_linear_weight(random, d_model, d_model);
  w.w_v = init_linear_weight(random, d_model, d_model);
  w.w_o = init_linear_weight(random, d_model, d_model);
  w.heads = heads;
  return w;
}

void check_multi_head_weights(const MultiHeadWeights& w, std::string_view function) {
  for (const Matrix* m : {&w.w_k, &w.w_v, &w.w_o})
    require_shapes(m->rows() == w.w_q.rows() && m->cols() == w.w_q.cols(), function,
                   "W_q, W_k, W_v and W_o must all be d_model x d_model", "W_q", w.w_q, "other",
                   *m);
  require_shapes(w.w_q.rows() == w.w_q.cols(), function, "W_q must be square (d_model x d_model)",
                 "W_q", w.w_q, "W_o", w.w_o);
  require_heads_divide(w.w_q.rows(), w.heads, function);
}

QkvWeights head_weights(const MultiHeadWeights& w, Index head) {
  check_multi_head_weights(w, "head_weights");
  require(head >= 0 && head < w.heads, "head_weights", "the head index must lie in 0..h-1");
  const Index d_head = w.d_head();
  return {w.w_q.middleCols(head * d_head, d_head), w.w_k.middleCols(head * d_head, d_head),
          w.w_v.middleCols(head * d_head, d_head)};
}

std::vector<Matrix> split_heads(const Matrix& x, Index heads) {
  require_heads_divide(x.cols(), heads, "split_heads");
  const Index d_head = x.cols() / heads;
  std::vector<Matrix> parts;
  for (Index i = 0; i < heads; ++i) parts.emplace_back(x.middleCols(i * d_head, d_head));
  return parts;
}

Matrix merge_heads(const std::vector<Matrix>& heads) {
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

MultiHeadResult attend_head_groups(const Eigen::Ref<const Matrix>& q,
                                   const Eigen::Ref<const Matrix>& k,
                                   const Eigen::Ref<const Matrix>& v, Index heads, Index kv_heads,
                                   const Matrix& w_o, const std::optional<Mask>& mask) {
  const std::string_view function = "attend_head_groups";
  if (heads < 1 || kv_heads < 1 || heads % kv_heads != 0 || w_o.rows() % heads != 0) {
    throw ValueError(std::string(function) + ": kv_heads = " + std::to_string(kv_heads) +
                     " must divide h = " + std::to_string(heads) + ", and h must divide W_o's " +
                     std::to_string(w_o.rows()) + " rows");
  }
  const Index d_head = w_o.rows() / heads, group = heads / kv_heads;
  require_shapes(q.cols() == heads * d_head && k.cols() == kv_heads * d_head, function,
                 "Q must be h d_head wide and K kv_heads d_head wide", "Q", q, "K", k);
  require_shapes(v.cols() == k.cols() && v.rows() == k.rows(), function,
                 "the values must have the keys' shape", "K", k, "V", v);
  MultiHeadResult result;
  for (Index i = 0; i < heads; ++i) {
    const Index kv = i / group;  // the key/value head query head i reads
    auto head = scaled_dot_product_attention(q.middleCols(i * d_head, d_head),
                                             k.middleCols(kv * d_head, d_head),
                                             v.middleCols(kv * d_head, d_head), mask);
    result.weights.push_back(std::move(head.weights));
    result.heads.push_back(std::move(head.output));
  }
  result.concat = merge_heads(result.heads);
  result.output = result.concat * w_o;
  return result;
}

MultiHeadResult attend_heads(const Eigen::Ref<const Matrix>& q, const Eigen::Ref<const Matrix>& k,
                             const Eigen::Ref<const Matrix>& v, const MultiHeadWeights& w,
                             const std::optional<Mask>& mask) {
  check_multi_head_weights(w, "attend_heads");
  require_shapes(q.cols() == w.d_model() && k.cols() == w.d_model(), "attend_heads",
                 "queries and keys must have d_model columns", "Q", q, "K", k);
  require_shapes(v.cols() == w.d_model() && v.rows() == k.rows(), "attend_heads",
                 "the values must be T_k x d_model, as the keys", "K", k, "V", v);
  return attend_head_groups(q, k, v, w.heads, w.heads, w.w_o, mask);
}

MultiHeadResult multi_head_attention(const Matrix& x_q, const Matrix& x_kv,
                                     const MultiHeadWeights& w, const std::optional<Mask>& mask) {
  check_multi_head_weights(w, "multi_head_attention");
  require_shapes(x_q.cols() == w.d_model() && x_kv.cols() == w.d_model(), "multi_head_attention",
                 "the inputs must have d_model columns", "X_q", x_q, "X_kv", x_kv);
  if (mask)
    require_shapes(mask->rows() == x_q.rows() && mask->cols() == x_kv.rows(),
                   "multi_head_attention", "the mask must be T_q x T_k (one row per query)", "mask",
                   *mask, "X_kv", x_kv);
  return attend_heads(x_q * w.w_q, x_kv * w.w_k, x_kv * w.w_v, w, mask);
}

MultiHeadResult multi_head_attention(const Matrix& x, const MultiHeadWeights& w,
                                     const std::optional<Mask>& mask) {
  return multi_head_attention(x, x, w, mask);
}

// kv_cache.hpp (chapter 06)

namespace {

// What both caches check before they append: n keys and n values, each `width` wide.
void check_rows_to_append(const Matrix& k_rows, const Matrix& v_rows, Index width,
                          std::string_view function) {
  require_shapes(k_rows.cols() == width && v_rows.cols() == width && k_rows.rows() == v_rows.rows(),
                 function, "keys and values must be n x width, the same n", "keys", k_rows,
                 "values", v_rows);
}

// What both caches allocate: `rows` rows of keys and as many of values, `width` numbers each.
void allocate_rows(Matrix& keys, Matrix& values, Index rows, Index width, std::string_view function,
                   std::string_view what) {
  require(rows >= 1 && width >= 1, function, what);
  keys.resize(rows, width);
  values.resize(rows, width);
}

}  // namespace

KvCache::KvCache(Index capacity, Index width) {
  allocate_rows(keys_, values_, capacity, width, "KvCache", "capacity and width must be positive");
}

void KvCache::append(const Matrix& k_rows, const Matrix& v_rows) {
  check_rows_to_append(k_rows, v_rows, width(), "KvCache::append");
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

WindowKvCache::WindowKvCache(Index window, Index width) {
  allocate_rows(keys_, values_, window, width, "WindowKvCache",
                "window and width must be positive");
}

void WindowKvCache::append(const Matrix& k_rows, const Matrix& v_rows) {
  check_rows_to_append(k_rows, v_rows, width(), "WindowKvCache::append");
  for (Index r = 0; r < k_rows.rows(); ++r, ++seen_) {
    keys_.row(slot(seen_)) = k_rows.row(r);
    values_.row(slot(seen_)) = v_rows.row(r);
  }
}

Matrix WindowKvCache::in_order(const Matrix& ring) const {
  if (seen_ <= window()) return ring.topRows(seen_);
  const Index oldest = slot(seen_);  // the slot the next token would overwrite
  Matrix out(window(), width());
  out.topRows(window() - oldest) = ring.bottomRows(window() - oldest);
  out.bottomRows(oldest) = ring.topRows(oldest);
  return out;
}

namespace {

// The new tokens' q, k and v (the first thing both decode steps do), once their shapes are
// checked against the weights and the cache.
Qkv project_new_tokens(const Matrix& x_new, const MultiHeadWeights& w, Index cache_width,
                       std::string_view function) {
  check_multi_head_weights(w, function);
  require_shapes(x_new.cols() == w.d_model(), function, "the new rows must have d_model columns",
                 "X_new", x_new, "W_q", w.w_q);
  require(x_new.rows() >= 1, function, "there must be at least one new token");
  if (cache_width != w.d_model()) {
    throw ShapeError(std::string(function) + ": the cache's width " + std::to_string(cache_width) +
                     " is not d_model = " + std::to_string(w.d_model()));
  }
  return {x_new * w.w_q, x_new * w.w_k, x_new * w.w_v};
}

}  // namespace

Matrix decode_step(const Matrix& x_new, const MultiHeadWeights& w, KvCache& cache) {
  const Qkv p = project_new_tokens(x_new, w, cache.width(), "decode_step");
  cache.append(p.k, p.v);
  const Index t_new = x_new.rows();
  std::optional<Mask> mask;
  if (t_new > 1) mask = causal_mask(t_new, cache.size());
  return attend_heads(p.q, cache.keys(), cache.values(), w, mask).output;
}

Matrix decode_step(const Matrix& x_new, const MultiHeadWeights& w, WindowKvCache& cache) {
  const Qkv p = project_new_tokens(x_new, w, cache.width(), "decode_step");
  const Index t_new = x_new.rows();
  if (t_new == 1) {
    cache.append(p.k, p.v);
    return attend_heads(p.q, cache.stored_keys(), cache.stored_values(), w).output;
  }
  const Index held = cache.size();
  Matrix keys(held + t_new, w.d_model()), values(held + t_new, w.d_model());
  keys.topRows(held) = cache.keys();
  keys.bottomRows(t_new) = p.k;
  values.topRows(held) = cache.values();
  values.bottomRows(t_new) = p.v;
  // Keys are consecutive positions and the queries the last t_new of them, so the window
  // relation is chapter 04's window mask, bottom rows.
  const Mask mask = window_mask(held + t_new, cache.window()).bottomRows(t_new);
  Matrix out = attend_heads(p.q, keys, values, w, mask).output;
  cache.append(p.k, p.v);
  return out;
}

Matrix recompute_step(const Matrix& x_prefix, const MultiHeadWeights& w) {
  require(x_prefix.rows() >= 1, "recompute_step", "the prefix must hold at least one token");
  require_shapes(x_prefix.cols() == w.w_q.rows(), "recompute_step",
                 "the prefix must have d_model columns", "X", x_prefix, "W_q", w.w_q);
  return multi_head_attention(Matrix(x_prefix.bottomRows(1)), x_prefix, w).output;
}

Matrix generate_without_cache(const Matrix& x, const MultiHeadWeights& w, Index prompt,
                              Index window) {
  require_shapes(x.cols() == w.w_q.rows(), "generate_without_cache", "X must have d_model columns",
                 "X", x, "W_q", w.w_q);
  require(prompt >= 1 && prompt <= x.rows() && window >= 0, "generate_without_cache",
          "the prompt must hold 1 to T tokens and the window must not be negative");
  Matrix out(x.rows(), x.cols());
  const Mask mask = window > 0 ? window_mask(prompt, window) : causal_mask(prompt);
  out.topRows(prompt) = multi_head_attention(Matrix(x.topRows(prompt)), w, mask).output;
  for (Index t = prompt; t < x.rows(); ++t) {
    const Index first = window > 0 ? std::max<Index>(0, t + 1 - window) : 0;
    out.row(t) = recompute_step(x.middleRows(first, t + 1 - first), w);
  }
  return out;
}

}  // namespace qkv
