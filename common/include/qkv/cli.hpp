#pragma once
/// @file
/// The command line every chapter executable shares: `--help`, `--seed N`, `--json`,
/// `--svg DIR`, plus the sizes a chapter declares with add_size().
///
/// The usage lists each flag as a person writes it, its range and default in words:
/// @code
///   --tokens N       number of tokens T (1 to 64, default 6)
///   --temperature X  softmax temperature (0.05 to 20, default 0.5)
///   --mask NAME      which mask (causal, window or none; default causal)
/// @endcode
/// N is a whole number, X any number, NAME one of a list, DIR a folder.
/// An unknown flag, a missing or malformed value, or a value outside its range prints one
/// line to stderr, "<chapter>: error: " and what is wrong, naming the flag ("unknown flag
/// --tokens; this chapter's flags are ..."), then an empty line and the usage, and makes
/// parse() return exit code 2.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qkv/types.hpp"

namespace qkv {

/// The flags every chapter has.
struct CommonOptions {
  /// Seeds every random number the chapter draws (`--seed`).
  std::uint64_t seed = 2024;
  /// Print one JSON object with every computed matrix instead of the narrated lesson.
  bool json = false;
  /// Where to write the chapter's figures as SVG; empty: write none.
  std::filesystem::path svg_dir;
  /// Color in terminal heatmaps: stdout is a terminal and NO_COLOR is unset.
  bool color = false;
};

/// A chapter's command line. Declare the chapter's own flags, then call parse():
/// @code
/// qkv::Cli cli("02_qkv_projection", "Learned query, key and value projections");
/// qkv::Index tokens = 5;
/// cli.add_size("--tokens", tokens, "number of tokens T", 1, 512);
/// if (auto exit_code = cli.parse(argc, argv)) return *exit_code;
/// @endcode
class Cli {
 public:
  /// `name` (the executable's) and `description` (one line) head the usage text.
  Cli(std::string name, std::string description);
  ~Cli();
  Cli(const Cli&) = delete;
  Cli& operator=(const Cli&) = delete;

  /// An integer flag that must lie in [min, max] (sizes: keeps `--tokens 0` and
  /// `--dim 100000000` out before anything is allocated).
  void add_size(const std::string& flag, Index& value, const std::string& help, Index min,
                Index max);
  /// A real-valued flag that must lie in [min, max].
  void add_number(const std::string& flag, double& value, const std::string& help, double min,
                  double max);
  /// A boolean switch, false unless given.
  void add_flag(const std::string& flag, bool& value, const std::string& help);
  /// A flag taking one of `choices`.
  void add_choice(const std::string& flag, std::string& value, const std::string& help,
                  const std::vector<std::string>& choices);
  /// A rule between flags, checked by parse() once every flag is read: `problem` returns
  /// what is wrong, or "" when nothing is. A problem is reported like a bad flag (exit 2).
  void add_check(std::function<std::string()> problem);
  /// `divisor_flag` must divide `flag`, e.g. require_divides("--heads", heads, "--dim",
  /// d_model) so that d_head = d_model / h is whole: checked by parse() (exit 2 if not).
  void require_divides(const std::string& divisor_flag, const Index& divisor,
                       const std::string& flag, const Index& value);
  /// `flag` must not exceed `limit_flag` when `flag` is given, e.g. require_at_most("--prompt",
  /// prompt, "--tokens", tokens, "the prompt is the first P of the T tokens"); a default
  /// adapts instead (main clamps it after parse()). Checked by parse() (exit 2 if not).
  void require_at_most(const std::string& flag, const Index& value, const std::string& limit_flag,
                       const Index& limit, const std::string& why);

  /// Parses the command line. Returns an exit code when main should stop right away:
  /// 0 after `--help`, 2 after a bad flag (error and usage already printed); std::nullopt
  /// when the chapter should run. Also creates the `--svg` folder and checks that it can
  /// be written.
  std::optional<int> parse(int argc, const char* const* argv);
  /// True when `flag` was on the command line (so a default may adapt to the other sizes
  /// while an explicit value is checked); meaningful inside add_check() rules and after parse().
  bool given(std::string_view flag) const;

  /// The flags every chapter has, as parse() read them.
  const CommonOptions& common() const { return common_; }
  /// The usage text, as `--help` prints it.
  std::string usage() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  CommonOptions common_;
};

/// Prints "error: <what>" to stderr and returns the exit code for main (1). Chapters wrap
/// main's body in try/catch and return this.
int report_error(const std::exception& error);

}  // namespace qkv
