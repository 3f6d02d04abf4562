// relevance.hpp against hand-computed values and its invariants.

#include "qkv/relevance.hpp"

#include "qkv/catch.hpp"
#include "qkv/random.hpp"

namespace qkv::testing {

TEST_CASE("dot_product sums the elementwise products", "[relevance]") {
  CHECK(qkv::dot_product(vector_of({1, 2, 3}), vector_of({4, -5, 6})) == 1 * 4 - 2 * 5 + 3 * 6);
  CHECK(qkv::dot_product(vector_of({0.5f}), vector_of({-4})) == -2.0f);
  CHECK_THROWS_AS(qkv::dot_product(vector_of({1, 2}), vector_of({1, 2, 3})), qkv::ShapeError);
  CHECK_THROWS_WITH(qkv::dot_product(vector_of({1, 2}), vector_of({1, 2, 3})),
                    qkv::testing::contains("a is 2x1, b is 3x1"));
}

TEST_CASE("relevance_scores is one dot product per key row", "[relevance]") {
  Matrix keys(3, 2);
  keys << 1, 0,  //
      0, 1,      //
      2, 3;
  const Vector scores = qkv::relevance_scores(vector_of({2, -1}), keys);
  REQUIRE(scores.size() == 3);
  CHECK(scores(0) == 2.0f);
  CHECK(scores(1) == -1.0f);
  CHECK(scores(2) == 1.0f);  // 2*2 + (-1)*3
  CHECK_THROWS_WITH(qkv::relevance_scores(vector_of({1, 2, 3}), keys),
                    qkv::testing::contains("relevance_scores") &&
                        qkv::testing::contains("query is 3x1, keys is 3x2"));
}

TEST_CASE("scaled_relevance_scores divides by sqrt(d)", "[relevance]") {
  Matrix keys(1, 4);
  keys << 1, 1, 1, 1;
  CHECK(qkv::scaled_relevance_scores(vector_of({1, 1, 1, 1}), keys)(0) == 2.0f);  // 4 / sqrt(4)
  CHECK_THROWS_AS(qkv::scaled_relevance_scores(Vector(0), Matrix(2, 0)), qkv::ValueError);
}

TEST_CASE("cosine similarity ignores length", "[relevance]") {
  CHECK_THAT(qkv::cosine_similarity(vector_of({1, 0}), vector_of({0, 3})), WithinAbs(0.0, 1e-7));
  CHECK_THAT(qkv::cosine_similarity(vector_of({1, 1}), vector_of({-2, -2})), WithinAbs(-1.0, 1e-6));
  CHECK_THAT(qkv::cosine_similarity(vector_of({3, 4}), vector_of({4, 3})),
             WithinAbs(24.0 / 25.0, 1e-6));
  CHECK_THROWS_AS(qkv::cosine_similarity(vector_of({0, 0}), vector_of({1, 2})), qkv::ValueError);

  qkv::Random random(5);
  const Matrix keys = qkv::random_normal(random, 6, 3);
  const Vector query = qkv::random_normal(random, 3, 1);
  Matrix longer = keys;
  longer.row(2) *= 7.0f;
  const Vector before = qkv::cosine_scores(query, keys);
  const Vector after = qkv::cosine_scores(query, longer);
  for (Index j = 0; j < keys.rows(); ++j) CHECK_THAT(after(j), WithinAbs(before(j), 1e-6));
  CHECK((before.array().abs() <= 1.0f + 1e-6f).all());
}

TEST_CASE("rank_by_relevance sorts descending with ties by index", "[relevance]") {
  const auto ranking = qkv::rank_by_relevance(vector_of({1, 3, 3, -2, 3}));
  CHECK(ranking == std::vector<Index>{1, 2, 4, 0, 3});
  CHECK(qkv::most_relevant(vector_of({0, 5, 5})) == 1);
  CHECK(qkv::rank_by_relevance(Vector(0)).empty());
  CHECK_THROWS_AS(qkv::most_relevant(Vector(0)), qkv::ValueError);
  CHECK_THROWS_AS(qkv::rank_by_relevance(vector_of({1, NAN})), qkv::ValueError);
}

TEST_CASE("hard_retrieve returns the value row of the best key", "[relevance]") {
  Matrix keys(3, 2), values(3, 3);
  keys << 1, 0, 0, 1, 1, 1;
  values << 10, 11, 12, 20, 21, 22, 30, 31, 32;
  const Vector got =
      qkv::hard_retrieve(vector_of({0.2f, 1.0f}), keys, values);  // scores .2, 1, 1.2
  CHECK(got == vector_of({30, 31, 32}));
  CHECK_THROWS_WITH(qkv::hard_retrieve(vector_of({1, 0}), keys, Matrix(2, 3)),
                    qkv::testing::contains("keys is 3x2, values is 2x3"));
}

TEST_CASE("spread_of gives mean and population standard deviation", "[relevance]") {
  const auto spread = qkv::spread_of(vector_of({2, 4, 4, 4, 5, 5, 7, 9}));
  CHECK(spread.mean == 5.0);
  CHECK(spread.stddev == 2.0);
  CHECK_THROWS_AS(qkv::spread_of(Vector(0)), qkv::ValueError);
}

TEST_CASE("scaled dot products of random unit-variance vectors have spread near 1", "[relevance]") {
  qkv::Random random(11);
  for (Index d : {4, 64, 1024}) {
    Vector raw(4000);
    for (Index s = 0; s < raw.size(); ++s)
      raw(s) = qkv::dot_product(qkv::random_normal(random, d, 1), qkv::random_normal(random, d, 1));
    const double expected = std::sqrt(static_cast<double>(d));
    // The sample std of 4000 draws is within 5% of the true one with overwhelming odds.
    CHECK_THAT(qkv::spread_of(raw).stddev, WithinRel(expected, 0.05));
    CHECK_THAT(qkv::spread_of(raw / static_cast<float>(expected)).stddev, WithinRel(1.0, 0.05));
  }
}

}  // namespace qkv::testing
