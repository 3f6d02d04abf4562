// Checks exercise stack_heads: heads stacked into one (h T) x d_head matrix, and back.

#include "stack_heads.hpp"

#include <optional>
#include <tuple>

#include "qkv/attention.hpp"
#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"

using qkv::Index;
using qkv::Matrix;
using qkv::exercises::stack_heads;
using qkv::exercises::unstack_heads;
using qkv::testing::equals;

TEST_CASE("stack_heads puts head after head, by hand", "[stack_heads]") {
  const Matrix x = qkv::matrix_from_rows({{1, 2, 3, 4}, {5, 6, 7, 8}});
  const Matrix two = stack_heads(x, 2);
  CHECK_THAT(two, equals(qkv::matrix_from_rows({{1, 2}, {5, 6}, {3, 4}, {7, 8}})));
  CHECK_THAT(stack_heads(x, 4),
             equals(qkv::matrix_from_rows({{1}, {5}, {2}, {6}, {3}, {7}, {4}, {8}})));
  CHECK_THAT(stack_heads(x, 1), equals(x));
  CHECK_THAT(unstack_heads(two, 2), equals(x));
  CHECK_THAT(unstack_heads(qkv::matrix_from_rows({{1}, {5}, {2}, {6}, {3}, {7}, {4}, {8}}), 4),
             equals(x));
}

TEST_CASE("stack_heads holds split_heads' blocks, and unstack_heads undoes it", "[stack_heads]") {
  qkv::Random random(11);
  for (auto [tokens, d_model, heads] :
       {std::tuple<Index, Index, Index>{1, 6, 3}, {5, 8, 2}, {7, 12, 12}, {4, 16, 1}, {3, 24, 4}}) {
    INFO("T = " << tokens << ", d_model = " << d_model << ", h = " << heads);
    const Matrix x = qkv::random_normal(random, tokens, d_model);
    const Matrix stacked = stack_heads(x, heads);
    REQUIRE(stacked.rows() == heads * tokens);
    REQUIRE(stacked.cols() == d_model / heads);
    const auto parts = qkv::split_heads(x, heads);
    for (Index i = 0; i < heads; ++i) {
      INFO("rows " << i * tokens << ".." << (i + 1) * tokens - 1 << " against split_heads' head "
                   << i);
      CHECK_THAT(stacked.middleRows(i * tokens, tokens),
                 equals(parts[static_cast<std::size_t>(i)]));
    }
    CHECK_THAT(unstack_heads(stacked, heads), equals(x));  // copies only: exact
    CHECK_THAT(stack_heads(unstack_heads(stacked, heads), heads), equals(stacked));
  }
}

TEST_CASE("one attention call on stacked heads with a block-diagonal mask is all h heads",
          "[stack_heads]") {
  const Index tokens = 5, d_model = 12, heads = 3;
  qkv::Random random(12);
  const Matrix x = qkv::random_normal(random, tokens, d_model);
  const qkv::MultiHeadWeights w = qkv::random_multi_head_weights(random, d_model, heads);
  for (bool causal : {false, true}) {
    INFO((causal ? "causal" : "no mask"));
    // Query row i T + a (head i, token a) may see key row j T + b only when i == j, and,
    // with the causal mask, b <= a.
    qkv::Mask block(heads * tokens, heads * tokens);
    for (Index r = 0; r < heads * tokens; ++r)
      for (Index c = 0; c < heads * tokens; ++c)
        block(r, c) = r / tokens == c / tokens && (!causal || c % tokens <= r % tokens);
    const Matrix q = stack_heads(x * w.w_q, heads);
    const Matrix k = stack_heads(x * w.w_k, heads);
    const Matrix v = stack_heads(x * w.w_v, heads);
    // d_k = d_head: the same sqrt(d_head) scale as every head.
    const auto once = qkv::scaled_dot_product_attention(q, k, v, block);
    const auto expected = qkv::multi_head_attention(
        x, w, causal ? std::optional<qkv::Mask>(qkv::causal_mask(tokens)) : std::nullopt);
    CHECK_THAT(unstack_heads(once.output, heads), qkv::testing::is_close(expected.concat));
    for (Index i = 0; i < heads; ++i) {
      INFO("diagonal block " << i << " of the weights, against head " << i << "'s weights");
      CHECK_THAT(once.weights.block(i * tokens, i * tokens, tokens, tokens),
                 qkv::testing::is_close(expected.weights[static_cast<std::size_t>(i)]));
    }
  }
}

TEST_CASE("stack_heads and unstack_heads reject a head count that does not divide",
          "[stack_heads]") {
  const Matrix x = Matrix::Zero(3, 8);
  CHECK_THROWS_AS(stack_heads(x, 3), qkv::ValueError);
  CHECK_THROWS_AS(stack_heads(x, 0), qkv::ValueError);
  CHECK_THROWS_AS(stack_heads(x, -2), qkv::ValueError);
  CHECK_THROWS_AS(unstack_heads(Matrix::Zero(9, 2), 2), qkv::ValueError);
  CHECK_THROWS_AS(unstack_heads(Matrix::Zero(9, 2), 0), qkv::ValueError);
}
