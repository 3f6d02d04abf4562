// Reference solution of exercise head_diagnostics (chapter 05).

#include "head_diagnostics.hpp"

#include <cmath>
#include <cstdlib>
#include <string>

#include "qkv/error.hpp"

namespace qkv::exercises {

HeadDiagnostics head_diagnostics(const std::vector<Matrix>& weights, float tolerance) {
  require(!weights.empty(), "head_diagnostics", "needs the weights of at least one head");
  const Index t_q = weights.front().rows(), t_k = weights.front().cols();
  require(t_q >= 1 && t_q <= t_k, "head_diagnostics",
          "needs 1 <= T_q <= T_k (the queries are the last T_q of the T_k positions), not " +
              shape_of(weights.front()));
  const auto heads = static_cast<Index>(weights.size());
  HeadDiagnostics result{Vector(heads), Vector(heads)};
  for (Index i = 0; i < heads; ++i) {
    const Matrix& w = weights[static_cast<std::size_t>(i)];
    require_shapes(w.rows() == t_q && w.cols() == t_k, "head_diagnostics",
                   "every head's weights must have the same shape", "head 0", weights.front(),
                   "head " + std::to_string(i), w);
    double entropy = 0, distance = 0;  // summed over the queries
    for (Index q = 0; q < t_q; ++q) {
      const Index position = t_k - t_q + q;
      double sum = 0;
      for (Index j = 0; j < t_k; ++j) {
        const double p = w(q, j);
        require(std::isfinite(p) && p >= 0, "head_diagnostics",
                "head " + std::to_string(i) + ", row " + std::to_string(q) +
                    ": a weight is negative or not finite");
        sum += p;
        if (p > 0) entropy -= p * std::log(p);  // 0 ln 0 = 0: the limit, not NaN
        distance += p * static_cast<double>(std::abs(position - j));
      }
      require(std::abs(sum - 1) <= tolerance, "head_diagnostics",
              "head " + std::to_string(i) + ", row " + std::to_string(q) + " sums to " +
                  std::to_string(sum) + ", not 1: not attention weights");
    }
    result.entropy(i) = static_cast<float>(entropy / static_cast<double>(t_q));
    result.distance(i) = static_cast<float>(distance / static_cast<double>(t_q));
  }
  return result;
}

}  // namespace qkv::exercises
