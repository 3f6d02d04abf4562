#pragma once
/// @file
/// Printing Eigen matrices and vectors with fmt: a name, the shape, labels, and a
/// per-element format spec. fmt cannot format Eigen types by itself (and a blanket
/// formatter collides with fmt's range support), so qkv formats element by element.

#include <string>
#include <string_view>

#include "qkv/types.hpp"

namespace qkv {

/// The default element format: fixed point, 4 decimals, 8 characters wide.
inline constexpr std::string_view default_spec = "{:8.4f}";

/// "(4 x 8)": the shape as printed beside a matrix's name.
std::string shape_label(Index rows, Index cols);

/// Formats `m` as a table, one row per line, each element with the fmt spec `spec`
/// (e.g. "{:7.3f}"). Row labels (one per row) start each line; column labels (one per
/// column) form a header line. Either may be empty.
std::string format_matrix(const Matrix& m, std::string_view spec = default_spec,
                          const Labels& row_labels = {}, const Labels& col_labels = {});

/// Formats a vector on one line, as a 1 x n row, optionally with a label above each entry.
std::string format_vector(const Vector& v, std::string_view spec = default_spec,
                          const Labels& labels = {});

/// Prints "name (rows x cols)" and the table to stdout.
void print_matrix(std::string_view name, const Matrix& m, std::string_view spec = default_spec,
                  const Labels& row_labels = {}, const Labels& col_labels = {});

/// Prints "name (n)" and the vector on one line to stdout.
void print_vector(std::string_view name, const Vector& v, std::string_view spec = default_spec,
                  const Labels& labels = {});

}  // namespace qkv
