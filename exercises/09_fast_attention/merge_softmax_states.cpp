// Exercise merge_softmax_states (chapter 09): two partial softmax states into one.
//
// Decoding one token attends one query to a long cache: one core would walk all the keys.
// Split-KV decoding ("flash decoding") gives each core a chunk of the keys instead; each
// computes the state (max m, sum l, unnormalised output o) of its chunk, and the states are
// merged. The tiled kernel's inner loop is the same merge, of the state so far with one key
// block. Each state is relative to its own maximum, so bring both to the larger one first.
// For chunk a with scores 1, 3 and chunk b with score 5 (values 10, 20 and 30):
//
//     a = {m 3, l e^-2 + 1,  o 10 e^-2 + 20},    b = {m 5, l 1, o 30}
//     merged: m 5,  l (e^-2 + 1) e^-2 + 1,  o (10 e^-2 + 20) e^-2 + 30
//
// TODO: 1. Check that a.output and b.output have the same size (qkv::require_shapes).
//       2. m = the larger of the two maxima. Multiply each side's sum AND output by
//          e^(its max - m), then add the two sides.
//       3. Two empty states (both maxima -inf) merge into an empty state: the factors would
//          be e^(-inf - (-inf)) = e^NaN. One empty side must change nothing.
// Check with:  build/dev/bin/qkv-learn check merge_softmax_states
//   or, checking again on every save:  build/dev/bin/qkv-learn watch merge_softmax_states

#include "merge_softmax_states.hpp"

#include <cmath>

#include "qkv/error.hpp"

namespace qkv::exercises {

SoftmaxState merge_softmax_states(const SoftmaxState& a, const SoftmaxState& b) {
  (void)a;
  (void)b;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
