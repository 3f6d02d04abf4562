// Checks qkv-learn: the text it reads (manifest.json, Catch2 reports, compiler output) on
// canned examples; and the whole loop (status, check, hint, reset, solution, watch) against
// tests/fixture, a three-exercise stand-in for the repository that the tests copy into the
// build folder and build there. Nothing here writes to the repository's exercises/.

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "learn.hpp"
#include "manifest.hpp"
#include "qkv/catch.hpp"
#include "qkv/subprocess.hpp"
#include "verdict.hpp"

namespace fs = std::filesystem;
using namespace qkv::learn;
using qkv::testing::contains;
using qkv::testing::contains_all;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

/// Runs of white space as one space: hints are wrapped when printed.
std::string squeeze(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  return out;
}

/// A running program: we write its stdin and read its stdout and stderr (together) as it
/// goes, so a test can wait for "Watching", then save a file, then wait for the verdict.
/// In a process group of its own (the time limit), so that a test's end also ends the builds
/// it started.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args,
                 const std::vector<std::pair<std::string, std::string>>& env = {})
      : child_(args, options(env)) {}

  void send(const std::string& text) { child_.send(text); }
  void close_input() { child_.close_input(); }
  void signal(int number) { child_.signal(number); }

  /// Reads until the output contains `text` (true), or the end of output or the time
  /// limit (false).
  bool wait_for(const std::string& text, double seconds) { return child_.wait_for(text, seconds); }

  /// Reads everything and waits for the exit: its exit code, or -1 if it had to be killed
  /// at the time limit.
  int finish(double seconds) {
    auto result = child_.finish(seconds);
    output_ = result.started ? std::move(result.out) : result.start_error + "\n";
    finished_ = true;
    if (!result.started) return 127;  // what a shell says for a program it cannot run
    if (result.timed_out) return -1;
    return result.signal != 0 ? 128 + result.signal : result.exit_code;
  }

  const std::string& output() const { return finished_ ? output_ : child_.out(); }

 private:
  static qkv::subprocess::Options options(
      const std::vector<std::pair<std::string, std::string>>& env) {
    qkv::subprocess::Options options;
    options.env = {"NO_COLOR=1"};
    for (const auto& [name, value] : env) options.env.push_back(name + "=" + value);
    options.capture = qkv::subprocess::Capture::merged;
    options.timeout_seconds = 3600;
    return options;
  }

  qkv::subprocess::Child child_;
  std::string output_;  ///< all of it, once finished
  bool finished_ = false;
};

struct Result {
  int code;
  std::string out;
};

Result run(const std::vector<std::string>& args, const std::string& input = "",
           double seconds = 300) {
  Child child(args);
  if (!input.empty()) child.send(input);
  const int code = child.finish(seconds);
  return {code, child.output()};
}

Result learn(std::vector<std::string> args, const std::string& input = "") {
  args.insert(args.begin(), QKV_LEARN_EXE);
  auto result = run(args, input);
  UNSCOPED_INFO("qkv-learn output:\n" << result.out);
  return result;
}

bool have_git() {
  static const bool available = run({"git", "--version"}).code == 0;
  return available;
}

Result git(const fs::path& dir, std::vector<std::string> args) {
  std::vector<std::string> full{"git",
                                "-C",
                                dir.string(),
                                "-c",
                                "user.name=qkv tests",
                                "-c",
                                "user.email=qkv@example.invalid",
                                "-c",
                                "commit.gpgsign=false"};
  full.insert(full.end(), args.begin(), args.end());
  return run(full);
}

/// Every file under `dir` (except .git and build/), with its contents.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    const auto name = it->path().filename();
    if (it->is_directory() && (name == ".git" || name == "build")) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) files[fs::relative(it->path(), dir).string()] = slurp(it->path());
  }
  return files;
}

/// Makes `dst` a copy of `src`: files that differ are rewritten (others keep their time
/// stamps, so the fixture's build stays up to date), files that src lacks are removed.
void mirror(const fs::path& src, const fs::path& dst) {
  const auto want = snapshot(src);
  for (const auto& [name, text] : want)
    if (!fs::exists(dst / name) || slurp(dst / name) != text) write_file(dst / name, text);
  if (!fs::exists(dst)) return;
  for (const auto& [name, text] : snapshot(dst))
    if (!want.count(name)) fs::remove(dst / name);
}

/// The stand-in repository, as fresh as a new clone: its stubs untouched and committed in
/// its own git history, configured in <fixture>/build/dev (built by qkv-learn itself).
struct Fixture {
  fs::path root;
  fs::path build;
  fs::path file(const std::string& name) const { return root / "exercises" / name; }
  fs::path solution(const std::string& name) const { return root / "solutions" / name; }
  /// Copies the reference solution over the learner's file `name`, as a learner who has
  /// solved it would leave it.
  void solve(const std::string& name) const {
    fs::copy_file(solution(name), file(name), fs::copy_options::overwrite_existing);
  }
  /// `qkv-learn check [id]` on this tree.
  Result check(const std::string& id = "") const {
    if (id.empty()) return learn({"--root", root.string(), "check"});
    return learn({"--root", root.string(), "check", id});
  }
  /// `qkv-learn status` on this tree.
  Result status() const { return learn({"--root", root.string(), "status"}); }
};

Fixture fresh_fixture() {
  Fixture f{QKV_LEARN_FIXTURE, fs::path(QKV_LEARN_FIXTURE) / "build" / "dev"};
  mirror(QKV_LEARN_FIXTURE_SOURCE, f.root);
  if (have_git()) {
    if (!fs::exists(f.root / ".git")) REQUIRE(git(f.root, {"init", "-q"}).code == 0);
    if (!git(f.root, {"status", "--porcelain"}).out.empty()) {
      REQUIRE(git(f.root, {"add", "-A"}).code == 0);
      REQUIRE(git(f.root, {"commit", "-q", "-m", "the fixture's stubs"}).code == 0);
    }
  }
  if (!fs::exists(f.build / "CMakeCache.txt") || !fs::exists(f.build / "manifest.json")) {
    const auto configure =
        run({QKV_CMAKE_COMMAND, "-S", f.root.string(), "-B", f.build.string(), "-G",
             QKV_CMAKE_GENERATOR, "-DCMAKE_MAKE_PROGRAM=" + std::string(QKV_CMAKE_MAKE_PROGRAM),
             "-DCMAKE_CXX_COMPILER=" + std::string(QKV_CXX_COMPILER),
             "-DCatch2_DIR=" + std::string(QKV_CATCH2_DIR),
             "-DQKV_TESTING_INCLUDE=" + std::string(QKV_TESTING_INCLUDE)});
    INFO(configure.out);
    REQUIRE(configure.code == 0);
  }
  return f;
}

/// A copy of the fixture's sources, in a fresh temporary folder: without a build, or with
/// only the fixture's build/dev/manifest.json (enough for the commands that build nothing).
fs::path bare_copy(const std::string& name, bool with_manifest = false) {
  const auto dir = fs::path(QKV_LEARN_FIXTURE).parent_path() / name;
  fs::remove_all(dir);
  mirror(QKV_LEARN_FIXTURE_SOURCE, dir);
  if (with_manifest) {
    const auto json = fresh_fixture().build / "manifest.json";
    write_file(dir / "build" / "dev" / "manifest.json", slurp(json));
  }
  return dir;
}

