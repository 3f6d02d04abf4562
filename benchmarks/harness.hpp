#pragma once
// What both benchmarks share: their own flags parsed by CLI11, every --benchmark_* flag handed
// on to Google Benchmark.

#include <benchmark/benchmark.h>

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace qkv::bench {

/// Parses argv with `app` (which must allow extras) and gives what it leaves to Google
/// Benchmark. Returns the exit code when the program should stop now: 0 after --help, 2 after
/// a bad flag of either parser; std::nullopt when it should run.
inline std::optional<int> parse_flags(CLI::App& app, int argc, char** argv) {
  app.allow_extras();  // --benchmark_* go to Google Benchmark
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  std::vector<std::string> extras = app.remaining();
  std::vector<char*> benchmark_argv{argv[0]};
  for (auto& extra : extras) benchmark_argv.push_back(extra.data());
  int benchmark_argc = static_cast<int>(benchmark_argv.size());
  benchmark::Initialize(&benchmark_argc, benchmark_argv.data());
  if (benchmark::ReportUnrecognizedArguments(benchmark_argc, benchmark_argv.data())) return 2;
  return std::nullopt;
}

}  // namespace qkv::bench
