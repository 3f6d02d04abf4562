// Chapter 07's executable, run as a learner would. Every number it prints is recomputed here
// from the inputs it printed, independently of rope.hpp: the rotation as Meta's Llama code
// writes it (each pair a complex number times e^(i p theta)), in double, with attention and
// softmax written out by hand, and compared with what the chapter printed.

#include <cmath>
#include <complex>
#include <limits>
#include <string>
#include <vector>

#include "qkv/chapter_test.hpp"
#include "qkv/expect.hpp"

namespace qkv::testing {
namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

MatrixD matrix_d(const json& rows) { return matrix_from_json(rows).cast<double>(); }

std::vector<double> numbers(const json& values) { return values.get<std::vector<double>>(); }

// RoPE, interleaved, one head of width d at each row's position: pair (2i, 2i+1) as the
// complex number x_2i + i x_2i+1, multiplied by e^(i p theta_i), theta_i = base^(-2i/d).
MatrixD rope_by_complex(const MatrixD& x, const std::vector<double>& positions, double base,
                        double scale = 1.0) {
  MatrixD y(x.rows(), x.cols());
  const Index d = x.cols();
  for (Index t = 0; t < x.rows(); ++t)
    for (Index i = 0; i < d / 2; ++i) {
      const double theta = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(d));
      const std::complex<double> z(x(t, 2 * i), x(t, 2 * i + 1));
      const std::complex<double> turned =
          z * std::polar(1.0, positions[static_cast<std::size_t>(t)] * scale * theta);
      y(t, 2 * i) = turned.real();
      y(t, 2 * i + 1) = turned.imag();
    }
  return y;
}

// Rotate-half (pairs (i, i + d/2)), written as Hugging Face does: x cos + rotate_half(x) sin.
MatrixD rope_rotate_half(const MatrixD& x, const std::vector<double>& positions, double base) {
  const Index d = x.cols(), half = d / 2;
  MatrixD y(x.rows(), d);
  for (Index t = 0; t < x.rows(); ++t)
    for (Index c = 0; c < d; ++c) {
      const Index i = c % half;
      const double angle = positions[static_cast<std::size_t>(t)] *
                           std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(d));
      const double rotated = c < half ? -x(t, c + half) : x(t, c - half);
      y(t, c) = x(t, c) * std::cos(angle) + rotated * std::sin(angle);
    }
  return y;
}

struct ByHand {
  MatrixD scores, weights, output;
};

// softmax(q k^T / sqrt(d) + M) v: key j visible to query i when j <= i (causal), or always.
ByHand attention_by_hand(const MatrixD& q, const MatrixD& k, const MatrixD& v, bool causal) {
  ByHand r;
  const Index t_q = q.rows(), t_k = k.rows();
  r.scores.resize(t_q, t_k);
  r.weights.resize(t_q, t_k);
  for (Index i = 0; i < t_q; ++i) {
    double largest = -inf;
    for (Index j = 0; j < t_k; ++j) {
      const bool seen = !causal || j <= t_k - t_q + i;
      r.scores(i, j) =
          seen ? q.row(i).dot(k.row(j)) / std::sqrt(static_cast<double>(q.cols())) : -inf;
      largest = std::max(largest, r.scores(i, j));
    }
    double sum = 0;
    for (Index j = 0; j < t_k; ++j) sum += std::exp(r.scores(i, j) - largest);
    for (Index j = 0; j < t_k; ++j) r.weights(i, j) = std::exp(r.scores(i, j) - largest) / sum;
  }
  r.output = r.weights * v;
  return r;
}

// The multi-head layer with RoPE at `positions`, token t's query against the keys 0..t, the
// keys of token j rotated at key_positions[j] and the query of t at query_positions[t].
MatrixD multi_head_by_hand(const MatrixD& x, const json& out,
                           const std::vector<double>& query_positions,
                           const std::vector<double>& key_positions, double base) {
  const MatrixD w_q = matrix_d(out["mh_w_q"]), w_k = matrix_d(out["mh_w_k"]);
  const MatrixD w_v = matrix_d(out["mh_w_v"]), w_o = matrix_d(out["mh_w_o"]);
  const Index heads = out["heads"].get<Index>(), d_head = x.cols() / heads;
  MatrixD concat(x.rows(), x.cols());
  for (Index h = 0; h < heads; ++h) {
    const MatrixD q =
        rope_by_complex(x * w_q.middleCols(h * d_head, d_head), query_positions, base);
    const MatrixD k = rope_by_complex(x * w_k.middleCols(h * d_head, d_head), key_positions, base);
    const MatrixD v = x * w_v.middleCols(h * d_head, d_head);
    concat.middleCols(h * d_head, d_head) = attention_by_hand(q, k, v, true).output;
  }
  return concat * w_o;
}

