// Checks exercise max_batch: how many sequences fit, with grouped-query attention and windows.

#include "max_batch.hpp"

#include <cstdint>

#include "qkv/catch.hpp"
#include "qkv/error.hpp"

using qkv::exercises::max_batch;
using qkv::exercises::ServingConfig;

namespace {
constexpr std::int64_t GiB = std::int64_t{1} << 30;
constexpr std::int64_t seven_b = 7 * GiB;  // 7 Gi parameters: 14 GiB of fp16 weights
const ServingConfig mha{seven_b, 32, 32, 128, 2, 0};
const ServingConfig gqa{seven_b, 32, 8, 128, 2, 0};
const ServingConfig windowed{seven_b, 32, 8, 128, 2, 4096};
}  // namespace

TEST_CASE("max_batch: an 80 GiB GPU, MHA against GQA", "[max_batch]") {
  // 66 GiB left. 8192 tokens cost 2 * 32 * 32 * 128 * 8192 * 2 = 4 GiB with 32 kv heads,
  // 1 GiB with 8: 16 and 66 sequences.
  CHECK(max_batch(mha, 8192, 80 * GiB) == 16);
  CHECK(max_batch(gqa, 8192, 80 * GiB) == 66);
  // Half the context, twice the batch (rounded down).
  CHECK(max_batch(gqa, 4096, 80 * GiB) == 132);
  CHECK(max_batch(mha, 8192, 14 * GiB + 4 * GiB - 1) == 0);  // one byte short of one
  CHECK(max_batch(mha, 8192, 14 * GiB + 4 * GiB) == 1);
  CHECK(max_batch(mha, 1, 13 * GiB) == 0);  // the weights alone do not fit
}

TEST_CASE("max_batch: a window caps the cache at exactly w tokens", "[max_batch]") {
  // 4096 tokens: 0.5 GiB per sequence, however long the context.
  CHECK(max_batch(windowed, 32768, 80 * GiB) == 132);
  CHECK(max_batch(windowed, 1'000'000, 80 * GiB) == 132);
  // Exactly 10 sequences of a full window, and one byte less: 9. A ring of w + 1 rows gives
  // 9 for both, one of w - 1 rows 10 for both.
  const std::int64_t one_window = std::int64_t{2} * 32 * 8 * 128 * 4096 * 2;
  CHECK(max_batch(windowed, 5000, 14 * GiB + 10 * one_window) == 10);
  CHECK(max_batch(windowed, 5000, 14 * GiB + 10 * one_window - 1) == 9);
  // Shorter than the window: the cache holds the context. 2048 tokens: 0.25 GiB.
  CHECK(max_batch(windowed, 2048, 80 * GiB) == 264);
  CHECK(max_batch(windowed, 4096, 14 * GiB + 10 * one_window) == 10);
  CHECK(max_batch(windowed, 4095, 14 * GiB + 10 * one_window) == 10);
}

TEST_CASE("max_batch: multi-query attention, and bad arguments", "[max_batch]") {
  // Falcon-7B-like: one kv head of 64: 2 * 32 * 64 * 2048 * 2 = 16 MiB per 2048 tokens.
  const ServingConfig mqa{seven_b, 32, 1, 64, 2, 0};
  CHECK(max_batch(mqa, 2048, 15 * GiB) == 64);
  CHECK_THROWS_AS(max_batch(mqa, 0, 80 * GiB), qkv::ValueError);
  CHECK_THROWS_AS(max_batch(mqa, 2048, -1), qkv::ValueError);
  CHECK_THROWS_AS(max_batch(ServingConfig{seven_b, 32, 0, 64, 2, 0}, 2048, 80 * GiB),
                  qkv::ValueError);
  CHECK_THROWS_AS(max_batch(ServingConfig{seven_b, 32, 1, 64, 2, -1}, 2048, 80 * GiB),
                  qkv::ValueError);
}
