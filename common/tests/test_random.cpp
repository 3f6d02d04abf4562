// qkv::Random against an independent Python implementation of the same published algorithms
// (data/random_reference.py), and the statistics its users rely on.

#include "qkv/random.hpp"

#include <cmath>

#include "qkv/catch.hpp"
#include "qkv/golden.hpp"

TEST_CASE("Random reproduces the reference bits, uniforms and normals", "[random]") {
  const auto reference = qkv::testing::load_json(QKV_TEST_DATA_DIR "/random_reference.json");
  REQUIRE(reference["cases"].size() == 4);
  for (const auto& c : reference["cases"]) {
    const auto seed = std::stoull(c["seed"].get<std::string>());
    INFO("seed " << seed);
    qkv::Random bits(seed), uniforms(seed), normals(seed);
    for (const auto& expected : c["bits"])
      CHECK(bits.next_bits() == std::stoull(expected.get<std::string>()));
    // Uniforms are exact: 53 bits times a power of two.
    for (const auto& expected : c["uniform01"])
      CHECK(uniforms.uniform01() == expected.get<double>());
    // Normals go through log, sqrt, cos and sin: allow the last bits of libm to differ.
    for (const auto& expected : c["normal"])
      CHECK_THAT(normals.normal(), WithinRel(expected.get<double>(), 1e-14));
  }
}

TEST_CASE("the same seed gives the same matrices, another seed others", "[random]") {
  qkv::Random a(42), b(42), c(43);
  const qkv::Matrix ma = qkv::random_normal(a, 3, 4);
  CHECK(ma == qkv::random_normal(b, 3, 4));
  CHECK(ma != qkv::random_normal(c, 3, 4));
}

TEST_CASE("normal and uniform draws have the right moments", "[random]") {
  qkv::Random random(7);
  const qkv::Matrix normal = qkv::random_normal(random, 200, 100, 2.0);  // 20000 draws
  const double mean = normal.cast<double>().mean();
  const double stddev = std::sqrt((normal.cast<double>().array() - mean).square().mean());
  CHECK_THAT(mean, WithinAbs(0.0, 0.05));  // standard error 2 / sqrt(20000) = 0.014
  CHECK_THAT(stddev, WithinRel(2.0, 0.02));

  const qkv::Matrix uniform = qkv::random_uniform(random, 100, 100, -3.0, 1.0);
  CHECK(uniform.minCoeff() >= -3.0f);
  CHECK(uniform.maxCoeff() < 1.0f);
  CHECK_THAT(uniform.cast<double>().mean(), WithinAbs(-1.0, 0.05));
}

TEST_CASE("init_linear_weight draws within plus or minus 1/sqrt(fan_in)", "[random]") {
  qkv::Random random(1);
  const qkv::Matrix w = qkv::init_linear_weight(random, 16, 8);
  CHECK(w.rows() == 16);
  CHECK(w.cols() == 8);
  CHECK(w.cwiseAbs().maxCoeff() <= 0.25f);
  CHECK(w.cwiseAbs().maxCoeff() > 0.2f);  // 128 draws fill most of the range
  CHECK_THROWS_AS(qkv::init_linear_weight(random, 0, 8), qkv::ValueError);
  CHECK_THROWS_AS(qkv::random_normal(random, -1, 2), qkv::ValueError);
}

TEST_CASE("below draws every integer of its range and nothing else", "[random]") {
  qkv::Random random(3);
  std::vector<int> counts(5, 0);
  for (int i = 0; i < 5000; ++i) ++counts[static_cast<std::size_t>(random.below(5))];
  for (int count : counts) CHECK(count > 850);  // expected 1000 each
  CHECK_THROWS_AS(random.below(0), qkv::ValueError);
}
