// Exercise attention_parameter_count (chapter 02): how many numbers does attention learn?
//
// The chapter counted one head: W_q, W_k, W_v hold 3 d_model d_head numbers. A model has h
// heads per layer, each with its own three matrices (d_head = d_model / h), an output
// projection W_o (d_model x d_model) that mixes the heads (chapter 05), and many layers.
// Some models (GPT-2) also add a bias vector after each projection: d_head numbers per
// head for each of W_q, W_k, W_v, and d_model for W_o.
//
//     per layer = h * 3 * d_model * d_head  +  d_model * d_model  (+ biases)
//
// TODO: 1. Throw qkv::ValueError (qkv::require) unless d_model, heads and layers are
//          positive and heads divides d_model.
//       2. Return the count for all layers. Mind the size: a 7-billion-parameter model does
//          not fit in an int. Index is 64 bits.
//       3. Notice that the count does not depend on h. Why?
// Check with:  build/dev/bin/qkv-learn check attention_parameter_count
//   or, checking again on every save:  build/dev/bin/qkv-learn watch attention_parameter_count

#include "attention_parameter_count.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Index attention_parameter_count(const AttentionModel& model) {
  (void)model;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
