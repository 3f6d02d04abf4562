// Everything qkv prints or writes: matrices, heatmaps, bar charts, SVG figures, JSON and
// the Lesson narrator. One translation unit, because each one that includes Eigen costs
// seconds of compile time.

#include <fmt/color.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include "qkv/error.hpp"
#include "qkv/files.hpp"
#include "qkv/heatmap.hpp"
#include "qkv/json.hpp"
#include "qkv/lesson.hpp"
#include "qkv/print.hpp"
#include "qkv/terminal.hpp"

namespace qkv {
namespace {

// Columns a label or cell takes: code points, not bytes (labels may be 'é', '█').
std::size_t display_width(std::string_view text) { return display_columns(text); }

std::string pad_left(std::string_view text, std::size_t width) {
  const std::size_t w = display_width(text);
  return std::string(width > w ? width - w : 0, ' ') + std::string(text);
}

std::string pad_right(std::string_view text, std::size_t width) {
  const std::size_t w = display_width(text);
  return std::string(text) + std::string(width > w ? width - w : 0, ' ');
}

std::size_t widest(const Labels& labels) {
  std::size_t width = 0;
  for (const auto& label : labels) width = std::max(width, display_width(label));
  return width;
}

void require_labels(const Labels& labels, Index count, std::string_view function,
                    std::string_view which) {
  if (!labels.empty() && static_cast<Index>(labels.size()) != count) {
    throw ShapeError(
        fmt::format("{}: {} {} labels for {} {}s", function, labels.size(), which, count, which));
  }
}

// Viridis, sampled at 9 points and interpolated linearly: perceptually uniform and
// readable by colour-blind readers.
struct Rgb {
  std::uint8_t r, g, b;
};
constexpr std::array<Rgb, 9> viridis{{{68, 1, 84},
                                      {71, 44, 122},
                                      {59, 81, 139},
                                      {44, 113, 142},
                                      {33, 144, 141},
                                      {39, 173, 129},
                                      {92, 200, 99},
                                      {170, 220, 50},
                                      {253, 231, 37}}};

Rgb viridis_at(double t) {
  if (!std::isfinite(t)) return {128, 128, 128};
  t = std::clamp(t, 0.0, 1.0) * static_cast<double>(viridis.size() - 1);
  const auto i = std::min(static_cast<std::size_t>(t), viridis.size() - 2);
  const double f = t - static_cast<double>(i);
  auto mix = [f](std::uint8_t a, std::uint8_t b) {
    return static_cast<std::uint8_t>(std::lround(a + f * (b - a)));
  };
  return {mix(viridis[i].r, viridis[i + 1].r), mix(viridis[i].g, viridis[i + 1].g),
          mix(viridis[i].b, viridis[i + 1].b)};
}

// The value a heatmap cell prints: cells are shaded by it, so that two cells that read the
// same look the same, and a matrix whose cells all read alike (04_masking --dim 1, where
// every weight reads 0.17) is shaded evenly instead of stretching differences in the 8th
// digit from blank to full.
float printed_value(float value) {
  return std::strtof(fmt::format("{:.2f}", value).c_str(), nullptr);
}

// The values a heatmap's shading spans, from its smallest to its largest printed finite
// value (or the `low` and `high` a caller fixed).
// Without the padding format_cell() puts before a number.
std::string trim_left(const std::string& text) {
  return text.substr(std::min(text.find_first_not_of(' '), text.size()));
}

struct HeatScale {
  float low = 0.0f, high = 0.0f;
  bool non_finite = false;  // some cells are NaN or infinite: they are not on the scale
  bool whole = false;  // whole numbers (positions, counts): printed without decimals, NaN empty
  bool constant() const { return !(high > low); }
  // Where `value` falls on the scale, as 0..1 (0.5 on a constant scale); NaN off the scale.
  double position(float value) const {
    if (!std::isfinite(value)) return NAN;
    if (constant()) return 0.5;
    return (static_cast<double>(printed_value(value)) - low) / (static_cast<double>(high) - low);
  }
  // The value at position t, for the legend.
  double at(double t) const { return low + t * (static_cast<double>(high) - low); }
};

HeatScale heat_scale(const Matrix& m, float low, float high) {
  HeatScale scale;
  float lo = INFINITY, hi = -INFINITY;
  for (Index r = 0; r < m.rows(); ++r)
    for (Index c = 0; c < m.cols(); ++c) {
      if (!std::isfinite(m(r, c))) {
        scale.non_finite = true;
        continue;
      }
      lo = std::min(lo, printed_value(m(r, c)));
      hi = std::max(hi, printed_value(m(r, c)));
    }
  if (lo > hi) lo = hi = 0.0f;  // nothing finite
  scale.low = std::isnan(low) ? lo : low;
  scale.high = std::isnan(high) ? hi : high;
  return scale;
}

// The legend's values at the five positions 0, 1/4, .., 1, with as many decimals as it
// takes to tell them apart (2 at least, as the cells print; 6 at most).
std::array<std::string, 5> legend_labels(const HeatScale& scale) {
  std::array<std::string, 5> labels;
  for (int decimals = 2; decimals <= 6; ++decimals) {
    for (std::size_t k = 0; k < labels.size(); ++k)
      labels[k] = fmt::format("{:.{}f}", scale.at(static_cast<double>(k) / 4.0), decimals);
    if (std::adjacent_find(labels.begin(), labels.end()) == labels.end()) break;
  }
  return labels;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------- print.hpp

std::string shape_label(Index rows, Index cols) { return fmt::format("({} x {})", rows, cols); }

namespace {

bool integer_spec(std::string_view spec) {
  return spec.size() >= 2 && spec[spec.size() - 2] == 'd';
}

// The selection of rows or columns to print: all `count` when `shown` >= count, else the
// first ceil(shown / 2) and the last floor(shown / 2), with -1 standing for "...".
std::vector<Index> selection(Index count, Index shown) {
  std::vector<Index> out;
  if (shown >= count) {
    for (Index i = 0; i < count; ++i) out.push_back(i);
    return out;
  }
  const Index first = (shown + 1) / 2, last = shown / 2;
  for (Index i = 0; i < first; ++i) out.push_back(i);
  out.push_back(-1);
  for (Index i = count - last; i < count; ++i) out.push_back(i);
  return out;
}

// The table of format_matrix() for the rows and columns selected (-1: a "..." row or column).
std::string format_selected(const Matrix& m, std::string_view spec, const Labels& row_labels,
                            const Labels& col_labels, const std::vector<Index>& rows,
                            const std::vector<Index>& cols) {
  const std::string dots = "...";
  auto cell = [&](Index r, Index c) { return r < 0 || c < 0 ? dots : format_cell(m(r, c), spec); };
  // Every cell as text first, so columns can be aligned to the widest entry.
  std::size_t cell_width = widest(col_labels);
  for (Index r : rows)
    for (Index c : cols) cell_width = std::max(cell_width, display_width(cell(r, c)));
  const std::size_t label_width = widest(row_labels);
  std::string out;
  if (!col_labels.empty()) {
    out += "  " + std::string(label_width + (label_width ? 1 : 0), ' ');
    for (Index c : cols) out += " " + pad_left(c < 0 ? dots : col_labels[c], cell_width);
    out += '\n';
  }
  for (Index r : rows) {
    out += "  ";
    if (label_width) out += pad_right(r < 0 ? dots : row_labels[r], label_width) + " ";
    for (Index c : cols) out += " " + pad_left(cell(r, c), cell_width);
    out += '\n';
  }
  return out;
}

}  // namespace

std::string format_cell(double value, std::string_view spec) {
  const bool integer = integer_spec(spec);
  if (std::isfinite(value)) {
    return integer ? fmt::format(fmt::runtime(spec), std::llround(value))
                   : fmt::format(fmt::runtime(spec), value);
  }
  const std::string zero =
      integer ? fmt::format(fmt::runtime(spec), 0) : fmt::format(fmt::runtime(spec), 0.0);
  const char* word = std::isnan(value) ? (integer ? "-" : "nan") : value > 0 ? "inf" : "-inf";
  return pad_left(word, display_width(zero));
}

std::string format_numbers(const Vector& v, std::string_view spec) {
  std::string out;
  for (Index i = 0; i < v.size(); ++i) out += format_cell(v(i), spec);
  return out;
}

std::string format_matrix(const Matrix& m, std::string_view spec, const Labels& row_labels,
                          const Labels& col_labels) {
  require_labels(row_labels, m.rows(), "format_matrix", "row");
  require_labels(col_labels, m.cols(), "format_matrix", "column");
  return format_selected(m, spec, row_labels, col_labels, selection(m.rows(), m.rows()),
                         selection(m.cols(), m.cols()));
}

std::string format_matrix_within(const Matrix& m, std::string_view spec, const Labels& row_labels,
                                 const Labels& col_labels, std::size_t width, Index max_rows) {
  require_labels(row_labels, m.rows(), "format_matrix_within", "row");
  require_labels(col_labels, m.cols(), "format_matrix_within", "column");
  const std::vector<Index> rows =
      selection(m.rows(), m.rows() <= max_rows ? m.rows() : std::max<Index>(max_rows - 1, 2));
  std::string full =
      format_selected(m, spec, row_labels, col_labels, rows, selection(m.cols(), m.cols()));
  const std::size_t full_width = display_width(full.substr(0, full.find('\n')));
  if (full_width <= width) return full;
  // Too wide: as many first and last columns as fit beside a "..." column, labelled with
  // their indices when the caller gave no labels (so a reader knows which are missing).
  const Labels labels = col_labels.empty() ? numbered_labels("", m.cols()) : col_labels;
  std::size_t cell_width = widest(labels);
  for (Index r : rows)
    for (Index c = 0; c < m.cols() && r >= 0; ++c)
      cell_width = std::max(cell_width, display_width(format_cell(m(r, c), spec)));
  const std::size_t label_width = widest(row_labels);
  const std::size_t prefix = 2 + (label_width ? label_width + 1 : 0);
  const auto fit = static_cast<Index>(width > prefix ? (width - prefix) / (cell_width + 1) : 0);
  return format_selected(m, spec, row_labels, labels, rows,
                         selection(m.cols(), std::max<Index>(fit - 1, 2)));
}

std::string format_vector(const Vector& v, std::string_view spec, const Labels& labels) {
  return format_matrix(v.transpose(), spec, {}, labels);
}

void print_matrix(std::string_view name, const Matrix& m, std::string_view spec,
                  const Labels& row_labels, const Labels& col_labels) {
  fmt::print("{} {}\n{}", name, shape_label(m.rows(), m.cols()),
             format_matrix(m, spec, row_labels, col_labels));
}

void print_vector(std::string_view name, const Vector& v, std::string_view spec,
                  const Labels& labels) {
  fmt::print("{} ({})\n{}", name, v.size(), format_vector(v, spec, labels));
}

// -------------------------------------------------------------------------- heatmap.hpp

bool stdout_supports_color() { return color_mode(STDOUT_FILENO) != ColorMode::none; }

namespace {
// One heatmap cell, `width` wide: the number on its color (text dark on the bright end of
// the scale, light on the dark end), or the number and two shading characters.
std::string heat_cell(std::string_view number, double t, bool color, std::size_t width) {
  if (color && color_mode(STDOUT_FILENO) == ColorMode::basic) {
    // A terminal that does not say it has 24-bit color gets five of its 16 colors, in the
    // order of viridis: blue, cyan, green, yellow, bright yellow; gray for nan or inf.
    static constexpr std::array<fmt::terminal_color, 5> palette{
        fmt::terminal_color::blue, fmt::terminal_color::cyan, fmt::terminal_color::green,
        fmt::terminal_color::yellow, fmt::terminal_color::bright_yellow};
    const auto bg = std::isfinite(t) ? palette[static_cast<std::size_t>(std::lround(
                                           std::clamp(t, 0.0, 1.0) * (palette.size() - 1)))]
                                     : fmt::terminal_color::bright_black;
    return fmt::format(fmt::bg(bg) | fmt::fg(fmt::terminal_color::black), "{}",
                       pad_left(number, width));
  }
  if (color) {
    const Rgb bg = viridis_at(t);
    const bool bright = 0.299 * bg.r + 0.587 * bg.g + 0.114 * bg.b > 140;
    const auto fg = bright ? fmt::rgb(0, 0, 0) : fmt::rgb(255, 255, 255);
    return fmt::format(fmt::bg(fmt::rgb(bg.r, bg.g, bg.b)) | fmt::fg(fg), "{}",
                       pad_left(number, width));
  }
  static constexpr std::array<std::string_view, 5> shades{" ", "░", "▒", "▓", "█"};
  const auto level =
      std::isfinite(t)
          ? static_cast<std::size_t>(std::lround(std::clamp(t, 0.0, 1.0) * (shades.size() - 1)))
          : 0;
  const std::string shade(shades[level]);
  return pad_left(number, width - 2) + shade + shade;
}

// The line under a heatmap that says which shade or color stands for which value.
std::string heat_legend(const HeatScale& scale, bool color) {
  std::string out = "  scale:";
  if (scale.constant()) {
    out += fmt::format(" every value is {}, so every cell has the same {}",
                       trim_left(format_cell(scale.low, scale.whole ? "{:d}" : "{:.2f}")),
                       color ? "color" : "shade");
  } else {
    const auto labels = legend_labels(scale);
    for (std::size_t k = 0; k < labels.size(); ++k)
      out += " " + heat_cell(labels[k], static_cast<double>(k) / 4.0, color, labels[k].size() + 2);
    out += color ? " (dark to bright)" : " (each cell has the shade nearest its value)";
  }
  if (scale.non_finite && scale.whole)
    out += "; -: no value";
  else if (scale.non_finite)
    out += color ? "; gray: nan or inf" : "; blank: nan or inf";
  return out + '\n';
}
}  // namespace

std::string terminal_heatmap(const Matrix& m, const Labels& row_labels, const Labels& col_labels,
                             bool color, float low, float high) {
  require_labels(row_labels, m.rows(), "terminal_heatmap", "row");
  require_labels(col_labels, m.cols(), "terminal_heatmap", "column");
  HeatScale scale = heat_scale(m, low, high);
  // The one number rule (format_cell): whole numbers (positions, counts) without decimals.
  scale.whole =
      (m.array().isNaN() || (m.array().isFinite() && m.array() == m.array().round())).all();
  const std::string_view number_spec = scale.whole ? "{:d}" : "{:.2f}";
  // Cells fit the widest number plus two shading characters, and the widest column label.
  std::size_t number_width = 0;
  for (Index r = 0; r < m.rows(); ++r)
    for (Index c = 0; c < m.cols(); ++c)
      number_width = std::max(number_width, format_cell(m(r, c), number_spec).size());
  const std::size_t cell_width = std::max({widest(col_labels), number_width + 2, std::size_t{6}});
  const std::size_t label_width = widest(row_labels);
  std::string out = "  " + std::string(label_width, ' ');
  for (const auto& label : col_labels) out += " " + pad_left(label, cell_width);
  out += '\n';
  for (Index r = 0; r < m.rows(); ++r) {
    out += "  " + (row_labels.empty()
                       ? std::string()
                       : pad_right(row_labels[static_cast<std::size_t>(r)], label_width));
    for (Index c = 0; c < m.cols(); ++c)
      out += " " + heat_cell(format_cell(m(r, c), number_spec), scale.position(m(r, c)), color,
                             cell_width);
    out += '\n';
  }
  return out + heat_legend(scale, color);
}

std::string bar_chart(const Vector& values, const Labels& labels, bool color, int width) {
  require_labels(labels, values.size(), "bar_chart", "value");
  require(width > 0, "bar_chart", "width must be positive");
  float largest = 0.0f;
  bool any_negative = false;
  for (Index i = 0; i < values.size(); ++i)
    if (std::isfinite(values(i))) {
      largest = std::max(largest, std::abs(values(i)));
      any_negative = any_negative || values(i) < 0.0f;
    }
  const std::size_t label_width = widest(labels);
  const int half = any_negative ? width / 2 : 0;  // columns left of the zero line
  std::string out;
  for (Index i = 0; i < values.size(); ++i) {
    const float value = values(i);
    const int length =
        (largest > 0.0f && std::isfinite(value))
            ? static_cast<int>(std::lround(static_cast<double>(std::abs(value) / largest) *
                                           (any_negative ? width - half : width)))
            : 0;
    std::string bar;
    for (int k = 0; k < length; ++k) bar += "█";
    if (color)
      bar = fmt::format(fmt::fg(value < 0 ? fmt::rgb(230, 97, 1) : fmt::rgb(33, 144, 141)), "{}",
                        bar);
    out += "  " +
           (labels.empty() ? std::string()
                           : pad_right(labels[static_cast<std::size_t>(i)], label_width)) +
           " ";
    if (any_negative) {
      out += value < 0 ? std::string(static_cast<std::size_t>(half - length), ' ') + bar + "│"
                       : std::string(static_cast<std::size_t>(half), ' ') + "│" + bar;
    } else {
      out += "│" + bar;
    }
    out += fmt::format(" {:.4f}\n", value);
  }
  return out;
}

// ---------------------------------------------------------------------------- files.hpp

void write_file_atomically(const std::filesystem::path& path, std::string_view contents) {
  std::filesystem::path temporary = path;
  temporary += fmt::format(".tmp{}", static_cast<long>(getpid()));
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.close();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      throw Error("cannot write " + path.string());
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::filesystem::remove(temporary, error);
    throw Error("cannot write " + path.string() + ": " + error.message());
  }
}

namespace {
// The scale under an SVG heatmap, its top-left corner at (x, y): a viridis bar labelled at
// 0, 1/4, .., 1 of the range, or for a constant matrix one swatch and its value. Returns the
// SVG and sets `width` to how far right it reaches.
std::string svg_legend(const HeatScale& scale, int x, int y, int bar_width, int& width) {
  constexpr int bar_height = 14, char_width = 7;
  std::string svg, note;
  if (scale.constant()) {
    const Rgb rgb = viridis_at(0.5);
    note = fmt::format("every value is {:.2f}, so every cell has the same color", scale.low);
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
        "fill=\"#{:02x}{:02x}{:02x}\"/>\n",
        x, y, bar_height, bar_height, rgb.r, rgb.g, rgb.b);
    x += bar_height + 6;
  } else {
    svg += "<defs><linearGradient id=\"scale\">";
    for (std::size_t i = 0; i < viridis.size(); ++i)
      svg += fmt::format("<stop offset=\"{}\" stop-color=\"#{:02x}{:02x}{:02x}\"/>",
                         static_cast<double>(i) / static_cast<double>(viridis.size() - 1),
                         viridis[i].r, viridis[i].g, viridis[i].b);
    svg += "</linearGradient></defs>\n";
    svg +=
        fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"url(#scale)\"/>\n",
                    x, y, bar_width, bar_height);
    const auto labels = legend_labels(scale);
    for (std::size_t k = 0; k < labels.size(); ++k)
      svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"{}\" font-size=\"11\">{}</text>\n",
                         x + bar_width * static_cast<int>(k) / 4, y + bar_height + 13,
                         k == 0                   ? "start"
                         : k + 1 == labels.size() ? "end"
                                                  : "middle",
                         labels[k]);
    x += bar_width + 8;
    note = "color scale";
  }
  if (scale.non_finite) note += std::string(note.empty() ? "" : "; ") + "gray: nan or inf";
  if (!note.empty())
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>\n", x,
                       y + bar_height - 3, note);
  width = x + char_width * static_cast<int>(note.size());
  return svg;
}
}  // namespace

