#pragma once
/// @file
/// The numeric types of qkv. Every matrix holds one token per row, as in the formulas:
/// X is T x d_model, Q is T x d_head, the scores Q K^T are T_q x T_k.

#include <Eigen/Core>
#include <concepts>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace qkv {

/// Indices and sizes, signed like Eigen's (a negative size is caught, not wrapped around).
using Index = Eigen::Index;

/// A matrix of 32-bit floats, the precision PyTorch uses by default.
using Matrix = Eigen::MatrixXf;
/// A column vector of 32-bit floats (one token's embedding, one query's scores, ...).
using Vector = Eigen::VectorXf;
/// Double-precision versions, for references and float-vs-double agreement checks.
using MatrixD = Eigen::MatrixXd;
using VectorD = Eigen::VectorXd;  ///< A column vector of doubles (see MatrixD).
/// T_q x T_k, true where query i may attend to key j: the masks of chapter 04 (masking.hpp,
/// which makes them). Named here so that a header can take one without including masking.
using Mask = Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic>;

/// Labels for the rows or columns of a printed matrix (usually tokens): a vector of strings
/// that is indexed with the same Index as the matrix it labels, `labels[row]`, without a cast.
struct Labels : std::vector<std::string> {
  using std::vector<std::string>::vector;
  Labels() = default;
  /// Any vector of strings is a list of labels.
  Labels(std::vector<std::string> strings) : std::vector<std::string>(std::move(strings)) {}

  /// Label `i`, for any integer type (Index, std::size_t, int).
  template <std::integral I>
  const std::string& operator[](I i) const {
    return std::vector<std::string>::operator[](static_cast<size_type>(i));
  }
  /// Label `i`, writable.
  template <std::integral I>
  std::string& operator[](I i) {
    return std::vector<std::string>::operator[](static_cast<size_type>(i));
  }
};

/// A matrix written out row by row, so hand-made examples read like tables:
/// `matrix_from_rows({{1, 2}, {3, 4}})`. Throws std::invalid_argument for ragged rows.
inline Matrix matrix_from_rows(std::initializer_list<std::initializer_list<float>> rows) {
  const auto cols = rows.size() ? static_cast<Index>(rows.begin()->size()) : 0;
  Matrix m(static_cast<Index>(rows.size()), cols);
  Index r = 0;
  for (const auto& row : rows) {
    if (static_cast<Index>(row.size()) != cols)
      throw std::invalid_argument("matrix_from_rows: rows of different lengths");
    Index c = 0;
    for (float value : row) m(r, c++) = value;
    ++r;
  }
  return m;
}

/// A vector written out: `vector_of({0, 0.5f, 2, 0})`.
inline Vector vector_of(std::initializer_list<float> values) {
  Vector v(static_cast<Index>(values.size()));
  Index i = 0;
  for (float value : values) v(i++) = value;
  return v;
}

}  // namespace qkv
