// Checks exercise log_softmax_rows: ln(softmax) by log-sum-exp, finite where the log of the
// weights is not.

#include "log_softmax_rows.hpp"

#include <cmath>
#include <limits>

#include "qkv/catch.hpp"
#include "qkv/golden.hpp"
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
  CHECK(qkv::exercises::log_softmax_rows(qkv::matrix_from_rows({{-3}})) ==
        qkv::matrix_from_rows({{0}}));
}

TEST_CASE("exp of log_softmax_rows is softmax_rows", "[log_softmax_rows]") {
  qkv::Random random(15);
  const Matrix scores = qkv::random_normal(random, 5, 9, 3.0);
  const Matrix l = qkv::exercises::log_softmax_rows(scores);
  REQUIRE(l.rows() == 5);
  REQUIRE(l.cols() == 9);
  qkv::testing::check_matrix_close(Matrix(l.array().exp()), qkv::softmax_rows(scores), 1e-5, 1e-7,
                                   "exp(log_softmax)");
  // Every row's weights sum to 1, so every row's log-sum-exp is 0.
  for (Index i = 0; i < 5; ++i)
    CHECK_THAT(std::log(l.row(i).array().exp().sum()), WithinAbs(0.0, 1e-6));
}

TEST_CASE("log_softmax stays finite where log(softmax) is -inf", "[log_softmax_rows]") {
  const Matrix scores = qkv::matrix_from_rows({{0, -200}, {1000, -1000}});
  CHECK(std::isinf(std::log(qkv::softmax_rows(scores)(0, 1))));  // e^-200 underflows to 0
  const Matrix l = qkv::exercises::log_softmax_rows(scores);
  CHECK(l.allFinite());
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
