// check_exercise(): the build, the test run and the reading of its report, for every command.

#include "verdict.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <system_error>

#include "learn.hpp"
#include "process.hpp"

namespace qkv::learn {

namespace fs = std::filesystem;

namespace {

constexpr double kTestTimeoutSeconds = 60;
/// How many times a verdict is redone when the files change while it is being made.
constexpr int kMaxAttempts = 4;

std::string hash_text(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return fmt::format("{:016x}", hash);
}

/// The sources of an exercise's test program that the learner may edit.
std::vector<std::string> sources_of(const Exercise& e) {
  std::vector<std::string> files{e.file, e.test};
  if (!e.header.empty()) files.push_back(e.header);
  return files;
}

/// Each source's content hash ("-" when it cannot be read).
std::map<std::string, std::string> source_hashes(const Context& ctx, const Exercise& e) {
  std::map<std::string, std::string> hashes;
  for (const auto& file : sources_of(e)) {
    std::error_code error;
    hashes[file] =
        fs::exists(ctx.source(file), error) ? hash_text(read_file(ctx.source(file))) : "-";
  }
  return hashes;
}

std::string combined(const std::map<std::string, std::string>& hashes) {
  std::string all;
  for (const auto& [file, hash] : hashes) all.append(file).append("=").append(hash).append("\n");
  return hash_text(all);
}

fs::path built_state(const Context& ctx, const Exercise& e) {
  return ctx.state_dir() / (e.id + ".built");
}

/// The hashes the last successful build that qkv-learn drove saw.
std::map<std::string, std::string> last_built(const Context& ctx, const Exercise& e) {
  std::map<std::string, std::string> hashes;
  for (const auto& line : split_lines(read_file(built_state(ctx, e)))) {
    const auto space = line.find(' ');
    if (space != std::string::npos) hashes[line.substr(space + 1)] = line.substr(0, space);
  }
  return hashes;
}

void record_built(const Context& ctx, const Exercise& e,
                  const std::map<std::string, std::string>& hashes) {
  std::error_code error;
  fs::create_directories(ctx.state_dir(), error);
  const auto path = built_state(ctx, e);
  const fs::path temporary = path.string() + ".new";
  {
    std::ofstream out(temporary, std::ios::binary);
    for (const auto& [file, hash] : hashes) out << hash << ' ' << file << '\n';
  }
  fs::rename(temporary, path, error);
}

/// The folders where CMake keeps the objects of `target`.
std::vector<fs::path> object_dirs(const Context& ctx, const Exercise& e) {
  std::vector<fs::path> dirs;
  std::error_code error;
  const std::string name = e.target + ".dir";
  for (const auto& candidate :
       {ctx.build / fs::path(e.executable).parent_path() / "CMakeFiles" / name,
        ctx.build / "CMakeFiles" / name}) {
    if (fs::is_directory(candidate, error)) dirs.push_back(candidate);
  }
  return dirs;
}

/// Makes the build recompile what changed since the last build qkv-learn drove: ninja and
/// make rebuild an object only when a source is newer, and a save that lands while the
/// object is being written leaves an object newer than the source it did not see. With no
/// record (a build qkv-learn did not drive), the time stamps are trusted.
void force_changed(const Context& ctx, const Exercise& e,
                   const std::map<std::string, std::string>& now) {
  const auto before = last_built(ctx, e);
  if (before.empty()) return;
  std::vector<std::string> changed_names;
  bool all = false;
  for (const auto& [file, hash] : now) {
    const auto seen = before.find(file);
    if (seen != before.end() && seen->second == hash) continue;
    if (file == e.header) all = true;  // both objects include it
    changed_names.push_back(fs::path(file).filename().string() + ".o");
  }
  if (changed_names.empty()) return;
  std::error_code error;
  for (const auto& dir : object_dirs(ctx, e)) {
    for (auto it = fs::recursive_directory_iterator(dir, error);
         it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (error) break;
      const auto name = it->path().filename().string();
      const bool object = name.size() > 2 && name.substr(name.size() - 2) == ".o";
      if (object && (all || std::find(changed_names.begin(), changed_names.end(), name) !=
                                changed_names.end()))
        fs::remove(it->path(), error);
    }
  }
}

ProcessResult cmake_build(const Context& ctx, const std::vector<std::string>& targets,
                          bool keep_going) {
  std::vector<std::string> args{ctx.cmake, "--build", ctx.build.string(), "--target"};
  args.insert(args.end(), targets.begin(), targets.end());
  if (keep_going && ctx.ninja()) {
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
                      " --target " + e.target + ")");
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

bool only_exercise_steps(const Context& ctx, const std::vector<std::string>& steps) {
  return !steps.empty() && std::all_of(steps.begin(), steps.end(), [&](const std::string& step) {
    return std::any_of(ctx.exercises.begin(), ctx.exercises.end(),
                       [&](const Exercise& e) { return step_belongs_to(step, e.id); });
  });
}

/// How many test cases the program has for the tag (Catch2 v2, else v3); 0 when unknown.
std::size_t count_test_cases(const fs::path& binary, const std::string& tag) {
  auto list =
      run_process({binary.string(), "[" + tag + "]", "--list-test-names-only"}, {10, {}, true});
  if (!list.started) return 0;
  if (list.output.find("Unrecognised") != std::string::npos || list.output.empty())
    list = run_process({binary.string(), "[" + tag + "]", "--list-tests", "--verbosity", "quiet"},
                       {10, {}, true});
  return read_test_list(list.output).size();
}

std::string ordinal_of(std::size_t index, std::size_t total) {
  return total > 0 ? std::to_string(index) + " of " + std::to_string(total) : "";
}

Verdict crash_verdict(const Context& ctx, const Exercise& e, const ProcessResult& run,
                      const TestReport& report) {
  Verdict v;
  v.outcome = Outcome::crashed;
  std::string what =
      run.signal != 0 ? describe_signal(run.signal) : report.crash.value_or("an unknown signal");
  if (const auto assertion = find_assertion(run.output)) {
    v.headline = e.id + " crashed: your code indexed out of range at " +
                 ctx.display(assertion->file) +
                 (assertion->line > 0 ? ":" + std::to_string(assertion->line) : "") + ".";
    if (!assertion->what.empty()) v.details.push_back("    the check: " + assertion->what);
  } else {
    v.headline = e.id + " crashed: " + what + ".";
  }
  const std::size_t total = count_test_cases(ctx.test_binary(e), e.tag);
  const std::size_t ran = report.cases_run.size();
  const std::string running =
      report.crashed_in.value_or(report.cases_run.empty() ? "" : report.cases_run.back());
  std::string where = "before its first test case";
  if (!running.empty()) {
    where = "in test case " + (total >= ran && ran > 0 ? ordinal_of(ran, total) + ", " : "") +
            "\"" + running + "\"";
    if (total > ran) where += " (the " + std::to_string(total - ran) + " after it did not run)";
  }
  v.details.push_back(where);
  if (report.first_failure && !report.first_failure->fatal) {
    v.details.push_back("before the crash, a check failed:");
    for (const auto& line : describe_failure(*report.first_failure,
                                             [&](const std::string& p) { return ctx.display(p); }))
      v.details.push_back("  " + line);
  }
  // What the program itself printed last (its stdout and stderr: the report went to a file).
  auto lines = split_lines(run.output);
  lines.erase(std::remove_if(lines.begin(), lines.end(),
                             [](const std::string& l) {
                               return trim(l).empty() ||
                                      l.find("qkv-assert: ") != std::string::npos;
                             }),
              lines.end());
  if (lines.size() > 8) lines.erase(lines.begin(), lines.end() - 8);
  if (!lines.empty()) {
    v.details.push_back("its last words:");
    for (const auto& line : lines) v.details.push_back("  " + line);
  }
  return v;
}

Verdict run_test(const Context& ctx, const Exercise& e) {
  Verdict v;
  const auto binary = ctx.test_binary(e);
  std::error_code error;
  if (!fs::exists(binary, error)) {
    v.outcome = Outcome::not_built;
    v.headline = e.id + " is not built: " + ctx.display(binary) + " is missing";
    v.details = {"(build it: cmake --build " + ctx.display(ctx.build) + " --target " + e.target +
                 ")"};
    return v;
  }
  // The report goes to a file of its own, so that what the program prints (an assertion's
  // line, a sanitizer's report) never lands inside the XML.
  fs::create_directories(ctx.state_dir(), error);
  const auto report_path = ctx.state_dir() / (e.id + ".xml");
  fs::remove(report_path, error);
  const auto run = run_process({binary.string(), "[" + e.tag + "]", "-r", "xml", "-o",
                                report_path.string(), "--order", "decl"},
                               {kTestTimeoutSeconds, {}});
  v.test_seconds = run.seconds;
  if (interrupted()) {
    v.outcome = Outcome::stopped;
    return v;
  }
  const auto report = read_catch_xml(read_file(report_path));
  auto display = [&](const std::string& path) { return ctx.display(path); };
  if (run.timed_out) {
    v.headline = e.id + ": the test did not finish within " + format_seconds(kTestTimeoutSeconds) +
                 ". An endless loop?";
  } else if (run.signal != 0 || report.crash) {
    auto crashed = crash_verdict(ctx, e, run, report);
    crashed.test_seconds = run.seconds;
    return crashed;
  } else if (report.first_failure && is_not_done(*report.first_failure)) {
    v.headline = e.id + " is not done yet.";
    v.untouched = true;
    v.details = {"Open " + ctx.display(ctx.source(e.file)) +
                     ", read its TODO, and replace the QKV_NOT_DONE() line.",
                 "(stuck? a first hint: " + ctx.self + " hint " + e.id + ")"};
  } else if (report.first_failure) {
    v.headline = e.id + " fails " +
                 (report.cases > 0 ? std::to_string(report.cases_failed) + " of " +
                                         std::to_string(report.cases) + " test cases"
                                   : std::string("its test")) +
                 ". The first failing check:";
    v.details = describe_failure(*report.first_failure, display);
  } else if (!report.parsed || run.exit_code != 0) {
    v.headline = e.id + ": the test stopped before it could report (exit code " +
                 std::to_string(run.exit_code) + "). Its last words:";
    auto lines = split_lines(run.output);
    if (lines.size() > 12) lines.erase(lines.begin(), lines.end() - 12);
    v.details = lines;
  } else if (report.cases == 0) {
    v.headline = e.id + ": its test ran no test case tagged [" + e.tag + "]: the tag does not " +
                 "match " + e.test + " (a bug in qkv, not in your code).";
  } else {
    v.outcome = Outcome::passed;
    v.headline = e.id + " passes (" + std::to_string(report.cases) + " test case" +
                 (report.cases == 1 ? "" : "s") + ")";
  }
  return v;
}

void add_test_note(const Context& ctx, const Exercise& e, const std::set<std::string>& edited,
                   Verdict& v) {
  if (edited.count(e.test) == 0) return;
  v.notes.push_back("note: " + ctx.display(ctx.source(e.test)) +
                    " differs from git's: this verdict is about your version of the test. "
                    "Restore it with: " +
                    ctx.self + " reset " + e.id + " --test");
}

/// One attempt: build (unless --no-build), record what the build saw, run the test.
Verdict attempt(const Context& ctx, const Exercise& e,
                const std::map<std::string, std::string>& hashes) {
  double build_seconds = -1;
  if (!ctx.no_build) {
    force_changed(ctx, e, hashes);
    const auto build = cmake_build(ctx, {e.target}, false);
    build_seconds = build.seconds;
    if (interrupted()) return Verdict{Outcome::stopped, {}, {}, {}, -1, -1, {}};
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
    record_built(ctx, e, hashes);
  }
  auto v = run_test(ctx, e);
  v.build_seconds = build_seconds;
  return v;
}

}  // namespace

std::string sources_hash(const Context& ctx, const Exercise& e) {
  return combined(source_hashes(ctx, e));
}

std::set<std::string> edited_tests(const Context& ctx, const std::vector<Exercise>& exercises) {
  std::vector<std::string> args{
      "git", "-C", ctx.root.string(), "diff", "--name-only", "--relative", "HEAD", "--"};
  for (const auto& e : exercises) args.push_back(e.test);
  const auto diff = run_process(args, {20, {}, true});
  std::set<std::string> edited;
  if (!diff.started || diff.exit_code != 0) return edited;  // not a git clone: nothing to say
  for (const auto& line : split_lines(diff.output))
    if (!trim(line).empty()) edited.insert(trim(line));
  return edited;
}

Verdict check_exercise(const Context& ctx, const Exercise& e) {
  Verdict v;
  for (int i = 0; i < kMaxAttempts; ++i) {
    // The hashes are taken before the build: a save that lands during the build or the
    // test run is then seen below, and judged in the next round.
    const auto hashes = source_hashes(ctx, e);
    v = attempt(ctx, e, hashes);
    v.judged = combined(hashes);
    if (v.outcome == Outcome::stopped || ctx.no_build) break;
    if (source_hashes(ctx, e) == hashes) break;
  }
  add_test_note(ctx, e, edited_tests(ctx, {e}), v);
  return v;
}

std::vector<Verdict> check_all(const Context& ctx) {
  std::vector<Verdict> verdicts;
  if (ctx.no_build || !ctx.ninja()) {
    for (const auto& e : ctx.exercises) {
      verdicts.push_back(check_exercise(ctx, e));
      if (verdicts.back().outcome == Outcome::stopped) throw Exit{130};
    }
    return verdicts;
  }
  std::vector<std::map<std::string, std::string>> hashes;
  std::vector<std::string> targets;
  for (const auto& e : ctx.exercises) {
    hashes.push_back(source_hashes(ctx, e));
    force_changed(ctx, e, hashes.back());
    targets.push_back(e.target);
  }
  const auto build = cmake_build(ctx, targets, true);
  if (interrupted()) throw Exit{130};
  if (!build.started) throw LearnError("cannot run " + ctx.cmake);
  const auto steps = failed_build_steps(build.output);
  if (build.exit_code != 0 && !only_exercise_steps(ctx, steps)) {
    print_verdict(ctx, ctx.exercises.front(), broken_build(ctx, build.output), false);
    throw Exit{1};
  }
  const auto edited = edited_tests(ctx, ctx.exercises);
  for (std::size_t i = 0; i < ctx.exercises.size(); ++i) {
    const auto& e = ctx.exercises[i];
    std::string own_output;
    for (const auto& step : steps)
      if (step_belongs_to(step, e.id)) own_output += step;
    Verdict v;
    if (own_output.empty()) {
      record_built(ctx, e, hashes[i]);
      v = run_test(ctx, e);
    } else {
      v = compile_failure(ctx, e, own_output);
    }
    if (interrupted()) throw Exit{130};
    v.judged = combined(hashes[i]);
    if (source_hashes(ctx, e) != hashes[i]) {
      v = check_exercise(ctx, e);  // changed meanwhile: judge it as it is now
    } else {
      add_test_note(ctx, e, edited, v);
    }
    verdicts.push_back(std::move(v));
  }
  return verdicts;
}

std::string progress_summary(const std::vector<Verdict>& verdicts) {
  std::size_t in_order = 0;
  while (in_order < verdicts.size() && verdicts[in_order].passed()) ++in_order;
  const auto done = static_cast<std::size_t>(
      std::count_if(verdicts.begin(), verdicts.end(), [](const Verdict& v) { return v.passed(); }));
  return "the first " + std::to_string(in_order) + " in order pass; " + std::to_string(done) +
         " of " + std::to_string(verdicts.size()) + " done";
}

std::string format_hint(const Context& ctx, const Exercise& e, std::size_t level) {
  const auto total = e.hints.size();
  const auto label = "hint " + std::to_string(level) + " of " + std::to_string(total) + ":";
  const auto text = wrap(e.hints.at(level - 1), std::string(2, ' '));
  return ctx.style.yellow(label) + "\n" + text;
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
  for (const auto& note : v.notes) std::printf("%s", s.yellow(wrap(note, "  ")).c_str());
  if (with_hint && v.about_code() && !e.hints.empty()) {
    std::printf("%s", format_hint(ctx, e, 1).c_str());
    if (e.hints.size() > 1)
      std::printf("  %s\n",
                  s.dim("(the next hint: " + ctx.self + " hint " + e.id + " --more)").c_str());
  }
  std::fflush(stdout);
}

}  // namespace qkv::learn
