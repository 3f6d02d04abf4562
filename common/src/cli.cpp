// The shared command line. The grammar is small (`--flag value`, `--flag=value`,
// `--switch`, `--help`), and every word it prints is the project's: each error names the
// flag and says what would be right, the help writes ranges and defaults as a person does.
// CLI11 (which qkv-learn uses) was tried here first: all of its help text and every error
// message had to be replaced, and its parse errors carry no flag to name, only English.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <type_traits>

#include "qkv/cli.hpp"
#include "qkv/heatmap.hpp"
#include "qkv/terminal.hpp"

namespace qkv {

struct Cli::Impl {
  /// One flag as the usage lists it and as parse() reads it.
  struct Flag {
    std::string name;    ///< "--tokens"
    std::string value;   ///< what follows it in the usage: "N", "X", "NAME", "DIR"; "" for a switch
    std::string help;    ///< what it does
    std::string limits;  ///< "1 to 64, default 6"; "" when there are none to tell
    std::string wanted;  ///< what a value must be, for errors: "a whole number from 1 to 64"
    bool* on = nullptr;  ///< a switch's variable
    /// Reads and stores the value; returns what is wrong with it, or "" when nothing is.
    std::function<std::string(const std::string&)> set;
  };

  std::string name, description;
  std::vector<Flag> flags;
  std::vector<std::function<std::string()>> checks;
  std::string svg_dir;
  std::vector<std::string> given;  ///< the flags on the command line, as parse() met them

  const Flag* find(std::string_view flag) const {
    const auto at = std::find_if(flags.begin(), flags.end(),
                                 [flag](const Flag& known) { return known.name == flag; });
    return at == flags.end() ? nullptr : &*at;
  }
  std::string flag_list() const {
    std::string list = "--help";
    for (const auto& flag : flags) list += ", " + flag.name;
    return list;
  }
};

namespace {

// How a value appears in an error: as typed, quoted only when it would not be seen.
std::string shown(std::string_view text) {
  if (text.empty() || text.find_first_of(" \t") != std::string_view::npos)
    return fmt::format("'{}'", text);
  return std::string(text);
}

// Reads all of `text` as a T with the tree's one number parser (qkv/terminal.hpp): a whole
// number, or a finite real one; no "0x10", "1e3" for integers, no trailing junk; "-1" for an
// unsigned T is out of range, not a huge number. Returns the problem in words, or "" when
// `value` is set.
template <typename T>
std::string read_number(const std::string& flag, const std::string& text, T min, T max,
                        const std::string& wanted, T& value) {
  auto why = ParseError::not_a_number;
  const std::optional<T> parsed = parse_as<T>(text, &why);
  if (parsed ? (*parsed < min || *parsed > max) : why == ParseError::out_of_range)
    return fmt::format("{} {} is out of range: give {}", flag, shown(text), wanted);
  if (!parsed) return fmt::format("{} {} is not {}", flag, shown(text), wanted);
  value = *parsed;
  return {};
}

// "or" before the last of a list: "causal, window or none".
std::string one_of(const std::vector<std::string>& choices) {
  std::string out;
  for (std::size_t i = 0; i < choices.size(); ++i)
    out += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  return out;
}

// Creates `dir` if needed and proves it writable with a probe file, so a bad --svg fails
// before the chapter computes anything rather than after.
std::string check_writable_folder(const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error)
    return fmt::format("--svg {}: cannot create the folder: {}", dir.string(), error.message());
  if (!std::filesystem::is_directory(dir))
    return fmt::format("--svg {}: not a folder", dir.string());
  const auto probe = dir / ".qkv-write-test";
  {
    std::ofstream out(probe);
    if (!out) return fmt::format("--svg {}: the folder cannot be written", dir.string());
  }
  std::filesystem::remove(probe, error);
  return {};
}

}  // namespace

Cli::Cli(std::string name, std::string description)
    : impl_(std::make_unique<Impl>(Impl{std::move(name), std::move(description), {}, {}, {}, {}})) {
  constexpr auto all_seeds = std::numeric_limits<std::uint64_t>::max();
  impl_->flags.push_back({"--seed", "N", "seed for every random number (same seed, same output)",
                          fmt::format("0 or more, default {}", common_.seed),
                          "a whole number, 0 or more", nullptr, [this](const std::string& text) {
                            return read_number<std::uint64_t>("--seed", text, 0, all_seeds,
                                                              "a whole number, 0 or more",
                                                              common_.seed);
                          }});
  add_flag("--json", common_.json, "print one JSON object with every computed matrix");
  impl_->flags.push_back({"--svg", "DIR", "write the chapter's figures as SVG into this folder", "",
                          "a folder", nullptr, [this](const std::string& text) {
                            impl_->svg_dir = text;
                            return text.empty() ? std::string("--svg needs a folder, not ''")
                                                : std::string();
                          }});
}

Cli::~Cli() = default;

void Cli::add_size(const std::string& flag, Index& value, const std::string& help, Index min,
                   Index max) {
  const std::string wanted = fmt::format("a whole number from {} to {}", min, max);
  impl_->flags.push_back({flag, "N", help, fmt::format("{} to {}, default {}", min, max, value),
                          wanted, nullptr,
                          [flag, min, max, wanted, &value](const std::string& text) {
                            return read_number<Index>(flag, text, min, max, wanted, value);
                          }});
}

