#pragma once
/// @file
/// Printing Eigen matrices and vectors with fmt: a name, the shape, labels, and a
/// per-element format spec. fmt cannot format Eigen types by itself (and a blanket
/// formatter collides with fmt's range support), so qkv formats element by element.
///
/// One rule prints every number, in tables, heatmaps and sentences alike (format_cell()):
/// a finite number with the spec; an infinity as `inf` or `-inf`; a NaN as `nan`, never
/// `-nan` (the sign of a NaN is whatever the machine left there and means nothing). With an
/// integer spec (`{:3d}`) the value is printed as a whole number, and a NaN is an empty
/// cell, printed as `-`: a table of positions or counts holds no computed NaN, only entries
/// that are missing (`--json` writes them as null).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "qkv/types.hpp"

namespace qkv {

/// The default element format: fixed point, 4 decimals, 8 characters wide.
inline constexpr std::string_view default_spec = "{:8.4f}";

/// The widest table a lesson prints, in columns, and the most rows: a larger matrix is
/// printed with its first and last columns (or rows) and `...` between; --json has it all.
inline constexpr std::size_t lesson_width = 100;
inline constexpr Index lesson_rows = 32;  ///< See lesson_width.

/// One number as printed everywhere (see the file's rule): `spec` for a finite value, `inf`,
/// `-inf`, `nan`; with an integer spec such as "{:3d}", the value rounded to a whole number
/// and a NaN as an empty cell, `-`. Non-finite values are padded to the spec's width.
std::string format_cell(double value, std::string_view spec);

/// Every entry of `v` with format_cell(), concatenated: "  0.123  0.456" for "{:7.3f}".
std::string format_numbers(const Vector& v, std::string_view spec);

/// "(4 x 8)": the shape as printed beside a matrix's name.
std::string shape_label(Index rows, Index cols);

/// Formats `m` as a table, one row per line, each element with the fmt spec `spec`
/// (e.g. "{:7.3f}"). Row labels (one per row) start each line; column labels (one per
/// column) form a header line. Either may be empty.
std::string format_matrix(const Matrix& m, std::string_view spec = default_spec,
                          const Labels& row_labels = {}, const Labels& col_labels = {});

/// format_matrix(), but a table wider than `width` columns shows only its first and last
/// columns, with a `...` column between (labelled with their indices when no column labels
/// are given), and one taller than `max_rows` only its first and last rows, with a `...`
/// row between. A matrix that fits is formatted exactly as format_matrix() does.
std::string format_matrix_within(const Matrix& m, std::string_view spec, const Labels& row_labels,
                                 const Labels& col_labels, std::size_t width, Index max_rows);

/// Formats a vector on one line, as a 1 x n row, optionally with a label above each entry.
std::string format_vector(const Vector& v, std::string_view spec = default_spec,
                          const Labels& labels = {});

/// Prints "name (rows x cols)" and the table to stdout.
void print_matrix(std::string_view name, const Matrix& m, std::string_view spec = default_spec,
                  const Labels& row_labels = {}, const Labels& col_labels = {});

/// Prints "name (n)" and the vector on one line to stdout.
void print_vector(std::string_view name, const Vector& v, std::string_view spec = default_spec,
                  const Labels& labels = {});

/// The terms "a1*b1 + a2*b2 + ..." of a dot product written out, 4 decimals, four terms to a
/// line (later lines start with "+ "); past 8 terms only the first 4 and the last are
/// written, with "... (n more terms) ..." between.
std::vector<std::string> dot_product_terms(const Vector& a, const Vector& b);

/// "t0", "t1", ..., "t{count-1}": `prefix` followed by each index.
Labels numbered_labels(std::string_view prefix, Index count);

/// A count and its noun, singular or plural as the count says: "1 token", "6 tokens".
std::string plural(std::int64_t count, std::string_view noun);

/// The labels joined by `separator`: join({"a", "b"}, " > ") is "a > b".
std::string join(const Labels& labels, std::string_view separator);

/// 2362368 as "2,362,368".
std::string with_commas(std::int64_t n);

/// Bytes in the largest binary unit that keeps the number >= 1, 4 significant digits:
/// "2 GiB", "72 MiB", "1.5 KiB", "96 bytes".
std::string human_bytes(std::int64_t bytes);

}  // namespace qkv
