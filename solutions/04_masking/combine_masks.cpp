// Reference solution of exercise combine_masks (chapter 04).

#include "combine_masks.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Mask combine_masks(const Mask& a, const Mask& b) {
  // Eigen checks shapes only in debug builds (assert): check them always.
  require_shapes(a.rows() == b.rows() && a.cols() == b.cols(), "combine_masks",
                 "masks must have the same shape to be combined", "a", a, "b", b);
  return a && b;
}

std::vector<Index> fully_masked_rows(const Mask& mask) {
  std::vector<Index> rows;
  for (Index i = 0; i < mask.rows(); ++i)
    if (!mask.row(i).any()) rows.push_back(i);
  return rows;
}

}  // namespace qkv::exercises
