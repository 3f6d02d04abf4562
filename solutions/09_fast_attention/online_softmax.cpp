// Reference solution of exercise online_softmax (chapter 09).

#include "online_softmax.hpp"

#include <algorithm>
#include <cmath>

#include "qkv/error.hpp"

namespace qkv::exercises {

void OnlineSoftmax::add(const Vector& scores, const Matrix& values) {
  require_shapes(values.rows() == scores.size() && values.cols() == d_v(), "OnlineSoftmax::add",
                 "one value row of d_v numbers per score", "scores", scores, "values", values);
  keys_seen_ += scores.size();
  const float block_max = scores.size() > 0 ? scores.maxCoeff() : -INFINITY;
  const float new_max = std::max(max_, block_max);
  if (new_max == -INFINITY) return;  // every score so far masked: nothing to weigh yet
  // What was summed against e^(-m) is rescaled to e^(-m'): the sum and the output alike.
  const float rescale = std::exp(max_ - new_max);  // 1 when the maximum stays, 0 from -inf
  sum_ *= rescale;
  output_ *= rescale;
  for (Index j = 0; j < scores.size(); ++j) {
    const float weight = std::exp(scores(j) - new_max);  // <= 1; 0 for a masked key
    sum_ += weight;
    output_ += weight * values.row(j).transpose();
  }
  max_ = new_max;
}

Vector OnlineSoftmax::output() const {
  if (sum_ == 0.0f) return Vector::Zero(d_v());
  return output_ / sum_;  // once, at the end
}

float OnlineSoftmax::log_sum_exp() const {
  return sum_ == 0.0f ? -INFINITY : max_ + std::log(sum_);
}

}  // namespace qkv::exercises
