#pragma once
/// @file
/// The `--json` output of the chapters: one JSON object whose keys are the names of the
/// matrices a chapter computes, in the order it computes them. Matrices are arrays of rows,
/// vectors flat arrays. Numbers are written in the shortest form that reads back to the
/// same float, so the same seed always gives byte-identical output; NaN and infinities,
/// which JSON cannot represent, are written as null.

#include <concepts>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "qkv/types.hpp"

namespace qkv {

/// An ordered JSON object built key by key. Adding a key twice throws qkv::Error.
class JsonObject {
 public:
  void add(std::string_view key, const Matrix& m);  ///< A matrix, as an array of rows.
  void add(std::string_view key, const Vector& v);  ///< A vector, as an array.
  /// A list of matrices, e.g. one attention-weight matrix per head.
  void add(std::string_view key, const std::vector<Matrix>& matrices);
  void add(std::string_view key, const std::vector<Index>& indices);  ///< Integers (rankings).
  void add(std::string_view key, const Labels& strings);              ///< Strings (tokens).
  /// A number, as json_number() writes it.
  void add(std::string_view key, double number);
  /// A whole number (a count, a size, an index), written exactly.
  template <std::integral Integer>
  requires(!std::same_as<Integer, bool>) void add(std::string_view key, Integer number) {
    add_raw(key, std::to_string(number));
  }
  void add(std::string_view key, std::string_view text);  ///< A string, escaped.
  /// A string, escaped.
  void add(std::string_view key, const char* text) { add(key, std::string_view(text)); }
  /// A nested object.
  void add(std::string_view key, const JsonObject& object);
  /// A list of objects: a table, one object per row (chapter 08's tables).
  void add(std::string_view key, const std::vector<JsonObject>& rows);
  /// add() for each pair, in order: `add_all("kv_heads", 8, "relative_error", 0.25)`.
  template <typename T, typename... More>
  JsonObject& add_all(std::string_view key, const T& value, const More&... more) {
    static_assert(sizeof...(More) % 2 == 0, "add_all() takes key, value pairs");
    add(key, value);
    if constexpr (sizeof...(More) > 0) add_all(more...);
    return *this;
  }
  /// An object of key, value pairs, in order: one row of a table,
  /// `rows.push_back(JsonObject::of("kv_heads", kv, "relative_error", error))`.
  template <typename... KeyValues>
  static JsonObject of(const KeyValues&... key_values) {
    JsonObject object;
    if constexpr (sizeof...(KeyValues) > 0) object.add_all(key_values...);
    return object;
  }

  bool contains(std::string_view key) const;  ///< Whether `key` was added.
  /// Whether `key` was added with exactly this matrix (as add() would write it).
  bool holds(std::string_view key, const Matrix& m) const;
  bool empty() const { return members_.empty(); }  ///< Whether nothing was added.
  /// The object as text: one member per line, two-space indent, matrices one row per line.
  std::string dump(int indent = 0) const;

 private:
  void add_raw(std::string_view key, std::string value);
  std::vector<std::pair<std::string, std::string>> members_;
};

/// A number as JSON: the shortest decimal that reads back to the same float; null for NaN
/// and infinities.
std::string json_number(float value);
/// A number as JSON, for doubles.
std::string json_number(double value);
/// A string as a JSON string literal, with quotes and escapes.
std::string json_string(std::string_view text);

}  // namespace qkv
