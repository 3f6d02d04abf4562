// Reference solution of exercise decoding_window_mask (chapter 04).

#include "decoding_window_mask.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Mask decoding_window_mask(Index t_q, Index t_k, Index window) {
  require(t_q >= 0 && t_k >= 0, "decoding_window_mask", "sizes must not be negative");
  require(t_q <= t_k, "decoding_window_mask", "there cannot be more queries than key positions");
  require(window >= 1, "decoding_window_mask", "the window must hold at least one token");
  Mask mask(t_q, t_k);
  for (Index i = 0; i < t_q; ++i) {
    const Index position = t_k - t_q + i;  // where query i sits among the keys
    for (Index j = 0; j < t_k; ++j) mask(i, j) = j <= position && j > position - window;
  }
  return mask;
}

}  // namespace qkv::exercises
