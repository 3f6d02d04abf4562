// Exercise paged_kv_cache (chapter 06): one pool of cache blocks shared by many sequences.
//
// The chapter's KvCache reserves room for a whole context up front. A server generating for
// many users at once cannot afford that: most sequences end long before the maximum. A
// paged cache hands out blocks of block_size rows on demand. With block_size 2, sequence A
// appending 3 tokens takes blocks 0 and 1, then sequence B takes block 2:
//
//     pool block:   0       1       2       3
//     holds:        A0 A1   A2 --   B0 B1   free        A's table: 0, 1   B's table: 2
//
// A's 4th token goes into block 1 (not full yet); its 5th needs a new block: 3.
//
// TODO: 1. append: check the id (block_table(sequence) does) and that both rows are
//          1 x width() (qkv::require_shapes: ShapeError). If the sequence's length is a
//          multiple of block_size_, it needs a new block: throw qkv::ValueError if free_ is
//          empty, else move *free_.begin() from free_ to the end of its table. Write the
//          rows into pool row table[p / block_size_] * block_size_ + p % block_size_ for
//          p = its length, then count the token.
//       2. keys, values: gather the sequence's rows, position by position, in that order.
//       3. free_sequence: put its blocks back into free_, clear its table, length 0.
// Check with:  build/dev/bin/qkv-learn check paged_kv_cache
//   or, checking again on every save:  build/dev/bin/qkv-learn watch paged_kv_cache

#include "paged_kv_cache.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

void PagedKvCache::append(Index sequence, const Matrix& k_row, const Matrix& v_row) {
  (void)sequence;
  (void)k_row;
  (void)v_row;
  QKV_NOT_DONE();
}

Matrix PagedKvCache::keys(Index sequence) const {
  (void)sequence;
  QKV_NOT_DONE();
}

Matrix PagedKvCache::values(Index sequence) const {
  (void)sequence;
  QKV_NOT_DONE();
}

void PagedKvCache::free_sequence(Index sequence) {
  (void)sequence;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
