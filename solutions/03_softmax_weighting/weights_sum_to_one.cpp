// Reference solution of exercise weights_sum_to_one (chapter 03).

#include "weights_sum_to_one.hpp"

namespace qkv::exercises {

bool weights_sum_to_one(const Matrix& weights, float tolerance) {
  if (!weights.allFinite() || (weights.array() < 0.0f).any()) return false;
  // rowwise().sum() adds across each row: one sum per query.
  return ((weights.rowwise().sum().array() - 1.0f).abs() <= tolerance).all();
}

}  // namespace qkv::exercises
