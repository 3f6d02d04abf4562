// fast_attention.hpp, tiled attention with online softmax: by hand, against the matrix form
// (scaled_dot_product_attention with causal_mask), the log-sum-exp against one computed in
// double, the threads against one thread bit for bit, and the lesson's trace.

#include "qkv/fast_attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "qkv/attention.hpp"
#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"

namespace qkv::testing {

namespace {

constexpr float minus_infinity = -std::numeric_limits<float>::infinity();

TiledAttentionOptions tiling(Index block_q, Index block_k, bool causal = false, int threads = 1) {
  TiledAttentionOptions options;
  options.block_q = block_q;
  options.block_k = block_k;
  options.causal = causal;
  options.threads = threads;
  return options;
}

// The matrix form's mask for the tiled kernel's causal rule (query i sees keys
// 0..T_k - T_q + i). causal_mask() itself refuses T_q > T_k; there the first T_q - T_k
// queries see no key, and the others are the square causal mask of the keys.
Mask causal_rule(Index t_q, Index t_k) {
  if (t_q <= t_k) return qkv::causal_mask(t_q, t_k);
  Mask mask(t_q, t_k);
  mask << Mask::Constant(t_q - t_k, t_k, false), qkv::causal_mask(t_k);
  return mask;
}

// The scaled (masked) scores in double, and the log-sum-exp of each row from them:
// log sum_j e^{s_ij} = m + log sum_j e^{s_ij - m}; -inf for a row without keys.
VectorD log_sum_exp_in_double(const Matrix& q, const Matrix& k, const std::optional<Mask>& mask) {
  const MatrixD scores =
      (q.cast<double>() * k.cast<double>().transpose()) / std::sqrt(static_cast<double>(q.cols()));
  VectorD lse(q.rows());
  for (Index i = 0; i < q.rows(); ++i) {
    double max = -std::numeric_limits<double>::infinity();
    for (Index j = 0; j < k.rows(); ++j)
      if (!mask || (*mask)(i, j)) max = std::max(max, scores(i, j));
    double sum = 0.0;
    for (Index j = 0; j < k.rows(); ++j)
      if (!mask || (*mask)(i, j)) sum += std::exp(scores(i, j) - max);
    lse(i) = sum > 0.0 ? max + std::log(sum) : -std::numeric_limits<double>::infinity();
  }
  return lse;
}

// One random case: shapes, block sizes, mask.
struct Case {
  Index t_q, t_k, d_k, d_v, block_q, block_k;
  bool causal;
  std::string name() const {
    return "T_q " + std::to_string(t_q) + ", T_k " + std::to_string(t_k) + ", d_k " +
           std::to_string(d_k) + ", d_v " + std::to_string(d_v) + ", block_q " +
           std::to_string(block_q) + ", block_k " + std::to_string(block_k) +
           (causal ? ", causal" : "");
  }
};

Index pick(qkv::Random& random, const std::vector<Index>& choices) {
  return choices[random.below(choices.size())];
}

// Random T in 1..300 (T_q = T_k, T_q != T_k, and T_q = 1, a decoding step), d_k in {1, 3, 64},
// block sizes 1, 7, 64 and T + 5, none of which needs to divide T.
std::vector<Case> random_cases(qkv::Random& random, int count) {
  std::vector<Case> cases;
  for (int n = 0; n < count; ++n) {
    Case c{};
    c.t_k = 1 + static_cast<Index>(random.below(300));
    const auto shape = n % 3;  // square, rectangular, one query
    c.t_q = shape == 0 ? c.t_k : shape == 1 ? 1 + static_cast<Index>(random.below(300)) : 1;
    c.d_k = pick(random, {1, 3, 64});
    c.d_v = pick(random, {1, 3, 64});
    c.block_q = pick(random, {1, 7, 64, c.t_q + 5});
    c.block_k = pick(random, {1, 7, 64, c.t_k + 5});
    c.causal = n % 2 == 1;
    cases.push_back(c);
  }
  return cases;
}

struct Operands {
  Matrix q, k, v;
};

// Queries with a spread of 3 make scores of about +-10, so the running maximum keeps
// growing from block to block and the rescaling matters.
Operands random_operands(qkv::Random& random, const Case& c) {
  return {qkv::random_normal(random, c.t_q, c.d_k, 3.0), qkv::random_normal(random, c.t_k, c.d_k),
          qkv::random_normal(random, c.t_k, c.d_v)};
}

}  // namespace

TEST_CASE("tiled_attention by hand: two keys in two blocks, rescaled when the maximum grows",
          "[fast_attention]") {
  // d_k = 1: the scores are q k unscaled, 0 and ln 3, so the weights are 1/4 and 3/4.
  // Block 1: m = 0, l = 1, o = (4, 0). Block 2: m' = ln 3, alpha = e^{-ln 3} = 1/3,
  // l' = 1/3 + 1 = 4/3, o' = (4/3, 0) + (0, 8) = (4/3, 8); o' / l' = (1, 6).
  const Matrix q = qkv::matrix_from_rows({{1}});
  const Matrix k = qkv::matrix_from_rows({{0}, {std::log(3.0F)}});
  const Matrix v = qkv::matrix_from_rows({{4, 0}, {0, 8}});
  for (const Index block_k : {1, 2, 5}) {
    INFO("block_k " << block_k);
    const qkv::TiledAttentionResult r = qkv::tiled_attention(q, k, v, tiling(1, block_k));
    CHECK_THAT(r.output, is_close(qkv::matrix_from_rows({{1, 6}}), 1e-6));
    CHECK_THAT(r.lse, is_close(qkv::vector_of({std::log(4.0F)}), 1e-6));  // log(e^0 + e^ln3)
  }
  // Causal, T_q = T_k = 2: query 0 sees key 0 only (output (4, 0), lse 0); query 1 both.
  const Matrix q2 = qkv::matrix_from_rows({{1}, {1}});
  const qkv::TiledAttentionResult causal = qkv::tiled_attention(q2, k, v, tiling(1, 1, true));
  CHECK_THAT(causal.output, is_close(qkv::matrix_from_rows({{4, 0}, {1, 6}}), 1e-6));
  CHECK_THAT(causal.lse, is_close(qkv::vector_of({0.0F, std::log(4.0F)}), 1e-6, 1e-7));
}

TEST_CASE("tiled_attention equals the matrix form for random shapes, blocks and masks",
          "[fast_attention]") {
  // Tolerance: 1e-5 relative, and 1e-5 absolute for entries near 0: an output entry is a
  // weighted average of values of size ~1 in which terms cancel, and the two forms add them
  // in different orders, so its error is a few float epsilons of the values, not of the
  // entry itself.
  qkv::Random random(2026);
  for (const Case& c : random_cases(random, 60)) {
    INFO(c.name());
    const Operands x = random_operands(random, c);
    std::optional<Mask> mask;
    if (c.causal) mask = causal_rule(c.t_q, c.t_k);
    const Matrix expected = qkv::scaled_dot_product_attention(x.q, x.k, x.v, mask).output;
    const auto r = qkv::tiled_attention(x.q, x.k, x.v, tiling(c.block_q, c.block_k, c.causal));
    CHECK_THAT(r.output, is_close(expected, 1e-5, 1e-5));
  }
}

TEST_CASE("tiled_attention's log-sum-exp equals one computed in double from the scores",
          "[fast_attention]") {
  // Tolerance: the float scores carry rounding of about 1e-6 of their size (+-10 here), which
  // passes to the lse unchanged; 1e-5 relative and absolute covers it with room.
  qkv::Random random(14);
  for (const Case& c : random_cases(random, 30)) {
    INFO(c.name());
    const Operands x = random_operands(random, c);
    std::optional<Mask> mask;
    if (c.causal) mask = causal_rule(c.t_q, c.t_k);
    const auto r = qkv::tiled_attention(x.q, x.k, x.v, tiling(c.block_q, c.block_k, c.causal));
    CHECK_THAT(r.lse, is_close(log_sum_exp_in_double(x.q, x.k, mask).cast<float>(), 1e-5, 1e-5));
  }
}

TEST_CASE("tiled_attention: a row that sees no key gets output 0 and lse -inf",
          "[fast_attention]") {
  qkv::Random random(9);
  SECTION("no keys at all") {
    const Matrix q = qkv::random_normal(random, 5, 3);
    const auto r = qkv::tiled_attention(q, Matrix(0, 3), Matrix(0, 2), tiling(2, 4));
    CHECK_THAT(r.output, equals(Matrix::Zero(5, 2)));
    CHECK_THAT(r.lse, equals(Vector::Constant(5, minus_infinity)));
  }
  SECTION("causal with more queries than keys: the first T_q - T_k see none") {
    // T_q = 7, T_k = 4: query i sees keys 0..i - 3, so queries 0, 1 and 2 see nothing.
    const Matrix q = qkv::random_normal(random, 7, 3), k = qkv::random_normal(random, 4, 3);
    const Matrix v = qkv::random_normal(random, 4, 2);
    for (const Index block : {1, 2, 3, 7, 12}) {
      INFO("block_q = block_k = " << block);
      const auto r = qkv::tiled_attention(q, k, v, tiling(block, block, true));
      CHECK_THAT(Matrix(r.output.topRows(3)), equals(Matrix::Zero(3, 2)));
      CHECK_THAT(Vector(r.lse.head(3)), equals(Vector::Constant(3, minus_infinity)));
      const Matrix expected = qkv::scaled_dot_product_attention(q, k, v, causal_rule(7, 4)).output;
      CHECK_THAT(r.output, is_close(expected, 1e-5, 1e-6));
      CHECK_THAT(r.output, qkv::testing::all_finite());
    }
  }
  SECTION("no queries") {
    const auto r = qkv::tiled_attention(Matrix(0, 3), qkv::random_normal(random, 4, 3),
                                        qkv::random_normal(random, 4, 2));
    CHECK(r.output.rows() == 0);
    CHECK(r.output.cols() == 2);
    CHECK(r.lse.size() == 0);
  }
}

TEST_CASE(
    "tiled_attention: a NaN in the input is a NaN in the rows it reaches, as in the "
    "matrix form",
    "[fast_attention]") {
  // Not hidden as a weight of 0: a NaN score must not pass for a masked key.
  qkv::Random random(77);
  Matrix q = qkv::random_normal(random, 40, 8), k = qkv::random_normal(random, 50, 8);
  const Matrix v = qkv::random_normal(random, 50, 4);
  q(7, 3) = std::numeric_limits<float>::quiet_NaN();   // query 7's row
  k(31, 0) = std::numeric_limits<float>::quiet_NaN();  // key 31: every row that sees it
  for (const bool causal : {false, true}) {
    INFO((causal ? "causal" : "not causal"));
    std::optional<Mask> mask;
    if (causal) mask = causal_rule(40, 50);
    const Matrix expected = qkv::scaled_dot_product_attention(q, k, v, mask).output;
    const auto r = qkv::tiled_attention(q, k, v, tiling(16, 16, causal));
    CHECK_THAT(r.output, is_close(expected, 1e-5, 1e-5));  // NaN exactly where it is expected
    CHECK(std::isnan(r.lse(7)));
    CHECK(std::isnan(r.output(39, 0)));                    // the last query sees key 31
    if (causal) CHECK_FALSE(std::isnan(r.output(20, 0)));  // query 20 sees keys 0..30
  }
}

TEST_CASE("tiled_attention: any thread count gives the same bits", "[fast_attention]") {
  // Each query block is computed by one thread, the same way whichever thread it is.
  qkv::Random random(8);
  for (const Case& c : {Case{300, 300, 64, 64, 64, 64, false}, Case{300, 300, 64, 64, 64, 64, true},
                        Case{257, 190, 3, 5, 7, 64, false}, Case{97, 211, 64, 3, 1, 7, true},
                        Case{1, 300, 64, 64, 64, 64, false}}) {
    INFO(c.name());
    const Operands x = random_operands(random, c);
    const auto one = qkv::tiled_attention(x.q, x.k, x.v, tiling(c.block_q, c.block_k, c.causal));
    for (const int threads : {2, 3, 8}) {
      INFO(threads << " threads");
      const auto r =
          qkv::tiled_attention(x.q, x.k, x.v, tiling(c.block_q, c.block_k, c.causal, threads));
      CHECK_THAT(r.output, equals(one.output));
      CHECK_THAT(r.lse, equals(one.lse));
    }
  }
}

TEST_CASE("tiled_multi_head_attention equals multi_head_attention's output, causal and not",
          "[fast_attention]") {
  // The matrix form of chapter 05 is the reference: same projections, same W_o, the heads by
  // the tiled kernel. Tolerance as for one head (1e-5 relative and absolute), through W_o.
  struct Layer {
    Index t, d_model, heads, block_q, block_k;
  };
  qkv::Random random(5);
  for (const Layer& c : {Layer{1, 8, 2, 96, 48}, Layer{37, 12, 3, 7, 5}, Layer{130, 64, 4, 64, 64},
                         Layer{200, 32, 1, 33, 205}}) {
    const Matrix x = qkv::random_normal(random, c.t, c.d_model);
    const auto w = qkv::random_multi_head_weights(random, c.d_model, c.heads);
    for (const bool causal : {false, true}) {
      INFO("T " << c.t << ", d_model " << c.d_model << ", " << c.heads << " heads, blocks "
                << c.block_q << " x " << c.block_k << (causal ? ", causal" : ""));
      std::optional<Mask> mask;
      if (causal) mask = qkv::causal_mask(c.t);
      const Matrix expected = qkv::multi_head_attention(x, w, mask).output;
      const Matrix one =
          qkv::tiled_multi_head_attention(x, w, tiling(c.block_q, c.block_k, causal));
      CHECK_THAT(one, is_close(expected, 1e-5, 1e-5));
      // Threads share out each head's query blocks: the same bits.
      CHECK_THAT(qkv::tiled_multi_head_attention(x, w, tiling(c.block_q, c.block_k, causal, 3)),
                 equals(one));
    }
  }
}

TEST_CASE("tiled_attention reads blocks of larger matrices in place", "[fast_attention]") {
  // Eigen::Ref takes a block with its own stride: the same bits as a compact copy.
  qkv::Random random(5);
  const Matrix q = qkv::random_normal(random, 90, 40), k = qkv::random_normal(random, 80, 40);
  const Matrix v = qkv::random_normal(random, 80, 30);
  const auto in_place = qkv::tiled_attention(q.block(3, 2, 70, 16), k.block(5, 4, 61, 16),
                                             v.block(5, 1, 61, 20), tiling(16, 16, true));
  const auto copied =
      qkv::tiled_attention(Matrix(q.block(3, 2, 70, 16)), Matrix(k.block(5, 4, 61, 16)),
                           Matrix(v.block(5, 1, 61, 20)), tiling(16, 16, true));
  CHECK_THAT(in_place.output, equals(copied.output));
  CHECK_THAT(in_place.lse, equals(copied.lse));
}

TEST_CASE("online_softmax_trace by hand: the running state after each key block",
          "[fast_attention]") {
  // The keys of the first test and a third, score ln 3 again: m stays ln 3.
  const Matrix k = qkv::matrix_from_rows({{0}, {std::log(3.0F)}, {std::log(3.0F)}});
  const Matrix v = qkv::matrix_from_rows({{4, 0}, {0, 8}, {3, 3}});
  const auto trace = qkv::online_softmax_trace(qkv::vector_of({1}), k, v, 1);
  REQUIRE(trace.size() == 3);
  CHECK(trace[0].keys_seen == 1);
  CHECK_THAT(trace[0].running_max, WithinAbs(0.0, 1e-7));
  CHECK_THAT(trace[0].running_sum, WithinAbs(1.0, 1e-6));
  CHECK_THAT(trace[0].unnormalised_output, is_close(qkv::vector_of({4, 0}), 1e-6));
  CHECK(trace[1].keys_seen == 2);
  CHECK_THAT(trace[1].running_max, WithinAbs(std::log(3.0), 1e-6));
  CHECK_THAT(trace[1].running_sum, WithinAbs(4.0 / 3.0, 1e-6));  // 1/3 + 1
  CHECK_THAT(trace[1].unnormalised_output, is_close(qkv::vector_of({4.0F / 3.0F, 8}), 1e-6));
  CHECK(trace[2].keys_seen == 3);
  CHECK_THAT(trace[2].running_sum, WithinAbs(7.0 / 3.0, 1e-6));  // 4/3 + e^0
  CHECK_THAT(trace[2].unnormalised_output, is_close(qkv::vector_of({4.0F / 3.0F + 3, 11}), 1e-6));
  // Two keys per block: one state per block, the last one the same as above.
  const auto halves = qkv::online_softmax_trace(qkv::vector_of({1}), k, v, 2);
  REQUIRE(halves.size() == 2);
  CHECK(halves[0].keys_seen == 2);
  CHECK(halves[1].keys_seen == 3);
  CHECK_THAT(halves[1].running_sum, WithinAbs(7.0 / 3.0, 1e-6));
}

TEST_CASE(
    "online_softmax_trace: each state is the prefix's softmax state, the last o / l the "
    "output row",
    "[fast_attention]") {
  qkv::Random random(21);
  const Matrix q = qkv::random_normal(random, 4, 16, 3.0), k = qkv::random_normal(random, 45, 16);
  const Matrix v = qkv::random_normal(random, 45, 6);
  const Matrix output = qkv::tiled_attention(q, k, v).output;
  const VectorD scores = (k.cast<double>() * q.row(2).transpose().cast<double>()) / 4.0;
  for (const Index block_k : {1, 7, 45, 50}) {
    INFO("block_k " << block_k);
    const auto trace = qkv::online_softmax_trace(q.row(2).transpose(), k, v, block_k);
    REQUIRE(trace.size() == static_cast<std::size_t>((45 + block_k - 1) / block_k));
    for (const auto& state : trace) {
      INFO("after " << state.keys_seen << " keys");
      const Index n = state.keys_seen;
      const double max = scores.head(n).maxCoeff();
      const VectorD weights = (scores.head(n).array() - max).exp().matrix();
      CHECK_THAT(state.running_max, WithinAbs(max, 1e-5 * (1.0 + std::abs(max))));
      CHECK_THAT(state.running_sum, WithinRel(weights.sum(), 1e-5));
      const VectorD o = v.topRows(n).cast<double>().transpose() * weights;
      CHECK_THAT(state.unnormalised_output, is_close(o.cast<float>(), 1e-5, 1e-5));
    }
    CHECK(trace.back().keys_seen == 45);
    const Vector last = trace.back().unnormalised_output / trace.back().running_sum;
    CHECK_THAT(last, is_close(Vector(output.row(2).transpose()), 1e-5, 1e-5));
  }
}

TEST_CASE("tiled_attention and online_softmax_trace refuse bad options, naming them",
          "[fast_attention]") {
  const Matrix q = Matrix::Ones(3, 4), k = Matrix::Ones(5, 4), v = Matrix::Ones(5, 2);
  const auto refuses = [&](const TiledAttentionOptions& options, const std::string& option) {
    INFO(option);
    CHECK_THROWS_AS(qkv::tiled_attention(q, k, v, options), qkv::ValueError);
    CHECK_THROWS_WITH(qkv::tiled_attention(q, k, v, options),
                      contains("tiled_attention: ") && contains(option + " must be at least 1"));
  };
  refuses(tiling(0, 4), "block_q");
  refuses(tiling(-2, 4), "block_q");
  refuses(tiling(4, 0), "block_k");
  refuses(tiling(4, -1), "block_k");
  refuses(tiling(4, 4, false, 0), "threads");
  refuses(tiling(4, 4, true, -3), "threads");
  CHECK_THROWS_WITH(qkv::tiled_attention(Matrix(3, 0), Matrix(5, 0), v),
                    contains("tiled_attention: d_k must be positive"));
  CHECK_THROWS_AS(qkv::online_softmax_trace(Vector::Ones(4), k, v, 0), qkv::ValueError);
  CHECK_THROWS_WITH(qkv::online_softmax_trace(Vector::Ones(4), k, v, 0),
                    contains("online_softmax_trace: block_k must be at least 1"));
  CHECK_THROWS_WITH(qkv::online_softmax_trace(Vector(0), Matrix(5, 0), v, 2),
                    contains("online_softmax_trace: d_k must be positive"));
}

}  // namespace qkv::testing
