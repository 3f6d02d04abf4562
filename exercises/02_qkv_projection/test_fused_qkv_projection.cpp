// Checks exercise fused_qkv_projection: [W_q | W_k | W_v] and one product split in three.

#include "fused_qkv_projection.hpp"

#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/random.hpp"

using qkv::Index;
using qkv::Matrix;
using qkv::testing::equals;
using qkv::testing::is_close;

TEST_CASE("fuse_qkv_weights puts W_q, W_k, W_v side by side", "[fused_qkv_projection]") {
  qkv::QkvWeights w{qkv::matrix_from_rows({{1}, {2}}), qkv::matrix_from_rows({{3}, {4}}),
                    qkv::matrix_from_rows({{5}, {6}})};
  CHECK_THAT(qkv::exercises::fuse_qkv_weights(w),
             equals(qkv::matrix_from_rows({{1, 3, 5}, {2, 4, 6}})));

  qkv::Random random(12);
  w = qkv::random_qkv_weights(random, 6, 4);
  const Matrix fused = qkv::exercises::fuse_qkv_weights(w);
  REQUIRE(fused.rows() == 6);
  REQUIRE(fused.cols() == 12);
  CHECK_THAT(fused.leftCols(4), equals(w.w_q));
  CHECK_THAT(fused.middleCols(4, 4), equals(w.w_k));
  CHECK_THAT(fused.rightCols(4), equals(w.w_v));
}

TEST_CASE("one fused product equals the three separate ones", "[fused_qkv_projection]") {
  qkv::Random random(13);
  for (const auto& [tokens, d_model, d_head] :
       std::vector<std::tuple<Index, Index, Index>>{{6, 8, 4}, {1, 5, 2}, {4, 1, 1}, {9, 16, 3}}) {
    INFO("T = " << tokens << ", d_model = " << d_model << ", d_head = " << d_head);
    const Matrix x = qkv::random_normal(random, tokens, d_model);
    const qkv::QkvWeights w = qkv::random_qkv_weights(random, d_model, d_head);
    const qkv::Qkv fused =
        qkv::exercises::fused_qkv_projection(x, qkv::exercises::fuse_qkv_weights(w));
    const qkv::Qkv separate = qkv::project_qkv(x, w);
    CHECK_THAT(fused.q, is_close(separate.q));  // Q
    CHECK_THAT(fused.k, is_close(separate.k));  // K
    CHECK_THAT(fused.v, is_close(separate.v));  // V
  }
}

TEST_CASE("fused projection rejects shapes that do not fit", "[fused_qkv_projection]") {
  const qkv::QkvWeights uneven{Matrix::Ones(4, 2), Matrix::Ones(4, 3), Matrix::Ones(4, 2)};
  CHECK_THROWS_WITH(qkv::exercises::fuse_qkv_weights(uneven),
                    qkv::testing::contains("4x2") && qkv::testing::contains("4x3"));
  CHECK_THROWS_AS(qkv::exercises::fuse_qkv_weights(uneven), qkv::ShapeError);
  CHECK_THROWS_WITH(qkv::exercises::fused_qkv_projection(Matrix::Ones(3, 5), Matrix::Ones(4, 6)),
                    qkv::testing::contains("3x5") && qkv::testing::contains("4x6"));
  CHECK_THROWS_AS(qkv::exercises::fused_qkv_projection(Matrix::Ones(3, 4), Matrix::Ones(4, 7)),
                  qkv::ValueError);
  CHECK_THROWS_AS(qkv::exercises::fused_qkv_projection(Matrix::Ones(3, 4), Matrix(4, 0)),
                  qkv::ValueError);
}
