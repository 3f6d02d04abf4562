// Checks exercise alibi_bias: ALiBi's slopes by hand, its bias by hand, and the property it is
// for: the bias depends only on how far a key lies behind the query, wherever the two are.

#include "alibi_bias.hpp"

#include <cmath>
#include <limits>

#include "qkv/catch.hpp"
#include "qkv/error.hpp"
#include "qkv/expect.hpp"
#include "qkv/softmax.hpp"

using qkv::Index;
using qkv::Matrix;
using qkv::exercises::alibi_bias;
using qkv::exercises::alibi_slopes;
using qkv::testing::equals;
using qkv::testing::is_close;

namespace {
constexpr float inf = std::numeric_limits<float>::infinity();
}  // namespace

TEST_CASE("alibi_slopes: 2^(-8 (h+1) / H), by hand", "[alibi_bias]") {
  // Powers of two: exact in float.
  CHECK_THAT(alibi_slopes(8), equals(qkv::vector_of({1.f / 2, 1.f / 4, 1.f / 8, 1.f / 16, 1.f / 32,
                                                     1.f / 64, 1.f / 128, 1.f / 256})));
  CHECK_THAT(alibi_slopes(4), equals(qkv::vector_of({1.f / 4, 1.f / 16, 1.f / 64, 1.f / 256})));
  CHECK_THAT(alibi_slopes(1), equals(qkv::vector_of({1.f / 256})));
  // 12 heads: 2^(-2/3), 2^(-4/3), ..., 2^(-8).
  qkv::Vector twelve(12);
  for (Index h = 0; h < 12; ++h) twelve(h) = std::exp2(-8.f * static_cast<float>(h + 1) / 12.f);
  CHECK_THAT(alibi_slopes(12), is_close(twelve, 1e-6, 0));
  CHECK_THROWS_AS(alibi_slopes(0), qkv::ValueError);
}

TEST_CASE("alibi_bias: minus slope times the distance, -inf ahead, by hand", "[alibi_bias]") {
  CHECK_THAT(alibi_bias(3, 3, 0.5f),
             equals(qkv::matrix_from_rows({{0, -inf, -inf}, {-0.5f, 0, -inf}, {-1, -0.5f, 0}})));
  // One decoding query over 4 keys is position 3, the last: it sees every key.
  CHECK_THAT(alibi_bias(1, 4, 0.5f), equals(qkv::matrix_from_rows({{-1.5f, -1, -0.5f, 0}})));
  // Two queries, the last two of five positions.
  CHECK_THAT(alibi_bias(2, 5, 0.25f),
             equals(qkv::matrix_from_rows(
                 {{-0.75f, -0.5f, -0.25f, 0, -inf}, {-1, -0.75f, -0.5f, -0.25f, 0}})));
  CHECK(alibi_bias(0, 3, 1).rows() == 0);
  CHECK(alibi_bias(0, 3, 1).cols() == 3);
}

TEST_CASE("alibi_bias depends on the offset only: the same wherever the pair stands",
          "[alibi_bias]") {
  const float slope = alibi_slopes(8)(2);  // 1/8
  const Matrix square = alibi_bias(40, 40, slope);
  for (Index i = 0; i < 40; ++i)
    for (Index j = 0; j <= i; ++j) {
      INFO("query " << i << ", key " << j);
      CHECK(square(i, j) == -slope * static_cast<float>(i - j));
    }
  // Shifting query and key by c changes nothing: every diagonal is constant.
  for (Index c : {1, 7, 20})
    CHECK_THAT(Matrix(square.bottomRightCorner(40 - c, 40 - c)),
               equals(Matrix(square.topLeftCorner(40 - c, 40 - c))));
  // A decoding chunk is the last rows of the full bias: the same penalty per distance.
  CHECK_THAT(alibi_bias(3, 40, slope), equals(Matrix(square.bottomRows(3))));
  CHECK_THAT(alibi_bias(1, 40, slope), equals(Matrix(square.bottomRows(1))));
}

TEST_CASE("with equal scores, ALiBi's weights fall by e^-m per position back", "[alibi_bias]") {
  // Scores all 0: the weights are the softmax of the bias alone.
  const float slope = 0.5f;
  const Matrix weights = qkv::softmax_rows(alibi_bias(6, 6, slope));
  for (Index i = 1; i < 6; ++i)
    for (Index j = 1; j <= i; ++j) {
      INFO("query " << i << ", key " << j);
      CHECK_THAT(weights(i, j - 1) / weights(i, j),
                 Catch::Matchers::WithinRel(std::exp(-0.5f), 1e-5f));
    }
  CHECK(weights(0, 0) == 1.f);  // the first token sees only itself
  CHECK(weights(2, 3) == 0.f);  // and nothing sees ahead
}

TEST_CASE("alibi_bias rejects impossible sizes and slopes", "[alibi_bias]") {
  CHECK_THROWS_AS(alibi_bias(4, 3, 0.5f), qkv::ValueError);  // more queries than positions
  CHECK_THROWS_AS(alibi_bias(-1, 3, 0.5f), qkv::ValueError);
  CHECK_THROWS_AS(alibi_bias(2, 3, 0.f), qkv::ValueError);
  CHECK_THROWS_AS(alibi_bias(2, 3, -1.f), qkv::ValueError);
  CHECK_THROWS_AS(alibi_bias(2, 3, std::nanf("")), qkv::ValueError);
}
