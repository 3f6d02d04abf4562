// Checks exercise gqa_decode_step: grouped-query attention equals multi-head attention whose
// key and value heads are copies, one copy per query head of the group.

#include "gqa_decode_step.hpp"

#include <vector>

#include "qkv/catch.hpp"
#include "qkv/golden.hpp"
#include "qkv/kv_cache.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"

using qkv::Index;
using qkv::KvCache;
using qkv::Matrix;
using qkv::exercises::gqa_decode_step;
using qkv::exercises::GqaWeights;
using qkv::testing::check_matrix_close;

namespace {

GqaWeights random_gqa(qkv::Random& random, Index d_model, Index heads, Index kv_heads) {
  const Index d_head = d_model / heads;
  GqaWeights w;
  w.w_q = qkv::init_linear_weight(random, d_model, d_model);
  w.w_k = qkv::init_linear_weight(random, d_model, kv_heads * d_head);
  w.w_v = qkv::init_linear_weight(random, d_model, kv_heads * d_head);
  w.w_o = qkv::init_linear_weight(random, d_model, d_model);
  w.heads = heads;
  w.kv_heads = kv_heads;
  return w;
}

// The same layer as plain multi-head attention: query head i gets a copy of kv head
// i / (h / g) in W_k and W_v.
qkv::MultiHeadWeights expanded(const GqaWeights& g) {
  const Index d_head = g.d_head(), group = g.heads / g.kv_heads;
  qkv::MultiHeadWeights w{g.w_q, Matrix(g.d_model(), g.heads * d_head),
                          Matrix(g.d_model(), g.heads * d_head), g.w_o, g.heads};
  for (Index i = 0; i < g.heads; ++i) {
    w.w_k.middleCols(i * d_head, d_head) = g.w_k.middleCols((i / group) * d_head, d_head);
    w.w_v.middleCols(i * d_head, d_head) = g.w_v.middleCols((i / group) * d_head, d_head);
  }
  return w;
}

// Prefill `prompt` rows, then one row per step.
Matrix decode_all(const Matrix& x, const GqaWeights& w, KvCache& cache, Index prompt) {
  Matrix out(x.rows(), w.d_model());
  out.topRows(prompt) = gqa_decode_step(x.topRows(prompt), w, cache);
  for (Index t = prompt; t < x.rows(); ++t) out.row(t) = gqa_decode_step(x.row(t), w, cache);
  return out;
}

}  // namespace

TEST_CASE("gqa_decode_step equals multi-head attention with shared kv heads copied",
          "[gqa_decode_step]") {
  qkv::Random random(60);
  for (Index kv_heads : {1, 2, 4}) {  // multi-query, grouped, and plain multi-head
    const GqaWeights w = random_gqa(random, 16, 4, kv_heads);
    const Matrix x = qkv::random_normal(random, 9, 16);
    const Matrix expected = qkv::multi_head_attention(x, expanded(w), qkv::causal_mask(9)).output;
    for (Index prompt : {1, 4, 9}) {
      INFO("g = " << kv_heads << ", prompt " << prompt);
      KvCache cache(9, kv_heads * 4);  // g d_head numbers per token, not d_model
      check_matrix_close(decode_all(x, w, cache, prompt), expected);
      CHECK(cache.size() == 9);
      check_matrix_close(Matrix(cache.keys()), Matrix(x * w.w_k));
      check_matrix_close(Matrix(cache.values()), Matrix(x * w.w_v));
    }
  }
}

TEST_CASE("with g = h, gqa_decode_step is the chapter's decode_step", "[gqa_decode_step]") {
  qkv::Random random(61);
  const GqaWeights g = random_gqa(random, 12, 3, 3);
  const qkv::MultiHeadWeights w{g.w_q, g.w_k, g.w_v, g.w_o, 3};
  const Matrix x = qkv::random_normal(random, 5, 12);
  KvCache mine(5, 12), chapter(5, 12);
  for (Index t = 0; t < 5; ++t)
    check_matrix_close(gqa_decode_step(x.row(t), g, mine), qkv::decode_step(x.row(t), w, chapter));
}

TEST_CASE("gqa_decode_step: eight query heads over two kv heads", "[gqa_decode_step]") {
  qkv::Random random(62);
  const GqaWeights w = random_gqa(random, 32, 8, 2);
  const Matrix x = qkv::random_normal(random, 12, 32);
  KvCache cache(12, 8);  // 2 kv heads of 4: a quarter of the multi-head cache
  check_matrix_close(decode_all(x, w, cache, 5),
                     qkv::multi_head_attention(x, expanded(w), qkv::causal_mask(12)).output);
}

TEST_CASE("gqa_decode_step rejects bad head counts, shapes and a full cache", "[gqa_decode_step]") {
  qkv::Random random(63);
  GqaWeights w = random_gqa(random, 16, 4, 2);
  const Matrix x = qkv::random_normal(random, 3, 16);
  KvCache cache(3, 8);
  KvCache too_wide(3, 16);  // d_model wide, as if every head were cached
  CHECK_THROWS_AS(gqa_decode_step(x.row(0), w, too_wide), qkv::ShapeError);
  CHECK_THROWS_AS(gqa_decode_step(Matrix(1, 12), w, cache), qkv::ShapeError);
  CHECK_THROWS_AS(gqa_decode_step(Matrix(0, 16), w, cache), qkv::ValueError);
  GqaWeights three = w;
  three.kv_heads = 3;  // does not divide 4 query heads
  CHECK_THROWS_AS(gqa_decode_step(x.row(0), three, cache), qkv::ValueError);
  GqaWeights none = w;
  none.kv_heads = 0;
  CHECK_THROWS_AS(gqa_decode_step(x.row(0), none, cache), qkv::ValueError);
  GqaWeights bad_k = w;
  bad_k.w_k = Matrix::Zero(16, 16);
  CHECK_THROWS_AS(gqa_decode_step(x.row(0), bad_k, cache), qkv::ShapeError);
  CHECK(cache.size() == 0);
  gqa_decode_step(x, w, cache);
  CHECK(cache.full());
  CHECK_THROWS_AS(gqa_decode_step(x.row(0), w, cache), qkv::ValueError);
}
