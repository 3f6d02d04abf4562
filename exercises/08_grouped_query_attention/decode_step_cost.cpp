// Exercise decode_step_cost (chapter 08): why batching helps the weights but not the cache.
//
// The chapter counted the attention part of one decode step: 4 N h d_head FLOPs over
// 2 N kv_heads d_head cached numbers. A real step also multiplies the token by the four
// weight matrices, and a server decodes a batch of sequences at once. The weights are read
// once per step for the whole batch, so batching raises their intensity; but every sequence
// has its own cache, read for that sequence alone, so the attention part keeps the intensity
// 2 h / (kv_heads x bytes per number) however large the batch. Only fewer kv heads raise it.
// For one Llama-2-7B layer in fp16 at N = 4096, batch 1:
//
//     FLOPs = 8 x 4096^2 + 4 x 4096 x 32 x 128 = 201326592
//     bytes = 4 x 4096^2 x 2 + 2 x 4096 x 32 x 128 x 2 = 201326592     (intensity 1.0)
//
// TODO: 1. Check the arguments (qkv::require): all sizes, context and batch at least 1,
//          kv_heads divides heads, window not negative.
//       2. Work out N', the keys a token attends to: with a window of w, the last w tokens
//          including itself (chapter 04's window_mask), so min(N, w): not w + 1, not w - 1.
//       3. Count FLOPs and bytes as the header says, in std::int64_t (a 70B model at 32k
//          tokens passes 2^31 quickly).
// Check with:  build/dev/bin/qkv-learn check decode_step_cost
//   or, checking again on every save:  build/dev/bin/qkv-learn watch decode_step_cost

#include "decode_step_cost.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

StepCost decode_step_cost(const LayerShape& shape, Index context, Index batch, Index window) {
  (void)shape;
  (void)context;
  (void)batch;
  (void)window;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