/// The fixture's exercises, as qkv-learn reads them.
const std::vector<Exercise>& fixture_exercises() {
  static const auto exercises = read_manifest_json(fresh_fixture().build / "manifest.json");
  return exercises;
}

std::string as_is(const std::string& path) { return path; }

/// A path as qkv-learn shows it: relative to the current folder when inside it.
std::string shown(const fs::path& path) {
  const auto relative = path.lexically_normal().lexically_relative(fs::current_path());
  return !relative.empty() && *relative.begin() != ".." ? relative.string() : path.string();
}

}  // namespace

// ---------------------------------------------------------------------------------------
// The manifest

#ifdef QKV_MANIFEST_JSON
TEST_CASE("the build's manifest.json lists exercises whose files exist", "[learn]") {
  const auto exercises = read_manifest_json(QKV_MANIFEST_JSON);
  REQUIRE(!exercises.empty());
  const fs::path root = QKV_SOURCE_DIR;
  for (const auto& e : exercises) {
    INFO(e.id);
    CHECK(fs::exists(root / e.file));
    CHECK(fs::exists(root / e.test));
    CHECK(fs::exists(root / e.solution));
    CHECK(e.hints.size() >= 2);
  }
}
#endif

TEST_CASE("read_manifest_json reads contract A's fields and names what is wrong", "[learn]") {
  const auto dir = fs::path(QKV_LEARN_FIXTURE).parent_path() / "manifests";
  const std::string entry =
      R"({"id": "a", "chapter": "01_x", "title": "Title one", "file": "exercises/01_x/a.cpp",
          "header": null, "test": "exercises/01_x/test_a.cpp", "solution": "solutions/01_x/a.cpp",
          "tag": "a", "target": "exercise_a", "executable": "exercises/exercise_a",
          "hints": ["the idea", "the code | with a bar"]})";
  write_file(dir / "good.json", R"({"exercises": [)" + entry + "]}");
  const auto exercises = read_manifest_json(dir / "good.json");
  REQUIRE(exercises.size() == 1);
  CHECK(exercises[0].id == "a");
  CHECK(exercises[0].chapter == "01_x");
  CHECK(exercises[0].title == "Title one");
  CHECK(exercises[0].file == "exercises/01_x/a.cpp");
  CHECK(exercises[0].header.empty());
  CHECK(exercises[0].executable == "exercises/exercise_a");
  CHECK(exercises[0].hints == std::vector<std::string>{"the idea", "the code | with a bar"});

  write_file(dir / "twice.json", R"({"exercises": [)" + entry + "," + entry + "]}");
  CHECK_THROWS_WITH(read_manifest_json(dir / "twice.json"), contains("the id appears twice"));
  auto one_hint = entry;
  one_hint.replace(one_hint.find(", \"the code"), std::string(", \"the code | with a bar\"").size(),
                   "");
  write_file(dir / "one_hint.json", R"({"exercises": [)" + one_hint + "]}");
  CHECK_THROWS_WITH(read_manifest_json(dir / "one_hint.json"), contains("at least 2 levels"));
  auto no_title = entry;
  no_title.replace(no_title.find("\"title\""), 7, "\"titel\"");
  write_file(dir / "no_title.json", R"({"exercises": [)" + no_title + "]}");
  CHECK_THROWS_WITH(read_manifest_json(dir / "no_title.json"),
                    contains("exercise 1 (a): no \"title\""));
  write_file(dir / "broken.json", R"({"exercises": [)");
  CHECK_THROWS_WITH(read_manifest_json(dir / "broken.json"), contains("is not valid JSON"));
  CHECK_THROWS_AS(read_manifest_json(dir / "missing.json"), LearnError);
}

TEST_CASE("a mistyped id finds the close ones, and a path finds its exercise", "[learn]") {
  CHECK(edit_distance("top_k", "top_k") == 0);
  CHECK(edit_distance("topk", "top_k") == 1);
  CHECK(edit_distance("top_kk", "top_k") == 1);
  CHECK(edit_distance("tpo_k", "top_k") == 2);
  CHECK(edit_distance("", "abc") == 3);
  const auto& exercises = fixture_exercises();
  CHECK(similar_ids(exercises, "topp_two") == std::vector<std::string>{"top_two"});
  CHECK(similar_ids(exercises, "add_onw") == std::vector<std::string>{"add_one"});
  CHECK(similar_ids(exercises, "softmax").empty());
  const fs::path root = QKV_LEARN_FIXTURE;
  const auto find = [&](const std::string& word, const fs::path& cwd) {
    const auto index = resolve_exercise(exercises, word, root, cwd);
    return index ? exercises[*index].id : std::string("(none)");
  };
  CHECK(find("top_two", root) == "top_two");
  CHECK(find("exercises/01_first/top_two.cpp", root) == "top_two");
  CHECK(find("./exercises/01_first/../01_first/top_two.hpp", root) == "top_two");
  CHECK(find("test_top_two.cpp", root / "exercises" / "01_first") == "top_two");
  CHECK(find((root / "exercises/02_second/safe_ratio.cpp").string(), "/") == "safe_ratio");
  CHECK(find("safe_ratio.cpp", root) == "safe_ratio");
  CHECK(find("exercises/01_first/nothing.cpp", root) == "(none)");
  CHECK(find("top", root) == "(none)");
}

TEST_CASE("progress says both facts in the same words", "[learn]") {
  std::vector<Verdict> verdicts(5);
  for (const int i : {0, 1, 3}) verdicts[static_cast<std::size_t>(i)].outcome = Outcome::passed;
  CHECK(progress_summary(verdicts) == "the first 2 in order pass; 3 of 5 done");
  verdicts[0].outcome = Outcome::failed;
  CHECK(progress_summary(verdicts) == "the first 0 in order pass; 2 of 5 done");
}

// ---------------------------------------------------------------------------------------
// Catch2's XML report

namespace {
// As Catch2 v2.13 writes it (trimmed): a stub, then a wrong answer.
const char* const kStubReport = R"(<?xml version="1.0" encoding="UTF-8"?>
<Catch name="exercise_top_k" filters="[top_k]">
  <Group name="exercise_top_k">
    <TestCase name="top_k picks the highest scores, highest first" tags="[top_k]" filename="exercises/01_dot_product_relevance/test_top_k.cpp" line="14">
      <Expression success="false" type="CHECK" filename="exercises/01_dot_product_relevance/test_top_k.cpp" line="15">
        <Original>
          qkv::exercises::top_k(vector_of({0, 1, 3, 4, 2}), 2) == std::vector&lt;Index>{3, 2}
        </Original>
        <Expanded>
          qkv::exercises::top_k(vector_of({0, 1, 3, 4, 2}), 2) == std::vector&lt;Index>{3, 2}
        </Expanded>
        <Exception filename="exercises/01_dot_product_relevance/test_top_k.cpp" line="15">
          not done yet: edit
  exercises/01_dot_product_relevance/top_k.cpp
  (read its TODO, then replace the QKV_NOT_DONE() line)
        </Exception>
      </Expression>
      <OverallResult success="false"/>
    </TestCase>
    <OverallResults successes="0" failures="70" expectedFailures="0"/>
    <OverallResultsCases successes="0" failures="4" expectedFailures="0"/>
  </Group>
  <OverallResults successes="0" failures="70" expectedFailures="0"/>
  <OverallResultsCases successes="0" failures="4" expectedFailures="0"/>
</Catch>
)";

