// Checks exercise weights_sum_to_one: row softmax passes, column softmax and broken weights
// fail.

#include "weights_sum_to_one.hpp"

#include <cmath>
#include <optional>
#include <string>

#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/random.hpp"
#include "qkv/softmax.hpp"

using qkv::Matrix;
using qkv::exercises::weights_sum_to_one;

namespace {
// The bug this check exists for: softmax over each column instead of each row.
Matrix column_softmax(const Matrix& scores) {
  return qkv::softmax_rows(scores.transpose()).transpose();
}

// The function under test as matchers, so that a failure prints the weights it judged
// (CHECK(weights_sum_to_one(w)) would print only "false").
std::string call(std::optional<float> tolerance) {
  return "weights_sum_to_one(weights" +
         (tolerance ? ", " + std::to_string(*tolerance) : std::string()) + ")";
}
bool judge(const Matrix& weights, std::optional<float> tolerance) {
  return tolerance ? weights_sum_to_one(weights, *tolerance) : weights_sum_to_one(weights);
}
auto accepted(std::optional<float> tolerance = std::nullopt) {
  return qkv::testing::satisfies<Matrix>(
      "is accepted: " + call(tolerance) + " must return true for these weights",
      [tolerance](const Matrix& weights) { return judge(weights, tolerance); });
}
auto rejected(std::optional<float> tolerance = std::nullopt) {
  return qkv::testing::does_not_satisfy<Matrix>(
      "is rejected: " + call(tolerance) + " must return false for these weights",
      [tolerance](const Matrix& weights) { return judge(weights, tolerance); });
}
}  // namespace

TEST_CASE("row softmax weights pass", "[weights_sum_to_one]") {
  qkv::Random random(16);
  for (const auto& [rows, cols] :
       {std::pair{3, 5}, std::pair{6, 6}, std::pair{1, 1}, std::pair{8, 2}}) {
    CHECK_THAT(qkv::softmax_rows(qkv::random_normal(random, rows, cols)), accepted());
  }
  CHECK_THAT(Matrix::Constant(4, 4, 0.25f), accepted());
  CHECK_THAT(qkv::matrix_from_rows({{0, 1, 0}, {0.5f, 0, 0.5f}}), accepted());  // zeros are fine
  CHECK_THAT(Matrix(0, 3), accepted());
}

TEST_CASE("a softmax over the wrong axis is caught", "[weights_sum_to_one]") {
  qkv::Random random(17);
  // Non-square: 3 queries, 5 keys. Every column sums to 1, no row does.
  const Matrix wide = qkv::random_normal(random, 3, 5);
  CHECK_THAT(column_softmax(wide), rejected());
  // Square: the shapes cannot give the bug away.
  const Matrix square = qkv::random_normal(random, 6, 6);
  CHECK_THAT(column_softmax(square), rejected());
  // And the right axis of the same scores passes.
  CHECK_THAT(qkv::softmax_rows(square), accepted());
}

TEST_CASE("negative, NaN, infinite or off-by-a-little weights are caught", "[weights_sum_to_one]") {
  CHECK_THAT(qkv::matrix_from_rows({{1.5f, -0.5f}}), rejected());  // sums to 1
  CHECK_THAT(qkv::matrix_from_rows({{0.5f, NAN}}), rejected());
  CHECK_THAT(qkv::matrix_from_rows({{INFINITY, 0}}), rejected());
  CHECK_THAT(qkv::matrix_from_rows({{0.5f, 0.5f}, {0.5f, 0.501f}}), rejected());
  CHECK_THAT(Matrix(2, 0), rejected());  // a row with no keys sums to 0
  // The tolerance is respected both ways.
  CHECK_THAT(qkv::matrix_from_rows({{0.5f, 0.501f}}), accepted(0.01f));
  CHECK_THAT(qkv::matrix_from_rows({{0.5f, 0.5001f}}), rejected(1e-5f));
  // The tolerance is per row: rows each within it pass however many they are, and one row
  // outside it fails however good the others are.
  CHECK_THAT(qkv::matrix_from_rows({{0.5f, 0.506f}, {0.5f, 0.506f}, {0.506f, 0.5f}}),
             accepted(0.01f));
  CHECK_THAT(qkv::matrix_from_rows({{0.5f, 0.5f}, {0.5f, 0.5f}, {0.5f, 0.515f}}), rejected(0.01f));
}
