// Chapter 02's executable, run as a learner would: every matrix it prints in --json is
// recomputed with the library from the printed inputs (the embedding table and W_q, W_k,
// W_v), the random draws are reproduced from the seed, shapes follow the flags, and the
// worked sums in the narrated text match the numbers.

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "qkv/catch.hpp"
#include "qkv/golden.hpp"
#include "qkv/process.hpp"
#include "qkv/projection.hpp"
#include "qkv/random.hpp"

using nlohmann::json;
using qkv::Index;
using qkv::Matrix;
using qkv::Vector;
using qkv::testing::check_matrix_close;
using qkv::testing::matrix_from_json;
using qkv::testing::run_process;
using qkv::testing::vector_from_json;

namespace {
json run_json(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{QKV_CHAPTER_EXE, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto result = run_process(args);
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  REQUIRE(result.err.empty());
  return json::parse(result.out);
}

// Everything the chapter prints follows from its inputs: recompute it with the library.
void check_consistent(const json& out, Index tokens, Index d_model, Index d_head) {
  const auto labels = out["tokens"].get<qkv::Labels>();
  const auto ids = out["token_ids"].get<std::vector<Index>>();
  const auto vocabulary = out["vocabulary"].get<qkv::Labels>();
  const Matrix table = matrix_from_json(out["embedding_table"]);
  const Matrix x = matrix_from_json(out["x"]);
  REQUIRE(static_cast<Index>(labels.size()) == tokens);
  REQUIRE(static_cast<Index>(ids.size()) == tokens);
  CHECK(table.rows() == static_cast<Index>(vocabulary.size()));
  CHECK(table.cols() == d_model);
  CHECK(x.rows() == tokens);
  CHECK(x.cols() == d_model);
  for (std::size_t t = 0; t < labels.size(); ++t)
    CHECK(vocabulary.at(static_cast<std::size_t>(ids[t])) == labels[t]);
  CHECK(x == qkv::embed(table, ids));  // a lookup copies rows: exact

  qkv::QkvWeights w{matrix_from_json(out["w_q"]), matrix_from_json(out["w_k"]),
                    matrix_from_json(out["w_v"])};
  for (const Matrix* m : {&w.w_q, &w.w_k, &w.w_v}) {
    CHECK(m->rows() == d_model);
    CHECK(m->cols() == d_head);
    // nn.Linear's initialisation: |W| <= 1 / sqrt(d_model)
    CHECK(m->cwiseAbs().maxCoeff() <= 1.0f / std::sqrt(static_cast<float>(d_model)));
  }
  const qkv::Qkv expected = qkv::project_qkv(x, w);
  check_matrix_close(matrix_from_json(out["q"]), expected.q, 1e-5, 1e-6, "q");
  check_matrix_close(matrix_from_json(out["k"]), expected.k, 1e-5, 1e-6, "k");
  check_matrix_close(matrix_from_json(out["v"]), expected.v, 1e-5, 1e-6, "v");
  const Matrix scores = matrix_from_json(out["scores"]);
  CHECK(scores.rows() == tokens);
  CHECK(scores.cols() == tokens);
  check_matrix_close(scores, qkv::attention_scores(expected.q, expected.k), 1e-5, 1e-6, "scores");
  const Matrix unprojected = matrix_from_json(out["unprojected_scores"]);
  check_matrix_close(unprojected, qkv::attention_scores(x, x), 1e-5, 1e-6, "unprojected_scores");
  // x_i . x_j = x_j . x_i, up to the order in which the matrix product sums in float.
  check_matrix_close(unprojected, unprojected.transpose(), 1e-6, 1e-6, "X X^T symmetric");
  CHECK_THAT(out["asymmetry"].get<double>(),
             WithinAbs((scores - scores.transpose()).cwiseAbs().maxCoeff(), 1e-6));
  CHECK_THAT(out["unprojected_asymmetry"].get<double>(),
             WithinAbs((unprojected - unprojected.transpose()).cwiseAbs().maxCoeff(), 1e-9));
  CHECK(out["unprojected_asymmetry"].get<double>() < 1e-5);

  // The worked sums: Q[row, 0] term by term and S[row, last] term by term.
  const Index row = std::min<Index>(1, tokens - 1);
  const Vector q_terms = vector_from_json(out["q_terms"]);
  REQUIRE(q_terms.size() == d_model);
  for (Index i = 0; i < d_model; ++i) CHECK(q_terms(i) == x(row, i) * w.w_q(i, 0));
  CHECK_THAT(q_terms.sum(), WithinAbs(expected.q(row, 0), 1e-5));
  const Vector score_terms = vector_from_json(out["score_terms"]);
  REQUIRE(score_terms.size() == d_head);
  for (Index i = 0; i < d_head; ++i)
    CHECK(score_terms(i) == expected.q(row, i) * expected.k(tokens - 1, i));
  CHECK_THAT(score_terms.sum() / std::sqrt(static_cast<float>(d_head)),
             WithinAbs(scores(row, tokens - 1), 1e-5));

  CHECK(out["parameters"].get<Index>() == 3 * d_model * d_head);
  CHECK(out["embedding_parameters"].get<Index>() ==
        static_cast<Index>(vocabulary.size()) * d_model);
  CHECK(out["gpt2_head_parameters"].get<Index>() == 147456);  // 3 * 768 * 64
}
}  // namespace

TEST_CASE("the default run: six tokens of 'the cat sat on the mat', d_model 8, d_head 4",
          "[chapter02]") {
  const json out = run_json();
  for (const char* key : {"x", "w_q", "w_k", "w_v", "q", "k", "v", "scores"})
    CHECK(out.contains(key));
  CHECK(out["tokens"].get<qkv::Labels>() == qkv::Labels{"the", "cat", "sat", "on", "the", "mat"});
  CHECK(out["vocabulary"].get<qkv::Labels>() == qkv::Labels{"the", "cat", "sat", "on", "mat"});
  CHECK(out["token_ids"].get<std::vector<Index>>() == std::vector<Index>{0, 1, 2, 3, 0, 4});
  check_consistent(out, 6, 8, 4);
  // Both "the" have the same embedding, so the same query, key, value and scores.
  const Matrix x = matrix_from_json(out["x"]);
  const Matrix scores = matrix_from_json(out["scores"]);
  CHECK(x.row(0) == x.row(4));
  CHECK(scores.row(0) == scores.row(4));
  CHECK(scores.col(0) == scores.col(4));
  // "a token's score with itself is usually the largest in its row": in this run, always
  // (the two "the" tie, up to the rounding of the product).
  const Matrix unprojected = matrix_from_json(out["unprojected_scores"]);
  for (Index i = 0; i < 6; ++i) CHECK(unprojected(i, i) >= unprojected.row(i).maxCoeff() - 1e-6f);
  CHECK(out["parameters"].get<Index>() == 96);
  CHECK(out["embedding_parameters"].get<Index>() == 40);
}

TEST_CASE("shapes follow --tokens, --dim and --head-dim", "[chapter02]") {
  for (const auto& [tokens, d_model, d_head] :
       std::vector<std::tuple<Index, Index, Index>>{{3, 5, 2}, {1, 1, 1}, {9, 16, 3}, {2, 3, 7}}) {
    INFO("T = " << tokens << ", d_model = " << d_model << ", d_head = " << d_head);
    const json out = run_json({"--tokens", std::to_string(tokens), "--dim", std::to_string(d_model),
                               "--head-dim", std::to_string(d_head), "--seed", "7"});
    check_consistent(out, tokens, d_model, d_head);
  }
  // Past the six words of the sentence, tokens are named t0, t1, ... and all distinct.
  const json long_run = run_json({"--tokens", "9"});
  CHECK(long_run["tokens"].get<qkv::Labels>() ==
        qkv::Labels{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"});
  CHECK(long_run["token_ids"].get<std::vector<Index>>() ==
        std::vector<Index>{0, 1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(run_json({"--tokens", "3"})["tokens"].get<qkv::Labels>() ==
        qkv::Labels{"the", "cat", "sat"});
}

TEST_CASE("the random draws are the seeded library's: table, then W_q, W_k, W_v", "[chapter02]") {
  const json out = run_json({"--seed", "11", "--dim", "6", "--head-dim", "3"});
  qkv::Random random(11);
  const Matrix table = qkv::random_normal(random, 5, 6);
  const qkv::QkvWeights w = qkv::random_qkv_weights(random, 6, 3);
  CHECK(matrix_from_json(out["embedding_table"]) == table);  // JSON numbers round-trip exactly
  CHECK(matrix_from_json(out["w_q"]) == w.w_q);
  CHECK(matrix_from_json(out["w_k"]) == w.w_k);
  CHECK(matrix_from_json(out["w_v"]) == w.w_v);
}

TEST_CASE("the narrated lesson prints every shape and the worked sums", "[chapter02]") {
  const auto result = run_process({QKV_CHAPTER_EXE});
  REQUIRE(result.exit_code == 0);
  // Prose is wrapped at 92 columns: undo the wrapping so sentences can be searched.
  std::string text = result.out;
  std::replace(text.begin(), text.end(), '\n', ' ');
  for (const char* expected :
       {"X (6 x 8) = rows", "embedding table (5 x 8)", "x (6 x 8)", "w_q (8 x 4)",
        "X (6 x 8) x W_q (8 x 4) -> Q (6 x 4)", "X (6 x 8) x W_k (8 x 4) -> K (6 x 4)",
        "X (6 x 8) x W_v (8 x 4) -> V (6 x 4)",
        "Q (6 x 4) x K^T (4 x 6) -> Q K^T (6 x 6), then / sqrt(d_head) = / 2.0000",
        "scores (6 x 6)", "3 x 8 x 4 = 96", "3 x 768 x 64 = 147456",
        "token ids: the=0 cat=1 "
        "sat=2 on=3 the=0 mat=4"})
    CHECK_THAT(text, qkv::testing::contains(expected));
  CHECK(text.find("\x1b[") == std::string::npos);  // no ANSI escapes in a pipe

  // The worked sums print the same numbers as --json, rounded to 4 decimals.
  const json out = run_json();
  const Matrix x = matrix_from_json(out["x"]);
  const Matrix w_q = matrix_from_json(out["w_q"]);
  const Matrix q = matrix_from_json(out["q"]);
  const Matrix k = matrix_from_json(out["k"]);
  const Matrix scores = matrix_from_json(out["scores"]);
  auto factor = [](float value) {
    return value < 0 ? fmt::format("({:.4f})", value) : fmt::format("{:.4f}", value);
  };
  std::string first_terms;
  for (Index i = 0; i < 4; ++i)
    first_terms += (i ? " + " : "") + factor(x(1, i)) + "*" + factor(w_q(i, 0));
  CHECK_THAT(text, qkv::testing::contains(first_terms));
  CHECK_THAT(text, qkv::testing::contains(fmt::format("= {:.4f} ", q(1, 0))));
  std::string score_terms;
  for (Index i = 0; i < 4; ++i)
    score_terms += (i ? " + " : "") + factor(q(1, i)) + "*" + factor(k(5, i));
  CHECK_THAT(text, qkv::testing::contains(score_terms));
  CHECK_THAT(text, qkv::testing::contains(fmt::format("= {:.4f} / 2.0000 = {:.4f}",
                                                      q.row(1).dot(k.row(5)), scores(1, 5))));
}

TEST_CASE("the numbers quoted in the chapter text match the default run", "[chapter02]") {
  std::ifstream readme(std::string(QKV_CHAPTER_DIR) + "/README.md");
  REQUIRE(readme.good());
  std::string text((std::istreambuf_iterator<char>(readme)), std::istreambuf_iterator<char>());
  std::replace(text.begin(), text.end(), '\n', ' ');  // sentences span lines
  const Matrix scores = matrix_from_json(run_json()["scores"]);
  CHECK_THAT(text, qkv::testing::contains(
                       fmt::format("$S_{{cat,mat}} = {:.2f}$ but $S_{{mat,cat}} = {:.2f}$",
                                   scores(1, 5), scores(5, 1))));
}

TEST_CASE("the same seed gives byte-identical output, another seed other numbers", "[chapter02]") {
  const auto first = run_process({QKV_CHAPTER_EXE, "--json", "--seed", "5"});
  const auto second = run_process({QKV_CHAPTER_EXE, "--json", "--seed", "5"});
  const auto other = run_process({QKV_CHAPTER_EXE, "--json", "--seed", "6"});
  CHECK(first.out == second.out);
  CHECK(first.out != other.out);
  const auto text = run_process({QKV_CHAPTER_EXE, "--seed", "5"}, {"NO_COLOR=1"});
  CHECK(text.out == run_process({QKV_CHAPTER_EXE, "--seed", "5"}, {"NO_COLOR=1"}).out);
}

TEST_CASE("bad flags print an error and the usage and exit 2", "[chapter02]") {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--bogus"},
                                               {"--tokens"},
                                               {"--tokens", "0"},
                                               {"--tokens", "65"},
                                               {"--tokens", "abc"},
                                               {"--dim", "0"},
                                               {"--dim", "513"},
                                               {"--dim", "-1"},
                                               {"--head-dim", "0"},
                                               {"--head-dim", "513"},
                                               {"--head-dim", "2.5"},
                                               {"--seed", "x"},
                                               {"extra"}}) {
    std::vector<std::string> argv{QKV_CHAPTER_EXE};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto result = run_process(argv);
    INFO(args.front() << " " << (args.size() > 1 ? args[1] : ""));
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, qkv::testing::contains("error:"));
    CHECK_THAT(result.err, qkv::testing::contains("--head-dim"));  // the usage follows
    CHECK(result.out.empty());
  }
  const auto help = run_process({QKV_CHAPTER_EXE, "--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, qkv::testing::contains("--tokens"));
  // The largest sizes are allowed and run.
  CHECK(run_process(
            {QKV_CHAPTER_EXE, "--json", "--tokens", "64", "--dim", "512", "--head-dim", "512"})
            .exit_code == 0);
}

TEST_CASE("the svg flag writes the scores heatmap", "[chapter02]") {
  const auto dir = std::filesystem::temp_directory_path() / "qkv-test-ch02-svg";
  std::filesystem::remove_all(dir);
  const auto written = run_process({QKV_CHAPTER_EXE, "--svg", dir.string()});
  CHECK(written.exit_code == 0);
  REQUIRE(std::filesystem::exists(dir / "scores.svg"));
  std::ifstream svg(dir / "scores.svg");
  const std::string contents((std::istreambuf_iterator<char>(svg)),
                             std::istreambuf_iterator<char>());
  CHECK_THAT(contents, qkv::testing::contains("<svg"));
  CHECK_THAT(contents, qkv::testing::contains(">mat</text>"));
  std::filesystem::remove_all(dir);
}
