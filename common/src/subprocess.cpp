// Child processes (POSIX). Everything the child needs (argv, the environment, the program's
// path) is built before fork(): between fork() and exec the child of a threaded program may
// only call async-signal-safe functions, so it does not allocate, search PATH or setenv.

#include "qkv/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#ifdef __linux__
#include <sys/prctl.h>
#endif

extern char** environ;  // POSIX: the process's environment (unistd.h declares it only as GNU)

namespace qkv::subprocess {

double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

std::string Result::describe() const {
  if (!started) return start_error;
  char text[128];
  if (timed_out) {
    std::snprintf(text, sizeof text, "timed out after %.1f s", seconds);
  } else if (signal != 0) {
    std::snprintf(text, sizeof text, "killed by signal %d (%s)", signal, strsignal(signal));
  } else {
    std::snprintf(text, sizeof text, "exit code %d", exit_code);
  }
  return text;
}

namespace {

std::string error_text(int number) { return std::strerror(number); }

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

/// `fd` moved above 0, 1 and 2 (close-on-exec): when the caller runs with one of those closed,
/// a new descriptor lands there and the child's dup2 of another onto it would overwrite it.
int above_stdio(int fd) {
  if (fd < 0 || fd > STDERR_FILENO) return fd;
  const int moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  close(fd);
  return moved;
}

/// A close-on-exec pipe, both ends above stdio.
bool make_pipe(std::array<int, 2>& ends) {
  if (pipe2(ends.data(), O_CLOEXEC) != 0) return false;
  for (int& end : ends) end = above_stdio(end);
  if (ends[0] >= 0 && ends[1] >= 0) return true;
  close_fd(ends[0]);
  close_fd(ends[1]);
  return false;
}

std::string_view name_of(std::string_view entry) { return entry.substr(0, entry.find('=')); }

/// The inherited environment with `changes` ("NAME=value" sets, "NAME" removes).
std::vector<std::string> child_environment(const std::vector<std::string>& changes) {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry)
    env.emplace_back(*entry);
  for (const auto& change : changes) {
    const auto name = name_of(change);
    std::erase_if(env, [&](const std::string& entry) { return name_of(entry) == name; });
    if (change.find('=') != std::string::npos) env.push_back(change);
  }
  return env;
}

bool is_executable_file(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && access(path.c_str(), X_OK) == 0;
}

/// The file exec will run: `program` itself when it names a path, else the first executable
/// file of that name in the child's PATH (execvp's default when PATH is unset). Empty: none.
std::string find_program(const std::string& program, const std::vector<std::string>& env) {
  if (program.find('/') != std::string::npos) return program;
  std::string path = "/bin:/usr/bin";
  for (const auto& entry : env)
    if (name_of(entry) == "PATH") path = entry.substr(5);
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find(':', start), path.size());
    const std::string dir = path.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (is_executable_file(candidate)) return candidate;
    start = end + 1;
  }
  return {};
}

/// write() that neither dies of SIGPIPE when the reader is gone (it returns -1 with EPIPE)
/// nor leaves that SIGPIPE pending for the caller.
ssize_t write_without_sigpipe(int fd, const char* data, std::size_t size) {
  sigset_t pipe_signal, old_mask, pending;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &old_mask);
  ssize_t written = -1;
  do {
    written = write(fd, data, size);
  } while (written < 0 && errno == EINTR);
  const int saved = errno;
  if (written < 0 && saved == EPIPE && !was_pending) {
    const timespec no_wait{0, 0};
    while (sigtimedwait(&pipe_signal, nullptr, &no_wait) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = saved;
  return written;
}

/// In the child: the errno of what failed, for the parent, then the end.
[[noreturn]] void report_and_exit(int report, int number) {
  while (write(report, &number, sizeof number) < 0 && errno == EINTR) {
  }
  _exit(127);
}

/// In the child: closes every descriptor >= `first` except `keep` (async-signal-safe).
void close_descriptors_from(int first, int keep) {
#ifdef SYS_close_range
  const auto close_range = [](int from, unsigned to) {
    return syscall(SYS_close_range, static_cast<unsigned>(from), to, 0U) == 0;
  };
  if ((keep <= first || close_range(first, static_cast<unsigned>(keep - 1))) &&
      close_range(keep + 1, ~0U))
    return;
#endif
  // Kernels before 5.9: one close per possible descriptor.
  rlimit open_files{};
  rlim_t end = 65536;
  if (getrlimit(RLIMIT_NOFILE, &open_files) == 0 && open_files.rlim_cur != RLIM_INFINITY)
    end = std::min<rlim_t>(open_files.rlim_cur, rlim_t{1} << 20);
  for (int fd = first; static_cast<rlim_t>(fd) < end; ++fd)
    if (fd != keep) close(fd);
}

/// In the child, after fork(): only async-signal-safe calls. Reports a failure as its errno
/// on `report` (close-on-exec, so the parent reads EOF when exec succeeds).
[[noreturn]] void exec_child(const char* file, char* const argv[], char* const envp[],
                             const std::array<int, 3>& stdio, int report, bool own_group,
                             pid_t parent, const Limits& limits) {
  auto fail = [report](int number) { report_and_exit(report, number); };
  if (own_group) {
    setpgid(0, 0);
#ifdef __linux__
    // Out of the terminal's process group it no longer gets Ctrl-C: it dies with the caller.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the caller died before prctl
#endif
  }
  (void)parent;
  for (int target = 0; target < 3; ++target) {
    if (dup2(stdio[static_cast<std::size_t>(target)], target) < 0) fail(errno);
  }
  // Only stdin, stdout and stderr go to the program: descriptors the caller inherited without
  // close-on-exec (its own parent's, a library's) would otherwise leak into it, and a pipe
  // end held there keeps a reader waiting for EOF. `report` stays until exec closes it.
  close_descriptors_from(STDERR_FILENO + 1, report);
  // A child that ignores or blocks a signal passes that on to exec: start it with defaults.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  if (limits.address_space_bytes > 0) {
    const rlimit memory{limits.address_space_bytes, limits.address_space_bytes};
    if (setrlimit(RLIMIT_AS, &memory) != 0) fail(errno);
  }
  if (limits.cpu_seconds > 0) {
    const rlimit cpu{limits.cpu_seconds, rlim_t{limits.cpu_seconds} + 1};
    if (setrlimit(RLIMIT_CPU, &cpu) != 0) fail(errno);
  }
  execve(file, argv, envp);
  report_and_exit(report, errno);
}

}  // namespace

