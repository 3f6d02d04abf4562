// Checks the exercises' own files, from <build>/manifest.json:
//  [hints]        every exercise has at least two hint levels, the first quotes none of its
//                 solution's key expressions, and the last is code-level (quotes some);
//  [show_values]  no exercise test checks a comparison through a bare bool, whose failure
//                 would print only "false" instead of the values compared;
//  [stubs]        every stub names qkv-learn check <id> and watch <id>, not ctest.
// The checks themselves are tried on canned text first ([self]), so that neither can pass
// by finding nothing.

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "qkv/catch.hpp"
#include "source_checks.hpp"

namespace fs = std::filesystem;
using namespace qkv::exercise_checks;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  INFO("reading " << path);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The manifest as CMake wrote it, and the tree its paths are relative to. QKV_MANIFEST_JSON
// and QKV_SOURCE_DIR in the environment name others (to try the checks on other files).
nlohmann::json manifest() {
  const char* override_path = std::getenv("QKV_MANIFEST_JSON");
  return nlohmann::json::parse(read_text(override_path ? override_path : QKV_MANIFEST_JSON));
}
fs::path source_dir() {
  const char* override_path = std::getenv("QKV_SOURCE_DIR");
  return override_path ? override_path : QKV_SOURCE_DIR;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

TEST_CASE("the bare-bool scan finds bools and passes comparisons and matchers", "[self]") {
  const auto conditions = [](std::string_view source) {
    std::vector<std::string> bare;
    for (const auto& assertion : boolean_assertions(source))
      if (is_bare_bool(assertion.condition)) bare.push_back(assertion.condition);
    return bare;
  };
  CHECK(conditions("CHECK(same(decoding_window_mask(2, 5, 3), expected));") ==
        std::vector<std::string>{"same(decoding_window_mask(2, 5, 3), expected)"});
  CHECK(conditions("CHECK(o.allFinite());\nREQUIRE_FALSE(m.hasNaN());") ==
        std::vector<std::string>{"o.allFinite()", "m.hasNaN()"});
  CHECK(conditions("CHECK(f(x) == true); CHECK(false != g(y));") ==
        std::vector<std::string>{"f(x) == true", "false != g(y)"});
  CHECK(conditions("CHECK(v.empty());") == std::vector<std::string>{"v.empty()"});
  CHECK(conditions("CHECK(a == b); REQUIRE(m.rows() == 2); CHECK(x < y); CHECK(s >= 0.5f);\n"
                   "CHECK_THAT(m, equals(e)); CHECK_THROWS_AS(f(), E);\n"
                   "CHECK(top_k(s, 2) == std::vector<Index>{3, 2});") ==
        std::vector<std::string>{});
  // Comments, strings and names that merely end in CHECK are not assertions.
  CHECK(conditions("// CHECK(same(a, b))\n/* REQUIRE(ok()) */ INFO(\"CHECK(x)\"); MYCHECK(y);") ==
        std::vector<std::string>{});
  // A template's angle brackets are no comparison.
  CHECK(conditions("CHECK(std::is_same_v<A, B>);") ==
        std::vector<std::string>{"std::is_same_v<A, B>"});
  CHECK(boolean_assertions("\n\n  CHECK(x);").at(0).line == 3);
}

TEST_CASE("the hint check finds quoted code and passes prose", "[self]") {
  const KeyExpressions keys = key_expressions(R"(
#include "relevance_matrix.hpp"
namespace qkv::exercises {
namespace {
Index pool_row(const std::vector<Index>& table, Index p, Index block_size) {
  return table[static_cast<std::size_t>(p / block_size)] * block_size + p % block_size;
}
}  // namespace
// A comment: queries * keys.transpose() is not code of the body.
Matrix relevance_matrix(const Matrix& queries, const Matrix& keys) {
  require_shapes(queries.cols() == keys.cols(), "relevance_matrix", "why", "q", queries);
  seen_ = 0;
  return queries * keys.transpose();
}
}  // namespace qkv::exercises
)");
  CHECK(keys.snake_calls == std::set<std::string>{"require_shapes"});
  CHECK(keys.plain_calls == std::set<std::string>{"cols", "transpose"});
  CHECK(keys.members == std::set<std::string>{"seen_"});
  // The signature is not a body: the exercise's own name and parameters may be named.
  CHECK(keys.fragments ==
        std::set<std::string>{"block_size+p", "p%block_size", "p/block_size", "queries*keys"});

  // Today's style of giving it away, in each form the check knows.
  CHECK(quoted_code("so queries * keys.transpose() is the whole matrix", keys) ==
        std::vector<std::string>{"transpose(", ".transpose", "queries*keys"});
  CHECK(quoted_code("Check the shapes first with qkv::require_shapes.", keys) ==
        std::vector<std::string>{"require_shapes"});
  CHECK(quoted_code("reset() must set seen_ back to 0", keys) == std::vector<std::string>{"seen_"});
  CHECK(quoted_code("row p % block_size of the block", keys) ==
        std::vector<std::string>{"p%block_size"});
  // The idea in words quotes nothing, even with the same words.
  CHECK(quoted_code("Pair every query with every key: the keys (as columns) and the "
                    "queries (as rows), transposed first; p mod block_size.",
                    keys) == std::vector<std::string>{});
}

TEST_CASE("every exercise has progressive hints: the first quotes no code of its solution",
          "[hints]") {
  const auto exercises = manifest().at("exercises");
  REQUIRE(exercises.size() >= 1);
  for (const auto& exercise : exercises) {
    const auto id = exercise.at("id").get<std::string>();
    const auto hints = exercise.at("hints").get<std::vector<std::string>>();
    INFO("exercise " << id << " (exercises/manifest)");
    CHECK(hints.size() >= 2);
    if (hints.empty()) continue;
    const KeyExpressions keys =
        key_expressions(read_text(source_dir() / exercise.at("solution").get<std::string>()));
    INFO("hint 1: " << hints.front());
    CHECK(joined(quoted_code(hints.front(), keys)) == "");  // names the idea, not the code
    INFO("last hint: " << hints.back());
    CHECK(quoted_code(hints.back(), keys).size() >= 1);  // code-level
  }
}

TEST_CASE("no exercise test checks a comparison through a bare bool", "[show_values]") {
  const auto exercises = manifest().at("exercises");
  REQUIRE(exercises.size() >= 1);
  std::size_t assertions = 0;
  std::vector<std::string> bare;
  for (const auto& exercise : exercises) {
    const auto test = exercise.at("test").get<std::string>();
    for (const auto& assertion : boolean_assertions(read_text(source_dir() / test))) {
      ++assertions;
      if (is_bare_bool(assertion.condition))
        bare.push_back(test + ":" + std::to_string(assertion.line) + ": " + assertion.macro + "(" +
                       assertion.condition + ")");
    }
  }
  INFO(
      "these print only true or false when they fail: compare with == (or <, ...) so that "
      "Catch prints both sides, or use a matcher of qkv/expect.hpp");
  CHECK(bare == std::vector<std::string>{});
  CHECK(assertions > 100);  // the scan sees the tests' checks
}

TEST_CASE("every stub says how to check it: qkv-learn check and watch, which rebuild", "[stubs]") {
  // ctest runs whatever program was built last, so advice to run it would report a stale
  // verdict after an edit (the build.exercise_<id> fixture now rebuilds, but qkv-learn is the
  // learner's tool).
  const nlohmann::json exercises = manifest().at("exercises");  // a copy: manifest() is a temporary
  for (const auto& exercise : exercises) {
    const auto id = exercise.at("id").get<std::string>();
    const auto file = exercise.at("file").get<std::string>();
    const std::string stub = read_text(source_dir() / file);
    INFO(file);
    CHECK_THAT(stub, qkv::testing::contains("qkv-learn check " + id + "\n"));
    CHECK_THAT(stub, qkv::testing::contains("qkv-learn watch " + id + "\n"));
    CHECK_THAT(stub, !qkv::testing::contains("ctest"));
  }
}
