// watch: check again on every save, and move on when the exercise passes.

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include "commands.hpp"
#include "learn.hpp"
#include "verdict.hpp"

namespace qkv::learn {

namespace fs = std::filesystem;

namespace {

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

/// The stamps of everything the learner may save: the file, its header, its test.
std::vector<Stamp> stamps_of(const Context& ctx, const Exercise& e) {
  std::vector<Stamp> stamps{stamp_of(ctx.source(e.file)), stamp_of(ctx.source(e.test))};
  if (!e.header.empty()) stamps.push_back(stamp_of(ctx.source(e.header)));
  return stamps;
}

double seconds_since(const std::vector<Stamp>& stamps) {
  long long newest = 0;
  for (const auto& s : stamps) newest = std::max(newest, s.mtime_ns);
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  const long long now_ns = static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec;
  return static_cast<double>(now_ns - newest) / 1e9;
}

enum class Event { saved, check_now, quit };

struct Watcher {
  const Context& ctx;
  double interval;
  bool stdin_open = true;
  std::size_t hints_shown = 0;  ///< of the current exercise, in this session

  void show_next_hint(const Exercise& e) {
    if (hints_shown >= e.hints.size()) {
      std::printf("%s\n", ctx.style
                              .dim("That was the last hint. The reference solution: " + ctx.self +
                                   " solution " + e.id)
                              .c_str());
      return;
    }
    ++hints_shown;
    std::printf("%s", format_hint(ctx, e, hints_shown).c_str());
  }

  /// Waits until a file is saved (its modification time, size or inode change: polling, so
  /// it works on mounted and network folders), a command is typed, or Ctrl-C. `last` are
  /// the stamps of the version judged last; when they differ already, returns at once.
  Event wait(const Exercise& e, std::vector<Stamp>& last) {
    while (!interrupted()) {
      const auto now = stamps_of(ctx, e);
      if (now != last && now.front().exists) {
        // Saved: wait until the editor has finished writing (two equal looks in a row).
        auto settled = now;
        for (int i = 0; i < 40 && !interrupted(); ++i) {
          poll(nullptr, 0, 50);
          const auto again = stamps_of(ctx, e);
          if (again == settled) break;
          settled = again;
        }
        last = settled;
        return Event::saved;
      }
      pollfd fd{STDIN_FILENO, POLLIN, 0};
      const int ready = poll(&fd, stdin_open ? 1 : 0, static_cast<int>(interval * 1000));
      if (interrupted()) break;
      if (ready <= 0 || (fd.revents & (POLLIN | POLLHUP)) == 0) continue;
      std::string line;
      char c = 0;
      ssize_t n = 0;
      while ((n = read(STDIN_FILENO, &c, 1)) == 1 && c != '\n') line += c;
      if (n <= 0 && line.empty()) {
        stdin_open = false;  // end of input: go on watching the files alone
        continue;
      }
      const auto command = trim(line);
      if (command == "q" || command == "quit") return Event::quit;
      if (command.empty() || command == "c" || command == "check") return Event::check_now;
      if (command == "h" || command == "hint")
        show_next_hint(e);
      else
        std::printf("Type h (the next hint), c or Enter (check now), q (quit), then Enter.\n");
      std::fflush(stdout);
    }
    return Event::quit;
  }
};

/// The first exercise, from `start` on (wrapping around), that does not pass yet; checks
/// them one by one and prints a line for each that passes.
std::optional<std::pair<std::size_t, Verdict>> first_not_done(const Context& ctx, std::size_t start,
                                                              int& checks) {
  const auto n = ctx.exercises.size();
  for (std::size_t k = 0; k < n; ++k) {
    const auto i = (start + k) % n;
    auto v = check_exercise(ctx, ctx.exercises[i]);
    ++checks;
    if (v.outcome == Outcome::stopped) throw Exit{130};
    if (!v.passed()) return std::pair{i, std::move(v)};
    print_verdict(ctx, ctx.exercises[i], v, false);
  }
  return std::nullopt;
}

}  // namespace

int cmd_watch(const Context& ctx, const std::string& id, double interval, int max_checks) {
  install_interrupt_handler();
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
  Watcher watcher{ctx, interval};
  // The stamps of the files as the last verdict judged them: taken before the check, and
  // kept only when the content did not change meanwhile (else the next look checks again).
  auto judged_stamps = [&](const Exercise& e, const Verdict& v, const std::vector<Stamp>& before) {
    return sources_hash(ctx, e) == v.judged ? stamps_of(ctx, e) : before;
  };

  std::size_t current = 0;
  Verdict verdict;
  std::vector<Stamp> last;
  try {
    if (!id.empty()) {
      current = ctx.index_of(ctx.find(id));
      const auto before = stamps_of(ctx, ctx.exercises[current]);
      verdict = check_exercise(ctx, ctx.exercises[current]);
      ++checks;
      if (verdict.outcome == Outcome::stopped) return goodbye();
      last = judged_stamps(ctx.exercises[current], verdict, before);
      print_verdict(ctx, ctx.exercises[current], verdict, true);
    } else {
      const auto first = first_not_done(ctx, 0, checks);
      if (!first) {
        std::printf("%s Every exercise passes.\n", s.green("All done!").c_str());
        return 0;
      }
      current = first->first;
      verdict = first->second;
      last = judged_stamps(ctx.exercises[current], verdict, {});
      print_verdict(ctx, ctx.exercises[current], verdict, true);
    }
    watcher.hints_shown = verdict.about_code() ? 1 : 0;
    while (!stop_now()) {
      if (verdict.passed()) {
        // Move on: the next exercise after this one that does not pass.
        const auto next = first_not_done(ctx, current + 1, checks);
        if (!next) {
          std::printf("%s Every exercise passes.\n", s.green("All done!").c_str());
          return 0;
        }
        current = next->first;
        verdict = next->second;
        last = judged_stamps(ctx.exercises[current], verdict, {});
        std::printf("\n");
        print_next(ctx, ctx.exercises[current], true);
        print_verdict(ctx, ctx.exercises[current], verdict, true);
        watcher.hints_shown = verdict.about_code() ? 1 : 0;
        if (stop_now()) break;
      }
      const auto& e = ctx.exercises[current];
      std::printf("\n%s %s\n  %s\n", s.bold("Watching").c_str(),
                  ctx.display(ctx.source(e.file)).c_str(),
                  s.dim("save it to check again; h Enter: the next hint, Enter: check now, "
                        "q Enter or Ctrl-C: stop")
                      .c_str());
      std::fflush(stdout);
      const auto event = watcher.wait(e, last);
      if (event == Event::quit) return goodbye();
      std::printf("\n%s\n",
                  s.dim("── " + e.id + (event == Event::saved ? ": saved, checking" : ": checking"))
                      .c_str());
      std::fflush(stdout);
      const auto before = stamps_of(ctx, e);
      verdict = check_exercise(ctx, e);
      ++checks;
      if (verdict.outcome == Outcome::stopped) return goodbye();
      last = judged_stamps(e, verdict, before);
      std::optional<double> since;
      if (event == Event::saved) {
        const double seconds = seconds_since(before);
        if (seconds >= 0 && seconds < 600) since = seconds;
      }
      print_verdict(ctx, e, verdict, true, since);
      if (verdict.about_code()) watcher.hints_shown = std::max<std::size_t>(watcher.hints_shown, 1);
    }
  } catch (const Exit& exit) {
    if (exit.code == 130) return goodbye();
    throw;
  }
  std::printf("\nStopped after %d checks (--max-checks).\n", checks);
  return 0;
}

}  // namespace qkv::learn