// Infinite scores (masked) become NaN, as null in --json reads back.
MatrixD masked_as_nan(MatrixD m) {
  return m.array().isInf().select(std::numeric_limits<double>::quiet_NaN(), m);
}

void check_chapter(const std::vector<std::string>& flags, Index tokens, Index d_head, double base,
                   double offset) {
  INFO(command_line(flags));
  const json out = chapter_json(flags);
  const MatrixD x = matrix_d(out["x"]);
  REQUIRE(x.rows() == tokens);
  CHECK(out["rope_base"].get<double>() == base);
  std::vector<double> positions;
  for (Index t = 0; t < tokens; ++t) positions.push_back(offset + static_cast<double>(t));
  CHECK(numbers(out["positions"]) == positions);
  std::vector<double> theta;
  for (Index i = 0; i < d_head / 2; ++i)
    theta.push_back(std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(d_head)));
  check_matrix_close(vector_from_json(out["theta"]),
                     Eigen::Map<const VectorD>(theta.data(), d_head / 2), 1e-6, 1e-9, "theta");

  // Projections, rotation, causal attention: each against its own computation.
  const MatrixD q = x * matrix_d(out["w_q"]), k = x * matrix_d(out["w_k"]);
  const MatrixD v = x * matrix_d(out["w_v"]);
  check_matrix_close(matrix_from_json(out["q"]), q, 1e-5, 1e-6, "q");
  check_matrix_close(matrix_from_json(out["k"]), k, 1e-5, 1e-6, "k");
  check_matrix_close(matrix_from_json(out["v"]), v, 1e-5, 1e-6, "v");
  const MatrixD q_rot = rope_by_complex(q, positions, base);
  const MatrixD k_rot = rope_by_complex(k, positions, base);
  check_matrix_close(matrix_from_json(out["q_rot"]), q_rot, 1e-5, 1e-6, "q_rot");
  check_matrix_close(matrix_from_json(out["k_rot"]), k_rot, 1e-5, 1e-6, "k_rot");
  const ByHand rope = attention_by_hand(q_rot, k_rot, v, true);
  check_matrix_close(matrix_from_json(out["scores"]), masked_as_nan(rope.scores), 1e-5, 1e-6,
                     "scores");
  check_matrix_close(matrix_from_json(out["weights"]), rope.weights, 1e-5, 1e-6, "weights");
  check_matrix_close(matrix_from_json(out["output"]), rope.output, 1e-5, 1e-6, "output");

  // Shifting every position leaves the scores: float rounding only.
  for (const auto& difference : out["shift_max_difference"])
    CHECK(difference.get<double>() <= 1e-5);
  CHECK(out["shift_offsets"].get<std::vector<Index>>() == std::vector<Index>{1, 100, 1000});

  // Rotate-half after the permutation: the same numbers, exactly; without it, far off.
  std::vector<Index> permutation;
  for (Index i = 0; i < d_head / 2; ++i) permutation.push_back(2 * i);
  for (Index i = 0; i < d_head / 2; ++i) permutation.push_back(2 * i + 1);
  CHECK(out["rotate_half_permutation"].get<std::vector<Index>>() == permutation);
  CHECK(out["layout_max_difference"].get<double>() == 0.0);
  const double mixed = (rope_rotate_half(q, positions, base) - q_rot).cwiseAbs().maxCoeff();
  CHECK_THAT(out["mixed_layout_max_difference"].get<double>(), WithinAbs(mixed, 1e-5));

  // The multi-head layer: full causal RoPE attention, and the cache, against one
  // computation by hand; the bug's rows against the same layer at the wrong positions.
  const MatrixD full = multi_head_by_hand(x, out, positions, positions, base);
  check_matrix_close(matrix_from_json(out["full_output"]), full, 1e-5, 1e-6, "full_output");
  check_matrix_close(matrix_from_json(out["cached_output"]), full, 1e-5, 1e-6, "cached_output");
  CHECK(out["cache_max_difference"].get<double>() <= 1e-5);
  std::vector<double> restarted;
  for (Index t = 0; t < tokens; ++t)
    restarted.push_back(offset + static_cast<double>(t < tokens / 2 ? t : t - tokens / 2));
  const MatrixD buggy = multi_head_by_hand(x, out, restarted, restarted, base);
  check_matrix_close(matrix_from_json(out["buggy_output"]), buggy, 1e-5, 1e-6, "buggy_output");
  const Vector bug_error = vector_from_json(out["bug_row_error"]);
  for (Index t = 0; t < tokens; ++t) {
    INFO("token " << t);
    const double error = (buggy.row(t) - full.row(t)).cwiseAbs().maxCoeff();
    CHECK_THAT(bug_error(t), WithinAbs(error, 1e-5));
    if (t < tokens / 2) CHECK(bug_error(t) <= 1e-5);  // before the restart: right
  }

  // Position interpolation: the slowest pair's angle at 4095 and 32767, and 32767 / 8.
  const MatrixD angles = matrix_d(out["slowest_angles"]);
  for (Index r = 0; r < 2; ++r) {
    const Index width = r == 0 ? d_head : 128;
    const double slowest =
        std::pow(base, -static_cast<double>(width - 2) / static_cast<double>(width));
    CHECK_THAT(angles(r, 0), WithinRel(4095 * slowest, 1e-6));
    CHECK_THAT(angles(r, 1), WithinRel(32767 * slowest, 1e-6));
    CHECK_THAT(angles(r, 2), WithinRel(32767.0 / 8 * slowest, 1e-6));
  }

  // Score against distance: cos(d theta_i) for the pairs shown, and the mean over all pairs.
  const std::vector<double> distances = numbers(out["distances"]);
  CHECK(distances == std::vector<double>{0, 1, 2, 4, 8, 16, 32, 128, 512, 2048});
  const MatrixD by_distance = matrix_d(out["distance_scores"]);
  const Index pairs = d_head / 2, shown = std::min<Index>(pairs, 8);
  REQUIRE(by_distance.rows() == shown + 1);
  for (std::size_t j = 0; j < distances.size(); ++j) {
    double mean = 0;
    for (Index i = 0; i < pairs; ++i)
      mean += std::cos(distances[j] * theta[std::size_t(i)]) / double(pairs);
    for (Index r = 0; r < shown; ++r) {
      const Index i = shown > 1 ? r * (pairs - 1) / (shown - 1) : 0;
      CHECK_THAT(by_distance(r, Index(j)),
                 WithinAbs(std::cos(distances[j] * theta[std::size_t(i)]), 1e-5));
    }
    CHECK_THAT(by_distance(shown, Index(j)), WithinAbs(mean, 1e-5));
  }
}

}  // namespace

