// Child processes for qkv-learn (POSIX).

#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace qkv::learn {

double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

ProcessResult run_process(const std::vector<std::string>& args, const RunOptions& options) {
  ProcessResult result;
  if (args.empty()) return result;
  int out[2];
  if (pipe(out) != 0) return result;
  const double start = now_seconds();
  const pid_t pid = fork();
  if (pid < 0) {
    close(out[0]);
    close(out[1]);
    return result;
  }
  if (pid == 0) {
    const int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    if (options.discard_stderr) {
      const int null_out = open("/dev/null", O_WRONLY);
      if (null_out >= 0) dup2(null_out, STDERR_FILENO);
    } else {
      dup2(out[1], STDERR_FILENO);
    }
    close(out[0]);
    close(out[1]);
    for (const auto& entry : options.env) {
      const auto equals = entry.find('=');
      if (equals != std::string::npos)
        setenv(entry.substr(0, equals).c_str(), entry.substr(equals + 1).c_str(), 1);
    }
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    const std::string message = "cannot run " + args[0] + ": " + std::strerror(errno) + "\n";
    if (write(STDERR_FILENO, message.data(), message.size()) < 0) _exit(127);
    _exit(127);
  }
  close(out[1]);
  result.started = true;
  std::array<char, 65536> buffer;
  pollfd fd{out[0], POLLIN, 0};
  while (true) {
    int wait_ms = -1;
    if (options.timeout_seconds > 0) {
      const double left = options.timeout_seconds - (now_seconds() - start);
      if (left <= 0) {
        kill(pid, SIGKILL);
        result.timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(left * 1000) + 1;
    }
    const int ready = poll(&fd, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;  // a signal (Ctrl-C): the child decides
    if (ready <= 0) continue;
    const ssize_t n = read(out[0], buffer.data(), buffer.size());
    if (n > 0) {
      result.output.append(buffer.data(), static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  // exec failed in the child: it could not be started.
  if (result.exit_code == 127 && result.output.rfind("cannot run ", 0) == 0) result.started = false;
  result.seconds = now_seconds() - start;
  return result;
}

}  // namespace qkv::learn
