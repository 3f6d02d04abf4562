// Checks exercise decode_step_cost: a decode step's FLOPs and bytes by hand, and what they
// say: batching amortises the weights, never the cache; fewer kv heads raise the intensity.

#include "decode_step_cost.hpp"

#include <cstdint>

#include "qkv/catch.hpp"
#include "qkv/error.hpp"

using qkv::exercises::decode_step_cost;
using qkv::exercises::LayerShape;
using qkv::exercises::StepCost;

namespace {
const LayerShape llama2_7b{4096, 32, 32, 128, 2};  // one layer, fp16
const LayerShape llama3_8b{4096, 32, 8, 128, 2};
}  // namespace

TEST_CASE("decode_step_cost: one Llama-2-7B layer, by hand", "[decode_step_cost]") {
  const StepCost one = decode_step_cost(llama2_7b, 4096, 1);
  // 8 d^2 + 4 N h d_head = 134217728 + 67108864; bytes 4 d^2 x 2 + 2 N 32 128 x 2.
  CHECK(one.flops == 201'326'592);
  CHECK(one.bytes == 201'326'592);
  CHECK(one.intensity() == 1.0);
  // Batch 8: eight times the FLOPs, the weights still read once.
  const StepCost eight = decode_step_cost(llama2_7b, 4096, 8);
  CHECK(eight.flops == 8 * 201'326'592LL);
  CHECK(eight.bytes == 134'217'728 + 8 * 67'108'864LL);
}

TEST_CASE("decode_step_cost: GQA shrinks the K/V weights and the cache", "[decode_step_cost]") {
  // kv width 1024: W_k, W_v are 4096 x 1024. FLOPs 2 d 4096 + 4 d 1024 + 2 4096 d + 4 N 4096.
  const StepCost one = decode_step_cost(llama3_8b, 4096, 1);
  CHECK(one.flops == 2LL * 4096 * 4096 + 4LL * 4096 * 1024 + 2LL * 4096 * 4096 + 4LL * 4096 * 4096);
  CHECK(one.bytes == (2LL * 4096 * 4096 + 2LL * 4096 * 1024) * 2 + 2LL * 4096 * 1024 * 2);
  // At a long context and a large batch the cache dominates: the intensity approaches
  // 2 h / (kv_heads x bytes per number), 1 for MHA in fp16 and 4 with 8 kv heads.
  CHECK_THAT(decode_step_cost(llama2_7b, 1'000'000, 256).intensity(),
             Catch::Matchers::WithinRel(1.0, 0.01));
  CHECK_THAT(decode_step_cost(llama3_8b, 1'000'000, 256).intensity(),
             Catch::Matchers::WithinRel(4.0, 0.01));
  // At a short context the weights dominate and batching pays: intensity grows with B.
  CHECK(decode_step_cost(llama3_8b, 16, 64).intensity() >
        30 * decode_step_cost(llama3_8b, 16, 1).intensity());
}

TEST_CASE("decode_step_cost: a window attends to exactly the last w keys", "[decode_step_cost]") {
  const LayerShape tiny{2, 2, 1, 1, 1};  // weights: 2*2*2 + 2*2*1 = 12 numbers
  // N' = min(10, 4) = 4: FLOPs = 2*2*2 + 4*2*1 + 2*2*2 + 4*4*2 = 56; bytes 12 + 2*4*1.
  const StepCost windowed = decode_step_cost(tiny, 10, 1, 4);
  CHECK(windowed.flops == 56);
  CHECK(windowed.bytes == 20);
  // Past the window nothing grows; before it, the window changes nothing.
  CHECK(decode_step_cost(tiny, 1000, 1, 4).flops == 56);
  CHECK(decode_step_cost(tiny, 3, 1, 4).flops == decode_step_cost(tiny, 3, 1).flops);
  CHECK(decode_step_cost(tiny, 4, 1, 4).bytes == decode_step_cost(tiny, 4, 1).bytes);
  CHECK(decode_step_cost(tiny, 5, 1, 4).bytes == decode_step_cost(tiny, 4, 1).bytes);
}

TEST_CASE("decode_step_cost rejects impossible shapes", "[decode_step_cost]") {
  CHECK_THROWS_AS(decode_step_cost(LayerShape{4096, 32, 3, 128, 2}, 16, 1), qkv::ValueError);
  CHECK_THROWS_AS(decode_step_cost(llama2_7b, 0, 1), qkv::ValueError);
  CHECK_THROWS_AS(decode_step_cost(llama2_7b, 16, 0), qkv::ValueError);
  CHECK_THROWS_AS(decode_step_cost(llama2_7b, 16, 1, -1), qkv::ValueError);
  CHECK_THROWS_AS(decode_step_cost(LayerShape{4096, 32, 8, 0, 2}, 16, 1), qkv::ValueError);
}
