// kv_cache.hpp: cached decoding equals full attention (causal, or windowed for the ring
// buffer), the cache's edge cases (capacity, reset, wrap-around), and the byte and FLOP
// counts against hand-computed values.

#include "qkv/kv_cache.hpp"

#include <vector>

#include "qkv/catch.hpp"
#include "qkv/golden.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"
#include "random_layer.hpp"

namespace qkv::testing {

namespace {

// Feeds the rows of x through decode_step in chunks of the given sizes (the first chunk is
// the prompt), stacking the outputs.
template <typename Cache>
Matrix decode_in_chunks(const RandomLayer& s, Cache& cache, const std::vector<Index>& chunks) {
  Matrix out(s.x.rows(), s.x.cols());
  Index at = 0;
  for (Index n : chunks) {
    out.middleRows(at, n) = qkv::decode_step(Matrix(s.x.middleRows(at, n)), s.w, cache);
    at += n;
  }
  REQUIRE(at == s.x.rows());
  return out;
}

std::vector<Index> prompt_then_ones(Index prompt, Index t) {
  std::vector<Index> chunks{prompt};
  for (Index i = prompt; i < t; ++i) chunks.push_back(1);
  return chunks;
}

Matrix full_causal(const RandomLayer& s) {
  return qkv::multi_head_attention(s.x, s.w, qkv::causal_mask(s.x.rows())).output;
}

}  // namespace

TEST_CASE("kv_cache_bytes for known models", "[kv_cache]") {
  // 2 x layers x kv_heads x d_head x tokens x bytes per number.
  CHECK(qkv::kv_cache_bytes(32, 32, 128, 4096, 2) == 2147483648LL);  // 7B, fp16: 2 GiB
  CHECK(qkv::kv_cache_bytes(32, 32, 128, 4096, 2) == 2LL * 1024 * 1024 * 1024);
  CHECK(qkv::kv_cache_bytes(12, 12, 64, 1024, 4) == 75497472LL);  // GPT-2 small, fp32: 72 MiB
  CHECK(qkv::kv_cache_bytes(12, 12, 64, 1024, 2) == 37748736LL);  // fp16: 36 MiB
  CHECK(qkv::kv_cache_bytes(80, 8, 128, 1, 2) == 327680LL);       // GQA: 8 kv heads, per token
  CHECK(qkv::kv_cache_bytes(1, 4, 4, 8, 4) == 1024LL);            // 2*1*4*4*8*4
  CHECK(qkv::kv_cache_bytes(1, 4, 4, 0, 4) == 0);
  CHECK_THROWS_AS(qkv::kv_cache_bytes(-1, 4, 4, 8, 4), qkv::ValueError);
  CHECK_THROWS_AS(qkv::kv_cache_bytes(1, 4, 4, -8, 4), qkv::ValueError);
  CHECK_THROWS_WITH(qkv::kv_cache_bytes(1LL << 20, 1LL << 20, 1LL << 20, 1LL << 20, 2),
                    qkv::testing::contains("overflows"));
}

TEST_CASE("FLOPs per decode step with and without the cache, by hand", "[kv_cache]") {
  // d_model 2, T_k 3: cached 8*4 + 4*3*2 = 56; recompute 4*4 + 4*3*4 + 4*3*2 = 88.
  CHECK(qkv::cached_step_flops(2, 3) == 56);
  CHECK(qkv::recompute_step_flops(2, 3) == 88);
  // The first token: both ways project one token, the same work.
  CHECK(qkv::cached_step_flops(512, 1) == qkv::recompute_step_flops(512, 1));
  // d_model 512 at T_k 512: 2097152 + 1048576 against 1048576 + 536870912 + 1048576.
  CHECK(qkv::cached_step_flops(512, 512) == 3145728);
  CHECK(qkv::recompute_step_flops(512, 512) == 538968064);
  CHECK_THROWS_AS(qkv::cached_step_flops(512, 0), qkv::ValueError);
  CHECK_THROWS_AS(qkv::recompute_step_flops(0, 5), qkv::ValueError);
}

TEST_CASE("a cached decode equals full causal multi-head attention", "[kv_cache]") {
  for (Index t : {1, 2, 7}) {
    const RandomLayer s = random_layer(t, 16, 4, 10 + static_cast<std::uint64_t>(t));
    const Matrix expected = full_causal(s);
    for (Index prompt = 1; prompt <= t; ++prompt) {
      INFO("T = " << t << ", prompt " << prompt);
      KvCache cache(t, 16);
      check_matrix_close(decode_in_chunks(s, cache, prompt_then_ones(prompt, t)), expected);
      CHECK(cache.size() == t);
      CHECK(cache.full());
      // The cache holds exactly the keys and values of the whole sequence.
      check_matrix_close(Matrix(cache.keys()), Matrix(s.x * s.w.w_k));
      check_matrix_close(Matrix(cache.values()), Matrix(s.x * s.w.w_v));
    }
  }
}

TEST_CASE("decode_step works in chunks of any size, and for one head", "[kv_cache]") {
  const RandomLayer s = random_layer(12, 8, 2, 3);
  KvCache cache(12, 8);
  check_matrix_close(decode_in_chunks(s, cache, {5, 1, 3, 1, 2}), full_causal(s));
  const RandomLayer one = random_layer(6, 4, 1, 4);
  KvCache single(6, 4);
  check_matrix_close(decode_in_chunks(one, single, {2, 1, 1, 1, 1}), full_causal(one));
}

TEST_CASE("each cached step equals recomputing everything for the last token", "[kv_cache]") {
  const RandomLayer s = random_layer(9, 16, 4, 21);
  KvCache cache(9, 16);
  for (Index t = 0; t < 9; ++t) {
    const Matrix cached = qkv::decode_step(Matrix(s.x.row(t)), s.w, cache);
    check_matrix_close(cached, qkv::recompute_step(Matrix(s.x.topRows(t + 1)), s.w));
  }
  CHECK_THROWS_AS(qkv::recompute_step(Matrix(0, 16), s.w), qkv::ValueError);
}

TEST_CASE("generation without a cache equals full causal or windowed attention", "[kv_cache]") {
  const RandomLayer s = random_layer(9, 16, 4, 22);
  for (Index prompt : {1, 4, 9}) {
    INFO("prompt " << prompt);
    check_matrix_close(qkv::generate_without_cache(s.x, s.w, prompt), full_causal(s));
    for (Index window : {1, 3, 12}) {
      INFO("window " << window);
      const Matrix windowed =
          qkv::multi_head_attention(s.x, s.w, qkv::window_mask(9, window)).output;
      check_matrix_close(qkv::generate_without_cache(s.x, s.w, prompt, window), windowed);
    }
  }
  CHECK_THROWS_AS(qkv::generate_without_cache(s.x, s.w, 0), qkv::ValueError);
  CHECK_THROWS_AS(qkv::generate_without_cache(s.x, s.w, 10), qkv::ValueError);
  CHECK_THROWS_AS(qkv::generate_without_cache(s.x, s.w, 3, -1), qkv::ValueError);
}

TEST_CASE("a full cache refuses more tokens with a clear error and stays intact", "[kv_cache]") {
  const RandomLayer s = random_layer(5, 8, 2, 5);
  KvCache cache(4, 8);
  qkv::decode_step(Matrix(s.x.topRows(3)), s.w, cache);
  CHECK_THROWS_AS(qkv::decode_step(Matrix(s.x.middleRows(3, 2)), s.w, cache), qkv::ValueError);
  CHECK_THROWS_WITH(qkv::decode_step(Matrix(s.x.middleRows(3, 2)), s.w, cache),
                    qkv::testing::contains("KvCache::append") &&
                        qkv::testing::contains("holds 3 of its capacity 4"));
  CHECK(cache.size() == 3);  // the failed step appended nothing
  qkv::decode_step(Matrix(s.x.row(3)), s.w, cache);
  CHECK(cache.full());
  CHECK_THROWS_AS(qkv::decode_step(Matrix(s.x.row(4)), s.w, cache), qkv::ValueError);
  CHECK(cache.size() == 4);
  // The four rows it holds are still right.
  check_matrix_close(Matrix(cache.keys()), Matrix(s.x.topRows(4) * s.w.w_k));
}

TEST_CASE("reset empties the cache and a reused cache decodes a new sequence", "[kv_cache]") {
  const RandomLayer first = random_layer(6, 8, 2, 6);
  RandomLayer second = random_layer(6, 8, 2, 7);
  second.w = first.w;  // same layer, another sequence
  KvCache cache(6, 8);
  decode_in_chunks(first, cache, prompt_then_ones(2, 6));
  CHECK(cache.full());
  cache.reset();
  CHECK(cache.size() == 0);
  CHECK(cache.keys().rows() == 0);
  CHECK(cache.capacity() == 6);
  check_matrix_close(decode_in_chunks(second, cache, prompt_then_ones(3, 6)), full_causal(second));
}

TEST_CASE("KvCache and decode_step reject bad shapes and sizes", "[kv_cache]") {
  const RandomLayer s = random_layer(3, 8, 2, 8);
  CHECK_THROWS_AS(KvCache(0, 8), qkv::ValueError);
  CHECK_THROWS_AS(KvCache(4, 0), qkv::ValueError);
  KvCache cache(4, 8);
  CHECK_THROWS_AS(cache.append(Matrix(1, 8), Matrix(2, 8)), qkv::ShapeError);
  CHECK_THROWS_WITH(cache.append(Matrix(1, 7), Matrix(1, 7)),
                    qkv::testing::contains("keys is 1x7, values is 1x7"));
  CHECK_THROWS_AS(qkv::decode_step(Matrix(1, 6), s.w, cache), qkv::ShapeError);
  CHECK_THROWS_AS(qkv::decode_step(Matrix(0, 8), s.w, cache), qkv::ValueError);
  KvCache narrow(4, 4);
  CHECK_THROWS_WITH(qkv::decode_step(Matrix(s.x.row(0)), s.w, narrow),
                    qkv::testing::contains("width 4 is not d_model = 8"));
  CHECK(cache.size() == 0);
}

TEST_CASE("the ring buffer puts position p in slot p mod w and keeps the last w", "[kv_cache]") {
  WindowKvCache cache(3, 2);
  for (Index p = 0; p < 7; ++p) {
    const Matrix row = Matrix::Constant(1, 2, static_cast<float>(p));
    cache.append(row, -row);
    CHECK(cache.seen() == p + 1);
    CHECK(cache.size() == std::min<Index>(p + 1, 3));
  }
  CHECK(cache.slot(6) == 0);
  CHECK(cache.slot(5) == 2);
  // Slots hold positions 6, 4, 5; oldest first that is 4, 5, 6.
  CHECK(cache.stored_keys()(0, 0) == 6.0f);
  CHECK(cache.stored_keys()(1, 1) == 4.0f);
  check_matrix_close(cache.keys(), qkv::matrix_from_rows({{4, 4}, {5, 5}, {6, 6}}));
  check_matrix_close(cache.values(), qkv::matrix_from_rows({{-4, -4}, {-5, -5}, {-6, -6}}));
  // More rows than the window at once: only the last three stay.
  cache.append(qkv::matrix_from_rows({{7, 7}, {8, 8}, {9, 9}, {10, 10}}), Matrix::Zero(4, 2));
  check_matrix_close(cache.keys(), qkv::matrix_from_rows({{8, 8}, {9, 9}, {10, 10}}));
  CHECK_THROWS_AS(cache.slot(-1), qkv::ValueError);
  CHECK_THROWS_AS(cache.append(Matrix(1, 3), Matrix(1, 3)), qkv::ShapeError);
  CHECK_THROWS_AS(WindowKvCache(0, 2), qkv::ValueError);
}

TEST_CASE("a window cache equals context-window attention, after wrapping many times",
          "[kv_cache]") {
  for (Index window : {1, 2, 3, 5}) {
    const Index t = 4 * window + 6;  // the ring wraps at least four times
    const RandomLayer s = random_layer(t, 16, 4, 30 + static_cast<std::uint64_t>(window));
    const Matrix expected = qkv::multi_head_attention(s.x, s.w, qkv::window_mask(t, window)).output;
    INFO("window " << window);
    WindowKvCache one_by_one(window, 16);
    check_matrix_close(decode_in_chunks(s, one_by_one, prompt_then_ones(1, t)), expected);
    CHECK(one_by_one.seen() == t);
    CHECK(one_by_one.size() == window);
    // A long prompt (longer than the window) and later chunks that cross the ring's end.
    WindowKvCache chunked(window, 16);
    std::vector<Index> chunks{window + 2, 1, 2, window + 1};
    Index rest = t - (2 * window + 6);
    for (; rest > 0; --rest) chunks.push_back(1);
    check_matrix_close(decode_in_chunks(s, chunked, chunks), expected);
  }
}

TEST_CASE("a window of one token: each output is its own value through W_o", "[kv_cache]") {
  const RandomLayer s = random_layer(5, 8, 2, 40);
  WindowKvCache cache(1, 8);
  const Matrix out = decode_in_chunks(s, cache, prompt_then_ones(2, 5));
  // Attending to one key gives weight 1: o_t = (x_t W_v) W_o.
  check_matrix_close(out, Matrix(s.x * s.w.w_v * s.w.w_o));
}

TEST_CASE("a window longer than the context is a plain causal cache", "[kv_cache]") {
  const RandomLayer s = random_layer(6, 8, 2, 41);
  WindowKvCache cache(10, 8);
  check_matrix_close(decode_in_chunks(s, cache, prompt_then_ones(2, 6)), full_causal(s));
  CHECK(cache.size() == 6);
  CHECK(cache.seen() == 6);
}

TEST_CASE("reset rewinds the ring: a reused window cache matches a fresh one", "[kv_cache]") {
  const Index window = 3, t = 11;
  const RandomLayer first = random_layer(10, 8, 2, 50);
  RandomLayer second = random_layer(t, 8, 2, 51);
  second.w = first.w;
  const Matrix expected =
      qkv::multi_head_attention(second.x, second.w, qkv::window_mask(t, window)).output;
  WindowKvCache cache(window, 8);
  decode_in_chunks(first, cache, prompt_then_ones(2, 10));
  CHECK(cache.slot(cache.seen()) == 1);  // stopped mid-ring
  cache.reset();
  CHECK(cache.seen() == 0);
  CHECK(cache.size() == 0);
  CHECK(cache.slot(cache.seen()) == 0);
  check_matrix_close(decode_in_chunks(second, cache, prompt_then_ones(1, t)), expected);
  // The same cache, reset again, for a prompt longer than the window.
  cache.reset();
  check_matrix_close(decode_in_chunks(second, cache, prompt_then_ones(5, t)), expected);
}

}  // namespace qkv::testing
