// qkv-learn: the learner's loop. Where you stand, what to do next, and whether your code
// does it, recomputed every time from the exercise tests (no state file to lose).
//
//   qkv-learn [status]        every exercise, done or not, and the next one to do
//   qkv-learn check [id]      rebuild one exercise's test, run it, explain the first failure
//   qkv-learn hint [id]       the exercise's hint
//   qkv-learn watch [id]      re-check each time you save; move on when it passes
//   qkv-learn reset id        restore the untouched stub, keeping your file as a backup
//   qkv-learn solution id     the reference solution, once yours passes (or --force)
//   qkv-learn list            the exercises, in order
//
// It drives the build the learner already has (build/dev): `cmake --build <build> --target
// exercise_<id>` rebuilds only that exercise's small test program, which it then runs with
// Catch2's XML reporter to read the first failing check.

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "learn.hpp"
#include "process.hpp"

namespace fs = std::filesystem;
using namespace qkv::learn;

namespace {

/// Ends the program with this exit code (after its message has been printed).
struct Exit {
  int code;
};

volatile std::sig_atomic_t interrupted = 0;
extern "C" void on_interrupt(int) { interrupted = 1; }

constexpr double kTestTimeoutSeconds = 60;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

/// Terminal colors, only when stdout is a terminal and NO_COLOR is unset.
struct Style {
  bool color = false;
  std::string paint(const std::string& text, const char* code) const {
    return color ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
  }
  std::string green(const std::string& t) const { return paint(t, "32"); }
  std::string red(const std::string& t) const { return paint(t, "31"); }
  std::string yellow(const std::string& t) const { return paint(t, "33"); }
  std::string bold(const std::string& t) const { return paint(t, "1"); }
  std::string dim(const std::string& t) const { return paint(t, "2"); }
};

/// Text wrapped at `width` columns, each line starting with `indent`.
std::string wrap(const std::string& text, const std::string& indent, std::size_t width = 92) {
  std::istringstream words(text);
  std::string word, line, out;
  while (words >> word) {
    if (!line.empty() && indent.size() + line.size() + 1 + word.size() > width) {
      out += indent + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) out += indent + line + "\n";
  return out;
}

std::string format_seconds(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f s", seconds);
  return buffer;
}

/// A value from a CMakeCache.txt (`NAME:TYPE=value`), or "" when absent.
std::string cache_value(const std::string& cache, const std::string& name) {
  for (const auto& line : split_lines(cache)) {
    if (line.rfind(name + ":", 0) != 0) continue;
    const auto equals = line.find('=');
    if (equals != std::string::npos) return line.substr(equals + 1);
  }
  return {};
}

bool same_folder(const fs::path& a, const fs::path& b) {
  std::error_code error;
  return fs::equivalent(a, b, error);
}

enum class Outcome { passed, failed, no_compile, not_built, broken, stopped };

struct Verdict {
  Outcome outcome = Outcome::failed;
  std::string headline;
  std::vector<std::string> details;
  double build_seconds = -1;  ///< -1: not built now
  double test_seconds = -1;   ///< -1: not run
  bool passed() const { return outcome == Outcome::passed; }
};

struct Context {
  fs::path root;
  fs::path build;
  fs::path cwd;
  std::string cmake = "cmake";
  std::string generator;
  std::string self;  ///< how to run qkv-learn again, for the commands it suggests
  std::vector<Exercise> exercises;
  bool no_build = false;
  Style style;

  std::string display(const fs::path& path) const {
    const fs::path absolute = (path.is_absolute() ? path : root / path).lexically_normal();
    const fs::path relative = absolute.lexically_relative(cwd);
    if (!relative.empty() && *relative.begin() != "..") return relative.string();
    return absolute.string();
  }
  bool own_file(const std::string& path) const {
    const fs::path absolute = (fs::path(path).is_absolute() ? fs::path(path) : root / path);
    const auto normal = absolute.lexically_normal();
    for (const char* area : {"exercises", "solutions"}) {
      const auto relative = normal.lexically_relative(root / area);
      if (!relative.empty() && *relative.begin() != "..") return true;
    }
    return false;
  }
  fs::path exercise_file(const Exercise& e) const {
    return root / "exercises" / e.chapter / e.file;
  }
  fs::path solution_file(const Exercise& e) const {
    return root / "solutions" / e.chapter / e.file;
  }
  fs::path test_binary(const Exercise& e) const {
    return build / "exercises" / ("exercise_" + e.id);
  }
  std::string target(const Exercise& e) const { return "exercise_" + e.id; }

  const Exercise& find(const std::string& id) const {
    for (const auto& e : exercises)
      if (e.id == id) return e;
    std::string ids;
    for (const auto& e : exercises) ids += (ids.empty() ? "" : ", ") + e.id;
    std::fflush(stdout);
    std::fprintf(stderr, "qkv-learn: error: there is no exercise '%s'. The exercises are:\n%s",
                 id.c_str(), wrap(ids, "  ").c_str());
    throw Exit{2};
  }
};

// ---------------------------------------------------------------------------------------
// The build

/// Stops with the one command to run when there is no build yet; reads what qkv-learn
/// needs from the build's CMakeCache.txt.
void require_build(Context& ctx) {
  const auto cache_path = ctx.build / "CMakeCache.txt";
  if (!fs::exists(cache_path)) {
    std::error_code error;
    const bool default_build = fs::weakly_canonical(ctx.build, error) ==
                               fs::weakly_canonical(ctx.root / "build" / "dev", error);
    std::string command = default_build ? "cmake --workflow --preset dev"
                                        : "cmake --preset dev -B " + ctx.display(ctx.build) +
                                              " && cmake --build " + ctx.display(ctx.build);
    std::printf(
        "There is no build in %s yet. Build everything once (a few minutes), from %s:\n\n"
        "    %s\n\nthen run qkv-learn again.\n",
        ctx.display(ctx.build).c_str(), ctx.root.string().c_str(), command.c_str());
    throw Exit{1};
  }
  const auto cache = read_file(cache_path);
  if (const auto cmake = cache_value(cache, "CMAKE_COMMAND"); !cmake.empty()) ctx.cmake = cmake;
  ctx.generator = cache_value(cache, "CMAKE_GENERATOR");
  if (cache_value(cache, "QKV_EXERCISES_FROM") == "solutions")
    std::fprintf(stderr,
                 "note: %s builds the exercise tests from solutions/, not from your files in "
                 "exercises/ (use a dev build: --build build/dev)\n",
                 ctx.display(ctx.build).c_str());
  if (const auto home = cache_value(cache, "CMAKE_HOME_DIRECTORY");
      !home.empty() && !same_folder(home, ctx.root))
    std::fprintf(stderr, "note: %s is a build of %s, not of %s\n", ctx.display(ctx.build).c_str(),
                 home.c_str(), ctx.root.string().c_str());
}

ProcessResult cmake_build(const Context& ctx, const std::vector<std::string>& targets,
                          bool keep_going) {
  std::vector<std::string> args{ctx.cmake, "--build", ctx.build.string(), "--target"};
  args.insert(args.end(), targets.begin(), targets.end());
  if (keep_going && ctx.generator.rfind("Ninja", 0) == 0) {
    args.insert(args.end(), {"--", "-k", "0"});
  } else if (keep_going && ctx.generator.find("Makefiles") != std::string::npos) {
    args.insert(args.end(), {"--", "-k"});
  }
  // Untranslated messages: "error:" is what first_compile_error looks for.
  return run_process(args, {0, {"LC_ALL=C"}});
}

Verdict compile_failure(const Context& ctx, const Exercise& e, const std::string& output) {
  Verdict v;
  v.outcome = Outcome::no_compile;
  const auto error = first_compile_error(
      output, [&](const std::string& path) { return ctx.display(path); },
      [&](const std::string& path) { return ctx.own_file(path); });
  v.headline = e.id + " does not compile. " +
               (error.errors > 1 ? "The first of " + std::to_string(error.errors) + " errors:"
                                 : "The error:");
  v.details = error.lines;
  v.details.push_back("(everything the compiler said: cmake --build " + ctx.display(ctx.build) +
                      " --target " + ctx.target(e) + ")");
  return v;
}

/// The build failed in a step that is no exercise's: the qkv library or the build itself.
Verdict broken_build(const Context& ctx, const std::string& output) {
  const auto error = first_compile_error(
      output, [&](const std::string& path) { return ctx.display(path); },
      [&](const std::string&) { return false; });
  Verdict v;
  v.outcome = Outcome::broken;
  v.headline = "The build failed outside the exercises, not in a file you edit:";
  v.details = error.lines;
  v.details.push_back("(all of it: cmake --build " + ctx.display(ctx.build) + ")");
  return v;
}

/// Whether a failed build failed in the exercise steps alone.
bool only_exercise_steps(const Context& ctx, const std::vector<std::string>& steps) {
  return !steps.empty() && std::all_of(steps.begin(), steps.end(), [&](const std::string& step) {
    return std::any_of(ctx.exercises.begin(), ctx.exercises.end(),
                       [&](const Exercise& e) { return step_belongs_to(step, e.id); });
  });
}

void print_verdict(const Context& ctx, const Exercise& e, const Verdict& v, bool with_hint,
                   std::optional<double> since_save = std::nullopt);

// ---------------------------------------------------------------------------------------
// Checking an exercise

Verdict run_test(const Context& ctx, const Exercise& e) {
  Verdict v;
  const auto binary = ctx.test_binary(e);
  if (!fs::exists(binary)) {
    v.outcome = Outcome::not_built;
    v.headline = e.id + " is not built: " + ctx.display(binary) + " is missing";
    v.details = {"(build it: cmake --build " + ctx.display(ctx.build) + " --target " +
                 ctx.target(e) + ")"};
    return v;
  }
  const auto run = run_process({binary.string(), "[" + e.tag + "]", "-r", "xml", "--order", "decl"},
                               {kTestTimeoutSeconds, {}});
  v.test_seconds = run.seconds;
  if (interrupted) {
    v.outcome = Outcome::stopped;
    return v;
  }
  const auto report = read_catch_xml(run.output);
  auto display = [&](const std::string& path) { return ctx.display(path); };
  if (run.timed_out) {
    v.headline = e.id + ": the test did not finish within " + format_seconds(kTestTimeoutSeconds) +
                 ". An endless loop?";
  } else if (report.first_failure && is_not_done(*report.first_failure)) {
    v.headline = e.id + " is not done yet.";
    v.details = {"Open " + ctx.display(ctx.exercise_file(e)) +
                 ", read its TODO, and replace the QKV_NOT_DONE() line."};
  } else if (report.first_failure) {
    v.headline = e.id + " fails " +
                 (report.cases > 0 ? std::to_string(report.cases_failed) + " of " +
                                         std::to_string(report.cases) + " test cases"
                                   : std::string("its test")) +
                 ". The first failing check:";
    v.details = describe_failure(*report.first_failure, display);
  } else if (!report.parsed || run.exit_code != 0 || run.signal != 0) {
    v.headline = e.id + ": the test stopped before it could report (" +
                 (run.signal ? "signal " + std::to_string(run.signal)
                             : "exit code " + std::to_string(run.exit_code)) +
                 "). Its last words:";
    auto lines = split_lines(run.output);
    if (lines.size() > 12) lines.erase(lines.begin(), lines.end() - 12);
    v.details = lines;
  } else if (report.cases == 0) {
    v.headline = e.id + ": its test ran no test case tagged [" + e.tag +
                 "]: the tag in exercises/manifest does not match test_" + e.id +
                 ".cpp (a bug in qkv, not in your code).";
  } else {
    v.outcome = Outcome::passed;
    v.headline = e.id + " passes (" + std::to_string(report.cases) + " test case" +
                 (report.cases == 1 ? "" : "s") + ")";
  }
  return v;
}

/// Rebuilds only exercise_<id> (unless --no-build), then runs its test.
Verdict check_exercise(const Context& ctx, const Exercise& e) {
  double build_seconds = -1;
  if (!ctx.no_build) {
    const auto build = cmake_build(ctx, {ctx.target(e)}, false);
    build_seconds = build.seconds;
    if (interrupted) return Verdict{Outcome::stopped, {}, {}, -1, -1};
    if (!build.started) throw LearnError("cannot run " + ctx.cmake);
    if (build.exit_code != 0) {
      const auto steps = failed_build_steps(build.output);
      const bool ours = !steps.empty() && std::all_of(steps.begin(), steps.end(), [&](auto& s) {
        return step_belongs_to(s, e.id);
      });
      auto v = ours ? compile_failure(ctx, e, build.output) : broken_build(ctx, build.output);
      v.build_seconds = build_seconds;
      return v;
    }
  }
  auto v = run_test(ctx, e);
  v.build_seconds = build_seconds;
  return v;
}

/// Every exercise, in manifest order. With ninja, one build of all the exercise targets
/// (going on past failures) instead of one per exercise.
std::vector<Verdict> check_all(const Context& ctx) {
  std::vector<Verdict> verdicts;
  const bool ninja = ctx.generator.rfind("Ninja", 0) == 0;
  if (ctx.no_build || !ninja) {
    for (const auto& e : ctx.exercises) verdicts.push_back(check_exercise(ctx, e));
    return verdicts;
  }
  std::vector<std::string> targets;
  for (const auto& e : ctx.exercises) targets.push_back(ctx.target(e));
  const auto build = cmake_build(ctx, targets, true);
  if (interrupted) throw Exit{130};
  if (!build.started) throw LearnError("cannot run " + ctx.cmake);
  const auto steps = failed_build_steps(build.output);
  if (build.exit_code != 0 && !only_exercise_steps(ctx, steps)) {
    print_verdict(ctx, ctx.exercises.front(), broken_build(ctx, build.output), false);
    throw Exit{1};
  }
  for (const auto& e : ctx.exercises) {
    std::string own_output;
    for (const auto& step : steps)
      if (step_belongs_to(step, e.id)) own_output += step;
    verdicts.push_back(own_output.empty() ? run_test(ctx, e) : compile_failure(ctx, e, own_output));
  }
  return verdicts;
}

void print_verdict(const Context& ctx, const Exercise& e, const Verdict& v, bool with_hint,
                   std::optional<double> since_save) {
  const auto& s = ctx.style;
  std::string timing;
  if (v.build_seconds >= 0) timing += "built in " + format_seconds(v.build_seconds);
  if (v.test_seconds >= 0)
    timing +=
        std::string(timing.empty() ? "" : ", ") + "tested in " + format_seconds(v.test_seconds);
  if (since_save) timing += "; verdict " + format_seconds(*since_save) + " after the save";
  const std::string mark = v.passed() ? s.green("✓") : s.red("✗");
  std::printf("%s %s%s\n", mark.c_str(), s.bold(v.headline).c_str(),
              timing.empty() ? "" : s.dim("  [" + timing + "]").c_str());
  for (const auto& line : v.details) std::printf("  %s\n", line.c_str());
  if (with_hint && (v.outcome == Outcome::failed || v.outcome == Outcome::no_compile))
    std::printf("%s%s", s.yellow("hint:").c_str(), wrap(e.hint, "  ").substr(1).c_str());
  std::fflush(stdout);
}

std::optional<std::size_t> index_of(const Context& ctx, const Exercise& e) {
  for (std::size_t i = 0; i < ctx.exercises.size(); ++i)
    if (ctx.exercises[i].id == e.id) return i;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// The commands

int cmd_list(const Context& ctx) {
  std::size_t width = 0;
  for (const auto& e : ctx.exercises) width = std::max(width, e.id.size());
  std::string chapter;
  for (const auto& e : ctx.exercises) {
    if (e.chapter != chapter) {
      chapter = e.chapter;
      if (&e != &ctx.exercises.front()) std::printf("\n");
      std::printf("%s\n", ctx.style.bold(chapter).c_str());
    }
    std::printf("  %-*s  %s\n", static_cast<int>(width), e.id.c_str(), e.title.c_str());
  }
  std::printf("\n%zu exercises. Open exercises/<chapter>/<file>; see where you stand: %s\n",
              ctx.exercises.size(), (ctx.self + " status").c_str());
  return 0;
}

void print_next(const Context& ctx, const Exercise& e, bool watching = false) {
  const auto& s = ctx.style;
  std::printf("%s %s (%s)\n", s.bold("Next:").c_str(), s.bold(e.id).c_str(), e.title.c_str());
  std::printf("  open   %s\n", ctx.display(ctx.exercise_file(e)).c_str());
  if (watching) return;
  std::printf("  check  %s check %s     (or leave %s watch running)\n", ctx.self.c_str(),
              e.id.c_str(), ctx.self.c_str());
  std::printf("  stuck? %s hint %s\n", ctx.self.c_str(), e.id.c_str());
}

int cmd_status(const Context& ctx) {
  const auto verdicts = check_all(ctx);
  const auto& s = ctx.style;
  const std::size_t total = ctx.exercises.size();
  std::size_t done = 0;
  std::optional<std::size_t> next;
  for (std::size_t i = 0; i < total; ++i) {
    if (verdicts[i].passed())
      ++done;
    else if (!next)
      next = i;
  }
  constexpr std::size_t kBar = 30;
  const std::size_t filled = total ? done * kBar / total : 0;
  std::string bar;
  for (std::size_t i = 0; i < kBar; ++i) bar += i < filled ? "█" : "░";
  std::printf(
      "%s  %s %3zu%%\n",
      s.bold(std::to_string(done) + " of " + std::to_string(total) + " exercises done").c_str(),
      s.green(bar).c_str(), total ? done * 100 / total : 0);

  std::size_t width = 0;
  for (const auto& e : ctx.exercises) width = std::max(width, e.id.size());
  std::string chapter;
  for (std::size_t i = 0; i < total; ++i) {
    const auto& e = ctx.exercises[i];
    if (e.chapter != chapter) {
      chapter = e.chapter;
      std::printf("\n%s\n", s.bold(chapter).c_str());
    }
    std::string mark = verdicts[i].passed() ? s.green("[done]")
                       : next == i          ? s.yellow("[next]")
                                            : s.dim("[todo]");
    std::string note;
    if (verdicts[i].outcome == Outcome::no_compile) note = "  (does not compile)";
    if (verdicts[i].outcome == Outcome::not_built) note = "  (not built)";
    std::printf("  %s %-*s  %s%s\n", mark.c_str(), static_cast<int>(width), e.id.c_str(),
                e.title.c_str(), s.red(note).c_str());
  }
  std::printf("\n");
  if (next) {
    print_next(ctx, ctx.exercises[*next]);
  } else {
    std::printf(
        "%s Every exercise passes. Compare yours with solutions/, or go on to the "
        "next chapter.\n",
        s.green("All done!").c_str());
  }
  return 0;
}

int cmd_check(const Context& ctx, const std::string& id) {
  if (!id.empty()) {
    const auto& e = ctx.find(id);
    const auto v = check_exercise(ctx, e);
    if (v.outcome == Outcome::stopped) return 130;
    print_verdict(ctx, e, v, true);
    return v.passed() ? 0 : 1;
  }
  for (std::size_t i = 0; i < ctx.exercises.size(); ++i) {
    const auto& e = ctx.exercises[i];
    const auto v = check_exercise(ctx, e);
    if (v.outcome == Outcome::stopped) return 130;
    print_verdict(ctx, e, v, true);
    if (v.outcome == Outcome::broken) return 1;
    if (!v.passed()) {
      std::printf("\n%zu of %zu exercises pass so far. ", i, ctx.exercises.size());
      std::printf("Open %s, then: %s check %s\n", ctx.display(ctx.exercise_file(e)).c_str(),
                  ctx.self.c_str(), e.id.c_str());
      return 1;
    }
  }
  std::printf("\nAll %zu exercises pass.\n", ctx.exercises.size());
  return 0;
}

/// The first exercise, from `start` on (wrapping around), that does not pass yet; checks
/// them one by one and prints a line for each that passes.
std::optional<std::pair<std::size_t, Verdict>> first_not_done(const Context& ctx, std::size_t start,
                                                              bool quiet, int* checks = nullptr) {
  const auto n = ctx.exercises.size();
  for (std::size_t k = 0; k < n; ++k) {
    const auto i = (start + k) % n;
    auto v = check_exercise(ctx, ctx.exercises[i]);
    if (checks) ++*checks;
    if (v.outcome == Outcome::stopped) throw Exit{130};
    if (!v.passed()) return std::pair{i, std::move(v)};
    if (!quiet) print_verdict(ctx, ctx.exercises[i], v, false);
  }
  return std::nullopt;
}

int cmd_hint(Context& ctx, const std::string& id) {
  const Exercise* e = nullptr;
  if (!id.empty()) {
    e = &ctx.find(id);
  } else {
    require_build(ctx);
    const auto current = first_not_done(ctx, 0, true);
    if (!current) {
      std::printf("Every exercise passes: no hint needed.\n");
      return 0;
    }
    e = &ctx.exercises[current->first];
  }
  std::printf("%s %s (%s)\n", ctx.style.yellow("Hint for").c_str(), ctx.style.bold(e->id).c_str(),
              e->title.c_str());
  std::printf("%s", wrap(e->hint, "  ").c_str());
  std::printf("  (edit %s)\n", ctx.display(ctx.exercise_file(*e)).c_str());
  return 0;
}

int cmd_solution(const Context& ctx, const std::string& id, bool force) {
  const auto& e = ctx.find(id);
  if (!force) {
    const auto v = check_exercise(ctx, e);
    if (v.outcome == Outcome::stopped) return 130;
    if (!v.passed()) {
      print_verdict(ctx, e, v, false);
      std::printf(
          "\nThe reference solution stays hidden until yours passes: try\n  %s hint %s\n"
          "or see it anyway with\n  %s solution %s --force\n",
          ctx.self.c_str(), e.id.c_str(), ctx.self.c_str(), e.id.c_str());
      return 1;
    }
  }
  const auto path = ctx.solution_file(e);
  if (!fs::exists(path))
    throw LearnError("there is no reference solution: " + ctx.display(path) + " is missing");
  std::printf("%s %s\n\n", ctx.style.bold("Reference solution of " + e.id + ":").c_str(),
              ctx.display(path).c_str());
  const auto text = read_file(path);
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (!text.empty() && text.back() != '\n') std::printf("\n");
  return 0;
}

// ---------------------------------------------------------------------------------------
// reset: where the untouched stub comes from
//
// Not from HEAD alone: a learner who commits their work has their solution at HEAD. Not
// from a copy made at configure time either: the first configure may come after the first
// edit. The stub is the newest version of the file in the git history of HEAD that still
// contains QKV_NOT_DONE(), the line every stub ends with and every solution removes. That
// is the stub as last updated by qkv itself, consistent with the header and test checked
// out beside it, whatever the learner committed since.

struct Stub {
  std::string text;
  std::string commit;
};

std::optional<Stub> pristine_stub(const Context& ctx, const fs::path& file, std::string& why) {
  const auto top = run_process({"git", "-C", ctx.root.string(), "rev-parse", "--show-toplevel"});
  // (git's own message, if it fails, is in the output: it says why)
  if (!top.started || top.exit_code != 0) {
    why = top.started ? "this folder is not a git clone (" + trim(top.output) + ")"
                      : "git is not installed";
    return std::nullopt;
  }
  const fs::path git_root = trim(top.output);
  std::error_code error;
  const auto relative =
      fs::weakly_canonical(file, error).lexically_relative(fs::weakly_canonical(git_root, error));
  const auto log = run_process({"git", "-C", git_root.string(), "log", "--format=%H", "-n", "500",
                                "--", relative.generic_string()});
  if (log.exit_code != 0) {
    why = "git log failed: " + trim(log.output);
    return std::nullopt;
  }
  for (const auto& commit : split_lines(log.output)) {
    if (commit.size() < 7) continue;
    // cat-file --filters: the file as a checkout writes it (line endings included).
    const auto show = run_process({"git", "-C", git_root.string(), "cat-file", "--filters",
                                   commit + ":" + relative.generic_string()},
                                  {0, {}, true});
    if (show.exit_code == 0 && show.output.find("QKV_NOT_DONE()") != std::string::npos)
      return Stub{show.output, commit};
  }
  why = "no version of " + relative.generic_string() +
        " in this clone's git history contains QKV_NOT_DONE()";
  return std::nullopt;
}

std::string timestamp() {
  const auto now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%d-%H%M%S", &local);
  return buffer;
}

int cmd_reset(const Context& ctx, const std::string& id, bool yes) {
  const auto& e = ctx.find(id);
  const auto file = ctx.exercise_file(e);
  std::string why;
  const auto stub = pristine_stub(ctx, file, why);
  if (!stub) {
    std::printf(
        "Cannot reset %s: %s.\nNothing was changed. The untouched stub is in the qkv repository, "
        "file %s.\n",
        e.id.c_str(), why.c_str(), ("exercises/" + e.chapter + "/" + e.file).c_str());
    return 1;
  }
  const bool exists = fs::exists(file);
  if (exists && read_file(file) == stub->text) {
    std::printf("%s is the untouched stub already: nothing to do.\n", ctx.display(file).c_str());
    return 0;
  }
  fs::path backup = file.string() + "." + timestamp() + ".bak";
  for (int n = 2; fs::exists(backup); ++n)
    backup = file.string() + "." + timestamp() + "-" + std::to_string(n) + ".bak";
  if (!yes) {
    std::printf("Reset %s to the untouched stub?\n  %s is replaced by the stub as of commit %s\n",
                e.id.c_str(), ctx.display(file).c_str(), stub->commit.substr(0, 10).c_str());
    if (exists) std::printf("  your version is kept as %s\n", ctx.display(backup).c_str());
    std::printf("[y/N] ");
    std::fflush(stdout);
    std::string answer;
    if (!std::getline(std::cin, answer)) std::printf("\n");
    answer = trim(answer);
    if (answer != "y" && answer != "Y" && answer != "yes" && answer != "Yes") {
      std::printf("Nothing was changed%s.\n",
                  std::cin ? "" : " (no answer; --yes resets without asking)");
      return 1;
    }
  }
  if (exists) fs::copy_file(file, backup, fs::copy_options::none);  // never overwrites
  // Written beside it, then renamed over it: a crash cannot leave half a file.
  const fs::path temporary = file.string() + ".qkv-learn-new";
  {
    std::ofstream out(temporary, std::ios::binary);
    out.write(stub->text.data(), static_cast<std::streamsize>(stub->text.size()));
    if (!out) throw LearnError("cannot write " + temporary.string());
  }
  fs::rename(temporary, file);
  std::printf("Restored %s (the stub as of commit %s).\n", ctx.display(file).c_str(),
              stub->commit.substr(0, 10).c_str());
  if (exists) std::printf("Your version is in %s\n", ctx.display(backup).c_str());
  return 0;
}

// ---------------------------------------------------------------------------------------
// watch

struct Stamp {
  bool exists = false;
  long long mtime_ns = 0;
  long long size = 0;
  unsigned long long inode = 0;
  bool operator==(const Stamp&) const = default;
};

Stamp stamp_of(const fs::path& file) {
  struct stat info {};
  Stamp s;
  if (stat(file.c_str(), &info) != 0) return s;
  s.exists = true;
  s.mtime_ns = static_cast<long long>(info.st_mtim.tv_sec) * 1000000000LL + info.st_mtim.tv_nsec;
  s.size = static_cast<long long>(info.st_size);
  s.inode = static_cast<unsigned long long>(info.st_ino);
  return s;
}

double seconds_since(const Stamp& s) {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  const long long now_ns = static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec;
  return static_cast<double>(now_ns - s.mtime_ns) / 1e9;
}

enum class Event { saved, check_now, quit };

/// Waits until `file` is saved (its modification time, size or inode change: polling, so it
/// works on mounted and network folders), a command is typed, or Ctrl-C.
Event wait_for_event(const Context& ctx, const Exercise& e, const fs::path& file, Stamp& last,
                     double interval, bool& stdin_open) {
  while (!interrupted) {
    pollfd fd{STDIN_FILENO, POLLIN, 0};
    const int ready = poll(&fd, stdin_open ? 1 : 0, static_cast<int>(interval * 1000));
    if (interrupted) break;
    if (ready > 0 && (fd.revents & (POLLIN | POLLHUP))) {
      std::string line;
      char c;
      ssize_t n = 0;
      while ((n = read(STDIN_FILENO, &c, 1)) == 1 && c != '\n') line += c;
      if (n <= 0 && line.empty()) {
        stdin_open = false;  // end of input: go on watching the file alone
      } else {
        const auto command = trim(line);
        if (command == "q" || command == "quit") return Event::quit;
        if (command.empty() || command == "c" || command == "check") return Event::check_now;
        if (command == "h" || command == "hint") {
          std::printf("%s%s", ctx.style.yellow("hint:").c_str(),
                      wrap(e.hint, "  ").substr(1).c_str());
        } else {
          std::printf("Type h (hint), c or Enter (check now), q (quit), then Enter.\n");
        }
        std::fflush(stdout);
      }
    }
    const auto now = stamp_of(file);
    if (now == last || !now.exists) continue;
    // Saved: wait until the editor has finished writing (two equal looks in a row).
    auto settled = now;
    for (int i = 0; i < 40 && !interrupted; ++i) {
      poll(nullptr, 0, 50);
      const auto again = stamp_of(file);
      if (again == settled) break;
      settled = again;
    }
    last = settled;
    return Event::saved;
  }
  return Event::quit;
}

int cmd_watch(const Context& ctx, const std::string& id, double interval, int max_checks) {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: poll() returns at once on Ctrl-C
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  const auto& s = ctx.style;
  int checks = 0;
  auto stop_now = [&] { return max_checks > 0 && checks >= max_checks; };
  auto goodbye = [&] {
    std::printf(
        "\nStopped watching. Nothing is lost: your files are saved, and progress is "
        "recomputed from the tests (%s status).\n",
        ctx.self.c_str());
    return 0;
  };

  std::size_t current = 0;
  Verdict verdict;
  try {
    if (!id.empty()) {
      current = *index_of(ctx, ctx.find(id));
      verdict = check_exercise(ctx, ctx.exercises[current]);
      ++checks;
      if (verdict.outcome == Outcome::stopped) return goodbye();
      print_verdict(ctx, ctx.exercises[current], verdict, true);
    } else {
      const auto first = first_not_done(ctx, 0, false, &checks);
      if (!first) {
        std::printf("%s Every exercise passes.\n", s.green("All done!").c_str());
        return 0;
      }
      current = first->first;
      verdict = first->second;
      print_verdict(ctx, ctx.exercises[current], verdict, true);
    }
    bool stdin_open = true;
    while (!stop_now()) {
      if (verdict.passed()) {
        // Move on: the next exercise after this one that does not pass.
        const auto next = first_not_done(ctx, current + 1, false, &checks);
        if (!next) {
          std::printf("%s Every exercise passes.\n", s.green("All done!").c_str());
          return 0;
        }
        current = next->first;
        verdict = next->second;
        std::printf("\n");
        print_next(ctx, ctx.exercises[current], true);
        print_verdict(ctx, ctx.exercises[current], verdict, true);
        if (stop_now()) break;
      }
      const auto& e = ctx.exercises[current];
      const auto file = ctx.exercise_file(e);
      auto last = stamp_of(file);
      std::printf("\n%s %s\n  %s\n", s.bold("Watching").c_str(), ctx.display(file).c_str(),
                  s.dim("save it to check again; h Enter: hint, Enter: check now, q Enter or "
                        "Ctrl-C: stop")
                      .c_str());
      std::fflush(stdout);
      const auto event = wait_for_event(ctx, e, file, last, interval, stdin_open);
      if (event == Event::quit) return goodbye();
      std::printf("\n%s\n",
                  s.dim("── " + e.id + (event == Event::saved ? ": saved, checking" : ": checking"))
                      .c_str());
      std::fflush(stdout);
      verdict = check_exercise(ctx, e);
      ++checks;
      if (verdict.outcome == Outcome::stopped) return goodbye();
      std::optional<double> since;
      if (event == Event::saved) {
        const double seconds = seconds_since(last);
        if (seconds >= 0 && seconds < 600) since = seconds;
      }
      print_verdict(ctx, e, verdict, true, since);
    }
  } catch (const Exit& exit) {
    if (exit.code == 130) return goodbye();
    throw;
  }
  std::printf("\nStopped after %d checks (--max-checks).\n", checks);
  return 0;
}

// ---------------------------------------------------------------------------------------
// Where things are

/// A number written plainly in decimal, finite and in [min, max]. (CLI11 alone takes "nan"
/// through a range check and reads "0x10" as 16.)
template <typename T>
CLI::Validator strict_number(T min, T max) {
  std::ostringstream bounds;
  bounds << "[" << min << " - " << max << "]";
  const std::string range = bounds.str();
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        T value{};
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (error != std::errc{} || stop != end || !std::isfinite(static_cast<double>(value)))
          return "'" + text + "' is not " + (std::is_integral_v<T> ? "a whole number" : "a number");
        if (value < min || value > max) return text + " is out of range: it must lie in " + range;
        return {};
      },
      std::is_integral_v<T> ? "INT in " + range : "FLOAT in " + range);
}

fs::path executable_path() {
  std::error_code error;
  auto path = fs::read_symlink("/proc/self/exe", error);
  return error ? fs::path() : path;
}

bool is_root(const fs::path& dir) {
  std::error_code error;
  return fs::is_regular_file(dir / "exercises" / "manifest", error) &&
         fs::is_regular_file(dir / "CMakeLists.txt", error);
}

fs::path find_root(const std::string& flag, const fs::path& cwd) {
  if (!flag.empty()) {
    const auto root = fs::absolute(flag).lexically_normal();
    if (!fs::is_regular_file(root / "exercises" / "manifest")) {
      std::fprintf(stderr, "qkv-learn: error: --root %s: no exercises/manifest there\n",
                   flag.c_str());
      throw Exit{2};
    }
    return root;
  }
  for (auto dir = cwd; !dir.empty(); dir = dir.parent_path()) {
    if (is_root(dir)) return dir;
    if (dir == dir.parent_path()) break;
  }
#ifdef QKV_LEARN_SOURCE_DIR
  if (is_root(QKV_LEARN_SOURCE_DIR)) return fs::path(QKV_LEARN_SOURCE_DIR);
#endif
  std::fprintf(stderr,
               "qkv-learn: error: cannot find the qkv repository: run qkv-learn from inside it, "
               "or pass --root DIR\n");
  throw Exit{2};
}

/// --build, else the build qkv-learn itself belongs to when it is a learner's build of
/// this repository (exercise tests from exercises/), else build/dev.
fs::path find_build(const std::string& flag, const fs::path& root) {
  if (!flag.empty()) return fs::absolute(flag).lexically_normal();
  const auto exe = executable_path();
  if (!exe.empty()) {
    const auto own = exe.parent_path().parent_path();
    const auto cache = read_file(own / "CMakeCache.txt");
    if (!cache.empty() && cache_value(cache, "QKV_EXERCISES_FROM") == "exercises" &&
        same_folder(cache_value(cache, "CMAKE_HOME_DIRECTORY"), root))
      return own;
  }
  return root / "build" / "dev";
}

}  // namespace

