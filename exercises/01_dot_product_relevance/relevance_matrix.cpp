// Exercise relevance_matrix (chapter 01): all queries against all keys at once.
//
// Chapter 01 scored one query against every key, s = K q. A transformer scores every
// token's query against every key at the same time, and that is one matrix product:
//
//     S = Q K^T        S(i, j) = q_i . k_j        (T_q x d) (d x T_k) -> T_q x T_k
//
// TODO: 1. If queries.cols() != keys.cols(), throw qkv::ShapeError with a message that
//          names both shapes (qkv::require_shapes in qkv/error.hpp does exactly that).
//       2. Return Q K^T, without a loop.
// Check with:  build/dev/bin/qkv-learn check relevance_matrix
//   or, checking again on every save:  build/dev/bin/qkv-learn watch relevance_matrix

#include "relevance_matrix.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix relevance_matrix(const Matrix& queries, const Matrix& keys) {
  (void)queries;
  (void)keys;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
