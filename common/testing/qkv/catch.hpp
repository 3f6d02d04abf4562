#pragma once
/// @file
/// The one place that knows whether Catch2 is v3 (most distributions) or v2.13 (Debian 12).
/// Tests include this header and use Catch's macros, `Approx` and the floating-point
/// matchers the same way under both.

#if __has_include(<catch2/catch_test_macros.hpp>)
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers.hpp>
#include <catch2/matchers/catch_matchers_floating_point.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#endif

using Catch::Matchers::WithinAbs;
using Catch::Matchers::WithinRel;

#include <string>

namespace qkv::testing {
/// The base of a typed matcher (`bool match(const T&) const` and `std::string describe()
/// const`): Catch2 v3 moved it from Catch to Catch::Matchers.
#if __has_include(<catch2/catch_test_macros.hpp>)
template <typename T>
using MatcherBase = Catch::Matchers::MatcherBase<T>;
#else
template <typename T>
using MatcherBase = Catch::MatcherBase<T>;
#endif

/// Matches a string that contains `text` (Catch2 v3 renamed `Contains` to `ContainsSubstring`).
inline auto contains(const std::string& text) {
#if __has_include(<catch2/catch_test_macros.hpp>)
  return Catch::Matchers::ContainsSubstring(text);
#else
  return Catch::Matchers::Contains(text);
#endif
}
}  // namespace qkv::testing