void write_svg_heatmap(const std::filesystem::path& path, std::string_view title, const Matrix& m,
                       const Labels& row_labels, const Labels& col_labels) {
  require_labels(row_labels, m.rows(), "write_svg_heatmap", "row");
  require_labels(col_labels, m.cols(), "write_svg_heatmap", "column");
  const HeatScale scale = heat_scale(m, NAN, NAN);
  constexpr int cell = 44, title_height = 30, char_width = 8, legend_height = 44;
  const int left = 12 + char_width * static_cast<int>(widest(row_labels));
  const int top = title_height + 12 + char_width * static_cast<int>(widest(col_labels));
  const int grid_bottom = top + cell * static_cast<int>(m.rows());
  int legend_right = 0;
  const std::string legend =
      svg_legend(scale, left, grid_bottom + 16,
                 std::max(cell * static_cast<int>(m.cols()), 4 * cell), legend_right);
  // Wide enough for the title too (bold 15px: about 9px a character), and the legend.
  const int width = std::max({left + cell * static_cast<int>(m.cols()) + 12,
                              16 + 9 * static_cast<int>(title.size()), legend_right + 12});
  const int height = grid_bottom + legend_height + 12;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{3}</text>\n",
      width, height, 8, xml_escape(title));
  for (Index c = 0; c < m.cols() && !col_labels.empty(); ++c) {
    const int x = left + cell * static_cast<int>(c) + cell / 2 + 4;
    svg += fmt::format("<text x=\"{0}\" y=\"{1}\" transform=\"rotate(-60 {0} {1})\">{2}</text>\n",
                       x, top - 6, xml_escape(col_labels[static_cast<std::size_t>(c)]));
  }
  for (Index r = 0; r < m.rows(); ++r) {
    const int y = top + cell * static_cast<int>(r);
    if (!row_labels.empty())
      svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", left - 6,
                         y + cell / 2 + 4, xml_escape(row_labels[static_cast<std::size_t>(r)]));
    for (Index c = 0; c < m.cols(); ++c) {
      const int x = left + cell * static_cast<int>(c);
      const Rgb rgb = viridis_at(scale.position(m(r, c)));
      const bool bright = 0.299 * rgb.r + 0.587 * rgb.g + 0.114 * rgb.b > 140;
      svg += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#{:02x}{:02x}{:02x}\"/>"
          "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{}\">{:.2f}</text>\n",
          x, y, cell, cell, rgb.r, rgb.g, rgb.b, x + cell / 2, y + cell / 2 + 4,
          bright ? "black" : "white", m(r, c));
    }
  }
  svg += legend + "</svg>\n";
  write_file_atomically(path, svg);
}

