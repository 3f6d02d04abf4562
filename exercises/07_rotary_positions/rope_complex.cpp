// Exercise rope_complex (chapter 07): RoPE with complex numbers, as Llama's code does it.
//
// A rotation of the plane by the angle a is a multiplication by e^(i a) = cos a + i sin a:
// (x + i y)(cos a + i sin a) = (x cos a - y sin a) + i (x sin a + y cos a), the chapter's 2x2
// rotation. Meta's Llama code stores the e^(i p theta_i) of every position and pair once
// (freqs_cis) and multiplies each pair of a query or key, viewed as one complex number, by
// them. For one pair, d_head 2 (theta_0 = 1), at position pi / 2:
//
//     (1 + 2i) e^(i pi/2) = (1 + 2i) i = -2 + i      so row (1, 2) becomes (-2, 1).
//
// TODO: 1. Check the arguments: one position per row of x (qkv::require_shapes, which throws
//          ShapeError), d_head = x.cols() even and positive, base > 1 (qkv::require).
//       2. For every row t and pair i: theta_i = base^(-2i / d_head), z = x(t, 2i) + i x(t,
//          2i+1) as a std::complex<double>, times std::polar(1.0, positions(t) * theta_i).
//       3. Write the real part back to column 2i and the imaginary part to column 2i + 1.
//          (Pairs (i, i + d_head/2) are the other convention: not this one.)
// Check with:  build/dev/bin/qkv-learn check rope_complex
//   or, checking again on every save:  build/dev/bin/qkv-learn watch rope_complex

#include "rope_complex.hpp"

#include <complex>

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix rope_complex(const Matrix& x, const VectorD& positions, double base) {
  (void)x;
  (void)positions;
  (void)base;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
