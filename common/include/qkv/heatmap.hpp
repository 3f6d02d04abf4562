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

/// A heatmap of `m` with one labelled line per row and a labelled column per column, and a
/// legend line under it that says which shade or color stands for which value.
/// Each cell shows its value to 2 decimals and is shaded by that printed value v:
/// t = (v - low) / (high - low) in [0, 1], with low and high the smallest and largest printed
/// finite values of `m` (or the `low`, `high` given). With `color` its background is viridis
/// at t, from dark to bright; without, one of 5 shades ' ', '░', '▒', '▓', '█', the one at
/// the nearest of t = 0, 1/4, .., 1. Cells that print the same number look the same, and a
/// matrix whose cells all print the same number (low = high) is shaded evenly (t = 1/2);
/// NaN and infinite cells are off the scale (blank, or gray).
/// @param low,high  the value range mapped to the scale; NaN (default) means the matrix's
///                  own smallest and largest printed values.
std::string terminal_heatmap(const Matrix& m, const Labels& row_labels, const Labels& col_labels,
                             bool color, float low = NAN, float high = NAN);

/// One bar per entry of `values`, length proportional to the value (negative values draw to
/// the left of a zero line), labelled and followed by the number.
std::string bar_chart(const Vector& values, const Labels& labels, bool color, int width = 32);

/// Writes an SVG heatmap of `m` (cells colored on the viridis scale as terminal_heatmap()
/// colors them, values printed, row and column labels, a title, and under the cells the
/// scale: a viridis bar labelled with the values at 0, 1/4, .., 1 of it, or for a constant
/// matrix its one value) to `path`. Writes a temporary file and renames it, so a failure
/// never leaves a half-written figure behind. Throws qkv::Error when the file cannot be
/// written.
void write_svg_heatmap(const std::filesystem::path& path, std::string_view title, const Matrix& m,
                       const Labels& row_labels, const Labels& col_labels);

}  // namespace qkv
