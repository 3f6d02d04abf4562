// What a learner can do to an executable on purpose: bad flags, absurd sizes, an unwritable
// --svg folder; and what they rely on: the same seed gives the same bytes, --json is JSON.
//
// It runs one program, named by the environment variable QKV_ROBUSTNESS_EXE (a chapter
// executable or the learner command; CMake registers one ctest test per chapter in
// <build>/chapters.txt). The flags to try are read from the program's --help, so a new
// chapter, or a new flag, is covered without editing this file. Every run has limits: at
// most 2 GiB of address space (without sanitizers), 120 s of CPU time (5 s for a size at its
// maximum) and 300 s of wall time. A bad command line must be rejected before anything runs:
// exit code 2, nothing on stdout, and a first line on stderr "<program>: error: ..." that
// names the flag or value.
// QKV_ROBUSTNESS_LOG=FILE appends every bad input tried and the first line it answered.

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "qkv/catch.hpp"
#include "qkv/subprocess.hpp"
#include "qkv/terminal.hpp"

namespace fs = std::filesystem;
using qkv::testing::contains;

namespace {

#ifdef QKV_SANITIZE
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif

using Run = qkv::subprocess::Result;

// Runs args[0] (no shell) with stdin from /dev/null and the limits above. Under the
// sanitizers the address-space limit cannot be used (their shadow memory reserves terabytes
// of it), so ASan itself refuses any single allocation over 1 GiB instead.
Run run(const std::vector<std::string>& args, int wall_seconds = 300, unsigned cpu_seconds = 120) {
  qkv::subprocess::Options options;
  options.env = {"NO_COLOR=1"};
  options.timeout_seconds = wall_seconds;
  options.limits.cpu_seconds = cpu_seconds;
  if (!sanitized) {
    options.limits.address_space_bytes = 2ULL << 30;
  } else {
    const char* asan = std::getenv("ASAN_OPTIONS");
    options.env.push_back("ASAN_OPTIONS=" + std::string(asan ? asan : "") +
                          (asan && *asan ? ":" : "") + "max_allocation_size_mb=1024");
  }
  Run result = qkv::subprocess::run(args, options);
  if (!result.started) FAIL(result.start_error);
  return result;
}

std::string quoted(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& arg : args) out += (out.empty() ? "" : " ") + arg;
  return out;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// A flag that takes a value, as --help lists it: a chapter (qkv::Cli) writes
// "  --tokens N  number of tokens (1 to 64, default 6)" (N a whole number, X any number, NAME
// one of "(a, b or c; default a)"), the learner command (CLI11) "  --tokens INT:INT in [1 - 64]=5".
struct Flag {
  std::string name;
  std::string type;  ///< INT, FLOAT, UINT, TEXT, DIR, ...
  std::optional<double> min, max;
  std::vector<std::string> choices;  ///< for TEXT:{a,b,c}
};

std::vector<Flag> flags_with_values(const std::string& help) {
  static const std::regex option(
      R"(^\s+(?:-\w,)?(--[\w-]+) ([A-Z]+)(:.*?)?(=\S+)?(?:\s{2,}(.*))?$)");
  static const std::regex range(R"(in \[(-?[\d.e+-]+) - (-?[\d.e+-]+)\])");
  static const std::regex choice(R"(^:\{([^}]*)\})");
  static const std::regex words_range(R"(\((-?[\d.e+-]+) to (-?[\d.e+-]+), default [^)]*\)$)");
  static const std::regex words_minimum(R"(\((-?[\d.e+-]+) or more, default [^)]*\)$)");
  static const std::regex words_choice(R"(\(([\w-]+(?:, [\w-]+)*) or ([\w-]+); default [^)]*\)$)");
  static const std::map<std::string, std::string> words_type{
      {"N", "INT"}, {"X", "FLOAT"}, {"NAME", "TEXT"}};
  std::vector<Flag> flags;
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_match(line, m, option)) continue;
    Flag flag{m[1], m[2], {}, {}, {}};
    const std::string detail = m[3];
    const std::string description = m[5];
    std::smatch r;
    if (const auto type = words_type.find(flag.type); type != words_type.end()) {
      flag.type = type->second;
      if (std::regex_search(description, r, words_range)) {
        flag.min = qkv::parse_number(r[1].str());
        flag.max = qkv::parse_number(r[2].str());
        if (!flag.min || !flag.max) FAIL("--help shows a range that is not two numbers: " << line);
      } else if (std::regex_search(description, r, words_minimum)) {
        flag.min = qkv::parse_number(r[1].str());
        if (!flag.min) FAIL("--help shows a minimum that is not a number: " << line);
      } else if (std::regex_search(description, r, words_choice)) {
        std::istringstream items(r[1].str());
        for (std::string item; std::getline(items, item, ',');)
          flag.choices.push_back(item.substr(item.find_first_not_of(' ')));
        flag.choices.push_back(r[2]);
      }
    } else if (std::regex_search(detail, r, range)) {
      flag.min = qkv::parse_number(r[1].str());
      flag.max = qkv::parse_number(r[2].str());
      if (!flag.min || !flag.max) FAIL("--help shows a range that is not two numbers: " << line);
    } else if (std::regex_search(detail, r, choice)) {
      std::istringstream items(r[1].str());
      for (std::string item; std::getline(items, item, ',');) flag.choices.push_back(item);
    }
    flags.push_back(flag);
  }
  return flags;
}