TEST_CASE("every printed number, recomputed independently from the printed inputs", "[chapter07]") {
  check_chapter({}, 6, 8, 10000, 0);
  check_chapter({"--tokens", "1"}, 1, 8, 10000, 0);
  check_chapter({"--tokens", "5", "--offset", "1000", "--base", "500000"}, 5, 8, 500000, 1000);
  check_chapter({"--tokens", "9", "--dim", "32", "--heads", "4", "--head-dim", "64"}, 9, 64, 10000,
                0);
  check_chapter({"--tokens", "2", "--head-dim", "2", "--dim", "4", "--heads", "2"}, 2, 2, 10000, 0);
}

TEST_CASE(
    "attention alone ignores order; sinusoidal positions see absolute places, RoPE the "
    "distance",
    "[chapter07]") {
  const json out = chapter_json();
  const MatrixD x = matrix_d(out["x"]);
  // "the dog bites the man today": rows 1, 2, 4 are dog, bites, man.
  MatrixD dog_bites_man(3, x.cols()), man_bites_dog(3, x.cols());
  dog_bites_man << x.row(1), x.row(2), x.row(4);
  man_bites_dog << x.row(4), x.row(2), x.row(1);
  const MatrixD w_q = matrix_d(out["w_q"]), w_k = matrix_d(out["w_k"]), w_v = matrix_d(out["w_v"]);
  const auto attend = [&](const MatrixD& in) {
    return attention_by_hand(in * w_q, in * w_k, in * w_v, false).output;
  };
  const MatrixD a = attend(dog_bites_man), b = attend(man_bites_dog);
  check_matrix_close(matrix_from_json(out["order_output_a"]), a, 1e-5, 1e-6, "order_output_a");
  check_matrix_close(matrix_from_json(out["order_output_b"]), b, 1e-5, 1e-6, "order_output_b");
  // The same rows, moved: equal to float rounding (the sums run in another order, so not
  // necessarily bit for bit; the printed difference says how far).
  const Matrix printed_a = matrix_from_json(out["order_output_a"]);
  const Matrix printed_b = matrix_from_json(out["order_output_b"]);
  for (const auto& [from, to] : {std::pair{0, 2}, std::pair{1, 1}, std::pair{2, 0}})
    CHECK_THAT(Matrix(printed_b.row(to)), is_close(Matrix(printed_a.row(from)), 1e-6, 1e-7));
  CHECK(out["order_max_difference"].get<double>() <= 1e-6);

  // Sinusoidal: x + PE(p), PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(...).
  const Index d = x.cols();
  const auto pe = [&](double p) {
    VectorD row(d);
    for (Index c = 0; c < d; ++c) {
      const double angle = p / std::pow(10000.0, static_cast<double>(c - c % 2) / double(d));
      row(c) = c % 2 == 0 ? std::sin(angle) : std::cos(angle);
    }
    return row;
  };
  const std::vector<double> absolute = numbers(out["absolute_scores"]);
  const std::vector<double> rope = numbers(out["rope_distance_one_scores"]);
  REQUIRE(absolute.size() == 3);
  const MatrixD q_dog = x.row(1) * w_q, k_bites = x.row(2) * w_k;
  for (int m = 0; m < 3; ++m) {
    const MatrixD q = (x.row(1) + pe(m).transpose()) * w_q;
    const MatrixD k = (x.row(2) + pe(m + 1).transpose()) * w_k;
    CHECK_THAT(absolute[std::size_t(m)], WithinAbs(q.row(0).dot(k.row(0)), 1e-5));
    const double by_hand = rope_by_complex(q_dog, {double(m)}, 10000)
                               .row(0)
                               .dot(rope_by_complex(k_bites, {double(m + 1)}, 10000).row(0));
    CHECK_THAT(rope[std::size_t(m)], WithinAbs(by_hand, 1e-5));
    CHECK_THAT(rope[std::size_t(m)], WithinAbs(rope[0], 1e-5));  // the distance, only
  }
  CHECK(std::abs(absolute[2] - absolute[0]) > 0.1);  // absolute places change the score
}