// ----------------------------------------------------------------------------- json.hpp

std::string json_number(float value) {
  if (!std::isfinite(value)) return "null";
  return fmt::format("{}", value);  // shortest representation that round-trips
}

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  return fmt::format("{}", value);
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", static_cast<int>(c));
        else
          out += c;
    }
  }
  return out + "\"";
}

namespace {
std::string json_row(const Matrix& m, Index r) {
  std::string out = "[";
  for (Index c = 0; c < m.cols(); ++c) out += (c ? ", " : "") + json_number(m(r, c));
  return out + "]";
}

std::string json_matrix(const Matrix& m, int indent) {
  if (m.rows() == 0) return "[]";
  const std::string pad(static_cast<std::size_t>(indent) + 4, ' ');
  std::string out = "[\n";
  for (Index r = 0; r < m.rows(); ++r)
    out += pad + json_row(m, r) + (r + 1 < m.rows() ? ",\n" : "\n");
  return out + std::string(static_cast<std::size_t>(indent) + 2, ' ') + "]";
}
}  // namespace

void JsonObject::add_raw(std::string_view key, std::string value) {
  if (contains(key)) throw Error(fmt::format("JsonObject: key \"{}\" added twice", key));
  members_.emplace_back(std::string(key), std::move(value));
}

bool JsonObject::holds(std::string_view key, const Matrix& m) const {
  return std::any_of(members_.begin(), members_.end(), [&](const auto& member) {
    return member.first == key && member.second == json_matrix(m, 0);
  });
}

