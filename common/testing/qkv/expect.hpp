#pragma once
/// @file
/// Checks of matrices, vectors and masks whose failures show the values: Catch2 matchers for
/// CHECK_THAT / REQUIRE_THAT that print what the code gave, what was expected, and the first
/// entry where they differ, instead of a bare `false`.
///
///     CHECK_THAT(decoding_window_mask(2, 5, 3), qkv::testing::equals(expected));
///     CHECK_THAT(output, qkv::testing::is_close(reference, 1e-5, 1e-6));
///     CHECK_THAT(output, qkv::testing::all_finite());
///     CHECK_THAT(weights, qkv::testing::satisfies<Matrix>("is accepted by check()", check));
///
/// Including this header also makes Catch print every Eigen matrix, vector and mask in a
/// test's output as a labelled table ("2x5 mask:" and its rows), large ones in part.

#include <algorithm>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <iomanip>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "qkv/catch.hpp"
#include "qkv/types.hpp"

namespace qkv::testing {

namespace detail {

/// Printed tables show at most this many rows and columns, around the entry of interest.
inline constexpr Index print_limit = 12;

/// The first entry where two matrices differ, or the shapes when they do.
struct Difference {
  bool shapes = false;  ///< the shapes differ (row and col are then meaningless)
  Index row = 0;
  Index col = 0;
  std::string detail;  ///< "got 1, expected 0", or the shapes
};

template <typename Scalar>
std::string format_entry(Scalar value, int precision) {
  if constexpr (std::is_same_v<Scalar, bool>) {
    return value ? "1" : "0";
  } else {
    std::ostringstream out;
    out << std::setprecision(precision) << static_cast<double>(value);
    return out.str();
  }
}

/// What a matrix holds, in words: "mask", "vector" or "matrix".
template <typename Derived>
std::string kind_of(const Eigen::DenseBase<Derived>&) {
  if constexpr (std::is_same_v<typename Derived::Scalar, bool>) return "mask";
  if constexpr (Derived::ColsAtCompileTime == 1) return "vector";
  return "matrix";
}

/// A labelled table, "RxC kind:" then one indented line per row, aligned, entries to 5
/// significant digits. A vector is printed as one line. A table that does not fit (more
/// than print_limit rows, or lines wider than Catch's 80 columns) shows the rows and columns
/// around `focus` (the first difference), and says which; the entry at `focus` is bracketed.
template <typename Derived>
std::string table(const Eigen::DenseBase<Derived>& m,
                  std::optional<std::pair<Index, Index>> focus = std::nullopt) {
  std::ostringstream out;
  out << m.rows() << "x" << m.cols() << " " << kind_of(m);
  if (m.size() == 0) return out.str() + " (empty)";
  const bool as_row = Derived::ColsAtCompileTime == 1;  // a vector: one line
  const Index rows = as_row ? 1 : m.rows(), cols = as_row ? m.rows() : m.cols();
  const auto at = [&](Index r, Index c) { return as_row ? m(c, 0) : m(r, c); };
  std::optional<std::pair<Index, Index>> mark = focus;
  if (mark && as_row) mark = std::pair{Index{0}, mark->first};
  // A window of at most `limit` of `size`, starting a little before the focus.
  const auto window = [](Index size, Index limit, Index center) {
    if (size <= limit) return std::pair<Index, Index>{0, size};
    const Index first = std::clamp<Index>(center - limit / 3, 0, size - limit);
    return std::pair<Index, Index>{first, first + limit};
  };
  const auto [r0, r1] = window(rows, print_limit, mark ? mark->first : 0);
  // As many columns as fit in Catch's 80-column lines (4 of indent, 2 around each entry).
  std::size_t width = 1;
  for (Index r = r0; r < r1; ++r)
    for (Index c = 0; c < cols; ++c) width = std::max(width, format_entry(at(r, c), 5).size());
  const Index fit = std::max<Index>(1, static_cast<Index>(74 / (width + 2)));
  const auto [c0, c1] =
      window(cols, as_row ? fit : std::min(fit, print_limit), mark ? mark->second : 0);
  if (r1 - r0 < rows || c1 - c0 < cols) {
    out << ", " << (as_row ? "entries " : "rows ") << (as_row ? c0 : r0) << ".."
        << (as_row ? c1 : r1) - 1;
    if (!as_row) out << ", columns " << c0 << ".." << c1 - 1;
  }
  out << ":";
  for (Index r = r0; r < r1; ++r) {
    out << "\n   ";
    for (Index c = c0; c < c1; ++c) {
      const std::string cell = format_entry(at(r, c), 5);
      if (mark && mark->first == r && mark->second == c)
        out << std::setw(static_cast<int>(width) + 1) << "[" + cell << "]";
      else
        out << std::setw(static_cast<int>(width) + 1) << cell << " ";
    }
  }
  return out.str();
}

/// The first entry (in row-major order, as a reader scans) where `differs(a, e)` holds.
template <typename A, typename B, typename Differs>
std::optional<Difference> first_difference(const Eigen::DenseBase<A>& actual,
                                           const Eigen::DenseBase<B>& expected, Differs differs) {
  if (actual.rows() != expected.rows() || actual.cols() != expected.cols()) {
    std::ostringstream shapes;
    shapes << "the shapes differ: got " << actual.rows() << "x" << actual.cols() << ", expected "
           << expected.rows() << "x" << expected.cols();
    return Difference{true, 0, 0, shapes.str()};
  }
  for (Index r = 0; r < actual.rows(); ++r)
    for (Index c = 0; c < actual.cols(); ++c)
      if (differs(actual(r, c), expected(r, c))) {
        std::ostringstream detail;
        detail << "got " << format_entry(actual(r, c), 9) << ", expected "
               << format_entry(expected(r, c), 9);
        return Difference{false, r, c, detail.str()};
      }
  return std::nullopt;
}

/// "at row 1, column 4" (or "at entry 4" of a vector).
template <typename Derived>
std::string position(const Eigen::DenseBase<Derived>&, const Difference& difference) {
  if (Derived::ColsAtCompileTime == 1) return "at entry " + std::to_string(difference.row);
  return "at row " + std::to_string(difference.row) + ", column " + std::to_string(difference.col);
}

/// Compares against an expected matrix, vector or mask: exactly, or within a tolerance.
template <typename Plain>
class MatrixMatcher : public MatcherBase<Plain> {
 public:
  /// Exact when `tolerance` is empty; else |a - e| <= abs + rel |e| for every entry (NaN
  /// only where NaN is expected).
  MatrixMatcher(Plain expected, std::optional<std::pair<double, double>> tolerance)
      : expected_(std::move(expected)), tolerance_(tolerance) {}

