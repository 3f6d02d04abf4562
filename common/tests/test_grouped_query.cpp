// grouped_query.hpp, grouped-query attention: against PyTorch (golden data from
// data/grouped_query_golden.py, keys and values expanded with repeat_interleave as Hugging
// Face's Llama does), by hand, and the invariants: kv_heads = h is chapter 05's multi-head
// attention bit for bit, the cached grouped decode equals full causal grouped attention,
// grouped_decode_attention equals the per-head core, and a stack of windowed layers reaches
// exactly layers x (window - 1) positions.

#include "qkv/grouped_query.hpp"

#include <string>
#include <vector>

#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/golden.hpp"
#include "qkv/kv_cache.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"
#include "qkv/rope.hpp"

namespace qkv::testing {

namespace {

GroupedWeights as_grouped(const qkv::MultiHeadWeights& w) {
  return {w.w_q, w.w_k, w.w_v, w.w_o, w.heads, w.heads};
}

}  // namespace

TEST_CASE("grouped-query attention matches PyTorch's repeat_interleave", "[grouped][golden]") {
  const auto golden = qkv::testing::load_json(QKV_TEST_DATA_DIR "/grouped_query_golden.json");
  REQUIRE(golden["cases"].size() == 12);
  for (const auto& c : golden["cases"]) {
    INFO("case " << c["name"].get<std::string>());
    GroupedWeights w{matrix_from_json(c["w_q"]), matrix_from_json(c["w_k"]),
                     matrix_from_json(c["w_v"]), matrix_from_json(c["w_o"]),
                     c["heads"].get<Index>(),    c["kv_heads"].get<Index>()};
    REQUIRE(w.d_head() == c["d_head"].get<Index>());
    const Matrix x = matrix_from_json(c["x"]);
    const Index window = c["window"].get<Index>(), t = x.rows();
    const qkv::Mask mask = window > 0 ? qkv::window_mask(t, window) : qkv::causal_mask(t);
    const Matrix expected = matrix_from_json(c["output"]);
    check_matrix_close(qkv::grouped_query_attention(x, w, mask).output, expected, 1e-5, 1e-6,
                       "grouped_query_attention");
    if (window == 0) {  // the same rows decoded one token at a time from a grouped cache
      qkv::KvCache cache(t, w.kv_heads * w.d_head());
      Matrix decoded(t, w.d_model());
      for (Index i = 0; i < t; ++i) decoded.row(i) = qkv::grouped_decode_step(x.row(i), w, cache);
      check_matrix_close(decoded, expected, 1e-5, 1e-6, "grouped_decode_step");
    }
  }
}

TEST_CASE("kv_heads = h is chapter 05's multi-head attention, bit for bit", "[grouped]") {
  // Both call scaled_dot_product_attention() on the same columns, in the same order, and
  // the same products X W and concat W_o: not one rounding differs.
  qkv::Random random(805);
  for (Index heads : {1, 2, 4}) {
    INFO("heads " << heads);
    const qkv::MultiHeadWeights mh = qkv::random_multi_head_weights(random, 16, heads);
    const Matrix x = qkv::random_normal(random, 7, 16);
    const qkv::Mask causal = qkv::causal_mask(7);
    const qkv::MultiHeadResult expected = qkv::multi_head_attention(x, mh, causal);
    const qkv::GroupedResult grouped = qkv::grouped_query_attention(x, as_grouped(mh), causal);
    CHECK_THAT(grouped.output, equals(expected.output));
    CHECK_THAT(grouped.concat, equals(expected.concat));
    for (std::size_t i = 0; i < expected.weights.size(); ++i)
      CHECK_THAT(grouped.weights[i], equals(expected.weights[i]));
    // The uptraining conversion with nothing to pool is the identity, to the bit.
    const GroupedWeights pooled = qkv::mean_pool_kv_heads(mh, heads);
    CHECK_THAT(pooled.w_k, equals(mh.w_k));
    CHECK_THAT(pooled.w_v, equals(mh.w_v));
    CHECK_THAT(qkv::grouped_query_attention(x, pooled).output,
               equals(qkv::multi_head_attention(x, mh).output));
  }
}

TEST_CASE("query head i reads key/value head i / (h / kv_heads)", "[grouped]") {
  std::vector<Index> eight_over_two, eight_over_four, eight_over_one;
  for (Index i = 0; i < 8; ++i) {
    eight_over_two.push_back(qkv::kv_head_of(i, 8, 2));
    eight_over_four.push_back(qkv::kv_head_of(i, 8, 4));
    eight_over_one.push_back(qkv::kv_head_of(i, 8, 1));
  }
  // Consecutive heads share (not interleaved: i mod 2 would be 0, 1, 0, 1, ...).
  CHECK(eight_over_two == std::vector<Index>{0, 0, 0, 0, 1, 1, 1, 1});
  CHECK(eight_over_four == std::vector<Index>{0, 0, 1, 1, 2, 2, 3, 3});
  CHECK(eight_over_one == std::vector<Index>(8, 0));
  CHECK(qkv::kv_head_of(70, 71, 1) == 0);  // Falcon-7B's multi-query layout
  CHECK_THROWS_WITH(qkv::kv_head_of(0, 8, 3), contains("kv_heads = 3") && contains("heads = 8"));
  CHECK_THROWS_AS(qkv::kv_head_of(8, 8, 2), qkv::ValueError);
  CHECK_THROWS_AS(qkv::kv_head_of(-1, 8, 2), qkv::ValueError);
  CHECK_THROWS_AS(qkv::kv_head_of(0, 8, 0), qkv::ValueError);
}

TEST_CASE("a query head's output is the core attention on its group's key/value head",
          "[grouped]") {
  // By hand, through chapter 03's scaled_dot_product_attention(): head 5 of 8 with 2 kv
  // heads reads kv head 1, columns d_head .. 2 d_head - 1 of K and V.
  qkv::Random random(806);
  const GroupedWeights w = qkv::random_grouped_weights(random, 12, 8, 2, 3);
  const Matrix x = qkv::random_normal(random, 5, 12);
  const qkv::Mask causal = qkv::causal_mask(5);
  const qkv::GroupedResult r = qkv::grouped_query_attention(x, w, causal);
  REQUIRE(r.heads.size() == 8);
  const Matrix q = x * w.w_q, k = x * w.w_k, v = x * w.w_v;
  for (Index i = 0; i < 8; ++i) {
    INFO("query head " << i);
    const Index g = i / 4;
    const qkv::AttentionResult expected = qkv::scaled_dot_product_attention(
        Matrix(q.middleCols(3 * i, 3)), Matrix(k.middleCols(3 * g, 3)),
        Matrix(v.middleCols(3 * g, 3)), causal);
    check_matrix_close(r.heads[static_cast<std::size_t>(i)], expected.output, 1e-6, 1e-7,
                       "head output");
  }
  CHECK_THAT(r.output, equals(Matrix(r.concat * w.w_o)));
}

TEST_CASE("grouped_decode_attention equals the per-head core, for every thread count",
          "[grouped]") {
  qkv::Random random(807);
  for (const auto& [heads, kv_heads] : {std::pair<Index, Index>{8, 2}, {8, 8}, {6, 1}, {4, 4}}) {
    const Index d_head = 4, n = 37;
    for (Index t_new : {1, 3}) {
      INFO("heads " << heads << ", kv_heads " << kv_heads << ", T_new " << t_new);
      const Matrix q = qkv::random_normal(random, t_new, heads * d_head);
      const Matrix keys = qkv::random_normal(random, n, kv_heads * d_head);
      const Matrix values = qkv::random_normal(random, n, kv_heads * d_head);
      GroupedWeights shape;  // only heads, kv_heads and the shapes matter here
      shape.w_q = Matrix::Zero(1, heads * d_head);
      shape.w_k = shape.w_v = Matrix::Zero(1, kv_heads * d_head);
      shape.w_o = Matrix::Zero(heads * d_head, 1);
      shape.heads = heads;
      shape.kv_heads = kv_heads;
      const Matrix expected =
          qkv::grouped_attend_heads(q, keys, values, shape, qkv::causal_mask(t_new, n)).concat;
      const Matrix one = qkv::grouped_decode_attention(q, keys, values, heads, kv_heads, 1);
      check_matrix_close(one, expected, 1e-5, 1e-6, "1 thread");
      for (int threads : {2, 3, 8}) {
        INFO(threads << " threads");
        const Matrix split =
            qkv::grouped_decode_attention(q, keys, values, heads, kv_heads, threads);
        check_matrix_close(split, expected, 1e-5, 1e-6, "threads");
        // Split over groups only (no more threads than groups): the same bits.
        if (threads <= kv_heads) CHECK_THAT(split, equals(one));
      }
    }
  }
}

TEST_CASE("grouped_decode_attention rejects what does not fit", "[grouped]") {
  const Matrix q = Matrix::Zero(1, 8), kv = Matrix::Zero(5, 4);
  CHECK_NOTHROW(qkv::grouped_decode_attention(q, kv, kv, 4, 2));
  CHECK_THROWS_AS(qkv::grouped_decode_attention(q, kv, kv, 4, 3), qkv::ValueError);
  CHECK_THROWS_AS(qkv::grouped_decode_attention(q, kv, kv, 4, 2, 0), qkv::ValueError);
  CHECK_THROWS_AS(qkv::grouped_decode_attention(Matrix::Zero(6, 8), kv, kv, 4, 2),
                  qkv::ValueError);  // T_new > N
  CHECK_THROWS_AS(qkv::grouped_decode_attention(q, Matrix::Zero(0, 4), Matrix::Zero(0, 4), 4, 2),
                  qkv::ValueError);
  CHECK_THROWS_AS(qkv::grouped_decode_attention(Matrix::Zero(1, 6), kv, kv, 4, 2), qkv::ShapeError);
  CHECK_THROWS_AS(qkv::grouped_decode_attention(q, kv, Matrix::Zero(4, 4), 4, 2), qkv::ShapeError);
}

TEST_CASE("the cached grouped decode equals full causal grouped attention, with RoPE too",
          "[grouped]") {
  qkv::Random random(808);
  for (const Index kv_heads : {1, 2, 4}) {
    const GroupedWeights w = qkv::random_grouped_weights(random, 16, 4, kv_heads, 4);
    const Matrix x = qkv::random_normal(random, 9, 16);
    for (const bool rotary : {false, true}) {
      INFO("kv_heads " << kv_heads << (rotary ? ", RoPE" : ""));
      std::optional<qkv::RopeConfig> rope;
      if (rotary) rope = qkv::RopeConfig{};
      const Matrix full = qkv::grouped_query_attention(x, w, qkv::causal_mask(9), rope).output;
      // A prompt of 4 in one chunk, then one token at a time; the cache is kv_heads d_head
      // wide, h / kv_heads times narrower than chapter 06's.
      qkv::KvCache cache(9, kv_heads * 4);
      Matrix decoded(9, 16);
      decoded.topRows(4) = qkv::grouped_decode_step(x.topRows(4), w, cache, rope);
      for (Index t = 4; t < 9; ++t)
        decoded.row(t) = qkv::grouped_decode_step(x.row(t), w, cache, rope, 2);
      check_matrix_close(decoded, full, 1e-5, 1e-6, "grouped_decode_step");
      CHECK(cache.size() == 9);
      CHECK_THROWS_AS(qkv::grouped_decode_step(x.row(0), w, cache, rope), qkv::ValueError);
      CHECK(cache.size() == 9);  // a step that does not fit leaves the cache as it was
    }
    qkv::KvCache wrong(9, 16 + 1);
    CHECK_THROWS_WITH(qkv::grouped_decode_step(x.row(0), w, wrong),
                      contains("kv_heads d_head = " + std::to_string(kv_heads * 4)));
  }
}

TEST_CASE("mean-pooling the key/value heads of each group, by hand", "[grouped]") {
  // d_model 4 (rows 2 and 3 zero), 4 heads of d_head 1: column i is head i. Groups of 2:
  // heads {0, 1} and {2, 3}.
  qkv::MultiHeadWeights mh;
  mh.w_q = qkv::matrix_from_rows({{1, 2, 3, 4}, {5, 6, 7, 8}});
  mh.w_q.conservativeResize(4, 4);
  mh.w_q.bottomRows(2).setZero();
  mh.w_k = mh.w_v = mh.w_o = mh.w_q;
  mh.w_v *= 2;
  mh.heads = 4;
  const GroupedWeights two = qkv::mean_pool_kv_heads(mh, 2);
  CHECK_THAT(two.w_k, equals(qkv::matrix_from_rows({{1.5f, 3.5f}, {5.5f, 7.5f}, {0, 0}, {0, 0}})));
  CHECK_THAT(two.w_v, equals(qkv::matrix_from_rows({{3, 7}, {11, 15}, {0, 0}, {0, 0}})));
  CHECK_THAT(two.w_q, equals(mh.w_q));
  CHECK_THAT(two.w_o, equals(mh.w_o));
  CHECK(two.kv_heads == 2);
  const GroupedWeights one = qkv::mean_pool_kv_heads(mh, 1);
  CHECK_THAT(one.w_k, equals(qkv::matrix_from_rows({{2.5f}, {6.5f}, {0}, {0}})));
  CHECK_THROWS_WITH(qkv::mean_pool_kv_heads(mh, 3), contains("kv_heads = 3"));
}

TEST_CASE("a stack of windowed layers reaches exactly layers x (window - 1) positions",
          "[grouped]") {
  qkv::Random random(809);
  const Index t = 24;
  const GroupedWeights w = qkv::random_grouped_weights(random, 8, 4, 2, 2);
  const Matrix x = qkv::random_normal(random, t, 8);
  for (const Index window : {1, 2, 4}) {
    for (const Index layers : {0, 1, 2, 3}) {
      const Index changed = 5;  // the token we change
      Matrix x_changed = x;
      x_changed.row(changed).array() += 1.0f;
      const Matrix delta = qkv::windowed_stack(x_changed, w, layers, window) -
                           qkv::windowed_stack(x, w, layers, window);
      const Index last = changed + layers * (window - 1);  // the last row it reaches
      INFO("window " << window << ", layers " << layers << ": rows " << changed << " .. " << last
                     << " must change, no other");
      for (Index r = 0; r < t; ++r) {
        INFO("row " << r);
        const float moved = delta.row(r).cwiseAbs().maxCoeff();
        if (r >= changed && r <= last)
          CHECK(moved > 1e-6f);
        else
          CHECK(moved == 0.0f);  // a weight of exactly 0 times a finite value: exactly 0
      }
    }
  }
  CHECK_THROWS_AS(qkv::windowed_stack(x, w, 1, 0), qkv::ValueError);
  CHECK_THROWS_AS(qkv::windowed_stack(x, w, -1, 2), qkv::ValueError);
}

TEST_CASE("decode FLOPs and cache bytes, by hand", "[grouped]") {
  // One Llama-2-7B layer at 4096 tokens: 4 N h d_head = 4 * 4096 * 32 * 128 = 2^26 FLOPs.
  CHECK(qkv::decode_attention_flops(4096, 32, 128) == 67'108'864);
  // Its cache, fp16: 2 * 4096 * 32 * 128 * 2 = 2^26 bytes (MHA), 2^24 with 8 kv heads
  // (Llama-3-8B), 2^21 with 1 (MQA).
  CHECK(qkv::decode_cache_bytes(4096, 32, 128, 2) == 67'108'864);
  CHECK(qkv::decode_cache_bytes(4096, 8, 128, 2) == 16'777'216);
  CHECK(qkv::decode_cache_bytes(4096, 1, 128, 2) == 2'097'152);
  CHECK(qkv::decode_attention_flops(0, 32, 128) == 0);
  CHECK_THROWS_AS(qkv::decode_attention_flops(-1, 32, 128), qkv::ValueError);
  CHECK_THROWS_AS(qkv::decode_cache_bytes(4096, -1, 128, 2), qkv::ValueError);
}

TEST_CASE("grouped weights that do not fit are rejected, naming both shapes", "[grouped]") {
  qkv::Random random(810);
  GroupedWeights w = qkv::random_grouped_weights(random, 8, 4, 2, 2);
  const Matrix x = qkv::random_normal(random, 3, 8);
  CHECK_NOTHROW(qkv::grouped_query_attention(x, w));
  CHECK_THROWS_WITH(qkv::grouped_query_attention(qkv::random_normal(random, 3, 7), w),
                    contains("X is 3x7") && contains("W_q is 8x8"));
  GroupedWeights wide_k = w;
  wide_k.w_k = Matrix::Zero(8, 8);
  CHECK_THROWS_WITH(qkv::grouped_query_attention(x, wide_k),
                    contains("W_q is 8x8") && contains("W_k is 8x8"));
  GroupedWeights odd = w;
  odd.kv_heads = 3;
  CHECK_THROWS_AS(qkv::grouped_query_attention(x, odd), qkv::ValueError);
  CHECK_THROWS_AS(qkv::grouped_query_attention(x, w, qkv::causal_mask(4)), qkv::ShapeError);
  CHECK_THROWS_AS(qkv::random_grouped_weights(random, 8, 4, 3, 2), qkv::ValueError);
  // RoPE needs an even d_head.
  GroupedWeights odd_head = qkv::random_grouped_weights(random, 6, 2, 1, 3);
  CHECK_THROWS_AS(
      qkv::grouped_query_attention(x.leftCols(6), odd_head, std::nullopt, qkv::RopeConfig{}),
      qkv::ValueError);
}

}  // namespace qkv::testing
