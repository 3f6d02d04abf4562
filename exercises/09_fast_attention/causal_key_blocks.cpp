// Exercise causal_key_blocks (chapter 09): which key blocks a causal query block skips.
//
// A tiled kernel computes block of queries against block of keys. Under a causal mask the
// tiles above the diagonal see nothing, and skipping them halves the work. The kernel needs
// the rule without building the T_q x T_k mask: for a query block, how many key blocks,
// counted from block 0, hold at least one key that one of its queries may see? The chapter's
// example, T = 10 with blocks of 4 queries and 3 keys (key blocks 0-2, 3-5, 6-8, 9):
//
//     query block 0 (queries 0..3): 2 key blocks     query 3 sees key 3, in block 1
//     query block 1 (queries 4..7): 3 key blocks
//     query block 2 (queries 8..9): 4 key blocks     the last block is 2 queries, not 4
//
// and with T_q < T_k (new queries after a cache) the queries sit at the end of the keys.
//
// TODO: 1. Check the arguments (qkv::require): block sizes and T_q at least 1, T_q <= T_k,
//          and query_block one of the ceil(T_q / block_q) query blocks.
//       2. Find the block's last query (mind the short last block) and the last key it sees.
//       3. Return the number of key blocks from block 0 to the block holding that key.
// Check with:  build/dev/bin/qkv-learn check causal_key_blocks
//   or, checking again on every save:  build/dev/bin/qkv-learn watch causal_key_blocks

#include "causal_key_blocks.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Index causal_key_blocks(Index query_block, Index block_q, Index block_k, Index t_q, Index t_k) {
  (void)query_block;
  (void)block_q;
  (void)block_k;
  (void)t_q;
  (void)t_k;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
