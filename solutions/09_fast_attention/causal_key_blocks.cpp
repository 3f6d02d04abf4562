// Reference solution of exercise causal_key_blocks (chapter 09).

#include "causal_key_blocks.hpp"

#include <algorithm>

#include "qkv/error.hpp"

namespace qkv::exercises {

Index causal_key_blocks(Index query_block, Index block_q, Index block_k, Index t_q, Index t_k) {
  require(block_q >= 1 && block_k >= 1, "causal_key_blocks", "block sizes must be at least 1");
  require(t_q >= 1 && t_q <= t_k, "causal_key_blocks",
          "there must be at least one query and no more queries than key positions");
  const Index query_blocks = (t_q + block_q - 1) / block_q;
  require(query_block >= 0 && query_block < query_blocks, "causal_key_blocks",
          "query_block must lie in 0 .. (number of query blocks) - 1");
  // The block's last query (the last block may be short) sees the most keys.
  const Index last_query = std::min((query_block + 1) * block_q, t_q) - 1;
  const Index last_key = t_k - t_q + last_query;  // the last key it may see
  return last_key / block_k + 1;                  // the blocks 0 .. that key's block
}

}  // namespace qkv::exercises
