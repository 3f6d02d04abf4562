// grouped_query.hpp's grouped_decode_attention, the decode kernel: by hand, against a plain
// reference written here (per query head, softmax over its own key/value head, in double,
// causal among the new rows), threads against one thread (bit for bit when the work is split
// over groups only, to float rounding when key ranges are merged), and its errors.

#include <cmath>
#include <string>
#include <vector>

#include "qkv/catch.hpp"
#include "qkv/error.hpp"
#include "qkv/expect.hpp"
#include "qkv/grouped_query.hpp"
#include "qkv/random.hpp"

namespace qkv::testing {

namespace {

// The definition, loop by loop: query head i of new row t (position N - T_new + t) against
// keys 0 .. N - T_new + t of key/value head i / (heads / kv_heads), softmax in double.
Matrix reference_decode(const Matrix& q, const Matrix& k, const Matrix& v, Index heads,
                        Index kv_heads) {
  const Index d = k.cols() / kv_heads, n = k.rows(), t_new = q.rows();
  Matrix out(t_new, heads * d);
  for (Index head = 0; head < heads; ++head) {
    const Index kv = head / (heads / kv_heads);
    for (Index t = 0; t < t_new; ++t) {
      const Index visible = n - t_new + t + 1;
      std::vector<double> scores(static_cast<std::size_t>(visible));
      double max = -INFINITY;
      for (Index j = 0; j < visible; ++j) {
        double dot = 0;
        for (Index c = 0; c < d; ++c) dot += double{q(t, head * d + c)} * k(j, kv * d + c);
        scores[static_cast<std::size_t>(j)] = dot / std::sqrt(static_cast<double>(d));
        max = std::max(max, scores[static_cast<std::size_t>(j)]);
      }
      double sum = 0;
      for (double& s : scores) sum += (s = std::exp(s - max));
      for (Index c = 0; c < d; ++c) {
        double o = 0;
        for (Index j = 0; j < visible; ++j)
          o += scores[static_cast<std::size_t>(j)] * v(j, kv * d + c);
        out(t, head * d + c) = static_cast<float>(o / sum);
      }
    }
  }
  return out;
}

struct Inputs {
  Matrix q, k, v;
};

Inputs random_inputs(Index t_new, Index n, Index heads, Index kv_heads, Index d,
                     unsigned seed = 7) {
  qkv::Random random(seed);
  return {qkv::random_normal(random, t_new, heads * d), qkv::random_normal(random, n, kv_heads * d),
          qkv::random_normal(random, n, kv_heads * d)};
}

}  // namespace

TEST_CASE("grouped_decode_attention: two query heads sharing one key/value head, by hand",
          "[grouped_decode]") {
  // d_head 1. Head 0's query is 1: scores 0 and ln 3, weights 1/4 and 3/4, output
  // 4/4 + 3 * 8/4 = 7. Head 1's query is 0: equal weights, output 6.
  const Matrix q = qkv::matrix_from_rows({{1, 0}});
  const Matrix k = qkv::matrix_from_rows({{0}, {std::log(3.0F)}});
  const Matrix v = qkv::matrix_from_rows({{4}, {8}});
  CHECK_THAT(qkv::grouped_decode_attention(q, k, v, 2, 1),
             is_close(qkv::matrix_from_rows({{7, 6}}), 1e-6));
  // Two new rows: the first (position 0) sees key 0 only, so both its heads give 4.
  const Matrix q2 = qkv::matrix_from_rows({{1, 0}, {1, 0}});
  CHECK_THAT(qkv::grouped_decode_attention(q2, k, v, 2, 1),
             is_close(qkv::matrix_from_rows({{4, 4}, {7, 6}}), 1e-6));
}

TEST_CASE("grouped_decode_attention equals the per-head reference", "[grouped_decode]") {
  struct Shape {
    Index t_new, n, heads, kv_heads, d;
  };
  // MHA, GQA and MQA; one new row and several (causal among them); N from 1; chunks of
  // keys: 8 heads x 40 rows = 320 queries per group take 256 keys per chunk, so N = 530 has
  // three chunks and its hidden keys (491 .. 529) cross a chunk boundary.
  const std::vector<Shape> shapes{{1, 1, 1, 1, 1},     {1, 5, 4, 4, 3},     {1, 300, 8, 2, 16},
                                  {3, 300, 8, 1, 16},  {5, 5, 6, 3, 4},     {1, 700, 8, 8, 8},
                                  {40, 530, 8, 1, 4},  {40, 530, 8, 2, 4},  {1, 3000, 32, 1, 8},
                                  {2, 2100, 4, 2, 64}, {7, 1000, 12, 4, 5}, {1, 64, 8, 4, 128}};
  for (const Shape& s : shapes) {
    CAPTURE(s.t_new, s.n, s.heads, s.kv_heads, s.d);
    const auto [q, k, v] = random_inputs(s.t_new, s.n, s.heads, s.kv_heads, s.d);
    const Matrix expected = reference_decode(q, k, v, s.heads, s.kv_heads);
    for (int threads : {1, 2, 3}) {
      CAPTURE(threads);
      // float against double: the products and sums round at ~1e-7 relative per term.
      CHECK_THAT(qkv::grouped_decode_attention(q, k, v, s.heads, s.kv_heads, threads),
                 is_close(expected, 1e-4, 1e-5));
    }
  }
}

TEST_CASE("grouped_decode_attention: head i reads kv head i / (heads / kv_heads)",
          "[grouped_decode]") {
  // Only kv head 1's values are non-zero: with 8 heads in 4 groups, query heads 2 and 3
  // read it (an interleaved i % kv_heads mapping would give heads 1 and 5 instead).
  const Index d = 2;
  auto [q, k, v] = random_inputs(1, 6, 8, 4, d);
  v.setZero();
  v.middleCols(1 * d, d).setOnes();
  const Matrix out = qkv::grouped_decode_attention(q, k, v, 8, 4);
  Matrix expected = Matrix::Zero(1, 8 * d);
  expected.middleCols(2 * d, 2 * d).setOnes();
  CHECK_THAT(out, is_close(expected, 1e-6, 1e-6));
}

TEST_CASE("grouped_decode_attention: threads split groups bit for bit, key ranges to rounding",
          "[grouped_decode]") {
  SECTION("as many groups as threads or more: each group computed whole, the same way") {
    const auto [q, k, v] = random_inputs(3, 2500, 12, 6, 32);
    const Matrix one = qkv::grouped_decode_attention(q, k, v, 12, 6, 1);
    for (int threads : {2, 3, 6})
      CHECK_THAT(qkv::grouped_decode_attention(q, k, v, 12, 6, threads), equals(one));
  }
  SECTION("fewer groups than threads: split-KV, states merged") {
    // MQA with 2 and 3 threads splits the keys into 2 and 3 ranges; 2 groups on 3 threads
    // into 3 ranges per group. The merge rescales each range's sum and output by
    // e^(m_p - M), one rounding more per term than the single pass: within a few float
    // epsilons (1.2e-7) of it.
    for (const Index kv_heads : {Index{1}, Index{2}}) {
      const auto [q, k, v] = random_inputs(4, 5000, 8, kv_heads, 64, 11);
      const Matrix one = qkv::grouped_decode_attention(q, k, v, 8, kv_heads, 1);
      for (int threads : {2, 3}) {
        CAPTURE(kv_heads, threads);
        CHECK_THAT(qkv::grouped_decode_attention(q, k, v, 8, kv_heads, threads),
                   is_close(one, 1e-6, 1e-7));
      }
    }
  }
  SECTION("a key range that some new rows may not see at all") {
    // N = T_new = 4, one group, 3 threads: ranges [0, 1), [1, 2), [2, 4); new row 0 sees key
    // 0 only, so the other two ranges must add nothing to it.
    const auto [q, k, v] = random_inputs(4, 4, 2, 1, 3);
    const Matrix expected = reference_decode(q, k, v, 2, 1);
    CHECK_THAT(qkv::grouped_decode_attention(q, k, v, 2, 1, 3), is_close(expected, 1e-5, 1e-6));
    CHECK_THAT(qkv::grouped_decode_attention(q, k, v, 2, 1, 3).row(0),
               is_close(v.row(0).replicate(1, 2), 1e-6, 1e-7));
  }
}

TEST_CASE("grouped_decode_attention: a cache viewed in a larger buffer, no new rows",
          "[grouped_decode]") {
  // A KV cache holds capacity rows and passes its first N: columns with a stride.
  const auto [q, k, v] = random_inputs(2, 900, 4, 2, 8);
  const Matrix copy_k = k.topRows(600), copy_v = v.topRows(600);
  CHECK_THAT(qkv::grouped_decode_attention(q, k.topRows(600), v.topRows(600), 4, 2),
             equals(qkv::grouped_decode_attention(q, copy_k, copy_v, 4, 2)));
  const Matrix none = qkv::grouped_decode_attention(Matrix(0, 32), k, v, 4, 2);
  CHECK(none.rows() == 0);
  CHECK(none.cols() == 32);
}

TEST_CASE("grouped_decode_attention: bad input", "[grouped_decode]") {
  const auto [q, k, v] = random_inputs(2, 5, 4, 2, 3);
  CHECK_THROWS_AS(qkv::grouped_decode_attention(q, k, v, 4, 3), qkv::ValueError);
  CHECK_THROWS_WITH(qkv::grouped_decode_attention(q, k, v, 4, 3),
                    contains("grouped_decode_attention: kv_heads must divide heads") &&
                        contains("heads 4, kv_heads 3"));
  CHECK_THROWS_WITH(qkv::grouped_decode_attention(q, k, v, 0, 0),
                    contains("heads and kv_heads must be at least 1"));
  CHECK_THROWS_WITH(qkv::grouped_decode_attention(q, k, v, 4, 2, 0),
                    contains("threads must be at least 1 (got 0)"));
  CHECK_THROWS_AS(qkv::grouped_decode_attention(q, k, v, 2, 2), qkv::ShapeError);
  CHECK_THROWS_WITH(qkv::grouped_decode_attention(q, k, v, 2, 2),
                    contains("q is 2x12, keys is 5x6"));
  CHECK_THROWS_WITH(qkv::grouped_decode_attention(q, k, v.leftCols(4), 4, 2),
                    contains("keys is 5x6, values is 5x4"));
  CHECK_THROWS_WITH(qkv::grouped_decode_attention(q, k, v.topRows(4), 4, 2),
                    contains("keys is 5x6, values is 4x6"));
  CHECK_THROWS_WITH(qkv::grouped_decode_attention(q, k.leftCols(5), v.leftCols(5), 4, 2),
                    contains("kv_heads = 2 heads of d_head >= 1") && contains("keys is 5x5"));
  CHECK_THROWS_AS(qkv::grouped_decode_attention(q, Matrix(0, 6), Matrix(0, 6), 4, 2),
                  qkv::ValueError);
  CHECK_THROWS_WITH(qkv::grouped_decode_attention(q, Matrix(0, 6), Matrix(0, 6), 4, 2),
                    contains("the cache is empty (N = 0)"));
  CHECK_THROWS_WITH(qkv::grouped_decode_attention(q, k.topRows(1), v.topRows(1), 4, 2),
                    contains("T_new = 2 new rows but only N = 1 cached positions"));
}

}  // namespace qkv::testing
