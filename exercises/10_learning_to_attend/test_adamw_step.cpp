// Checks exercise adamw_step against numbers worked by hand (in the comments), over three
// steps: the bias correction, the decoupled weight decay, and the state it keeps.

#include "adamw_step.hpp"

#include <cmath>

#include "qkv/catch.hpp"
#include "qkv/error.hpp"
#include "qkv/expect.hpp"

using qkv::Matrix;
using qkv::exercises::adamw_step;
using qkv::exercises::AdamWOptions;
using qkv::exercises::AdamWState;
using qkv::testing::is_close;

TEST_CASE("adamw_step: the first step by hand", "[adamw_step]") {
  // t = 1: m_hat = g and v_hat = g^2, so the Adam part is sign(g); plus lambda theta.
  // theta = (2, -1), g = (0.5, 3), eta = 0.1, lambda = 0.5:
  // 2 - 0.1 (1 + 1) = 1.8 and -1 - 0.1 (1 - 0.5) = -1.05.
  Matrix theta = qkv::matrix_from_rows({{2.0f, -1.0f}});
  AdamWState state;
  const AdamWOptions options{.learning_rate = 0.1, .weight_decay = 0.5};
  adamw_step(theta, qkv::matrix_from_rows({{0.5f, 3.0f}}), state, options);
  CHECK_THAT(theta, is_close(qkv::matrix_from_rows({{1.8f, -1.05f}}), 1e-5, 1e-6));
  CHECK_THAT(state.m, is_close(qkv::matrix_from_rows({{0.05f, 0.3f}}), 1e-5, 1e-7));
  CHECK_THAT(state.v, is_close(qkv::matrix_from_rows({{0.00025f, 0.009f}}), 1e-5, 1e-9));
  CHECK(state.t == 1);
}

TEST_CASE("adamw_step: three steps by hand, bias correction at each", "[adamw_step]") {
  // One weight, theta = 1, no decay, eta = 0.01, gradients 1, -1, 2.
  // t=1: m = 0.1,    v = 0.001;      m_hat = 1,               v_hat = 1       -> step 0.01
  // t=2: m = -0.01,  v = 0.001999;   m_hat = -0.01/0.19,      v_hat = 1       -> +0.000526316
  // t=3: m = 0.191,  v = 0.005997;   m_hat = 0.191/0.271,     v_hat = 0.005997/0.002997
  //      = 0.704797,                 = 2.001001               -> step 0.004982...
  Matrix theta = qkv::matrix_from_rows({{1.0f}});
  AdamWState state;
  const AdamWOptions options{.learning_rate = 0.01, .weight_decay = 0.0};
  adamw_step(theta, qkv::matrix_from_rows({{1.0f}}), state, options);
  CHECK_THAT(theta, is_close(qkv::matrix_from_rows({{0.99f}}), 1e-6, 1e-7));
  adamw_step(theta, qkv::matrix_from_rows({{-1.0f}}), state, options);
  const double after2 = 0.99 + 0.01 * (0.01 / 0.19) / (1.0 + 1e-8);
  CHECK_THAT(theta, is_close(qkv::matrix_from_rows({{static_cast<float>(after2)}}), 1e-6, 1e-7));
  adamw_step(theta, qkv::matrix_from_rows({{2.0f}}), state, options);
  const double m_hat = 0.191 / (1 - 0.9 * 0.9 * 0.9);
  const double v_hat = (0.999 * 0.001999 + 0.004) / (1 - 0.999 * 0.999 * 0.999);
  const double after3 = after2 - 0.01 * m_hat / (std::sqrt(v_hat) + 1e-8);
  CHECK_THAT(theta, is_close(qkv::matrix_from_rows({{static_cast<float>(after3)}}), 1e-6, 1e-7));
  CHECK(state.t == 3);
}

TEST_CASE("adamw_step: the decay is decoupled from the gradient's scale", "[adamw_step]") {
  // Two weights of 1 with gradients 1000 and 0.001: Adam's part is eta for both, and the
  // decay eta lambda theta is the same for both. Decay added to the gradient (L2) would be
  // lost in the large one: 1 - 0.1 (1 + 0.5) = 0.85 for both here.
  Matrix theta = qkv::matrix_from_rows({{1.0f, 1.0f}});
  AdamWState state;
  adamw_step(theta, qkv::matrix_from_rows({{1000.0f, 0.001f}}), state,
             {.learning_rate = 0.1, .weight_decay = 0.5});
  CHECK_THAT(theta, is_close(qkv::matrix_from_rows({{0.85f, 0.85f}}), 1e-4, 1e-6));
}

TEST_CASE("adamw_step rejects a gradient of another shape", "[adamw_step]") {
  Matrix theta = Matrix::Ones(2, 2);
  AdamWState state;
  CHECK_THROWS_AS(adamw_step(theta, Matrix::Ones(2, 3), state, {}), qkv::ShapeError);
}
