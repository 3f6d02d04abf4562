// Exercise gqa_decode_step (chapter 06): decode with grouped-query attention.
//
// The chapter's cache holds h heads of keys and values per token. Grouped-query attention
// keeps only g of them (g divides h): each group of h / g query heads shares one key/value
// head. The cache, and the memory it costs, shrink by h / g; the queries keep their h heads.
// With h = 4 and g = 2, query heads 0 and 1 read kv head 0, heads 2 and 3 read kv head 1.
//
//     q = x W_q   (T_new x h d_head)        k = x W_k, v = x W_v   (T_new x g d_head)
//     head i:  o_i = softmax(q_i K_j^T / sqrt(d_head) + M) V_j   with  j = i / (h / g)
//     output:  [o_0 ... o_(h-1)] W_o
//
// TODO: 1. Check the inputs (see gqa_decode_step.hpp for what throws which error):
//          qkv::require for values, qkv::require_shapes for shapes (qkv/error.hpp).
//       2. Project the new rows, append k and v to the cache (cache.append).
//       3. For each query head i, take its d_head columns of q and the columns of kv head
//          j = i / (h / g) of cache.keys() and cache.values() (middleCols), and attend:
//          qkv::attention_scores, qkv::apply_mask with qkv::causal_mask(T_new,
//          cache.size()) when T_new > 1, qkv::softmax_rows, times the values.
//       4. Write each head's output into its columns of a T_new x (h d_head) matrix and
//          multiply by W_o.
// Check with:  ctest --preset dev -R 'exercise.gqa_decode_step$'

#include "gqa_decode_step.hpp"

#include "qkv/error.hpp"
#include "qkv/masking.hpp"
#include "qkv/projection.hpp"
#include "qkv/softmax.hpp"

namespace qkv::exercises {

Matrix gqa_decode_step(const Matrix& x_new, const GqaWeights& w, KvCache& cache) {
  (void)x_new;
  (void)w;
  (void)cache;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