bool JsonObject::contains(std::string_view key) const {
  return std::any_of(members_.begin(), members_.end(),
                     [key](const auto& member) { return member.first == key; });
}

// Values are rendered when added, at the indentation of a top-level member; dump() of a
// nested object re-indents nothing, which keeps nested output valid if not pretty.
void JsonObject::add(std::string_view key, const Matrix& m) { add_raw(key, json_matrix(m, 0)); }

void JsonObject::add(std::string_view key, const Vector& v) {
  add_raw(key, json_row(v.transpose(), 0));
}

void JsonObject::add(std::string_view key, const std::vector<Matrix>& matrices) {
  std::string out = "[";
  for (std::size_t i = 0; i < matrices.size(); ++i)
    out += (i ? ", " : "") + json_matrix(matrices[i], 2);
  add_raw(key, out + "]");
}

void JsonObject::add(std::string_view key, const std::vector<Index>& indices) {
  std::string out = "[";
  for (std::size_t i = 0; i < indices.size(); ++i)
    out += fmt::format("{}{}", i ? ", " : "", indices[i]);
  add_raw(key, out + "]");
}

void JsonObject::add(std::string_view key, const Labels& strings) {
  std::string out = "[";
  for (std::size_t i = 0; i < strings.size(); ++i) out += (i ? ", " : "") + json_string(strings[i]);
  add_raw(key, out + "]");
}

