// Chapter 01's executable, run as a learner would: every number it prints in --json is
// checked against values computed by hand (the examples are small on purpose) and against
// the invariants of the chapter. Flags and reproducibility are checked too.

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "qkv/catch.hpp"
#include "qkv/process.hpp"

using nlohmann::json;
using qkv::testing::run_process;

namespace {
json run_json(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{QKV_CHAPTER_EXE, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto result = run_process(args);
  REQUIRE(result.exit_code == 0);
  REQUIRE(result.err.empty());
  return json::parse(result.out);
}

std::vector<double> numbers(const json& array) { return array.get<std::vector<double>>(); }
}  // namespace

TEST_CASE("the translation example's scores, ranking and retrieval, by hand", "[chapter01]") {
  const json out = run_json();
  // q = (0, 0.5, 2, 0); keys: The (2,0,0,0), quick (0,2,0,1), brown (0,2,1,0),
  // fox (0,0,2,1), jumps (0,0,1,2).
  CHECK(numbers(out["query"]) == std::vector<double>{0, 0.5, 2, 0});
  CHECK(out["keys"].size() == 5);
  CHECK(numbers(out["keys"][3]) == std::vector<double>{0, 0, 2, 1});
  // The: 0; quick: 0.5*2 = 1; brown: 0.5*2 + 2*1 = 3; fox: 2*2 = 4; jumps: 2*1 = 2
  CHECK(numbers(out["scores"]) == std::vector<double>{0, 1, 3, 4, 2});
  CHECK(out["ranking"].get<std::vector<int>>() == std::vector<int>{3, 2, 4, 1, 0});
  // fox's value: the one-hot vector of "Fuchs".
  CHECK(numbers(out["retrieved"]) == std::vector<double>{0, 0, 0, 1, 0});
  // d = 4: scaled scores are the raw ones divided by sqrt(4) = 2.
  CHECK(numbers(out["scaled_scores"]) == std::vector<double>{0, 0.5, 1.5, 2, 1});
  CHECK(out["tokens"].get<std::vector<std::string>>() ==
        std::vector<std::string>{"The", "quick", "brown", "fox", "jumps"});
}

TEST_CASE("the question-answering example, by hand", "[chapter01]") {
  const json out = run_json();
  // question (0, 0, 2, 1); sentence keys S1 (2,0,0,2), S2 (0,2,0,1), S3 (0,0,2,1), S4 (2,0,0,0)
  CHECK(numbers(out["doc_scores"]) == std::vector<double>{2, 1, 5, 0});
  CHECK(out["doc_ranking"].get<std::vector<int>>() == std::vector<int>{2, 0, 1, 3});
  CHECK(numbers(out["doc_retrieved"]) == std::vector<double>{0, 0, 330, 0});
  // "When was the tower in Paris built?" (1, 2, 0, 1): S1 2+2 = 4, S2 4+1 = 5, S3 1, S4 2
  CHECK(numbers(out["mixed_scores"]) == std::vector<double>{4, 5, 1, 2});
}

TEST_CASE("the cosine comparison, by hand", "[chapter01]") {
  const json out = run_json();
  // jumps' key tripled to (0, 0, 3, 6): q . k = 6, above fox's 4.
  CHECK(numbers(out["loud_scores"]) == std::vector<double>{0, 1, 3, 4, 6});
  // |q| = sqrt(4.25); cos = q . k / (|q| |k|) with the original key lengths.
  const double q_norm = std::sqrt(4.25);
  const std::vector<double> expected{0, 1 / (q_norm * std::sqrt(5.0)),
                                     3 / (q_norm * std::sqrt(5.0)), 4 / (q_norm * std::sqrt(5.0)),
                                     2 / (q_norm * std::sqrt(5.0))};
  const auto cosine = numbers(out["cosine_scores"]);
  REQUIRE(cosine.size() == expected.size());
  for (std::size_t j = 0; j < expected.size(); ++j)
    CHECK_THAT(cosine[j], WithinAbs(expected[j], 1e-6));
}

TEST_CASE("the scaling experiment: spread sqrt(d) before scaling, about 1 after", "[chapter01]") {
  const json out = run_json({"--samples", "4000"});
  const auto dims = out["scaling_dims"].get<std::vector<int>>();
  const auto raw = numbers(out["raw_spread"]);
  const auto scaled = numbers(out["scaled_spread"]);
  REQUIRE(dims == std::vector<int>{4, 64, 1024});
  for (std::size_t i = 0; i < dims.size(); ++i) {
    // 4000 samples: the sample standard deviation is within 5% of the true one.
    CHECK_THAT(raw[i], WithinRel(std::sqrt(dims[i]), 0.05));
    CHECK_THAT(scaled[i], WithinRel(1.0, 0.05));
    CHECK_THAT(scaled[i] * std::sqrt(dims[i]), WithinRel(raw[i], 1e-5));
  }
}

TEST_CASE("the same seed gives byte-identical output, another seed another sample", "[chapter01]") {
  const auto first = run_process({QKV_CHAPTER_EXE, "--json", "--seed", "5"});
  const auto second = run_process({QKV_CHAPTER_EXE, "--json", "--seed", "5"});
  const auto other = run_process({QKV_CHAPTER_EXE, "--json", "--seed", "6"});
  CHECK(first.out == second.out);
  CHECK(first.out != other.out);
  const auto text = run_process({QKV_CHAPTER_EXE, "--seed", "5"}, {"NO_COLOR=1"});
  CHECK(text.out == run_process({QKV_CHAPTER_EXE, "--seed", "5"}, {"NO_COLOR=1"}).out);
}

TEST_CASE("the narrated lesson prints every step without color into a pipe", "[chapter01]") {
  const auto result = run_process({QKV_CHAPTER_EXE});
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.out,
             qkv::testing::contains("q . k_fox = 0*0 + 0.5*0 + 2*2 + 0*1 = 0 + 0 + 4 + 0 = 4"));
  CHECK_THAT(result.out, qkv::testing::contains("fox > brown > jumps > quick > The"));
  CHECK_THAT(result.out, qkv::testing::contains("scores (5)"));
  CHECK_THAT(result.out, qkv::testing::contains("keys (5 x 4)"));
  CHECK(result.out.find("\x1b[") == std::string::npos);  // no ANSI escapes in a pipe
}

