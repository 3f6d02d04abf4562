#pragma once
// The one question every command asks: does this exercise pass, as its file is on disk now?
// check_exercise() answers it (rebuild, run the test, read its report); the commands only
// print verdicts.

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "context.hpp"

namespace qkv::learn {

enum class Outcome { passed, failed, crashed, no_compile, not_built, broken, stopped };

struct Verdict {
  Outcome outcome = Outcome::failed;
  std::string headline;
  std::vector<std::string> details;
  std::vector<std::string> notes;  ///< said with every verdict (an edited test file)
  double build_seconds = -1;       ///< -1: not built now
  double test_seconds = -1;        ///< -1: not run
  std::string judged;              ///< content hash of the sources this verdict is about
  bool untouched = false;          ///< the stub's "not done yet": nothing tried so far
  [[nodiscard]] bool passed() const { return outcome == Outcome::passed; }
  /// A verdict about code the learner wrote, where the first hint helps (not before they
  /// tried anything).
  [[nodiscard]] bool about_code() const {
    return !untouched && (outcome == Outcome::failed || outcome == Outcome::crashed ||
                          outcome == Outcome::no_compile);
  }
};

/// The verdict on one exercise as its files are on disk now: rebuilds its test program
/// (making sure the build sees every change since the last build qkv-learn drove, even one
/// that ninja's time stamps would miss), runs it, and checks again if a file changed meanwhile.
Verdict check_exercise(const Context& ctx, const Exercise& e);

/// Every exercise, in order; with ninja, one build of all their test programs.
std::vector<Verdict> check_all(const Context& ctx);

/// A hash of the exercise's file, header and test as they are now.
std::string sources_hash(const Context& ctx, const Exercise& e);

/// The exercises (by test path) whose test file differs from git's HEAD; empty outside git.
std::set<std::string> edited_tests(const Context& ctx, const std::vector<Exercise>& exercises);

/// Both facts about progress, in the same words everywhere: "the first 3 in order pass;
/// 10 of 18 done".
std::string progress_summary(const std::vector<Verdict>& verdicts);

/// The verdict, then (with_hint, when it is about the code) the first hint only.
void print_verdict(const Context& ctx, const Exercise& e, const Verdict& v, bool with_hint,
                   std::optional<double> since_save = std::nullopt);

/// Hint `level` (1-based) of `e`, labelled "hint 1 of 3:", wrapped.
std::string format_hint(const Context& ctx, const Exercise& e, std::size_t level);

}  // namespace qkv::learn
