// Exercise combine_masks (chapter 04): two masks at once, and the rows that see nothing.
//
// A decoder reading a padded batch needs two rules at once: no peeking at later tokens
// (causal) and no looking at padding. Combine two masks so that a key is visible only when
// both allow it, and find the queries that end up seeing no key at all:
//
//     a = 1 0      b = 1 1      combine_masks(a, b) = 1 0      fully_masked_rows = (1)
//         1 1          0 0                            0 0
//
// Eigen's `a && b` on two boolean arrays computes the AND, but does not check shapes in a
// release build: with different shapes it reads out of bounds. So check them first.
//
// TODO: 1. Throw qkv::ShapeError unless a and b have the same rows and columns
//          (qkv::require_shapes in qkv/error.hpp, with the names "a" and "b").
//       2. Return the element-wise AND.
//       3. fully_masked_rows: collect every i whose row has no true entry
//          (mask.row(i).any() says whether it has one).
// Check with:  build/dev/bin/qkv-learn check combine_masks
//   or, checking again on every save:  build/dev/bin/qkv-learn watch combine_masks

#include "combine_masks.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Mask combine_masks(const Mask& a, const Mask& b) {
  (void)a;
  (void)b;
  QKV_NOT_DONE();
}

std::vector<Index> fully_masked_rows(const Mask& mask) {
  (void)mask;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
