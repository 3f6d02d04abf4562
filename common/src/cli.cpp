// The shared command line, on CLI11. CLI11 is header-only and slow to compile, so it is
// included here and nowhere else.

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <system_error>

#include "qkv/cli.hpp"
#include "qkv/heatmap.hpp"

namespace qkv {

struct Cli::Impl {
  CLI::App app;
  std::string name;
  std::string svg_dir;
  Impl(std::string description, std::string app_name)
      : app(std::move(description), app_name), name(std::move(app_name)) {}
};

Cli::Cli(std::string name, std::string description)
    : impl_(std::make_unique<Impl>(std::move(description), std::move(name))) {
  auto& app = impl_->app;
  app.add_option("--seed", common_.seed, "seed for every random number (same seed, same output)")
      ->capture_default_str();
  app.add_flag("--json", common_.json, "print one JSON object with every computed matrix");
  app.add_option("--svg", impl_->svg_dir, "write the chapter's figures as SVG into this folder")
      ->type_name("DIR");
}

Cli::~Cli() = default;

void Cli::add_size(const std::string& flag, Index& value, const std::string& help, Index min,
                   Index max) {
  impl_->app.add_option(flag, value, help)->capture_default_str()->check(CLI::Range(min, max));
}

void Cli::add_number(const std::string& flag, double& value, const std::string& help, double min,
                     double max) {
  impl_->app.add_option(flag, value, help)->capture_default_str()->check(CLI::Range(min, max));
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
