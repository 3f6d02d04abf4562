// masking.hpp and masked attention: the masks by hand, masked attention against PyTorch
// (golden data from data/masking_torch.py), and the invariants a mask must keep.

#include "qkv/masking.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "qkv/attention.hpp"
#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/golden.hpp"
#include "qkv/projection.hpp"
#include "qkv/random.hpp"

namespace qkv::testing {

namespace {

bool same_mask(const Mask& a, const Mask& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && (a == b).all();
}

// The mask a golden case names, built with qkv's functions.
Mask library_mask(const nlohmann::json& c) {
  const auto kind = c["mask_kind"].get<std::string>();
  const auto t_q = c["t_q"].get<Index>(), t_k = c["t_k"].get<Index>();
  if (kind == "causal") return qkv::causal_mask(t_q, t_k);
  if (kind == "window") return qkv::window_mask(t_k, c["window"].get<Index>());
  if (kind == "padding") return qkv::padding_mask(t_k, c["length"].get<Index>());
  if (kind == "query_key_padding")
    return qkv::query_key_padding_mask(t_k, c["length"].get<Index>());
  if (kind == "causal_and_padding")
    return qkv::causal_mask(t_q, t_k) && qkv::padding_mask(t_k, c["length"].get<Index>());
  if (kind == "none") return Mask::Constant(t_q, t_k, true);
  FAIL("unknown mask kind " << kind);
  return {};
}

// Checks that the masked rows of every output of attention hold what qkv promises: every
// finite allowed weight sums to 1 per row, masked weights are exactly 0, and a fully masked
// row is all zeros in weights and output. Nothing is NaN.
void check_mask_invariants(const qkv::AttentionResult& result, const Mask& mask) {
  REQUIRE(result.weights.rows() == mask.rows());
  REQUIRE(result.weights.cols() == mask.cols());
  CHECK_FALSE(result.weights.hasNaN());
  CHECK_FALSE(result.output.hasNaN());
  for (Index i = 0; i < mask.rows(); ++i) {
    INFO("row " << i);
    for (Index j = 0; j < mask.cols(); ++j) {
      if (!mask(i, j)) {
        CHECK(result.weights(i, j) == 0.0f);
        CHECK(result.scores(i, j) == -std::numeric_limits<float>::infinity());
      }
    }
    if (mask.row(i).any()) {
      CHECK_THAT(result.weights.row(i).sum(), WithinAbs(1.0, 1e-5));
    } else {
      CHECK((result.weights.row(i).array() == 0.0f).all());
      CHECK((result.output.row(i).array() == 0.0f).all());
    }
  }
}

qkv::AttentionResult self_attention(const Matrix& x, const qkv::QkvWeights& w, const Mask& mask) {
  const qkv::Qkv p = qkv::project_qkv(x, w);
  return qkv::scaled_dot_product_attention(p.q, p.k, p.v, std::optional<Mask>(mask));
}

}  // namespace

TEST_CASE("causal_mask: token i sees tokens 0..i", "[masking]") {
  CHECK(same_mask(qkv::causal_mask(3), mask_from_rows({{1, 0, 0}, {1, 1, 0}, {1, 1, 1}})));
  CHECK(same_mask(qkv::causal_mask(1), mask_from_rows({{1}})));
  // Two queries at positions 2 and 3 of four: decoding with two cached tokens.
  CHECK(same_mask(qkv::causal_mask(2, 4), mask_from_rows({{1, 1, 1, 0}, {1, 1, 1, 1}})));
  CHECK(same_mask(qkv::causal_mask(1, 3), mask_from_rows({{1, 1, 1}})));
  CHECK(qkv::causal_mask(0).size() == 0);
  CHECK_THROWS_AS(qkv::causal_mask(3, 2), qkv::ValueError);
  CHECK_THROWS_AS(qkv::causal_mask(-1), qkv::ValueError);
}

TEST_CASE("window_mask: token i sees max(0, i - w + 1)..i", "[masking]") {
  CHECK(same_mask(qkv::window_mask(4, 2),
                  mask_from_rows({{1, 0, 0, 0}, {1, 1, 0, 0}, {0, 1, 1, 0}, {0, 0, 1, 1}})));
  CHECK(same_mask(qkv::window_mask(3, 1), mask_from_rows({{1, 0, 0}, {0, 1, 0}, {0, 0, 1}})));
  for (Index t : {1, 2, 5, 9})
    for (Index w : {t, t + 1, Index{100}}) {
      INFO("T = " << t << ", w = " << w);
      CHECK(same_mask(qkv::window_mask(t, w), qkv::causal_mask(t)));
    }
  CHECK_THROWS_AS(qkv::window_mask(3, 0), qkv::ValueError);
  CHECK_THROWS_AS(qkv::window_mask(-1, 2), qkv::ValueError);
}

TEST_CASE("padding masks hide padded keys, and padded queries too when asked", "[masking]") {
  CHECK(same_mask(qkv::padding_mask(3, 2), mask_from_rows({{1, 1, 0}, {1, 1, 0}, {1, 1, 0}})));
  CHECK(same_mask(qkv::padding_mask(2, 2), mask_from_rows({{1, 1}, {1, 1}})));
  CHECK(same_mask(qkv::query_key_padding_mask(3, 2),
                  mask_from_rows({{1, 1, 0}, {1, 1, 0}, {0, 0, 0}})));
  CHECK(same_mask(qkv::query_key_padding_mask(2, 0), mask_from_rows({{0, 0}, {0, 0}})));
  CHECK(same_mask(qkv::query_key_padding_mask(4, 4), Mask::Constant(4, 4, true)));
  CHECK_THROWS_AS(qkv::padding_mask(3, 4), qkv::ValueError);
  CHECK_THROWS_AS(qkv::padding_mask(3, -1), qkv::ValueError);
  CHECK_THROWS_AS(qkv::query_key_padding_mask(2, 3), qkv::ValueError);
}

TEST_CASE("additive_mask, apply_mask and mask_as_matrix", "[masking]") {
  const Mask mask = mask_from_rows({{1, 0}, {1, 1}});
  const float inf = std::numeric_limits<float>::infinity();
  const Matrix additive = qkv::additive_mask(mask);
  CHECK(additive(0, 0) == 0.0f);
  CHECK(additive(0, 1) == -inf);
  CHECK(additive(1, 0) == 0.0f);
  CHECK(additive(1, 1) == 0.0f);
  const Matrix scores = qkv::matrix_from_rows({{1.5f, 2}, {-3, 4}});
  const Matrix masked = qkv::apply_mask(scores, mask);
  CHECK(masked(0, 0) == 1.5f);
  CHECK(masked(0, 1) == -inf);
  CHECK(masked(1, 0) == -3.0f);
  CHECK(masked(1, 1) == 4.0f);
  // S + M is the same as replacing the masked scores.
  CHECK(((scores + additive).array() == masked.array()).all());
  CHECK(qkv::mask_as_matrix(mask) == qkv::matrix_from_rows({{1, 0}, {1, 1}}));
  CHECK_THROWS_AS(qkv::apply_mask(scores, qkv::causal_mask(3)), qkv::ShapeError);
  CHECK_THROWS_WITH(
      qkv::apply_mask(scores, qkv::causal_mask(3)),
      qkv::testing::contains("apply_mask") && qkv::testing::contains("scores is 2x2, mask is 3x3"));
}

TEST_CASE("masked attention by hand, and a fully masked row gives zeros, not NaN", "[masking]") {
  // d_k = 1, so the scores are q_i k_j. Query 0 sees key 0 only; query 1 sees both keys with
  // scores 0 and ln 3: weights 1/4 and 3/4; query 2 sees nothing.
  const Matrix q = qkv::matrix_from_rows({{1}, {1}, {1}});
  const Matrix k = qkv::matrix_from_rows({{0}, {std::log(3.0f)}});
  const Matrix v = qkv::matrix_from_rows({{4, 0}, {8, 2}});
  const Mask mask = mask_from_rows({{1, 0}, {1, 1}, {0, 0}});
  const auto result = qkv::scaled_dot_product_attention(q, k, v, std::optional<Mask>(mask));
  CHECK(result.weights(0, 0) == 1.0f);
  CHECK(result.weights(0, 1) == 0.0f);
  CHECK_THAT(result.weights(1, 0), WithinAbs(0.25, 1e-6));
  CHECK_THAT(result.weights(1, 1), WithinAbs(0.75, 1e-6));
  CHECK(result.output.row(0) == qkv::matrix_from_rows({{4, 0}}));
  CHECK_THAT(result.output(1, 0), WithinAbs(7.0, 1e-5));  // 4/4 + 8 * 3/4
  CHECK_THAT(result.output(1, 1), WithinAbs(1.5, 1e-6));  // 2 * 3/4
  CHECK(result.output.row(2) == qkv::matrix_from_rows({{0, 0}}));
  CHECK(result.weights.row(2) == qkv::matrix_from_rows({{0, 0}}));
  check_mask_invariants(result, mask);
}

TEST_CASE("masked attention matches PyTorch (masked_fill, softmax, matmul)", "[masking]") {
  const auto golden = qkv::testing::load_json(QKV_TEST_DATA_DIR "/masking_torch.json");
  REQUIRE(golden["cases"].size() >= 10);
  for (const auto& c : golden["cases"]) {
    const auto name = c["name"].get<std::string>();
    INFO("case " << name);
    using qkv::testing::check_matrix_close;
    using qkv::testing::matrix_from_json;
    const Matrix x_q = matrix_from_json(c["x_q"]), x_kv = matrix_from_json(c["x_kv"]);
    const qkv::QkvWeights w{matrix_from_json(c["w_q"]), matrix_from_json(c["w_k"]),
                            matrix_from_json(c["w_v"])};
    const Mask mask = library_mask(c);
    CHECK(qkv::mask_as_matrix(mask) == matrix_from_json(c["mask"]));

    const Matrix q = qkv::project(x_q, w.w_q), k = qkv::project(x_kv, w.w_k),
                 v = qkv::project(x_kv, w.w_v);
    check_matrix_close(q, matrix_from_json(c["q"]), 1e-5, 1e-6, name + " q");
    check_matrix_close(k, matrix_from_json(c["k"]), 1e-5, 1e-6, name + " k");
    check_matrix_close(v, matrix_from_json(c["v"]), 1e-5, 1e-6, name + " v");
    const auto result = qkv::scaled_dot_product_attention(q, k, v, std::optional<Mask>(mask));
    check_mask_invariants(result, mask);

    // JSON has no -inf and no NaN: null stands for torch's -inf scores (masked) and for its
    // NaN weights and outputs (fully masked rows), which qkv makes 0 on purpose.
    const auto nan_rows = c["nan_rows"].get<std::vector<Index>>();
    Matrix expected_scores = matrix_from_json(c["scores"]);
    Matrix expected_weights = matrix_from_json(c["weights"]);
    Matrix expected_output = matrix_from_json(c["output"]);
    for (Index i = 0; i < expected_scores.rows(); ++i)
      for (Index j = 0; j < expected_scores.cols(); ++j) {
        CHECK(std::isnan(expected_scores(i, j)) == !mask(i, j));
        if (!mask(i, j)) expected_scores(i, j) = -std::numeric_limits<float>::infinity();
      }
    for (Index i = 0; i < expected_weights.rows(); ++i) {
      const bool torch_nan = std::find(nan_rows.begin(), nan_rows.end(), i) != nan_rows.end();
      CHECK(torch_nan == !mask.row(i).any());
      CHECK(expected_weights.row(i).hasNaN() == torch_nan);
      CHECK(expected_output.row(i).hasNaN() == torch_nan);
      if (torch_nan) {
        expected_weights.row(i).setZero();
        expected_output.row(i).setZero();
      }
    }
    // -inf == -inf passes the tolerance check only by equality: compare masked entries
    // exactly, the rest within tolerance.
    for (Index i = 0; i < expected_scores.rows(); ++i)
      for (Index j = 0; j < expected_scores.cols(); ++j)
        if (!mask(i, j)) CHECK(result.scores(i, j) == expected_scores(i, j));
    check_matrix_close(mask.select(result.scores, 0.0f), mask.select(expected_scores, 0.0f), 1e-5,
                       1e-6, name + " scores");
    check_matrix_close(result.weights, expected_weights, 1e-5, 1e-6, name + " weights");
    check_matrix_close(result.output, expected_output, 1e-5, 1e-6, name + " output");
  }
}

TEST_CASE("masked weights are exactly 0 and every row that sees a key sums to 1", "[masking]") {
  qkv::Random random(41);
  for (Index t : {1, 2, 5, 12}) {
    const Matrix x = qkv::random_normal(random, t, 8);
    const auto w = qkv::random_qkv_weights(random, 8, 4);
    for (const Mask& mask :
         {qkv::causal_mask(t), qkv::window_mask(t, 2), qkv::window_mask(t, 1),
          qkv::padding_mask(t, (t + 1) / 2), qkv::query_key_padding_mask(t, t / 2),
          qkv::query_key_padding_mask(t, 0), Mask(Mask::Constant(t, t, false))}) {
      INFO("T = " << t);
      check_mask_invariants(self_attention(x, w, mask), mask);
    }
  }
  // One query over 64 keys, every other one masked: a contiguous row of scores, where
  // Eigen's vectorized exp would turn -inf into a tiny positive number instead of 0.
  const Matrix q = qkv::random_normal(random, 1, 4), k = qkv::random_normal(random, 64, 4),
               v = qkv::random_normal(random, 64, 3);
  Mask every_other(1, 64);
  for (Index j = 0; j < 64; ++j) every_other(0, j) = j % 2 == 0;
  check_mask_invariants(
      qkv::scaled_dot_product_attention(q, k, v, std::optional<Mask>(every_other)), every_other);
  check_mask_invariants(
      qkv::scaled_dot_product_attention(q, k, v, std::optional<Mask>(Mask::Constant(1, 64, false))),
      Mask::Constant(1, 64, false));
}

TEST_CASE("with a causal mask, output i does not depend on the tokens after i", "[masking]") {
  qkv::Random random(42);
  const Index t = 7;
  const Matrix x = qkv::random_normal(random, t, 6);
  const auto w = qkv::random_qkv_weights(random, 6, 3);
  const Matrix before = self_attention(x, w, qkv::causal_mask(t)).output;
  for (Index changed = 0; changed < t; ++changed) {
    Matrix other = x;
    other.bottomRows(t - changed) = qkv::random_normal(random, t - changed, 6, 3.0);
    const Matrix after = self_attention(other, w, qkv::causal_mask(t)).output;
    INFO("tokens " << changed << ".. changed");
    // Exactly equal, not just close: the earlier rows compute the very same sums.
    CHECK(after.topRows(changed) == before.topRows(changed));
    CHECK((after.row(changed) - before.row(changed)).cwiseAbs().maxCoeff() > 1e-3f);
  }
  // Without the mask, every output moves when the last token changes.
  Matrix other = x;
  other.row(t - 1) = qkv::random_normal(random, 1, 6, 3.0);
  const Matrix unmasked_before = self_attention(x, w, Mask::Constant(t, t, true)).output;
  const Matrix unmasked_after = self_attention(other, w, Mask::Constant(t, t, true)).output;
  for (Index i = 0; i < t; ++i) CHECK(unmasked_after.row(i) != unmasked_before.row(i));
}

TEST_CASE("window masks: w >= T is causal, w = 1 returns each token's own value", "[masking]") {
  qkv::Random random(43);
  for (Index t : {1, 3, 8}) {
    const Matrix x = qkv::random_normal(random, t, 5);
    const auto w = qkv::random_qkv_weights(random, 5, 4);
    const qkv::Qkv p = qkv::project_qkv(x, w);
    const Matrix causal = self_attention(x, w, qkv::causal_mask(t)).output;
    CHECK(self_attention(x, w, qkv::window_mask(t, t)).output == causal);
    CHECK(self_attention(x, w, qkv::window_mask(t, t + 3)).output == causal);
    const auto one = self_attention(x, w, qkv::window_mask(t, 1));
    CHECK(one.weights == Matrix::Identity(t, t));
    CHECK(one.output == p.v);
    // A window of w: each row spreads its weight over min(i + 1, w) keys, none before.
    const auto two = self_attention(x, w, qkv::window_mask(t, 2));
    for (Index i = 2; i < t; ++i) CHECK(two.weights.row(i).head(i - 1).isZero(0));
  }
}

TEST_CASE("padding: changing padded tokens changes no real token's output", "[masking]") {
  qkv::Random random(44);
  const Index t = 6;
  const auto w = qkv::random_qkv_weights(random, 8, 4);
  for (Index length : {0, 1, 3, 6}) {
    INFO("length " << length);
    const Matrix x = qkv::random_normal(random, t, 8);
    Matrix other = x;
    other.bottomRows(t - length) = qkv::random_normal(random, t - length, 8, 10.0);
    for (const Mask& mask : {qkv::padding_mask(t, length), qkv::query_key_padding_mask(t, length),
                             Mask(qkv::causal_mask(t) && qkv::padding_mask(t, length))}) {
      const auto before = self_attention(x, w, mask);
      const auto after = self_attention(other, w, mask);
      CHECK(after.output.topRows(length) == before.output.topRows(length));
      CHECK(after.weights.topRows(length) == before.weights.topRows(length));
    }
    // Padded queries that are hidden too produce nothing at all.
    const auto hidden = self_attention(other, w, qkv::query_key_padding_mask(t, length));
    CHECK(hidden.output.bottomRows(t - length).isZero(0));
  }
}

}  // namespace qkv::testing
