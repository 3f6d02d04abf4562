// Exercise decoding_window_mask (chapter 04): a sliding window while generating text.
//
// The chapter's window mask is square: T queries, T keys. A model that writes text computes
// one new token at a time (or a few), and its keys include every earlier position. Give the
// window mask for T_q new queries at the end of T_k positions: query i sits at position
// p = T_k - T_q + i and sees the last w positions up to and including its own.
//
//     t_q = 2, t_k = 5, w = 3:   positions 3 and 4      0 1 1 1 0
//                                                      0 0 1 1 1
//
// TODO: 1. Throw qkv::ValueError (qkv::require) for a negative size, t_q > t_k or window < 1.
//       2. Fill a t_q x t_k Mask: entry (i, j) is true when p - window < j <= p.
// Check with:  build/dev/bin/qkv-learn check decoding_window_mask
//   or, checking again on every save:  build/dev/bin/qkv-learn watch decoding_window_mask

#include "decoding_window_mask.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Mask decoding_window_mask(Index t_q, Index t_k, Index window) {
  (void)t_q;
  (void)t_k;
  (void)window;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
