// Checks exercise packed_causal_mask: sequences packed into one row keep apart.

#include "packed_causal_mask.hpp"

#include <numeric>
#include <optional>

#include "qkv/attention.hpp"
#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/random.hpp"

using qkv::Index;
using qkv::Mask;
using qkv::exercises::packed_causal_mask;
using qkv::testing::equals;

TEST_CASE("packed_causal_mask by hand", "[packed_causal_mask]") {
  Mask expected(5, 5);
  expected << 1, 0, 0, 0, 0,  //
      1, 1, 0, 0, 0,          //
      0, 0, 1, 0, 0,          //
      0, 0, 1, 1, 0,          //
      0, 0, 1, 1, 1;
  CHECK_THAT(packed_causal_mask({2, 3}), equals(expected));
  CHECK_THAT(packed_causal_mask({4}), equals(qkv::causal_mask(4)));
  Mask identity = Mask::Constant(3, 3, false);
  identity.matrix().diagonal().setConstant(true);
  CHECK_THAT(packed_causal_mask({1, 1, 1}),
             equals(identity));  // one-token sequences see themselves
}

TEST_CASE("packed_causal_mask is block diagonal with causal blocks", "[packed_causal_mask]") {
  const std::vector<Index> lengths{3, 1, 4, 2};
  const Mask mask = packed_causal_mask(lengths);
  REQUIRE(mask.rows() == 10);
  REQUIRE(mask.cols() == 10);
  Index start = 0;
  for (Index n : lengths) {
    INFO("sequence at " << start << " of length " << n);
    CHECK_THAT(mask.block(start, start, n, n), equals(qkv::causal_mask(n)));
    // Nothing of the other sequences, in either direction.
    CHECK_THAT(mask.block(start, 0, n, start), equals(Mask::Constant(n, start, false)));
    CHECK_THAT(mask.block(start, start + n, n, 10 - start - n),
               equals(Mask::Constant(n, 10 - start - n, false)));
    start += n;
  }
  // Every token sees itself: no row is empty.
  CHECK_THAT(Mask(mask.matrix().diagonal()), equals(Mask::Constant(10, 1, true)));
}

TEST_CASE("packed attention equals attention on each sequence alone", "[packed_causal_mask]") {
  qkv::Random random(12);
  const std::vector<Index> lengths{4, 1, 3};
  const Index t = std::accumulate(lengths.begin(), lengths.end(), Index{0});
  const qkv::Matrix q = qkv::random_normal(random, t, 4), k = qkv::random_normal(random, t, 4),
                    v = qkv::random_normal(random, t, 2);
  const qkv::Matrix packed =
      qkv::attention(q, k, v, std::optional<Mask>(packed_causal_mask(lengths)));
  Index start = 0;
  for (Index n : lengths) {
    INFO("sequence at " << start);
    const qkv::Matrix alone = qkv::attention(
        qkv::Matrix(q.middleRows(start, n)), qkv::Matrix(k.middleRows(start, n)),
        qkv::Matrix(v.middleRows(start, n)), std::optional<Mask>(qkv::causal_mask(n)));
    CHECK_THAT(packed.middleRows(start, n), qkv::testing::is_close(alone, 1e-6, 1e-6));
    start += n;
  }
}

TEST_CASE("packed_causal_mask rejects empty and non-positive lengths", "[packed_causal_mask]") {
  CHECK_THROWS_AS(packed_causal_mask({}), qkv::ValueError);
  CHECK_THROWS_AS(packed_causal_mask({3, 0, 2}), qkv::ValueError);
  CHECK_THROWS_AS(packed_causal_mask({-1}), qkv::ValueError);
}
