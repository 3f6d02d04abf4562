// The shared command line (qkv::Cli) and the error messages every function uses.

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

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

// What parse() writes to stderr for `args`, and its result: stderr (fd 2) goes to a
// temporary file for the call.
struct Parsed {
  std::optional<int> exit_code;
  std::string err;
  std::string first_line() const { return err.substr(0, err.find('\n')); }
};
Parsed parse_capturing(qkv::Cli& cli, const std::vector<std::string>& args) {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  std::fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  dup2(fileno(file), STDERR_FILENO);
  Parsed parsed{parse(cli, args), {}};
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::rewind(file);
  for (int c = std::fgetc(file); c != EOF; c = std::fgetc(file)) parsed.err += static_cast<char>(c);
  std::fclose(file);
  return parsed;
}

// A command line with one flag of each kind.
struct TestCli {
  qkv::Cli cli{"test", "a test"};
  qkv::Index tokens = 5;
  double temperature = 1.0;
  std::string mask = "causal";
  bool causal = false;
  TestCli() {
    cli.add_size("--tokens", tokens, "tokens", 1, 64);
    cli.add_number("--temperature", temperature, "softmax temperature", 0.05, 20.0);
    cli.add_choice("--mask", mask, "which mask", {"causal", "window", "none"});
    cli.add_flag("--causal", causal, "causal");
  }
};
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

TEST_CASE("Cli says which flags were given, so a default can adapt and a value be checked",
          "[cli]") {
  qkv::Cli cli("test", "a test");
  qkv::Index tokens = 8, prompt = 3;
  cli.add_size("--tokens", tokens, "tokens", 1, 64);
  cli.add_size("--prompt", prompt, "prompt", 1, 64);
  bool prompt_given_in_check = true;
  cli.add_check([&]() -> std::string {
    prompt_given_in_check = cli.given("--prompt");
    return {};
  });
  CHECK_FALSE(parse(cli, {"--tokens=1", "--seed", "3"}).has_value());
  CHECK(cli.given("--tokens"));
  CHECK(cli.given("--seed"));
  CHECK_FALSE(cli.given("--prompt"));
  CHECK_FALSE(prompt_given_in_check);
  CHECK_FALSE(cli.given("--json"));
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
  // Ranges and defaults as a person writes them (CLI11 wrote "--tokens INT:INT in [1 - 64]=5").
  CHECK(usage ==
        "a test\n"
        "\n"
        "Usage: test [flags]\n"
        "\n"
        "Flags:\n"
        "  -h, --help       print this help and exit\n"
        "  --seed N         seed for every random number (same seed, same output) (0 or more, "
        "default 2024)\n"
        "  --json           print one JSON object with every computed matrix\n"
        "  --svg DIR        write the chapter's figures as SVG into this folder\n"
        "  --tokens N       tokens (1 to 64, default 5)\n"
        "  --temperature X  softmax temperature (0.01 to 100, default 1)\n"
        "  --mask NAME      which mask (causal or none; default causal)\n"
        "  --causal         causal\n");
  CHECK(parse(cli, {"--mask", "sideways"}) == 2);
  CHECK(parse(cli, {"--temperature", "0"}) == 2);
  CHECK(parse(cli, {"--help"}) == 0);
  CHECK(parse(cli, {"-h"}) == 0);
}

TEST_CASE("Cli names the flag in every error, in the project's words", "[cli]") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      // CLI11 said "The following arguments were not expected: 1 --tokens".
      {{"--samples", "1"},
       "unknown flag --samples; this chapter's flags are --help, --seed, --json, --svg, "
       "--tokens, --temperature, --mask, --causal"},
      {{"--samples=1"}, "unknown flag --samples;"},
      {{"-t"}, "unknown flag -t;"},
      {{"extra"}, "unexpected argument extra: this chapter takes only flags, which are --help,"},
      {{"--tokens"}, "--tokens needs a value: a whole number from 1 to 64"},
      {{"--tokens", "--json"}, "--tokens needs a value: a whole number from 1 to 64"},
      {{"--tokens", "abc"}, "--tokens abc is not a whole number from 1 to 64"},
      {{"--tokens", ""}, "--tokens '' is not a whole number from 1 to 64"},
      {{"--tokens", "2.5"}, "--tokens 2.5 is not a whole number from 1 to 64"},
      {{"--tokens", "0x10"}, "--tokens 0x10 is not a whole number from 1 to 64"},
      {{"--tokens", "65"}, "--tokens 65 is out of range: give a whole number from 1 to 64"},
      {{"--tokens=0"}, "--tokens 0 is out of range: give a whole number from 1 to 64"},
      {{"--tokens", "99999999999999999999"}, "--tokens 99999999999999999999 is out of range"},
      {{"--seed", "-1"}, "--seed -1 is out of range: give a whole number, 0 or more"},
      {{"--temperature", "0.0499"},
       "--temperature 0.0499 is out of range: give a number from "
       "0.05 to 20"},
      {{"--temperature", "20.01"}, "--temperature 20.01 is out of range"},
      {{"--temperature", "inf"}, "--temperature inf is not a number from 0.05 to 20"},
      {{"--temperature", "nan"}, "--temperature nan is not a number from 0.05 to 20"},
      {{"--temperature", "1,5"}, "--temperature 1,5 is not a number from 0.05 to 20"},
      {{"--mask", "sideways"}, "--mask sideways is not a choice: give causal, window or none"},
      {{"--causal=yes"}, "--causal takes no value: write --causal alone"},
      {{"--svg"}, "--svg needs a value: a folder"},
  };
  for (const auto& [args, words] : cases) {
    TestCli test;
    const Parsed parsed = parse_capturing(test.cli, args);
    INFO(args.front() << " " << (args.size() > 1 ? args[1] : "") << "\n  stderr: " << parsed.err);
    CHECK(parsed.exit_code == 2);
    CHECK_THAT(parsed.first_line(), contains("test: error: "));
    CHECK_THAT(parsed.first_line(), contains(words));
    CHECK(parsed.err == parsed.first_line() + "\n\n" + test.cli.usage());  // one line, usage
  }
}

TEST_CASE("Cli takes --flag=value, the ends of every range, and the last of a repeated flag",
          "[cli]") {
  TestCli test;
  CHECK_FALSE(parse(test.cli, {"--tokens=64", "--temperature", "0.05", "--mask=none"}).has_value());
  CHECK(test.tokens == 64);
  CHECK(test.temperature == 0.05);
  CHECK(test.mask == "none");
  CHECK_FALSE(parse(test.cli, {"--tokens", "1", "--temperature", "20", "--tokens", "3"}));
  CHECK(test.tokens == 3);
  CHECK(test.temperature == 20.0);
  CHECK_FALSE(test.causal);
  CHECK_FALSE(parse(test.cli, {"--causal", "--seed", "18446744073709551615"}).has_value());
  CHECK(test.causal);
  CHECK(test.cli.common().seed == 18446744073709551615ULL);
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
