// Checks exercise top_k: the k best indices, ties broken by index.

#include "top_k.hpp"

#include "qkv/catch.hpp"
#include "qkv/random.hpp"
#include "qkv/relevance.hpp"

using qkv::Index;
using qkv::Vector;

using qkv::vector_of;

TEST_CASE("top_k picks the highest scores, highest first", "[top_k]") {
  CHECK(qkv::exercises::top_k(vector_of({0, 1, 3, 4, 2}), 2) == std::vector<Index>{3, 2});
  CHECK(qkv::exercises::top_k(vector_of({0, 1, 3, 4, 2}), 5) == std::vector<Index>{3, 2, 4, 1, 0});
  CHECK(qkv::exercises::top_k(vector_of({-1, -5}), 1) == std::vector<Index>{0});
  CHECK(qkv::exercises::top_k(vector_of({0, 1, 3}), 0) == std::vector<Index>{});
}

TEST_CASE("top_k breaks ties by the lower index", "[top_k]") {
  CHECK(qkv::exercises::top_k(vector_of({1, 3, 3, -2, 3}), 2) == std::vector<Index>{1, 2});
  CHECK(qkv::exercises::top_k(vector_of({1, 3, 3, -2, 3}), 4) == std::vector<Index>{1, 2, 4, 0});
  CHECK(qkv::exercises::top_k(vector_of({7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}),
                              3) == std::vector<Index>{0, 1, 2});
}

TEST_CASE("top_k agrees with the full ranking on random scores", "[top_k]") {
  qkv::Random random(3);
  for (int trial = 0; trial < 20; ++trial) {
    // Rounded to halves, so that ties happen often.
    const Vector scores = (qkv::random_normal(random, 40, 1) * 2.0f).array().round() / 2.0f;
    const auto ranking = qkv::rank_by_relevance(scores);
    for (Index k : {1, 7, 40}) {
      INFO("trial " << trial << ", k = " << k << ", scores " << scores.transpose());
      const std::vector<Index> expected(ranking.begin(), ranking.begin() + k);
      CHECK(qkv::exercises::top_k(scores, k) == expected);
    }
  }
}

TEST_CASE("top_k rejects a k out of range and NaN scores", "[top_k]") {
  CHECK_THROWS_AS(qkv::exercises::top_k(vector_of({1, 2}), 3), qkv::ValueError);
  CHECK_THROWS_AS(qkv::exercises::top_k(vector_of({1, 2}), -1), qkv::ValueError);
  CHECK_THROWS_AS(qkv::exercises::top_k(vector_of({1, NAN}), 1), qkv::ValueError);
}
