// Reference solution of exercise alibi_bias (chapter 07).

#include "alibi_bias.hpp"

#include <cmath>
#include <limits>

#include "qkv/error.hpp"

namespace qkv::exercises {

Vector alibi_slopes(Index heads) {
  require(heads >= 1, "alibi_slopes", "there must be at least one head");
  Vector slopes(heads);
  for (Index h = 0; h < heads; ++h)
    slopes(h) = static_cast<float>(
        std::exp2(-8.0 * static_cast<double>(h + 1) / static_cast<double>(heads)));
  return slopes;
}

Matrix alibi_bias(Index t_q, Index t_k, float slope) {
  require(t_q >= 0 && t_k >= 0 && t_q <= t_k, "alibi_bias",
          "sizes must not be negative, and T_q must not exceed T_k");
  require(std::isfinite(slope) && slope > 0, "alibi_bias", "the slope must be a finite number > 0");
  Matrix bias(t_q, t_k);
  for (Index i = 0; i < t_q; ++i) {
    const Index position = t_k - t_q + i;  // the queries are the last T_q positions
    for (Index j = 0; j < t_k; ++j)
      bias(i, j) = j <= position ? -slope * static_cast<float>(position - j)
                                 : -std::numeric_limits<float>::infinity();
  }
  return bias;
}

}  // namespace qkv::exercises
