// Checks exercise rope_complex: one pair by hand, then against the library's rotation
// (qkv::apply_rope, interleaved) at many positions and widths, and the properties a rotation
// must have: lengths kept, scores depending on the offset only.

#include "rope_complex.hpp"

#include <numbers>

#include "qkv/catch.hpp"
#include "qkv/error.hpp"
#include "qkv/expect.hpp"
#include "qkv/random.hpp"
#include "qkv/rope.hpp"

using qkv::Index;
using qkv::Matrix;
using qkv::VectorD;
using qkv::exercises::rope_complex;
using qkv::testing::is_close;

TEST_CASE("rope_complex: one pair by hand, (1 + 2i) e^(i pi/2) = -2 + i", "[rope_complex]") {
  const Matrix x = qkv::matrix_from_rows({{1, 2}, {1, 2}, {3, -1}});
  const VectorD p{{0.0, std::numbers::pi / 2, std::numbers::pi}};
  CHECK_THAT(rope_complex(x, p),
             is_close(qkv::matrix_from_rows({{1, 2}, {-2, 1}, {-3, 1}}), 0, 1e-6));
  // d_head 4, base 100: theta = 1, 0.1. At position 5 pi: pair 0 by 5 pi (-1), pair 1 by pi/2.
  const Matrix x4 = qkv::matrix_from_rows({{1, 0, 1, 0}});
  CHECK_THAT(rope_complex(x4, VectorD::Constant(1, 5 * std::numbers::pi), 100),
             is_close(qkv::matrix_from_rows({{-1, 0, 0, 1}}), 0, 1e-5));
}

TEST_CASE("rope_complex equals the library's interleaved RoPE", "[rope_complex]") {
  qkv::Random random(77);
  for (Index d_head : {Index{2}, Index{8}, Index{64}})
    for (double base : {10000.0, 500000.0})
      for (double first : {0.0, 1000.0}) {
        INFO("d_head " << d_head << ", base " << base << ", first position " << first);
        const Matrix x = qkv::random_normal(random, 7, d_head);
        const VectorD positions = qkv::rope_positions(7, first);
        qkv::RopeConfig config;
        config.base = base;
        CHECK_THAT(rope_complex(x, positions, base),
                   is_close(qkv::apply_rope(x, positions, 1, config), 1e-5, 1e-6));
      }
  // Positions that are not consecutive: each row at its own.
  const Matrix x = qkv::random_normal(random, 3, 6);
  const VectorD scattered{{17.0, 3.0, 2500.0}};
  CHECK_THAT(rope_complex(x, scattered), is_close(qkv::apply_rope(x, scattered), 1e-5, 1e-6));
}

TEST_CASE("rope_complex is a rotation: lengths stay, scores see the offset", "[rope_complex]") {
  qkv::Random random(78);
  const Matrix q = qkv::random_normal(random, 1, 16), k = qkv::random_normal(random, 1, 16);
  const Matrix x = qkv::random_normal(random, 5, 16);
  const Matrix turned = rope_complex(x, qkv::rope_positions(5, 40));
  CHECK_THAT(Matrix(turned.rowwise().norm()), is_close(Matrix(x.rowwise().norm()), 1e-5, 0));
  const auto score = [&](double m, double n) {
    return rope_complex(q, VectorD::Constant(1, m))
        .row(0)
        .dot(rope_complex(k, VectorD::Constant(1, n)).row(0));
  };
  const float scale = q.norm() * k.norm();
  CHECK_THAT(score(10, 3), Catch::Matchers::WithinAbs(score(1010, 1003), 1e-5 * scale));
  CHECK_THAT(score(10, 3), Catch::Matchers::WithinAbs(score(7, 0), 1e-5 * scale));
}

TEST_CASE("rope_complex rejects mismatched positions and odd heads", "[rope_complex]") {
  CHECK_THROWS_AS(rope_complex(Matrix::Ones(3, 4), qkv::rope_positions(2)), qkv::ShapeError);
  CHECK_THROWS_AS(rope_complex(Matrix::Ones(2, 5), qkv::rope_positions(2)), qkv::ValueError);
  CHECK_THROWS_AS(rope_complex(Matrix::Ones(2, 4), qkv::rope_positions(2), 1.0), qkv::ValueError);
}
