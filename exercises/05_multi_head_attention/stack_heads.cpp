// Exercise stack_heads (chapter 05): all heads in one tall matrix, and back.
//
// split_heads() hands back h separate T x d_head matrices. Libraries keep the heads in one
// block of memory instead (PyTorch's view(T, h, d_head).transpose(0, 1) is h x T x d_head)
// so that one batched call serves every head. Here the heads are stacked on top of each
// other, head 0's T rows first:
//
//     x (T x d_model) = [ X_0 | X_1 | ... | X_{h-1} ]        each X_i is T x d_head
//
//                          [ X_0     ]
//     stack_heads(x, h) =  [ X_1     ]    (h T) x d_head
//                          [ ...     ]
//                          [ X_{h-1} ]
//
//     x = (1 2 3 4), h = 2   ->   (1 2)
//         (5 6 7 8)               (5 6)
//                                 (3 4)
//                                 (7 8)
//
// The test then runs attention ONCE on stacked Q, K, V with a block-diagonal mask (head i's
// queries may only see head i's keys) and gets exactly the h heads: heads are independent
// attentions that happen to share a matrix.
//
// TODO: 1. stack_heads: throw qkv::ValueError unless heads > 0 and heads divides x.cols()
//          (qkv::require in qkv/error.hpp). Copy each T x d_head column block of x into
//          its row block of the result (middleCols / middleRows).
//       2. unstack_heads: the same checks on stacked.rows(), and the copies the other way.
// Check with:  build/dev/bin/qkv-learn check stack_heads
//   or, checking again on every save:  build/dev/bin/qkv-learn watch stack_heads

#include "stack_heads.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix stack_heads(const Matrix& x, Index heads) {
  (void)x;
  (void)heads;
  QKV_NOT_DONE();
}

Matrix unstack_heads(const Matrix& stacked, Index heads) {
  (void)stacked;
  (void)heads;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
