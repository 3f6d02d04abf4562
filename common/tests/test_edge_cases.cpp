// Numerical edge cases of softmax and attention: huge scores, masked (-inf) scores, a fully
// masked row, T = 1, d = 1, NaN inputs, and float agreeing with double.
//
// What a NaN does, as the headers document it: it is propagated, never hidden. A NaN score
// makes its whole row of weights NaN (softmax_rows); a NaN in Q poisons that query's row,
// a NaN in K every row (each query compares with every key), and a NaN in V every output
// row, even where its weight is exactly 0 (0 * NaN is NaN in IEEE arithmetic). Only
// rank_by_relevance detects it (ValueError), because a NaN has no place in an order.

#include <cmath>
#include <limits>

#include "qkv/attention.hpp"
#include "qkv/catch.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"
#include "qkv/relevance.hpp"
#include "qkv/softmax.hpp"

namespace qkv::testing {

namespace {

constexpr float infinity = std::numeric_limits<float>::infinity();
constexpr float not_a_number = std::numeric_limits<float>::quiet_NaN();

// Every entry NaN / none NaN.
template <typename Derived>
bool all_nan(const Eigen::MatrixBase<Derived>& m) {
  return m.array().isNaN().all();
}
template <typename Derived>
bool none_nan(const Eigen::MatrixBase<Derived>& m) {
  return !m.array().isNaN().any();
}

// Softmax of one row in long double, straight from the definition, as a reference.
std::vector<long double> reference_softmax(const std::vector<long double>& s) {
  long double m = -INFINITY;
  for (auto x : s) m = std::max(m, x);
  long double sum = 0;
  std::vector<long double> w;
  for (auto x : s) {
    w.push_back(x == -INFINITY ? 0.0L : std::exp(x - m));
    sum += w.back();
  }
  for (auto& x : w) x /= sum;
  return w;
}

}  // namespace

TEST_CASE("softmax of scores of +-1e4 neither overflows nor loses the order", "[edge]") {
  const Matrix scores = qkv::matrix_from_rows({{1e4f, -1e4f, 0.0f},
                                               {1e4f, 1e4f, 1e4f - 1.0f},
                                               {-1e4f, -1e4f + 1.0f, -1e4f},
                                               {-1e4f, -1e4f, -1e4f}});
  const Matrix w = qkv::softmax_rows(scores);
  REQUIRE(none_nan(w));
  CHECK(w(0, 0) == 1.0f);  // e^-1e4 and e^-2e4 underflow to exactly 0
  CHECK(w(0, 1) == 0.0f);
  CHECK(w(0, 2) == 0.0f);
  // Rows that differ by 1 keep the e : 1 ratio, however far from 0 they sit.
  const auto ref1 = reference_softmax({1e4L, 1e4L, 1e4L - 1});
  const auto ref2 = reference_softmax({-1e4L, -1e4L + 1, -1e4L});
  for (Index j = 0; j < 3; ++j) {
    CHECK_THAT(w(1, j), WithinRel(static_cast<float>(ref1[static_cast<std::size_t>(j)]), 1e-6f));
    CHECK_THAT(w(2, j), WithinRel(static_cast<float>(ref2[static_cast<std::size_t>(j)]), 1e-6f));
    CHECK_THAT(w(3, j), WithinRel(1.0f / 3.0f, 1e-6f));
  }
  // The same scores in double give the same weights.
  const MatrixD wd = qkv::softmax_rows(scores.cast<double>());
  CHECK(wd.cast<float>().isApprox(w, 1e-6f));
  // The textbook formula without the max subtraction overflows, as chapter 03 shows:
  // e^1e4 is inf in float and double alike, and inf / inf is NaN.
  const Matrix naive = qkv::naive_softmax_rows(scores);
  CHECK(std::isnan(naive(0, 0)));
  CHECK(all_nan(naive.row(1)));
}

TEST_CASE("masked (-inf) scores get weight exactly 0, in float and double", "[edge]") {
  const Matrix scores = qkv::matrix_from_rows({{0.0f, -infinity, 1.0f, -infinity},
                                               {-infinity, 5.0f, -infinity, -infinity},
                                               {-infinity, -infinity, -infinity, 2.0f},
                                               {1e4f, -infinity, -1e4f, 0.0f}});
  const Matrix w = qkv::softmax_rows(scores);
  const MatrixD wd = qkv::softmax_rows(scores.cast<double>());
  for (Index i = 0; i < scores.rows(); ++i) {
    CHECK_THAT(w.row(i).sum(), WithinAbs(1.0, 1e-6));
    for (Index j = 0; j < scores.cols(); ++j) {
      INFO("row " << i << ", column " << j);
      if (scores(i, j) == -infinity) {
        CHECK(w(i, j) == 0.0f);  // exactly: not a vectorized exp(-inf) rounded up
        CHECK(wd(i, j) == 0.0);
      }
      CHECK_THAT(w(i, j), WithinAbs(wd(i, j), 1e-7));
    }
  }
  CHECK_THAT(w(0, 0), WithinRel(static_cast<float>(1.0 / (1.0 + std::exp(1.0))), 1e-6f));
  CHECK(w(1, 1) == 1.0f);  // the one visible key takes all the weight
  CHECK(w(2, 3) == 1.0f);
  CHECK(w(3, 0) == 1.0f);
}

TEST_CASE("a fully masked row gets zero weights and a zero output, never NaN", "[edge]") {
  // softmax_rows: all -inf (a query allowed to see nothing).
  const Matrix scores =
      qkv::matrix_from_rows({{-infinity, -infinity, -infinity}, {1.0f, -infinity, 2.0f}});
  const Matrix w = qkv::softmax_rows(scores);
  CHECK(w.row(0).isZero(0.0f));
  CHECK_THAT(w.row(1).sum(), WithinAbs(1.0, 1e-6));
  CHECK(qkv::softmax_rows(scores.cast<double>()).row(0).isZero(0.0));
  CHECK(qkv::row_entropy(w)(0) == 0.0f);

  // Through attention: query 1 sees nothing, the others see something.
  qkv::Random random(11);
  const Matrix q = qkv::random_normal(random, 3, 4);
  const Matrix k = qkv::random_normal(random, 5, 4);
  const Matrix v = qkv::random_normal(random, 5, 2);
  qkv::Mask mask = qkv::Mask::Constant(3, 5, true);
  mask.row(1).setConstant(false);
  const auto result = qkv::scaled_dot_product_attention(q, k, v, mask);
  REQUIRE(none_nan(result.weights));
  REQUIRE(none_nan(result.output));
  CHECK(result.weights.row(1).isZero(0.0f));
  CHECK(result.output.row(1).isZero(0.0f));
  CHECK_THAT(result.weights.row(0).sum(), WithinAbs(1.0, 1e-6));
  const auto double_result =
      qkv::scaled_dot_product_attention(q.cast<double>(), k.cast<double>(), v.cast<double>(), mask);
  CHECK(double_result.output.row(1).isZero(0.0));

  // Multi-head: every head gets the zero row, and so do concat and concat W_o.
  const Matrix x = qkv::random_normal(random, 3, 8);
  const auto w_mha = qkv::random_multi_head_weights(random, 8, 2);
  qkv::Mask self_mask = qkv::causal_mask(3);
  self_mask.row(0).setConstant(false);
  const auto mha = qkv::multi_head_attention(x, w_mha, self_mask);
  REQUIRE(none_nan(mha.output));
  for (const auto& head : mha.weights) CHECK(head.row(0).isZero(0.0f));
  CHECK(mha.concat.row(0).isZero(0.0f));
  CHECK(mha.output.row(0).isZero(0.0f));
  CHECK_FALSE(mha.output.row(1).isZero(0.0f));
}

TEST_CASE("one token (T = 1) attends to itself with weight 1", "[edge]") {
  const Matrix q = qkv::matrix_from_rows({{0.3f, -2.0f, 7.0f}});
  const Matrix k = qkv::matrix_from_rows({{-1.0f, 4.0f, 0.5f}});
  const Matrix v = qkv::matrix_from_rows({{2.5f, -1.5f}});
  for (const auto& mask : {std::optional<qkv::Mask>{}, std::optional{qkv::causal_mask(1)}}) {
    const auto result = qkv::scaled_dot_product_attention(q, k, v, mask);
    REQUIRE(result.weights.rows() == 1);
    REQUIRE(result.weights.cols() == 1);
    CHECK(result.weights(0, 0) == 1.0f);
    CHECK(result.output == v);
  }
  qkv::Random random(3);
  const Matrix x = qkv::random_normal(random, 1, 6);
  const auto w = qkv::random_multi_head_weights(random, 6, 3);
  const auto mha = qkv::multi_head_attention(x, w, qkv::causal_mask(1));
  // With one token every head's output is that token's value: concat = X W_v.
  CHECK(mha.concat.isApprox(x * w.w_v, 1e-6f));
  CHECK(mha.output.isApprox(x * w.w_v * w.w_o, 1e-6f));
  for (const auto& head : mha.weights) CHECK(head(0, 0) == 1.0f);
}

TEST_CASE("d = 1: scores are plain products and attention still averages", "[edge]") {
  const Matrix q = qkv::matrix_from_rows({{2.0f}, {-1.0f}});
  const Matrix k = qkv::matrix_from_rows({{1.0f}, {3.0f}, {0.0f}});
  const Matrix v = qkv::matrix_from_rows({{10.0f}, {20.0f}, {30.0f}});
  const auto result = qkv::scaled_dot_product_attention(q, k, v);
  // sqrt(d_k) = 1: S = Q K^T exactly.
  CHECK(result.scores == qkv::matrix_from_rows({{2.0f, 6.0f, 0.0f}, {-1.0f, -3.0f, 0.0f}}));
  const auto ref = reference_softmax({2, 6, 0});
  CHECK_THAT(result.output(0, 0),
             WithinRel(static_cast<float>(10 * ref[0] + 20 * ref[1] + 30 * ref[2]), 1e-6f));
  // One head of width 1: multi-head attention with d_model = 1.
  qkv::Random random(5);
  const Matrix x = qkv::random_normal(random, 4, 1);
  const auto w = qkv::random_multi_head_weights(random, 1, 1);
  const auto mha = qkv::multi_head_attention(x, w);
  CHECK(mha.output.rows() == 4);
  CHECK(mha.output.cols() == 1);
  CHECK(none_nan(mha.output));
  const auto single = qkv::scaled_dot_product_attention(x * w.w_q, x * w.w_k, x * w.w_v);
  CHECK(mha.output.isApprox(single.output * w.w_o, 1e-6f));
}

TEST_CASE("a NaN in the input is propagated, not hidden", "[edge]") {
  SECTION("softmax_rows: a NaN score makes its whole row NaN, wherever it sits") {
    for (Index at = 0; at < 4; ++at) {
      Matrix scores = qkv::matrix_from_rows({{1, 2, 3, 4}, {0, 0, 0, 0}});
      scores(0, at) = not_a_number;
      const Matrix w = qkv::softmax_rows(scores);
      INFO("NaN at column " << at);
      CHECK(all_nan(w.row(0)));
      CHECK_THAT(w.row(1).sum(), WithinAbs(1.0, 1e-6));
      CHECK(all_nan(qkv::softmax_rows(scores.cast<double>()).row(0)));
    }
    // Even beside masked entries: a NaN must not turn a row into a "fully masked" zero row.
    for (Index at = 0; at < 3; ++at) {
      Matrix scores = Matrix::Constant(1, 3, -infinity);
      scores(0, at) = not_a_number;
      INFO("NaN at column " << at << " among -inf");
      CHECK(all_nan(qkv::softmax_rows(scores)));
    }
  }
  SECTION("attention: NaN in Q poisons its row, in K or V every row") {
    qkv::Random random(7);
    const Matrix q = qkv::random_normal(random, 3, 4);
    const Matrix k = qkv::random_normal(random, 3, 4);
    const Matrix v = qkv::random_normal(random, 3, 2);
    Matrix bad_q = q;
    bad_q(1, 2) = not_a_number;
    const auto from_q = qkv::scaled_dot_product_attention(bad_q, k, v);
    CHECK(all_nan(from_q.output.row(1)));
    CHECK(none_nan(from_q.output.row(0)));
    CHECK(none_nan(from_q.output.row(2)));
    Matrix bad_k = k;
    bad_k(2, 0) = not_a_number;
    CHECK(all_nan(qkv::scaled_dot_product_attention(q, bad_k, v).output));
    // Under a causal mask query 0 gives key 2 weight 0, yet 0 * NaN is NaN.
    Matrix bad_v = v;
    bad_v(2, 1) = not_a_number;
    const auto from_v = qkv::scaled_dot_product_attention(q, k, bad_v, qkv::causal_mask(3));
    CHECK(from_v.weights(0, 2) == 0.0f);
    CHECK(std::isnan(from_v.output(0, 1)));
    CHECK(none_nan(from_v.output.col(0)));
  }
  SECTION("relevance: scores propagate it, ranking detects it") {
    const qkv::Vector query = qkv::vector_of({1, not_a_number});
    const Matrix keys = qkv::matrix_from_rows({{1, 0}, {0, 1}});
    const qkv::Vector scores = qkv::relevance_scores(query, keys);
    CHECK(scores.array().isNaN().all());  // 0 * NaN is NaN, even for the first key
    CHECK_THROWS_AS(qkv::rank_by_relevance(scores), qkv::ValueError);
    CHECK_THROWS_AS(qkv::hard_retrieve(query, keys, keys), qkv::ValueError);
  }
}

TEST_CASE("float and double agree on softmax and attention", "[edge]") {
  qkv::Random random(2024);
  for (const Index t : {1, 2, 7}) {
    for (const Index d : {1, 3, 16}) {
      INFO("T = " << t << ", d = " << d);
      const Matrix q = qkv::random_normal(random, t, d, 3.0);
      const Matrix k = qkv::random_normal(random, t + 1, d, 3.0);
      const Matrix v = qkv::random_normal(random, t + 1, d);
      const Matrix scores = qkv::random_normal(random, t, t + 1, 20.0);
      const MatrixD sd = scores.cast<double>();
      CHECK(qkv::softmax_rows(scores).cast<double>().isApprox(qkv::softmax_rows(sd), 1e-5));
      for (const auto& mask :
           {std::optional<qkv::Mask>{}, std::optional{qkv::causal_mask(t, t + 1)}}) {
        const auto f = qkv::scaled_dot_product_attention(q, k, v, mask);
        const auto dd = qkv::scaled_dot_product_attention(q.cast<double>(), k.cast<double>(),
                                                          v.cast<double>(), mask);
        CHECK(f.weights.cast<double>().isApprox(dd.weights, 1e-5));
        CHECK(f.output.cast<double>().isApprox(dd.output, 1e-5));
      }
    }
  }
  // Multi-head attention (float only) against the heads computed in double.
  const Index t = 5, d_model = 12, heads = 3, d_head = d_model / heads;
  const Matrix x = qkv::random_normal(random, t, d_model);
  const auto w = qkv::random_multi_head_weights(random, d_model, heads);
  const auto mha = qkv::multi_head_attention(x, w, qkv::causal_mask(t));
  const MatrixD xd = x.cast<double>();
  MatrixD concat(t, d_model);
  for (Index h = 0; h < heads; ++h) {
    const auto cols = [&](const Matrix& m) {
      return MatrixD(m.middleCols(h * d_head, d_head).cast<double>());
    };
    concat.middleCols(h * d_head, d_head) =
        qkv::scaled_dot_product_attention(xd * cols(w.w_q), xd * cols(w.w_k), xd * cols(w.w_v),
                                          qkv::causal_mask(t))
            .output;
  }
  CHECK(mha.output.cast<double>().isApprox(concat * w.w_o.cast<double>(), 1e-5));
}

}  // namespace qkv::testing
