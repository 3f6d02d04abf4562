// Reference solution of exercise gqa_decode_step (chapter 06).

#include "gqa_decode_step.hpp"

#include <optional>
#include <string>

#include "qkv/error.hpp"
#include "qkv/masking.hpp"
#include "qkv/projection.hpp"
#include "qkv/softmax.hpp"

namespace qkv::exercises {

Matrix gqa_decode_step(const Matrix& x_new, const GqaWeights& w, KvCache& cache) {
  const char* function = "gqa_decode_step";
  require(w.heads >= 1 && w.kv_heads >= 1 && w.heads % w.kv_heads == 0, function,
          "the kv heads g must be at least 1 and divide the query heads h");
  require(w.w_q.cols() % w.heads == 0 && w.w_q.cols() > 0, function,
          "h must divide W_q's columns (h d_head)");
  const Index d_model = w.d_model(), d_head = w.d_head(), kv_width = w.kv_heads * d_head;
  require_shapes(x_new.cols() == d_model, function, "the new rows must have d_model columns",
                 "X_new", x_new, "W_q", w.w_q);
  require_shapes(w.w_k.rows() == d_model && w.w_k.cols() == kv_width && w.w_v.rows() == d_model &&
                     w.w_v.cols() == kv_width,
                 function, "W_k and W_v must be d_model x (g d_head)", "W_k", w.w_k, "W_v", w.w_v);
  require_shapes(w.w_o.rows() == w.w_q.cols(), function, "W_o must have h d_head rows", "W_q",
                 w.w_q, "W_o", w.w_o);
  if (cache.width() != kv_width) {
    throw ShapeError(std::string(function) + ": the cache's width " +
                     std::to_string(cache.width()) +
                     " is not g d_head = " + std::to_string(kv_width));
  }
  require(x_new.rows() >= 1, function, "there must be at least one new token");

  const Matrix q = x_new * w.w_q;
  cache.append(x_new * w.w_k, x_new * w.w_v);  // throws, unchanged, if they do not fit
  const Index t_new = x_new.rows(), group = w.heads / w.kv_heads;
  std::optional<Mask> mask;
  if (t_new > 1) mask = causal_mask(t_new, cache.size());
  Matrix concat(t_new, w.heads * d_head);
  for (Index i = 0; i < w.heads; ++i) {
    const Index j = i / group;  // the kv head this query head reads
    Matrix scores = attention_scores(q.middleCols(i * d_head, d_head),
                                     cache.keys().middleCols(j * d_head, d_head));
    if (mask) scores = apply_mask(scores, *mask);
    concat.middleCols(i * d_head, d_head) =
        softmax_rows(scores) * cache.values().middleCols(j * d_head, d_head);
  }
  return concat * w.w_o;
}

}  // namespace qkv::exercises
