// Exercise ntk_scaled_frequencies (chapter 07): a longer context by changing the base.
//
// The chapter's position interpolation divides every position by s = L_new / L_train: the
// slow pairs then stay in their trained range, but the fast pairs, which tell neighbours
// apart, are squeezed too, and neighbouring tokens become harder to tell apart. NTK-aware
// scaling leaves the fast pairs alone and slows the slow ones: it raises the base so that
// the last pair turns exactly s times slower and the first not at all. Each pair in between
// is slowed by a factor between 1 and s. For d_head = 4, base 10000 and s = 4, the new base is
// 10000 x 4^(4/2) = 160000 and the frequencies are 1 and 160000^(-1/2) = 0.0025 (instead of
// 1 and 0.01).
//
// TODO: 1. Check the arguments (qkv::require): d_head even and at least 4 (with d_head = 2
//          the exponent below divides by 0), base > 1, 1 <= trained_context <= new_context.
//       2. s = new_context / trained_context (as a double), and the new base
//          b' = b s^(d_head / (d_head - 2)).
//       3. theta'_i = b'^(-2i / d_head) for i = 0 .. d_head/2 - 1: the exponent has 2i, as in
//          qkv::rope_frequencies (which you may call with the new base).
// Check with:  build/dev/bin/qkv-learn check ntk_scaled_frequencies
//   or, checking again on every save:  build/dev/bin/qkv-learn watch ntk_scaled_frequencies

#include "ntk_scaled_frequencies.hpp"

#include "qkv/error.hpp"
#include "qkv/rope.hpp"

namespace qkv::exercises {

VectorD ntk_scaled_frequencies(Index d_head, double base, Index trained_context,
                               Index new_context) {
  (void)d_head;
  (void)base;
  (void)trained_context;
  (void)new_context;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
