// Reference solution of exercise stack_heads (chapter 05).

#include "stack_heads.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix stack_heads(const Matrix& x, Index heads) {
  require(heads > 0 && x.cols() % heads == 0, "stack_heads",
          "the number of heads must be positive and divide d_model (the columns)");
  const Index tokens = x.rows(), d_head = x.cols() / heads;
  Matrix stacked(heads * tokens, d_head);
  for (Index i = 0; i < heads; ++i)
    stacked.middleRows(i * tokens, tokens) = x.middleCols(i * d_head, d_head);
  return stacked;
}

Matrix unstack_heads(const Matrix& stacked, Index heads) {
  require(heads > 0 && stacked.rows() % heads == 0, "unstack_heads",
          "the number of heads must be positive and divide the rows (h T)");
  const Index tokens = stacked.rows() / heads, d_head = stacked.cols();
  Matrix x(tokens, heads * d_head);
  for (Index i = 0; i < heads; ++i)
    x.middleCols(i * d_head, d_head) = stacked.middleRows(i * tokens, tokens);
  return x;
}

}  // namespace qkv::exercises