// As Catch2 v3 writes it: another root element, no Group, sections, an INFO message.
const char* const kWrongReport = R"(<?xml version="1.0" encoding="UTF-8"?>
<Catch2TestRun name="exercise_top_k" rng-seed="1" catch2-version="3.4.0" filters="&quot;[top_k]&quot;">
  <TestCase name="top_k works" tags="[top_k]" filename="exercises/01_x/test_top_k.cpp" line="10">
    <OverallResult success="true" skips="0"/>
  </TestCase>
  <TestCase name="top_k breaks ties by the lower index" tags="[top_k]" filename="exercises/01_x/test_top_k.cpp" line="21">
    <Section name="with ties" filename="exercises/01_x/test_top_k.cpp" line="22">
      <Info>
        trial := 3
      </Info>
      <Expression success="false" type="CHECK" filename="exercises/01_x/test_top_k.cpp" line="23">
        <Original>
          qkv::exercises::top_k(vector_of({1, 3, 3, -2, 3}), 2) == std::vector&lt;Index>{1, 2}
        </Original>
        <Expanded>
          { 2, 1 } == { 1, 2 }
        </Expanded>
      </Expression>
      <OverallResults successes="0" failures="1" expectedFailures="0" skips="0"/>
    </Section>
    <Expression success="false" type="CHECK" filename="exercises/01_x/test_top_k.cpp" line="30">
      <Original>
        a == b
      </Original>
      <Expanded>
        1 == 2
      </Expanded>
    </Expression>
    <OverallResult success="false" skips="0"/>
  </TestCase>
  <OverallResults successes="5" failures="2" expectedFailures="0" skips="0"/>
  <OverallResultsCases successes="1" failures="1" expectedFailures="0" skips="0"/>
</Catch2TestRun>
)";

Failure check_failure(std::string macro, std::string original, std::string expanded) {
  Failure f;
  f.test_case = "t";
  f.file = "exercises/x/test_x.cpp";
  f.line = 7;
  f.macro = std::move(macro);
  f.original = std::move(original);
  f.expanded = std::move(expanded);
  return f;
}

// A report's counts on one line, so that a failed check shows them all.
std::string counts(const TestReport& r) {
  return "parsed " + std::to_string(static_cast<int>(r.parsed)) + ", cases " +
         std::to_string(r.cases) + " (" + std::to_string(r.cases_failed) + " failed), " +
         std::to_string(r.checks_failed) + " checks failed";
}

std::string described(const Failure& f) {
  std::string text;
  for (const auto& line : describe_failure(f, as_is)) text += line + "\n";
  return text;
}
}  // namespace

TEST_CASE("read_catch_xml finds a stub's 'not done yet'", "[learn]") {
  const auto report = read_catch_xml(kStubReport);
  CHECK(counts(report) == "parsed 1, cases 1 (1 failed), 70 checks failed");
  REQUIRE(report.first_failure);
  const auto& f = *report.first_failure;
  CHECK(is_not_done(f));
  CHECK(f.test_case == "top_k picks the highest scores, highest first");
  CHECK(f.file == "exercises/01_dot_product_relevance/test_top_k.cpp");
  CHECK(f.line == 15);
  CHECK(f.macro == "CHECK");
  CHECK(f.original ==
        "qkv::exercises::top_k(vector_of({0, 1, 3, 4, 2}), 2) == std::vector<Index>{3, 2}");
  CHECK_THAT(*f.exception, contains("exercises/01_dot_product_relevance/top_k.cpp"));
}

TEST_CASE("read_catch_xml reads a v3 report: the first failure, its section and message",
          "[learn]") {
  const auto report = read_catch_xml(kWrongReport);
  CHECK(counts(report) == "parsed 1, cases 2 (1 failed), 2 checks failed");
  REQUIRE(report.first_failure);
  const auto& f = *report.first_failure;
  CHECK(!is_not_done(f));
  CHECK(f.test_case == "top_k breaks ties by the lower index");
  CHECK(f.sections == std::vector<std::string>{"with ties"});
  CHECK(f.messages == std::vector<std::string>{"trial := 3"});
  CHECK(f.line == 23);
  CHECK(f.expanded == "{ 2, 1 } == { 1, 2 }");
  const auto text = described(f);
  CHECK_THAT(text,
             contains("in test case \"top_k breaks ties by the lower index\" / \"with ties\""));
  CHECK_THAT(text, contains_all({"at exercises/01_x/test_top_k.cpp:23", "expected: { 1, 2 }\n",
                                 "got:      { 2, 1 }\n", "with: trial := 3"}));
}

TEST_CASE("read_catch_xml finds the test case a crash happened in, after a failed one", "[learn]") {
  // As Catch2 v2.13 writes it when the second of four test cases aborts.
  const auto report = read_catch_xml(R"(<?xml version="1.0" encoding="UTF-8"?>
<Catch name="t" filters="[x]">
  <Group name="t">
    <TestCase name="one" tags="[x]" filename="t.cpp" line="5">
      <Expression success="false" type="CHECK" filename="t.cpp" line="5">
        <Original>1 == 2</Original><Expanded>1 == 2</Expanded>
      </Expression>
      <OverallResult success="false"/>
    </TestCase>
    <TestCase name="two" tags="[x]" filename="t.cpp" line="6">
      <FatalErrorCondition filename="t.cpp" line="6">
        SIGABRT - Abort (abnormal termination) signal
      </FatalErrorCondition>
      <OverallResult success="false"/>
    </TestCase>
    <OverallResults successes="0" failures="2" expectedFailures="0"/>
  </Group>
  <OverallResults successes="0" failures="2" expectedFailures="0"/>
</Catch>)");
  CHECK(report.parsed);
  CHECK(report.cases_run == std::vector<std::string>{"one", "two"});
  REQUIRE(report.crashed_in);
  CHECK(*report.crashed_in == "two");
  CHECK(report.crash.value_or("") == "SIGABRT - Abort (abnormal termination) signal");
  REQUIRE(report.first_failure);
  CHECK(report.first_failure->test_case == "one");
  CHECK(read_test_list("one\ntwo\n\nthree\n") == std::vector<std::string>{"one", "two", "three"});
}

TEST_CASE("find_assertion reads contract D's line among other output", "[learn]") {
  const auto found = find_assertion(
      "some output\nqkv-assert: exercises/04_masking/packed_causal_mask.cpp:17: "
      "index >= 0 && index < size()\nAborted\n");
  REQUIRE(found);
  CHECK(found->file == "exercises/04_masking/packed_causal_mask.cpp");
  CHECK(found->line == 17);
  CHECK(found->what == "index >= 0 && index < size()");
  CHECK(!find_assertion("Aborted (core dumped)\n"));
}

TEST_CASE("read_catch_xml reports a run cut short as not parsed, with what it read", "[learn]") {
  const std::string full = kWrongReport;
  const auto report = read_catch_xml(
      full.substr(0, full.find("<Expression success=\"false\" type=\"CHECK\" "
                               "filename=\"exercises/01_x/test_top_k.cpp\" line=\"30\">")));
  CHECK(!report.parsed);
  CHECK(report.first_failure);
  CHECK(!read_catch_xml("Segmentation fault").parsed);
  CHECK(!read_catch_xml("").parsed);
}

