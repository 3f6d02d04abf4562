#pragma once
/// @file
/// Runs a program and captures its exit code, stdout and stderr: how tests check what a
/// chapter executable prints, its `--json`, and how it fails on bad flags. A thin interface
/// over qkv::subprocess (qkv/subprocess.hpp), the tree's one process runner.

#include <string>
#include <vector>

#include "qkv/subprocess.hpp"

namespace qkv::testing {

struct ProcessResult {
  int exit_code = -1;  ///< the exit status, 128 + signal number if a signal ended it, 127 if
                       ///< it could not be started
  std::string out;
  std::string err;  ///< stderr; why it could not be started, or that it timed out
};

/// A test that hangs should fail with a message, not wait for ctest's own limit.
inline constexpr double process_timeout_seconds = 300;

/// Runs `args[0]` with arguments `args[1..]` (no shell, stdin from /dev/null), with `env`
/// (NAME=value entries) added to the environment, and waits for it (at most
/// process_timeout_seconds: then it is killed, exit code 128 + SIGKILL).
inline ProcessResult run_process(const std::vector<std::string>& args,
                                 const std::vector<std::string>& env = {}) {
  subprocess::Options options;
  options.env = env;
  options.timeout_seconds = process_timeout_seconds;
  auto run = subprocess::run(args, options);
  ProcessResult result{-1, std::move(run.out), std::move(run.err)};
  if (!run.started) {
    result.exit_code = 127;  // what a shell says for a program it cannot run
    result.err = run.start_error + "\n";
  } else {
    result.exit_code = run.signal != 0 ? 128 + run.signal : run.exit_code;
    if (run.timed_out) result.err += "[" + run.describe() + ": killed]\n";
  }
  return result;
}

}  // namespace qkv::testing