TEST_CASE("bad flags print an error and the usage and exit 2", "[chapter01]") {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--bogus"},
                                               {"--samples"},
                                               {"--samples", "abc"},
                                               {"--samples", "1"},
                                               {"--samples", "-3"},
                                               {"--seed", "x"},
                                               {"extra"}}) {
    std::vector<std::string> argv{QKV_CHAPTER_EXE};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto result = run_process(argv);
    INFO(args.front());
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, qkv::testing::contains("error:"));
    CHECK_THAT(result.err, qkv::testing::contains("--samples"));  // the usage follows
    CHECK(result.out.empty());
  }
  const auto help = run_process({QKV_CHAPTER_EXE, "--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, qkv::testing::contains("--seed"));
}

TEST_CASE("the svg flag writes the keys heatmap, and rejects an unwritable folder", "[chapter01]") {
  const auto dir = std::filesystem::temp_directory_path() / "qkv-test-ch01-svg";
  std::filesystem::remove_all(dir);
  const auto written = run_process({QKV_CHAPTER_EXE, "--svg", dir.string()});
  CHECK(written.exit_code == 0);
  CHECK(std::filesystem::exists(dir / "keys.svg"));
  std::filesystem::remove_all(dir);

  const auto result = run_process({QKV_CHAPTER_EXE, "--svg", "/proc/qkv-cannot-be-here"});
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, qkv::testing::contains("--svg"));
}

TEST_CASE("the scaling table in the chapter text matches the default run", "[chapter01]") {
  // README.md quotes the default run's numbers; this keeps text and program in step.
  std::ifstream readme(std::string(QKV_CHAPTER_DIR) + "/README.md");
  REQUIRE(readme.good());
  const json out = run_json();
  const auto dims = out["scaling_dims"].get<std::vector<int>>();
  const auto raw = numbers(out["raw_spread"]);
  const auto scaled = numbers(out["scaled_spread"]);
  std::string line;
  std::size_t rows_found = 0;
  while (std::getline(readme, line)) {
    for (std::size_t i = 0; i < dims.size(); ++i) {
      const std::string row = fmt::format("| {} | {:.2f} | {} | {:.2f} |", dims[i], raw[i],
                                          static_cast<int>(std::sqrt(dims[i])), scaled[i]);
      if (line == row) ++rows_found;
    }
  }
  CHECK(rows_found == dims.size());
}
