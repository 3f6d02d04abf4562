// Exercise top_k (chapter 01): retrieve the k best keys, not just one.
//
// Hard retrieval keeps only the best key. Search engines and retrieval-augmented models keep
// the k best. Return the indices of the k highest scores, highest first; equal scores in
// ascending index order (a deterministic tie-break: the same answer on every machine).
//
//     scores = (1, 3, 3, -2, 3), k = 2   ->   (1, 2)
//
// TODO: 1. Throw qkv::ValueError for k < 0, k > scores.size(), or a NaN score
//          (qkv::require in qkv/error.hpp; scores.hasNaN() finds NaNs).
//       2. Order the indices 0..T-1 by descending score, ties by index, and keep the
//          first k. std::partial_sort sorts only the first k; its comparison must break
//          ties itself, because partial_sort is not stable.
// Check with:  build/dev/bin/qkv-learn check top_k
//   or, checking again on every save:  build/dev/bin/qkv-learn watch top_k

#include "top_k.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

std::vector<Index> top_k(const Vector& scores, Index k) {
  (void)scores;
  (void)k;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
