#pragma once
// Running the build and the exercise tests for qkv-learn: a child process, its output
// (stdout and stderr in the order it wrote them), its exit status, a time limit. A thin
// interface over qkv::subprocess (qkv/subprocess.hpp), the tree's one process runner.

#include <string>
#include <vector>

namespace qkv::learn {

struct ProcessResult {
  bool started = false;    ///< false: the program could not be run at all
  int exit_code = -1;      ///< its exit status, when it exited
  int signal = 0;          ///< the signal that killed it, or 0
  bool timed_out = false;  ///< killed because it ran past the time limit
  std::string output;      ///< stdout and stderr together; why, when it could not be run
  double seconds = 0;      ///< wall-clock time it took
};

struct RunOptions {
  double timeout_seconds = 0;    ///< 0: no limit
  std::vector<std::string> env;  ///< NAME=value entries added to its environment
  bool discard_stderr = false;   ///< keep stdout only (when it is data, like a file's text)
};

/// Runs `args[0]` (searched in PATH when it has no '/') with `args[1..]`, no shell, stdin
/// from /dev/null, and waits for it. It stays in qkv-learn's process group, so the
/// terminal's Ctrl-C reaches it too.
ProcessResult run_process(const std::vector<std::string>& args, const RunOptions& options = {});

/// Seconds since some fixed point (a monotonic clock).
double now_seconds();

}  // namespace qkv::learn
