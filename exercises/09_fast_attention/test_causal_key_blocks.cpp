// Checks exercise causal_key_blocks against the mask itself: a key block is needed exactly
// when some entry of qkv::causal_mask(T_q, T_k) inside its tile is true, for every tile of
// many sizes, block sizes that do not divide T among them.

#include "causal_key_blocks.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <utility>

#include "qkv/catch.hpp"
#include "qkv/error.hpp"
#include "qkv/masking.hpp"

using qkv::Index;
using qkv::exercises::causal_key_blocks;

namespace {

// Counted from the mask: 1 + the last key block with a visible entry in the query block's rows.
Index needed_from_mask(const qkv::Mask& mask, Index query_block, Index block_q, Index block_k) {
  const Index first = query_block * block_q;
  const Index rows = std::min(block_q, mask.rows() - first);
  Index needed = 0;
  for (Index first_key = 0; first_key < mask.cols(); first_key += block_k) {
    const Index cols = std::min(block_k, mask.cols() - first_key);
    if (mask.block(first, first_key, rows, cols).any()) needed = first_key / block_k + 1;
  }
  return needed;
}

// The tiles as rows of '#' (computed) and '.' (skipped), for a failure message.
std::string tiles(Index block_q, Index block_k, Index t_q, Index t_k) {
  std::ostringstream out;
  const qkv::Mask mask = qkv::causal_mask(t_q, t_k);
  for (Index b = 0; b * block_q < t_q; ++b) {
    const Index n = needed_from_mask(mask, b, block_q, block_k);
    out << "\n  query block " << b << ": ";
    for (Index kb = 0; kb * block_k < t_k; ++kb) out << (kb < n ? '#' : '.');
  }
  return out.str();
}

void check_all_blocks(Index block_q, Index block_k, Index t_q, Index t_k) {
  const qkv::Mask mask = qkv::causal_mask(t_q, t_k);
  for (Index b = 0; b * block_q < t_q; ++b) {
    INFO("T_q = " << t_q << ", T_k = " << t_k << ", block_q = " << block_q
                  << ", block_k = " << block_k << ", query block " << b
                  << "; the tiles the mask needs (#):" << tiles(block_q, block_k, t_q, t_k));
    CHECK(causal_key_blocks(b, block_q, block_k, t_q, t_k) ==
          needed_from_mask(mask, b, block_q, block_k));
  }
}

}  // namespace

TEST_CASE("causal_key_blocks: the chapter's example by hand", "[causal_key_blocks]") {
  // T = 10, blocks of 4 queries and 3 keys: key blocks 0-2, 3-5, 6-8, 9.
  CHECK(causal_key_blocks(0, 4, 3, 10, 10) == 2);  // query 3 sees key 3, in block 1
  CHECK(causal_key_blocks(1, 4, 3, 10, 10) == 3);  // query 7 sees key 7, in block 2
  CHECK(causal_key_blocks(2, 4, 3, 10, 10) == 4);  // queries 8 and 9: the short last block
  // Blocks that divide T: a staircase of equal steps. 8 tokens in blocks of 2: 1, 2, 3, 4.
  for (Index b = 0; b < 4; ++b) CHECK(causal_key_blocks(b, 2, 2, 8, 8) == b + 1);
  // The diagonal at a block's edge: query 2 sees key 2, the first key of block 1.
  CHECK(causal_key_blocks(0, 3, 2, 6, 6) == 2);
  CHECK(causal_key_blocks(0, 2, 2, 6, 6) == 1);
}

TEST_CASE("causal_key_blocks equals the mask for every tile", "[causal_key_blocks]") {
  for (const Index t : {1, 2, 5, 10, 17, 64})
    for (const Index block_q : {1, 2, 3, 4, 7, 16, 100})
      for (const Index block_k : {1, 2, 3, 5, 8, 64, 100}) check_all_blocks(block_q, block_k, t, t);
}

TEST_CASE("causal_key_blocks: fewer queries than keys, the queries at the end",
          "[causal_key_blocks]") {
  // A chunk of new queries after a cache (chapter 06's prefill in chunks): query i sits at
  // position T_k - T_q + i.
  CHECK(causal_key_blocks(0, 4, 4, 1, 10) == 3);  // one decoding query: every key block
  CHECK(causal_key_blocks(0, 2, 4, 3, 10) == 3);  // queries at 7 and 8: keys 0..8, blocks 0..2
  for (const auto& [t_q, t_k] :
       {std::pair<Index, Index>{1, 10}, {3, 10}, {4, 9}, {7, 20}, {16, 17}})
    for (const Index block_q : {1, 2, 3, 5})
      for (const Index block_k : {1, 3, 4, 7, 32}) check_all_blocks(block_q, block_k, t_q, t_k);
}

TEST_CASE("causal_key_blocks rejects sizes that make no blocks", "[causal_key_blocks]") {
  CHECK_THROWS_AS(causal_key_blocks(0, 0, 3, 10, 10), qkv::ValueError);
  CHECK_THROWS_AS(causal_key_blocks(0, 3, 0, 10, 10), qkv::ValueError);
  CHECK_THROWS_AS(causal_key_blocks(0, 3, 3, 0, 10), qkv::ValueError);
  CHECK_THROWS_AS(causal_key_blocks(0, 3, 3, 11, 10), qkv::ValueError);  // T_q > T_k
  CHECK_THROWS_AS(causal_key_blocks(4, 3, 3, 10, 10), qkv::ValueError);  // blocks 0..3 only
  CHECK_THROWS_AS(causal_key_blocks(-1, 3, 3, 10, 10), qkv::ValueError);
}
