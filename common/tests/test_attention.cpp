// attention.hpp, scaled dot-product attention: against PyTorch (golden data from
// data/attention_golden.py), by hand, and the invariants of the mechanism.

#include "qkv/attention.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

#include "qkv/catch.hpp"
#include "qkv/golden.hpp"
#include "qkv/masking.hpp"  // the masked overload (chapter 04) is tested here too
#include "qkv/projection.hpp"
#include "qkv/random.hpp"

namespace qkv::testing {

namespace {

// Queries T_q x d_k, keys T_k x d_k and values T_k x d_v from N(0, scale^2) (the values from
// N(0, 1)), drawn in that order.
struct RandomQkv {
  Matrix q, k, v;
};
RandomQkv random_qkv(qkv::Random& random, Index t_q, Index t_k, Index d_k, Index d_v,
                     double scale = 1.0) {
  RandomQkv r;
  r.q = qkv::random_normal(random, t_q, d_k, scale);
  r.k = qkv::random_normal(random, t_k, d_k, scale);
  r.v = qkv::random_normal(random, t_k, d_v);
  return r;
}

// A seeded random permutation of 0..n-1 (Fisher-Yates with qkv::Random, same on every machine).
std::vector<Index> random_permutation(qkv::Random& random, Index n) {
  std::vector<Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Index{0});
  for (Index i = n - 1; i > 0; --i)
    std::swap(order[static_cast<std::size_t>(i)],
              order[random.below(static_cast<std::uint64_t>(i + 1))]);
  return order;
}

// Row i of the result is row order[i] of m (order may also pick a subset).
Matrix permute_rows(const Matrix& m, const std::vector<Index>& order) {
  Matrix out(static_cast<Index>(order.size()), m.cols());
  for (std::size_t i = 0; i < order.size(); ++i) out.row(static_cast<Index>(i)) = m.row(order[i]);
  return out;
}

}  // namespace

TEST_CASE("attention_scores: Q K^T / sqrt(d_k), by hand", "[attention]") {
  const Matrix q = qkv::matrix_from_rows({{1, 0, 0, 0}, {1, 1, 1, 1}});
  const Matrix k = qkv::matrix_from_rows({{2, 0, 0, 0}, {1, 2, 3, 4}, {0, 0, 0, -6}});
  const Matrix s = qkv::attention_scores(q, k);  // sqrt(4) = 2
  REQUIRE(s.rows() == 2);                        // T_q
  REQUIRE(s.cols() == 3);                        // T_k
  CHECK(s == qkv::matrix_from_rows({{1, 0.5f, 0}, {1, 5, -3}}));
  // d_k = 1: no scaling at all.
  CHECK(qkv::attention_scores(qkv::matrix_from_rows({{3}}), qkv::matrix_from_rows({{-2}, {4}})) ==
        qkv::matrix_from_rows({{-6, 12}}));
  // Double precision gives the same numbers.
  const MatrixD sd = qkv::attention_scores(q.cast<double>(), k.cast<double>());
  CHECK(sd == s.cast<double>());
  CHECK_THROWS_WITH(
      qkv::attention_scores(q, Matrix::Ones(3, 5)),
      qkv::testing::contains("attention_scores") && qkv::testing::contains("Q is 2x4, K is 3x5"));
  CHECK_THROWS_AS(qkv::attention_scores(Matrix(2, 0), Matrix(3, 0)), qkv::ValueError);
}

TEST_CASE("attention by hand: two keys, weights from softmax, output a weighted average",
          "[attention]") {
  // d_k = 1, so the scores are q k unscaled: q = 1, keys 0 and ln 3.
  const Matrix q = qkv::matrix_from_rows({{1}});
  const Matrix k = qkv::matrix_from_rows({{0}, {std::log(3.0f)}});
  const Matrix v = qkv::matrix_from_rows({{4, 0}, {0, 8}});
  const qkv::AttentionResult r = qkv::scaled_dot_product_attention(q, k, v);
  CHECK_THAT(r.weights(0, 0), WithinAbs(0.25, 1e-7));
  CHECK_THAT(r.weights(0, 1), WithinAbs(0.75, 1e-7));
  CHECK_THAT(r.output(0, 0), WithinAbs(1.0, 1e-6));  // 0.25 * 4
  CHECK_THAT(r.output(0, 1), WithinAbs(6.0, 1e-6));  // 0.75 * 8
  CHECK(qkv::attention(q, k, v) == r.output);
}