int main(int argc, char** argv) {
  std::string root_flag, build_flag, id;
  bool no_build = false, yes = false, force = false;
  double interval = 0.25;
  int max_checks = 0;

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

  auto* status =
      app.add_subcommand("status", "every exercise, done or not, and the next one (the default)");
  status->add_flag("--no-build", no_build, "use the test programs as they are, without rebuilding");
  auto* check = app.add_subcommand(
      "check", "rebuild an exercise's test, run it, explain the first failure and give its hint");
  check->add_option("id", id, "the exercise (default: each in order, up to the first that fails)");
  check->add_flag("--no-build", no_build, "use the test programs as they are, without rebuilding");
  auto* hint = app.add_subcommand("hint", "the hint of an exercise");
  hint->add_option("id", id, "the exercise (default: the first one not done)");
  auto* watch = app.add_subcommand(
      "watch", "check again each time you save the exercise's file; move on when it passes");
  watch->add_option("id", id, "the exercise to start with (default: the first one not done)");
  watch->add_option("--interval", interval, "seconds between two looks at the file")
      ->capture_default_str()
      ->check(strict_number<double>(0.05, 10.0));
  watch->add_option("--max-checks", max_checks, "stop after this many checks (0: never)")
      ->capture_default_str()
      ->check(strict_number<int>(0, 1000000));
  auto* reset = app.add_subcommand(
      "reset", "restore the untouched stub of an exercise, keeping your file as a backup");
  reset->add_option("id", id, "the exercise")->required();
  reset->add_flag("-y,--yes", yes, "do not ask first");
  auto* solution =
      app.add_subcommand("solution", "show the reference solution, once your exercise passes");
  solution->add_option("id", id, "the exercise")->required();
  solution->add_flag("--force", force, "show it even if yours does not pass yet");
  auto* list = app.add_subcommand("list", "the exercises in order, with their titles");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& success) {  // --help
    return app.exit(success);
  } catch (const CLI::ParseError& error) {
    std::fprintf(stderr, "qkv-learn: error: %s\n\n%s", error.what(), app.help().c_str());
    return 2;
  }

  try {
    Context ctx;
    ctx.cwd = fs::current_path();
    ctx.root = find_root(root_flag, ctx.cwd);
    ctx.build = find_build(build_flag, ctx.root);
    ctx.no_build = no_build;
    ctx.style.color = isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR") &&
                      std::string(std::getenv("TERM") ? std::getenv("TERM") : "") != "dumb";
    ctx.self = std::string(argv[0]).find('/') != std::string::npos ? argv[0] : "qkv-learn";
    if (!root_flag.empty()) ctx.self += " --root " + root_flag;
    if (!build_flag.empty()) ctx.self += " --build " + build_flag;
    ctx.exercises = read_manifest(ctx.root / "exercises" / "manifest");
    if (ctx.exercises.empty()) throw LearnError("exercises/manifest lists no exercises");

    // Commands that only read the manifest and the files need no build.
    if (list->parsed()) return cmd_list(ctx);
    if (hint->parsed()) return cmd_hint(ctx, id);
    if (reset->parsed()) return cmd_reset(ctx, id, yes);
    if (!id.empty()) ctx.find(id);  // an unknown id is a usage error, before any build
    if (solution->parsed() && force) return cmd_solution(ctx, id, true);

    require_build(ctx);
    if (check->parsed()) return cmd_check(ctx, id);
    if (watch->parsed()) return cmd_watch(ctx, id, interval, max_checks);
    if (solution->parsed()) return cmd_solution(ctx, id, false);
    (void)status;
    return cmd_status(ctx);
  } catch (const Exit& exit) {
    return exit.code;
  } catch (const LearnError& error) {
    std::fflush(stdout);
    std::fprintf(stderr, "qkv-learn: error: %s\n", error.what());
    return 1;
  } catch (const std::exception& error) {
    std::fflush(stdout);
    std::fprintf(stderr, "qkv-learn: error: %s\n", error.what());
    return 1;
  }
}
