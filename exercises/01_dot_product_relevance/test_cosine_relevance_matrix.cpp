// Checks exercise cosine_relevance_matrix: C(i, j) = cos(q_i, k_j).

#include "cosine_relevance_matrix.hpp"

#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/random.hpp"
#include "qkv/relevance.hpp"

using qkv::Matrix;

TEST_CASE("cosine_relevance_matrix on vectors with known angles", "[cosine_relevance_matrix]") {
  Matrix queries(2, 2), keys(3, 2);
  queries << 1, 0,  //
      3, 4;
  keys << 0, 5,  // perpendicular to (1, 0)
      -2, 0,     // opposite of (1, 0)
      4, 3;
  const Matrix cosines = qkv::exercises::cosine_relevance_matrix(queries, keys);
  REQUIRE(cosines.rows() == 2);
  REQUIRE(cosines.cols() == 3);
  CHECK_THAT(cosines(0, 0), WithinAbs(0.0, 1e-6));
  CHECK_THAT(cosines(0, 1), WithinAbs(-1.0, 1e-6));
  CHECK_THAT(cosines(0, 2), WithinAbs(0.8, 1e-6));   // 4 / 5
  CHECK_THAT(cosines(1, 0), WithinAbs(0.8, 1e-6));   // 20 / 25
  CHECK_THAT(cosines(1, 1), WithinAbs(-0.6, 1e-6));  // -6 / 10
  CHECK_THAT(cosines(1, 2), WithinAbs(0.96, 1e-6));  // 24 / 25
}

TEST_CASE("cosine_relevance_matrix matches chapter 01 and ignores lengths",
          "[cosine_relevance_matrix]") {
  qkv::Random random(9);
  const Matrix queries = qkv::random_normal(random, 3, 5);
  Matrix keys = qkv::random_normal(random, 4, 5);
  const Matrix cosines = qkv::exercises::cosine_relevance_matrix(queries, keys);
  REQUIRE(cosines.rows() == 3);
  REQUIRE(cosines.cols() == 4);
  for (qkv::Index i = 0; i < 3; ++i) {
    INFO("row " << i << " of C, against cosine_scores(q_" << i << ", K)");
    const qkv::Vector expected = qkv::cosine_scores(queries.row(i).transpose(), keys);
    CHECK_THAT(qkv::Vector(cosines.row(i).transpose()), qkv::testing::is_close(expected, 0, 1e-5));
  }
  INFO("key 1 made 25 times longer: the cosines must not change");
  keys.row(1) *= 25.0f;
  const Matrix rescaled = qkv::exercises::cosine_relevance_matrix(queries, keys);
  CHECK_THAT(rescaled, qkv::testing::is_close(cosines, 1e-5, 1e-6));
}

TEST_CASE("cosine_relevance_matrix rejects bad shapes and zero vectors",
          "[cosine_relevance_matrix]") {
  CHECK_THROWS_WITH(qkv::exercises::cosine_relevance_matrix(Matrix::Ones(2, 3), Matrix::Ones(2, 4)),
                    qkv::testing::contains("2x3") && qkv::testing::contains("2x4"));
  Matrix keys = Matrix::Ones(3, 3);
  keys.row(1).setZero();
  CHECK_THROWS_AS(qkv::exercises::cosine_relevance_matrix(Matrix::Ones(2, 3), keys),
                  qkv::ValueError);
}