const Flag* find_flag(const std::vector<Flag>& flags, const std::string& name) {
  for (const auto& flag : flags)
    if (flag.name == name) return &flag;
  return nullptr;
}

std::string integer_text(double value) { return std::to_string(static_cast<long long>(value)); }

// A bad command line and what its error must mention.
struct BadInput {
  std::vector<std::string> args;
  std::string names;  ///< the error's first line must contain this
};

// The bad command lines for a program whose --help lists `flags` (the common ones too).
std::vector<BadInput> bad_inputs(const std::vector<Flag>& flags) {
  std::vector<BadInput> cases{{{"--no-such-flag"}, "--no-such-flag"},
                              {{"--no-such-flag=3"}, "--no-such-flag"},
                              {{"surplus-argument"}, "surplus-argument"}};
  for (const auto& flag : flags) {
    const auto& f = flag.name;
    cases.push_back({{f}, f});  // the value missing
    if (flag.type == "INT" || flag.type == "UINT") {
      for (const char* text : {"abc", "1.5", "0x10", "1e3", "", "99999999999999999999999"})
        cases.push_back({{f, text}, f});
      if (flag.min && flag.max) {
        cases.push_back({{f, integer_text(*flag.min - 1)}, f});
        cases.push_back({{f, integer_text(*flag.max + 1)}, f});
        for (double absurd : {0.0, -3.0, 100'000'000.0})
          if (absurd < *flag.min - 1 || absurd > *flag.max + 1)  // not tried above
            cases.push_back({{f, integer_text(absurd)}, f});
      } else if (flag.min) {  // "0 or more"
        cases.push_back({{f, integer_text(*flag.min - 1)}, f});
      } else if (flag.type == "UINT") {
        cases.push_back({{f, "-1"}, f});
      }
    } else if (flag.type == "FLOAT") {
      for (const char* text : {"abc", "nan", "inf", "-inf", "1,5"}) cases.push_back({{f, text}, f});
      if (flag.min && flag.max) {
        cases.push_back({{f, std::to_string(*flag.min - 1.0 - std::abs(*flag.min))}, f});
        cases.push_back({{f, std::to_string(*flag.max + 1.0 + std::abs(*flag.max))}, f});
      }
    } else if (!flag.choices.empty()) {
      cases.push_back({{f, "no-such-choice"}, f});
    }
  }
  // Heads that do not divide d_model: the smallest such pair within both ranges.
  const Flag* heads = find_flag(flags, "--heads");
  const Flag* dim = find_flag(flags, "--dim");
  if (heads && dim && heads->min && heads->max && dim->min && dim->max) {
    const auto h_max = static_cast<long long>(*heads->max);
    const auto d_max = static_cast<long long>(*dim->max);
    for (auto h = std::max(2LL, static_cast<long long>(*heads->min)); h <= h_max; ++h) {
      const auto d = std::max(static_cast<long long>(*dim->min), h + 1);
      if (d <= d_max && d % h != 0) {
        cases.push_back({{"--heads", std::to_string(h), "--dim", std::to_string(d)}, "--heads"});
        break;
      }
    }
  }
  return cases;
}

