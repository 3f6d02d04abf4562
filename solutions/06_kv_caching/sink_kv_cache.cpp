// Reference solution of exercise sink_kv_cache (chapter 06).

#include "sink_kv_cache.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

namespace {
// The storage row of the token at `position`: the sinks stay put, later tokens go round
// the ring.
Index row_of(Index position, Index sinks, Index window) {
  return position < sinks ? position : sinks + (position - sinks) % window;
}
}  // namespace

void SinkKvCache::append(const Matrix& k_row, const Matrix& v_row) {
  require_shapes(
      k_row.rows() == 1 && v_row.rows() == 1 && k_row.cols() == width() && v_row.cols() == width(),
      "SinkKvCache::append", "one key and one value of width numbers", "key", k_row, "value",
      v_row);
  const Index row = row_of(seen_, sinks_, window_);
  keys_.row(row) = k_row;
  values_.row(row) = v_row;
  ++seen_;
}

std::vector<Index> SinkKvCache::positions() const {
  std::vector<Index> held;
  if (seen_ <= sinks_ + window_) {
    for (Index p = 0; p < seen_; ++p) held.push_back(p);
    return held;
  }
  for (Index p = 0; p < sinks_; ++p) held.push_back(p);
  for (Index p = seen_ - window_; p < seen_; ++p) held.push_back(p);
  return held;
}

Matrix SinkKvCache::keys() const {
  const auto held = positions();
  Matrix out(static_cast<Index>(held.size()), width());
  for (std::size_t i = 0; i < held.size(); ++i)
    out.row(static_cast<Index>(i)) = keys_.row(row_of(held[i], sinks_, window_));
  return out;
}

Matrix SinkKvCache::values() const {
  const auto held = positions();
  Matrix out(static_cast<Index>(held.size()), width());
  for (std::size_t i = 0; i < held.size(); ++i)
    out.row(static_cast<Index>(i)) = values_.row(row_of(held[i], sinks_, window_));
  return out;
}

void SinkKvCache::reset() { seen_ = 0; }

}  // namespace qkv::exercises
