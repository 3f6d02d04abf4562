#pragma once
// One random multi-head layer and its input, for the tests of the layers built on chapter 05
// (the KV cache, RoPE): X drawn first, then the weights, from one seed.

#include <cstdint>

#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"

namespace qkv::testing {

struct RandomLayer {
  Matrix x;            ///< T x d_model
  MultiHeadWeights w;  ///< h heads of d_model / h
};

inline RandomLayer random_layer(Index t, Index d_model, Index heads, std::uint64_t seed) {
  Random random(seed);
  RandomLayer layer;
  layer.x = random_normal(random, t, d_model);
  layer.w = random_multi_head_weights(random, d_model, heads);
  return layer;
}

}  // namespace qkv::testing