TEST_CASE("describe_failure says expected and got, whichever side the code is on", "[learn]") {
  // The code under test on the right, a plain value on the left.
  CHECK_THAT(described(check_failure("CHECK", "3.0f == scores(0, 0)", "3.0f == 2.0f")),
             contains("expected: 3.0f\n    got:      2.0f"));
  CHECK_THAT(described(check_failure("REQUIRE", "scores.rows() == 2", "3 == 2")),
             contains("expected: 2\n    got:      3"));
  CHECK_THAT(described(check_failure("CHECK", "std::vector<int>{1, 2} == qkv::exercises::f(x)",
                                     "{ 1, 2 } == { 2, 1 }")),
             contains("expected: { 1, 2 }\n    got:      { 2, 1 }"));
  // Eigen matrices print over several lines; Catch then puts == on a line of its own.
  CHECK_THAT(described(check_failure("CHECK", "m == expected", "1 2\n3 4\n==\n1 2\n3 5")),
             contains("expected:\n        1 2\n        3 5\n    got:\n        1 2\n        3 4"));
  CHECK_THAT(described(check_failure("CHECK", "v.empty()", "false")), contains("which is: false"));
  CHECK_THAT(described(check_failure("CHECK", "a < b", "3 < 2")), contains("which is: 3 < 2"));
}

TEST_CASE("describe_failure explains exceptions, matchers and crashes", "[learn]") {
  auto no_throw =
      check_failure("CHECK_THROWS_AS", "f(1), qkv::ShapeError", "f(1), qkv::ShapeError");
  CHECK_THAT(described(no_throw),
             contains("expected: it throws qkv::ShapeError\n    got:      nothing was thrown"));
  auto wrong_type = no_throw;
  wrong_type.exception = "f: bad value";
  CHECK_THAT(described(wrong_type), contains("got:      a different exception: f: bad value"));
  auto threw = check_failure("CHECK", "f(1) == 2", "f(1) == 2");
  threw.exception = "f: shapes (Q is 2x3, K is 4x5)";
  CHECK_THAT(described(threw), contains("got:      an exception: f: shapes (Q is 2x3, K is 4x5)"));
  CHECK_THAT(described(check_failure("CHECK_THAT", "s(0, 1), WithinAbs(0.5, 1e-5)",
                                     "0.25f is within 0.00001 of 0.5")),
             contains("expected: 0.5 (give or take 0.00001)\n    got:      0.25f"));
  CHECK_THAT(described(check_failure("CHECK_THAT", "x, WithinRel(2.0, 0.01)",
                                     "1.5 and 2.0 are within 1% of each other")),
             contains("expected: 2.0 (1% of each other)\n    got:      1.5"));
  Failure crash;
  crash.test_case = "t";
  crash.fatal = "SIGSEGV - Segmentation violation signal";
  CHECK_THAT(described(crash), contains("the test crashed: SIGSEGV"));
  Failure outside;
  outside.test_case = "t";
  outside.exception = "vector::_M_range_check";
  CHECK_THAT(described(outside), contains("your code threw: vector::_M_range_check"));
}

// ---------------------------------------------------------------------------------------
// Compiler output

namespace {
// g++ 12, with paths shortened: an error in the learner's file...
const char* const kPlainError =
    R"([1/2] Building CXX object exercises/CMakeFiles/exercise_top_k.dir/01_x/top_k.cpp.o
FAILED: exercises/CMakeFiles/exercise_top_k.dir/01_x/top_k.cpp.o
/usr/bin/c++ -I/repo/exercises/01_x -O2 -g -c /repo/exercises/01_x/top_k.cpp
/repo/exercises/01_x/top_k.cpp: In function 'std::vector<long int> qkv::exercises::top_k(const Vector&, Index)':
/repo/exercises/01_x/top_k.cpp:22:10: error: 'idx' was not declared in this scope; did you mean 'index'?
   22 |   return idx;
      |          ^~~
      |          index
/repo/exercises/01_x/top_k.cpp:23:1: error: expected ';' before '}' token
ninja: build stopped: subcommand failed.
)";

// ...and one inside Eigen, reached from the learner's line 9 through templates.
const char* const kTemplateError = R"(FAILED: exercises/CMakeFiles/exercise_r.dir/01_x/r.cpp.o
In file included from /usr/include/eigen3/Eigen/Core:164,
                 from /repo/common/include/qkv/types.hpp:6,
                 from /repo/exercises/01_x/r.hpp:4,
                 from /repo/exercises/01_x/r.cpp:3:
/usr/include/eigen3/Eigen/src/Core/PlainObjectBase.h: In instantiation of 'Derived& Eigen::PlainObjectBase<Derived>::_set_noalias(const Eigen::DenseBase<OtherDerived>&) [with OtherDerived = Eigen::Matrix<float, -1, -1>; Derived = Eigen::Matrix<double, -1, -1>]':
/usr/include/eigen3/Eigen/src/Core/Matrix.h:422:16:   required from 'Eigen::Matrix<_Scalar, _Rows, _Cols, _Options, _MaxRows, _MaxCols>::Matrix(const Eigen::EigenBase<OtherDerived>&) [with OtherDerived = Eigen::Matrix<float, -1, -1>]'
/repo/exercises/01_x/r.cpp:9:25:   required from here
/usr/include/eigen3/Eigen/src/Core/PlainObjectBase.h:897:7: error: static assertion failed: YOU_MIXED_DIFFERENT_NUMERIC_TYPES__YOU_NEED_TO_USE_THE_CAST_METHOD_OF_MATRIXBASE_TO_CAST_NUMERIC_TYPES_EXPLICITLY
  897 |       EIGEN_STATIC_ASSERT((internal::is_same<Scalar, typename OtherDerived::Scalar>::value),
      |       ^~~~~~~~~~~~~~~~~~~
)";

const char* const kLinkError = R"(FAILED: exercises/exercise_top_k
: && /usr/bin/c++ -O2 -g exercises/CMakeFiles/exercise_top_k.dir/01_x/test_top_k.cpp.o -o exercises/exercise_top_k && :
/usr/bin/ld: exercises/CMakeFiles/exercise_top_k.dir/01_x/test_top_k.cpp.o: in function `____C_A_T_C_H____T_E_S_T____0()':
/repo/exercises/01_x/test_top_k.cpp:15: undefined reference to `qkv::exercises::top_k(Eigen::Matrix<float, -1, 1, 0, -1, 1> const&, long)'
collect2: error: ld returned 1 exit status
)";

std::string relative_to_repo(const std::string& path) {
  return path.rfind("/repo/", 0) == 0 ? path.substr(6) : path;
}
bool in_exercises(const std::string& path) { return path.rfind("/repo/exercises/", 0) == 0; }

std::string joined(const CompileError& error) {
  std::string text;
  for (const auto& line : error.lines) text += line + "\n";
  return text;
}
}  // namespace

TEST_CASE("first_compile_error keeps the first error and its source line", "[learn]") {
  const auto error = first_compile_error(kPlainError, relative_to_repo, in_exercises);
  CHECK(error.errors == 2);
  CHECK(joined(error) ==
        "exercises/01_x/top_k.cpp: In function 'std::vector<long int> "
        "qkv::exercises::top_k(const Vector&, Index)':\n"
        "exercises/01_x/top_k.cpp:22:10: error: 'idx' was not declared in this scope; did you "
        "mean 'index'?\n"
        "   22 |   return idx;\n"
        "      |          ^~~\n"
        "      |          index\n");
}

