// Checks exercise grouped_query_attention: h query heads sharing kv_heads key/value heads.

#include "grouped_query_attention.hpp"

#include <optional>
#include <tuple>

#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"

using qkv::Index;
using qkv::Matrix;
using qkv::exercises::grouped_query_attention;
using qkv::exercises::GroupedQueryWeights;
using qkv::testing::is_close;

namespace {

GroupedQueryWeights random_gqa_weights(qkv::Random& random, Index d_model, Index heads,
                                       Index kv_heads) {
  const Index kv_width = kv_heads * (d_model / heads);
  GroupedQueryWeights w;
  w.w_q = qkv::init_linear_weight(random, d_model, d_model);
  w.w_k = qkv::init_linear_weight(random, d_model, kv_width);
  w.w_v = qkv::init_linear_weight(random, d_model, kv_width);
  w.w_o = qkv::init_linear_weight(random, d_model, d_model);
  w.heads = heads;
  w.kv_heads = kv_heads;
  return w;
}

// What GQA means, written as multi-head attention: copy K/V head g into the columns of
// every query head of its group (what Llama's repeat_kv does), then run ordinary MHA.
qkv::MultiHeadWeights repeated_kv(const GroupedQueryWeights& w) {
  const Index d_model = w.w_q.rows(), d_head = d_model / w.heads;
  const Index group = w.heads / w.kv_heads;
  qkv::MultiHeadWeights full;
  full.w_q = w.w_q;
  full.w_o = w.w_o;
  full.w_k.resize(d_model, d_model);
  full.w_v.resize(d_model, d_model);
  for (Index i = 0; i < w.heads; ++i) {
    full.w_k.middleCols(i * d_head, d_head) = w.w_k.middleCols((i / group) * d_head, d_head);
    full.w_v.middleCols(i * d_head, d_head) = w.w_v.middleCols((i / group) * d_head, d_head);
  }
  full.heads = w.heads;
  return full;
}

void check_same(const qkv::MultiHeadResult& actual, const qkv::MultiHeadResult& expected) {
  REQUIRE(actual.weights.size() == expected.weights.size());
  REQUIRE(actual.heads.size() == expected.heads.size());
  for (std::size_t i = 0; i < expected.weights.size(); ++i) {
    INFO("head " << i);
    CHECK_THAT(actual.weights[i], is_close(expected.weights[i]));  // its weights
    CHECK_THAT(actual.heads[i], is_close(expected.heads[i]));      // its output
  }
  CHECK_THAT(actual.concat, is_close(expected.concat));
  CHECK_THAT(actual.output, is_close(expected.output));
}

}  // namespace

TEST_CASE("with kv_heads = h, grouped-query attention is multi-head attention",
          "[grouped_query_attention]") {
  qkv::Random random(21);
  const Index tokens = 5, d_model = 12, heads = 3;
  const GroupedQueryWeights w = random_gqa_weights(random, d_model, heads, heads);
  const Matrix x = qkv::random_normal(random, tokens, d_model);
  qkv::MultiHeadWeights mha{w.w_q, w.w_k, w.w_v, w.w_o, heads};
  check_same(grouped_query_attention(x, w), qkv::multi_head_attention(x, mha));
  check_same(grouped_query_attention(x, w, qkv::causal_mask(tokens)),
             qkv::multi_head_attention(x, mha, qkv::causal_mask(tokens)));
}

TEST_CASE("grouped-query attention is MHA with each K/V head repeated for its group",
          "[grouped_query_attention]") {
  qkv::Random random(22);
  for (auto [tokens, d_model, heads, kv_heads] :
       {std::tuple<Index, Index, Index, Index>{6, 8, 4, 2},  // pairs share
        {5, 8, 4, 1},                                        // multi-query attention
        {1, 12, 6, 3},                                       // one token
        {7, 16, 8, 2},
        {4, 8, 8, 4}}) {  // d_head = 1
    INFO("T = " << tokens << ", d_model = " << d_model << ", h = " << heads
                << ", kv_heads = " << kv_heads);
    const GroupedQueryWeights w = random_gqa_weights(random, d_model, heads, kv_heads);
    const Matrix x = qkv::random_normal(random, tokens, d_model);
    for (bool causal : {false, true}) {
      const std::optional<qkv::Mask> mask =
          causal ? std::optional<qkv::Mask>(qkv::causal_mask(tokens)) : std::nullopt;
      const auto gqa = grouped_query_attention(x, w, mask);
      check_same(gqa, qkv::multi_head_attention(x, repeated_kv(w), mask));
      for (const Matrix& weights : gqa.weights) {
        REQUIRE(weights.rows() == tokens);
        REQUIRE(weights.cols() == tokens);
        if (causal)
          for (Index r = 0; r < tokens; ++r)
            for (Index c = r + 1; c < tokens; ++c) {
              INFO("the weight of query " << r << " on the later key " << c);
              CHECK(weights(r, c) == 0.0f);
            }
      }
    }
  }
}

