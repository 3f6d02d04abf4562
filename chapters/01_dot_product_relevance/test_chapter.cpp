// Chapter 01's executable, run as a learner would: every number it prints in --json is
// checked against values computed by hand (the examples are small on purpose) and against
// the invariants of the chapter; so are its words for a flag it does not have.
// tests/robustness checks what every chapter shares (bad flags, --svg, the same seed).

#include <fmt/format.h>

#include <cmath>
#include <sstream>

#include "qkv/chapter_test.hpp"

namespace qkv::testing {
namespace {
std::vector<double> numbers(const json& array) { return array.get<std::vector<double>>(); }
}  // namespace

TEST_CASE("the translation example's scores, ranking and retrieval, by hand", "[chapter01]") {
  const json out = chapter_json();
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
  const json out = chapter_json();
  // question (0, 0, 2, 1); sentence keys S1 (2,0,0,2), S2 (0,2,0,1), S3 (0,0,2,1), S4 (2,0,0,0)
  CHECK(numbers(out["doc_scores"]) == std::vector<double>{2, 1, 5, 0});
  CHECK(out["doc_ranking"].get<std::vector<int>>() == std::vector<int>{2, 0, 1, 3});
  CHECK(numbers(out["doc_retrieved"]) == std::vector<double>{0, 0, 330, 0});
  // "When was the tower in Paris built?" (1, 2, 0, 1): S1 2+2 = 4, S2 4+1 = 5, S3 1, S4 2
  CHECK(numbers(out["mixed_scores"]) == std::vector<double>{4, 5, 1, 2});
}

TEST_CASE("the cosine comparison, by hand", "[chapter01]") {
  const json out = chapter_json();
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
  const json out = chapter_json({"--samples", "4000"});
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

TEST_CASE("the narrated lesson prints every step", "[chapter01]") {
  const std::string text = chapter_narration();
  CHECK_THAT(text,
             contains_all({"q . k_fox = 0*0 + 0.5*0 + 2*2 + 0*1 = 0 + 0 + 4 + 0 = 4",
                           "fox > brown > jumps > quick > The", "scores (5)", "keys (5 x 4)"}));
}

TEST_CASE("a flag this chapter does not have is named, with the flags it has", "[chapter01]") {
  // --tokens is chapter 02's: the error names it (CLI11 said "The following arguments were
  // not expected: 1 --tokens") and lists this chapter's flags instead.
  check_rejected({"--tokens", "1"},
                 "error: unknown flag --tokens; this chapter's flags are --help, --seed, --json, "
                 "--svg, --samples");
  check_rejected({"--samples", "abc"}, "--samples abc is not a whole number from 2 to 1000000");
}

TEST_CASE("the help writes ranges and defaults as a person does", "[chapter01]") {
  const auto help = run_chapter({"--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, contains("\n  --samples N  random query/key pairs per dimension in the "
                                "scaling experiment (2 to 1000000, default 2000)\n"));
  CHECK_THAT(help.out, contains("\n  --seed N     seed for every random number"));
  CHECK(help.out.find("INT") == std::string::npos);
}

TEST_CASE("the svg flag writes the keys heatmap", "[chapter01]") {
  const auto figures = chapter_figures();
  CHECK(names_of(figures) == std::vector<std::string>{"keys.svg"});
}

TEST_CASE("the scaling table in the chapter text matches the default run", "[chapter01]") {
  // README.md quotes the default run's numbers; this keeps text and program in step.
  std::istringstream readme(chapter_readme());
  const json out = chapter_json();
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

}  // namespace qkv::testing