TEST_CASE("first_compile_error points from a header's error to the learner's line", "[learn]") {
  const auto error = first_compile_error(kTemplateError, relative_to_repo, in_exercises);
  CHECK(error.errors == 1);
  const auto text = joined(error);
  CHECK_THAT(text, contains("/usr/include/eigen3/Eigen/src/Core/PlainObjectBase.h:897:7: error: "
                            "static assertion failed: YOU_MIXED_DIFFERENT_NUMERIC_TYPES"));
  CHECK_THAT(text, contains("which comes from your code at exercises/01_x/r.cpp:9:25:"));
  CHECK(error.lines.size() <= 8);  // not a wall of template noise
}

TEST_CASE("first_compile_error explains an undefined reference", "[learn]") {
  const auto error = first_compile_error(kLinkError, relative_to_repo, in_exercises);
  CHECK_THAT(
      joined(error),
      contains("link error: undefined reference to `qkv::exercises::top_k(Eigen::Matrix<float, "
               "-1, 1, 0, -1, 1> const&, long)'"));
}

TEST_CASE("shorten_templates cuts nested template arguments only", "[learn]") {
  CHECK(shorten_templates("Eigen::Product<Eigen::Matrix<float, -1, -1>, "
                          "Eigen::Transpose<const Eigen::Matrix<float, -1, -1>>, 0>") ==
        "Eigen::Product<Eigen::Matrix<...>, Eigen::Transpose<...>, 0>");
  CHECK(shorten_templates("std::vector<long int>") == "std::vector<long int>");
  CHECK(shorten_templates("no match for 'operator<<' (a < b) -> c") ==
        "no match for 'operator<<' (a < b) -> c");
  CHECK(shorten_templates("unbalanced A<B<C>") == "unbalanced A<B<C>");
}

TEST_CASE("failed build steps are told apart by exercise", "[learn]") {
  const std::string output = std::string(kPlainError) +
                             "FAILED: exercises/CMakeFiles/exercise_top_k_masked.dir/x.cpp.o\n"
                             "error text\n[3/4] Linking\n" +
                             kLinkError;
  const auto steps = failed_build_steps(output);
  REQUIRE(steps.size() == 3);
  CHECK(step_belongs_to(steps[0], "top_k"));
  CHECK(!step_belongs_to(steps[0], "top_k_masked"));
  CHECK(step_belongs_to(steps[1], "top_k_masked"));
  CHECK(!step_belongs_to(steps[1], "top_k"));
  CHECK(step_belongs_to(steps[2], "top_k"));
  CHECK(!step_belongs_to(steps[2], "top"));
  CHECK_THAT(steps[1], contains("error text"));
  CHECK_THAT(steps[1], !contains("Linking"));
}

// ---------------------------------------------------------------------------------------
// The commands that need no test run, against the fixture's manifest.json

TEST_CASE("hint gives one level at a time, the code-level one last", "[learn]") {
  const auto f = fresh_fixture();
  for (const auto& e : fixture_exercises()) {
    INFO(e.id);
    const auto first = learn({"--root", f.root.string(), "hint", e.id});
    CHECK(first.code == 0);
    CHECK_THAT(squeeze(first.out), contains("hint 1 of " + std::to_string(e.hints.size()) + ": " +
                                            squeeze(e.hints[0])));
    CHECK_THAT(squeeze(first.out), !contains(squeeze(e.hints[1])));
    CHECK_THAT(first.out, contains(e.file));
    CHECK_THAT(first.out, contains("hint " + e.id + " --level 2"));
    const auto more = learn({"--root", f.root.string(), "hint", e.id, "--more"});
    CHECK_THAT(squeeze(more.out), contains("hint 2 of " + std::to_string(e.hints.size()) + ": " +
                                           squeeze(e.hints[1])));
    CHECK_THAT(squeeze(more.out), contains(squeeze(e.hints[0])));
  }
  const auto twice = learn({"--root", f.root.string(), "hint", "top_two", "--more", "--more"});
  CHECK_THAT(squeeze(twice.out), contains("hint 3 of 3: std::sort(values.begin()"));
  CHECK_THAT(twice.out, contains("that was the last hint"));
  const auto level = learn({"--root", f.root.string(), "hint", "top_two", "--level", "2"});
  CHECK_THAT(squeeze(level.out), contains("hint 2 of 3"));
  CHECK_THAT(squeeze(level.out), !contains("hint 3 of 3"));
  const auto past = learn({"--root", f.root.string(), "hint", "add_one", "--level", "9"});
  CHECK(past.code == 0);
  CHECK_THAT(squeeze(past.out), contains("hint 2 of 2"));
}

TEST_CASE("an unknown exercise id says which ones are close, or lists them all", "[learn]") {
  const auto f = fresh_fixture();
  for (const std::string command : {"hint", "check", "reset", "solution", "watch"}) {
    INFO(command);
    const auto typo = learn({"--root", f.root.string(), command, "top_tow"});
    CHECK(typo.code == 2);
    CHECK_THAT(typo.out, contains("there is no exercise 'top_tow'. Did you mean top_two?"));
    const auto far = learn({"--root", f.root.string(), command, "no_such_exercise"});
    CHECK(far.code == 2);
    CHECK_THAT(far.out, contains("there is no exercise 'no_such_exercise'. The exercises are:"));
    for (const auto& e : fixture_exercises()) CHECK_THAT(squeeze(far.out), contains(e.id));
  }
}

TEST_CASE("a path to an exercise's file works as its id", "[learn]") {
  const auto f = fresh_fixture();
  const auto result =
      learn({"--root", f.root.string(), "hint", f.file("01_first/top_two.cpp").string()});
  CHECK(result.code == 0);
  CHECK_THAT(result.out, contains("Hints for top_two"));
  // Relative to the current folder, as a shell's completion writes it.
  const auto relative = fs::relative(f.root, fs::current_path()) / "exercises/01_first/../01_first";
  const auto check =
      learn({"--root", f.root.string(), "check", (relative / "add_one.cpp").string()});
  CHECK_THAT(check.out, contains("add_one is not done yet"));
}

TEST_CASE("a missing manifest.json names the one command to run", "[learn]") {
  const auto result = learn({"--root", QKV_SOURCE_DIR, "--build", "/nonexistent", "list"});
  CHECK(result.code == 1);
  CHECK_THAT(result.out, contains("There is no build in /nonexistent yet (no manifest.json)"));
  CHECK_THAT(result.out, contains("cmake --preset dev -B /nonexistent"));
}

TEST_CASE("reset's backups are ignored by git", "[learn]") {
  if (!have_git()) return;
  // A .bak as reset names it, and the temporary file it writes before the rename.
  for (const std::string path : {"exercises/01_dot_product_relevance/top_k.cpp.20261201-101010.bak",
                                 "exercises/01_dot_product_relevance/top_k.cpp.qkv-learn-new"}) {
    INFO(path);
    CHECK(git(QKV_SOURCE_DIR, {"check-ignore", "-q", "--no-index", path}).code == 0);
  }
  CHECK(git(QKV_SOURCE_DIR,
            {"check-ignore", "-q", "--no-index", "exercises/01_dot_product_relevance/top_k.cpp"})
            .code == 1);
}

