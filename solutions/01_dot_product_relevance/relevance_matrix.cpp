// Reference solution of exercise relevance_matrix (chapter 01).

#include "relevance_matrix.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix relevance_matrix(const Matrix& queries, const Matrix& keys) {
  require_shapes(queries.cols() == keys.cols(), "relevance_matrix",
                 "queries and keys must have the same dimension d (columns)", "queries", queries,
                 "keys", keys);
  // Row i of Q times column j of K^T is q_i . k_j: all T_q x T_k dot products at once.
  return queries * keys.transpose();
}

}  // namespace qkv::exercises
