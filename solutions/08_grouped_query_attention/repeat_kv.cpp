// Reference solution of exercise repeat_kv (chapter 08).

#include "repeat_kv.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix repeat_kv(const Matrix& kv, Index heads, Index kv_heads) {
  require(heads >= 1 && kv_heads >= 1 && heads % kv_heads == 0, "repeat_kv",
          "kv_heads must be positive and divide heads");
  require(kv.cols() % kv_heads == 0, "repeat_kv", "kv_heads must divide the columns of kv");
  const Index d_head = kv.cols() / kv_heads, group = heads / kv_heads;
  Matrix out(kv.rows(), heads * d_head);
  for (Index i = 0; i < heads; ++i)
    out.middleCols(i * d_head, d_head) = kv.middleCols((i / group) * d_head, d_head);
  return out;
}

}  // namespace qkv::exercises
