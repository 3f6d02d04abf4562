// Reading <build>/manifest.json, and finding the exercise a learner means.

#include "manifest.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "learn.hpp"

namespace qkv::learn {

namespace fs = std::filesystem;

namespace {

std::string text_field(const nlohmann::json& entry, const char* name, const std::string& where,
                       bool nullable = false) {
  const auto found = entry.find(name);
  if (found == entry.end()) throw LearnError(where + ": no \"" + name + "\"");
  if (nullable && found->is_null()) return {};
  if (!found->is_string() || found->get<std::string>().empty())
    throw LearnError(where + ": \"" + name + "\" must be a non-empty string");
  return found->get<std::string>();
}

}  // namespace

std::vector<Exercise> read_manifest_json(const fs::path& json) {
  std::ifstream in(json, std::ios::binary);
  if (!in) throw LearnError("cannot read " + json.string());
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& error) {
    throw LearnError(json.string() + " is not valid JSON: " + error.what());
  }
  const auto list = document.find("exercises");
  if (!document.is_object() || list == document.end() || !list->is_array())
    throw LearnError(json.string() + ": expected {\"exercises\": [...]}");
  std::vector<Exercise> exercises;
  std::set<std::string> ids;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto& entry = (*list)[i];
    const auto where = json.string() + ": exercise " + std::to_string(i + 1);
    if (!entry.is_object()) throw LearnError(where + " is not an object");
    Exercise e;
    e.id = text_field(entry, "id", where);
    const auto named = where + " (" + e.id + ")";
    e.chapter = text_field(entry, "chapter", named);
    e.title = text_field(entry, "title", named);
    e.file = text_field(entry, "file", named);
    e.header = text_field(entry, "header", named, true);
    e.test = text_field(entry, "test", named);
    e.solution = text_field(entry, "solution", named);
    e.tag = text_field(entry, "tag", named);
    e.target = text_field(entry, "target", named);
    e.executable = text_field(entry, "executable", named);
    const auto hints = entry.find("hints");
    if (hints == entry.end() || !hints->is_array() || hints->size() < 2)
      throw LearnError(named + ": \"hints\" must list at least 2 levels");
    for (const auto& hint : *hints) {
      if (!hint.is_string() || trim(hint.get<std::string>()).empty())
        throw LearnError(named + ": every hint must be a non-empty string");
      e.hints.push_back(hint.get<std::string>());
    }
    if (!ids.insert(e.id).second) throw LearnError(named + ": the id appears twice");
    exercises.push_back(std::move(e));
  }
  return exercises;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::vector<std::string> similar_ids(const std::vector<Exercise>& exercises, std::string_view id) {
  const std::size_t limit = std::max<std::size_t>(2, id.size() / 3);
  std::vector<std::pair<std::size_t, std::string>> close;
  for (const auto& e : exercises) {
    const auto distance = edit_distance(id, e.id);
    if (distance <= limit) close.emplace_back(distance, e.id);
  }
  std::stable_sort(close.begin(), close.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> ids;
  ids.reserve(close.size());
  for (const auto& [distance, name] : close) ids.push_back(name);
  return ids;
}

std::optional<std::size_t> resolve_exercise(const std::vector<Exercise>& exercises,
                                            std::string_view word, const fs::path& root,
                                            const fs::path& cwd) {
  for (std::size_t i = 0; i < exercises.size(); ++i)
    if (exercises[i].id == word) return i;
  if (word.find('/') == std::string_view::npos && word.find('.') == std::string_view::npos)
    return std::nullopt;
  // A path: compared, normalized, with the exercise's own files.
  fs::path given(word);
  if (given.is_relative()) given = cwd / given;
  given = given.lexically_normal();
  for (std::size_t i = 0; i < exercises.size(); ++i) {
    const auto& e = exercises[i];
    for (const auto* path : {&e.file, &e.header, &e.test})
      if (!path->empty() && (root / *path).lexically_normal() == given) return i;
  }
  // A file name alone: top_k.cpp, top_k.hpp or test_top_k.cpp.
  if (word.find('/') == std::string_view::npos) {
    for (std::size_t i = 0; i < exercises.size(); ++i) {
      const auto& e = exercises[i];
      for (const auto* path : {&e.file, &e.header, &e.test})
        if (!path->empty() && fs::path(*path).filename() == word) return i;
    }
  }
  return std::nullopt;
}

}  // namespace qkv::learn
