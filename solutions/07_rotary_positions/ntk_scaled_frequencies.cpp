// Reference solution of exercise ntk_scaled_frequencies (chapter 07).

#include "ntk_scaled_frequencies.hpp"

#include <cmath>

#include "qkv/error.hpp"
#include "qkv/rope.hpp"

namespace qkv::exercises {

VectorD ntk_scaled_frequencies(Index d_head, double base, Index trained_context,
                               Index new_context) {
  require(d_head >= 4 && d_head % 2 == 0, "ntk_scaled_frequencies",
          "d_head must be even and at least 4");
  require(base > 1, "ntk_scaled_frequencies", "the base must be above 1");
  require(trained_context >= 1 && trained_context <= new_context, "ntk_scaled_frequencies",
          "the contexts must satisfy 1 <= trained_context <= new_context");
  const double stretch = static_cast<double>(new_context) / static_cast<double>(trained_context);
  const auto d = static_cast<double>(d_head);
  // The slowest pair, i = d/2 - 1, has exponent -(d - 2)/d: raising the base by
  // s^(d/(d-2)) divides its frequency by exactly s.
  return rope_frequencies(d_head, base * std::pow(stretch, d / (d - 2)));
}

}  // namespace qkv::exercises