TEST_CASE("bad flags print one error line and the usage, and exit 2", "[learn]") {
  const std::vector<std::vector<std::string>> cases{{"--bogus"},
                                                    {"status", "extra"},
                                                    {"watch", "--interval", "0"},
                                                    {"reset"},
                                                    {"check", "--max-checks", "2"},
                                                    {"frobnicate"}};
  for (const auto& args : cases) {
    auto full = args;
    full.insert(full.begin(), {"--root", QKV_SOURCE_DIR});
    const auto result = learn(full);
    CHECK(result.code == 2);
    CHECK(result.out.rfind("qkv-learn: error: ", 0) == 0);
    CHECK_THAT(result.out, contains("Usage:"));
  }
}

TEST_CASE("every subcommand has --help", "[learn]") {
  for (const std::string command :
       {"", "status", "check", "hint", "watch", "reset", "solution", "list", "quiz"}) {
    std::vector<std::string> args{"--root", QKV_SOURCE_DIR};
    if (!command.empty()) args.push_back(command);
    args.push_back("--help");
    const auto result = learn(args);
    INFO(command);
    CHECK(result.code == 0);
    CHECK_THAT(result.out, contains("Usage:"));
    CHECK_THAT(result.out, contains(command));
  }
}

TEST_CASE("list shows every exercise in manifest order", "[learn]") {
  const auto f = fresh_fixture();
  const auto result = learn({"--root", f.root.string(), "list"});
  CHECK(result.code == 0);
  std::size_t at = 0;
  for (const auto& e : fixture_exercises()) {
    const auto found = result.out.find(" " + e.id + " ", at);
    INFO(e.id);
    CHECK(found != std::string::npos);
    if (found != std::string::npos) at = found;
  }
}

// ---------------------------------------------------------------------------------------
// The loop, against the fixture

TEST_CASE("status on a fresh tree: 0 of N done, and the first exercise is next", "[learn]") {
  const auto f = fresh_fixture();
  const auto result = f.status();
  CHECK(result.code == 0);
  CHECK_THAT(result.out,
             contains_all({"the first 0 in order pass; 0 of 3 done", "[next] add_one",
                           "[todo] top_two", "[todo] safe_ratio", "Next: add_one (Add one)",
                           "open   " + shown(f.file("01_first/add_one.cpp"))}));
  // In manifest order, under their chapters.
  CHECK(result.out.find("01_first") < result.out.find("add_one"));
  CHECK(result.out.find("top_two") < result.out.find("02_second"));
  CHECK(result.out.find("02_second") < result.out.find("safe_ratio"));
}

TEST_CASE("status after copying one solution: 1 of N done, and it names the next", "[learn]") {
  const auto f = fresh_fixture();
  f.solve("01_first/add_one.cpp");
  const auto result = f.status();
  CHECK(result.code == 0);
  CHECK_THAT(result.out, contains_all({"the first 1 in order pass; 1 of 3 done", "[done] add_one",
                                       "[next] top_two",
                                       "Next: top_two (The two largest values, largest first)",
                                       "open   " + shown(f.file("01_first/top_two.cpp"))}));
}

TEST_CASE("check of a stub says it is not done, which file to edit, and where hints are",
          "[learn]") {
  const auto f = fresh_fixture();
  const auto result = f.check("top_two");
  CHECK(result.code == 1);
  CHECK_THAT(result.out, contains("top_two is not done yet."));
  CHECK_THAT(result.out,
             contains("Open " + shown(f.file("01_first/top_two.cpp")) + ", read its TODO"));
  // No hint before the learner has tried anything: only where to find one.
  CHECK_THAT(squeeze(result.out), !contains("hint 1 of 3"));
  CHECK_THAT(result.out, contains("(stuck? a first hint: "));
  CHECK_THAT(result.out, contains(" hint top_two)"));
}

// top_two sorted the wrong way round: the smaller of the two first.
const char* const kWrongTopTwo =
    "#include \"top_two.hpp\"\n#include <algorithm>\n#include <stdexcept>\n"
    "std::vector<int> top_two(std::vector<int> values) {\n"
    "  if (values.size() < 2) throw std::invalid_argument(\"too few\");\n"
    "  std::sort(values.begin(), values.end());\n"
    "  return {values[values.size() - 2], values.back()};\n}\n";

TEST_CASE("check explains the first failing expectation: expected, got, and the hint", "[learn]") {
  const auto f = fresh_fixture();
  write_file(f.file("01_first/top_two.cpp"), kWrongTopTwo);
  const auto result = f.check("top_two");
  CHECK(result.code == 1);
  CHECK_THAT(result.out,
             contains_all({"top_two fails 1 of 2 test cases",
                           "in test case \"top_two keeps the largest two, largest first\"",
                           "exercises/01_first/test_top_two.cpp:7",
                           "CHECK( top_two({1, 5, 3}) == std::vector<int>{5, 3} )",
                           "expected: { 5, 3 }", "got:      { 3, 5 }"}));
  CHECK_THAT(squeeze(result.out),
             contains("hint 1 of 3: Order the values from the largest down, then keep two."));
  CHECK_THAT(squeeze(result.out), !contains("Sort a copy in descending order"));
}

TEST_CASE("check of a file that does not compile shows the compiler's first error only",
          "[learn]") {
  const auto f = fresh_fixture();
  write_file(f.file("01_first/add_one.cpp"),
             "#include \"add_one.hpp\"\nint add_one(int x) {\n  return x + one;\n}\n"
             "int broken() { return nothing; }\n");
  const auto result = f.check("add_one");
  CHECK(result.code == 1);
  CHECK_THAT(result.out,
             contains_all({"add_one does not compile. The first of 2 errors:",
                           "add_one.cpp:3:14: error: 'one' was not declared", "return x + one;"}));
  CHECK_THAT(result.out, !contains("nothing"));
  CHECK_THAT(squeeze(result.out), contains("hint 1 of 2: One more than x."));
  CHECK_THAT(squeeze(result.out), !contains("Return x + 1."));
  // status sees it too, without stopping at it.
  const auto status = f.status();
  CHECK(status.code == 0);
  CHECK_THAT(status.out, contains_all({"[next] add_one", "(does not compile)",
                                       "the first 0 in order pass; 0 of 3 done"}));
}

TEST_CASE("check with no id goes in order and stops at the first failing exercise", "[learn]") {
  const auto f = fresh_fixture();
  f.solve("01_first/add_one.cpp");
  const auto result = f.check();
  CHECK(result.code == 1);
  CHECK_THAT(result.out, contains("add_one passes"));
  CHECK_THAT(result.out, contains("top_two is not done yet"));
  CHECK_THAT(result.out, !contains("safe_ratio"));
  CHECK_THAT(result.out, contains("the first 1 in order pass; 1 of 3 done."));

  for (const std::string id : {"top_two", "safe_ratio"})
    f.solve((id == "top_two" ? "01_first/" : "02_second/") + id + ".cpp");
  const auto all = f.check();
  CHECK(all.code == 0);
  CHECK_THAT(all.out, contains("All 3 exercises pass: the first 3 in order pass; 3 of 3 done."));
}

