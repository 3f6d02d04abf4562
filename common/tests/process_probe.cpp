// The program test_process.cpp runs: each mode does one thing a child can do to its runner
// (flood both streams, die of a signal, hang, leave a grandchild, read its stdin, ...).
// Output goes through write(2), unbuffered, so that its order is the order of the calls.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <string_view>
#include <vector>

namespace {

void put(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) std::exit(4);
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

/// Line `i` of stream `tag` in `streams` mode; test_process.cpp builds the same text.
std::string stream_line(char tag, long i) {
  char line[32];
  std::snprintf(line, sizeof line, "%c%09ld\n", tag, i);
  return line;
}

int usage() {
  put(2, "usage: process_probe MODE [ARG...]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string mode = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  auto number = [&](std::size_t i) { return i < args.size() ? std::atol(args[i].c_str()) : 0L; };

  if (mode == "streams") {  // `lines` lines on each stream, alternating in 4 KiB blocks
    const long lines = number(0);
    std::string out, err;
    for (long i = 0; i < lines; ++i) {
      out += stream_line('o', i);
      err += stream_line('e', i);
      if (out.size() >= 4096 || i + 1 == lines) {
        put(1, out);
        put(2, err);
        out.clear();
        err.clear();
      }
    }
    return 0;
  }
  if (mode == "order") {  // "<i> out" and "<i> err" lines, alternating
    for (long i = 1; i <= number(0); ++i)
      put(i % 2 ? 1 : 2, std::to_string(i) + (i % 2 ? " out\n" : " err\n"));
    return 0;
  }
  if (mode == "exit") return static_cast<int>(number(0));
  if (mode == "raise") {
    put(1, "before the signal\n");
    std::raise(static_cast<int>(number(0)));
    return 0;
  }
  if (mode == "sleep") {  // prints, then sleeps (the output comes before a timeout)
    put(1, "sleeping\n");
    sleep(static_cast<unsigned>(number(0)));
    put(1, "woke up\n");
    return 0;
  }
  if (mode == "grandchild") {  // a grandchild that holds stdout open and sleeps; its pid in a file
    const pid_t pid = fork();
    if (pid == 0) {
      sleep(static_cast<unsigned>(number(0)));
      _exit(0);
    }
    std::ofstream(args.at(1)) << pid << "\n";
    put(1, "started a grandchild\n");
    sleep(static_cast<unsigned>(number(0)));
    return 0;
  }
  if (mode == "env") {  // NAME=value or NAME unset, for each NAME
    for (const auto& name : args) {
      const char* value = std::getenv(name.c_str());
      put(1, name + (value ? "=" + std::string(value) : std::string(" unset")) + "\n");
    }
    return 0;
  }
  if (mode == "allocate") {  // MiB of heap: exit 0, or 3 when the allocation is refused
    try {
      auto* block = new char[static_cast<std::size_t>(number(0)) << 20];
      block[0] = 1;
      put(1, "allocated\n");
      delete[] block;
      return 0;
    } catch (const std::bad_alloc&) {
      put(1, "bad_alloc\n");
      return 3;
    }
  }
  if (mode == "spin") {  // CPU time until a limit stops it
    volatile unsigned long counter = 0;
    while (true) counter = counter + 1;
  }
  if (mode == "fds") {  // the open file descriptors and what they are, one per line
    std::string text;
    // One of them is the directory being read: its target names /proc/.
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code error;
      const auto target = std::filesystem::read_symlink(entry.path(), error);
      text += entry.path().filename().string() + " " + (error ? "?" : target.string()) + "\n";
    }
    put(1, text);
    return 0;
  }
  if (mode == "stdin") {  // what stdin is, then an echo of it to stdout until EOF
    struct stat in {
    }, null{};
    const bool is_null = fstat(0, &in) == 0 && stat("/dev/null", &null) == 0 &&
                         S_ISCHR(in.st_mode) && in.st_rdev == null.st_rdev;
    put(2, is_null ? "stdin is /dev/null\n" : "stdin is not /dev/null\n");
    char buffer[65536];
    while (true) {
      const ssize_t n = read(0, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      put(1, std::string_view(buffer, static_cast<std::size_t>(n)));
    }
    put(2, "end of stdin\n");
    return 0;
  }
  if (mode == "group") {  // its process id and process group id
    put(1, std::to_string(getpid()) + " " + std::to_string(getpgrp()) + "\n");
    return 0;
  }
  return usage();
}
