// qkv-learn: the learner's loop. Where you stand, what to do next, and whether your code
// does it, recomputed every time from the exercise tests (no state file to lose).
//
//   qkv-learn [status]        every exercise, done or not, and the next one to do
//   qkv-learn check [id]      rebuild one exercise's test, run it, explain the first failure
//   qkv-learn hint [id]       the first hint (--more, --level N: the next ones)
//   qkv-learn watch [id]      re-check each time you save; move on when it passes
//   qkv-learn reset id        restore the untouched stub (--test: the test), keeping yours
//   qkv-learn solution id     the reference solution, once yours passes (or --force)
//   qkv-learn list            the exercises, in order
//   qkv-learn quiz [NN]       a chapter's questions, each answer explained
//
// It drives the build the learner already has (build/dev): `cmake --build <build> --target
// exercise_<id>` rebuilds only that exercise's small test program, which it then runs with
// Catch2's XML reporter to read the first failing check. This file reads the command line;
// the commands are in commands.cpp, reset.cpp and watch.cpp, around check_exercise()
// (verdict.cpp).

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>

#include "commands.hpp"
#include "learn.hpp"
#include "qkv/terminal.hpp"
#ifdef QKV_LEARN_HAVE_QUIZ
#include "quiz.hpp"
#endif

namespace fs = std::filesystem;
using namespace qkv::learn;

namespace {

/// A number written plainly in decimal, finite and in [min, max]. (CLI11 alone takes "nan"
/// through a range check and reads "0x10" as 16.)
template <typename T>
CLI::Validator strict_number(T min, T max) {
  std::ostringstream bounds;
  bounds << "[" << min << " - " << max << "]";
  const std::string range = bounds.str();
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        auto why = qkv::ParseError::not_a_number;
        const std::optional<T> value = qkv::parse_as<T>(text, &why);
        if (value ? (*value < min || *value > max) : why == qkv::ParseError::out_of_range)
          return text + " is out of range: it must lie in " + range;
        if (!value)
          return "'" + text + "' is not " + (std::is_integral_v<T> ? "a whole number" : "a number");
        return {};
      },
      std::is_integral_v<T> ? "INT in " + range : "FLOAT in " + range);
}

