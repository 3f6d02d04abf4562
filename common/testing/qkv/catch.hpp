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

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

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

/// Matches a string that contains every one of `parts`; a failure names the missing ones:
/// `CHECK_THAT(out, contains_all({"0 of 3 done", "[next] add_one"}))`.
class ContainsAll : public MatcherBase<std::string> {
 public:
  explicit ContainsAll(std::vector<std::string> parts) : parts_(std::move(parts)) {}
  bool match(const std::string& text) const override {
    missing_.clear();
    for (const std::string& part : parts_)
      if (text.find(part) == std::string::npos) missing_.push_back(part);
    return missing_.empty();
  }
  std::string describe() const override {
    std::string out = "contains all of " + quoted(parts_);
    if (!missing_.empty()) out += "; missing " + quoted(missing_);
    return out;
  }

 private:
  static std::string quoted(const std::vector<std::string>& texts) {
    std::string out;
    for (const std::string& text : texts) out += (out.empty() ? "\"" : ", \"") + text + "\"";
    return out;
  }
  std::vector<std::string> parts_;
  mutable std::vector<std::string> missing_;  // of the last match(), for describe()
};

/// See ContainsAll.
inline ContainsAll contains_all(std::initializer_list<std::string> parts) {
  return ContainsAll(std::vector<std::string>(parts));
}
}  // namespace qkv::testing
