// Reference solution of exercise softmax_jacobian (chapter 10).

#include "softmax_jacobian.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix softmax_jacobian(const Vector& p) {
  require(p.size() > 0 && p.allFinite() && (p.array() >= 0).all(), "softmax_jacobian",
          "p must be a non-empty vector of finite weights, none negative");
  // diag(p) - p p^T: the diagonal from p_j's own exponential, the outer product from the
  // shared denominator.
  Matrix jacobian = -p * p.transpose();
  jacobian.diagonal() += p;
  return jacobian;
}

}  // namespace qkv::exercises
