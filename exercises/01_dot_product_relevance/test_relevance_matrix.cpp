// Checks exercise relevance_matrix: S = Q K^T.

#include "relevance_matrix.hpp"

#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/random.hpp"
#include "qkv/relevance.hpp"

using qkv::Matrix;

TEST_CASE("relevance_matrix of a 2x3 Q and a 3x3 K, computed by hand", "[relevance_matrix]") {
  Matrix queries(2, 3), keys(3, 3);
  queries << 1, 0, 2,  //
      0, 1, -1;
  keys << 1, 1, 1,  //
      2, 0, 0,      //
      0, 3, 1;
  const Matrix scores = qkv::exercises::relevance_matrix(queries, keys);
  REQUIRE(scores.rows() == 2);
  REQUIRE(scores.cols() == 3);
  // q_0 = (1, 0, 2): 1+0+2 = 3, 2+0+0 = 2, 0+0+2 = 2
  CHECK(scores(0, 0) == 3.0f);
  CHECK(scores(0, 1) == 2.0f);
  CHECK(scores(0, 2) == 2.0f);
  // q_1 = (0, 1, -1): 0+1-1 = 0, 0, 0+3-1 = 2
  CHECK(scores(1, 0) == 0.0f);
  CHECK(scores(1, 1) == 0.0f);
  CHECK(scores(1, 2) == 2.0f);
  CHECK_THAT(scores, qkv::testing::equals(qkv::matrix_from_rows({{3, 2, 2}, {0, 0, 2}})));
}

TEST_CASE("relevance_matrix row i equals chapter 01's scores for query i", "[relevance_matrix]") {
  qkv::Random random(7);
  const Matrix queries = qkv::random_normal(random, 4, 6);
  const Matrix keys = qkv::random_normal(random, 5, 6);
  const Matrix scores = qkv::exercises::relevance_matrix(queries, keys);
  REQUIRE(scores.rows() == 4);
  REQUIRE(scores.cols() == 5);
  for (qkv::Index i = 0; i < queries.rows(); ++i) {
    INFO("row " << i << " of S, against relevance_scores(q_" << i << ", K)");
    const qkv::Vector expected = qkv::relevance_scores(queries.row(i).transpose(), keys);
    CHECK_THAT(qkv::Vector(scores.row(i).transpose()), qkv::testing::is_close(expected, 0, 1e-5));
  }
}

TEST_CASE("relevance_matrix rejects queries and keys of different dimensions",
          "[relevance_matrix]") {
  CHECK_THROWS_AS(qkv::exercises::relevance_matrix(Matrix::Ones(2, 3), Matrix::Ones(4, 5)),
                  qkv::ShapeError);
  CHECK_THROWS_WITH(qkv::exercises::relevance_matrix(Matrix::Ones(2, 3), Matrix::Ones(4, 5)),
                    qkv::testing::contains("2x3") && qkv::testing::contains("4x5"));
}
