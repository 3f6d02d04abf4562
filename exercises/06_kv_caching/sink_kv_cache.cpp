// Exercise sink_kv_cache (chapter 06): a window cache that never forgets its first tokens.
//
// The chapter's WindowKvCache keeps the last w tokens in a ring of w rows. Here the first
// `sinks` tokens stay forever in rows 0..sinks-1 and the ring is rows sinks..sinks+w-1.
// With sinks = 2 and window = 3, after 7 tokens (positions 0..6):
//
//     row:        0  1 | 2  3  4        positions() = 0, 1, 4, 5, 6
//     position:   0  1 | 5  6  4        (token p >= 2 lives in row 2 + (p - 2) mod 3)
//
// keys() and values() return the rows in the order of positions(), oldest first.
//
// TODO: 1. append: check both rows are 1 x width() (qkv::require_shapes, ShapeError), write
//          them into the row for position seen_, then count the token (++seen_).
//       2. positions: 0..seen_-1 while everything fits, else 0..sinks_-1 followed by the
//          last window_ positions.
//       3. keys, values: gather the rows of positions() in that order (a helper that maps
//          a position to its row is worth writing once).
//       4. reset: forget everything. A reset that leaves seen_ alone is the classic cache
//          bug: the next sequence starts in the middle of the ring with stale keys.
// Check with:  build/dev/bin/qkv-learn check sink_kv_cache
//   or, checking again on every save:  build/dev/bin/qkv-learn watch sink_kv_cache

#include "sink_kv_cache.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

void SinkKvCache::append(const Matrix& k_row, const Matrix& v_row) {
  (void)k_row;
  (void)v_row;
  QKV_NOT_DONE();
}

std::vector<Index> SinkKvCache::positions() const { QKV_NOT_DONE(); }

Matrix SinkKvCache::keys() const { QKV_NOT_DONE(); }

Matrix SinkKvCache::values() const { QKV_NOT_DONE(); }

void SinkKvCache::reset() { QKV_NOT_DONE(); }

}  // namespace qkv::exercises
