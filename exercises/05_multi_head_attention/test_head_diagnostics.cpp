// Checks exercise head_diagnostics: each head's mean attention entropy and distance.

#include "head_diagnostics.hpp"

#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <optional>
#include <vector>

#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"

using qkv::Index;
using qkv::Matrix;
using qkv::Vector;
using qkv::exercises::head_diagnostics;
using qkv::testing::is_close;

namespace {

const double ln2 = std::log(2.0), ln3 = std::log(3.0), ln4 = std::log(4.0);

Vector floats(std::initializer_list<double> values) {
  Vector v(static_cast<Index>(values.size()));
  Index i = 0;
  for (double value : values) v(i++) = static_cast<float>(value);
  return v;
}

// The two diagnostics written as whole-matrix expressions in double, a formulation of its
// own: -(p ln p) summed along the rows, and p times the matrix of distances |p_q - j|.
qkv::VectorD reference_entropy(const std::vector<Matrix>& weights) {
  qkv::VectorD h(static_cast<Index>(weights.size()));
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const Eigen::ArrayXXd p = weights[i].cast<double>().array();
    h(static_cast<Index>(i)) = -(p > 0).select(p * p.log(), 0.0).rowwise().sum().mean();
  }
  return h;
}

qkv::VectorD reference_distance(const std::vector<Matrix>& weights) {
  qkv::VectorD d(static_cast<Index>(weights.size()));
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const Index t_q = weights[i].rows(), t_k = weights[i].cols();
    Eigen::ArrayXXd far(t_q, t_k);
    for (Index q = 0; q < t_q; ++q)
      for (Index j = 0; j < t_k; ++j) far(q, j) = double(std::abs(t_k - t_q + q - j));
    d(static_cast<Index>(i)) = (weights[i].cast<double>().array() * far).rowwise().sum().mean();
  }
  return d;
}

}  // namespace

TEST_CASE("head_diagnostics of three heads, by hand", "[head_diagnostics]") {
  const std::vector<Matrix> weights = {
      // Looks back a little, more widely for later queries.
      qkv::matrix_from_rows({{1, 0, 0}, {0.5f, 0.5f, 0}, {0.25f, 0.25f, 0.5f}}),
      // Every query on the first token (an "attention sink").
      qkv::matrix_from_rows({{1, 0, 0}, {1, 0, 0}, {1, 0, 0}}),
      // Even over all three keys, later ones included (no causal mask).
      Matrix::Constant(3, 3, 1.0f / 3),
  };
  const auto d = head_diagnostics(weights);
  // Rows of head 0: H = 0, ln 2, 1.5 ln 2; D = 0, 0.5, 0.25 * 2 + 0.25 * 1.
  // Head 1: H = 0; D = 0, 1, 2. Head 2: H = ln 3; D = 3/3, 2/3, 3/3.
  CHECK_THAT(d.entropy, is_close(floats({2.5 * ln2 / 3, 0, ln3})));
  CHECK_THAT(d.distance, is_close(floats({1.25 / 3, 1, 8.0 / 9})));
}

TEST_CASE("head_diagnostics: the queries are the last T_q of the T_k positions",
          "[head_diagnostics]") {
  // Two queries at positions 2 and 3 of 4, as in a decode step.
  const std::vector<Matrix> weights = {
      qkv::matrix_from_rows({{0, 0, 1, 0}, {0.5f, 0, 0, 0.5f}}),  // own token; first and own
      qkv::matrix_from_rows({{0, 1, 0, 0}, {0, 0, 0, 1}}),        // one back; own token
  };
  const auto d = head_diagnostics(weights);
  CHECK_THAT(d.entropy, is_close(floats({ln2 / 2, 0})));
  CHECK_THAT(d.distance, is_close(floats({(0 + 0.5 * 3) / 2, (1 + 0) / 2.0})));
  // One query, the newest token (position 3), evenly over the 4 keys: distances 3, 2, 1, 0.
  const auto one = head_diagnostics({Matrix::Constant(1, 4, 0.25f)});
  CHECK_THAT(one.entropy, is_close(floats({ln4})));
  CHECK_THAT(one.distance, is_close(floats({1.5})));
}

