// Reference solution of exercise top_k (chapter 01).

#include "top_k.hpp"

#include <algorithm>
#include <numeric>

#include "qkv/error.hpp"

namespace qkv::exercises {

std::vector<Index> top_k(const Vector& scores, Index k) {
  require(k >= 0 && k <= scores.size(), "top_k", "k must lie between 0 and the number of scores");
  require(!scores.hasNaN(), "top_k", "a score is NaN");
  std::vector<Index> order(static_cast<std::size_t>(scores.size()));
  std::iota(order.begin(), order.end(), Index{0});
  // partial_sort is not stable: the comparison itself breaks ties by index.
  const auto before = [&scores](Index a, Index b) {
    return scores(a) > scores(b) || (scores(a) == scores(b) && a < b);
  };
  std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
  order.resize(static_cast<std::size_t>(k));
  return order;
}

}  // namespace qkv::exercises
