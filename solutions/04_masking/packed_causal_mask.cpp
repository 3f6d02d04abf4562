// Reference solution of exercise packed_causal_mask (chapter 04).

#include "packed_causal_mask.hpp"

#include <numeric>

#include "qkv/error.hpp"

namespace qkv::exercises {

Mask packed_causal_mask(const std::vector<Index>& lengths) {
  require(!lengths.empty(), "packed_causal_mask", "at least one sequence is needed");
  for (Index n : lengths) require(n >= 1, "packed_causal_mask", "every length must be at least 1");
  const Index t = std::accumulate(lengths.begin(), lengths.end(), Index{0});
  Mask mask = Mask::Constant(t, t, false);
  Index start = 0;
  for (Index n : lengths) {
    mask.block(start, start, n, n) = causal_mask(n);  // each sequence sees only itself
    start += n;
  }
  return mask;
}

}  // namespace qkv::exercises