TEST_CASE("one key: every query gets that key's value", "[attention]") {
  qkv::Random random(31);
  const auto [q, k, v] = random_qkv(random, 4, 1, 3, 5);
  const qkv::AttentionResult r = qkv::scaled_dot_product_attention(q, k, v);
  CHECK(r.weights == Matrix::Ones(4, 1));
  for (Index i = 0; i < 4; ++i) CHECK(r.output.row(i) == v.row(0));
}

TEST_CASE("scaled dot-product attention matches PyTorch", "[attention][golden]") {
  const auto golden = qkv::testing::load_json(QKV_TEST_DATA_DIR "/attention_golden.json");
  REQUIRE(golden["attention"].size() == 13);
  bool large_seen = false;
  for (const auto& c : golden["attention"]) {
    INFO("case " << c["name"].get<std::string>());
    // From the reference's own Q, K, V (float64 answers, rounded to float32 on reading):
    // checks the softmax and the weighted sum on their own.
    const Matrix q = matrix_from_json(c["q"]);
    const Matrix k = matrix_from_json(c["k"]);
    const Matrix v = matrix_from_json(c["v"]);
    const qkv::AttentionResult r = qkv::scaled_dot_product_attention(q, k, v);
    check_matrix_close(r.scores, matrix_from_json(c["scores"]), 1e-5, 1e-6, "scores");
    check_matrix_close(r.weights, matrix_from_json(c["weights"]), 1e-5, 1e-6, "weights");
    check_matrix_close(r.output, matrix_from_json(c["output"]), 1e-5, 1e-6, "output");
    // From the embeddings, the whole chain in float: X -> Q, K, V -> attention.
    if (c.contains("x")) {
      const Matrix x_kv = matrix_from_json(c["x"]);
      const Matrix x_q = c.contains("x_q") ? matrix_from_json(c["x_q"]) : x_kv;
      const Matrix out = qkv::attention(qkv::project(x_q, matrix_from_json(c["w_q"])),
                                        qkv::project(x_kv, matrix_from_json(c["w_k"])),
                                        qkv::project(x_kv, matrix_from_json(c["w_v"])));
      check_matrix_close(out, matrix_from_json(c["output"]), 1e-5, 1e-6, "output from X");
    }
    if (c["largest_score"].get<double>() > 100) {
      large_seen = true;
      CHECK(qkv::naive_softmax_rows(r.scores).hasNaN());  // where the textbook formula fails
    }
  }
  CHECK(large_seen);
}

TEST_CASE("every row of weights sums to 1, and outputs stay within the values' range",
          "[attention]") {
  qkv::Random random(32);
  for (const auto& [t_q, t_k, d_k, d_v] : std::vector<std::tuple<Index, Index, Index, Index>>{
           {1, 1, 1, 1}, {5, 5, 4, 4}, {3, 9, 8, 2}, {12, 2, 1, 6}}) {
    const auto [q, k, v] = random_qkv(random, t_q, t_k, d_k, d_v, 2.0);
    const qkv::AttentionResult r = qkv::scaled_dot_product_attention(q, k, v);
    REQUIRE(r.scores.rows() == t_q);
    REQUIRE(r.scores.cols() == t_k);
    REQUIRE(r.output.rows() == t_q);
    REQUIRE(r.output.cols() == d_v);
    for (Index i = 0; i < t_q; ++i) CHECK_THAT(r.weights.row(i).sum(), WithinAbs(1.0, 1e-6));
    CHECK((r.weights.array() >= 0.0f).all());
    for (Index c = 0; c < d_v; ++c) {
      CHECK((r.output.col(c).array() >= v.col(c).minCoeff() - 1e-6f).all());
      CHECK((r.output.col(c).array() <= v.col(c).maxCoeff() + 1e-6f).all());
    }
  }
}

TEST_CASE("permuting keys and values together leaves the output unchanged", "[attention]") {
  qkv::Random random(33);
  const auto [q, k, v] = random_qkv(random, 4, 7, 6, 3);
  const qkv::AttentionResult r = qkv::scaled_dot_product_attention(q, k, v);
  for (int trial = 0; trial < 5; ++trial) {
    const auto order = random_permutation(random, 7);
    const qkv::AttentionResult p =
        qkv::scaled_dot_product_attention(q, permute_rows(k, order), permute_rows(v, order));
    check_matrix_close(p.output, r.output, 1e-5, 1e-6, "output");
    // The weights move with their keys: column j of the permuted is column order[j].
    for (Index j = 0; j < 7; ++j)
      check_matrix_close(p.weights.col(j), r.weights.col(order[static_cast<std::size_t>(j)]), 1e-6,
                         1e-7, "weights column");
  }
  // Permuting the values alone does change it (the test above can fail).
  const auto order = std::vector<Index>{1, 0, 2, 3, 4, 5, 6};
  CHECK_FALSE(qkv::attention(q, k, permute_rows(v, order)).isApprox(r.output, 1e-3f));
}