struct Program {
  fs::path path;
  std::string name;
};

Program program_under_test() {
  const char* exe = std::getenv("QKV_ROBUSTNESS_EXE");
  if (exe == nullptr || *exe == '\0')
    FAIL("set QKV_ROBUSTNESS_EXE to the program to test (ctest does)");
  return {fs::path(exe), fs::path(exe).filename().string()};
}

// Checks that `args` is rejected the way a bad command line must be.
// The learner command may follow its one line with a list (the valid exercise ids); a
// chapter follows it with nothing or an empty line and the usage.
void check_rejected(const Program& program, const std::vector<std::string>& args,
                    const std::string& names, bool usage_follows = true) {
  std::vector<std::string> argv{program.path.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  const Run result = run(argv, sanitized ? 120 : 60);
  // QKV_ROBUSTNESS_LOG=FILE: append every bad input and its answer (for the closing note).
  if (const char* log = std::getenv("QKV_ROBUSTNESS_LOG"); log != nullptr && *log != '\0')
    std::ofstream(log, std::ios::app) << program.name << " " << quoted(args) << "  ->  exit "
                                      << result.exit_code << ": " << first_line(result.err) << "\n";
  INFO(program.name << " " << quoted(args) << "\n  exit code " << result.exit_code << ", signal "
                    << result.signal << (result.timed_out ? ", timed out" : "")
                    << "\n  stderr: " << first_line(result.err));
  CHECK_FALSE(result.timed_out);
  CHECK(result.signal == 0);
  CHECK(result.exit_code == 2);
  CHECK(result.out.empty());
  // One line that names the problem; the usage may follow after an empty line.
  CHECK_THAT(first_line(result.err), contains(program.name + ": error: "));
  CHECK_THAT(first_line(result.err), contains(names));
  const auto second = result.err.find('\n');
  if (usage_follows)
    CHECK((second == std::string::npos || second + 1 == result.err.size() ||
           result.err[second + 1] == '\n'));
}

// Every file under `dir`, relative to it.
std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  if (!fs::exists(dir)) return names;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    names.push_back(fs::relative(entry.path(), dir).string());
  std::sort(names.begin(), names.end());
  return names;
}

// A fresh folder for one test, removed at the end.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() /
             ("qkv-robustness-" + name + "-" + std::to_string(getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ignored);
    fs::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

Run run_ok(const Program& program, const std::vector<std::string>& args) {
  std::vector<std::string> argv{program.path.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  Run result = run(argv);
  INFO(program.name << " " << quoted(args) << ": exit code " << result.exit_code << ", signal "
                    << result.signal << (result.timed_out ? ", timed out" : "")
                    << "\n  stderr: " << result.err);
  REQUIRE_FALSE(result.timed_out);
  REQUIRE(result.signal == 0);
  REQUIRE(result.exit_code == 0);
  return result;
}

// "line N: <a> / <b>": where two outputs first differ, for the failure message.
std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream la(a), lb(b);
  std::string x, y;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(la, x));
    const bool more_b = static_cast<bool>(std::getline(lb, y));
    if (!more_a && !more_b) return "identical lines, different bytes";
    if (x != y || more_a != more_b)
      return "line " + std::to_string(line) + ":\n    " + x + "\n    " + y;
  }
}

}  // namespace

