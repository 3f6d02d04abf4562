// Exercise repeat_kv (chapter 08): make a grouped cache look like a multi-head one.
//
// The library's grouped attention lets query head i read key/value head i / (h / kv_heads)
// in place. Code written for multi-head attention (one key/value head per query head, as
// chapter 05's attend_heads) can run a grouped model too, if you copy each key/value head
// once for every query head of its group. That is what Hugging Face's Llama and Mistral code
// do (repeat_kv, a torch.repeat_interleave): simple, and it costs h / kv_heads times the
// memory traffic that grouping saved. With d_head 1, two kv heads and four query heads:
//
//     kv = [ 1  10 ]      repeat_kv(kv, 4, 2) = [ 1  1  10  10 ]
//          [ 2  20 ]                            [ 2  2  20  20 ]
//
// TODO: 1. Check the arguments (qkv::require): heads and kv_heads at least 1, kv_heads
//          divides heads, and kv_heads divides the columns of kv (d_head = columns / kv_heads).
//       2. Make a T x (heads d_head) matrix. For each query head i, copy the d_head columns
//          of kv head i / (heads / kv_heads) into columns i d_head .. (i+1) d_head - 1.
//       3. Consecutive query heads share a kv head: query heads 0 and 1 read kv head 0 above,
//          not 0 and 2 (that would be i mod kv_heads, a different model).
// Check with:  build/dev/bin/qkv-learn check repeat_kv
//   or, checking again on every save:  build/dev/bin/qkv-learn watch repeat_kv

#include "repeat_kv.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix repeat_kv(const Matrix& kv, Index heads, Index kv_heads) {
  (void)kv;
  (void)heads;
  (void)kv_heads;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
