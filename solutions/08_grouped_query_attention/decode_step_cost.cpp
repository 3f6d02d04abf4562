// Reference solution of exercise decode_step_cost (chapter 08).

#include "decode_step_cost.hpp"

#include <algorithm>
#include <cstdint>

#include "qkv/error.hpp"

namespace qkv::exercises {

StepCost decode_step_cost(const LayerShape& shape, Index context, Index batch, Index window) {
  require(shape.d_model >= 1 && shape.heads >= 1 && shape.kv_heads >= 1 && shape.d_head >= 1 &&
              shape.bytes_per_number >= 1 && context >= 1 && batch >= 1,
          "decode_step_cost", "every size, the context and the batch must be at least 1");
  require(shape.heads % shape.kv_heads == 0, "decode_step_cost", "kv_heads must divide heads");
  require(window >= 0, "decode_step_cost", "the window must not be negative");
  const std::int64_t keys = window > 0 ? std::min(context, window) : context;
  const std::int64_t q_width = shape.heads * shape.d_head, kv_width = shape.kv_heads * shape.d_head;
  const std::int64_t d = shape.d_model, b = shape.bytes_per_number;
  const std::int64_t per_sequence =
      2 * d * q_width + 2 * 2 * d * kv_width + 2 * q_width * d + 4 * keys * q_width;
  const std::int64_t weights = (2 * d * q_width + 2 * d * kv_width) * b;
  return {batch * per_sequence, weights + batch * 2 * keys * kv_width * b};
}

}  // namespace qkv::exercises