TEST_CASE("a chapter rejects every bad command line with one line and exit code 2", "[chapter]") {
  const Program program = program_under_test();
  const Run help = run_ok(program, {"--help"});
  const auto flags = flags_with_values(help.out);
  INFO(program.name << " --help:\n" << help.out);
  REQUIRE(find_flag(flags, "--seed") != nullptr);  // the help was understood
  REQUIRE(find_flag(flags, "--svg") != nullptr);
  for (const auto& bad : bad_inputs(flags)) check_rejected(program, bad.args, bad.names);
}

TEST_CASE("a chapter rejects an --svg folder it cannot write, leaving nothing behind",
          "[chapter]") {
  const Program program = program_under_test();
  TempDir temp(program.name + "-svg");
  const fs::path file = temp.path / "a-file";
  std::ofstream(file) << "keep me\n";
  check_rejected(program, {"--svg", (file / "figures").string()}, "--svg");  // under a file
  check_rejected(program, {"--svg", file.string()}, "--svg");                // a file
  check_rejected(program, {"--svg", "/proc/qkv-robustness"}, "--svg");       // cannot be made
  if (geteuid() != 0) {  // root writes into read-only folders
    const fs::path read_only = temp.path / "read-only";
    fs::create_directory(read_only);
    fs::permissions(read_only, fs::perms::owner_read | fs::perms::owner_exec);
    check_rejected(program, {"--svg", read_only.string()}, "--svg");
    fs::permissions(read_only, fs::perms::owner_all);
  }
  const auto left = files_in(temp.path);
  CHECK((left == std::vector<std::string>{"a-file"} ||
         left == std::vector<std::string>{"a-file", "read-only"}));
  std::ifstream in(file);
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(contents == "keep me\n");
}

TEST_CASE("a chapter runs at the edges of every size range", "[chapter]") {
  const Program program = program_under_test();
  const auto flags = flags_with_values(run_ok(program, {"--help"}).out);
  std::vector<std::string> all_min{"--json"};
  for (const auto& flag : flags) {
    if (flag.type != "INT" || !flag.min || !flag.max || flag.name == "--seed") continue;
    all_min.insert(all_min.end(), {flag.name, integer_text(*flag.min)});
    // Alone at either end: runs, or is refused by a rule between flags (exit 2), never
    // crashes or fails half way. A maximum may ask for a lot of work (a million samples):
    // 5 s of CPU time without a crash or an allocation failure is enough to pass.
    for (const auto end : {*flag.min, *flag.max}) {
      const std::vector<std::string> args{"--json", flag.name, integer_text(end)};
      std::vector<std::string> argv{program.path.string()};
      argv.insert(argv.end(), args.begin(), args.end());
      const Run result = run(argv, 300, 5);
      INFO(program.name << " " << quoted(args) << ": exit code " << result.exit_code << ", signal "
                        << result.signal << (result.timed_out ? ", timed out" : "")
                        << "\n  stderr: " << first_line(result.err));
      if (result.signal == SIGXCPU) continue;  // still working after 5 s: fine
      CHECK_FALSE(result.timed_out);
      CHECK(result.signal == 0);
      CHECK((result.exit_code == 0 || result.exit_code == 2));
      if (result.exit_code == 2) check_rejected(program, args, "--");
      if (result.exit_code == 0) CHECK_NOTHROW(nlohmann::json::parse(result.out));
    }
  }
  // Every size at its minimum at once (T = 1, d = 1, one head, ...).
  const Run smallest = [&] {
    std::vector<std::string> argv{program.path.string()};
    argv.insert(argv.end(), all_min.begin(), all_min.end());
    return run(argv);
  }();
  INFO(program.name << " " << quoted(all_min) << "\n  stderr: " << first_line(smallest.err));
  CHECK(smallest.signal == 0);
  CHECK((smallest.exit_code == 0 || smallest.exit_code == 2));
  if (smallest.exit_code == 0) CHECK_NOTHROW(nlohmann::json::parse(smallest.out));
}

