// Reference solution of exercise merge_softmax_states (chapter 09).

#include "merge_softmax_states.hpp"

#include <algorithm>
#include <cmath>

#include "qkv/error.hpp"

namespace qkv::exercises {

SoftmaxState merge_softmax_states(const SoftmaxState& a, const SoftmaxState& b) {
  require_shapes(a.output.size() == b.output.size(), "merge_softmax_states",
                 "both outputs must have d_v numbers", "a.output", a.output, "b.output", b.output);
  const float m = std::max(a.max, b.max);
  if (m == -INFINITY) return {m, 0.0f, Vector::Zero(a.output.size())};  // two empty states
  // Each side was summed against its own e^(max): bring both to e^m (a factor <= 1).
  const float scale_a = std::exp(a.max - m), scale_b = std::exp(b.max - m);
  return {m, a.sum * scale_a + b.sum * scale_b, a.output * scale_a + b.output * scale_b};
}

}  // namespace qkv::exercises
