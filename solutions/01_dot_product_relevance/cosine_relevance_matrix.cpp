// Reference solution of exercise cosine_relevance_matrix (chapter 01).

#include "cosine_relevance_matrix.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix cosine_relevance_matrix(const Matrix& queries, const Matrix& keys) {
  require_shapes(queries.cols() == keys.cols(), "cosine_relevance_matrix",
                 "queries and keys must have the same dimension d (columns)", "queries", queries,
                 "keys", keys);
  require((queries.rowwise().norm().array() > 0.0f).all() &&
              (keys.rowwise().norm().array() > 0.0f).all(),
          "cosine_relevance_matrix", "the cosine of a zero vector is undefined");
  // Normalise once per row, then one product gives all T_q x T_k cosines.
  return queries.rowwise().normalized() * keys.rowwise().normalized().transpose();
}

}  // namespace qkv::exercises
