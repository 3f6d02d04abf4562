#pragma once
/// @file
/// A seeded random generator that gives the same numbers on every platform.
///
/// `std::normal_distribution` and `std::uniform_real_distribution` are implemented
/// differently by libstdc++, libc++ and MSVC, so a chapter that used them would print
/// different numbers on a Mac than on Linux. qkv::Random spells its algorithms out:
/// xoshiro256** (seeded through SplitMix64) for the bits, exact scaling for uniforms and
/// the Box-Muller transform in double precision, rounded to float, for normals.

#include <cmath>
#include <cstdint>
#include <numbers>

#include "qkv/error.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// Deterministic random numbers: the same seed gives the same sequence everywhere.
class Random {
 public:
  /// Seeds the four state words from `seed` with SplitMix64, as xoshiro's authors advise.
  explicit Random(std::uint64_t seed) {
    for (auto& word : state_) word = splitmix64(seed);
  }

  /// 64 random bits (xoshiro256**).
  std::uint64_t next_bits() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform in [0, 1): the top 53 bits scaled by 2^-53, exact in double.
  double uniform01() { return static_cast<double>(next_bits() >> 11) * 0x1.0p-53; }

  /// Uniform in [low, high).
  double uniform(double low, double high) { return low + (high - low) * uniform01(); }

  /// Standard normal N(0, 1) by the Box-Muller transform: z = sqrt(-2 ln u1) cos(2 pi u2).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - uniform01();  // in (0, 1], so log(u1) is finite
    const double u2 = uniform01();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * std::numbers::pi * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

  /// Uniform integer in [0, n), without modulo bias (rejection sampling).
  std::uint64_t below(std::uint64_t n) {
    require(n > 0, "Random::below", "n must be positive");
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t bits = next_bits();
    while (bits >= limit) bits = next_bits();
    return bits % n;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::uint64_t state_[4]{};
  double spare_ = 0.0;
  bool has_spare_ = false;
};

/// A rows x cols matrix of N(0, stddev^2) entries, filled row by row.
inline Matrix random_normal(Random& random, Index rows, Index cols, double stddev = 1.0) {
  require(rows >= 0 && cols >= 0, "random_normal", "sizes must not be negative");
  Matrix m(rows, cols);
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) m(r, c) = static_cast<float>(stddev * random.normal());
  return m;
}

/// A rows x cols matrix of U(low, high) entries, filled row by row.
inline Matrix random_uniform(Random& random, Index rows, Index cols, double low, double high) {
  require(rows >= 0 && cols >= 0, "random_uniform", "sizes must not be negative");
  Matrix m(rows, cols);
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) m(r, c) = static_cast<float>(random.uniform(low, high));
  return m;
}

/// A fan_in x fan_out weight matrix initialised like PyTorch's nn.Linear:
/// W ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), which keeps x W at the scale of x.
inline Matrix init_linear_weight(Random& random, Index fan_in, Index fan_out) {
  require(fan_in > 0 && fan_out >= 0, "init_linear_weight", "fan_in must be positive");
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  return random_uniform(random, fan_in, fan_out, -bound, bound);
}

}  // namespace qkv
