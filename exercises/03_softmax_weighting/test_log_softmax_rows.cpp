// Checks exercise log_softmax_rows: ln(softmax) by log-sum-exp, finite where the log of the
// weights is not.

#include "log_softmax_rows.hpp"

#include <cmath>
#include <limits>

#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/random.hpp"
#include "qkv/softmax.hpp"

using qkv::Index;
using qkv::Matrix;

TEST_CASE("log_softmax_rows by hand", "[log_softmax_rows]") {
  // softmax(0, ln 3) = (1/4, 3/4).
  const Matrix l = qkv::exercises::log_softmax_rows(qkv::matrix_from_rows({{0, std::log(3.0f)}}));
  CHECK_THAT(l(0, 0), WithinAbs(std::log(0.25), 1e-6));
  CHECK_THAT(l(0, 1), WithinAbs(std::log(0.75), 1e-6));
  // Equal scores: ln(1/T) each, however large the scores.
  const Matrix equal = qkv::exercises::log_softmax_rows(qkv::matrix_from_rows({{1000, 1000}}));
  CHECK_THAT(equal(0, 0), WithinAbs(-std::log(2.0), 1e-6));
  CHECK_THAT(equal(0, 1), WithinAbs(-std::log(2.0), 1e-6));
  CHECK_THAT(qkv::exercises::log_softmax_rows(qkv::matrix_from_rows({{-3}})),
             qkv::testing::equals(qkv::matrix_from_rows({{0}})));
}

TEST_CASE("exp of log_softmax_rows is softmax_rows", "[log_softmax_rows]") {
  qkv::Random random(15);
  const Matrix scores = qkv::random_normal(random, 5, 9, 3.0);
  const Matrix l = qkv::exercises::log_softmax_rows(scores);
  REQUIRE(l.rows() == 5);
  REQUIRE(l.cols() == 9);
  INFO("exp(log_softmax_rows(S)) against softmax_rows(S)");
  CHECK_THAT(Matrix(l.array().exp()),
             qkv::testing::is_close(qkv::softmax_rows(scores), 1e-5, 1e-7));
  // Every row's weights sum to 1, so every row's log-sum-exp is 0.
  for (Index i = 0; i < 5; ++i) {
    INFO("log of the sum of the weights of row " << i);
    CHECK_THAT(std::log(l.row(i).array().exp().sum()), WithinAbs(0.0, 1e-6));
  }
}

TEST_CASE("log_softmax stays finite where log(softmax) is -inf", "[log_softmax_rows]") {
  const Matrix scores = qkv::matrix_from_rows({{0, -200}, {1000, -1000}});
  // e^-200 underflows to 0 in float, so the log of the weight is -inf.
  CHECK(std::log(qkv::softmax_rows(scores)(0, 1)) == -std::numeric_limits<float>::infinity());
  const Matrix l = qkv::exercises::log_softmax_rows(scores);
  CHECK_THAT(l, qkv::testing::all_finite());
  CHECK_THAT(l(0, 1), WithinAbs(-200.0, 1e-4));
  CHECK_THAT(l(1, 1), WithinAbs(-2000.0, 1e-3));
  CHECK_THAT(l(1, 0), WithinAbs(0.0, 1e-6));
}

TEST_CASE("masked scores give -inf, and a row with nothing finite is an error",
          "[log_softmax_rows]") {
  const float inf = std::numeric_limits<float>::infinity();
  const Matrix l = qkv::exercises::log_softmax_rows(qkv::matrix_from_rows({{-inf, 2, 2}}));
  CHECK(l(0, 0) == -inf);
  CHECK_THAT(l(0, 1), WithinAbs(-std::log(2.0), 1e-6));
  CHECK_THROWS_AS(qkv::exercises::log_softmax_rows(qkv::matrix_from_rows({{1, 2}, {-inf, -inf}})),
                  qkv::ValueError);
  CHECK_THROWS_AS(qkv::exercises::log_softmax_rows(qkv::matrix_from_rows({{1, NAN}})),
                  qkv::ValueError);
}