Child::Child(const std::vector<std::string>& args, const Options& options)
    : Child(args, options, Input::pipe) {}

Child::Child(const std::vector<std::string>& args, const Options& options, Input input) {
  start_ = now_seconds();
  hard_deadline_ = options.timeout_seconds > 0 ? start_ + options.timeout_seconds
                                               : std::numeric_limits<double>::infinity();
  own_group_ = options.timeout_seconds > 0 && !options.keep_terminal_group;
  const std::string shown = args.empty() ? std::string("(nothing)") : args.front();
  auto fail = [&](const std::string& why) {
    result_.start_error = "cannot run " + shown + ": " + why;
    result_.seconds = now_seconds() - start_;
  };
  if (args.empty()) {
    fail("no program given");
    return;
  }

  const auto env = child_environment(options.env);
  const std::string file = find_program(args.front(), env);
  if (file.empty()) {
    fail("not found in PATH");
    return;
  }
  std::vector<char*> argv, envp;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  for (const auto& entry : env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);

  // Every descriptor here is close-on-exec: a second child started meanwhile (another thread,
  // another Child) must not inherit this one's pipes, or their ends would never see EOF.
  std::array<int, 2> in{-1, -1}, out{-1, -1}, err{-1, -1}, report{-1, -1};
  int null_in = -1, null_out = -1;
  auto close_all = [&] {
    for (auto* ends : {&in, &out, &err, &report}) {
      close_fd((*ends)[0]);
      close_fd((*ends)[1]);
    }
    close_fd(null_in);
    close_fd(null_out);
  };
  bool ready = make_pipe(out) && make_pipe(report);
  if (ready && input == Input::pipe) ready = make_pipe(in);
  if (ready && input == Input::null)
    ready = (null_in = above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC))) >= 0;
  if (ready && options.capture == Capture::separate) ready = make_pipe(err);
  if (ready && options.capture == Capture::stdout_only)
    ready = (null_out = above_stdio(open("/dev/null", O_WRONLY | O_CLOEXEC))) >= 0;
  if (!ready) {
    const int saved = errno;
    close_all();
    fail(error_text(saved));
    return;
  }
  const std::array<int, 3> stdio{input == Input::pipe ? in[0] : null_in, out[1],
                                 options.capture == Capture::separate ? err[1]
                                 : options.capture == Capture::merged ? out[1]
                                                                      : null_out};
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int saved = errno;
    close_all();
    fail("fork: " + error_text(saved));
    return;
  }
  if (pid == 0) {
    exec_child(file.c_str(), argv.data(), envp.data(), stdio, report[1], own_group_, parent,
               options.limits);
  }
  pid_ = pid;
  // Also here, so that a kill of the group right after fork cannot miss it.
  if (own_group_) setpgid(pid_, pid_);
  close_fd(report[1]);
  int exec_error = 0;
  ssize_t got = 0;
  do {
    got = read(report[0], &exec_error, sizeof exec_error);
  } while (got < 0 && errno == EINTR);
  stdin_fd_ = std::exchange(in[1], -1);
  stdout_fd_ = std::exchange(out[0], -1);
  stderr_fd_ = std::exchange(err[0], -1);
  close_all();
  if (got == static_cast<ssize_t>(sizeof exec_error)) {
    reap();
    close_fds();
    result_.exit_code = -1;
    fail(error_text(exec_error));
    return;
  }
  result_.started = true;
  for (int fd : {stdin_fd_, stdout_fd_, stderr_fd_})
    if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

