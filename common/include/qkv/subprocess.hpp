#pragma once
/// @file
/// The one way the tree runs another program (POSIX): qkv-learn runs the build and the exercise
/// tests with it, the chapter and robustness tests run the chapter executables, qkv-learn's
/// tests drive qkv-learn itself. No shell: `args[0]` is the program, the rest its arguments.
///
/// It never deadlocks on output (stdout and stderr are read together as they come, however
/// large), survives signals (EINTR), leaks no file descriptor into the child or the caller,
/// and tells apart the four ways a run ends: it exited (`exit_code`), a signal ended it
/// (`signal`), it ran past its time limit (`timed_out`), it could not be started at all
/// (`started == false`, with the reason in `start_error`).
///
/// Process groups: a child with a time limit runs in a process group of its own, so that the
/// kill at the limit also reaches what it started (ninja's compilers, for example); it is also
/// killed if the thread that started it dies (Linux), because it no longer receives the
/// terminal's Ctrl-C. A child without a limit, or with Options::keep_terminal_group, stays in
/// the caller's group, so Ctrl-C stops both, as a user of an interactive tool expects.
///
/// Its header is not qkv/process.hpp because common/testing/qkv/process.hpp, the tests' older
/// interface to it, already has that name on the tests' include path.

#include <string>
#include <string_view>
#include <vector>

namespace qkv::subprocess {

/// Where the child's stdout and stderr go.
enum class Capture {
  separate,     ///< stdout into Result::out, stderr into Result::err
  merged,       ///< both into Result::out, in the exact order written (they share one pipe)
  stdout_only,  ///< stdout into Result::out, stderr to /dev/null (stdout is data)
};

/// Resource limits set in the child (setrlimit) before it starts; 0 leaves one as inherited.
struct Limits {
  /// RLIMIT_AS: allocations past this many bytes of address space fail (std::bad_alloc).
  /// Leave it 0 under AddressSanitizer, whose shadow memory reserves terabytes of it.
  unsigned long long address_space_bytes = 0;
  /// RLIMIT_CPU: SIGXCPU after this much CPU time; SIGKILL one CPU second later if it is
  /// caught.
  unsigned cpu_seconds = 0;
};

/// How to run a program: its environment, what to capture, its limits.
struct Options {
  /// Changes to the inherited environment: "NAME=value" sets NAME, a bare "NAME" removes it.
  std::vector<std::string> env;
  Capture capture = Capture::separate;  ///< stdout and stderr apart, together, or stdout only
  /// Wall-clock limit in seconds from the start; 0: none. Past it the child's process group
  /// gets SIGKILL and Result::timed_out is set.
  double timeout_seconds = 0;
  Limits limits;  ///< resource limits of the child (none by default)
  /// Stay in the caller's process group even with a time limit, so that the terminal's
  /// Ctrl-C reaches the child too (qkv-learn's children). The kill at the limit then reaches
  /// only the child itself, not what it started.
  bool keep_terminal_group = false;
};

/// How a program ended, and what it wrote.
struct Result {
  bool started = false;     ///< false: the program could not be run (see start_error)
  std::string start_error;  ///< why not: "cannot run nosuch: not found in PATH"
  int exit_code = -1;       ///< its exit status when it exited, -1 when a signal ended it
  int signal = 0;           ///< the signal that ended it (SIGKILL at a timeout), or 0
  bool timed_out = false;   ///< killed because it ran past Options::timeout_seconds
  std::string out;          ///< stdout (both streams with Capture::merged)
  std::string err;          ///< stderr (empty unless Capture::separate)
  double seconds = 0;       ///< wall-clock seconds from the start to its end

  /// How it ended, in words: "exit code 2", "killed by signal 11 (Segmentation fault)",
  /// "timed out after 5.0 s", or the start error.
  [[nodiscard]] std::string describe() const;
};

/// Runs `args[0]` (searched in PATH when it has no '/') with arguments `args[1..]`, stdin from
/// /dev/null, and waits for it to end and its output to close.
Result run(const std::vector<std::string>& args, const Options& options = {});

/// A running program whose stdin the caller writes and whose output it reads as it comes: an
/// interactive program, like `qkv-learn watch`, driven by a test. run() is this with stdin
/// from /dev/null and finish() at once. Neither copyable nor movable: it owns the child.
class Child {
 public:
  /// Starts it with stdin a pipe (see send()); check started() or the Result of finish().
  explicit Child(const std::vector<std::string>& args, const Options& options = {});
  /// Kills the child (its process group if it has one) if it still runs, and reaps it.
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  Child(Child&&) = delete;
  Child& operator=(Child&&) = delete;

  /// False when the program could not be run (the Result of finish() says why).
  [[nodiscard]] bool started() const { return result_.started; }
  /// Queues `text` for its stdin. Never blocks: the text is written as the child reads it,
  /// while this object reads the child's output; dropped if the child closed its stdin.
  void send(std::string_view text);
  /// Its stdin ends (EOF) once the text sent so far is written.
  void close_input();
  /// Sends `number` to the child itself (not its group), as a user's kill would.
  void signal(int number) const;
  /// Reads its output until stdout (with Capture::merged, both streams) contains `text`:
  /// true. False when the output ended or `seconds` (or the time limit) passed first.
  bool wait_for(std::string_view text, double seconds);
  /// Closes its stdin (after what was sent), reads its output to the end and waits for it,
  /// at most `seconds` more (and within the time limit): past that it is killed and counts
  /// as timed out. The Result takes the output; call it once.
  Result finish(double seconds);

  /// Its stdout so far (both streams with Capture::merged).
  [[nodiscard]] const std::string& out() const { return result_.out; }
  /// Its stderr so far (with Capture::separate).
  [[nodiscard]] const std::string& err() const { return result_.err; }

 private:
  friend Result run(const std::vector<std::string>& args, const Options& options);
  enum class Input { pipe, null };
  Child(const std::vector<std::string>& args, const Options& options, Input input);

  /// One round of waiting: writes pending input and reads what output is ready, waiting at
  /// most until `deadline` (a now_seconds() value) or the time limit.
  void pump(double deadline);
  [[nodiscard]] bool output_open() const;
  /// True (and the child killed) once the time limit has passed.
  bool past_time_limit();
  void write_input();
  void kill_child();
  void reap();
  void close_fds();

  Result result_;
  int pid_ = -1;
  bool own_group_ = false;
  double start_ = 0;
  double hard_deadline_ = 0;  ///< start + timeout, or +infinity
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string pending_input_;
  bool close_input_when_sent_ = false;
};

/// Seconds on a monotonic clock, from some fixed point: for measuring durations.
double now_seconds();

}  // namespace qkv::subprocess
