// Checks exercise paged_kv_cache: blocks handed out on demand and given back, each
// sequence's keys and values intact, and decoding two interleaved sequences from one pool
// equal to full causal attention over each.

#include "paged_kv_cache.hpp"

#include <vector>

#include "qkv/attention.hpp"
#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"

using qkv::Index;
using qkv::Matrix;
using qkv::exercises::PagedKvCache;
using qkv::testing::equals;
using qkv::testing::is_close;

namespace {

Matrix row_of(float value, Index width = 2) { return Matrix::Constant(1, width, value); }

// Appends token `value` (key value, value -value) to a sequence.
void push(PagedKvCache& cache, Index sequence, float value) {
  cache.append(sequence, row_of(value), row_of(-value));
}

// The keys a sequence should hold: one constant row per appended value.
Matrix rows_of(const std::vector<float>& values) {
  Matrix out(static_cast<Index>(values.size()), 2);
  for (std::size_t i = 0; i < values.size(); ++i)
    out.row(static_cast<Index>(i)) = row_of(values[i]);
  return out;
}

// One decode step for `sequence`: append the token's key and value, attend its query to
// the sequence's cached keys and values, head by head, then W_o.
Matrix decode_paged(PagedKvCache& cache, Index sequence, const Matrix& x_t,
                    const qkv::MultiHeadWeights& w) {
  cache.append(sequence, x_t * w.w_k, x_t * w.w_v);
  const auto q = qkv::split_heads(x_t * w.w_q, w.heads);
  const auto k = qkv::split_heads(cache.keys(sequence), w.heads);
  const auto v = qkv::split_heads(cache.values(sequence), w.heads);
  std::vector<Matrix> heads;
  for (std::size_t i = 0; i < q.size(); ++i) heads.push_back(qkv::attention(q[i], k[i], v[i]));
  return qkv::merge_heads(heads) * w.w_o;
}

}  // namespace

TEST_CASE("paged cache: blocks on demand, smallest free block first", "[paged_kv_cache]") {
  PagedKvCache cache(4, 2, 2);
  const Index a = cache.add_sequence(), b = cache.add_sequence();
  for (float t : {10.0f, 11.0f, 12.0f}) push(cache, a, t);  // blocks 0 and 1
  for (float t : {20.0f, 21.0f}) push(cache, b, t);         // block 2
  CHECK(cache.block_table(a) == std::vector<Index>{0, 1});
  CHECK(cache.block_table(b) == std::vector<Index>{2});
  CHECK(cache.free_blocks() == 1);
  push(cache, a, 13);  // fills block 1: no new block
  CHECK(cache.block_table(a) == std::vector<Index>{0, 1});
  push(cache, a, 14);  // needs a block: 3
  CHECK(cache.block_table(a) == std::vector<Index>{0, 1, 3});
  CHECK(cache.free_blocks() == 0);
  CHECK(cache.length(a) == 5);
  CHECK_THAT(cache.keys(a), equals(Matrix(rows_of({10, 11, 12, 13, 14}))));
  CHECK_THAT(cache.values(a), equals(Matrix(-rows_of({10, 11, 12, 13, 14}))));
  CHECK_THAT(cache.keys(b), equals(Matrix(rows_of({20, 21}))));
}

TEST_CASE("paged cache: a full pool refuses a new block and changes nothing", "[paged_kv_cache]") {
  PagedKvCache cache(2, 2, 2);
  const Index a = cache.add_sequence(), b = cache.add_sequence();
  for (float t : {1.0f, 2.0f, 3.0f}) push(cache, a, t);
  CHECK_THROWS_AS(push(cache, b, 7), qkv::ValueError);  // both blocks belong to a
  CHECK(cache.length(b) == 0);
  CHECK(cache.block_table(b) == std::vector<Index>{});
  push(cache, a, 4);  // still fits in a's second block
  CHECK_THROWS_AS(push(cache, a, 5), qkv::ValueError);
  CHECK(cache.length(a) == 4);
  CHECK_THAT(cache.keys(a), equals(Matrix(rows_of({1, 2, 3, 4}))));
}