TEST_CASE("a chapter prints the same bytes for the same seed, and --json is JSON", "[chapter]") {
  const Program program = program_under_test();
  const Run first = run_ok(program, {});
  const Run second = run_ok(program, {});
  INFO(program.name << ": stdout differs between two runs with the same seed, "
                    << first_difference(first.out, second.out));
  CHECK(first.out == second.out);
  CHECK(first.err.empty());

  const Run json = run_ok(program, {"--json", "--seed", "12345"});
  const Run json_again = run_ok(program, {"--seed", "12345", "--json"});
  INFO(program.name << " --json: differs between two runs with the same seed, "
                    << first_difference(json.out, json_again.out));
  CHECK(json.out == json_again.out);
  const Run other_seed = run_ok(program, {"--json", "--seed", "12346"});
  INFO(program.name << " --json: the same with another seed: is --seed used?");
  CHECK(other_seed.out != json.out);
  nlohmann::json parsed;
  REQUIRE_NOTHROW(parsed = nlohmann::json::parse(json.out));
  CHECK(parsed.is_object());
  CHECK_FALSE(parsed.empty());
}

TEST_CASE("a chapter's --svg figures are complete files, with no temporary left", "[chapter]") {
  const Program program = program_under_test();
  TempDir temp(program.name + "-figures");
  const fs::path figures = temp.path / "new" / "figures";  // created by the chapter
  run_ok(program, {"--svg", figures.string()});
  for (const auto& name : files_in(figures)) {
    INFO(program.name << " --svg wrote " << name);
    CHECK(fs::path(name).extension() == ".svg");
    std::ifstream in(figures / name);
    const std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(svg.rfind("<svg", 0) == 0);
    CHECK(svg.size() >= 7);
    CHECK(svg.substr(svg.size() - 7) == "</svg>\n");
  }
}

TEST_CASE("the learner command rejects bad command lines with exit code 2", "[learner]") {
  const Program program = program_under_test();
  // Never a valid command: --build names a folder that holds nothing but the build's
  // manifest.json (so ids are known and a wrong one is a bad argument), no build files, so
  // nothing is built, run or reset even if a bad flag were accepted.
  TempDir temp("learner");
  const std::string no_build = (temp.path / "no-build").string();
  const char* manifest = std::getenv("QKV_ROBUSTNESS_MANIFEST");
  REQUIRE(manifest != nullptr);
  fs::create_directories(no_build);
  fs::copy_file(manifest, fs::path(no_build) / "manifest.json");
  const Run help = run_ok(program, {"--help"});
  static const std::regex subcommand_line(R"(^  ([a-z][\w-]*)\s{2,}\S)");
  std::vector<std::string> subcommands;
  {
    std::istringstream lines(
        help.out.substr(std::min(help.out.find("Subcommands:"), help.out.size())));
    for (std::string line; std::getline(lines, line);) {
      std::smatch m;
      if (std::regex_search(line, m, subcommand_line)) subcommands.push_back(m[1]);
    }
  }
  INFO(program.name << " --help:\n" << help.out);
  REQUIRE_FALSE(subcommands.empty());
  check_rejected(program, {"--build", no_build, "no-such-command"}, "no-such-command");
  for (const auto& bad : bad_inputs(flags_with_values(help.out)))
    check_rejected(program, bad.args, bad.names);
  for (const auto& sub : subcommands) {
    const Run sub_help = run_ok(program, {sub, "--help"});
    // A required id first, so that the error is about the bad flag and not the missing id.
    const bool id_required = sub_help.out.find("REQUIRED") != std::string::npos;
    if (id_required) check_rejected(program, {"--build", no_build, sub}, "required");
    for (auto bad : bad_inputs(flags_with_values(sub_help.out))) {
      bad.args.insert(bad.args.begin(), {"--build", no_build, sub});
      if (id_required) bad.args.insert(bad.args.begin() + 3, "no_such_exercise");
      check_rejected(program, bad.args, bad.names, bad.names != "surplus-argument");
    }
    // An exercise id that does not exist, where the subcommand takes one.
    if (sub_help.out.find(" id ") != std::string::npos ||
        sub_help.out.find("\n  id") != std::string::npos)
      check_rejected(program, {"--build", no_build, sub, "no_such_exercise"}, "no_such_exercise",
                     false);
  }
}