void JsonObject::add(std::string_view key, double number) { add_raw(key, json_number(number)); }

void JsonObject::add(std::string_view key, std::string_view text) {
  add_raw(key, json_string(text));
}

void JsonObject::add(std::string_view key, const JsonObject& object) {
  add_raw(key, object.dump(2));
}

void JsonObject::add(std::string_view key, const std::vector<JsonObject>& rows) {
  std::string out = "[";
  for (std::size_t i = 0; i < rows.size(); ++i) out += (i ? ", " : "") + rows[i].dump(2);
  add_raw(key, out + "]");
}

std::string JsonObject::dump(int indent) const {
  if (members_.empty()) return "{}";
  const std::string pad(static_cast<std::size_t>(indent) + 2, ' ');
  std::string out = "{\n";
  for (std::size_t i = 0; i < members_.size(); ++i)
    out += pad + json_string(members_[i].first) + ": " + members_[i].second +
           (i + 1 < members_.size() ? ",\n" : "\n");
  return out + std::string(static_cast<std::size_t>(indent), ' ') + "}";
}

// ------------------------------------------------------------- print.hpp: small helpers

std::vector<std::string> dot_product_terms(const Vector& a, const Vector& b) {
  require(a.size() == b.size(), "dot_product_terms", "the vectors must have the same length");
  auto factor = [](float value) {
    return value < 0 ? fmt::format("({:.4f})", value) : fmt::format("{:.4f}", value);
  };
  std::vector<std::string> terms;
  for (Index i = 0; i < a.size(); ++i) {
    if (a.size() > 8 && i == 4) {
      terms.push_back(fmt::format("... ({} more terms) ...", a.size() - 5));
      i = a.size() - 1;
    }
    terms.push_back(factor(a(i)) + "*" + factor(b(i)));
  }
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < terms.size(); ++i)
    if (i % 4 == 0)
      lines.push_back((i ? "+ " : "  ") + terms[i]);
    else
      lines.back() += " + " + terms[i];
  return lines;
}

