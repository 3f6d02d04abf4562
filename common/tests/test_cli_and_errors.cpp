// The shared command line (qkv::Cli) and the error messages every function uses.

#include <filesystem>

#include "qkv/catch.hpp"
#include "qkv/cli.hpp"
#include "qkv/error.hpp"

using qkv::testing::contains;

namespace {
// Parses an argument list the way main() would.
std::optional<int> parse(qkv::Cli& cli, std::vector<std::string> args) {
  args.insert(args.begin(), "test");
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  return cli.parse(static_cast<int>(argv.size()), argv.data());
}
}  // namespace

TEST_CASE("Cli parses the common flags and a size", "[cli]") {
  qkv::Cli cli("test", "a test");
  qkv::Index tokens = 5;
  cli.add_size("--tokens", tokens, "tokens", 1, 64);
  CHECK_FALSE(parse(cli, {"--seed", "99", "--json", "--tokens", "12"}).has_value());
  CHECK(cli.common().seed == 99);
  CHECK(cli.common().json);
  CHECK_FALSE(cli.common().color);  // never with --json
  CHECK(tokens == 12);
}

TEST_CASE("Cli returns 2 for every malformed command line", "[cli]") {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--nope"},
                                               {"--tokens"},
                                               {"--tokens", "x"},
                                               {"--tokens", "0"},
                                               {"--tokens", "65"},
                                               {"--tokens", "-3"},
                                               {"--tokens", "1e99"},
                                               {"--seed", "-"},
                                               {"positional"}}) {
    qkv::Cli cli("test", "a test");
    qkv::Index tokens = 5;
    cli.add_size("--tokens", tokens, "tokens", 1, 64);
    INFO(args.front());
    CHECK(parse(cli, args) == 2);
    CHECK(tokens >= 1);
    CHECK(tokens <= 64);
  }
}

TEST_CASE("Cli's help exits 0 and lists flags with their ranges", "[cli]") {
  qkv::Cli cli("test", "a test");
  qkv::Index tokens = 5;
  double temperature = 1.0;
  std::string mask = "causal";
  bool causal = false;
  cli.add_size("--tokens", tokens, "tokens", 1, 64);
  cli.add_number("--temperature", temperature, "softmax temperature", 0.01, 100.0);
  cli.add_choice("--mask", mask, "which mask", {"causal", "none"});
  cli.add_flag("--causal", causal, "causal");
  const std::string usage = cli.usage();
  for (const char* flag : {"--seed", "--json", "--svg", "--tokens", "--temperature", "--mask"})
    CHECK_THAT(usage, contains(flag));
  CHECK_THAT(usage, contains("[1 - 64]"));
  CHECK(parse(cli, {"--mask", "sideways"}) == 2);
  CHECK(parse(cli, {"--temperature", "0"}) == 2);
}

TEST_CASE("Cli creates the --svg folder and rejects one it cannot write", "[cli]") {
  const auto dir = std::filesystem::temp_directory_path() / "qkv-test-cli-svg" / "nested";
  std::filesystem::remove_all(dir.parent_path());
  {
    qkv::Cli cli("test", "a test");
    CHECK_FALSE(parse(cli, {"--svg", dir.string()}).has_value());
    CHECK(std::filesystem::is_directory(dir));
    CHECK(cli.common().svg_dir == dir);
    CHECK(std::filesystem::is_empty(dir));  // the write probe is removed
  }
  std::filesystem::remove_all(dir.parent_path());
  qkv::Cli cli("test", "a test");
  CHECK(parse(cli, {"--svg", "/proc/version/not-a-folder"}) == 2);
}

TEST_CASE("shape errors name the function and both shapes", "[error]") {
  const qkv::Matrix a(2, 3), b(4, 5);
  CHECK_THROWS_AS(qkv::require_shapes(false, "f", "why", "A", a, "B", b), qkv::ShapeError);
  CHECK_THROWS_WITH(qkv::require_shapes(false, "f", "why", "A", a, "B", b),
                    "f: why (A is 2x3, B is 4x5)");
  CHECK_NOTHROW(qkv::require_shapes(true, "f", "why", "A", a, "B", b));
  CHECK_THROWS_WITH(qkv::require(false, "g", "bad value"), "g: bad value");
  CHECK(qkv::shape_of(qkv::Vector(7)) == "7x1");
}

TEST_CASE("a stub's NotDone names the file to edit", "[error]") {
  try {
    QKV_NOT_DONE();
  } catch (const qkv::NotDone& error) {
    // __FILE__ is relative to the repository (-fmacro-prefix-map), as a learner would type it.
    CHECK_THAT(error.what(), contains("not done yet"));
    CHECK_THAT(error.what(), contains("\n  common/tests/test_cli_and_errors.cpp\n"));
  }
}

TEST_CASE("report_error prints to stderr and returns exit code 1", "[error]") {
  CHECK(qkv::report_error(qkv::ValueError("boom")) == 1);
}
