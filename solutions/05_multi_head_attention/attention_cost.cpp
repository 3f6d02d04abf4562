// Reference solution of exercise attention_cost (chapter 05).

#include "attention_cost.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

AttentionCost attention_cost(const AttentionConfig& config, Index tokens) {
  const std::int64_t d = config.d_model, h = config.heads, kv = config.kv_heads, t = tokens;
  require(d > 0 && h > 0 && d % h == 0, "attention_cost",
          "d_model and the number of heads must be positive, and the heads must divide d_model");
  require(kv >= 1 && kv <= h && h % kv == 0, "attention_cost",
          "the number of key/value heads must lie in 1..h and divide h");
  require(t >= 1, "attention_cost", "there must be at least one token");
  const std::int64_t d_head = d / h, kv_width = kv * d_head;

  AttentionCost cost;
  // W_q and W_o are d x d; W_k and W_v are d x kv_width; biases: one per output column.
  cost.parameters = 2 * d * d + 2 * d * kv_width;
  if (config.biases) cost.parameters += 2 * d + 2 * kv_width;
  // (T x d)(d x d) twice (queries, output) and (T x d)(d x kv_width) twice (keys, values).
  cost.projection_flops = 2 * t * d * d * 2 + 2 * t * d * kv_width * 2;
  // Per query head: (T x d_head)(d_head x T) for the scores, (T x T)(T x d_head) for the
  // output; sharing K/V heads saves memory, not these FLOPs.
  cost.attention_flops = h * (2 * t * d_head * t + 2 * t * t * d_head);
  return cost;
}

}  // namespace qkv::exercises
