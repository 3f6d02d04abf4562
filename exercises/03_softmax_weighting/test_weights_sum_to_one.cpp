// Checks exercise weights_sum_to_one: row softmax passes, column softmax and broken weights
// fail.

#include "weights_sum_to_one.hpp"

#include <cmath>

#include "qkv/catch.hpp"
#include "qkv/random.hpp"
#include "qkv/softmax.hpp"

using qkv::Matrix;
using qkv::exercises::weights_sum_to_one;

namespace {
// The bug this check exists for: softmax over each column instead of each row.
Matrix column_softmax(const Matrix& scores) {
  return qkv::softmax_rows(scores.transpose()).transpose();
}
}  // namespace

TEST_CASE("row softmax weights pass", "[weights_sum_to_one]") {
  qkv::Random random(16);
  for (const auto& [rows, cols] :
       {std::pair{3, 5}, std::pair{6, 6}, std::pair{1, 1}, std::pair{8, 2}}) {
    CHECK(weights_sum_to_one(qkv::softmax_rows(qkv::random_normal(random, rows, cols))));
  }
  CHECK(weights_sum_to_one(Matrix::Constant(4, 4, 0.25f)));
  CHECK(weights_sum_to_one(qkv::matrix_from_rows({{0, 1, 0}, {0.5f, 0, 0.5f}})));  // zeros are fine
  CHECK(weights_sum_to_one(Matrix(0, 3)));
}

TEST_CASE("a softmax over the wrong axis is caught", "[weights_sum_to_one]") {
  qkv::Random random(17);
  // Non-square: 3 queries, 5 keys. Every column sums to 1, no row does.
  const Matrix wide = qkv::random_normal(random, 3, 5);
  CHECK_FALSE(weights_sum_to_one(column_softmax(wide)));
  // Square: the shapes cannot give the bug away.
  const Matrix square = qkv::random_normal(random, 6, 6);
  CHECK_FALSE(weights_sum_to_one(column_softmax(square)));
  // And the right axis of the same scores passes.
  CHECK(weights_sum_to_one(qkv::softmax_rows(square)));
}

TEST_CASE("negative, NaN, infinite or off-by-a-little weights are caught", "[weights_sum_to_one]") {
  CHECK_FALSE(weights_sum_to_one(qkv::matrix_from_rows({{1.5f, -0.5f}})));  // sums to 1
  CHECK_FALSE(weights_sum_to_one(qkv::matrix_from_rows({{0.5f, NAN}})));
  CHECK_FALSE(weights_sum_to_one(qkv::matrix_from_rows({{INFINITY, 0}})));
  CHECK_FALSE(weights_sum_to_one(qkv::matrix_from_rows({{0.5f, 0.5f}, {0.5f, 0.501f}})));
  CHECK_FALSE(weights_sum_to_one(Matrix(2, 0)));  // a row with no keys sums to 0
  // The tolerance is respected both ways.
  CHECK(weights_sum_to_one(qkv::matrix_from_rows({{0.5f, 0.501f}}), 0.01f));
  CHECK_FALSE(weights_sum_to_one(qkv::matrix_from_rows({{0.5f, 0.5001f}}), 1e-5f));
}
