// Checks exercise attention_parameter_count against published model sizes.

#include "attention_parameter_count.hpp"

#include "qkv/catch.hpp"
#include "qkv/projection.hpp"

using qkv::exercises::attention_parameter_count;
using qkv::exercises::AttentionModel;

TEST_CASE("one layer, one head, no biases: 4 d_model^2", "[attention_parameter_count]") {
  // W_q, W_k, W_v of 8 x 8 plus W_o of 8 x 8.
  CHECK(attention_parameter_count({8, 1, 1, false}) == 256);
  CHECK(attention_parameter_count({8, 1, 1, false}) == qkv::qkv_parameter_count(8, 8) + 8 * 8);
  CHECK(attention_parameter_count({1, 1, 1, false}) == 4);
  // With biases: 3 * 8 for Q, K, V and 8 for the output.
  CHECK(attention_parameter_count({8, 1, 1, true}) == 256 + 32);
}

TEST_CASE("GPT-2 small and medium, as published", "[attention_parameter_count]") {
  // GPT-2 small: per layer c_attn 768 x 2304 + 2304 and c_proj 768 x 768 + 768.
  CHECK(attention_parameter_count({768, 12, 1, true}) == 768 * 2304 + 2304 + 768 * 768 + 768);
  CHECK(attention_parameter_count({768, 12, 12, true}) == 28'348'416);
  CHECK(attention_parameter_count({1024, 16, 24, true}) == 100'761'600);  // GPT-2 medium
}

TEST_CASE("the count does not depend on the number of heads", "[attention_parameter_count]") {
  for (qkv::Index heads : {1, 2, 3, 4, 6, 8, 12, 16, 24}) {
    INFO("d_model 48, " << heads << " heads, 2 layers, biases, against 1 head");
    CHECK(attention_parameter_count({48, heads, 2, true}) ==
          attention_parameter_count({48, 1, 2, true}));
  }
}

TEST_CASE("large models overflow a 32-bit int", "[attention_parameter_count]") {
  // LLaMA-7B's attention (d_model 4096, 32 heads, 32 layers, no biases): 4 * 4096^2 * 32.
  CHECK(attention_parameter_count({4096, 32, 32, false}) == 2'147'483'648);
}

TEST_CASE("sizes must be positive and the heads must divide d_model",
          "[attention_parameter_count]") {
  CHECK_THROWS_AS(attention_parameter_count({768, 7, 12, true}), qkv::ValueError);
  CHECK_THROWS_AS(attention_parameter_count({0, 1, 1, false}), qkv::ValueError);
  CHECK_THROWS_AS(attention_parameter_count({8, 0, 1, false}), qkv::ValueError);
  CHECK_THROWS_AS(attention_parameter_count({8, 2, 0, false}), qkv::ValueError);
}