TEST_CASE("solution stays hidden until the exercise passes, or with --force", "[learn]") {
  const auto f = fresh_fixture();
  const auto hidden = learn({"--root", f.root.string(), "solution", "add_one"});
  CHECK(hidden.code == 1);
  CHECK_THAT(hidden.out, contains("stays hidden until yours passes"));
  CHECK_THAT(hidden.out, !contains("return x + 1;"));
  const auto forced = learn({"--root", f.root.string(), "solution", "add_one", "--force"});
  CHECK(forced.code == 0);
  CHECK_THAT(forced.out, contains("int add_one(int x) { return x + 1; }"));
  f.solve("01_first/add_one.cpp");
  const auto earned = learn({"--root", f.root.string(), "solution", "add_one"});
  CHECK(earned.code == 0);
  CHECK_THAT(earned.out, contains("int add_one(int x) { return x + 1; }"));
}

TEST_CASE("reset keeps a backup, restores the stub byte for byte, and touches nothing else",
          "[learn]") {
  const auto f = fresh_fixture();
  const auto stub = slurp(f.file("01_first/add_one.cpp"));
  const std::string mine = "// my attempt\nint add_one(int x) { return x + 2; }\n";
  write_file(f.file("01_first/add_one.cpp"), mine);
  const auto before = snapshot(f.root);
  const auto result = learn({"--root", f.root.string(), "reset", "add_one", "--yes"});
  if (!have_git()) {  // then it must refuse, and change nothing
    CHECK(result.code == 1);
    CHECK_THAT(result.out, contains("git is not installed"));
    CHECK(snapshot(f.root) == before);
    return;
  }
  CHECK(result.code == 0);
  CHECK(slurp(f.file("01_first/add_one.cpp")) == stub);
  auto after = snapshot(f.root);
  std::vector<std::string> added;
  for (const auto& [name, text] : after)
    if (!before.count(name)) added.push_back(name);
  REQUIRE(added.size() == 1);
  CHECK(added[0].rfind("exercises/01_first/add_one.cpp.", 0) == 0);
  CHECK(added[0].size() > 4);
  CHECK(added[0].substr(added[0].size() - 4) == ".bak");
  CHECK(after[added[0]] == mine);
  CHECK_THAT(result.out, contains(added[0]));
  // Nothing else changed.
  after.erase(added[0]);
  after["exercises/01_first/add_one.cpp"] = mine;
  CHECK(after == before);
  // Resetting an untouched stub does nothing.
  const auto again = learn({"--root", f.root.string(), "reset", "add_one", "--yes"});
  CHECK(again.code == 0);
  CHECK_THAT(again.out, contains("untouched stub already"));
  CHECK(snapshot(f.root).size() == before.size() + 1);
}

TEST_CASE("reset asks first, and without a yes changes nothing", "[learn]") {
  const auto f = fresh_fixture();
  const std::string mine = "int add_one(int x) { return x; }\n";
  write_file(f.file("01_first/add_one.cpp"), mine);
  const auto before = snapshot(f.root);
  for (const std::string answer : {"n\n", "", "maybe\n"}) {
    const auto result = learn({"--root", f.root.string(), "reset", "add_one"}, answer);
    CHECK(result.code == 1);
    CHECK(snapshot(f.root) == before);
    if (have_git()) CHECK_THAT(result.out, contains("[y/N]"));
  }
  if (!have_git()) return;
  const auto yes = learn({"--root", f.root.string(), "reset", "add_one"}, "y\n");
  CHECK(yes.code == 0);
  CHECK(slurp(f.file("01_first/add_one.cpp")) ==
        slurp(fs::path(QKV_LEARN_FIXTURE_SOURCE) / "exercises/01_first/add_one.cpp"));
}

TEST_CASE("reset finds the stub when the learner has committed their own work", "[learn]") {
  if (!have_git()) return;  // covered by the test above: reset refuses without git
  const auto root = bare_copy("committed", true);
  const auto file = root / "exercises/01_first/top_two.cpp";
  const auto stub = slurp(file);
  REQUIRE(git(root, {"init", "-q"}).code == 0);
  REQUIRE(git(root, {"add", "-A"}).code == 0);
  REQUIRE(git(root, {"commit", "-q", "-m", "qkv"}).code == 0);
  fs::copy_file(root / "solutions/01_first/top_two.cpp", file,
                fs::copy_options::overwrite_existing);
  REQUIRE(git(root, {"commit", "-q", "-am", "my solution"}).code == 0);
  write_file(file, slurp(file) + "// and more\n");
  const auto result = learn({"--root", root.string(), "reset", "top_two", "--yes"});
  CHECK(result.code == 0);
  CHECK(slurp(file) == stub);
  // Not a git clone: it refuses and changes nothing.
  const auto plain = bare_copy("plain", true);
  write_file(plain / "exercises/01_first/top_two.cpp", "mine\n");
  const auto before = snapshot(plain);
  const auto refused = learn({"--root", plain.string(), "reset", "top_two", "--yes"});
  CHECK(refused.code == 1);
  CHECK_THAT(refused.out, contains("Nothing was changed"));
  CHECK(snapshot(plain) == before);
}

TEST_CASE("a missing build names the one command to run", "[learn]") {
  const auto root = bare_copy("unbuilt");
  const auto result = learn({"--root", root.string(), "status"});
  CHECK(result.code == 1);
  CHECK_THAT(result.out, contains("There is no build in"));
  CHECK_THAT(result.out, contains("    cmake --workflow --preset dev\n"));
  const auto elsewhere =
      learn({"--root", root.string(), "--build", (root / "b").string(), "check"});
  CHECK(elsewhere.code == 1);
  CHECK_THAT(elsewhere.out, contains("cmake --preset dev -B"));
}

TEST_CASE("watch checks again on save, and moves on when the exercise passes", "[learn]") {
  const auto f = fresh_fixture();
  Child watch({QKV_LEARN_EXE, "--root", f.root.string(), "watch", "--interval", "0.05",
               "--max-checks", "3"});
  watch.close_input();
  REQUIRE(watch.wait_for("Watching", 120));
  CHECK_THAT(watch.output(), contains("add_one is not done yet"));
  f.solve("01_first/add_one.cpp");
  const int code = watch.finish(120);
  INFO(watch.output());
  CHECK(code == 0);
  CHECK_THAT(watch.output(), contains("add_one passes"));
  CHECK_THAT(watch.output(), contains("after the save"));
  CHECK_THAT(watch.output(), contains("Next: top_two"));
  CHECK_THAT(watch.output(), contains("top_two is not done yet"));
  CHECK_THAT(watch.output(), contains("Stopped after 3 checks"));
}

TEST_CASE("watch stops cleanly on Ctrl-C", "[learn]") {
  const auto f = fresh_fixture();
  Child watch({QKV_LEARN_EXE, "--root", f.root.string(), "watch", "top_two"});
  watch.close_input();
  REQUIRE(watch.wait_for("Watching", 120));
  watch.signal(SIGINT);
  const int code = watch.finish(20);
  INFO(watch.output());
  CHECK(code == 0);
  CHECK_THAT(watch.output(), contains("Stopped watching. Nothing is lost"));
}

// ---------------------------------------------------------------------------------------
// Verdicts that must be about the file on disk now, crashes, edited tests, CI's stub check

namespace {

/// Sets a file's modification time `seconds` into the past.
void age(const fs::path& file, int seconds) {
  fs::last_write_time(file, fs::last_write_time(file) - std::chrono::seconds(seconds));
}
}  // namespace

