#pragma once
// The exercises as the build describes them: <build>/manifest.json, written at configure
// time by cmake/QkvManifest.cmake, the one parser of exercises/manifest. qkv-learn reads
// only this file, so that it can never disagree with the build about ids, files or hints.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qkv::learn {

/// One exercise. Paths are relative to the repository root, `executable` to the build.
struct Exercise {
  std::string id;
  std::string chapter;  ///< folder name, e.g. 01_dot_product_relevance
  std::string title;
  std::string file;    ///< the file to edit
  std::string header;  ///< the header beside it, or "" when there is none
  std::string test;    ///< the test program's source
  std::string solution;
  std::string tag;     ///< the Catch2 tag of its test cases, without brackets
  std::string target;  ///< the build target of its test program
  std::string executable;
  std::vector<std::string> hints;  ///< progressive: a nudge first, the code-level hint last
};

/// Reads <build>/manifest.json (contract A). Throws LearnError naming the file and what is
/// wrong: missing, not JSON, an entry without a field, a duplicate id, fewer than 2 hints.
std::vector<Exercise> read_manifest_json(const std::filesystem::path& json);

/// The number of single-character edits (insert, delete, substitute) from a to b.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The ids closest to a mistyped one (at most 2 edits away, or a third of its length),
/// closest first; empty when none is close.
std::vector<std::string> similar_ids(const std::vector<Exercise>& exercises, std::string_view id);

/// The exercise a word on the command line names: its id, or a path to its file, header
/// or test (absolute, or relative to `cwd`), or such a file's name (`top_k.cpp`).
std::optional<std::size_t> resolve_exercise(const std::vector<Exercise>& exercises,
                                            std::string_view word,
                                            const std::filesystem::path& root,
                                            const std::filesystem::path& cwd);

}  // namespace qkv::learn
