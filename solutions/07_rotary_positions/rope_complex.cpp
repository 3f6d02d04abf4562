// Reference solution of exercise rope_complex (chapter 07).

#include "rope_complex.hpp"

#include <cmath>
#include <complex>

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix rope_complex(const Matrix& x, const VectorD& positions, double base) {
  require_shapes(positions.size() == x.rows(), "rope_complex",
                 "there must be one position per row of x", "x", x, "positions", positions);
  const Index d_head = x.cols();
  require(d_head >= 2 && d_head % 2 == 0, "rope_complex", "d_head must be even and positive");
  require(base > 1, "rope_complex", "the base must be above 1");
  Matrix y(x.rows(), d_head);
  for (Index t = 0; t < x.rows(); ++t)
    for (Index i = 0; i < d_head / 2; ++i) {
      const double theta =
          std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(d_head));
      const std::complex<double> z(x(t, 2 * i), x(t, 2 * i + 1));
      const std::complex<double> turned = z * std::polar(1.0, positions(t) * theta);
      y(t, 2 * i) = static_cast<float>(turned.real());
      y(t, 2 * i + 1) = static_cast<float>(turned.imag());
    }
  return y;
}

}  // namespace qkv::exercises
