// Checks exercise combine_masks: the AND of two masks, and the rows left seeing nothing.

#include "combine_masks.hpp"

#include <optional>

#include "qkv/attention.hpp"
#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/random.hpp"

using qkv::Index;
using qkv::Mask;
using qkv::exercises::combine_masks;
using qkv::exercises::fully_masked_rows;
using qkv::testing::equals;
using qkv::testing::mask_from_rows;

TEST_CASE("combine_masks allows a key only where both masks do", "[combine_masks]") {
  const Mask a = mask_from_rows({{1, 0}, {1, 1}});
  const Mask b = mask_from_rows({{1, 1}, {0, 0}});
  CHECK_THAT(combine_masks(a, b), equals(mask_from_rows({{1, 0}, {0, 0}})));
  CHECK_THAT(combine_masks(b, a), equals(mask_from_rows({{1, 0}, {0, 0}})));
  CHECK_THAT(combine_masks(a, a), equals(a));
  CHECK_THAT(combine_masks(a, Mask::Constant(2, 2, true)), equals(a));
  CHECK_THAT(combine_masks(a, Mask::Constant(2, 2, false)), equals(Mask::Constant(2, 2, false)));
  // Not square: two queries at the end of four positions, the last key padding.
  CHECK_THAT(combine_masks(qkv::causal_mask(2, 4), mask_from_rows({{1, 1, 1, 0}, {1, 1, 1, 0}})),
             equals(mask_from_rows({{1, 1, 1, 0}, {1, 1, 1, 0}})));
}

TEST_CASE("causal and right padding: no row is left empty", "[combine_masks]") {
  // Right padding: the real tokens come first, so key 0 is real and every row sees it.
  const Mask combined = combine_masks(qkv::causal_mask(5), qkv::padding_mask(5, 3));
  CHECK_THAT(
      combined,
      equals(mask_from_rows(
          {{1, 0, 0, 0, 0}, {1, 1, 0, 0, 0}, {1, 1, 1, 0, 0}, {1, 1, 1, 0, 0}, {1, 1, 1, 0, 0}})));
  CHECK(fully_masked_rows(combined) == std::vector<Index>{});
}

TEST_CASE("causal and left padding: the padded queries see nothing", "[combine_masks]") {
  // Left padding (common when generating for a batch): 2 pads, then 3 real tokens. Every
  // query sees keys 2..4 only; with the causal mask, queries 0 and 1 see nothing at all.
  Mask left_padding(5, 5);
  for (Index i = 0; i < 5; ++i)
    for (Index j = 0; j < 5; ++j) left_padding(i, j) = j >= 2;
  const Mask combined = combine_masks(qkv::causal_mask(5), left_padding);
  CHECK_THAT(
      combined,
      equals(mask_from_rows(
          {{0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}, {0, 0, 1, 0, 0}, {0, 0, 1, 1, 0}, {0, 0, 1, 1, 1}})));
  CHECK(fully_masked_rows(combined) == std::vector<Index>{0, 1});

  // What attention makes of those rows: zeros, never NaN.
  qkv::Random random(4);
  const qkv::Matrix q = qkv::random_normal(random, 5, 3), k = qkv::random_normal(random, 5, 3),
                    v = qkv::random_normal(random, 5, 2);
  const auto result = qkv::scaled_dot_product_attention(q, k, v, std::optional<Mask>(combined));
  CHECK_THAT(result.output, qkv::testing::all_finite());
  for (Index row : fully_masked_rows(combined)) {
    INFO("output row " << row << ", a query that sees nothing");
    CHECK_THAT(qkv::Matrix(result.output.row(row)), equals(qkv::Matrix::Zero(1, 2)));
  }
}

TEST_CASE("fully_masked_rows lists every empty row in order", "[combine_masks]") {
  CHECK(fully_masked_rows(qkv::query_key_padding_mask(6, 4)) == std::vector<Index>{4, 5});
  CHECK(fully_masked_rows(qkv::query_key_padding_mask(3, 0)) == std::vector<Index>{0, 1, 2});
  CHECK(fully_masked_rows(qkv::causal_mask(4)) == std::vector<Index>{});
  CHECK(fully_masked_rows(mask_from_rows({{0, 0, 0}, {0, 1, 0}, {0, 0, 0}, {1, 0, 0}})) ==
        std::vector<Index>{0, 2});
  CHECK(fully_masked_rows(Mask(0, 0)) == std::vector<Index>{});
  // A row with no keys at all (T_k = 0) sees nothing.
  CHECK(fully_masked_rows(Mask(2, 0)) == std::vector<Index>{0, 1});
}

TEST_CASE("combine_masks rejects masks of different shapes", "[combine_masks]") {
  CHECK_THROWS_AS(combine_masks(qkv::causal_mask(3), qkv::causal_mask(4)), qkv::ShapeError);
  CHECK_THROWS_AS(combine_masks(qkv::causal_mask(2, 3), qkv::causal_mask(3)), qkv::ShapeError);
  // The same rows, not the same columns (and the other way round).
  CHECK_THROWS_AS(combine_masks(qkv::causal_mask(3), qkv::causal_mask(3, 4)), qkv::ShapeError);
  CHECK_THROWS_AS(combine_masks(qkv::causal_mask(3, 4), qkv::causal_mask(4)), qkv::ShapeError);
  CHECK_THROWS_WITH(combine_masks(qkv::causal_mask(3), qkv::causal_mask(4)),
                    qkv::testing::contains("combine_masks") && qkv::testing::contains("3x3") &&
                        qkv::testing::contains("4x4"));
}
