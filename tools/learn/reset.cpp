// reset: the untouched stub (or test file) back in place, the learner's version kept.
//
// Where the untouched stub comes from: not from HEAD alone (a learner who commits their
// work has their solution at HEAD), nor from a copy made at configure time (the first
// configure may come after the first edit). The stub is the newest version of the file in
// the git history of HEAD that still contains QKV_NOT_DONE(), the line every stub ends with
// and every solution removes. A test file is not the learner's to edit: it comes from HEAD.

#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>

#include "commands.hpp"
#include "learn.hpp"
#include "process.hpp"

namespace qkv::learn {

namespace fs = std::filesystem;

namespace {

struct Pristine {
  std::string text;
  std::string commit;
};

/// The newest version of `file` in HEAD's history that `wanted` accepts (at most 500 back).
std::optional<Pristine> from_history(const Context& ctx, const fs::path& file, std::string& why,
                                     bool (*wanted)(const std::string&)) {
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
    if (show.exit_code == 0 && wanted(show.output)) return Pristine{show.output, commit};
  }
  why = "no version of " + relative.generic_string() + " in this clone's git history " +
        (wanted("") ? "" : "contains QKV_NOT_DONE()");
  return std::nullopt;
}

bool is_stub(const std::string& text) { return text.find("QKV_NOT_DONE()") != std::string::npos; }
bool any_version(const std::string& /*text*/) { return true; }

std::string timestamp() {
  const auto now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%d-%H%M%S", &local);
  return buffer;
}

}  // namespace

int cmd_reset(const Context& ctx, const std::string& id, bool yes, bool test) {
  const auto& e = ctx.find(id);
  const auto& relative = test ? e.test : e.file;
  const auto file = ctx.source(relative);
  const char* what = test ? "test file" : "stub";
  std::string why;
  const auto pristine = from_history(ctx, file, why, test ? any_version : is_stub);
  if (!pristine) {
    std::printf(
        "Cannot reset %s: %s.\nNothing was changed. The untouched %s is in the qkv repository, "
        "file %s.\n",
        e.id.c_str(), why.c_str(), what, relative.c_str());
    return 1;
  }
  const bool exists = fs::exists(file);
  if (exists && read_file(file) == pristine->text) {
    std::printf("%s is the untouched %s already: nothing to do.\n", ctx.display(file).c_str(),
                what);
    return 0;
  }
  fs::path backup = file.string() + "." + timestamp() + ".bak";
  for (int n = 2; fs::exists(backup); ++n)
    backup = file.string() + "." + timestamp() + "-" + std::to_string(n) + ".bak";
  if (!yes) {
    std::printf("Reset %s to the untouched %s?\n  %s is replaced by the %s as of commit %s\n",
                e.id.c_str(), what, ctx.display(file).c_str(), what,
                pristine->commit.substr(0, 10).c_str());
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
    out.write(pristine->text.data(), static_cast<std::streamsize>(pristine->text.size()));
    if (!out) throw LearnError("cannot write " + temporary.string());
  }
  fs::rename(temporary, file);
  std::printf("Restored %s (the %s as of commit %s).\n", ctx.display(file).c_str(), what,
              pristine->commit.substr(0, 10).c_str());
  if (exists) std::printf("Your version is in %s\n", ctx.display(backup).c_str());
  return 0;
}

}  // namespace qkv::learn
