// Checks exercise softmax_jacobian: small cases by hand, central differences of the softmax,
// and the chapter's rowsum form of the backward.

#include "softmax_jacobian.hpp"

#include "qkv/attention_backward.hpp"
#include "qkv/catch.hpp"
#include "qkv/error.hpp"
#include "qkv/expect.hpp"
#include "qkv/random.hpp"
#include "qkv/softmax.hpp"

using qkv::Index;
using qkv::Matrix;
using qkv::MatrixD;
using qkv::Vector;
using qkv::exercises::softmax_jacobian;
using qkv::testing::is_close;

TEST_CASE("softmax_jacobian: by hand", "[softmax_jacobian]") {
  CHECK_THAT(softmax_jacobian(qkv::vector_of({0.5f, 0.5f})),
             is_close(qkv::matrix_from_rows({{0.25f, -0.25f}, {-0.25f, 0.25f}})));
  // p = (0.2, 0.3, 0.5): diagonal p_j (1 - p_j), off the diagonal -p_j p_l.
  CHECK_THAT(softmax_jacobian(qkv::vector_of({0.2f, 0.3f, 0.5f})),
             is_close(qkv::matrix_from_rows(
                 {{0.16f, -0.06f, -0.10f}, {-0.06f, 0.21f, -0.15f}, {-0.10f, -0.15f, 0.25f}})));
  // All weight on one key: the softmax is flat there, J = 0.
  CHECK_THAT(softmax_jacobian(qkv::vector_of({1.0f, 0.0f})), is_close(Matrix::Zero(2, 2)));
}

TEST_CASE("softmax_jacobian matches central differences of the softmax", "[softmax_jacobian]") {
  qkv::Random random(10);
  for (Index t : {Index{1}, Index{3}, Index{7}}) {
    const qkv::VectorD s = qkv::random_normal(random, t, 1).cast<double>();
    MatrixD numeric(t, t);
    for (Index l = 0; l < t; ++l) {
      qkv::VectorD up = s, down = s;
      up(l) += 1e-5;
      down(l) -= 1e-5;
      numeric.col(l) = (qkv::softmax_rows(MatrixD(up.transpose())) -
                        qkv::softmax_rows(MatrixD(down.transpose())))
                           .transpose() /
                       2e-5;
    }
    const Vector p = qkv::softmax_rows(MatrixD(s.transpose())).transpose().cast<float>();
    INFO("T = " << t);
    CHECK_THAT(softmax_jacobian(p), is_close(Matrix(numeric.cast<float>()), 1e-4, 1e-6));
  }
}

TEST_CASE("softmax_jacobian applied to dP is the chapter's rowsum form", "[softmax_jacobian]") {
  qkv::Random random(11);
  const Matrix p = qkv::softmax_rows(qkv::random_normal(random, 1, 6));
  const Matrix d_p = qkv::random_normal(random, 1, 6);
  const Matrix expected = qkv::softmax_rows_backward<float>(p, d_p);
  CHECK_THAT(Matrix(d_p * softmax_jacobian(p.row(0).transpose())), is_close(expected, 1e-5, 1e-6));
}

TEST_CASE("softmax_jacobian rejects what is not a row of weights", "[softmax_jacobian]") {
  CHECK_THROWS_AS(softmax_jacobian(Vector()), qkv::ValueError);
  CHECK_THROWS_AS(softmax_jacobian(qkv::vector_of({0.5f, -0.5f})), qkv::ValueError);
  CHECK_THROWS_AS(softmax_jacobian(qkv::vector_of({NAN, 1.0f})), qkv::ValueError);
}
