// Exercise alibi_bias (chapter 07): positions as a penalty on the scores, not a rotation.
//
// RoPE makes a score depend on the offset between query and key by rotating them. ALiBi
// (Attention with Linear Biases, Press et al. 2022) gets there more bluntly: it adds
// -m (i - j) to the score of query position i and key position j, a penalty that grows
// linearly with the distance, with a different slope m per head (steep heads look near,
// gentle ones far). Nothing is added to X and nothing is rotated; BLOOM and MPT use it.
// With slope 0.5, three tokens:
//
//     bias = [  0    -inf  -inf ]      and for one decoding query over 4 keys
//            [ -0.5   0    -inf ]      (T_q = 1, T_k = 4: the query is position 3):
//            [ -1    -0.5   0   ]      [ -1.5  -1  -0.5  0 ]
//
// TODO: 1. alibi_slopes: throw qkv::ValueError unless heads >= 1 (qkv::require); head h
//          (counting from 0) gets 2^(-8 (h + 1) / heads). Head 0 is not slope 1.
//       2. alibi_bias: check the sizes and the slope (finite, > 0), then fill the T_q x T_k
//          matrix: query i is at position T_k - T_q + i, not at i.
//       3. A key after the query's position gets -infinity (std::numeric_limits<float>),
//          a key at or before it minus slope times the distance: the bias is never positive.
// Check with:  build/dev/bin/qkv-learn check alibi_bias
//   or, checking again on every save:  build/dev/bin/qkv-learn watch alibi_bias

#include "alibi_bias.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Vector alibi_slopes(Index heads) {
  (void)heads;
  QKV_NOT_DONE();
}

Matrix alibi_bias(Index t_q, Index t_k, float slope) {
  (void)t_q;
  (void)t_k;
  (void)slope;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
