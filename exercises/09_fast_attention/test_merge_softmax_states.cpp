// Checks exercise merge_softmax_states: merging the states of two chunks of keys gives the
// state of all of them, computed directly in double; merging is associative, an empty state
// changes nothing, and split-KV decoding over chunks equals one query's attention.

#include "merge_softmax_states.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include "qkv/attention.hpp"
#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/random.hpp"

using qkv::Index;
using qkv::Matrix;
using qkv::Vector;
using qkv::exercises::merge_softmax_states;
using qkv::exercises::SoftmaxState;

namespace {

constexpr float minus_infinity = -std::numeric_limits<float>::infinity();

// The state of keys first..first+n-1, straight from its definition (in double).
SoftmaxState state_of(const Vector& scores, const Matrix& values, Index first, Index n) {
  double m = -std::numeric_limits<double>::infinity();
  for (Index j = first; j < first + n; ++j) m = std::max(m, double{scores(j)});
  double l = 0;
  qkv::VectorD o = qkv::VectorD::Zero(values.cols());
  if (n > 0)
    for (Index j = first; j < first + n; ++j) {
      const double e = std::exp(double{scores(j)} - m);
      l += e;
      o += e * values.row(j).transpose().cast<double>();
    }
  return {static_cast<float>(m), static_cast<float>(l), o.cast<float>()};
}

void check_state(const SoftmaxState& actual, const SoftmaxState& expected) {
  CHECK_THAT(actual.max, WithinAbs(expected.max, 0));  // the larger maximum, exactly
  CHECK_THAT(actual.sum, WithinRel(double{expected.sum}, 1e-5));
  CHECK_THAT(actual.output, qkv::testing::is_close(expected.output));
}

}  // namespace

TEST_CASE("merge_softmax_states: the example by hand", "[merge_softmax_states]") {
  const SoftmaxState a{3, static_cast<float>(std::exp(-2.0) + 1),
                       qkv::vector_of({static_cast<float>(10 * std::exp(-2.0) + 20)})};
  const SoftmaxState b{5, 1, qkv::vector_of({30})};
  const SoftmaxState merged = merge_softmax_states(a, b);
  CHECK(merged.max == 5.0f);
  CHECK_THAT(merged.sum, WithinRel((std::exp(-2.0) + 1) * std::exp(-2.0) + 1, 1e-6));
  REQUIRE(merged.output.size() == 1);
  CHECK_THAT(merged.output(0), WithinRel((10 * std::exp(-2.0) + 20) * std::exp(-2.0) + 30, 1e-6));
  // The same keys the other way round: the same state.
  check_state(merge_softmax_states(b, a), merged);
}

TEST_CASE("merge_softmax_states: two chunks give the state of all the keys",
          "[merge_softmax_states]") {
  qkv::Random random(31);
  const Matrix values = qkv::random_normal(random, 10, 4);
  Vector rising(10);
  for (Index j = 0; j < 10; ++j) rising(j) = static_cast<float>(j) - 4;
  for (const Vector& scores :
       {Vector(4 * qkv::random_normal(random, 10, 1)), rising, Vector(-rising)}) {
    const SoftmaxState all = state_of(scores, values, 0, 10);
    for (Index split = 1; split < 10; ++split) {
      INFO("keys 0.." << split - 1 << " and " << split << "..9, scores " << scores.transpose());
      const SoftmaxState a = state_of(scores, values, 0, split);
      const SoftmaxState b = state_of(scores, values, split, 10 - split);
      check_state(merge_softmax_states(a, b), all);
      check_state(merge_softmax_states(b, a), all);
    }
  }
}

TEST_CASE("merge_softmax_states is associative: three chunks in either grouping",
          "[merge_softmax_states]") {
  qkv::Random random(32);
  const Matrix values = qkv::random_normal(random, 9, 3);
  const Vector scores = 3 * qkv::random_normal(random, 9, 1);
  const SoftmaxState a = state_of(scores, values, 0, 2);
  const SoftmaxState b = state_of(scores, values, 2, 4);
  const SoftmaxState c = state_of(scores, values, 6, 3);
  const SoftmaxState left = merge_softmax_states(merge_softmax_states(a, b), c);
  const SoftmaxState right = merge_softmax_states(a, merge_softmax_states(b, c));
  INFO("(a + b) + c against a + (b + c), scores " << scores.transpose());
  check_state(left, right);
  check_state(left, state_of(scores, values, 0, 9));
}

TEST_CASE("merge_softmax_states: split-KV decoding equals attention for one query",
          "[merge_softmax_states]") {
  qkv::Random random(33);
  const Matrix q = qkv::random_normal(random, 1, 16);
  const Matrix k = qkv::random_normal(random, 50, 16);
  const Matrix v = qkv::random_normal(random, 50, 8);
  const Vector scores = qkv::attention_scores(q, k).row(0).transpose();
  const Vector expected = qkv::attention(q, k, v).row(0).transpose();
  for (const Index chunk : {1, 7, 16, 50}) {
    INFO("chunks of " << chunk << " keys, merged one after the other");
    SoftmaxState merged{minus_infinity, 0, Vector::Zero(8)};
    for (Index first = 0; first < 50; first += chunk)
      merged =
          merge_softmax_states(merged, state_of(scores, v, first, std::min(chunk, 50 - first)));
    CHECK_THAT(Vector(merged.output / merged.sum), qkv::testing::is_close(expected));
  }
}

TEST_CASE("merge_softmax_states: an empty state changes nothing, huge scores stay finite",
          "[merge_softmax_states]") {
  const SoftmaxState empty{minus_infinity, 0, Vector::Zero(2)};
  const SoftmaxState some{2.5f, 1.75f, qkv::vector_of({-1, 4})};
  for (const SoftmaxState& merged :
       {merge_softmax_states(empty, some), merge_softmax_states(some, empty)}) {
    CHECK(merged.max == 2.5f);
    CHECK(merged.sum == 1.75f);
    CHECK_THAT(merged.output, qkv::testing::equals(some.output));
  }
  // Two empty states (a query that sees no key in either chunk): still empty, no NaN.
  const SoftmaxState none = merge_softmax_states(empty, empty);
  CHECK(none.max == minus_infinity);
  CHECK(none.sum == 0.0f);
  CHECK_THAT(none.output, qkv::testing::equals(Vector(Vector::Zero(2))));
  // Maxima 1000 apart: the smaller side's factor e^-1000 is 0, not a NaN or an overflow.
  const SoftmaxState high{1000, 1, qkv::vector_of({1, 1})};
  const SoftmaxState low{0, 2, qkv::vector_of({5, 5})};
  const SoftmaxState merged = merge_softmax_states(low, high);
  CHECK(merged.max == 1000.0f);
  CHECK(merged.sum == 1.0f);
  CHECK_THAT(merged.output, qkv::testing::equals(qkv::vector_of({1, 1})));
}

TEST_CASE("merge_softmax_states rejects outputs of different sizes", "[merge_softmax_states]") {
  const SoftmaxState a{0, 1, Vector::Ones(3)};
  const SoftmaxState b{0, 1, Vector::Ones(2)};
  CHECK_THROWS_WITH(merge_softmax_states(a, b),
                    qkv::testing::contains("3x1") && qkv::testing::contains("2x1"));
}
