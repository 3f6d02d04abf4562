#pragma once
/// @file
/// Golden data in tests: reading matrices from JSON (files written once by PyTorch or NumPy
/// scripts committed beside them, or a chapter's --json output), and comparing matrices
/// element by element with a message that names the first mismatch.

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "qkv/catch.hpp"
#include "qkv/types.hpp"

namespace qkv::testing {

/// Parses a JSON file; fails the test (REQUIRE) when it cannot be read.
inline nlohmann::json load_json(const std::string& path) {
  std::ifstream in(path);
  INFO("golden file: " << path);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

/// A matrix from a JSON array of rows (an empty array gives 0 x 0; null entries give NaN).
inline Matrix matrix_from_json(const nlohmann::json& rows) {
  REQUIRE(rows.is_array());
  const auto n_rows = static_cast<Index>(rows.size());
  const auto n_cols = n_rows ? static_cast<Index>(rows[0].size()) : 0;
  Matrix m(n_rows, n_cols);
  for (Index r = 0; r < n_rows; ++r) {
    const auto& row = rows[static_cast<std::size_t>(r)];
    REQUIRE(static_cast<Index>(row.size()) == n_cols);
    for (Index c = 0; c < n_cols; ++c) {
      const auto& value = row[static_cast<std::size_t>(c)];
      m(r, c) = value.is_null() ? NAN : value.get<float>();
    }
  }
  return m;
}

/// A vector from a flat JSON array.
inline Vector vector_from_json(const nlohmann::json& values) {
  REQUIRE(values.is_array());
  Vector v(static_cast<Index>(values.size()));
  for (Index i = 0; i < v.size(); ++i) {
    const auto& value = values[static_cast<std::size_t>(i)];
    v(i) = value.is_null() ? NAN : value.get<float>();
  }
  return v;
}

/// The four projections of an attention layer from the JSON keys w_q, w_k, w_v and w_o (a
/// golden file or a chapter's --json), with `heads` heads: a qkv::MultiHeadWeights, or any
/// struct with those members. A template so that this header needs no layer header.
template <typename Weights>
Weights layer_weights_from_json(const nlohmann::json& object, Index heads) {
  Weights w;
  w.w_q = matrix_from_json(object["w_q"]);
  w.w_k = matrix_from_json(object["w_k"]);
  w.w_v = matrix_from_json(object["w_v"]);
  w.w_o = matrix_from_json(object["w_o"]);
  w.heads = heads;
  return w;
}

/// Checks that `actual` and `expected` have the same shape and that every element satisfies
/// |a - e| <= abs_tolerance + rel_tolerance |e| (NaN only where NaN is expected). On
/// failure, reports the first mismatching element with both values.
template <typename A, typename B>
void check_matrix_close(const Eigen::MatrixBase<A>& actual, const Eigen::MatrixBase<B>& expected,
                        double rel_tolerance = 1e-5, double abs_tolerance = 1e-6,
                        const std::string& what = "matrix") {
  INFO(what << ": actual is " << actual.rows() << "x" << actual.cols() << ", expected "
            << expected.rows() << "x" << expected.cols());
  REQUIRE(actual.rows() == expected.rows());
  REQUIRE(actual.cols() == expected.cols());
  for (Index r = 0; r < actual.rows(); ++r)
    for (Index c = 0; c < actual.cols(); ++c) {
      const double a = static_cast<double>(actual(r, c));
      const double e = static_cast<double>(expected(r, c));
      const bool ok = std::isnan(e)
                          ? std::isnan(a)
                          : std::abs(a - e) <= abs_tolerance + rel_tolerance * std::abs(e);
      if (!ok) {
        std::ostringstream message;
        message.precision(9);
        message << what << "(" << r << ", " << c << ") is " << a << ", expected " << e
                << " (tolerance " << abs_tolerance << " + " << rel_tolerance << " relative)";
        FAIL_CHECK(message.str());
        return;  // one message per matrix, not thousands
      }
    }
  SUCCEED(what << " matches");
}

}  // namespace qkv::testing