TEST_CASE("the narrated lesson works one pair by hand and shows every step", "[chapter07]") {
  const std::string text = chapter_narration();
  CHECK_THAT(text,
             contains_all({"pair 0 of the query of \"dog\" at position p = 1 (theta_0 = 1)",
                           "[ cos 1.0000  -sin 1.0000 ]", "0, 2, 4, 6, 1, 3, 5, 7",
                           "largest difference 0.", "q_rot (6 x 8)",
                           "RoPE attention weights, causal (6 x 6)", "against distance d (5 x 10)",
                           "c = 1000: largest score difference",
                           "d_head 128       0.4729      3.7839      0.4730"}));
  const std::string offset = chapter_narration({"--offset", "1000"});
  CHECK_THAT(offset, contains("at position p = 1001"));
}

TEST_CASE("an odd head width and heads that do not divide --dim exit 2", "[chapter07]") {
  check_rejected({"--head-dim", "7"}, "--head-dim 7 is odd");
  check_rejected({"--heads", "3"}, "--heads 3 does not divide --dim 16");
  check_rejected({"--dim", "12", "--heads", "4"}, "--dim 12 / --heads 4 = 3 is odd");
}

TEST_CASE("the svg flag writes the weights and the score-against-distance figures", "[chapter07]") {
  CHECK(names_of(chapter_figures()) ==
        std::vector<std::string>{"distance_scores.svg", "weights.svg"});
}

}  // namespace qkv::testing
