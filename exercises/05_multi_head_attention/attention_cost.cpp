// Exercise attention_cost (chapter 05): what one attention layer costs, for any sizes.
//
// The chapter counted 4 d_model^2 parameters for multi-head attention. Count them, and the
// work, for a grouped-query layer too (chapter 08: groups of query heads share one key/value
// head): h query heads of d_head = d_model / h, kv_heads key/value heads, T tokens.
//
//     parameters:  W_q, W_o: d_model x d_model      W_k, W_v: d_model x (kv_heads d_head)
//                  biases, if any: one per output column of each projection
//     FLOPs:       a product (a x b)(b x c) costs 2 a b c (one multiply and one add per term)
//                  projections: X W_q, X W_k, X W_v (X is T x d_model), concat W_o
//                  attention:   per query head, Q_i K^T (T x d_head)(d_head x T)
//                               and weights V (T x T)(T x d_head)
//
// A GPT-2-small layer (d_model 768, 12 heads, biases) has 2,362,368 parameters.
//
// TODO: 1. Throw qkv::ValueError (qkv::require in qkv/error.hpp) unless d_model > 0,
//          heads > 0 divides d_model, 1 <= kv_heads <= heads divides heads, tokens >= 1.
//       2. Count with std::int64_t: a 7B-size layer at 8k tokens needs ~10^12 FLOPs.
// Check with:  build/dev/bin/qkv-learn check attention_cost
//   or, checking again on every save:  build/dev/bin/qkv-learn watch attention_cost

#include "attention_cost.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

AttentionCost attention_cost(const AttentionConfig& config, Index tokens) {
  (void)config;
  (void)tokens;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