int run(int argc, char** argv) {
  std::string root_flag, build_flag, id;
  bool no_build = false, yes = false, force = false, test_file = false, expect = false;
  bool quiz_check = false, quiz_markdown = false;
  double interval = 0.25;
  int max_checks = 0, more = 0, level = 0;

  CLI::App app{
      "qkv-learn: where you stand in the exercises, and whether your code passes. Progress is "
      "recomputed from the exercise tests every time: there is no state file to lose.",
      "qkv-learn"};
  app.add_option("--root", root_flag,
                 "the qkv repository (default: the one around the current folder, else the one "
                 "qkv-learn was built from)")
      ->type_name("DIR");
  app.add_option("--build", build_flag,
                 "the build to use (default: the dev build qkv-learn belongs to, else build/dev)")
      ->type_name("DIR");
  app.fallthrough();  // --root and --build also after the subcommand
  app.require_subcommand(0, 1);
  const std::string id_help = "the exercise: its id, or a path to its file";

  auto* status =
      app.add_subcommand("status", "every exercise, done or not, and the next one (the default)");
  status->add_flag("--no-build", no_build, "use the test programs as they are, without rebuilding");
  status->add_flag("--expect-stubs", expect,
                   "CI, on the untouched stubs: exit 1 unless every exercise test fails and "
                   "names the file to edit");
  auto* check = app.add_subcommand(
      "check", "rebuild an exercise's test, run it, explain the first failure and give a hint");
  check->add_option("id", id, id_help + " (default: each in order, up to the first that fails)");
  check->add_flag("--no-build", no_build, "use the test programs as they are, without rebuilding");
  auto* hint = app.add_subcommand("hint", "the hints of an exercise, one level at a time");
  hint->add_option("id", id, id_help + " (default: the first one not done)");
  hint->add_flag("--more", more, "one more level (repeat it for more: --more --more)");
  hint->add_option("--level", level, "show the hints up to this level (the last is code-level)")
      ->check(strict_number<int>(1, 100));
  auto* watch = app.add_subcommand(
      "watch", "check again each time you save the exercise's file; move on when it passes");
  watch->add_option("id", id, id_help + " to start with (default: the first one not done)");
  watch->add_option("--interval", interval, "seconds between two looks at the file")
      ->capture_default_str()
      ->check(strict_number<double>(0.05, 10.0));
  watch->add_option("--max-checks", max_checks, "stop after this many checks (0: never)")
      ->capture_default_str()
      ->check(strict_number<int>(0, 1000000));
  auto* reset = app.add_subcommand(
      "reset", "restore the untouched stub of an exercise, keeping your file as a backup");
  reset->add_option("id", id, id_help)->required();
  reset->add_flag("--test", test_file,
                  "restore the exercise's test file (as git has it) instead of the stub");
  reset->add_flag("-y,--yes", yes, "do not ask first");
  auto* solution =
      app.add_subcommand("solution", "show the reference solution, once your exercise passes");
  solution->add_option("id", id, id_help)->required();
  solution->add_flag("--force", force, "show it even if yours does not pass yet");
  auto* list = app.add_subcommand("list", "the exercises in order, with their titles");
  std::string chapter;
  auto* quiz = app.add_subcommand("quiz", "a chapter's quiz: questions, each answer explained");
  quiz->add_option("chapter", chapter, "the chapter: 01, 1 or 01_dot_product_relevance");
  quiz->add_flag("--check", quiz_check,
                 "verify every quiz file: one right answer, an explanation per option");
  quiz->add_flag("--markdown", quiz_markdown, "print the chapter's quiz as a docs page");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& success) {  // --help
    return app.exit(success);
  } catch (const CLI::ParseError& error) {
    std::fprintf(stderr, "qkv-learn: error: %s\n\n%s", error.what(), app.help().c_str());
    return 2;
  }

  Context ctx;
  ctx.cwd = fs::current_path();
  ctx.root = find_root(root_flag, ctx.cwd);
  ctx.style = Style(qkv::color_mode(STDOUT_FILENO));

  if (quiz->parsed()) {
#ifdef QKV_LEARN_HAVE_QUIZ
    QuizRequest request;
    if (!chapter.empty()) request.chapter = chapter;
    request.check = quiz_check;
    request.markdown = quiz_markdown;
    return run_quiz(request, ctx.root, std::cin, std::cout, std::cerr, ctx.style.color());
#else
    std::fprintf(stderr, "qkv-learn: error: this qkv-learn was built without the quiz\n");
    return 2;
#endif
  }

  ctx.build = find_build(build_flag, ctx.root);
  ctx.no_build = no_build;
  ctx.self = std::string(argv[0]).find('/') != std::string::npos ? argv[0] : "qkv-learn";
  if (!root_flag.empty()) ctx.self += " --root " + root_flag;
  if (!build_flag.empty()) ctx.self += " --build " + build_flag;
  load_exercises(ctx);

  // Commands that only read the manifest and the files need no more of the build.
  if (list->parsed()) return cmd_list(ctx);
  if (hint->parsed()) {
    const auto wanted = level > 0 ? static_cast<std::size_t>(level)
                                  : 1 + static_cast<std::size_t>(std::max(more, 0));
    return cmd_hint(ctx, id, wanted);
  }
  if (reset->parsed()) return cmd_reset(ctx, id, yes, test_file);
  if (!id.empty()) (void)ctx.find(id);  // an unknown id is a usage error, before any build
  if (solution->parsed() && force) return cmd_solution(ctx, id, true);

  require_build(ctx);
  if (check->parsed()) return cmd_check(ctx, id);
  if (watch->parsed()) return cmd_watch(ctx, id, interval, max_checks);
  if (solution->parsed()) return cmd_solution(ctx, id, false);
  (void)status;
  return cmd_status(ctx, expect);
}

}  // namespace

int main(int argc, char** argv) {
  // Everything, the command line's set-up included, inside one try: nothing escapes main.
  try {
    return run(argc, argv);
  } catch (const Exit& exit) {
    return exit.code;
  } catch (const std::exception& error) {
    std::fflush(stdout);
    std::fprintf(stderr, "qkv-learn: error: %s\n", error.what());
    return 1;
  } catch (...) {
    std::fflush(stdout);
    std::fprintf(stderr, "qkv-learn: error: an unexpected failure\n");
    return 1;
  }
}
