// Reference solution of exercise paged_kv_cache (chapter 06).

#include "paged_kv_cache.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

namespace {
// The pool row of position p of a sequence with block table `table`.
Index pool_row(const std::vector<Index>& table, Index p, Index block_size) {
  return table[static_cast<std::size_t>(p / block_size)] * block_size + p % block_size;
}
}  // namespace

void PagedKvCache::append(Index sequence, const Matrix& k_row, const Matrix& v_row) {
  const std::size_t s = checked(sequence);
  require_shapes(
      k_row.rows() == 1 && v_row.rows() == 1 && k_row.cols() == width() && v_row.cols() == width(),
      "PagedKvCache::append", "one key and one value of width numbers", "key", k_row, "value",
      v_row);
  const Index p = lengths_[s];
  if (p % block_size_ == 0) {  // the last block is full, or there is none
    require(!free_.empty(), "PagedKvCache::append", "no free block left in the pool");
    tables_[s].push_back(*free_.begin());
    free_.erase(free_.begin());
  }
  const Index row = pool_row(tables_[s], p, block_size_);
  keys_.row(row) = k_row;
  values_.row(row) = v_row;
  ++lengths_[s];
}

Matrix PagedKvCache::keys(Index sequence) const {
  const std::size_t s = checked(sequence);
  Matrix out(lengths_[s], width());
  for (Index p = 0; p < lengths_[s]; ++p)
    out.row(p) = keys_.row(pool_row(tables_[s], p, block_size_));
  return out;
}

Matrix PagedKvCache::values(Index sequence) const {
  const std::size_t s = checked(sequence);
  Matrix out(lengths_[s], width());
  for (Index p = 0; p < lengths_[s]; ++p)
    out.row(p) = values_.row(pool_row(tables_[s], p, block_size_));
  return out;
}

void PagedKvCache::free_sequence(Index sequence) {
  const std::size_t s = checked(sequence);
  for (Index block : tables_[s]) free_.insert(block);
  tables_[s].clear();
  lengths_[s] = 0;
}

}  // namespace qkv::exercises
