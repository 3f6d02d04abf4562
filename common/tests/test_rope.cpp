// rope.hpp, rotary position embedding: against PyTorch (golden data from
// data/rope_golden.py, both conventions as Meta's and Hugging Face's Llama code write them),
// by hand, and the invariants RoPE exists for: the score depends on the offset only, the
// two layouts are one rotation up to a permutation, and a cache of rotated keys decodes to
// the same rows as full attention.

#include "qkv/rope.hpp"

#include <cmath>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "qkv/attention.hpp"
#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/golden.hpp"
#include "qkv/kv_cache.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"
#include "random_layer.hpp"

namespace qkv::testing {

namespace {

VectorD positions_from_json(const nlohmann::json& values) {
  VectorD p(static_cast<Index>(values.size()));
  for (Index i = 0; i < p.size(); ++i) p(i) = values[static_cast<std::size_t>(i)].get<double>();
  return p;
}

// The golden file's two conventions, and the suffix of each one's keys.
constexpr std::pair<RopeLayout, const char*> both_layouts[] = {
    {RopeLayout::interleaved, "_interleaved"}, {RopeLayout::rotate_half, "_rotate_half"}};

VectorD one_position(double p) { return VectorD::Constant(1, p); }

// q_m . k_n after rotating q at m and k at n (one head of width q.size()).
double rotated_score(const Matrix& q, const Matrix& k, double m, double n,
                     const RopeConfig& config = {}) {
  const Matrix q_rot = qkv::apply_rope(q, one_position(m), 1, config);
  const Matrix k_rot = qkv::apply_rope(k, one_position(n), 1, config);
  return static_cast<double>(q_rot.row(0).dot(k_rot.row(0)));
}

}  // namespace

TEST_CASE("rope_frequencies: theta_i = base^(-2i/d_head), by hand", "[rope]") {
  CHECK_THAT(qkv::rope_frequencies(2), equals(VectorD::Ones(1)));
  const VectorD theta = qkv::rope_frequencies(4);  // 1, 10000^(-1/2)
  REQUIRE(theta.size() == 2);
  CHECK(theta(0) == 1.0);
  CHECK_THAT(theta(1), WithinRel(0.01, 1e-15));
  const VectorD theta8 = qkv::rope_frequencies(8, 500000.0);  // 500000^(-i/4)
  for (Index i = 0; i < 4; ++i)
    CHECK_THAT(theta8(i), WithinRel(std::pow(500000.0, -static_cast<double>(i) / 4.0), 1e-15));
  // The slowest pair of a 128-wide head (Llama) turns 10000^(-126/128) radians per position.
  CHECK_THAT(qkv::rope_frequencies(128)(63), WithinRel(std::pow(10000.0, -126.0 / 128.0), 1e-14));
  CHECK_THROWS_WITH(qkv::rope_frequencies(5),
                    contains("rope_frequencies") && contains("d_head = 5 must be even"));
  CHECK_THROWS_AS(qkv::rope_frequencies(0), qkv::ValueError);
  CHECK_THROWS_AS(qkv::rope_frequencies(4, 1.0), qkv::ValueError);
  CHECK_THROWS_AS(qkv::rope_frequencies(4, NAN), qkv::ValueError);
}

TEST_CASE("rope_positions and rope_angles: p_t = first + t, angle = p s theta_i", "[rope]") {
  CHECK_THAT(qkv::rope_positions(3, 1000), equals(qkv::VectorD{{1000.0, 1001.0, 1002.0}}));
  CHECK(qkv::rope_positions(0).size() == 0);
  CHECK_THROWS_AS(qkv::rope_positions(-1), qkv::ValueError);
  CHECK_THROWS_AS(qkv::rope_positions(2, -1), qkv::ValueError);
  RopeConfig config;
  config.position_scale = 0.5;
  const qkv::MatrixD angles = qkv::rope_angles(qkv::rope_positions(2, 10), 4, config);
  // positions 10 and 11 at half scale: 5 and 5.5 times theta = (1, 0.01).
  CHECK_THAT(angles, qkv::testing::is_close(qkv::MatrixD{{5.0, 0.05}, {5.5, 0.055}}, 1e-15, 0));
  config.position_scale = 0;
  CHECK_THROWS_WITH(qkv::rope_angles(qkv::rope_positions(2), 4, config),
                    contains("rope_angles") && contains("position_scale"));
}

TEST_CASE("apply_rope rotates each pair by p theta_i: a 2x2 rotation, by hand", "[rope]") {
  const float pi = std::numbers::pi_v<float>;
  // d_head 2: one pair, theta_0 = 1, so position p turns it by p radians.
  const Matrix x = qkv::matrix_from_rows({{1, 2}, {1, 2}, {3, -1}});
  const VectorD p{{0.0, std::numbers::pi / 2, std::numbers::pi}};
  // (1, 2) by 0: itself; by pi/2: (-2, 1); (3, -1) by pi: (-3, 1).
  CHECK_THAT(qkv::apply_rope(x, p),
             qkv::testing::is_close(qkv::matrix_from_rows({{1, 2}, {-2, 1}, {-3, 1}}), 0, 1e-6));
  // d_head 4, interleaved: pairs (0, 1) at theta 1 and (2, 3) at theta 0.01.
  const Matrix x4 = qkv::matrix_from_rows({{1, 0, 0, 1}});
  const Matrix y4 = qkv::apply_rope(x4, one_position(50.0 * pi));  // 50 pi and pi / 2
  CHECK_THAT(y4, qkv::testing::is_close(qkv::matrix_from_rows({{1, 0, -1, 0}}), 0, 2e-5));
  // Rotate-half: pairs (0, 2) and (1, 3).
  RopeConfig half;
  half.layout = RopeLayout::rotate_half;
  const Matrix z4 = qkv::apply_rope(qkv::matrix_from_rows({{1, 0, 0, 1}}),
                                    one_position(std::numbers::pi / 2), 1, half);
  // pair (0, 2) = (1, 0) by pi/2 -> (0, 1); pair (1, 3) = (0, 1) by pi/200.
  const float c = std::cos(pi / 200), s = std::sin(pi / 200);
  CHECK_THAT(z4, qkv::testing::is_close(qkv::matrix_from_rows({{0, -s, 1, c}}), 0, 1e-6));
  // Every head of a row is rotated the same way.
  const Matrix two_heads = qkv::matrix_from_rows({{1, 2, 1, 2}});
  const Matrix rotated = qkv::apply_rope(two_heads, one_position(std::numbers::pi / 2), 2);
  CHECK_THAT(rotated, qkv::testing::is_close(qkv::matrix_from_rows({{-2, 1, -2, 1}}), 0, 1e-6));
  // Position 0 changes nothing, and no row changes length.
  qkv::Random random(7);
  const Matrix r = qkv::random_normal(random, 5, 16);
  CHECK_THAT(qkv::apply_rope(r, VectorD::Zero(5), 2), equals(r));
  const Matrix rr = qkv::apply_rope(r, qkv::rope_positions(5, 3000), 2);
  CHECK_THAT(Matrix(rr.rowwise().norm()),
             qkv::testing::is_close(Matrix(r.rowwise().norm()), 1e-6, 0));
}

TEST_CASE("rotary positions match PyTorch, both conventions", "[rope][golden]") {
  const auto golden = qkv::testing::load_json(QKV_TEST_DATA_DIR "/rope_golden.json");
  REQUIRE(golden["heads"].size() == 10);
  for (const auto& c : golden["heads"]) {
    INFO("case " << c["name"].get<std::string>());
    const Matrix q = matrix_from_json(c["q"]), k = matrix_from_json(c["k"]);
    const Matrix v = matrix_from_json(c["v"]);
    const VectorD positions = positions_from_json(c["positions"]);
    for (const auto& [layout, suffix] : both_layouts) {
      INFO("layout " << suffix);
      RopeConfig config;
      config.base = c["base"].get<double>();
      config.position_scale = c["position_scale"].get<double>();
      config.layout = layout;
      const std::string s = suffix;
      const Matrix q_rot = qkv::apply_rope(q, positions, 1, config);
      const Matrix k_rot = qkv::apply_rope(k, positions, 1, config);
      check_matrix_close(q_rot, matrix_from_json(c["q_rot" + s]), 1e-5, 1e-6, "q_rot");
      check_matrix_close(k_rot, matrix_from_json(c["k_rot" + s]), 1e-5, 1e-6, "k_rot");
      const qkv::AttentionResult r =
          qkv::scaled_dot_product_attention(q_rot, k_rot, v, qkv::causal_mask(q.rows()));
      // Masked scores are -inf here and null (read as NaN) in the file.
      const Matrix scores = r.scores.array().isInf().select(NAN, r.scores);
      check_matrix_close(scores, matrix_from_json(c["scores" + s]), 1e-5, 1e-6, "scores");
      check_matrix_close(r.weights, matrix_from_json(c["weights" + s]), 1e-5, 1e-6, "weights");
      check_matrix_close(r.output, matrix_from_json(c["output" + s]), 1e-5, 1e-6, "output");
    }
  }
}

TEST_CASE("multi-head RoPE attention and its cached decode match PyTorch", "[rope][golden]") {
  const auto golden = qkv::testing::load_json(QKV_TEST_DATA_DIR "/rope_golden.json");
  REQUIRE(golden["multi_head"].size() == 3);
  for (const auto& c : golden["multi_head"]) {
    INFO("case " << c["name"].get<std::string>());
    const auto w =
        qkv::testing::layer_weights_from_json<qkv::MultiHeadWeights>(c, c["heads"].get<Index>());
    const Matrix x = matrix_from_json(c["x"]);
    const VectorD positions = positions_from_json(c["positions"]);
    for (const auto& [layout, suffix] : both_layouts) {
      INFO("layout " << suffix);
      RopeConfig config;
      config.base = c["base"].get<double>();
      config.layout = layout;
      const Matrix expected = matrix_from_json(c[std::string("output") + suffix]);
      const Matrix full =
          qkv::rope_multi_head_attention(x, w, positions, qkv::causal_mask(x.rows()), config)
              .output;
      check_matrix_close(full, expected, 1e-5, 1e-6, "rope_multi_head_attention");
      // The same rows decoded one token at a time from a cache of rotated keys.
      qkv::KvCache cache(x.rows(), w.d_model());
      Matrix decoded(x.rows(), w.d_model());
      for (Index t = 0; t < x.rows(); ++t)
        decoded.row(t) = qkv::rope_decode_step(x.row(t), w, cache, config, positions(0));
      check_matrix_close(decoded, expected, 1e-5, 1e-6, "rope_decode_step");
    }
  }
}

TEST_CASE("the score depends only on the offset m - n, for positions up to 4096", "[rope]") {
  // Shifting both positions by c rotates both vectors by c theta_i more: the score is the
  // same number up to float rounding. The rotated coordinates are float products of
  // cosines and sines computed in double (so a large angle costs no accuracy), each within
  // a few float roundings of |x|; a dot product of d_head such terms is then within about
  // d_head * 2^-24 |q| |k| = 4e-6 |q| |k| at d_head 64. Tolerance: 1e-5 |q| |k|.
  qkv::Random random(4096);
  for (Index d_head : {Index{2}, Index{8}, Index{64}}) {
    for (double base : {10000.0, 500000.0}) {
      RopeConfig config;
      config.base = base;
      for (int trial = 0; trial < 20; ++trial) {
        const Matrix q = qkv::random_normal(random, 1, d_head);
        const Matrix k = qkv::random_normal(random, 1, d_head);
        const auto m = static_cast<double>(random.below(2049));
        const auto n = static_cast<double>(random.below(2049));
        const auto shift = static_cast<double>(random.below(2048));  // m + shift <= 4096
        const double scale = static_cast<double>(q.norm() * k.norm());
        const double reference = rotated_score(q, k, m, n, config);
        INFO("d_head " << d_head << ", base " << base << ", m " << m << ", n " << n << ", shift "
                       << shift);
        CHECK_THAT(rotated_score(q, k, m + shift, n + shift, config),
                   WithinAbs(reference, 1e-5 * scale));
        // The offset alone: query at m - n, key at 0.
        CHECK_THAT(rotated_score(q, k, std::max(m - n, 0.0), std::max(n - m, 0.0), config),
                   WithinAbs(reference, 1e-5 * scale));
      }
    }
  }
  // ... and it does depend on the offset: a key moved one position further gets a new score.
  const Matrix q = qkv::matrix_from_rows({{1, 0, 1, 0}});
  CHECK_THAT(rotated_score(q, q, 5, 5), WithinAbs(2.0, 1e-6));  // offset 0: q . q
  CHECK_THAT(rotated_score(q, q, 5, 4), WithinAbs(std::cos(1.0) + std::cos(0.01), 1e-6));
}

TEST_CASE("rotate-half is the interleaved rotation after a fixed permutation", "[rope]") {
  CHECK(qkv::rotate_half_permutation(8) == std::vector<Index>{0, 2, 4, 6, 1, 3, 5, 7});
  CHECK(qkv::rotate_half_permutation(2) == std::vector<Index>{0, 1});
  CHECK_THAT(qkv::to_rotate_half_layout(qkv::matrix_from_rows({{0, 1, 2, 3, 4, 5, 6, 7}}), 2),
             equals(qkv::matrix_from_rows({{0, 2, 1, 3, 4, 6, 5, 7}})));
  qkv::Random random(5);
  RopeConfig half;
  half.layout = RopeLayout::rotate_half;
  for (Index heads : {Index{1}, Index{3}}) {
    const Matrix x = qkv::random_normal(random, 6, 8 * heads);
    const VectorD p = qkv::rope_positions(6, 1000);
    // The same products on the same numbers, only stored elsewhere: bit for bit.
    CHECK_THAT(qkv::apply_rope(qkv::to_rotate_half_layout(x, heads), p, heads, half),
               equals(qkv::to_rotate_half_layout(qkv::apply_rope(x, p, heads), heads)));
    // Without the permutation the two conventions disagree: the classic mix-up.
    const Matrix mixed = qkv::apply_rope(x, p, heads, half);
    CHECK((mixed - qkv::apply_rope(x, p, heads)).cwiseAbs().maxCoeff() > 0.1f);
  }
  CHECK_THROWS_AS(qkv::rotate_half_permutation(3), qkv::ValueError);
  CHECK_THROWS_WITH(qkv::to_rotate_half_layout(Matrix::Ones(2, 6), 2),
                    contains("to_rotate_half_layout") && contains("d_head = 3"));
}

TEST_CASE("without positions attention is permutation-equivariant; RoPE breaks it", "[rope]") {
  const RandomLayer layer = random_layer(5, 8, 2, 11);
  const std::vector<Index> order{4, 2, 0, 3, 1};
  Matrix permuted(5, 8);
  for (Index i = 0; i < 5; ++i) permuted.row(i) = layer.x.row(order[static_cast<std::size_t>(i)]);
  const Matrix plain = qkv::multi_head_attention(layer.x, layer.w).output;
  const Matrix plain_permuted = qkv::multi_head_attention(permuted, layer.w).output;
  const VectorD p = qkv::rope_positions(5);
  const Matrix rope = qkv::rope_multi_head_attention(layer.x, layer.w, p).output;
  const Matrix rope_permuted = qkv::rope_multi_head_attention(permuted, layer.w, p).output;
  float rope_change = 0;
  for (Index i = 0; i < 5; ++i) {
    const Index from = order[static_cast<std::size_t>(i)];
    CHECK_THAT(Matrix(plain_permuted.row(i)),
               qkv::testing::is_close(Matrix(plain.row(from)), 1e-6, 1e-7));
    rope_change =
        std::max(rope_change, (rope_permuted.row(i) - rope.row(from)).cwiseAbs().maxCoeff());
  }
  CHECK(rope_change > 1e-3f);
  // Rotating every token by the same angle is no position at all: equivariance again.
  const Matrix same =
      qkv::rope_multi_head_attention(permuted, layer.w, VectorD::Constant(5, 7)).output;
  for (Index i = 0; i < 5; ++i)
    CHECK_THAT(
        Matrix(same.row(i)),
        qkv::testing::is_close(Matrix(plain.row(order[static_cast<std::size_t>(i)])), 1e-5, 1e-6));
}

TEST_CASE("decoding with a cache of rotated keys equals full RoPE attention", "[rope]") {
  const RandomLayer layer = random_layer(9, 16, 4, 21);
  for (double first : {0.0, 1000.0}) {
    INFO("first position " << first);
    const Matrix full = qkv::rope_multi_head_attention(
                            layer.x, layer.w, qkv::rope_positions(9, first), qkv::causal_mask(9))
                            .output;
    qkv::KvCache cache(9, 16);
    Matrix decoded(9, 16);
    decoded.topRows(4) = qkv::rope_decode_step(layer.x.topRows(4), layer.w, cache, {}, first);
    for (Index t = 4; t < 9; ++t)
      decoded.row(t) = qkv::rope_decode_step(layer.x.row(t), layer.w, cache, {}, first);
    check_matrix_close(decoded, full, 1e-5, 1e-6, "prefill 4, then one token per step");
    // The cache holds the keys rotated, each at its own position.
    check_matrix_close(Matrix(cache.keys()),
                       qkv::apply_rope(layer.x * layer.w.w_k, qkv::rope_positions(9, first), 4),
                       1e-6, 1e-6, "cached keys");
    // A reset cache starts at `first` again: the same rows for the same tokens.
    cache.reset();
    Matrix again(3, 16);
    for (Index t = 0; t < 3; ++t)
      again.row(t) = qkv::rope_decode_step(layer.x.row(t), layer.w, cache, {}, first);
    check_matrix_close(again, Matrix(full.topRows(3)), 1e-5, 1e-6, "after reset");
  }
  // The classic bug: the new token's query and key rotated at position 0 (a counter that
  // restarted) while the cache keeps the rotated keys of positions 0..3. Different rows.
  qkv::KvCache cache(9, 16);
  qkv::rope_decode_step(layer.x.topRows(4), layer.w, cache);
  const Matrix right = qkv::rope_decode_step(layer.x.row(4), layer.w, cache);
  cache.reset();
  qkv::rope_decode_step(layer.x.topRows(4), layer.w, cache);
  const Matrix wrong = qkv::rope_decode_step(layer.x.row(4), layer.w, cache, one_position(0));
  CHECK((right - wrong).cwiseAbs().maxCoeff() > 1e-3f);
  CHECK_THROWS_WITH(qkv::rope_decode_step(layer.x.topRows(2), layer.w, cache, one_position(0)),
                    contains("rope_decode_step") && contains("positions is 1x1"));
}

TEST_CASE("position interpolation keeps a longer context's angles in the trained range", "[rope]") {
  // Trained on 4096 positions, run at 32768: scale 4096 / 32768 = 1/8.
  RopeConfig interpolated;
  interpolated.position_scale = 4096.0 / 32768.0;
  const qkv::MatrixD trained = qkv::rope_angles(qkv::rope_positions(4096), 128);
  const qkv::MatrixD plain = qkv::rope_angles(qkv::rope_positions(32768), 128);
  const qkv::MatrixD scaled = qkv::rope_angles(qkv::rope_positions(32768), 128, interpolated);
  // The slowest pair: 4095 theta_63 = 0.5 radian trained, 8 times that unscaled.
  const double theta_63 = std::pow(10000.0, -126.0 / 128.0);
  CHECK_THAT(trained(4095, 63), WithinRel(4095 * theta_63, 1e-12));
  CHECK_THAT(plain(32767, 63), WithinRel(32767 * theta_63, 1e-12));
  CHECK(plain.col(63).maxCoeff() > 7 * trained.col(63).maxCoeff());
  // Interpolated, position 32767 becomes 4095.875: inside [0, 4096), the trained range.
  CHECK_THAT(scaled(32767, 63), WithinRel(4095.875 * theta_63, 1e-12));
  CHECK(scaled.col(63).maxCoeff() < 4096 * theta_63);
  // Position 8 p interpolated is position p trained, exactly.
  CHECK(scaled(8 * 4095, 63) == trained(4095, 63));
}

TEST_CASE("sinusoidal_positions: sin and cos of p / base^(2i/d), by hand", "[rope]") {
  const Matrix pe = qkv::sinusoidal_positions(3, 4);
  CHECK_THAT(Matrix(pe.row(0)), equals(qkv::matrix_from_rows({{0, 1, 0, 1}})));
  for (Index p = 1; p < 3; ++p) {
    const auto d = static_cast<double>(p);
    CHECK_THAT(
        Matrix(pe.row(p)),
        qkv::testing::is_close(
            qkv::matrix_from_rows(
                {{static_cast<float>(std::sin(d)), static_cast<float>(std::cos(d)),
                  static_cast<float>(std::sin(d / 100)), static_cast<float>(std::cos(d / 100))}}),
            1e-6, 1e-7));
  }
  CHECK_THAT(Matrix(qkv::sinusoidal_positions(1, 3, 2).row(0)),
             qkv::testing::is_close(
                 qkv::matrix_from_rows(
                     {{static_cast<float>(std::sin(2.0)), static_cast<float>(std::cos(2.0)),
                       static_cast<float>(std::sin(2.0 / std::pow(1e4, 2.0 / 3)))}}),
                 1e-6, 1e-7));
  CHECK_THROWS_AS(qkv::sinusoidal_positions(2, 0), qkv::ValueError);
}

TEST_CASE("RoPE refuses odd heads and bad settings with errors that say why", "[rope]") {
  CHECK_THROWS_WITH(qkv::apply_rope(Matrix::Ones(2, 6), qkv::rope_positions(2), 2),
                    contains("apply_rope: d_head = 3 must be even"));
  CHECK_THROWS_AS(qkv::apply_rope(Matrix::Ones(2, 6), qkv::rope_positions(2), 4), qkv::ValueError);
  RopeConfig bad;
  bad.base = 0.5;
  CHECK_THROWS_AS(qkv::apply_rope(Matrix::Ones(2, 4), qkv::rope_positions(2), 1, bad),
                  qkv::ValueError);
  const RandomLayer odd = random_layer(3, 6, 2, 1);  // d_head 3
  CHECK_THROWS_WITH(qkv::rope_multi_head_attention(odd.x, odd.w, qkv::rope_positions(3)),
                    contains("rope_multi_head_attention: d_head = 3"));
  qkv::KvCache cache(3, 6);
  CHECK_THROWS_AS(qkv::rope_decode_step(odd.x, odd.w, cache), qkv::ValueError);
  CHECK(cache.size() == 0);
  const RandomLayer layer = random_layer(3, 8, 2, 1);
  qkv::KvCache small(2, 8);
  CHECK_THROWS_AS(qkv::rope_decode_step(layer.x, layer.w, small), qkv::ValueError);
  CHECK(small.size() == 0);
}

}  // namespace qkv::testing
