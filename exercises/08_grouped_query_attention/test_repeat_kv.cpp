// Checks exercise repeat_kv: by hand, and the property it is for: multi-head attention
// (chapter 05's attend_heads) over the expanded keys and values is grouped-query attention.

#include "repeat_kv.hpp"

#include "qkv/catch.hpp"
#include "qkv/error.hpp"
#include "qkv/expect.hpp"
#include "qkv/grouped_query.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"

using qkv::Index;
using qkv::Matrix;
using qkv::exercises::repeat_kv;
using qkv::testing::equals;

TEST_CASE("repeat_kv: each kv head copied for every query head of its group, by hand",
          "[repeat_kv]") {
  const Matrix kv = qkv::matrix_from_rows({{1, 10}, {2, 20}});
  // Consecutive query heads share: 0, 0, 1, 1 (not 0, 1, 0, 1).
  CHECK_THAT(repeat_kv(kv, 4, 2), equals(qkv::matrix_from_rows({{1, 1, 10, 10}, {2, 2, 20, 20}})));
  // d_head 2, 3 kv heads, 6 query heads: heads 0 1 | 2 3 | 4 5 read kv heads 0 | 1 | 2.
  const Matrix wide = qkv::matrix_from_rows({{1, 2, 3, 4, 5, 6}});
  CHECK_THAT(repeat_kv(wide, 6, 3),
             equals(qkv::matrix_from_rows({{1, 2, 1, 2, 3, 4, 3, 4, 5, 6, 5, 6}})));
  // Multi-query: one kv head for all; kv_heads = heads: nothing to copy.
  CHECK_THAT(repeat_kv(kv.leftCols(1), 3, 1),
             equals(qkv::matrix_from_rows({{1, 1, 1}, {2, 2, 2}})));
  CHECK_THAT(repeat_kv(kv, 2, 2), equals(kv));
}

TEST_CASE("multi-head attention over repeat_kv's heads is grouped-query attention", "[repeat_kv]") {
  qkv::Random random(1308);
  for (const auto& [heads, kv_heads] : {std::pair<Index, Index>{8, 2}, {4, 1}, {6, 3}, {4, 4}}) {
    INFO("heads " << heads << ", kv_heads " << kv_heads);
    const Index d_head = 2, d_model = heads * d_head;
    const qkv::GroupedWeights w =
        qkv::random_grouped_weights(random, d_model, heads, kv_heads, d_head);
    const Matrix x = qkv::random_normal(random, 5, d_model);
    const Matrix q = x * w.w_q, k = x * w.w_k, v = x * w.w_v;
    // attend_heads only reads heads and W_o (and checks that all four are d_model square).
    const qkv::MultiHeadWeights mh{w.w_q, w.w_q, w.w_q, w.w_o, heads};
    const qkv::Mask causal = qkv::causal_mask(5);
    const Matrix expected = qkv::grouped_attend_heads(q, k, v, w, causal).output;
    const Matrix expanded_k = repeat_kv(k, heads, kv_heads);
    REQUIRE(expanded_k.rows() == 5);
    REQUIRE(expanded_k.cols() == d_model);
    // The same core on the same columns: equal to the bit.
    CHECK_THAT(qkv::attend_heads(q, expanded_k, repeat_kv(v, heads, kv_heads), mh, causal).output,
               equals(expected));
  }
}

TEST_CASE("repeat_kv rejects head counts that do not divide", "[repeat_kv]") {
  const Matrix kv = Matrix::Zero(3, 6);
  CHECK_THROWS_AS(repeat_kv(kv, 4, 3), qkv::ValueError);  // 3 does not divide 4
  CHECK_THROWS_AS(repeat_kv(kv, 8, 4), qkv::ValueError);  // 4 does not divide 6 columns
  CHECK_THROWS_AS(repeat_kv(kv, 0, 1), qkv::ValueError);
  CHECK_THROWS_AS(repeat_kv(kv, 2, 0), qkv::ValueError);
}
