// Checks exercise ntk_scaled_frequencies: the new base by hand, and the angle range it is
// for: at the new context the slowest pair turns no further than it did in training, the
// fastest pair is untouched, and every pair in between is slowed by a factor from 1 to s.

#include "ntk_scaled_frequencies.hpp"

#include <cmath>

#include "qkv/catch.hpp"
#include "qkv/error.hpp"
#include "qkv/expect.hpp"
#include "qkv/rope.hpp"

using Catch::Matchers::WithinRel;
using qkv::Index;
using qkv::VectorD;
using qkv::exercises::ntk_scaled_frequencies;
using qkv::testing::is_close;

TEST_CASE("ntk_scaled_frequencies: the new base b s^(d/(d-2)), by hand",
          "[ntk_scaled_frequencies]") {
  // d_head 4, base 10000, s = 4: base 10000 x 4^2 = 160000, theta = 1, 160000^(-1/2).
  CHECK_THAT(ntk_scaled_frequencies(4, 10000, 1024, 4096),
             is_close(VectorD{{1.0, 0.0025}}, 1e-12, 0));
  // d_head 8, base 10000, s = 2: base 10000 x 2^(4/3); theta_i = base'^(-i/4).
  const double base8 = 10000 * std::pow(2.0, 8.0 / 6.0);
  VectorD expected(4);
  for (Index i = 0; i < 4; ++i) expected(i) = std::pow(base8, -2.0 * static_cast<double>(i) / 8);
  CHECK_THAT(ntk_scaled_frequencies(8, 10000, 2048, 4096), is_close(expected, 1e-12, 0));
  // No stretch, no change.
  CHECK_THAT(ntk_scaled_frequencies(64, 500000, 8192, 8192),
             is_close(qkv::rope_frequencies(64, 500000), 1e-12, 0));
}

TEST_CASE("ntk_scaled_frequencies keeps every pair's angles in the trained range",
          "[ntk_scaled_frequencies]") {
  for (Index d_head : {Index{4}, Index{16}, Index{128}})
    for (double base : {10000.0, 500000.0})
      for (Index stretch : {Index{2}, Index{8}, Index{32}}) {
        INFO("d_head " << d_head << ", base " << base << ", s " << stretch);
        const Index trained = 4096, longer = trained * stretch;
        const VectorD theta = qkv::rope_frequencies(d_head, base);
        const VectorD scaled = ntk_scaled_frequencies(d_head, base, trained, longer);
        REQUIRE(scaled.size() == d_head / 2);
        const Index last = d_head / 2 - 1;
        const auto s = static_cast<double>(stretch);
        // The fastest pair is not touched; the slowest turns exactly s times slower, so
        // that its largest angle at the new context is its largest trained one.
        CHECK(scaled(0) == 1.0);
        CHECK_THAT(scaled(last) * s, WithinRel(theta(last), 1e-12));
        CHECK_THAT(scaled(last) * static_cast<double>(longer),
                   WithinRel(theta(last) * static_cast<double>(trained), 1e-12));
        // In between, slowed by a factor from 1 to s, more for slower pairs.
        for (Index i = 1; i <= last; ++i) {
          INFO("pair " << i);
          const double factor = theta(i) / scaled(i);
          CHECK(factor >= 1.0);
          CHECK(factor <= s * (1 + 1e-12));
          CHECK(factor > theta(i - 1) / scaled(i - 1));
        }
      }
}

TEST_CASE("ntk_scaled_frequencies rejects what has no meaning", "[ntk_scaled_frequencies]") {
  CHECK_THROWS_AS(ntk_scaled_frequencies(2, 10000, 1024, 4096), qkv::ValueError);
  CHECK_THROWS_AS(ntk_scaled_frequencies(7, 10000, 1024, 4096), qkv::ValueError);
  CHECK_THROWS_AS(ntk_scaled_frequencies(8, 1, 1024, 4096), qkv::ValueError);
  CHECK_THROWS_AS(ntk_scaled_frequencies(8, 10000, 4096, 1024), qkv::ValueError);
  CHECK_THROWS_AS(ntk_scaled_frequencies(8, 10000, 0, 1024), qkv::ValueError);
}
