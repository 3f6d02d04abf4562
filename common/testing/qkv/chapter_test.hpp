#pragma once
/// @file
/// The chapter-test kit: what every chapters/NN_name/test_chapter.cpp needs to run its
/// chapter as a learner would and read what it printed: the narrated lesson, its `--json`,
/// its `--svg` figures, its README text, and how it refuses a bad command line.
///
/// What holds for every chapter (bad flags of every kind, an unwritable --svg folder, the
/// same seed giving the same bytes, figures that are whole files) is checked once, for all
/// of them, by tests/robustness; a chapter's test checks its own numbers and its own rules.
/// The test is compiled with QKV_CHAPTER_EXE (the executable) and QKV_CHAPTER_DIR (its
/// folder) defined, as chapters/CMakeLists.txt does. Its tests live in qkv::testing, so
/// the library's types and the kit's helpers need no qualification.

#include <unistd.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "qkv/catch.hpp"
#include "qkv/golden.hpp"
#include "qkv/process.hpp"
#include "qkv/types.hpp"

#if !defined(QKV_CHAPTER_EXE) || !defined(QKV_CHAPTER_DIR)
#error "chapter_test.hpp needs QKV_CHAPTER_EXE and QKV_CHAPTER_DIR (chapters/CMakeLists.txt)"
#endif

namespace qkv::testing {

using json = nlohmann::json;

/// The chapter's name, as it calls itself in errors: "04_masking".
inline std::string chapter_name() {
  return std::filesystem::path(QKV_CHAPTER_EXE).filename().string();
}

/// "04_masking --tokens 3": a run, as a failure message names it.
inline std::string command_line(const std::vector<std::string>& flags) {
  std::string out = chapter_name();
  for (const auto& flag : flags) out += " " + flag;
  return out;
}

/// Runs the chapter with `flags` (no shell), `env` (NAME=value) added to its environment.
inline ProcessResult run_chapter(const std::vector<std::string>& flags,
                                 const std::vector<std::string>& env = {}) {
  std::vector<std::string> args{QKV_CHAPTER_EXE};
  args.insert(args.end(), flags.begin(), flags.end());
  return run_process(args, env);
}

/// The narrated lesson the chapter prints with `flags`. Requires exit code 0 and nothing on
/// stderr, and checks that no color escape reaches the pipe it writes into.
inline std::string chapter_narration(const std::vector<std::string>& flags = {}) {
  const ProcessResult result = run_chapter(flags);
  INFO(command_line(flags) << "\n  exit code " << result.exit_code << "\n  stderr: " << result.err);
  REQUIRE(result.exit_code == 0);
  REQUIRE(result.err.empty());
  INFO(command_line(flags) << " wrote color escapes into a pipe");
  CHECK(result.out.find("\x1b[") == std::string::npos);
  return result.out;
}

/// `text` with its lines joined by spaces: undoes the wrapping of prose (at 92 columns in
/// the lesson, by hand in a README), so that a sentence can be searched whole.
inline std::string unwrapped(std::string text) {
  for (char& c : text)
    if (c == '\n') c = ' ';
  return text;
}

/// The one JSON object `--json` prints with `flags`. Requires exit code 0, nothing on
/// stderr (shown when it fails) and text that parses.
inline json chapter_json(const std::vector<std::string>& flags = {}) {
  std::vector<std::string> args{"--json"};
  args.insert(args.end(), flags.begin(), flags.end());
  const ProcessResult result = run_chapter(args);
  INFO(command_line(args) << "\n  exit code " << result.exit_code << "\n  stderr: " << result.err);
  REQUIRE(result.exit_code == 0);
  REQUIRE(result.err.empty());
  json parsed;
  REQUIRE_NOTHROW(parsed = json::parse(result.out));
  return parsed;
}

/// The chapter's text, chapters/NN_name/README.md, as it is on disk.
inline std::string chapter_readme() {
  const std::string path = std::string(QKV_CHAPTER_DIR) + "/README.md";
  std::ifstream in(path);
  INFO("reading " << path);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Every figure `--svg DIR` writes with `flags`, by file name ("weights.svg") with its text.
/// DIR is a fresh temporary folder, removed afterwards. Requires exit code 0.
inline std::map<std::string, std::string> chapter_figures(
    const std::vector<std::string>& flags = {}) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("qkv-figures-" + chapter_name() + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::vector<std::string> args{"--svg", dir.string()};
  args.insert(args.end(), flags.begin(), flags.end());
  const ProcessResult result = run_chapter(args);
  std::map<std::string, std::string> figures;
  if (std::filesystem::is_directory(dir))
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      std::ifstream in(entry.path());
      figures[entry.path().filename().string()] = {std::istreambuf_iterator<char>(in),
                                                   std::istreambuf_iterator<char>()};
    }
  std::filesystem::remove_all(dir);
  INFO(command_line(args) << "\n  exit code " << result.exit_code << "\n  stderr: " << result.err);
  REQUIRE(result.exit_code == 0);
  return figures;
}

/// The names of `figures`, in order: what to compare with the files a chapter should write.
inline std::vector<std::string> names_of(const std::map<std::string, std::string>& figures) {
  std::vector<std::string> names;
  for (const auto& [name, text] : figures) names.push_back(name);
  return names;
}

/// Checks that the chapter refuses `flags` the way a bad command line must be refused:
/// exit code 2, nothing on stdout, and on stderr one line "<chapter>: error: ..." that
/// contains `problem`, then an empty line and the usage exactly as --help prints it.
inline void check_rejected(const std::vector<std::string>& flags, const std::string& problem) {
  const ProcessResult result = run_chapter(flags);
  const std::string first_line = result.err.substr(0, result.err.find('\n'));
  INFO(command_line(flags) << "\n  exit code " << result.exit_code << "\n  stderr: " << first_line);
  CHECK(result.exit_code == 2);
  CHECK(result.out.empty());
  CHECK_THAT(first_line, contains(chapter_name() + ": error: "));
  CHECK_THAT(first_line, contains(problem));
  CHECK(result.err == first_line + "\n\n" + run_chapter({"--help"}).out);
}

}  // namespace qkv::testing
