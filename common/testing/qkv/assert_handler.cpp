/// @file
/// What an exercise test does when Eigen or the standard library catches an out-of-range
/// index (the exercise tests keep their checks on: no NDEBUG, _GLIBCXX_ASSERTIONS). It
/// writes one line to stderr,
///
///     qkv-assert: exercises/04_masking/packed_causal_mask.cpp:21: Eigen checked: index >= 0 ...
///
/// naming the learner's line: the innermost stack frame in exercises/ or solutions/ (or tests/,
/// where qkv's own test of this handler lives), else the checking header's own location. Then
/// it aborts (SIGABRT). qkv-learn turns that line into "your code indexed out of range at ...".
///
/// Both checks end in a function that the C and C++ runtimes declare for exactly this use,
/// and this file defines them, so the executable's definition is the one that is called:
/// - Eigen's eigen_assert is the C assert() (Eigen/src/Core/util/Macros.h), which calls glibc's
///   __assert_fail(expression, file, line, function);
/// - libstdc++'s __glibcxx_assert calls std::__glibcxx_assert_fail(file, line, function,
///   condition) (bits/c++config.h, g++ 12 and later).
/// Defining them here rather than redefining eigen_assert as a macro keeps the precompiled
/// header and every translation unit in agreement without a forced include, and catches a
/// learner's own assert() too. The frame comes from libbacktrace (GCC's, which reads the
/// executable's DWARF line tables, inlined frames included): at -O2 Eigen's operator() is
/// inlined into the learner's function, so a plain backtrace() would miss the line.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#if QKV_HAVE_LIBBACKTRACE
// libbacktrace's interface, as GCC's backtrace.h declares it (stable since GCC 4.8). Declared
// here rather than included: the header sits in GCC's private include folder, which clang
// and clang-tidy do not search.
extern "C" {
struct backtrace_state;
using backtrace_error_callback = void (*)(void* data, const char* message, int errnum);
using backtrace_full_callback = int (*)(void* data, std::uintptr_t pc, const char* filename,
                                        int lineno, const char* function);
backtrace_state* backtrace_create_state(const char* filename, int threaded,
                                        backtrace_error_callback error_callback, void* data);
int backtrace_full(backtrace_state* state, int skip, backtrace_full_callback callback,
                   backtrace_error_callback error_callback, void* data);
}
#endif

namespace {

/// The repository root, with a trailing slash (set by cmake/QkvExerciseFlags.cmake).
constexpr const char* kSourceDir = QKV_SOURCE_DIR "/";

/// Where a learner's code lives, relative to the repository root.
constexpr const char* kLearnerDirs[] = {"exercises/", "solutions/", "tests/"};

bool starts_with(const char* text, const char* prefix) {
  return std::strncmp(text, prefix, std::strlen(prefix)) == 0;
}

/// `path` relative to the repository root, or nullptr when it lies outside it.
const char* repository_relative(const char* path) {
  if (path == nullptr) return nullptr;
  if (starts_with(path, kSourceDir)) return path + std::strlen(kSourceDir);
  // -fmacro-prefix-map already made __FILE__ relative; a relative path is the repository's.
  return path[0] == '/' ? nullptr : path;
}

bool is_learner_file(const char* relative) {
  if (relative == nullptr) return false;
  for (const char* dir : kLearnerDirs)
    if (starts_with(relative, dir)) return true;
  return false;
}

struct Location {
  std::string file;  // repository-relative
  int line = 0;
};

#if QKV_HAVE_LIBBACKTRACE
int on_frame(void* data, std::uintptr_t /*pc*/, const char* filename, int lineno,
             const char* /*function*/) {
  const char* relative = repository_relative(filename);
  if (!is_learner_file(relative)) return 0;  // keep walking outwards
  auto* found = static_cast<Location*>(data);
  found->file = relative;
  found->line = lineno;
  return 1;  // stop: this is the innermost learner frame
}

void on_error(void* /*data*/, const char* /*message*/, int /*errnum*/) {
  // No debug information or no frames: the caller falls back to the header's location.
}
#endif

/// The innermost frame in the learner's files, or an empty file name.
Location learner_frame() {
  Location found;
#if QKV_HAVE_LIBBACKTRACE
  // Single-threaded state: the tests are, and the process is about to abort anyway.
  backtrace_state* state = backtrace_create_state(nullptr, 0, on_error, nullptr);
  if (state != nullptr) backtrace_full(state, 1, on_frame, on_error, &found);
#endif
  return found;
}

[[noreturn]] void report_and_abort(const char* checker, const char* condition, const char* file,
                                   unsigned line) {
  static bool reporting = false;  // an assertion inside the report must not loop
  if (!reporting) {
    reporting = true;
    const Location learner = learner_frame();
    const char* header = repository_relative(file);
    if (!learner.file.empty()) {
      std::fprintf(stderr, "qkv-assert: %s:%d: %s checked: %s (in %s:%u)\n", learner.file.c_str(),
                   learner.line, checker, condition, header != nullptr ? header : file, line);
    } else {
      std::fprintf(stderr, "qkv-assert: %s:%u: %s checked: %s\n", header != nullptr ? header : file,
                   line, checker, condition);
    }
    std::fflush(stderr);
  }
  std::abort();
}

}  // namespace

// The names and signatures are the runtimes' own (glibc's <assert.h>, libstdc++'s
// <bits/c++config.h>, whose declarations also make them noreturn); the definitions replace
// theirs in an exercise test.
// NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp)
extern "C" void __assert_fail(const char* assertion, const char* file, unsigned int line,
                              const char* /*function*/) noexcept {
  // Eigen's checks are assert()s; its file names say which it was.
  const bool eigen = std::strstr(file, "/Eigen/") != nullptr;
  report_and_abort(eigen ? "Eigen" : "assert", assertion, file, line);
}

namespace std {
void __glibcxx_assert_fail(const char* file, int line, const char* /*function*/,
                           const char* condition) noexcept {
  report_and_abort("the standard library", condition, file, static_cast<unsigned>(line));
}
}  // namespace std
// NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp)
