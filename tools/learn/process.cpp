// qkv-learn's interface to the tree's one process runner, qkv::subprocess.

#include "process.hpp"

#include "qkv/subprocess.hpp"

namespace qkv::learn {

double now_seconds() { return subprocess::now_seconds(); }

ProcessResult run_process(const std::vector<std::string>& args, const RunOptions& options) {
  subprocess::Options run_options;
  run_options.env = options.env;
  run_options.timeout_seconds = options.timeout_seconds;
  // qkv-learn is interactive: Ctrl-C must reach the build and the test it runs (watch stops
  // on it and waits for them), so they stay in its process group.
  run_options.keep_terminal_group = true;
  run_options.capture =
      options.discard_stderr ? subprocess::Capture::stdout_only : subprocess::Capture::merged;
  auto run = subprocess::run(args, run_options);
  ProcessResult result;
  result.started = run.started;
  result.exit_code = run.exit_code;
  result.signal = run.signal;
  result.timed_out = run.timed_out;
  result.output = run.started ? std::move(run.out) : run.start_error + "\n";
  result.seconds = run.seconds;
  return result;
}

}  // namespace qkv::learn