TEST_CASE("a save the build's time stamps miss is still judged (the object is newer)", "[learn]") {
  const auto f = fresh_fixture();
  const auto file = f.file("01_first/top_two.cpp");
  fs::remove(f.build / "qkv-learn" / "top_two.built");  // no record yet: stamps are trusted
  write_file(file, kWrongTopTwo);
  const auto wrong = f.check("top_two");
  CHECK_THAT(wrong.out, contains("top_two fails 1 of 2 test cases"));
  // The right code, saved while the object was being written: its time stamp is older
  // than the object's, so ninja sees nothing to do.
  f.solve("01_first/top_two.cpp");
  age(file, 60);
  const auto right = f.check("top_two");
  CHECK(right.code == 0);
  CHECK_THAT(right.out, contains("top_two passes"));
  // And status, which builds all exercises in one go, sees it as well.
  write_file(file, kWrongTopTwo);
  age(file, 120);
  const auto status = f.status();
  CHECK_THAT(status.out, contains("[todo] top_two"));
}

TEST_CASE("watch judges a save that lands while a check runs", "[learn]") {
  const auto f = fresh_fixture();
  const auto file = f.file("01_first/add_one.cpp");
  write_file(file, "#include \"add_one.hpp\"\nint add_one(int x) { return x; }\n");
  // Each run of add_one's test takes 1.5 s: time to save during it.
  Child watch({QKV_LEARN_EXE, "--root", f.root.string(), "watch", "add_one", "--interval", "0.05",
               "--max-checks", "4"},
              {{"QKV_LEARN_FIXTURE_DELAY", "1.5"}});
  watch.close_input();
  REQUIRE(watch.wait_for("Watching", 120));
  CHECK_THAT(watch.output(), contains("add_one fails"));
  write_file(file, "#include \"add_one.hpp\"\nint add_one(int x) { return x + 2; }\n");
  REQUIRE(watch.wait_for("saved, checking", 30));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // inside the 1.5 s test run
  f.solve("01_first/add_one.cpp");
  const bool passed = watch.wait_for("add_one passes", 120);
  INFO(watch.output());
  CHECK(passed);
}

TEST_CASE("a crash is reported as a crash: the signal, the test case, how many ran", "[learn]") {
  const auto f = fresh_fixture();
  const auto file = f.file("02_second/safe_ratio.cpp");
  // Aborts in the second of the four test cases, as a bounds check does (contract D).
  write_file(file, R"(#include "safe_ratio.hpp"
#include <cstdio>
#include <cstdlib>
double safe_ratio(double a, double b) {
  if (b == 0) {
    std::fputs("qkv-assert: exercises/02_second/safe_ratio.cpp:5: index < size()\n", stderr);
    std::abort();
  }
  return a / b;
}
)");
  const auto assertion = f.check("safe_ratio");
  CHECK(assertion.code == 1);
  CHECK_THAT(assertion.out, contains("safe_ratio crashed: your code indexed out of range at " +
                                     shown(f.file("02_second/safe_ratio.cpp")) + ":5."));
  CHECK_THAT(assertion.out, contains("the check: index < size()"));
  CHECK_THAT(assertion.out, contains("in test case 2 of 4, \"safe_ratio refuses to divide by "
                                     "zero\" (the 2 after it did not run)"));
  CHECK_THAT(assertion.out, !contains("fails 2 of 2"));
  // A plain segfault, in the last test case.
  write_file(file, R"(#include "safe_ratio.hpp"
#include <csignal>
#include <stdexcept>
double safe_ratio(double a, double b) {
  if (b == 0) throw std::domain_error("zero");
  if (a > 1e100) std::raise(SIGSEGV);
  return a / b;
}
)");
  const auto segfault = f.check("safe_ratio");
  CHECK(segfault.code == 1);
  CHECK_THAT(segfault.out, contains("safe_ratio crashed: SIGSEGV (invalid memory access)."));
  CHECK_THAT(segfault.out, contains("in test case 4 of 4, \"safe_ratio of large numbers\"\n"));
  const auto status = f.status();
  CHECK_THAT(status.out, contains("safe_ratio"));
  CHECK_THAT(status.out, contains("(crashes)"));
}

TEST_CASE("an edited test file is named in every verdict, and reset --test restores it",
          "[learn]") {
  if (!have_git()) return;
  const auto f = fresh_fixture();
  const auto test = f.root / "exercises/01_first/test_add_one.cpp";
  const auto original = slurp(test);
  const auto mine = original + "// my change\n";
  write_file(test, mine);
  const auto check = f.check("add_one");
  CHECK_THAT(squeeze(check.out), contains("exercises/01_first/test_add_one.cpp differs from "
                                          "git's: this verdict is about your version"));
  CHECK_THAT(squeeze(check.out), contains("reset add_one --test"));
  const auto status = f.status();
  CHECK_THAT(status.out, contains("(its test file is edited)"));
  const auto other = f.check("top_two");
  CHECK_THAT(other.out, !contains("differs from git's"));

  const auto reset = learn({"--root", f.root.string(), "reset", "add_one", "--test", "--yes"});
  CHECK(reset.code == 0);
  CHECK(slurp(test) == original);
  bool backed_up = false;
  for (const auto& entry : fs::directory_iterator(test.parent_path())) {
    const auto name = entry.path().filename().string();
    if (name.rfind("test_add_one.cpp.", 0) == 0 && name.size() > 4 &&
        name.substr(name.size() - 4) == ".bak") {
      backed_up = slurp(entry.path()) == mine;
      fs::remove(entry.path());
    }
  }
  CHECK(backed_up);
  const auto again = f.check("add_one");
  CHECK_THAT(again.out, !contains("differs from git's"));
}

TEST_CASE("status --expect-stubs: every stub's test fails and names its file", "[learn]") {
  const auto f = fresh_fixture();
  const auto stubs = learn({"--root", f.root.string(), "status", "--expect-stubs"});
  CHECK(stubs.code == 0);
  CHECK_THAT(stubs.out, contains("ok:   add_one fails on its stub and names "
                                 "exercises/01_first/add_one.cpp"));
  CHECK_THAT(stubs.out, contains("3 passed, 0 failed"));
  f.solve("01_first/add_one.cpp");
  const auto solved = learn({"--root", f.root.string(), "status", "--expect-stubs"});
  CHECK(solved.code == 1);
  CHECK_THAT(solved.out, contains("FAIL: add_one passes with the untouched stub"));
  CHECK_THAT(solved.out, contains("2 passed, 1 failed"));
}

TEST_CASE("watch gives the next hint on each h, the code-level one last", "[learn]") {
  const auto f = fresh_fixture();
  write_file(f.file("01_first/top_two.cpp"), kWrongTopTwo);
  Child watch({QKV_LEARN_EXE, "--root", f.root.string(), "watch", "top_two"});
  REQUIRE(watch.wait_for("Watching", 120));
  CHECK_THAT(watch.output(), contains("hint 1 of 3"));
  CHECK_THAT(watch.output(), !contains("hint 2 of 3"));
  watch.send("h\n");
  REQUIRE(watch.wait_for("hint 2 of 3", 20));
  CHECK_THAT(watch.output(), !contains("hint 3 of 3"));
  watch.send("h\n");
  REQUIRE(watch.wait_for("hint 3 of 3", 20));
  watch.send("h\n");
  REQUIRE(watch.wait_for("That was the last hint", 20));
  watch.send("q\n");
  CHECK(watch.finish(20) == 0);
}
