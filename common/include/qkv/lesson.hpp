#pragma once
/// @file
/// The narrator of a chapter executable. A chapter's main() reads as the lesson: it says a
/// sentence, computes a matrix, shows it. The same calls serve `--json`: show() records the
/// matrix under its name, the prose is suppressed, and finish() prints one JSON object.

#include <fmt/format.h>

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "qkv/cli.hpp"
#include "qkv/json.hpp"
#include "qkv/print.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// Narrated output (the default) or one JSON object (`--json`), from the same calls.
class Lesson {
 public:
  /// Narrates, or collects for `--json`, as `options` (from Cli::common()) say.
  explicit Lesson(const CommonOptions& options) : options_(options) {}

  /// True when printing the narrated lesson (not `--json`).
  bool narrating() const { return !options_.json; }
  const CommonOptions& options() const { return options_; }  ///< The common flags.

  /// A numbered section heading: "== 1. title ==".
  void heading(std::string_view title);
  /// A paragraph of prose, wrapped at 92 columns.
  void say(std::string_view text);
  /// A paragraph built with fmt.
  template <typename... Args>
  void say(fmt::format_string<Args...> format, Args&&... args) {
    if (narrating()) say(std::string_view(fmt::format(format, std::forward<Args>(args)...)));
  }
  /// A line printed as it is (a formula, a worked sum), indented.
  void line(std::string_view text);
  /// A line built with fmt.
  template <typename... Args>
  void line(fmt::format_string<Args...> format, Args&&... args) {
    if (narrating()) line(std::string_view(fmt::format(format, std::forward<Args>(args)...)));
  }

  /// Prints the matrix with its name, shape and labels, and records it for `--json`.
  /// Wider than lesson_width columns or taller than lesson_rows rows, it is printed with its
  /// first and last columns (rows) only (format_matrix_within()): the one rule for matrices
  /// too large to print. --json always has every number.
  void show(std::string_view name, const Matrix& m, const Labels& row_labels = {},
            const Labels& col_labels = {}, std::string_view spec = default_spec);
  /// Prints the vector with its name and length, and records it for `--json`.
  void show(std::string_view name, const Vector& v, const Labels& labels = {},
            std::string_view spec = default_spec);

  /// Records values for `--json` without printing them, in order: name, value, name, value...
  /// A value is a matrix, a vector, a list of matrices, integers, labels, a number (integers
  /// without a cast) or a string: `record("window", window, "mask_window", mask)`.
  template <typename T, typename... More>
  void record(std::string_view name, const T& value, const More&... more) {
    json_.add_all(name, value, more...);
  }
  /// Records several matrices for `--json`, in order: `record({{"x", x}, {"w_q", w.w_q}})`.
  void record(
      std::initializer_list<std::pair<std::string_view, std::reference_wrapper<const Matrix>>>
          matrices) {
    for (const auto& [name, m] : matrices) json_.add(name, m.get());
  }

  /// Prints `m` as a terminal heatmap and records it under `name` (once: a matrix already
  /// recorded under `name` by show() is not recorded again; a different one throws
  /// qkv::Error); with `--svg DIR` also writes `DIR/<name>.svg`. A heatmap wider than
  /// lesson_width columns or taller than lesson_rows rows is not drawn (a line says so).
  void heatmap(std::string_view name, std::string_view title, const Matrix& m,
               const Labels& row_labels, const Labels& col_labels);
  /// Prints `values` as a bar chart (recording nothing: show() the vector as well).
  void bars(const Vector& values, const Labels& labels);

  /// Prints the JSON object when `--json` was given. Returns main's exit code (0).
  int finish();

 private:
  const CommonOptions& options_;
  JsonObject json_;
  int section_ = 0;
};

}  // namespace qkv
