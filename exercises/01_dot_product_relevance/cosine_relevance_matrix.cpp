// Exercise cosine_relevance_matrix (chapter 01): cosine similarity, all pairs at once.
//
// The chapter computed cos(q, k_j) for one query, key by key. Do it for every query and
// every key with one matrix product: divide each row of Q and of K by its length first,
// then the product of the normalised matrices holds every cosine:
//
//     C = Qn Kn^T,   Qn(i, :) = q_i / |q_i|,   Kn(j, :) = k_j / |k_j|
//
// TODO: 1. Throw qkv::ShapeError (qkv::require_shapes) if Q and K differ in d.
//       2. Throw qkv::ValueError (qkv::require) if any row of Q or K has length 0.
//       3. Return Qn Kn^T. Eigen: m.rowwise().norm() gives each row's length, and
//          m.rowwise().normalized() each row divided by its length.
// Check with:  build/dev/bin/qkv-learn check cosine_relevance_matrix
//   or, checking again on every save:  build/dev/bin/qkv-learn watch cosine_relevance_matrix

#include "cosine_relevance_matrix.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix cosine_relevance_matrix(const Matrix& queries, const Matrix& keys) {
  (void)queries;
  (void)keys;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
