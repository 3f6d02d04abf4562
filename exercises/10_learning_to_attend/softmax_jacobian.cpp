// Exercise softmax_jacobian (chapter 10): the softmax's Jacobian, written out.
//
// The chapter's backward never forms it: dS = P * (dP - rowsum(dP * P)) applies it in O(T)
// per row. Here you build the whole T x T matrix, the way the derivation starts: p_j =
// e^(s_j) / sum_k e^(s_k), so moving s_l changes every p_j: p_j itself grows when l = j, and
// every p_j shrinks in proportion to p_l because the sum in the denominator grew. For
// p = (1/2, 1/2):
//
//     J = [  1/4  -1/4 ]
//         [ -1/4   1/4 ]
//
// TODO: 1. Check the argument: not empty, every entry finite and at least 0 (qkv::require).
//       2. J(j, l) = p(j) * ((j == l ? 1 : 0) - p(l)) for every j and l.
// Check with:  build/dev/bin/qkv-learn check softmax_jacobian
//   or, checking again on every save:  build/dev/bin/qkv-learn watch softmax_jacobian

#include "softmax_jacobian.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix softmax_jacobian(const Vector& p) {
  (void)p;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
