// Checks exercise decoding_window_mask: a sliding window for the last T_q of T_k positions.

#include "decoding_window_mask.hpp"

#include <optional>

#include "qkv/attention.hpp"
#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/random.hpp"

using qkv::Index;
using qkv::Mask;
using qkv::exercises::decoding_window_mask;
using qkv::testing::equals;

TEST_CASE("decoding_window_mask by hand", "[decoding_window_mask]") {
  Mask expected(2, 5);
  expected << false, true, true, true, false,  //
      false, false, true, true, true;
  CHECK_THAT(decoding_window_mask(2, 5, 3), equals(expected));
  Mask one(1, 4);
  one << false, false, true, true;  // position 3 with w = 2: keys 2 and 3
  CHECK_THAT(decoding_window_mask(1, 4, 2), equals(one));
  Mask alone(1, 3);
  alone << false, false, true;  // w = 1: only itself
  CHECK_THAT(decoding_window_mask(1, 3, 1), equals(alone));
  Mask early(2, 2);
  early << true, false, true, true;  // windows cut off at position 0
  CHECK_THAT(decoding_window_mask(2, 2, 5), equals(early));
}

TEST_CASE("decoding_window_mask agrees with the square window and causal masks",
          "[decoding_window_mask]") {
  for (Index t_k : {1, 2, 5, 9})
    for (Index w : {1, 2, 3, 9, 20}) {
      INFO("T_k = " << t_k << ", w = " << w);
      CHECK_THAT(decoding_window_mask(t_k, t_k, w), equals(qkv::window_mask(t_k, w)));
      for (Index t_q = 0; t_q <= t_k; ++t_q) {
        INFO("T_q = " << t_q);
        const Mask mask = decoding_window_mask(t_q, t_k, w);
        // The last T_q rows of the full window mask.
        CHECK_THAT(mask, equals(qkv::window_mask(t_k, w).bottomRows(t_q)));
        if (w >= t_k) CHECK_THAT(mask, equals(qkv::causal_mask(t_q, t_k)));
      }
    }
}

TEST_CASE("one query at a time gives the last row of windowed attention",
          "[decoding_window_mask]") {
  // Generating: the newest token's query against every key so far, under the window, must
  // give what the whole sequence's windowed attention gives for that token.
  qkv::Random random(8);
  const Index t = 7, w = 3;
  const qkv::Matrix q = qkv::random_normal(random, t, 4), k = qkv::random_normal(random, t, 4),
                    v = qkv::random_normal(random, t, 3);
  const qkv::Matrix full = qkv::attention(q, k, v, std::optional<Mask>(qkv::window_mask(t, w)));
  for (Index t_k = 1; t_k <= t; ++t_k) {
    INFO("position " << t_k - 1);
    const qkv::Matrix step = qkv::attention(
        qkv::Matrix(q.row(t_k - 1)), qkv::Matrix(k.topRows(t_k)), qkv::Matrix(v.topRows(t_k)),
        std::optional<Mask>(decoding_window_mask(1, t_k, w)));
    REQUIRE(step.rows() == 1);
    CHECK_THAT(step, qkv::testing::is_close(qkv::Matrix(full.row(t_k - 1)), 1e-5, 1e-6));
  }
}

TEST_CASE("decoding_window_mask rejects impossible sizes", "[decoding_window_mask]") {
  CHECK_THROWS_AS(decoding_window_mask(3, 2, 1), qkv::ValueError);
  CHECK_THROWS_AS(decoding_window_mask(-1, 2, 1), qkv::ValueError);
  CHECK_THROWS_AS(decoding_window_mask(1, -2, 1), qkv::ValueError);
  CHECK_THROWS_AS(decoding_window_mask(2, 4, 0), qkv::ValueError);
}