  bool match(const Plain& actual) const override {
    using Scalar = typename Plain::Scalar;
    const auto differs = [this](Scalar a, Scalar e) {
      if constexpr (std::is_same_v<Scalar, bool>) {
        return a != e;
      } else {
        const double x = static_cast<double>(a), y = static_cast<double>(e);
        if (std::isnan(y) || std::isnan(x)) return std::isnan(x) != std::isnan(y);
        if (!tolerance_) return x != y;
        if (std::isinf(y) || std::isinf(x)) return x != y;
        return std::abs(x - y) > tolerance_->second + tolerance_->first * std::abs(y);
      }
    };
    difference_ = first_difference(actual, expected_, differs);
    actual_window_.clear();
    // Catch prints the actual value from its top-left corner; when that part does not hold
    // the difference, show the actual entries around it too.
    if (difference_ && !difference_->shapes) {
      const std::string around = table(actual, std::pair{difference_->row, difference_->col});
      const std::string corner = table(actual);
      if (around.substr(0, around.find(':')) != corner.substr(0, corner.find(':')))
        actual_window_ = around;
    }
    if (difference_ && !difference_->shapes && tolerance_) {
      const double x = static_cast<double>(actual(difference_->row, difference_->col));
      const double y = static_cast<double>(expected_(difference_->row, difference_->col));
      std::ostringstream detail;
      detail << " (off by " << std::setprecision(3) << std::abs(x - y) << ", allowed "
             << tolerance_->second + tolerance_->first * std::abs(y) << ")";
      difference_->detail += detail.str();
    }
    return !difference_;
  }

 protected:
  std::string describe() const override {
    std::ostringstream out;  // on a line of its own, after the actual value's table
    out << "\n" << (tolerance_ ? "is close to" : "equals") << " the expected ";
    if (tolerance_)
      out << "(within " << tolerance_->second << " + " << tolerance_->first << " |expected|) ";
    std::optional<std::pair<Index, Index>> focus;
    if (difference_ && !difference_->shapes) focus = std::pair{difference_->row, difference_->col};
    out << table(expected_, focus);
    if (!actual_window_.empty()) out << "\nwhere the code gave " << actual_window_;
    if (difference_) {
      out << "\nfirst difference ";
      if (!difference_->shapes) out << position(expected_, *difference_) << ": ";
      out << difference_->detail;
    }
    return out.str();
  }

