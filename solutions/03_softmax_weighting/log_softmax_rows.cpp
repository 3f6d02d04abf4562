// Reference solution of exercise log_softmax_rows (chapter 03).

#include "log_softmax_rows.hpp"

#include <cmath>

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix log_softmax_rows(const Matrix& scores) {
  Matrix out(scores.rows(), scores.cols());
  for (Index i = 0; i < scores.rows(); ++i) {
    const float m = scores.cols() > 0 ? scores.row(i).maxCoeff() : -INFINITY;
    require(std::isfinite(m) && !scores.row(i).hasNaN(), "log_softmax_rows",
            "row " + std::to_string(i) + " has no finite maximum (all -inf, or NaN)");
    // The sum's largest term is e^0 = 1, so its log is in [0, ln T].
    const float log_sum = std::log((scores.row(i).array() - m).exp().sum());
    out.row(i) = (scores.row(i).array() - m - log_sum).matrix();
  }
  return out;
}

}  // namespace qkv::exercises
