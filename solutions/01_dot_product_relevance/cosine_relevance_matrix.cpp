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
  // Normalise once per row, then one product gives all T_q x T_k cosines. The unit rows are
  // plain matrices first: a product of two normalisation expressions makes the compiler
  // instantiate a much larger product kernel (about 1 s more of every verdict).
  const Matrix unit_queries = queries.rowwise().normalized();
  const Matrix unit_keys = keys.rowwise().normalized();
  return unit_queries * unit_keys.transpose();
}

}  // namespace qkv::exercises