void Cli::add_number(const std::string& flag, double& value, const std::string& help, double min,
                     double max) {
  const std::string wanted = fmt::format("a number from {} to {}", min, max);
  impl_->flags.push_back({flag, "X", help, fmt::format("{} to {}, default {}", min, max, value),
                          wanted, nullptr,
                          [flag, min, max, wanted, &value](const std::string& text) {
                            return read_number<double>(flag, text, min, max, wanted, value);
                          }});
}

void Cli::add_flag(const std::string& flag, bool& value, const std::string& help) {
  impl_->flags.push_back({flag, "", help, "", "", &value, {}});
}

void Cli::add_choice(const std::string& flag, std::string& value, const std::string& help,
                     const std::vector<std::string>& choices) {
  const std::string wanted = one_of(choices);
  impl_->flags.push_back(
      {flag, "NAME", help, fmt::format("{}; default {}", wanted, value), wanted, nullptr,
       [flag, choices, wanted, &value](const std::string& text) -> std::string {
         if (std::find(choices.begin(), choices.end(), text) == choices.end())
           return fmt::format("{} {} is not a choice: give {}", flag, shown(text), wanted);
         value = text;
         return {};
       }});
}

void Cli::add_check(std::function<std::string()> problem) {
  impl_->checks.push_back(std::move(problem));
}

void Cli::require_divides(const std::string& divisor_flag, const Index& divisor,
                          const std::string& flag, const Index& value) {
  add_check([=, &divisor, &value]() -> std::string {
    if (divisor > 0 && value % divisor == 0) return {};
    return fmt::format("{} {} does not divide {} {}: {} / {} must be a whole number", divisor_flag,
                       divisor, flag, value, flag, divisor_flag);
  });
}

void Cli::require_at_most(const std::string& flag, const Index& value,
                          const std::string& limit_flag, const Index& limit,
                          const std::string& why) {
  add_check([=, this, &value, &limit]() -> std::string {
    if (value <= limit || !given(flag)) return {};
    return fmt::format("{} {} exceeds {} {}: {}", flag, value, limit_flag, limit, why);
  });
}

std::string Cli::usage() const {
  const auto& flags = impl_->flags;
  std::size_t width = std::string("-h, --help").size();
  for (const auto& flag : flags)
    width = std::max(width, flag.name.size() + (flag.value.empty() ? 0 : 1 + flag.value.size()));
  std::string out =
      fmt::format("{}\n\nUsage: {} [flags]\n\nFlags:\n", impl_->description, impl_->name);
  out += fmt::format("  {:<{}}  print this help and exit\n", "-h, --help", width);
  for (const auto& flag : flags) {
    const std::string left = flag.value.empty() ? flag.name : flag.name + " " + flag.value;
    out += fmt::format("  {:<{}}  {}{}\n", left, width, flag.help,
                       flag.limits.empty() ? "" : " (" + flag.limits + ")");
  }
  return out;
}

bool Cli::given(std::string_view flag) const {
  return std::find(impl_->given.begin(), impl_->given.end(), flag) != impl_->given.end();
}

std::optional<int> Cli::parse(int argc, const char* const* argv) {
  auto& impl = *impl_;
  const auto fail = [&](const std::string& problem) {
    std::fflush(stdout);
    fmt::print(stderr, "{}: error: {}\n\n{}", impl.name, problem, usage());
    return std::optional<int>(2);
  };
  const std::vector<std::string> args(argv + std::min(argc, 1), argv + std::max(argc, 1));
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      fmt::print("{}", usage());
      return 0;
    }
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      if (arg.rfind('-', 0) == 0 && arg.size() > 1)
        return fail(
            fmt::format("unknown flag {}; this chapter's flags are {}", arg, impl.flag_list()));
      return fail(fmt::format("unexpected argument {}: this chapter takes only flags, which are {}",
                              shown(arg), impl.flag_list()));
    }
    const std::size_t equals = arg.find('=');
    const std::string name = arg.substr(0, equals);
    const auto* flag = impl.find(name);
    if (flag != nullptr) impl.given.push_back(flag->name);
    if (flag == nullptr)
      return fail(
          fmt::format("unknown flag {}; this chapter's flags are {}", name, impl.flag_list()));
    if (flag->on != nullptr) {
      if (equals != std::string::npos)
        return fail(fmt::format("{} takes no value: write {} alone", name, name));
      *flag->on = true;
      continue;
    }
    std::string text;
    if (equals != std::string::npos) {
      text = arg.substr(equals + 1);
    } else if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
      text = args[++i];
    } else {
      return fail(fmt::format("{} needs a value: {}", name, flag->wanted));
    }
    if (const auto problem = flag->set(text); !problem.empty()) return fail(problem);
  }
  for (const auto& check : impl.checks)
    if (const auto problem = check(); !problem.empty()) return fail(problem);
  if (!impl.svg_dir.empty()) {
    common_.svg_dir = impl.svg_dir;
    if (const auto problem = check_writable_folder(common_.svg_dir); !problem.empty())
      return fail(problem);
  }
  common_.color = !common_.json && stdout_supports_color();
  return std::nullopt;
}

int report_error(const std::exception& error) {
  std::fflush(stdout);
  fmt::print(stderr, "error: {}\n", error.what());
  return 1;
}

}  // namespace qkv