TEST_CASE("head_diagnostics of multi-head attention: a head without queries spreads evenly",
          "[head_diagnostics]") {
  qkv::Random random(51);
  const Index tokens = 6, d_model = 12, heads = 3, d_head = 4;
  qkv::MultiHeadWeights w = qkv::random_multi_head_weights(random, d_model, heads);
  w.w_q *= 8.0f;                                   // sharper heads: entropies well apart
  w.w_q.middleCols(1 * d_head, d_head).setZero();  // head 1: every score 0
  const Matrix x = qkv::random_normal(random, tokens, d_model);

  // Causal: head 1's query q spreads evenly over its q + 1 keys, so its entropy is
  // ln(q + 1) and its distance q / 2. Averaged: ln(6!) / 6 and (0 + 1 + ... + 5) / 12.
  const auto causal = qkv::multi_head_attention(x, w, qkv::causal_mask(tokens));
  const auto d = head_diagnostics(causal.weights);
  REQUIRE(d.entropy.size() == heads);
  REQUIRE(d.distance.size() == heads);
  CHECK_THAT(Vector(d.entropy.segment(1, 1)), is_close(floats({std::log(720.0) / 6})));
  CHECK_THAT(Vector(d.distance.segment(1, 1)), is_close(floats({15.0 / 12})));
  CHECK_THAT(d.entropy, is_close(reference_entropy(causal.weights).cast<float>()));
  CHECK_THAT(d.distance, is_close(reference_distance(causal.weights).cast<float>()));
  for (Index i = 0; i < heads; ++i) {
    INFO("head " << i << ": entropy at least 0 and at most head 1's, distance at most 2.5");
    CHECK(d.entropy(i) >= 0.0f);
    CHECK(d.entropy(i) <= d.entropy(1) + 1e-6f);  // even spreading is the most uncertain
    CHECK(d.distance(i) <= 2.5f + 1e-6f);         // mean of the farthest visible: q
  }

  // Without a mask head 1 spreads over all 6 keys: ln 6, and the mean of |q - j| over all
  // 36 pairs, 2 (5 + 8 + 9 + 8 + 5) / 36.
  const auto full = qkv::multi_head_attention(x, w);
  const auto e = head_diagnostics(full.weights);
  CHECK_THAT(Vector(e.entropy.segment(1, 1)), is_close(floats({std::log(6.0)})));
  CHECK_THAT(Vector(e.distance.segment(1, 1)), is_close(floats({70.0 / 36})));
  CHECK_THAT(e.entropy, is_close(reference_entropy(full.weights).cast<float>()));
  CHECK_THAT(e.distance, is_close(reference_distance(full.weights).cast<float>()));

  // Each head on its own: entry i depends on head i alone, in the order given.
  for (Index i = 0; i < heads; ++i) {
    INFO("head " << i << " alone");
    const auto alone = head_diagnostics({full.weights[static_cast<std::size_t>(i)]});
    CHECK_THAT(alone.entropy, is_close(Vector(e.entropy.segment(i, 1))));
    CHECK_THAT(alone.distance, is_close(Vector(e.distance.segment(i, 1))));
  }
  const auto reversed = head_diagnostics({full.weights[2], full.weights[1], full.weights[0]});
  CHECK_THAT(reversed.entropy, is_close(Vector(e.entropy.reverse())));
  CHECK_THAT(reversed.distance, is_close(Vector(e.distance.reverse())));
}

TEST_CASE("head_diagnostics rejects what are not attention weights", "[head_diagnostics]") {
  const Matrix good = qkv::matrix_from_rows({{1, 0}, {0.5f, 0.5f}});
  CHECK_NOTHROW(head_diagnostics({good}));
  CHECK_NOTHROW(head_diagnostics({qkv::matrix_from_rows({{1, 0}, {0.5f, 0.50001f}})}));
  CHECK_THROWS_AS(head_diagnostics({}), qkv::ValueError);
  CHECK_THROWS_AS(head_diagnostics({good, Matrix::Constant(2, 3, 1.0f / 3)}), qkv::ShapeError);
  CHECK_THROWS_AS(head_diagnostics({good, Matrix::Constant(1, 2, 0.5f)}), qkv::ShapeError);
  CHECK_THROWS_AS(head_diagnostics({Matrix::Constant(3, 2, 0.5f)}), qkv::ValueError);  // T_q > T_k
  CHECK_THROWS_AS(head_diagnostics({Matrix(0, 2)}), qkv::ValueError);                  // no query
  // A row that does not sum to 1, a negative weight, NaN, infinity; in the second head.
  for (const Matrix& bad :
       {qkv::matrix_from_rows({{1, 0}, {0.5f, 0.4f}}), qkv::matrix_from_rows({{1, 0}, {0, 0}}),
        qkv::matrix_from_rows({{1, 0}, {1.5f, -0.5f}}),
        qkv::matrix_from_rows({{1, 0}, {std::numeric_limits<float>::quiet_NaN(), 1}}),
        qkv::matrix_from_rows({{1, 0}, {std::numeric_limits<float>::infinity(), 0}})}) {
    INFO("bad weights " << bad);
    CHECK_THROWS_AS(head_diagnostics({good, bad}), qkv::ValueError);
  }
  // 0.1 off: within a tolerance of 0.2, accepted.
  CHECK_NOTHROW(head_diagnostics({qkv::matrix_from_rows({{1, 0}, {0.5f, 0.4f}})}, 0.2f));
}
