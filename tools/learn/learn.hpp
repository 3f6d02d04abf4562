#pragma once
// The parts of qkv-learn that do not run anything: reading a Catch2 XML report (with
// pugixml), an assertion's line, and cutting a compiler's output down to its first error.
// Kept apart from the commands so that test_learn.cpp can check them on canned text.

#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace qkv::learn {

/// A problem the learner (or a maintainer) must fix, with a message that says how.
class LearnError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The first failing expectation of a Catch2 run, as its XML reporter describes it.
struct Failure {
  std::string test_case;
  std::vector<std::string> sections;
  std::string file;  ///< as the test was compiled: relative to the repository
  int line = 0;
  std::string macro;     ///< CHECK, REQUIRE, CHECK_THROWS_AS, ...; empty outside a check
  std::string original;  ///< the expression as written
  std::string expanded;  ///< the expression with its values
  std::optional<std::string> exception;         ///< message of an exception that was thrown
  std::optional<std::string> fatal;             ///< a crash: the signal Catch caught
  std::optional<std::string> explicit_failure;  ///< FAIL("...")
  std::vector<std::string> messages;            ///< INFO / CAPTURE / WARN before it
};

/// What a Catch2 run reports: counts, the first failure, and a crash.
struct TestReport {
  bool parsed = false;  ///< false: the output was not a complete Catch2 XML report
  int cases = 0;        ///< test cases that ran (and ended, or crashed)
  int cases_failed = 0;
  int checks_failed = 0;
  std::optional<Failure> first_failure;
  std::vector<std::string> cases_run;     ///< the names of the test cases that ran, in order
  std::optional<std::string> crashed_in;  ///< the test case running when a signal came
  std::optional<std::string> crash;       ///< what Catch said of it ("SIGSEGV - ...")
};

/// Reads the report of a Catch2 (v2 or v3) test executable run with `-r xml`. A report cut
/// short (the program died mid-way) gives what was read, with `parsed` false.
TestReport read_catch_xml(std::string_view xml);

/// The test case names a Catch2 program lists (`--list-test-names-only` in v2, `--list-tests
/// --verbosity quiet` in v3): one per line.
std::vector<std::string> read_test_list(std::string_view output);

/// Contract D: an exercise test that trips a bounds check writes one line
/// `qkv-assert: FILE:LINE: what was checked` to stderr, then aborts.
struct Assertion {
  std::string file;  ///< repository-relative
  int line = 0;
  std::string what;
};
std::optional<Assertion> find_assertion(std::string_view output);

/// A signal's name and meaning, e.g. "SIGSEGV (invalid memory access)".
std::string describe_signal(int signal);

/// The first failure in plain words, one string per line: where it is, the check as
/// written, then "expected" and "got" (or what was thrown). `display` turns a path as
/// Catch reports it (relative to the repository) into the one to print.
std::vector<std::string> describe_failure(
    const Failure& failure, const std::function<std::string(const std::string&)>& display);

/// True when the failure is the stub's "not done yet" (qkv::NotDone).
bool is_not_done(const Failure& failure);

/// A compiler's (or linker's) output cut down to what a learner needs: the first error,
/// where it is in their code, and the source line the compiler shows under it.
struct CompileError {
  std::vector<std::string> lines;
  int errors = 0;  ///< how many errors the compiler reported in all
};

/// Finds the first error in build output (g++ or clang, or the linker). `display` turns
/// the paths the compiler prints into the ones to show; `own_file` tells whether a path
/// is a file the learner edits (to point at it when the error is inside a header).
CompileError first_compile_error(std::string_view output,
                                 const std::function<std::string(const std::string&)>& display,
                                 const std::function<bool(const std::string&)>& own_file);

/// Replaces template arguments nested deeper than `keep_depth` with "...", so that
/// `Eigen::Product<Eigen::Matrix<float, -1, -1>, Eigen::Transpose<...>>` reads
/// `Eigen::Product<Eigen::Matrix<...>, Eigen::Transpose<...>>`. Leaves the text as it is
/// when its angle brackets do not balance.
std::string shorten_templates(std::string_view text, int keep_depth = 1);

/// With ninja's `-k 0`, each failed build step prints a block starting "FAILED: <outputs>".
/// Returns those blocks, in order.
std::vector<std::string> failed_build_steps(std::string_view output);

/// True when a failed build step (a block from failed_build_steps) belongs to the test
/// target exercise_<id>.
bool step_belongs_to(std::string_view step, std::string_view id);

/// Splits text into lines (without the newline characters).
std::vector<std::string> split_lines(std::string_view text);
/// Without leading and trailing white space.
std::string trim(std::string_view text);

}  // namespace qkv::learn
