// Exercise one_hot_embedding (chapter 02): an embedding lookup is a matrix product.
//
// The chapter made X by copying row id_t of the embedding table E for every token t. Write
// token t as a one-hot row instead, 1 at column id_t and 0 elsewhere, and the same lookup
// becomes a product:
//
//     X = H E,   H (T x vocabulary size),   H(t, j) = 1 if j == id_t, else 0
//
// Row t of H E picks row id_t of E. So the embedding table is just another weight matrix, and
// a model learns it by the same gradients as W_q, W_k, W_v. (Libraries still copy rows,
// because multiplying by a huge matrix of zeros is wasteful.)
//
// TODO: 1. Throw qkv::ValueError (qkv::require) unless vocabulary_size > 0 and every id is in
//          0 .. vocabulary_size - 1.
//       2. Return the T x vocabulary_size matrix H: Matrix::Zero(rows, cols), then set one 1
//          per row.
// Check with:  build/dev/bin/qkv-learn check one_hot_embedding
//   or, checking again on every save:  build/dev/bin/qkv-learn watch one_hot_embedding

#include "one_hot_embedding.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix one_hot(const std::vector<Index>& ids, Index vocabulary_size) {
  (void)ids;
  (void)vocabulary_size;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
