// Reference solution of exercise attend_one_query (chapter 03).

#include "attend_one_query.hpp"

#include <cmath>
#include <vector>

#include "qkv/error.hpp"

namespace qkv::exercises {

Vector attend_one_query(const Vector& query, const Matrix& keys, const Matrix& values) {
  require_shapes(query.size() == keys.cols(), "attend_one_query",
                 "the query's length must equal the keys' dimension d_k", "query", query, "keys",
                 keys);
  require_shapes(keys.rows() == values.rows(), "attend_one_query",
                 "there must be one value row per key row (T_k)", "keys", keys, "values", values);
  require(keys.rows() > 0, "attend_one_query", "there are no keys to attend to");
  require(query.size() > 0, "attend_one_query", "d_k must be positive");

  const Index t_k = keys.rows(), d_k = keys.cols();
  const float scale = std::sqrt(static_cast<float>(d_k));
  std::vector<float> e(static_cast<std::size_t>(t_k));
  float max_score = -INFINITY;
  for (Index j = 0; j < t_k; ++j) {
    float dot = 0.0f;
    for (Index c = 0; c < d_k; ++c) dot += query(c) * keys(j, c);
    e[static_cast<std::size_t>(j)] = dot / scale;
    if (e[static_cast<std::size_t>(j)] > max_score) max_score = e[static_cast<std::size_t>(j)];
  }
  float sum = 0.0f;
  for (auto& value : e) {
    value = std::exp(value - max_score);  // <= 1: nothing overflows
    sum += value;
  }
  Vector out = Vector::Zero(values.cols());
  for (Index j = 0; j < t_k; ++j)
    for (Index c = 0; c < values.cols(); ++c)
      out(c) += (e[static_cast<std::size_t>(j)] / sum) * values(j, c);
  return out;
}

}  // namespace qkv::exercises