Labels numbered_labels(std::string_view prefix, Index count) {
  Labels labels;
  for (Index i = 0; i < count; ++i) labels.push_back(fmt::format("{}{}", prefix, i));
  return labels;
}

std::string plural(std::int64_t count, std::string_view noun) {
  return fmt::format("{} {}{}", count, noun, count == 1 ? "" : "s");
}

std::string join(const Labels& labels, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < labels.size(); ++i)
    out += (i ? std::string(separator) : std::string()) + labels[i];
  return out;
}

std::string with_commas(std::int64_t n) {
  const std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out = n < 0 ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string human_bytes(std::int64_t bytes) {
  constexpr std::array<const char*, 5> units{"bytes", "KiB", "MiB", "GiB", "TiB"};
  auto value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < units.size()) {
    value /= 1024.0;
    ++unit;
  }
  return fmt::format("{:.4g} {}", value, units[unit]);
}

// --------------------------------------------------------------------------- lesson.hpp

void Lesson::heading(std::string_view title) {
  ++section_;
  if (narrating()) fmt::print("\n== {}. {} ==\n\n", section_, title);
}

void Lesson::say(std::string_view text) {
  if (!narrating()) return;
  for (const auto& line : wrap_words(text, 92)) fmt::print("{}\n", line);
}

void Lesson::line(std::string_view text) {
  if (narrating()) fmt::print("    {}\n", text);
}