TEST_CASE("permuting the tokens of self-attention permutes the outputs the same way",
          "[attention]") {
  qkv::Random random(34);
  const Matrix x = qkv::random_normal(random, 6, 8);
  const qkv::QkvWeights w = qkv::random_qkv_weights(random, 8, 4);
  auto self_attention = [&w](const Matrix& tokens) {
    const qkv::Qkv p = qkv::project_qkv(tokens, w);
    return qkv::attention(p.q, p.k, p.v);
  };
  const Matrix out = self_attention(x);
  for (int trial = 0; trial < 5; ++trial) {
    const auto order = random_permutation(random, 6);
    check_matrix_close(self_attention(permute_rows(x, order)), permute_rows(out, order), 1e-5, 1e-6,
                       "permuted outputs");
  }
}

TEST_CASE("float and double attention agree", "[attention]") {
  qkv::Random random(35);
  const auto [q, k, v] = random_qkv(random, 5, 9, 16, 4);
  const auto r = qkv::scaled_dot_product_attention(q, k, v);
  const auto rd =
      qkv::scaled_dot_product_attention(q.cast<double>(), k.cast<double>(), v.cast<double>());
  check_matrix_close(r.scores, rd.scores, 1e-5, 1e-6, "scores");
  check_matrix_close(r.weights, rd.weights, 1e-5, 1e-6, "weights");
  check_matrix_close(r.output, rd.output, 1e-5, 1e-6, "output");
}

TEST_CASE("large scores: stable, and the largest score takes nearly all the weight",
          "[attention]") {
  // d_k = 1: scores 1000 q k; the query prefers key 2 by a margin of 1000.
  const Matrix q = qkv::matrix_from_rows({{1000}});
  const Matrix k = qkv::matrix_from_rows({{-1}, {0}, {1}});
  const Matrix v = qkv::matrix_from_rows({{1, 0}, {0, 1}, {5, 5}});
  const qkv::AttentionResult r = qkv::scaled_dot_product_attention(q, k, v);
  CHECK(r.output.allFinite());
  CHECK(r.weights == qkv::matrix_from_rows({{0, 0, 1}}));  // e^-1000 underflows to 0
  CHECK(r.output == qkv::matrix_from_rows({{5, 5}}));
}

TEST_CASE("attention rejects shapes that do not fit, naming both", "[attention]") {
  const Matrix q = Matrix::Ones(2, 4);
  CHECK_THROWS_WITH(qkv::attention(q, Matrix::Ones(3, 4), Matrix::Ones(2, 5)),
                    qkv::testing::contains("scaled_dot_product_attention") &&
                        qkv::testing::contains("K is 3x4, V is 2x5"));
  CHECK_THROWS_WITH(qkv::attention(q, Matrix::Ones(3, 5), Matrix::Ones(3, 5)),
                    qkv::testing::contains("Q is 2x4, K is 3x5"));
  CHECK_THROWS_AS(
      qkv::attention(q, Matrix::Ones(3, 4), Matrix::Ones(3, 2), qkv::Mask::Constant(3, 3, true)),
      qkv::ShapeError);
}

TEST_CASE("an optional mask enters as -inf: masked keys get weight 0", "[attention]") {
  qkv::Random random(36);
  const auto [q, k, v] = random_qkv(random, 2, 3, 3, 2);
  qkv::Mask mask = qkv::Mask::Constant(2, 3, true);
  mask(0, 1) = false;
  mask.row(1).setConstant(false);  // a query that may see nothing
  const qkv::AttentionResult r = qkv::scaled_dot_product_attention(q, k, v, mask);
  CHECK(r.weights(0, 1) == 0.0f);
  CHECK_THAT(r.weights.row(0).sum(), WithinAbs(1.0, 1e-6));
  CHECK(r.weights.row(1).isZero(0.0f));
  CHECK(r.output.row(1).isZero(0.0f));
  CHECK(r.output.allFinite());
  // Masking key 1 is the same as leaving it out.
  const Matrix k02 = permute_rows(k, {0, 2});
  const Matrix v02 = permute_rows(v, {0, 2});
  check_matrix_close(r.output.row(0), qkv::attention(q.topRows(1), k02, v02), 1e-5, 1e-6,
                     "masked = removed");
}

}  // namespace qkv::testing
