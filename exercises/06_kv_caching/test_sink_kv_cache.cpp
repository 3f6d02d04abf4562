// Checks exercise sink_kv_cache: decoding with it equals attention under the mask "the
// first `sinks` tokens and the last `window`", including after the ring wraps many times.

#include "sink_kv_cache.hpp"

#include <vector>

#include "qkv/attention.hpp"
#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"

using qkv::Index;
using qkv::Matrix;
using qkv::exercises::SinkKvCache;
using qkv::testing::equals;
using qkv::testing::is_close;

namespace {

// Token i sees token j when j <= i and j is a sink or among the last `window`.
qkv::Mask sink_mask(Index t, Index sinks, Index window) {
  qkv::Mask mask(t, t);
  for (Index i = 0; i < t; ++i)
    for (Index j = 0; j < t; ++j) mask(i, j) = j <= i && (j < sinks || j > i - window);
  return mask;
}

// Decodes every row of x one token at a time: project, append, attend the one query to
// the cache's keys and values head by head, mix with W_o.
Matrix decode(const Matrix& x, const qkv::MultiHeadWeights& w, SinkKvCache& cache) {
  Matrix out(x.rows(), w.d_model());
  for (Index t = 0; t < x.rows(); ++t) {
    const Matrix x_t = x.row(t);
    cache.append(x_t * w.w_k, x_t * w.w_v);
    const auto q = qkv::split_heads(x_t * w.w_q, w.heads);
    const auto k = qkv::split_heads(cache.keys(), w.heads);
    const auto v = qkv::split_heads(cache.values(), w.heads);
    std::vector<Matrix> heads;
    for (std::size_t i = 0; i < q.size(); ++i) heads.push_back(qkv::attention(q[i], k[i], v[i]));
    out.row(t) = qkv::merge_heads(heads) * w.w_o;
  }
  return out;
}

std::vector<Index> range(Index from, Index to) {
  std::vector<Index> out;
  for (Index p = from; p < to; ++p) out.push_back(p);
  return out;
}

}  // namespace

TEST_CASE("sink cache: the sinks stay, the ring keeps the last window", "[sink_kv_cache]") {
  SinkKvCache cache(2, 3, 2);
  for (Index p = 0; p < 7; ++p) {
    const Matrix row = Matrix::Constant(1, 2, static_cast<float>(p));
    cache.append(row, -row);
  }
  CHECK(cache.seen() == 7);
  CHECK(cache.size() == 5);
  CHECK(cache.positions() == std::vector<Index>{0, 1, 4, 5, 6});
  CHECK_THAT(cache.keys(), equals(qkv::matrix_from_rows({{0, 0}, {1, 1}, {4, 4}, {5, 5}, {6, 6}})));
  CHECK_THAT(cache.values(),
             equals(qkv::matrix_from_rows({{0, 0}, {-1, -1}, {-4, -4}, {-5, -5}, {-6, -6}})));
  for (Index p = 7; p < 12; ++p) {
    const Matrix row = Matrix::Constant(1, 2, static_cast<float>(p));
    cache.append(row, -row);
  }
  CHECK(cache.positions() == std::vector<Index>{0, 1, 9, 10, 11});
  CHECK_THAT(cache.keys(),
             equals(qkv::matrix_from_rows({{0, 0}, {1, 1}, {9, 9}, {10, 10}, {11, 11}})));
}

TEST_CASE("sink cache: before it is full it holds everything, in order", "[sink_kv_cache]") {
  SinkKvCache cache(3, 4, 1);
  CHECK(cache.positions() == std::vector<Index>{});
  CHECK(cache.keys().rows() == 0);
  for (Index p = 0; p < 7; ++p) {
    cache.append(Matrix::Constant(1, 1, static_cast<float>(p)), Matrix::Zero(1, 1));
    CHECK(cache.positions() == range(0, p + 1));
    CHECK(cache.keys()(p, 0) == static_cast<float>(p));
  }
}

TEST_CASE("decoding with a sink cache equals attention to sinks plus a window", "[sink_kv_cache]") {
  qkv::Random random(70);
  const qkv::MultiHeadWeights w = qkv::random_multi_head_weights(random, 16, 4);
  for (const auto& [sinks, window] :
       std::vector<std::pair<Index, Index>>{{2, 3}, {1, 1}, {4, 2}, {0, 3}, {3, 20}}) {
    const Index t = 17;  // the small rings wrap several times
    const Matrix x = qkv::random_normal(random, t, 16);
    INFO("sinks " << sinks << ", window " << window);
    SinkKvCache cache(sinks, window, 16);
    CHECK_THAT(decode(x, w, cache),
               is_close(qkv::multi_head_attention(x, w, sink_mask(t, sinks, window)).output));
  }
}

TEST_CASE("sink cache: no sinks is the chapter's window", "[sink_kv_cache]") {
  qkv::Random random(71);
  const qkv::MultiHeadWeights w = qkv::random_multi_head_weights(random, 8, 2);
  const Matrix x = qkv::random_normal(random, 10, 8);
  SinkKvCache cache(0, 3, 8);
  CHECK_THAT(decode(x, w, cache),
             is_close(qkv::multi_head_attention(x, w, qkv::window_mask(10, 3)).output));
  CHECK(cache.positions() == std::vector<Index>{7, 8, 9});
}

TEST_CASE("sink cache: reset starts the next sequence at position 0", "[sink_kv_cache]") {
  qkv::Random random(72);
  const qkv::MultiHeadWeights w = qkv::random_multi_head_weights(random, 8, 2);
  const Matrix first = qkv::random_normal(random, 9, 8);  // stops mid-ring
  const Matrix second = qkv::random_normal(random, 12, 8);
  SinkKvCache cache(2, 4, 8);
  decode(first, w, cache);
  cache.reset();
  CHECK(cache.seen() == 0);
  CHECK(cache.positions() == std::vector<Index>{});
  CHECK_THAT(decode(second, w, cache),
             is_close(qkv::multi_head_attention(second, w, sink_mask(12, 2, 4)).output));
}

TEST_CASE("sink cache: one key and one value of the right width", "[sink_kv_cache]") {
  SinkKvCache cache(1, 2, 4);
  CHECK_THROWS_AS(cache.append(Matrix(1, 3), Matrix(1, 3)), qkv::ShapeError);
  CHECK_THROWS_AS(cache.append(Matrix(2, 4), Matrix(2, 4)), qkv::ShapeError);
  CHECK_THROWS_AS(cache.append(Matrix::Zero(1, 4), Matrix(1, 5)), qkv::ShapeError);
  CHECK(cache.seen() == 0);
  CHECK_THROWS_AS(SinkKvCache(-1, 2, 4), qkv::ValueError);
  CHECK_THROWS_AS(SinkKvCache(1, 0, 4), qkv::ValueError);
}
