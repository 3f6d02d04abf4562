// attention_backward.hpp: the backward of attention against central differences in double
// (random shapes, T_q != T_k, d = 1, causal, fully masked rows) and against torch.autograd's
// gradients (data/attention_backward_golden.py), in float.

#include <cmath>
#include <optional>
#include <string>

#include "qkv/attention_backward.hpp"
#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/golden.hpp"
#include "qkv/random.hpp"

namespace qkv {
namespace {

using testing::is_close;

MatrixD normal(Random& random, Index rows, Index cols) {
  return random_normal(random, rows, cols).cast<double>();
}

// The numeric gradients of L = sum(O * G) with respect to q, k and v of the core.
struct Numeric {
  MatrixD d_q, d_k, d_v;
};
Numeric numeric_core(MatrixD q, MatrixD k, MatrixD v, const MatrixD& d_output,
                     const std::optional<Mask>& mask) {
  const auto loss = [&] {
    return scaled_dot_product_attention(q, k, v, mask).output.cwiseProduct(d_output).sum();
  };
  Numeric n;
  n.d_q = central_differences(q, 1e-5, loss);
  n.d_k = central_differences(k, 1e-5, loss);
  n.d_v = central_differences(v, 1e-5, loss);
  return n;
}

void check_core(Index t_q, Index t_k, Index d_k, Index d_v, const std::optional<Mask>& mask,
                std::uint64_t seed) {
  Random random(seed);
  const MatrixD q = normal(random, t_q, d_k), k = normal(random, t_k, d_k),
                v = normal(random, t_k, d_v), d_output = normal(random, t_q, d_v);
  const auto forward = scaled_dot_product_attention(q, k, v, mask);
  const AttentionGradientsT<double> a = attention_backward(q, k, v, forward.weights, d_output);
  const Numeric n = numeric_core(q, k, v, d_output, mask);
  INFO("T_q " << t_q << ", T_k " << t_k << ", d_k " << d_k << ", d_v " << d_v
              << (mask ? ", masked" : ""));
  CHECK(max_relative_error(a.d_q, n.d_q) < 1e-6);
  CHECK(max_relative_error(a.d_k, n.d_k) < 1e-6);
  CHECK(max_relative_error(a.d_v, n.d_v) < 1e-6);
  CHECK_THAT(a.d_q, testing::all_finite<MatrixD>());
}

TEST_CASE("central_differences by hand: f = sum of cubes", "[attention_backward]") {
  // ((x + h)^3 - (x - h)^3) / 2h = 3 x^2 + h^2, exactly: the gradient 3 x^2, off by h^2; the
  // entries are put back.
  MatrixD at(2, 3);
  at << 1, -2, 0.5, 0, 3, -1;
  const MatrixD before = at;
  const MatrixD gradient = central_differences(at, 1e-3, [&at] { return at.array().cube().sum(); });
  MatrixD expected(2, 3);
  expected << 3, 12, 0.75, 0, 27, 3;
  CHECK_THAT(gradient, testing::is_close(expected, 0.0, 1.1e-6));
  CHECK_THAT(at, testing::equals(before));
}

TEST_CASE("attention_backward matches central differences for many shapes",
          "[attention_backward]") {
  check_core(4, 4, 3, 3, std::nullopt, 1);
  check_core(3, 6, 2, 5, std::nullopt, 2);  // T_q != T_k, d_v != d_k
  check_core(5, 2, 4, 1, std::nullopt, 3);
  check_core(4, 4, 1, 1, std::nullopt, 4);  // d = 1
  check_core(1, 1, 1, 1, std::nullopt, 5);
  check_core(6, 6, 3, 2, causal_mask(6), 6);
  check_core(3, 7, 2, 2, causal_mask(3, 7), 7);  // the last 3 of 7 positions
}

TEST_CASE("attention_backward: masked scores and fully masked rows get zero gradient",
          "[attention_backward]") {
  Mask mask = causal_mask(4);
  mask.row(2).setConstant(false);  // query 2 sees nothing
  check_core(4, 4, 3, 2, mask, 8);
  Random random(9);
  const MatrixD q = normal(random, 4, 3), k = normal(random, 4, 3), v = normal(random, 4, 2),
                d_output = normal(random, 4, 2);
  const auto forward = scaled_dot_product_attention(q, k, v, std::optional<Mask>(mask));
  const auto a = attention_backward(q, k, v, forward.weights, d_output);
  CHECK_THAT(a.d_q.row(2), testing::equals(MatrixD::Zero(1, 3)));
  CHECK_THAT(a.d_scores.row(2), testing::equals(MatrixD::Zero(1, 4)));
  CHECK_THAT(a.d_scores, testing::all_finite<MatrixD>());
  for (Index i = 0; i < 4; ++i)
    for (Index j = 0; j < 4; ++j)
      if (!mask(i, j)) CHECK(a.d_scores(i, j) == 0.0);
}

TEST_CASE("softmax_rows_backward equals the Jacobian product and sums to zero per row",
          "[attention_backward]") {
  Random random(10);
  const MatrixD scores = normal(random, 3, 5), d_weights = normal(random, 3, 5);
  const MatrixD p = softmax_rows(scores);
  const MatrixD d_scores = softmax_rows_backward(p, d_weights);
  for (Index i = 0; i < 3; ++i) {
    // J_jl = p_j (delta_jl - p_l), written out.
    MatrixD jacobian(5, 5);
    for (Index j = 0; j < 5; ++j)
      for (Index l = 0; l < 5; ++l) jacobian(j, l) = p(i, j) * ((j == l ? 1.0 : 0.0) - p(i, l));
    const MatrixD expected = d_weights.row(i) * jacobian;
    CHECK_THAT(MatrixD(d_scores.row(i)), is_close(expected, 1e-12, 1e-14));
    // Adding a constant to a row of scores changes nothing, so dS sums to 0 along it.
    CHECK(std::abs(d_scores.row(i).sum()) < 1e-14);
  }
  // rowsum(dP * P) = rowsum(dO * O), FlashAttention-2's D.
  const MatrixD v = normal(random, 5, 2), d_output = normal(random, 3, 2);
  const MatrixD lhs = (d_output * v.transpose()).cwiseProduct(p).rowwise().sum();
  const MatrixD rhs = d_output.cwiseProduct(p * v).rowwise().sum();
  CHECK_THAT(lhs, is_close(rhs, 1e-12, 1e-14));
}

TEST_CASE("head_backward: dW and dX match central differences, causal and not",
          "[attention_backward]") {
  for (const bool causal : {false, true}) {
    Random random(causal ? 11 : 12);
    MatrixD x = normal(random, 5, 4);
    HeadWeightsT<double> w{normal(random, 4, 3), normal(random, 4, 3), normal(random, 4, 2)};
    const MatrixD d_output = normal(random, 5, 2);
    const std::optional<Mask> mask = causal ? std::optional<Mask>(causal_mask(5)) : std::nullopt;
    const auto g = head_backward(x, w, head_forward(x, w, mask), d_output);
    const auto loss = [&] {
      return head_forward(x, w, mask).attention.output.cwiseProduct(d_output).sum();
    };
    INFO((causal ? "causal" : "unmasked"));
    CHECK(max_relative_error(g.d_w.w_q, central_differences(w.w_q, 1e-5, loss)) < 1e-6);
    CHECK(max_relative_error(g.d_w.w_k, central_differences(w.w_k, 1e-5, loss)) < 1e-6);
    CHECK(max_relative_error(g.d_w.w_v, central_differences(w.w_v, 1e-5, loss)) < 1e-6);
    CHECK(max_relative_error(g.d_x, central_differences(x, 1e-5, loss)) < 1e-6);
  }
}

TEST_CASE("the gradient check catches the softmax backward without its rowsum term",
          "[attention_backward]") {
  Random random(13);
  const MatrixD q = normal(random, 4, 3), k = normal(random, 4, 3), v = normal(random, 4, 3),
                d_output = normal(random, 4, 3);
  const auto forward = scaled_dot_product_attention(q, k, v);
  const MatrixD d_weights = d_output * v.transpose();
  const MatrixD bad_d_q = d_weights.cwiseProduct(forward.weights) * k / std::sqrt(3.0);
  const Numeric n = numeric_core(q, k, v, d_output, std::nullopt);
  CHECK(max_relative_error(bad_d_q, n.d_q) > 1e-2);
}

TEST_CASE("attention_backward matches torch.autograd in float", "[attention_backward]") {
  const auto golden =
      testing::load_json(std::string(QKV_TEST_DATA_DIR) + "/attention_backward_golden.json");
  REQUIRE(golden["cases"].size() == 5);
  for (const auto& c : golden["cases"]) {
    INFO("case: " << c["name"].get<std::string>());
    const Matrix x = testing::matrix_from_json(c["x"]);
    const HeadWeightsT<float> w{testing::matrix_from_json(c["w_q"]),
                                testing::matrix_from_json(c["w_k"]),
                                testing::matrix_from_json(c["w_v"])};
    std::optional<Mask> mask;
    if (c.contains("mask")) mask = testing::matrix_from_json(c["mask"]).array() > 0.5f;
    const Matrix d_output = testing::matrix_from_json(c["d_output"]);
    const auto g = head_backward(x, w, head_forward(x, w, mask), d_output);
    // 1e-5 relative to the matrix's largest entry: float's rounding, summed over a few terms.
    const auto check = [](const Matrix& actual, const nlohmann::json& rows) {
      const Matrix expected = testing::matrix_from_json(rows);
      CHECK_THAT(actual,
                 is_close(expected, 0.0, 1e-5 * std::max(expected.cwiseAbs().maxCoeff(), 1e-6f)));
    };
    check(g.attention.d_q, c["d_q"]);
    check(g.attention.d_k, c["d_k"]);
    check(g.attention.d_v, c["d_v"]);
    check(g.d_w.w_q, c["d_w_q"]);
    check(g.d_w.w_k, c["d_w_k"]);
    check(g.d_w.w_v, c["d_w_v"]);
    check(g.d_x, c["d_x"]);
  }
}

TEST_CASE("attention_backward rejects operands that do not fit, naming both shapes",
          "[attention_backward]") {
  const Matrix q = Matrix::Ones(3, 2), k = Matrix::Ones(4, 2), v = Matrix::Ones(4, 5);
  const Matrix p = Matrix::Constant(3, 4, 0.25f), d_o = Matrix::Ones(3, 5);
  CHECK_THROWS_WITH(
      attention_backward<float>(q, Matrix::Ones(4, 3), v, p, d_o),
      testing::contains("attention_backward") && testing::contains("Q is 3x2, K is 4x3"));
  CHECK_THROWS_AS(attention_backward<float>(q, k, v, Matrix::Ones(4, 3), d_o), ShapeError);
  CHECK_THROWS_AS(attention_backward<float>(q, k, v, p, Matrix::Ones(3, 4)), ShapeError);
  CHECK_THROWS_AS(softmax_rows_backward<float>(p, Matrix::Ones(4, 3)), ShapeError);
  MatrixD at = MatrixD::Ones(1, 1);
  CHECK_THROWS_AS(central_differences(at, 0.0, [] { return 0.0; }), ValueError);
  CHECK_THROWS_AS(max_relative_error(MatrixD::Ones(2, 2), MatrixD::Ones(2, 3)), ShapeError);
}

}  // namespace
}  // namespace qkv