 private:
  Plain expected_;
  std::optional<std::pair<double, double>> tolerance_;
  mutable std::optional<Difference> difference_;  // found by match(), shown by describe()
  mutable std::string actual_window_;             // the actual entries around the difference
};

/// Every entry is finite; a failure names the first one that is not.
template <typename Plain>
class AllFiniteMatcher : public MatcherBase<Plain> {
 public:
  bool match(const Plain& actual) const override {
    for (Index r = 0; r < actual.rows(); ++r)
      for (Index c = 0; c < actual.cols(); ++c)
        if (!std::isfinite(static_cast<double>(actual(r, c)))) {
          std::ostringstream where;
          where << "\nfirst non-finite entry " << position(actual, Difference{false, r, c, ""})
                << ": " << format_entry(actual(r, c), 9);
          where_ = where.str();
          return false;
        }
    where_.clear();
    return true;
  }

 protected:
  std::string describe() const override { return "\nhas only finite entries" + where_; }

 private:
  mutable std::string where_;
};

/// True when `predicate` says `wanted` of the value; `description` says what that means.
template <typename T>
class PredicateMatcher : public MatcherBase<T> {
 public:
  PredicateMatcher(std::string description, std::function<bool(const T&)> predicate, bool wanted)
      : description_(std::move(description)), predicate_(std::move(predicate)), wanted_(wanted) {}
  bool match(const T& actual) const override { return predicate_(actual) == wanted_; }

 protected:
  std::string describe() const override { return "\n" + description_; }

 private:
  std::string description_;
  std::function<bool(const T&)> predicate_;
  bool wanted_ = true;
};

}  // namespace detail

/// A mask (qkv::Mask, masking.hpp's type, spelled out so that this header needs no
/// masking.hpp) written out by rows, 1 (may see) and 0: mask_from_rows({{1, 0}, {1, 1}}).
inline Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic> mask_from_rows(
    std::initializer_list<std::initializer_list<int>> rows) {
  Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic> mask(static_cast<Index>(rows.size()),
                                                          static_cast<Index>(rows.begin()->size()));
  Index r = 0;
  for (const auto& row : rows) {
    Index c = 0;
    for (int allowed : row) mask(r, c++) = allowed != 0;
    ++r;
  }
  return mask;
}

/// Matches a matrix, vector or mask equal to `expected`, entry for entry and in shape.
/// On failure: both tables and the first differing entry.
template <typename Derived>
auto equals(const Eigen::DenseBase<Derived>& expected) {
  using Plain = typename Derived::PlainObject;
  return detail::MatrixMatcher<Plain>(Plain(expected), std::nullopt);
}

/// Matches a float matrix or vector with |actual - expected| <= abs + rel |expected| in every
/// entry (NaN only where NaN is expected), the tolerance of check_matrix_close.
template <typename Derived>
auto is_close(const Eigen::DenseBase<Derived>& expected, double rel = 1e-5, double abs = 1e-6) {
  using Plain = typename Derived::PlainObject;
  return detail::MatrixMatcher<Plain>(Plain(expected), std::pair{rel, abs});
}

/// Matches a matrix (or vector, with all_finite<Vector>()) with no NaN and no infinity.
template <typename Plain = Matrix>
auto all_finite() {
  return detail::AllFiniteMatcher<Plain>();
}

/// Matches a value for which `predicate` returns true; `description` says what that means
/// ("is accepted by weights_sum_to_one"). Catch prints the value itself, so the failure of
/// a yes/no function still shows its input, which CHECK(f(x)) would not.
template <typename T, typename Predicate>
auto satisfies(std::string description, Predicate predicate) {
  return detail::PredicateMatcher<T>(std::move(description), std::move(predicate), true);
}

/// Matches a value for which `predicate` returns false (see satisfies()).
template <typename T, typename Predicate>
auto does_not_satisfy(std::string description, Predicate predicate) {
  return detail::PredicateMatcher<T>(std::move(description), std::move(predicate), false);
}

}  // namespace qkv::testing

/// Every Eigen matrix, vector and mask in a Catch message prints as a labelled table
/// (rows and columns around the start when it is large), not as Eigen's bare stream.
namespace Catch {
template <typename T>
struct StringMaker<T, std::enable_if_t<std::is_base_of_v<Eigen::DenseBase<T>, T>>> {
  static std::string convert(const T& value) {
    return qkv::testing::detail::table(typename T::PlainObject(value));
  }
};
}  // namespace Catch
