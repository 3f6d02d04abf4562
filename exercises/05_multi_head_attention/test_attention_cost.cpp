// Checks exercise attention_cost: parameters and FLOPs of an attention layer.

#include "attention_cost.hpp"

#include <cstdint>

#include "qkv/catch.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"

using qkv::Index;
using qkv::exercises::attention_cost;
using qkv::exercises::AttentionConfig;

namespace {
// (a x b)(b x c): a c outputs, each b multiply-adds.
std::int64_t product_flops(Index a, Index b, Index c) { return 2 * a * b * c; }
}  // namespace

TEST_CASE("attention_cost of a small grouped-query layer, by hand", "[attention_cost]") {
  // d_model 8, h 2 (d_head 4), 1 K/V head, biases, T = 3.
  const auto cost = attention_cost({8, 2, 1, true}, 3);
  // W_q, W_o: 64 each; W_k, W_v: 8 x 4 = 32 each; biases 8 + 4 + 4 + 8.
  CHECK(cost.parameters == 64 + 64 + 32 + 32 + 24);
  // (3x8)(8x8) twice: 2*3*8*8*2 = 768; (3x8)(8x4) twice: 384.
  CHECK(cost.projection_flops == 768 + 384);
  // Per head: (3x4)(4x3) = 72 and (3x3)(3x4) = 72; two heads.
  CHECK(cost.attention_flops == 2 * (72 + 72));
  CHECK(cost.total_flops() == 1152 + 288);
}

TEST_CASE("attention_cost of GPT-2 small and of 7B-size layers", "[attention_cost]") {
  // GPT-2 small: d_model 768, 12 heads, biases: 4 * 768^2 + 4 * 768.
  const auto gpt2 = attention_cost({768, 12, 12, true}, 1024);
  CHECK(gpt2.parameters == 2'362'368);
  CHECK(gpt2.projection_flops == 4'831'838'208);  // 8 T d^2
  CHECK(gpt2.attention_flops == 3'221'225'472);   // 4 T^2 d
  // A Llama-2-7B-size layer: d_model 4096, 32 heads, no biases.
  CHECK(attention_cost({4096, 32, 32, false}, 1).parameters == 67'108'864);
  // A Llama-3-8B-size layer: 32 query heads of 128, 8 K/V heads, 8k tokens.
  const auto gqa = attention_cost({4096, 32, 8, false}, 8192);
  CHECK(gqa.parameters == 41'943'040);              // 2 d^2 + 2 d (8 * 128)
  CHECK(gqa.projection_flops == 687'194'767'360);   // 4 T d (d + 1024)
  CHECK(gqa.attention_flops == 1'099'511'627'776);  // 4 T^2 d: more than 2^32
  CHECK(gqa.total_flops() == 1'786'706'395'136);
}

TEST_CASE("attention_cost agrees with the chapter and with the products it counts",
          "[attention_cost]") {
  for (Index d_model : {1, 6, 12, 64, 768})
    for (bool biases : {false, true}) {
      INFO("d_model = " << d_model << (biases ? ", biases" : ""));
      CHECK(attention_cost({d_model, 1, 1, biases}, 1).parameters ==
            qkv::multi_head_parameter_count(d_model, biases));
      CHECK(attention_cost({d_model, d_model, d_model, biases}, 7).parameters ==
            qkv::multi_head_parameter_count(d_model, biases));  // heads add nothing
    }

  // Run multi-head attention and add up the FLOPs of the products it did, from the shapes of
  // what it returned.
  const Index tokens = 5, d_model = 12, heads = 3;
  qkv::Random random(31);
  const qkv::Matrix x = qkv::random_normal(random, tokens, d_model);
  const auto result =
      qkv::multi_head_attention(x, qkv::random_multi_head_weights(random, d_model, heads));
  const std::int64_t projections = 4 * product_flops(tokens, d_model, d_model);
  std::int64_t attention = 0;
  for (std::size_t i = 0; i < result.heads.size(); ++i) {
    const Index d_head = result.heads[i].cols();
    attention += product_flops(tokens, d_head, result.weights[i].cols());  // Q_i K_i^T
    attention += product_flops(tokens, result.weights[i].cols(), d_head);  // weights V_i
  }
  const auto cost = attention_cost({d_model, heads, heads, false}, tokens);
  CHECK(cost.projection_flops == projections);
  CHECK(cost.attention_flops == attention);

  // Attention grows as T^2, projections as T: they cost the same at T = 2 d_model.
  const auto even = attention_cost({64, 4, 4, false}, 128);
  CHECK(even.attention_flops == even.projection_flops);
  CHECK(attention_cost({64, 4, 4, false}, 129).attention_flops >
        attention_cost({64, 4, 4, false}, 129).projection_flops);
  // Fewer K/V heads shrink W_k, W_v and their FLOPs, not the attention itself.
  const auto mha = attention_cost({64, 8, 8, false}, 32);
  const auto mqa = attention_cost({64, 8, 1, false}, 32);
  CHECK(mqa.parameters == mha.parameters - 2 * 64 * (64 - 8));
  CHECK(mqa.attention_flops == mha.attention_flops);
  CHECK(mqa.projection_flops < mha.projection_flops);
}

TEST_CASE("attention_cost rejects impossible configurations", "[attention_cost]") {
  CHECK_THROWS_AS(attention_cost({0, 1, 1, false}, 4), qkv::ValueError);
  CHECK_THROWS_AS(attention_cost({8, 0, 1, false}, 4), qkv::ValueError);
  CHECK_THROWS_AS(attention_cost({8, 3, 1, false}, 4), qkv::ValueError);  // 3 does not divide 8
  CHECK_THROWS_AS(attention_cost({8, 4, 0, false}, 4), qkv::ValueError);
  CHECK_THROWS_AS(attention_cost({8, 4, 3, false}, 4), qkv::ValueError);  // 3 does not divide 4
  CHECK_THROWS_AS(attention_cost({8, 4, 8, false}, 4), qkv::ValueError);  // more K/V heads than h
  CHECK_THROWS_AS(attention_cost({8, 4, 4, false}, 0), qkv::ValueError);
  CHECK_THROWS_AS(attention_cost({8, 4, 4, false}, -1), qkv::ValueError);
}
