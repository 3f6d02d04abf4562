// Reference solution of exercise grouped_query_attention (chapter 05).

#include "grouped_query_attention.hpp"

#include <string>

#include "qkv/attention.hpp"
#include "qkv/error.hpp"

namespace qkv::exercises {

MultiHeadResult grouped_query_attention(const Matrix& x, const GroupedQueryWeights& w,
                                        const std::optional<Mask>& mask) {
  const Index d_model = w.w_q.rows(), h = w.heads, kv_heads = w.kv_heads;
  require(h > 0 && d_model > 0 && d_model % h == 0, "grouped_query_attention",
          "the number of query heads must be positive and divide d_model");
  require(kv_heads >= 1 && kv_heads <= h && h % kv_heads == 0, "grouped_query_attention",
          "the number of key/value heads must lie in 1..h and divide h");
  const Index d_head = d_model / h, kv_width = kv_heads * d_head;
  require_shapes(w.w_q.cols() == d_model && w.w_o.rows() == d_model && w.w_o.cols() == d_model,
                 "grouped_query_attention", "W_q and W_o must be d_model x d_model", "W_q", w.w_q,
                 "W_o", w.w_o);
  for (const Matrix* m : {&w.w_k, &w.w_v})
    require_shapes(m->rows() == d_model && m->cols() == kv_width, "grouped_query_attention",
                   "W_k and W_v must be d_model x (kv_heads d_head)", "W_q", w.w_q, "W_k or W_v",
                   *m);
  require_shapes(x.cols() == d_model, "grouped_query_attention", "X must have d_model columns", "X",
                 x, "W_q", w.w_q);

  const Matrix q = x * w.w_q;  // T x (h d_head)
  const Matrix k = x * w.w_k;  // T x (kv_heads d_head)
  const Matrix v = x * w.w_v;
  const Index group = h / kv_heads;  // query heads per key/value head
  MultiHeadResult result;
  for (Index i = 0; i < h; ++i) {
    const Index g = i / group;
    auto attended = scaled_dot_product_attention(Matrix(q.middleCols(i * d_head, d_head)),
                                                 Matrix(k.middleCols(g * d_head, d_head)),
                                                 Matrix(v.middleCols(g * d_head, d_head)), mask);
    result.weights.push_back(std::move(attended.weights));
    result.heads.push_back(std::move(attended.output));
  }
  result.concat = merge_heads(result.heads);
  result.output = result.concat * w.w_o;
  return result;
}

}  // namespace qkv::exercises
