// Reference solution of exercise one_hot_embedding (chapter 02).

#include "one_hot_embedding.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix one_hot(const std::vector<Index>& ids, Index vocabulary_size) {
  require(vocabulary_size > 0, "one_hot", "the vocabulary must hold at least one word");
  Matrix h = Matrix::Zero(static_cast<Index>(ids.size()), vocabulary_size);
  for (std::size_t t = 0; t < ids.size(); ++t) {
    require(ids[t] >= 0 && ids[t] < vocabulary_size, "one_hot",
            "token id " + std::to_string(ids[t]) + " is outside the vocabulary");
    h(static_cast<Index>(t), ids[t]) = 1.0f;
  }
  return h;
}

}  // namespace qkv::exercises
