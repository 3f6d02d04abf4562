// Checks exercise online_softmax: after every block, the running maximum, sum and
// unnormalised output equal a two-pass computation in double over the scores seen so far,
// and the output equals the softmax-weighted sum of all the values.

#include "online_softmax.hpp"

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
using qkv::exercises::OnlineSoftmax;

namespace {

constexpr float masked = -std::numeric_limits<float>::infinity();

// m, l and o of the first `n` scores, the textbook way: the maximum first, then the sums.
struct Reference {
  double max;
  double sum;
  Vector output;  // unnormalised, rounded to float
};
Reference two_pass(const Vector& scores, const Matrix& values, Index n) {
  double m = -std::numeric_limits<double>::infinity();
  for (Index j = 0; j < n; ++j) m = std::max(m, double{scores(j)});
  double l = 0;
  qkv::VectorD o = qkv::VectorD::Zero(values.cols());
  if (m > -std::numeric_limits<double>::infinity())
    for (Index j = 0; j < n; ++j) {
      const double e = std::exp(double{scores(j)} - m);
      l += e;
      o += e * values.row(j).transpose().cast<double>();
    }
  return {m, l, o.cast<float>()};
}

// Feeds `scores` in blocks of the given sizes and checks the state after every block.
OnlineSoftmax feed(const Vector& scores, const Matrix& values, const std::vector<Index>& blocks) {
  OnlineSoftmax state(values.cols());
  Index start = 0;
  for (const Index size : blocks) {
    state.add(scores.segment(start, size), values.middleRows(start, size));
    start += size;
    const Reference expected = two_pass(scores, values, start);
    INFO("after the block of keys " << start - size << ".." << start - 1 << " (scores "
                                    << scores.head(start).transpose() << ")");
    CHECK(state.keys_seen() == start);
    CHECK_THAT(state.running_max(), WithinAbs(expected.max, 0));  // a maximum is exact
    CHECK_THAT(state.running_sum(), WithinRel(expected.sum, 1e-5));
    CHECK_THAT(state.unnormalised_output(), qkv::testing::is_close(expected.output));
  }
  return state;
}

}  // namespace

TEST_CASE("online_softmax: the chapter's example by hand, a maximum that grows",
          "[online_softmax]") {
  // Blocks (1, 3) and (2, 5), values 10, 20, 30, 40: the maximum grows from 3 to 5.
  const Vector scores = qkv::vector_of({1, 3, 2, 5});
  const Matrix values = qkv::matrix_from_rows({{10}, {20}, {30}, {40}});
  OnlineSoftmax state(1);
  state.add(scores.head(2), values.topRows(2));
  CHECK(state.running_max() == 3.0f);
  CHECK_THAT(state.running_sum(), WithinRel(std::exp(-2.0) + 1, 1e-6));
  CHECK_THAT(state.unnormalised_output()(0), WithinRel(10 * std::exp(-2.0) + 20, 1e-6));
  state.add(scores.tail(2), values.bottomRows(2));
  const double l = (std::exp(-2.0) + 1) * std::exp(-2.0) + std::exp(-3.0) + 1;
  const double o = (10 * std::exp(-2.0) + 20) * std::exp(-2.0) + 30 * std::exp(-3.0) + 40;
  CHECK(state.running_max() == 5.0f);
  CHECK_THAT(state.running_sum(), WithinRel(l, 1e-6));
  CHECK_THAT(state.unnormalised_output()(0), WithinRel(o, 1e-6));
  CHECK_THAT(state.output()(0), WithinRel(o / l, 1e-6));
  CHECK_THAT(state.log_sum_exp(), WithinRel(5 + std::log(l), 1e-6));
}

