// Chapter 03's executable, run as a learner would: every matrix it prints in --json is
// recomputed with the library from the printed inputs (X and W_q, W_k, W_v), the softmax
// invariants are checked on the printed weights, the overflow demonstration against values
// computed by hand, and the worked output row and the narrated text against the numbers.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "qkv/attention.hpp"
#include "qkv/chapter_test.hpp"
#include "qkv/projection.hpp"
#include "qkv/random.hpp"
#include "qkv/softmax.hpp"

namespace qkv::testing {
namespace {

void check_consistent(const json& out, Index tokens, Index d_model, Index d_head,
                      double temperature) {
  const Matrix x = matrix_from_json(out["x"]);
  REQUIRE(x.rows() == tokens);
  REQUIRE(x.cols() == d_model);
  const qkv::QkvWeights w{matrix_from_json(out["w_q"]), matrix_from_json(out["w_k"]),
                          matrix_from_json(out["w_v"])};
  for (const Matrix* m : {&w.w_q, &w.w_k, &w.w_v}) {
    CHECK(m->rows() == d_model);
    CHECK(m->cols() == d_head);
  }
  const qkv::Qkv expected = qkv::project_qkv(x, w);
  const Matrix q = matrix_from_json(out["q"]);
  const Matrix k = matrix_from_json(out["k"]);
  const Matrix v = matrix_from_json(out["v"]);
  check_matrix_close(q, expected.q, 1e-5, 1e-6, "q");
  check_matrix_close(k, expected.k, 1e-5, 1e-6, "k");
  check_matrix_close(v, expected.v, 1e-5, 1e-6, "v");

  // Recomputed step by step from the printed Q, K, V.
  const Matrix scores = matrix_from_json(out["scores"]);
  const Matrix weights = matrix_from_json(out["weights"]);
  const Matrix output = matrix_from_json(out["output"]);
  REQUIRE(scores.rows() == tokens);
  REQUIRE(scores.cols() == tokens);
  REQUIRE(output.rows() == tokens);
  REQUIRE(output.cols() == d_head);
  check_matrix_close(scores, (q * k.transpose()) / std::sqrt(static_cast<float>(d_head)), 1e-5,
                     1e-6, "scores");
  check_matrix_close(weights, qkv::softmax_rows(scores), 1e-5, 1e-6, "weights");
  check_matrix_close(output, weights * v, 1e-5, 1e-6, "output");

  // Softmax's invariants on the printed weights.
  CHECK((weights.array() > 0.0f).all());
  for (Index i = 0; i < tokens; ++i) CHECK_THAT(weights.row(i).sum(), WithinAbs(1.0, 1e-5));
  check_matrix_close(vector_from_json(out["row_sums"]), weights.rowwise().sum(), 1e-6, 1e-6,
                     "row_sums");
  for (Index i = 0; i < tokens; ++i) {
    Index best_score = 0, best_weight = 0;
    scores.row(i).maxCoeff(&best_score);
    weights.row(i).maxCoeff(&best_weight);
    CHECK(best_score == best_weight);  // softmax keeps the order
  }
  // Each output is a convex combination of the value rows.
  for (Index c = 0; c < d_head; ++c) {
    CHECK((output.col(c).array() >= v.col(c).minCoeff() - 1e-6f).all());
    CHECK((output.col(c).array() <= v.col(c).maxCoeff() + 1e-6f).all());
  }

  // The worked row: e^(s - m), then the terms w_ij v_j and their sum.
  const Index row = std::min<Index>(1, tokens - 1);
  const Vector row_exp = vector_from_json(out["row_exp"]);
  REQUIRE(row_exp.size() == tokens);
  CHECK(row_exp.maxCoeff() == 1.0f);  // e^(m - m)
  check_matrix_close(row_exp / row_exp.sum(), weights.row(row).transpose(), 1e-5, 1e-7,
                     "row_exp / sum");
  const Matrix terms = matrix_from_json(out["by_hand_terms"]);
  REQUIRE(terms.rows() == tokens);
  REQUIRE(terms.cols() == d_head);
  for (Index j = 0; j < tokens; ++j)
    check_matrix_close(terms.row(j), weights(row, j) * v.row(j), 1e-6, 1e-7, "term");
  check_matrix_close(vector_from_json(out["by_hand_output"]), output.row(row).transpose(), 1e-5,
                     1e-6, "by_hand_output");

  // Temperature and entropy.
  CHECK(out["temperature"].get<double>() == temperature);
  const Matrix tempered = matrix_from_json(out["tempered_weights"]);
  check_matrix_close(tempered, qkv::softmax_rows_with_temperature(scores, temperature), 1e-5, 1e-6,
                     "tempered_weights");
  const Vector entropy = vector_from_json(out["entropy"]);
  const Vector tempered_entropy = vector_from_json(out["tempered_entropy"]);
  REQUIRE(entropy.size() == tokens);
  for (Index i = 0; i < tokens; ++i) {
    double h = 0, ht = 0;
    for (Index j = 0; j < tokens; ++j) {
      h -= weights(i, j) * std::log(static_cast<double>(weights(i, j)));
      if (tempered(i, j) > 0) ht -= tempered(i, j) * std::log(static_cast<double>(tempered(i, j)));
    }
    CHECK_THAT(entropy(i), WithinAbs(h, 1e-5));
    CHECK_THAT(tempered_entropy(i), WithinAbs(ht, 1e-5));
    CHECK(entropy(i) <= std::log(static_cast<double>(tokens)) + 1e-5);  // uniform is the maximum
    // A lower temperature never spreads the weights more, a higher never less.
    if (temperature < 1.0) CHECK(tempered_entropy(i) <= entropy(i) + 1e-5f);
    if (temperature > 1.0) CHECK(tempered_entropy(i) >= entropy(i) - 1e-5f);
  }
  const Vector sweep = vector_from_json(out["sweep_temperatures"]);
  const Matrix sweep_weights = matrix_from_json(out["sweep_weights"]);
  const Vector sweep_entropy = vector_from_json(out["sweep_entropy"]);
  REQUIRE(sweep_weights.rows() == sweep.size());
  for (Index t = 0; t < sweep.size(); ++t) {
    check_matrix_close(sweep_weights.row(t),
                       qkv::softmax_rows_with_temperature(scores.row(row), sweep(t)), 1e-5, 1e-6,
                       "sweep_weights");
    if (t > 0) CHECK(sweep_entropy(t) >= sweep_entropy(t - 1) - 1e-5f);
  }
  check_matrix_close(sweep_entropy, qkv::row_entropy(sweep_weights), 1e-5, 1e-6, "sweep_entropy");
}
}  // namespace

TEST_CASE("the default run: every matrix follows from X and the weights", "[chapter03]") {
  const json out = chapter_json();
  for (const char* key :
       {"x", "w_q", "w_k", "w_v", "q", "k", "v", "scores", "weights", "output", "tokens"})
    CHECK(out.contains(key));
  CHECK(out["tokens"].get<qkv::Labels>() == qkv::Labels{"the", "cat", "sat", "on", "the", "mat"});
  check_consistent(out, 6, 8, 4, 0.5);
  // The sweep's temperatures, and tau = 1 is the plain weights.
  CHECK(vector_from_json(out["sweep_temperatures"]) == qkv::vector_of({0.1f, 0.5f, 1, 2, 10}));
  check_matrix_close(matrix_from_json(out["sweep_weights"]).row(2),
                     matrix_from_json(out["weights"]).row(1), 1e-6, 1e-7, "tau = 1");
}

TEST_CASE("the chapter's X and weights are chapter 02's: the same seeded draws", "[chapter03]") {
  const json out = chapter_json({"--seed", "3", "--dim", "5", "--head-dim", "2"});
  qkv::Random random(3);
  const Matrix table = qkv::random_normal(random, 5, 5);  // 5 distinct words
  const qkv::QkvWeights w = qkv::random_qkv_weights(random, 5, 2);
  CHECK(matrix_from_json(out["x"]) == qkv::embed(table, {0, 1, 2, 3, 0, 4}));
  CHECK(matrix_from_json(out["w_q"]) == w.w_q);
  CHECK(matrix_from_json(out["w_k"]) == w.w_k);
  CHECK(matrix_from_json(out["w_v"]) == w.w_v);
}

TEST_CASE("shapes follow the size flags, and --temperature reaches the comparison", "[chapter03]") {
  for (const auto& [tokens, d_model, d_head, temperature] :
       std::vector<std::tuple<Index, Index, Index, double>>{
           {3, 5, 2, 0.5}, {1, 1, 1, 2.0}, {9, 16, 3, 0.05}, {2, 3, 7, 20.0}, {12, 4, 4, 1.0}}) {
    INFO("T = " << tokens << ", d_model = " << d_model << ", d_head = " << d_head
                << ", tau = " << temperature);
    const json out = chapter_json({"--tokens", std::to_string(tokens), "--dim",
                                   std::to_string(d_model), "--head-dim", std::to_string(d_head),
                                   "--temperature", fmt::format("{}", temperature), "--seed", "9"});
    check_consistent(out, tokens, d_model, d_head, temperature);
  }
  // One token attends only to itself: weight 1, output = its value.
  const json one = chapter_json({"--tokens", "1"});
  CHECK(matrix_from_json(one["weights"]) == Matrix::Ones(1, 1));
  CHECK(matrix_from_json(one["output"]) == matrix_from_json(one["v"]));
}

TEST_CASE("the overflow demonstration, by hand", "[chapter03]") {
  const json out = chapter_json();
  CHECK(vector_from_json(out["big_scores"]) == qkv::vector_of({1000, 999, 998}));
  CHECK(vector_from_json(out["tiny_scores"]) == qkv::vector_of({-1000, -1001, -1002}));
  // Naive: e^1000 is inf in float (inf / inf), e^-1000 is 0 (0 / 0): NaN, written as null.
  for (const char* key : {"naive_big", "naive_tiny"}) {
    INFO(key);
    REQUIRE(out[key].size() == 3);
    for (const auto& value : out[key]) CHECK(value.is_null());
  }
  // Stable: e^0, e^-1, e^-2 over their sum, the same for both rows.
  const double sum = 1 + std::exp(-1.0) + std::exp(-2.0);
  for (const char* key : {"stable_big", "stable_tiny"}) {
    INFO(key);
    const Vector stable = vector_from_json(out[key]);
    REQUIRE(stable.size() == 3);
    CHECK_THAT(stable(0), WithinRel(1 / sum, 1e-6));
    CHECK_THAT(stable(1), WithinRel(std::exp(-1.0) / sum, 1e-6));
    CHECK_THAT(stable(2), WithinRel(std::exp(-2.0) / sum, 1e-6));
  }
  // Where the naive formula does not overflow it agrees with the stable one.
  const Matrix scores = matrix_from_json(out["scores"]);
  const double difference = out["naive_difference"].get<double>();
  CHECK(difference < 1e-6);
  CHECK_THAT(
      difference,
      WithinAbs((qkv::naive_softmax_rows(scores) - qkv::softmax_rows(scores)).cwiseAbs().maxCoeff(),
                1e-9));
}

TEST_CASE("the narrated lesson prints the steps with the numbers of --json", "[chapter03]") {
  const std::string text = unwrapped(chapter_narration());
  const json out = chapter_json();
  const Matrix weights = matrix_from_json(out["weights"]);
  const Matrix v = matrix_from_json(out["v"]);
  const Vector by_hand = vector_from_json(out["by_hand_output"]);
  const Vector stable = vector_from_json(out["stable_big"]);
  for (const std::string& expected : std::vector<std::string>{
           "W (6 x 6) x V (6 x 4) -> O (6 x 4)", "weights (6 x 6)", "output (6 x 4)",
           "X (6 x 8) -> Q, K, V (6 x 4) -> S, W (6 x 6) -> O (6 x 4)",
           fmt::format("e^88 = {:.4g} still fits, e^89 = inf", std::exp(88.0f)),
           fmt::format("{:.3f}, {:.3f}, {:.3f}, with nothing", stable(0), stable(1), stable(2)),
           fmt::format("ln T = {:.4f}", std::log(6.0)),
           fmt::format("  {:.4f} * v_the   = {:.4f} * ({:7.3f}{:7.3f}{:7.3f}{:7.3f})",
                       weights(1, 0), weights(1, 0), v(0, 0), v(0, 1), v(0, 2), v(0, 3)),
           fmt::format("= o_cat = ({:7.3f}{:7.3f}{:7.3f}{:7.3f})", by_hand(0), by_hand(1),
                       by_hand(2), by_hand(3)),
           fmt::format("largest share, {:.0f}% of the weight", 100 * weights.row(1).maxCoeff())})
    CHECK_THAT(text, contains(expected));
}

TEST_CASE("the numbers quoted in the chapter text match the default run", "[chapter03]") {
  const std::string text = unwrapped(chapter_readme());  // sentences span lines
  const json out = chapter_json();
  const Matrix weights = matrix_from_json(out["weights"]);
  const Vector sweep_entropy = vector_from_json(out["sweep_entropy"]);
  CHECK_THAT(text,
             contains(fmt::format("*cat* gives itself the largest weight, {:.2f}", weights(1, 1))));
  CHECK_THAT(text, contains(fmt::format(
                       "from {:.2f} at $\\tau = 0.1$ to {:.2f} at $\\tau = 10$ ($\\ln 6 = {:.3f}$)",
                       sweep_entropy(0), sweep_entropy(4), std::log(6.0))));
  const Vector stable = vector_from_json(out["stable_big"]);
  CHECK_THAT(text,
             contains(fmt::format("{:.3f}, {:.3f}, {:.3f}.", stable(0), stable(1), stable(2))));
  CHECK(weights.col(0) == weights.col(4));  // "both *the* share equal weights"
}

TEST_CASE("the temperature lies from 0.05 to 20, and the largest sizes run together",
          "[chapter03]") {
  for (const char* temperature : {"0", "0.01", "0.0499", "20.5", "21"})
    check_rejected({"--temperature", temperature},
                   fmt::format("--temperature {} is out of range: give a number from 0.05 to 20",
                               temperature));
  CHECK(run_chapter({"--json", "--temperature", "0.05", "--tokens", "64", "--dim", "512",
                     "--head-dim", "512"})
            .exit_code == 0);
  CHECK(run_chapter({"--json", "--temperature", "20"}).exit_code == 0);
}

TEST_CASE("the svg flag writes the weights heatmap with token labels", "[chapter03]") {
  const auto figures = chapter_figures();
  REQUIRE(names_of(figures) == std::vector<std::string>{"weights.svg"});
  CHECK_THAT(figures.at("weights.svg"), contains("<svg"));
  CHECK_THAT(figures.at("weights.svg"), contains(">cat</text>"));
}

}  // namespace qkv::testing
