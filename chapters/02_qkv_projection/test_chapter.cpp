// Chapter 02's executable, run as a learner would: every matrix it prints in --json is
// recomputed with the library from the printed inputs (the embedding table and W_q, W_k,
// W_v), the random draws are reproduced from the seed, shapes follow the flags, and the
// worked sums in the narrated text match the numbers.

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "qkv/attention.hpp"
#include "qkv/chapter_test.hpp"
#include "qkv/projection.hpp"
#include "qkv/random.hpp"

namespace qkv::testing {
namespace {

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
  const json out = chapter_json();
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
    const json out =
        chapter_json({"--tokens", std::to_string(tokens), "--dim", std::to_string(d_model),
                      "--head-dim", std::to_string(d_head), "--seed", "7"});
    check_consistent(out, tokens, d_model, d_head);
  }
  // Past the six words of the sentence, tokens are named t0, t1, ... and all distinct.
  const json long_run = chapter_json({"--tokens", "9"});
  CHECK(long_run["tokens"].get<qkv::Labels>() ==
        qkv::Labels{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"});
  CHECK(long_run["token_ids"].get<std::vector<Index>>() ==
        std::vector<Index>{0, 1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(chapter_json({"--tokens", "3"})["tokens"].get<qkv::Labels>() ==
        qkv::Labels{"the", "cat", "sat"});
}

TEST_CASE("the random draws are the seeded library's: table, then W_q, W_k, W_v", "[chapter02]") {
  const json out = chapter_json({"--seed", "11", "--dim", "6", "--head-dim", "3"});
  qkv::Random random(11);
  const Matrix table = qkv::random_normal(random, 5, 6);
  const qkv::QkvWeights w = qkv::random_qkv_weights(random, 6, 3);
  CHECK(matrix_from_json(out["embedding_table"]) == table);  // JSON numbers round-trip exactly
  CHECK(matrix_from_json(out["w_q"]) == w.w_q);
  CHECK(matrix_from_json(out["w_k"]) == w.w_k);
  CHECK(matrix_from_json(out["w_v"]) == w.w_v);
}

TEST_CASE("the narrated lesson prints every shape and the worked sums", "[chapter02]") {
  const std::string text = unwrapped(chapter_narration());
  for (const char* expected :
       {"X (6 x 8) = rows", "embedding table (5 x 8)", "x (6 x 8)", "w_q (8 x 4)",
        "X (6 x 8) x W_q (8 x 4) -> Q (6 x 4)", "X (6 x 8) x W_k (8 x 4) -> K (6 x 4)",
        "X (6 x 8) x W_v (8 x 4) -> V (6 x 4)",
        "Q (6 x 4) x K^T (4 x 6) -> Q K^T (6 x 6), then / sqrt(d_head) = / 2.0000",
        "scores (6 x 6)", "3 x 8 x 4 = 96", "3 x 768 x 64 = 147456",
        "token ids: the=0 cat=1 "
        "sat=2 on=3 the=0 mat=4"})
    CHECK_THAT(text, contains(expected));

  // The worked sums print the same numbers as --json, rounded to 4 decimals.
  const json out = chapter_json();
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
  CHECK_THAT(text, contains(first_terms));
  CHECK_THAT(text, contains(fmt::format("= {:.4f} ", q(1, 0))));
  std::string score_terms;
  for (Index i = 0; i < 4; ++i)
    score_terms += (i ? " + " : "") + factor(q(1, i)) + "*" + factor(k(5, i));
  CHECK_THAT(text, contains(score_terms));
  CHECK_THAT(text, contains(fmt::format("= {:.4f} / 2.0000 = {:.4f}", q.row(1).dot(k.row(5)),
                                        scores(1, 5))));
}

TEST_CASE("the numbers quoted in the chapter text match the default run", "[chapter02]") {
  const std::string text = unwrapped(chapter_readme());  // sentences span lines
  const Matrix scores = matrix_from_json(chapter_json()["scores"]);
  CHECK_THAT(text, contains(fmt::format("$S_{{cat,mat}} = {:.2f}$ but $S_{{mat,cat}} = {:.2f}$",
                                        scores(1, 5), scores(5, 1))));
}

TEST_CASE("the largest sizes run together, and a fraction is not a size", "[chapter02]") {
  CHECK(run_chapter({"--json", "--tokens", "64", "--dim", "512", "--head-dim", "512"}).exit_code ==
        0);
  check_rejected({"--head-dim", "2.5"}, "--head-dim 2.5 is not a whole number from 1 to 512");
}

TEST_CASE("the svg flag writes the scores heatmap, labelled with the tokens", "[chapter02]") {
  const auto figures = chapter_figures();
  REQUIRE(names_of(figures) == std::vector<std::string>{"scores.svg"});
  CHECK_THAT(figures.at("scores.svg"), contains("<svg"));
  CHECK_THAT(figures.at("scores.svg"), contains(">mat</text>"));
}

}  // namespace qkv::testing
