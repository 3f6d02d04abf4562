// Reference solution of exercise attention_parameter_count (chapter 02).

#include "attention_parameter_count.hpp"

#include "qkv/error.hpp"
#include "qkv/parameter_count.hpp"

namespace qkv::exercises {

Index attention_parameter_count(const AttentionModel& model) {
  require(model.d_model > 0 && model.heads > 0 && model.layers > 0, "attention_parameter_count",
          "d_model, heads and layers must be positive");
  require(model.d_model % model.heads == 0, "attention_parameter_count",
          "the heads must divide d_model (d_head = d_model / heads)");
  const Index d_head = model.d_model / model.heads;
  // h heads of 3 d_model d_head is 3 d_model^2 whatever h is: the heads split d_model.
  Index per_layer = model.heads * qkv_parameter_count(model.d_model, d_head) +
                    model.d_model * model.d_model;  // W_o
  if (model.biases) per_layer += model.heads * 3 * d_head + model.d_model;
  return model.layers * per_layer;
}

}  // namespace qkv::exercises
