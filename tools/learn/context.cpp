// The repository, the build and the exercises, found once for every command.

#include "context.hpp"

#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <system_error>

#include "learn.hpp"

namespace qkv::learn {

namespace fs = std::filesystem;

namespace {
volatile std::sig_atomic_t interrupt_flag = 0;
extern "C" void on_interrupt(int /*signal*/) { interrupt_flag = 1; }

bool same_folder(const fs::path& a, const fs::path& b) {
  std::error_code error;
  return fs::equivalent(a, b, error);
}

bool is_root(const fs::path& dir) {
  std::error_code error;
  return fs::is_regular_file(dir / "exercises" / "manifest", error) &&
         fs::is_regular_file(dir / "CMakeLists.txt", error);
}

fs::path executable_path() {
  std::error_code error;
  auto path = fs::read_symlink("/proc/self/exe", error);
  return error ? fs::path() : path;
}

/// The command that makes the build `ctx.build`, for "there is no build yet".
[[noreturn]] void no_build_yet(const Context& ctx, const char* missing) {
  std::error_code error;
  const bool default_build = fs::weakly_canonical(ctx.build, error) ==
                             fs::weakly_canonical(ctx.root / "build" / "dev", error);
  const std::string command = default_build ? "cmake --workflow --preset dev"
                                            : "cmake --preset dev -B " + ctx.display(ctx.build) +
                                                  " && cmake --build " + ctx.display(ctx.build);
  std::printf(
      "There is no build in %s yet (no %s). Build everything once (a few minutes), from "
      "%s:\n\n    %s\n\nthen run qkv-learn again.\n",
      ctx.display(ctx.build).c_str(), missing, ctx.root.string().c_str(), command.c_str());
  throw Exit{1};
}
}  // namespace

bool interrupted() { return interrupt_flag != 0; }

void install_interrupt_handler() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: poll() returns at once on Ctrl-C
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string format_seconds(double seconds) { return fmt::format("{:.1f} s", seconds); }

std::string wrap(const std::string& text, const std::string& indent) {
  std::string out;
  for (const auto& line : wrap_words(text, 92 - indent.size())) out += indent + line + "\n";
  return out;
}

std::string cache_value(const std::string& cache, const std::string& name) {
  for (const auto& line : split_lines(cache)) {
    if (line.rfind(name + ":", 0) != 0) continue;
    const auto equals = line.find('=');
    if (equals != std::string::npos) return line.substr(equals + 1);
  }
  return {};
}

std::string Context::display(const fs::path& path) const {
  const fs::path absolute = (path.is_absolute() ? path : root / path).lexically_normal();
  const fs::path relative = absolute.lexically_relative(cwd);
  if (!relative.empty() && *relative.begin() != "..") return relative.string();
  return absolute.string();
}

bool Context::own_file(const std::string& path) const {
  const fs::path absolute = (fs::path(path).is_absolute() ? fs::path(path) : root / path);
  const auto normal = absolute.lexically_normal();
  for (const char* area : {"exercises", "solutions"}) {
    const auto relative = normal.lexically_relative(root / area);
    if (!relative.empty() && *relative.begin() != "..") return true;
  }
  return false;
}

const Exercise& Context::find(const std::string& word) const {
  if (const auto index = resolve_exercise(exercises, word, root, cwd)) return exercises[*index];
  std::fflush(stdout);
  const auto close = similar_ids(exercises, word);
  if (!close.empty()) {
    std::string options;
    for (std::size_t i = 0; i < close.size() && i < 3; ++i)
      options += (i == 0                                            ? ""
                  : i + 1 == std::min<std::size_t>(close.size(), 3) ? " or "
                                                                    : ", ") +
                 close[i];
    std::fprintf(stderr, "qkv-learn: error: there is no exercise '%s'. Did you mean %s?\n",
                 word.c_str(), options.c_str());
  } else {
    std::string ids;
    for (const auto& e : exercises) ids += (ids.empty() ? "" : ", ") + e.id;
    std::fprintf(stderr, "qkv-learn: error: there is no exercise '%s'. The exercises are:\n%s",
                 word.c_str(), wrap(ids, "  ").c_str());
  }
  throw Exit{2};
}

std::size_t Context::index_of(const Exercise& e) const {
  for (std::size_t i = 0; i < exercises.size(); ++i)
    if (exercises[i].id == e.id) return i;
  return exercises.size();
}

fs::path find_root(const std::string& flag, const fs::path& cwd) {
  if (!flag.empty()) {
    auto root = fs::absolute(flag).lexically_normal();
    if (!fs::is_regular_file(root / "exercises" / "manifest")) {
      std::fprintf(stderr, "qkv-learn: error: --root %s: no exercises/manifest there\n",
                   flag.c_str());
      throw Exit{2};
    }
    return root;
  }
  for (auto dir = cwd; !dir.empty(); dir = dir.parent_path()) {
    if (is_root(dir)) return dir;
    if (dir == dir.parent_path()) break;
  }
#ifdef QKV_LEARN_SOURCE_DIR
  if (is_root(QKV_LEARN_SOURCE_DIR)) return fs::path(QKV_LEARN_SOURCE_DIR);
#endif
  std::fprintf(stderr,
               "qkv-learn: error: cannot find the qkv repository: run qkv-learn from inside it, "
               "or pass --root DIR\n");
  throw Exit{2};
}

fs::path find_build(const std::string& flag, const fs::path& root) {
  if (!flag.empty()) return fs::absolute(flag).lexically_normal();
  const auto exe = executable_path();
  if (!exe.empty()) {
    auto own = exe.parent_path().parent_path();
    const auto cache = read_file(own / "CMakeCache.txt");
    if (!cache.empty() && cache_value(cache, "QKV_EXERCISES_FROM") == "exercises" &&
        same_folder(cache_value(cache, "CMAKE_HOME_DIRECTORY"), root))
      return own;
  }
  return root / "build" / "dev";
}

void load_exercises(Context& ctx) {
  const auto json = ctx.build / "manifest.json";
  if (!fs::exists(json)) no_build_yet(ctx, "manifest.json");
  ctx.exercises = read_manifest_json(json);
  if (ctx.exercises.empty()) throw LearnError(json.string() + " lists no exercises");
}

void require_build(Context& ctx) {
  const auto cache_path = ctx.build / "CMakeCache.txt";
  if (!fs::exists(cache_path)) no_build_yet(ctx, "CMakeCache.txt");
  const auto cache = read_file(cache_path);
  if (const auto cmake = cache_value(cache, "CMAKE_COMMAND"); !cmake.empty()) ctx.cmake = cmake;
  ctx.generator = cache_value(cache, "CMAKE_GENERATOR");
  if (cache_value(cache, "QKV_EXERCISES_FROM") == "solutions")
    std::fprintf(stderr,
                 "note: %s builds the exercise tests from solutions/, not from your files in "
                 "exercises/ (use a dev build: --build build/dev)\n",
                 ctx.display(ctx.build).c_str());
  if (const auto home = cache_value(cache, "CMAKE_HOME_DIRECTORY");
      !home.empty() && !same_folder(home, ctx.root))
    std::fprintf(stderr, "note: %s is a build of %s, not of %s\n", ctx.display(ctx.build).c_str(),
                 home.c_str(), ctx.root.string().c_str());
}

}  // namespace qkv::learn
