#pragma once
// What every qkv-learn command works with: the repository, the build, the exercises (from
// <build>/manifest.json), how to show paths and colors, and the one way out with an exit code.

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "manifest.hpp"
#include "style.hpp"

namespace qkv::learn {

/// Ends the program with this exit code (after its message has been printed).
struct Exit {
  int code;
};

/// Set by SIGINT / SIGTERM while watch runs: every loop stops at the next look.
bool interrupted();
void install_interrupt_handler();

struct Context {
  std::filesystem::path root;
  std::filesystem::path build;
  std::filesystem::path cwd;
  std::string cmake = "cmake";
  std::string generator;
  std::string self;  ///< how to run qkv-learn again, for the commands it suggests
  std::vector<Exercise> exercises;
  bool no_build = false;
  Style style;

  /// A path to print: relative to the current folder when inside it, else absolute.
  [[nodiscard]] std::string display(const std::filesystem::path& path) const;
  /// Whether a path (relative to the repository, or absolute) is under exercises/ or solutions/.
  [[nodiscard]] bool own_file(const std::string& path) const;
  [[nodiscard]] std::filesystem::path source(const std::string& relative) const {
    return root / relative;
  }
  [[nodiscard]] std::filesystem::path test_binary(const Exercise& e) const {
    return build / e.executable;
  }
  [[nodiscard]] bool ninja() const { return generator.rfind("Ninja", 0) == 0; }
  /// Where qkv-learn keeps what it learnt about the build (reports, content hashes).
  [[nodiscard]] std::filesystem::path state_dir() const { return build / "qkv-learn"; }

  /// The exercise a command-line word names (an id or a path to one of its files); else
  /// prints "did you mean ...?" (or the list of ids) and exits 2.
  [[nodiscard]] const Exercise& find(const std::string& word) const;
  [[nodiscard]] std::size_t index_of(const Exercise& e) const;
};

/// Reads the text of a file ("" when it cannot be read).
std::string read_file(const std::filesystem::path& path);
std::string format_seconds(double seconds);
/// `text` wrapped at 92 columns, each line starting with `indent`.
std::string wrap(const std::string& text, const std::string& indent);
/// A value from a CMakeCache.txt (`NAME:TYPE=value`), or "" when absent.
std::string cache_value(const std::string& cache, const std::string& name);

std::filesystem::path find_root(const std::string& flag, const std::filesystem::path& cwd);
std::filesystem::path find_build(const std::string& flag, const std::filesystem::path& root);
/// Reads <build>/manifest.json; stops with the one command to run when there is no build.
void load_exercises(Context& ctx);
/// Stops with the one command to run when the build is not configured; reads what
/// qkv-learn needs from its CMakeCache.txt.
void require_build(Context& ctx);

}  // namespace qkv::learn
