// Exercise grouped_query_attention (chapter 05): fewer key/value heads than query heads.
//
// While generating text, a model keeps every head's keys and values of every earlier token
// (chapter 06's KV cache), and for large models that cache, not the weights, fills the
// memory. Grouped-query attention (Llama 2 70B, Llama 3, Mistral) keeps h query heads but
// only kv_heads key/value heads; each K/V head serves a group of h / kv_heads query heads:
//
//     h = 4, kv_heads = 2:   query heads 0, 1 -> K/V head 0     query heads 2, 3 -> K/V head 1
//
//     Q = X W_q   T x (h d_head)          K = X W_k, V = X W_v   T x (kv_heads d_head)
//     O_i = softmax(Q_i K_g(i)^T / sqrt(d_head) + M) V_g(i),    g(i) = i / (h / kv_heads)
//     output = [O_1 ... O_h] W_o
//
// The cache, W_k and W_v shrink by h / kv_heads; W_q and W_o stay d_model x d_model.
//
// TODO: 1. Check the sizes: throw qkv::ValueError (qkv::require) unless heads > 0 divides
//          d_model = w.w_q.rows() and 1 <= kv_heads <= heads divides heads; throw
//          qkv::ShapeError (qkv::require_shapes) unless x has d_model columns, W_q and W_o
//          are d_model x d_model, and W_k and W_v are d_model x (kv_heads d_head).
//       2. Project Q, K and V once. For each query head i, take its columns of Q and its
//          group's columns of K and V (middleCols), and run
//          qkv::scaled_dot_product_attention(q_i, k_g, v_g, mask). Keep the weights and
//          the outputs.
//       3. concat = qkv::merge_heads(outputs); output = concat * W_o.
// Check with:  build/dev/bin/qkv-learn check grouped_query_attention
//   or, checking again on every save:  build/dev/bin/qkv-learn watch grouped_query_attention

#include "grouped_query_attention.hpp"

#include "qkv/attention.hpp"
#include "qkv/error.hpp"

namespace qkv::exercises {

MultiHeadResult grouped_query_attention(const Matrix& x, const GroupedQueryWeights& w,
                                        const std::optional<Mask>& mask) {
  (void)x;
  (void)w;
  (void)mask;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