TEST_CASE("paged cache: freed blocks are reused, without stale rows", "[paged_kv_cache]") {
  PagedKvCache cache(3, 2, 2);
  const Index a = cache.add_sequence(), b = cache.add_sequence();
  for (float t : {1.0f, 2.0f, 3.0f}) push(cache, a, t);  // blocks 0, 1
  push(cache, b, 9);                                     // block 2
  cache.free_sequence(a);
  CHECK(cache.free_blocks() == 2);
  CHECK(cache.length(a) == 0);
  CHECK(cache.keys(a).rows() == 0);
  const Index c = cache.add_sequence();
  push(cache, c, 5);
  CHECK(cache.block_table(c) == std::vector<Index>{0});
  push(cache, a, 6);  // a starts again, in block 1
  CHECK(cache.block_table(a) == std::vector<Index>{1});
  CHECK_THAT(cache.keys(c), equals(Matrix(rows_of({5}))));
  CHECK_THAT(cache.keys(a), equals(Matrix(rows_of({6}))));
  CHECK_THAT(cache.keys(b), equals(Matrix(rows_of({9}))));
  push(cache, a, 7);                                    // fills block 1
  CHECK_THROWS_AS(push(cache, a, 8), qkv::ValueError);  // blocks 0, 1, 2 are all taken
  cache.free_sequence(b);
  push(cache, a, 8);
  CHECK(cache.block_table(a) == std::vector<Index>{1, 2});
  CHECK_THAT(cache.keys(a), equals(Matrix(rows_of({6, 7, 8}))));
}

TEST_CASE("paged cache: two sequences decoded in turns from one pool", "[paged_kv_cache]") {
  qkv::Random random(80);
  const qkv::MultiHeadWeights w = qkv::random_multi_head_weights(random, 16, 4);
  const Matrix first = qkv::random_normal(random, 9, 16);
  const Matrix second = qkv::random_normal(random, 6, 16);
  PagedKvCache cache(6, 3, 16);  // 18 rows for 15 tokens
  const Index a = cache.add_sequence(), b = cache.add_sequence();
  Matrix out_a(9, 16), out_b(6, 16);
  for (Index t = 0; t < 9; ++t) {
    out_a.row(t) = decode_paged(cache, a, first.row(t), w);
    if (t < 6) out_b.row(t) = decode_paged(cache, b, second.row(t), w);
  }
  // Taken in turns, the blocks interleave: a 0, 2, 4 and b 1, 3.
  CHECK(cache.block_table(a) == std::vector<Index>{0, 2, 4});
  CHECK(cache.block_table(b) == std::vector<Index>{1, 3});
  CHECK_THAT(out_a, is_close(qkv::multi_head_attention(first, w, qkv::causal_mask(9)).output));
  CHECK_THAT(out_b, is_close(qkv::multi_head_attention(second, w, qkv::causal_mask(6)).output));
  CHECK_THAT(cache.keys(a), is_close(Matrix(first * w.w_k)));
  CHECK_THAT(cache.values(b), is_close(Matrix(second * w.w_v)));
}

TEST_CASE("paged cache: unknown sequences and wrong shapes", "[paged_kv_cache]") {
  PagedKvCache cache(2, 2, 2);
  const Index a = cache.add_sequence();
  CHECK_THROWS_AS(cache.append(1, row_of(1), row_of(1)), qkv::ValueError);
  CHECK_THROWS_AS(cache.append(-1, row_of(1), row_of(1)), qkv::ValueError);
  CHECK_THROWS_AS(cache.keys(5), qkv::ValueError);
  CHECK_THROWS_AS(cache.free_sequence(2), qkv::ValueError);
  CHECK_THROWS_AS(cache.append(a, row_of(1, 3), row_of(1, 3)), qkv::ShapeError);
  CHECK_THROWS_AS(cache.append(a, Matrix::Zero(2, 2), Matrix::Zero(2, 2)), qkv::ShapeError);
  CHECK(cache.length(a) == 0);
  CHECK(cache.free_blocks() == 2);
}