TEST_CASE("online_softmax: every block split gives the running state of two passes",
          "[online_softmax]") {
  qkv::Random random(9);
  const Matrix values = qkv::random_normal(random, 12, 3);
  // Rising scores: the maximum grows at every block, so each block must rescale.
  Vector rising(12);
  for (Index j = 0; j < 12; ++j) rising(j) = 0.75f * static_cast<float>(j) - 2;
  const Vector random_scores = 3 * qkv::random_normal(random, 12, 1);
  for (const Vector& scores : {rising, random_scores, Vector(-rising)}) {
    for (const auto& blocks : std::vector<std::vector<Index>>{
             {12}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {5, 7}, {3, 3, 3, 3}, {4, 0, 7, 1}}) {
      const OnlineSoftmax state = feed(scores, values, blocks);
      // The output: the softmax of all 12 scores times the values, the matrix form.
      const Vector expected = values.transpose() * qkv::softmax(scores);
      INFO("output after blocks of " << blocks.size() << ", scores " << scores.transpose());
      CHECK_THAT(state.output(), qkv::testing::is_close(expected));
      double lse = 0;
      for (Index j = 0; j < 12; ++j) lse += std::exp(double{scores(j)});
      CHECK_THAT(state.log_sum_exp(), WithinAbs(std::log(lse), 1e-5));
    }
  }
}

TEST_CASE("online_softmax equals attention for one query, key block by key block",
          "[online_softmax]") {
  qkv::Random random(27);
  const Matrix q = qkv::random_normal(random, 1, 8);
  const Matrix k = qkv::random_normal(random, 23, 8);
  const Matrix v = qkv::random_normal(random, 23, 5);
  const Vector scores = qkv::attention_scores(q, k).row(0).transpose();
  for (const Index block : {1, 4, 7, 23, 40}) {
    INFO("blocks of " << block << " keys");
    OnlineSoftmax state(5);
    for (Index start = 0; start < 23; start += block) {
      const Index size = std::min(block, 23 - start);
      state.add(scores.segment(start, size), v.middleRows(start, size));
    }
    CHECK_THAT(state.output(),
               qkv::testing::is_close(Vector(qkv::attention(q, k, v).row(0).transpose())));
  }
}

TEST_CASE("online_softmax: huge scores, masked keys, a query that sees nothing",
          "[online_softmax]") {
  // Scores near 1000 overflow e^s; the running maximum keeps every exponent <= 0.
  const Matrix values = qkv::matrix_from_rows({{1, 0}, {0, 1}, {2, 2}, {4, 4}});
  const Vector big = qkv::vector_of({1000, 1001, 999, 1002});
  const OnlineSoftmax state = feed(big, values, {2, 2});
  CHECK_THAT(state.output(), qkv::testing::all_finite<Vector>());
  CHECK_THAT(state.output(),
             qkv::testing::is_close(Vector(values.transpose() * qkv::softmax(big))));
  // A first block that is all masked, then real scores: no NaN from -inf - (-inf).
  const Vector some_masked = qkv::vector_of({masked, masked, 0.5f, masked});
  const OnlineSoftmax partly = feed(some_masked, values, {2, 2});
  CHECK_THAT(partly.output(), qkv::testing::equals(qkv::vector_of({2, 2})));
  CHECK_THAT(partly.log_sum_exp(), WithinAbs(0.5, 1e-6));
  // Every key masked, or no key at all: zeros (as the matrix form gives) and lse -inf.
  const Vector all_masked = Vector::Constant(4, masked);
  const OnlineSoftmax none = feed(all_masked, values, {1, 3});
  CHECK_THAT(none.output(), qkv::testing::equals(Vector(Vector::Zero(2))));
  CHECK(none.log_sum_exp() == masked);
  const OnlineSoftmax empty(3);
  CHECK_THAT(empty.output(), qkv::testing::equals(Vector(Vector::Zero(3))));
  CHECK(empty.log_sum_exp() == masked);
}

TEST_CASE("online_softmax rejects a block whose values do not fit", "[online_softmax]") {
  OnlineSoftmax state(2);
  CHECK_THROWS_WITH(state.add(Vector::Ones(3), Matrix::Ones(2, 2)),
                    qkv::testing::contains("3x1") && qkv::testing::contains("2x2"));
  CHECK_THROWS_WITH(state.add(Vector::Ones(2), Matrix::Ones(2, 3)),
                    qkv::testing::contains("2x1") && qkv::testing::contains("2x3"));
  CHECK_THROWS_AS(OnlineSoftmax(0), qkv::ValueError);
}
