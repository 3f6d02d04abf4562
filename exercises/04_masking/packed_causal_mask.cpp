// Exercise packed_causal_mask (chapter 04): several sequences in one, without padding.
//
// Padding wastes work: a batch of lengths 6, 2 and 1 padded to 6 computes 18 rows for 9
// tokens. Training code therefore often packs the sequences one after another into a single
// row of T = 9 tokens. Then the mask must keep them apart: a token sees the earlier tokens
// of its own sequence, and nothing of the others.
//
//     lengths = (2, 3):   1 0 0 0 0
//                         1 1 0 0 0
//                         0 0 1 0 0
//                         0 0 1 1 0
//                         0 0 1 1 1
//
// TODO: 1. Throw qkv::ValueError (qkv::require) if lengths is empty or a length is < 1.
//       2. Start from a T x T Mask of false (Mask::Constant(t, t, false)).
//       3. For each sequence, starting at offset `start`, set its diagonal block
//          mask.block(start, start, n, n) to a causal mask of n tokens (qkv::causal_mask).
// Check with:  build/dev/bin/qkv-learn check packed_causal_mask
//   or, checking again on every save:  build/dev/bin/qkv-learn watch packed_causal_mask

#include "packed_causal_mask.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Mask packed_causal_mask(const std::vector<Index>& lengths) {
  (void)lengths;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