namespace {
// "name (rows x cols)" and the table, within the lesson's width and rows.
void print_within(std::string_view name, std::string_view shape, const Matrix& m,
                  std::string_view spec, const Labels& row_labels, const Labels& col_labels) {
  const std::string table =
      format_matrix_within(m, spec, row_labels, col_labels, lesson_width, lesson_rows);
  // Which part format_matrix_within() left out, if any: its "..." row, its "..." column.
  const bool rows_cut = m.rows() > lesson_rows;
  const bool cols_cut = table.substr(0, table.find('\n')).find("...") != std::string::npos ||
                        (!rows_cut && table != format_matrix(m, spec, row_labels, col_labels));
  const char* cut = rows_cut && cols_cut ? ": the middle rows and columns left out"
                    : rows_cut           ? ": the middle rows left out"
                    : cols_cut           ? ": the middle columns left out"
                                         : "";
  fmt::print("{} {}{}{}\n{}\n", name, shape, cut, *cut ? "; --json has every number" : "", table);
}
}  // namespace

void Lesson::show(std::string_view name, const Matrix& m, const Labels& row_labels,
                  const Labels& col_labels, std::string_view spec) {
  json_.add(name, m);
  if (narrating())
    print_within(name, shape_label(m.rows(), m.cols()), m, spec, row_labels, col_labels);
}