TEST_CASE("query heads of one group share keys and values", "[grouped_query_attention]") {
  // h = 4, kv_heads = 2: heads 0, 1 use K/V head 0 and heads 2, 3 use K/V head 1. Give
  // heads 0 and 1 the same queries: they must then produce identical weights and outputs,
  // while head 2 (same queries, other K/V head) differs.
  qkv::Random random(23);
  const Index tokens = 5, d_model = 8, heads = 4, d_head = 2;
  GroupedQueryWeights w = random_gqa_weights(random, d_model, heads, 2);
  w.w_q.middleCols(1 * d_head, d_head) = w.w_q.middleCols(0, d_head);
  w.w_q.middleCols(2 * d_head, d_head) = w.w_q.middleCols(0, d_head);
  const Matrix x = qkv::random_normal(random, tokens, d_model);
  const auto gqa = grouped_query_attention(x, w);
  REQUIRE(gqa.weights.size() == 4);
  INFO("heads 0 and 1 share queries and their K/V head: weights and outputs must agree");
  CHECK_THAT(gqa.weights[1], is_close(gqa.weights[0], 1e-6, 1e-7));
  CHECK_THAT(gqa.heads[1], is_close(gqa.heads[0], 1e-6, 1e-7));
  CHECK((gqa.weights[2] - gqa.weights[0]).cwiseAbs().maxCoeff() > 1e-4f);
  // By hand for head 0: chapter 03's attention on its columns.
  const auto head0 = qkv::scaled_dot_product_attention(Matrix(x * w.w_q.leftCols(d_head)),
                                                       Matrix(x * w.w_k.leftCols(d_head)),
                                                       Matrix(x * w.w_v.leftCols(d_head)));
  CHECK_THAT(gqa.heads[0], is_close(head0.output));  // head 0
  CHECK_THAT(gqa.heads[3],
             is_close(qkv::scaled_dot_product_attention(  // head 3
                          Matrix(x * w.w_q.rightCols(d_head)), Matrix(x * w.w_k.rightCols(d_head)),
                          Matrix(x * w.w_v.rightCols(d_head)))
                          .output));
}

TEST_CASE("grouped_query_attention rejects bad head counts and shapes",
          "[grouped_query_attention]") {
  qkv::Random random(24);
  const Matrix x = qkv::random_normal(random, 3, 8);
  const GroupedQueryWeights good = random_gqa_weights(random, 8, 4, 2);
  CHECK_NOTHROW(grouped_query_attention(x, good));

  GroupedQueryWeights w = good;
  w.kv_heads = 3;  // does not divide h = 4
  CHECK_THROWS_AS(grouped_query_attention(x, w), qkv::ValueError);
  w.kv_heads = 0;
  CHECK_THROWS_AS(grouped_query_attention(x, w), qkv::ValueError);
  w.kv_heads = 8;  // more K/V heads than query heads
  CHECK_THROWS_AS(grouped_query_attention(x, w), qkv::ValueError);
  w = good;
  w.heads = 3;  // does not divide d_model = 8
  w.kv_heads = 1;
  CHECK_THROWS_AS(grouped_query_attention(x, w), qkv::ValueError);

  w = good;
  w.w_k = qkv::init_linear_weight(random, 8, 8);  // MHA-sized K: 2 K/V heads need 4 columns
  CHECK_THROWS_AS(grouped_query_attention(x, w), qkv::ShapeError);
  w = good;
  w.w_v = qkv::init_linear_weight(random, 6, 4);
  CHECK_THROWS_AS(grouped_query_attention(x, w), qkv::ShapeError);
  w = good;
  w.w_o = qkv::init_linear_weight(random, 8, 6);
  CHECK_THROWS_AS(grouped_query_attention(x, w), qkv::ShapeError);
  CHECK_THROWS_AS(grouped_query_attention(qkv::random_normal(random, 3, 6), good), qkv::ShapeError);
  CHECK_THROWS_AS(grouped_query_attention(x, good, qkv::causal_mask(4)), qkv::ShapeError);
}
