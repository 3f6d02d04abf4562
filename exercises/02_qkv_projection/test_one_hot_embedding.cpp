// Checks exercise one_hot_embedding: one-hot rows, and H E = the embedding lookup.

#include "one_hot_embedding.hpp"

#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/projection.hpp"
#include "qkv/random.hpp"

using qkv::Index;
using qkv::Matrix;
using qkv::testing::equals;

TEST_CASE("one_hot puts a single 1 per row, in the token's column", "[one_hot_embedding]") {
  // "the cat sat on the mat": ids 0 1 2 3 0 4 in a vocabulary of 5 words.
  const Matrix h = qkv::exercises::one_hot({0, 1, 2, 3, 0, 4}, 5);
  CHECK_THAT(h, equals(qkv::matrix_from_rows({{1, 0, 0, 0, 0},
                                              {0, 1, 0, 0, 0},
                                              {0, 0, 1, 0, 0},
                                              {0, 0, 0, 1, 0},
                                              {1, 0, 0, 0, 0},
                                              {0, 0, 0, 0, 1}})));
  CHECK_THAT(qkv::exercises::one_hot({2}, 3), equals(qkv::matrix_from_rows({{0, 0, 1}})));
  const Matrix empty = qkv::exercises::one_hot({}, 4);
  CHECK(empty.rows() == 0);
  CHECK(empty.cols() == 4);
}

TEST_CASE("one-hot rows times the table is the embedding lookup", "[one_hot_embedding]") {
  qkv::Random random(14);
  const Matrix table = qkv::random_normal(random, 7, 6);
  const std::vector<Index> ids{3, 0, 6, 3, 2};
  const Matrix h = qkv::exercises::one_hot(ids, 7);
  // Each entry of H E is one table entry times 1 plus zeros: exact in float.
  CHECK_THAT(Matrix(h * table), equals(qkv::embed(table, ids)));
  // Every row sums to 1, every column counts how often its word occurs.
  CHECK_THAT(Matrix(h.rowwise().sum()), equals(Matrix::Ones(5, 1)));
  CHECK_THAT(Matrix(h.colwise().sum()), equals(qkv::matrix_from_rows({{1, 0, 1, 2, 0, 0, 1}})));
}

TEST_CASE("one_hot rejects ids outside the vocabulary", "[one_hot_embedding]") {
  CHECK_THROWS_AS(qkv::exercises::one_hot({0, 5}, 5), qkv::ValueError);
  CHECK_THROWS_AS(qkv::exercises::one_hot({-1}, 5), qkv::ValueError);
  CHECK_THROWS_AS(qkv::exercises::one_hot({0}, 0), qkv::ValueError);
}