void Lesson::show(std::string_view name, const Vector& v, const Labels& labels,
                  std::string_view spec) {
  json_.add(name, v);
  if (narrating())
    print_within(name, fmt::format("({})", v.size()), v.transpose(), spec, {}, labels);
}

namespace {
std::size_t widest_line(std::string_view text) {
  std::size_t widest = 0;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    widest = std::max(widest, display_width(text.substr(start, end - start)));
    start = end + 1;
  }
  return widest;
}
}  // namespace

void Lesson::heatmap(std::string_view name, std::string_view title, const Matrix& m,
                     const Labels& row_labels, const Labels& col_labels) {
  if (!json_.holds(name, m)) json_.add(name, m);  // show() may have recorded it already
  if (narrating()) {
    // The one fit rule: a heatmap is a picture of the whole matrix, so one that does not fit
    // in lesson_width columns and lesson_rows rows is not drawn at all (the plain version is
    // measured: color codes take bytes, not columns).
    const std::string plain = terminal_heatmap(m, row_labels, col_labels, false);
    if (m.rows() > lesson_rows || widest_line(plain) > lesson_width) {
      fmt::print("{} {}: too large to draw here; --json has it\n\n", title,
                 shape_label(m.rows(), m.cols()));
    } else {
      fmt::print("{} {}\n{}\n", title, shape_label(m.rows(), m.cols()),
                 options_.color ? terminal_heatmap(m, row_labels, col_labels, true) : plain);
    }
  }
  if (!options_.svg_dir.empty()) {
    write_svg_heatmap(options_.svg_dir / (std::string(name) + ".svg"), title, m, row_labels,
                      col_labels);
  }
}

void Lesson::bars(const Vector& values, const Labels& labels) {
  if (narrating()) fmt::print("{}\n", bar_chart(values, labels, options_.color));
}

int Lesson::finish() {
  if (!narrating()) fmt::print("{}\n", json_.dump());
  std::fflush(stdout);
  return 0;
}

}  // namespace qkv
