// Exercise attend_one_query (chapter 03): the whole of attention for one query, by hand.
//
// The chapter called qkv::scaled_dot_product_attention, a few matrix products. Write the
// same for a single query with nothing but loops over numbers, the way an inference engine
// for one new token does it (llama2.c's forward() has exactly these loops):
//
//     s_j = (sum_c q_c k_jc) / sqrt(d_k)                 for every key j
//     m   = max_j s_j
//     e_j = exp(s_j - m),   Z = sum_j e_j                 (stable: every e_j <= 1)
//     o_c = sum_j (e_j / Z) v_jc                         for every column c of the values
//
// TODO: 1. Check the shapes: qkv::require_shapes(query.size() == keys.cols(), ...) and
//          keys.rows() == values.rows(); qkv::require for T_k > 0 and d_k > 0.
//       2. Compute the scores, their maximum, the exponentials and their sum with for loops.
//       3. Accumulate the output o (Vector::Zero(values.cols())) as the weighted sum of the
//          value rows. No matrix products.
// Check with:  build/dev/bin/qkv-learn check attend_one_query
//   or, checking again on every save:  build/dev/bin/qkv-learn watch attend_one_query

#include "attend_one_query.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Vector attend_one_query(const Vector& query, const Matrix& keys, const Matrix& values) {
  (void)query;
  (void)keys;
  (void)values;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
