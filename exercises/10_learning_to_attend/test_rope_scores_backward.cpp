// Checks exercise rope_scores_backward: one pair by hand, then against central differences of
// the scores written out in double (each pair rotated by its angle), with square and
// non-square scores and scattered positions.

#include "rope_scores_backward.hpp"

#include <cmath>
#include <numbers>

#include "qkv/catch.hpp"
#include "qkv/error.hpp"
#include "qkv/expect.hpp"
#include "qkv/random.hpp"

using qkv::Index;
using qkv::Matrix;
using qkv::MatrixD;
using qkv::VectorD;
using qkv::exercises::rope_scores_backward;
using qkv::testing::is_close;

namespace {

// Row t of x rotated, pair i by positions(t) * 10000^(-2i/d), in double.
MatrixD rotate(const MatrixD& x, const VectorD& positions) {
  MatrixD y = x;
  const auto d = static_cast<double>(x.cols());
  for (Index t = 0; t < x.rows(); ++t)
    for (Index i = 0; i < x.cols() / 2; ++i) {
      const double angle = positions(t) * std::pow(10000.0, -2.0 * static_cast<double>(i) / d);
      const double a = x(t, 2 * i), b = x(t, 2 * i + 1);
      y(t, 2 * i) = a * std::cos(angle) - b * std::sin(angle);
      y(t, 2 * i + 1) = b * std::cos(angle) + a * std::sin(angle);
    }
  return y;
}

// L = sum(S * dS) with S = R(q) R(k)^T / sqrt(d): its gradients are the ones asked for.
void check_against_differences(Index t_q, Index t_k, Index d, const VectorD& q_pos,
                               const VectorD& k_pos, std::uint64_t seed) {
  qkv::Random random(seed);
  const Matrix q = qkv::random_normal(random, t_q, d), k = qkv::random_normal(random, t_k, d);
  const Matrix d_s = qkv::random_normal(random, t_q, t_k);
  MatrixD qd = q.cast<double>(), kd = k.cast<double>();
  const auto loss = [&] {
    return (rotate(qd, q_pos) * rotate(kd, k_pos).transpose() / std::sqrt(double(d)))
        .cwiseProduct(d_s.cast<double>())
        .sum();
  };
  const auto numeric = [&](MatrixD& at) {
    MatrixD out(at.rows(), at.cols());
    for (Index r = 0; r < at.rows(); ++r)
      for (Index c = 0; c < at.cols(); ++c) {
        const double saved = at(r, c);
        at(r, c) = saved + 1e-6;
        const double up = loss();
        at(r, c) = saved - 1e-6;
        const double down = loss();
        at(r, c) = saved;
        out(r, c) = (up - down) / 2e-6;
      }
    return Matrix(out.cast<float>());
  };
  const auto g = rope_scores_backward(q, k, q_pos, k_pos, d_s);
  INFO("T_q " << t_q << ", T_k " << t_k << ", d_head " << d);
  CHECK_THAT(g.d_q, is_close(numeric(qd), 1e-4, 1e-5));
  CHECK_THAT(g.d_k, is_close(numeric(kd), 1e-4, 1e-5));
}

}  // namespace

TEST_CASE("rope_scores_backward: one pair by hand", "[rope_scores_backward]") {
  // d = 2, q = (1, 0) at position pi/2 -> q_rot = (0, 1); k = (0, 1) at 0; dS = 1.
  // dQ_rot = k_rot / sqrt(2) = (0, 1) / sqrt(2), turned back by -pi/2: (1, 0) / sqrt(2).
  // dK_rot = q_rot / sqrt(2) = (0, 1) / sqrt(2), at position 0: unchanged.
  const auto g = rope_scores_backward(
      qkv::matrix_from_rows({{1, 0}}), qkv::matrix_from_rows({{0, 1}}),
      VectorD::Constant(1, std::numbers::pi / 2), VectorD::Zero(1), qkv::matrix_from_rows({{1}}));
  const float r = 1.0f / std::sqrt(2.0f);
  CHECK_THAT(g.d_q, is_close(qkv::matrix_from_rows({{r, 0}}), 1e-5, 1e-6));
  CHECK_THAT(g.d_k, is_close(qkv::matrix_from_rows({{0, r}}), 1e-5, 1e-6));
}

TEST_CASE("rope_scores_backward matches central differences", "[rope_scores_backward]") {
  check_against_differences(4, 4, 4, VectorD{{0.0, 1.0, 2.0, 3.0}}, VectorD{{0.0, 1.0, 2.0, 3.0}},
                            1);
  check_against_differences(3, 3, 8, VectorD{{5.0, 9.0, 40.0}}, VectorD{{2.0, 7.0, 11.0}}, 2);
  check_against_differences(2, 5, 6, VectorD{{3.0, 4.0}}, VectorD{{0.0, 1.0, 2.0, 3.0, 4.0}}, 3);
}

TEST_CASE("rope_scores_backward rejects shapes that do not fit", "[rope_scores_backward]") {
  const Matrix q = Matrix::Ones(2, 4), k = Matrix::Ones(3, 4);
  const VectorD p2 = VectorD::Zero(2), p3 = VectorD::Zero(3);
  CHECK_THROWS_AS(rope_scores_backward(q, Matrix::Ones(3, 2), p2, p3, Matrix::Ones(2, 3)),
                  qkv::ShapeError);
  CHECK_THROWS_AS(rope_scores_backward(q, k, p3, p3, Matrix::Ones(2, 3)), qkv::ShapeError);
  CHECK_THROWS_AS(rope_scores_backward(q, k, p2, p3, Matrix::Ones(3, 2)), qkv::ShapeError);
}
