// The shared command line, on CLI11. CLI11 is header-only and slow to compile, so it is
// included here and nowhere else.

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <system_error>
#include <type_traits>

#include "qkv/cli.hpp"
#include "qkv/heatmap.hpp"

namespace qkv {

struct Cli::Impl {
  CLI::App app;
  std::string name;
  std::string svg_dir;
  std::vector<std::function<std::string()>> checks;
  Impl(std::string description, std::string app_name)
      : app(std::move(description), app_name), name(std::move(app_name)) {}
};

namespace {
// CLI11 alone reads "0x10" and "1e3" as integers, wraps "-1" into an unsigned seed, lets
// "nan" through a range check and calls "abc" out of range. This reads the text strictly,
// says what is wrong with it, and rewrites it in plain decimal for CLI11 to convert (a
// transform, not a check: CLI11 hands checks a copy).
template <typename T>
CLI::Validator strict_number(T min, T max, const std::string& description) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        T value{};
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        const bool negative = !text.empty() && text.front() == '-';
        if (error == std::errc::result_out_of_range ||
            (std::is_unsigned_v<T> && negative && error == std::errc::invalid_argument &&
             text.find_first_not_of("0123456789", 1) == std::string::npos && text.size() > 1) ||
            (error == std::errc{} && stop == end && (value < min || value > max)))
          return fmt::format("{} is out of range: it must lie in [{} - {}]", text, min, max);
        if (error != std::errc{} || stop != end || !std::isfinite(static_cast<double>(value)))
          return fmt::format("'{}' is not {}", text,
                             std::is_integral_v<T> ? "a whole number" : "a number");
        text = fmt::format("{}", value);
        return {};
      },
      description);
}
}  // namespace

Cli::Cli(std::string name, std::string description)
    : impl_(std::make_unique<Impl>(std::move(description), std::move(name))) {
  auto& app = impl_->app;
  app.add_option("--seed", common_.seed, "seed for every random number (same seed, same output)")
      ->capture_default_str()
      ->transform(strict_number<std::uint64_t>(0, UINT64_MAX, ""));
  app.add_flag("--json", common_.json, "print one JSON object with every computed matrix");
  app.add_option("--svg", impl_->svg_dir, "write the chapter's figures as SVG into this folder")
      ->type_name("DIR");
}

Cli::~Cli() = default;

void Cli::add_size(const std::string& flag, Index& value, const std::string& help, Index min,
                   Index max) {
  impl_->app.add_option(flag, value, help)
      ->capture_default_str()
      ->transform(strict_number<Index>(min, max, fmt::format("INT in [{} - {}]", min, max)));
}

void Cli::add_number(const std::string& flag, double& value, const std::string& help, double min,
                     double max) {
  impl_->app.add_option(flag, value, help)
      ->capture_default_str()
      ->transform(strict_number<double>(min, max, fmt::format("FLOAT in [{} - {}]", min, max)));
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

void Cli::add_flag(const std::string& flag, bool& value, const std::string& help) {
  impl_->app.add_flag(flag, value, help);
}

void Cli::add_choice(const std::string& flag, std::string& value, const std::string& help,
                     const std::vector<std::string>& choices) {
  impl_->app.add_option(flag, value, help)->capture_default_str()->check(CLI::IsMember(choices));
}

std::string Cli::usage() const { return impl_->app.help(); }

namespace {
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

std::optional<int> Cli::parse(int argc, const char* const* argv) {
  auto& app = impl_->app;
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& success) {  // --help
    return app.exit(success);
  } catch (const CLI::ParseError& error) {
    fmt::print(stderr, "{}: error: {}\n\n{}", impl_->name, error.what(), app.help());
    return 2;
  }
  for (const auto& check : impl_->checks) {
    if (const auto problem = check(); !problem.empty()) {
      fmt::print(stderr, "{}: error: {}\n\n{}", impl_->name, problem, app.help());
      return 2;
    }
  }
  if (!impl_->svg_dir.empty()) {
    common_.svg_dir = impl_->svg_dir;
    if (const auto problem = check_writable_folder(common_.svg_dir); !problem.empty()) {
      fmt::print(stderr, "{}: error: {}\n\n{}", impl_->name, problem, app.help());
      return 2;
    }
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
