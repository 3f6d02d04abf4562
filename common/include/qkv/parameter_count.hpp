#pragma once
/// @file
/// Chapter 02, learned projections: how many numbers an attention layer learns.
///
/// Counts only, no matrices: projection.hpp (one head, chapter 02) and multi_head.hpp
/// (chapter 05) include this header, and code that only counts (exercise
/// attention_parameter_count) includes it alone, which compiles in a fraction of the time.

#include "qkv/error.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// The number of learned parameters of one head's projections: 3 d_model d_head
/// (no biases, as in GPT-style attention).
inline Index qkv_parameter_count(Index d_model, Index d_head) { return 3 * d_model * d_head; }

/// Learned parameters of a multi-head attention layer: \f$ 4\,d_{model}^2 \f$ weights, plus
/// \f$ 4\,d_{model} \f$ biases when the projections have them (GPT-2's do). Independent of
/// the number of heads: heads split d_model, they do not add parameters.
inline Index multi_head_parameter_count(Index d_model, bool with_biases = false) {
  require(d_model > 0, "multi_head_parameter_count", "d_model must be positive");
  return 4 * d_model * d_model + (with_biases ? 4 * d_model : 0);
}

}  // namespace qkv
