#pragma once
/// @file
/// Attention weights as pictures: a heatmap in the terminal (24-bit color when stdout is a
/// terminal and NO_COLOR is unset, shading characters otherwise), a horizontal bar chart
/// for one vector of scores, and an SVG heatmap for the documentation site.

#include <cmath>
#include <filesystem>
#include <string>
#include <string_view>

#include "qkv/types.hpp"

namespace qkv {

/// True when stdout is a terminal and the NO_COLOR environment variable is unset or empty
/// (https://no-color.org). Colors are never written into a pipe or a file.
bool stdout_supports_color();

/// A heatmap of `m` with one labelled line per row and a labelled column per column.
/// Each cell shows its value; with `color` its background goes from dark (the smallest
/// value of `m`, or `low`) to bright (the largest, or `high`); without, a shading
/// character from ' ' to '█' follows the value.
/// @param low,high  the value range mapped to the color scale; NaN (default) means the
///                  matrix's own minimum and maximum.
std::string terminal_heatmap(const Matrix& m, const Labels& row_labels, const Labels& col_labels,
                             bool color, float low = NAN, float high = NAN);

/// One bar per entry of `values`, length proportional to the value (negative values draw to
/// the left of a zero line), labelled and followed by the number.
std::string bar_chart(const Vector& values, const Labels& labels, bool color, int width = 32);

/// Writes an SVG heatmap of `m` (cells colored on the viridis scale, values printed, row and
/// column labels, a title) to `path`. Writes a temporary file and renames it, so a failure
/// never leaves a half-written figure behind. Throws qkv::Error when the file cannot be
/// written.
void write_svg_heatmap(const std::filesystem::path& path, std::string_view title, const Matrix& m,
                       const Labels& row_labels, const Labels& col_labels);

}  // namespace qkv