Child::~Child() {
  if (pid_ > 0) {
    kill_child();
    reap();
  }
  close_fds();
}

void Child::send(std::string_view text) {
  if (stdin_fd_ < 0) return;
  pending_input_.append(text);
  write_input();
}

void Child::close_input() {
  close_input_when_sent_ = true;
  write_input();
}

void Child::signal(int number) const {
  if (pid_ > 0) kill(pid_, number);
}

void Child::write_input() {
  while (stdin_fd_ >= 0 && !pending_input_.empty()) {
    const ssize_t n =
        write_without_sigpipe(stdin_fd_, pending_input_.data(), pending_input_.size());
    if (n < 0 && errno == EAGAIN) return;  // the pipe is full: later, when the child reads
    if (n < 0) {                           // EPIPE: it closed its stdin or ended
      pending_input_.clear();
      close_fd(stdin_fd_);
      return;
    }
    pending_input_.erase(0, static_cast<std::size_t>(n));
  }
  if (close_input_when_sent_ && pending_input_.empty()) close_fd(stdin_fd_);
}

void Child::pump(double deadline) {
  const double left = deadline - now_seconds();
  if (left <= 0 || (stdout_fd_ < 0 && stderr_fd_ < 0)) return;
  std::array<pollfd, 3> fds{{{pending_input_.empty() ? -1 : stdin_fd_, POLLOUT, 0},
                             {stdout_fd_, POLLIN, 0},
                             {stderr_fd_, POLLIN, 0}}};
  const int wait_ms =
      std::isinf(left) ? -1 : static_cast<int>(std::min(std::ceil(left * 1000), 3.6e6));
  const int ready = poll(fds.data(), fds.size(), wait_ms);
  if (ready < 0 && errno == EINTR) return;  // a signal: the caller looks at the clock again
  if (ready < 0) {                          // cannot happen with valid descriptors; never spin
    close_fd(stdout_fd_);
    close_fd(stderr_fd_);
    return;
  }
  if (fds[0].revents != 0) write_input();
  const std::array<int*, 3> owners{&stdin_fd_, &stdout_fd_, &stderr_fd_};
  const std::array<std::string*, 3> sinks{nullptr, &result_.out, &result_.err};
  std::array<char, 65536> buffer{};
  for (std::size_t i = 1; i < fds.size(); ++i) {
    if (fds[i].fd < 0 || fds[i].revents == 0) continue;
    const ssize_t n = read(fds[i].fd, buffer.data(), buffer.size());
    if (n > 0) {
      sinks[i]->append(buffer.data(), static_cast<std::size_t>(n));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      close_fd(*owners[i]);  // the end of this stream
    }
  }
}

bool Child::output_open() const { return stdout_fd_ >= 0 || stderr_fd_ >= 0; }

bool Child::past_time_limit() {
  if (now_seconds() < hard_deadline_ || pid_ <= 0) return false;
  result_.timed_out = true;
  kill_child();
  return true;
}

bool Child::wait_for(std::string_view text, double seconds) {
  const double deadline = now_seconds() + seconds;
  while (result_.out.find(text) == std::string::npos) {
    if (!output_open() || past_time_limit() || now_seconds() >= deadline) return false;
    pump(std::min(deadline, hard_deadline_));
  }
  return true;
}

Result Child::finish(double seconds) {
  if (!result_.started) return std::move(result_);
  close_input();
  const double deadline = now_seconds() + seconds;
  while (output_open()) {
    if (!past_time_limit() && now_seconds() >= deadline && pid_ > 0) {
      result_.timed_out = true;
      kill_child();
    }
    if (result_.timed_out) {
      // What it wrote before the kill is still in the pipes: read it, but give up after a
      // second (something outside its process group may hold the pipes open).
      const double grace = now_seconds() + 1;
      while (output_open() && now_seconds() < grace) pump(grace);
      break;
    }
    pump(std::min(deadline, hard_deadline_));
  }
  close_fds();
  reap();
  return std::move(result_);
}

void Child::kill_child() {
  if (pid_ <= 0) return;
  // The whole group when it has one: what it started dies with it.
  kill(own_group_ ? -pid_ : pid_, SIGKILL);
}

void Child::reap() {
  if (pid_ <= 0) return;
  int status = 0;
  pid_t done = -1;
  do {
    done = waitpid(pid_, &status, 0);
  } while (done < 0 && errno == EINTR);
  pid_ = -1;
  result_.seconds = now_seconds() - start_;
  if (done < 0) return;
  if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result_.signal = WTERMSIG(status);
}

void Child::close_fds() {
  close_fd(stdin_fd_);
  close_fd(stdout_fd_);
  close_fd(stderr_fd_);
}

Result run(const std::vector<std::string>& args, const Options& options) {
  Child child(args, options, Child::Input::null);
  return child.finish(std::numeric_limits<double>::infinity());
}

}  // namespace qkv::subprocess
