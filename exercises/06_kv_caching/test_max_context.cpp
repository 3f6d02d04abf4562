// Checks exercise max_context: the longest context that fits beside the weights.

#include "max_context.hpp"

#include "qkv/catch.hpp"
#include "qkv/error.hpp"

using qkv::exercises::CacheShape;
using qkv::exercises::max_context;

namespace {
constexpr std::int64_t GiB = std::int64_t{1} << 30;
// Llama-2-7B: 32 layers, 32 heads of 128, fp16; Llama-2-70B: 80 layers, 8 kv heads (GQA).
constexpr std::int64_t params_7b = 6738415616;
constexpr std::int64_t params_70b = 68976648192;
const CacheShape shape_7b{32, 32, 128, 2};
const CacheShape shape_70b{80, 8, 128, 2};
}  // namespace

TEST_CASE("max_context: a 7B model on a 24 GiB GPU", "[max_context]") {
  // 24 GiB - 13476831232 bytes of weights = 12292972544 bytes; 524288 bytes per token.
  CHECK(max_context(24 * GiB, params_7b, shape_7b, 1) == 23446);
  CHECK(max_context(24 * GiB, params_7b, shape_7b, 4) == 5861);  // per sequence
  // fp32 weights and cache: 26953662464 bytes of weights alone exceed 24 GiB.
  CHECK(max_context(24 * GiB, params_7b, CacheShape{32, 32, 128, 4}, 1) == 0);
}

TEST_CASE("max_context: grouped-query attention stretches the context", "[max_context]") {
  // 160 GiB - 137953296384 bytes of weights = 33845395456 bytes. With 8 kv heads a token
  // costs 327680 bytes; with all 64 heads cached it would cost 2621440.
  CHECK(max_context(160 * GiB, params_70b, shape_70b, 1) == 103287);
  CHECK(max_context(160 * GiB, params_70b, CacheShape{80, 64, 128, 2}, 1) == 12910);
  // On one 80 GiB GPU the fp16 weights alone do not fit.
  CHECK(max_context(80 * GiB, params_70b, shape_70b, 1) == 0);
}

TEST_CASE("max_context rounds down, and is 0 without room for a token", "[max_context]") {
  const CacheShape tiny{1, 2, 4, 4};                         // 2*1*2*4*4 = 64 bytes per token
  CHECK(max_context(1000 + 3 * 64, 250, tiny, 1) == 3);      // weights 1000 bytes, 3 tokens
  CHECK(max_context(1000 + 3 * 64 - 1, 250, tiny, 1) == 2);  // one byte short
  CHECK(max_context(1000 + 3 * 64, 250, tiny, 3) == 1);      // 192 bytes per token for 3
  CHECK(max_context(1000 + 63, 250, tiny, 1) == 0);
  CHECK(max_context(1000, 250, tiny, 1) == 0);
  CHECK(max_context(0, 0, tiny, 1) == 0);
  CHECK(max_context(64 * 100, 0, tiny, 1) == 100);  // no weights: everything is cache
  CHECK(max_context(999, 250, tiny, 1) == 0);       // the weights do not fit
}

TEST_CASE("max_context rejects negative and empty sizes", "[max_context]") {
  CHECK_THROWS_AS(max_context(-1, 0, shape_7b, 1), qkv::ValueError);
  CHECK_THROWS_AS(max_context(GiB, -1, shape_7b, 1), qkv::ValueError);
  CHECK_THROWS_AS(max_context(GiB, 0, shape_7b, 0), qkv::ValueError);
  CHECK_THROWS_AS(max_context(GiB, 0, CacheShape{0, 32, 128, 2}, 1), qkv::ValueError);
  CHECK_THROWS_AS(max_context(GiB, 0, CacheShape{32, 0, 128, 2}, 1), qkv::ValueError);
  CHECK_THROWS_AS(max_context(GiB, 0, CacheShape{32, 32, 0, 2}, 1), qkv::ValueError);
  CHECK_THROWS_AS(max_context(GiB, 0, CacheShape{32, 32, 128, 0}, 1), qkv::ValueError);
}
