// list, status, check, hint and solution: the commands that print verdicts and hints.

#include "commands.hpp"

#include <algorithm>

#include "learn.hpp"
#include "process.hpp"
#include "verdict.hpp"

namespace qkv::learn {

namespace fs = std::filesystem;

void print_next(const Context& ctx, const Exercise& e, bool watching) {
  const auto& s = ctx.style;
  std::printf("%s %s (%s)\n", s.bold("Next:").c_str(), s.bold(e.id).c_str(), e.title.c_str());
  std::printf("  open   %s\n", ctx.display(ctx.source(e.file)).c_str());
  if (watching) return;
  std::printf("  check  %s check %s     (or leave %s watch running)\n", ctx.self.c_str(),
              e.id.c_str(), ctx.self.c_str());
  std::printf("  stuck? %s hint %s\n", ctx.self.c_str(), e.id.c_str());
}

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
  std::printf("\n%zu exercises. Open exercises/<chapter>/<id>.cpp; see where you stand: %s\n",
              ctx.exercises.size(), (ctx.self + " status").c_str());
  return 0;
}

namespace {

/// CI on the untouched stubs: every exercise test must fail, and say which file to edit.
int expect_stubs(const Context& ctx, const std::vector<Verdict>& verdicts) {
  int problems = 0;
  for (std::size_t i = 0; i < verdicts.size(); ++i) {
    const auto& e = ctx.exercises[i];
    const auto& v = verdicts[i];
    std::string said = v.headline;
    for (const auto& line : v.details) said += "\n" + line;
    const auto report = read_file(ctx.state_dir() / (e.id + ".xml"));
    if (v.passed()) {
      std::printf(
          "FAIL: %s passes with the untouched stub: its test cannot catch a missing "
          "solution\n",
          e.id.c_str());
      ++problems;
    } else if (v.outcome == Outcome::not_built || v.outcome == Outcome::no_compile ||
               v.outcome == Outcome::broken) {
      std::printf("FAIL: %s: %s\n", e.id.c_str(), v.headline.c_str());
      ++problems;
    } else if (report.find(e.file) == std::string::npos &&
               said.find(ctx.display(ctx.source(e.file))) == std::string::npos) {
      std::printf("FAIL: %s fails on its stub without naming %s:\n", e.id.c_str(), e.file.c_str());
      std::printf("%s", wrap(said, "      ").c_str());
      ++problems;
    } else {
      std::printf("ok:   %s fails on its stub and names %s\n", e.id.c_str(), e.file.c_str());
    }
  }
  std::printf("%zu passed, %d failed\n", verdicts.size() - static_cast<std::size_t>(problems),
              problems);
  return problems == 0 ? 0 : 1;
}

}  // namespace

int cmd_status(const Context& ctx, bool expect) {
  const auto verdicts = check_all(ctx);
  if (expect) return expect_stubs(ctx, verdicts);
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
  const std::size_t filled = total != 0 ? done * kBar / total : 0;
  std::string bar;
  for (std::size_t i = 0; i < kBar; ++i) bar += i < filled ? "█" : "░";
  std::printf("%s  %s %3zu%%\n", s.bold(progress_summary(verdicts)).c_str(), s.green(bar).c_str(),
              total != 0 ? done * 100 / total : 0);

  std::size_t width = 0;
  for (const auto& e : ctx.exercises) width = std::max(width, e.id.size());
  std::string chapter;
  for (std::size_t i = 0; i < total; ++i) {
    const auto& e = ctx.exercises[i];
    if (e.chapter != chapter) {
      chapter = e.chapter;
      std::printf("\n%s\n", s.bold(chapter).c_str());
    }
    const std::string mark = verdicts[i].passed() ? s.green("[done]")
                             : next == i          ? s.yellow("[next]")
                                                  : s.dim("[todo]");
    std::string note;
    if (verdicts[i].outcome == Outcome::no_compile) note = "  (does not compile)";
    if (verdicts[i].outcome == Outcome::crashed) note = "  (crashes)";
    if (verdicts[i].outcome == Outcome::not_built) note = "  (not built)";
    if (!verdicts[i].notes.empty()) note += "  (its test file is edited)";
    std::printf("  %s %-*s  %s%s\n", mark.c_str(), static_cast<int>(width), e.id.c_str(),
                e.title.c_str(), s.red(note).c_str());
  }
  for (std::size_t i = 0; i < total; ++i)
    for (const auto& line : verdicts[i].notes)
      std::printf("\n%s", s.yellow(wrap(line, "")).c_str());
  std::printf("\n");
  if (next) {
    print_next(ctx, ctx.exercises[*next], false);
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
  // Every exercise is checked (one build), so that the summary can say both facts; the
  // verdicts are shown in order up to the first that fails.
  const auto verdicts = check_all(ctx);
  for (std::size_t i = 0; i < verdicts.size(); ++i) {
    const auto& e = ctx.exercises[i];
    print_verdict(ctx, e, verdicts[i], true);
    if (!verdicts[i].passed()) {
      std::printf("\n%s. Open %s, then: %s check %s\n",
                  ctx.style.bold(progress_summary(verdicts)).c_str(),
                  ctx.display(ctx.source(e.file)).c_str(), ctx.self.c_str(), e.id.c_str());
      return 1;
    }
  }
  std::printf("\nAll %zu exercises pass: %s.\n", ctx.exercises.size(),
              progress_summary(verdicts).c_str());
  return 0;
}

int cmd_hint(Context& ctx, const std::string& id, std::size_t level) {
  const Exercise* e = nullptr;
  if (!id.empty()) {
    e = &ctx.find(id);
  } else {
    require_build(ctx);
    const auto verdicts = check_all(ctx);
    for (std::size_t i = 0; i < verdicts.size() && e == nullptr; ++i)
      if (!verdicts[i].passed()) e = &ctx.exercises[i];
    if (e == nullptr) {
      std::printf("Every exercise passes: no hint needed.\n");
      return 0;
    }
  }
  const auto total = e->hints.size();
  const auto shown = std::clamp<std::size_t>(level, 1, total);
  std::printf("%s %s (%s)\n", ctx.style.yellow("Hints for").c_str(), ctx.style.bold(e->id).c_str(),
              e->title.c_str());
  for (std::size_t i = 1; i <= shown; ++i) std::printf("%s", format_hint(ctx, *e, i).c_str());
  std::printf("  (edit %s)\n", ctx.display(ctx.source(e->file)).c_str());
  if (shown < total)
    std::printf("  %s\n", ctx.style
                              .dim("more: " + ctx.self + " hint " + e->id + " --level " +
                                   std::to_string(shown + 1) + "  (the last is level " +
                                   std::to_string(total) + ", code-level)")
                              .c_str());
  else
    std::printf("  %s\n", ctx.style
                              .dim("that was the last hint; the reference solution: " + ctx.self +
                                   " solution " + e->id)
                              .c_str());
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
  const auto path = ctx.source(e.solution);
  if (!fs::exists(path))
    throw LearnError("there is no reference solution: " + ctx.display(path) + " is missing");
  std::printf("%s %s\n\n", ctx.style.bold("Reference solution of " + e.id + ":").c_str(),
              ctx.display(path).c_str());
  const auto text = read_file(path);
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (!text.empty() && text.back() != '\n') std::printf("\n");
  return 0;
}

}  // namespace qkv::learn
