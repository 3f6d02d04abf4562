// Chapter 05's executable, run as a learner would: every matrix it prints in --json is
// recomputed with the library from the inputs it printed (x and the four weights), the
// shapes are checked against the flags, the parameter counts against the formula, and the
// flags, reproducibility and SVG figures are checked too.

#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "qkv/chapter_test.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"

namespace qkv::testing {
namespace {

void check_shape(const Matrix& m, Index rows, Index cols, const std::string& what) {
  INFO(what << " is " << m.rows() << "x" << m.cols() << ", expected " << rows << "x" << cols);
  CHECK(m.rows() == rows);
  CHECK(m.cols() == cols);
}

struct Sizes {
  Index tokens, d_model, heads;
  bool causal;
};

std::vector<std::string> flags_of(const Sizes& s) {
  std::vector<std::string> flags{"--tokens", std::to_string(s.tokens),
                                 "--dim",    std::to_string(s.d_model),
                                 "--heads",  std::to_string(s.heads)};
  if (s.causal) flags.emplace_back("--causal");
  return flags;
}

}  // namespace

TEST_CASE("every printed matrix is multi-head attention of the printed inputs", "[chapter05]") {
  for (const Sizes& s :
       {Sizes{6, 8, 2, false},                          // the defaults
        Sizes{6, 8, 2, true}, Sizes{1, 4, 4, false},    // one token; d_head = 1
        Sizes{5, 6, 1, true},                           // one head
        Sizes{7, 12, 3, true}, Sizes{9, 24, 4, false},  // wider than the printed limit
        Sizes{4, 8, 8, true}}) {
    INFO("--tokens " << s.tokens << " --dim " << s.d_model << " --heads " << s.heads
                     << (s.causal ? " --causal" : ""));
    const json out = chapter_json(flags_of(s));
    const Index d_head = s.d_model / s.heads;

    // The inputs, shaped as the flags say.
    const Matrix x = matrix_from_json(out["x"]);
    check_shape(x, s.tokens, s.d_model, "x");
    const auto w = layer_weights_from_json<qkv::MultiHeadWeights>(out, s.heads);
    for (const char* name : {"w_q", "w_k", "w_v", "w_o"})
      check_shape(matrix_from_json(out[name]), s.d_model, s.d_model, name);
    // nn.Linear's initialisation: |w| <= 1 / sqrt(d_model).
    const double bound = 1.0 / std::sqrt(static_cast<double>(s.d_model));
    for (const Matrix* m : {&w.w_q, &w.w_k, &w.w_v, &w.w_o})
      CHECK(m->cwiseAbs().maxCoeff() <= bound);
    CHECK(out["d_head"].get<Index>() == d_head);

    // Every computed matrix, recomputed by the library from those inputs.
    const std::optional<qkv::Mask> mask =
        s.causal ? std::optional<qkv::Mask>(qkv::causal_mask(s.tokens)) : std::nullopt;
    const auto expected = qkv::multi_head_attention(x, w, mask);
    check_matrix_close(matrix_from_json(out["q"]), Matrix(x * w.w_q), 1e-5, 1e-6, "q");
    check_matrix_close(matrix_from_json(out["k"]), Matrix(x * w.w_k), 1e-5, 1e-6, "k");
    check_matrix_close(matrix_from_json(out["v"]), Matrix(x * w.w_v), 1e-5, 1e-6, "v");
    const Matrix q_head0 = matrix_from_json(out["q_head0"]);
    check_shape(q_head0, s.tokens, d_head, "q_head0");
    CHECK(q_head0 == matrix_from_json(out["q"]).leftCols(d_head));  // a split copies

    REQUIRE(static_cast<Index>(out["weights"].size()) == s.heads);
    REQUIRE(static_cast<Index>(out["heads"].size()) == s.heads);
    for (Index i = 0; i < s.heads; ++i) {
      const auto at = static_cast<std::size_t>(i);
      const Matrix weights = matrix_from_json(out["weights"][at]);
      const Matrix head = matrix_from_json(out["heads"][at]);
      check_shape(weights, s.tokens, s.tokens, "weights of head " + std::to_string(i));
      check_shape(head, s.tokens, d_head, "output of head " + std::to_string(i));
      check_matrix_close(weights, expected.weights[at], 1e-5, 1e-6, "weights");
      check_matrix_close(head, expected.heads[at], 1e-5, 1e-6, "head output");
      for (Index r = 0; r < s.tokens; ++r) {
        CHECK_THAT(weights.row(r).sum(), WithinAbs(1.0, 1e-5));
        if (s.causal)  // the shared mask: nothing above the diagonal, in every head
          for (Index c = r + 1; c < s.tokens; ++c) CHECK(weights(r, c) == 0.0f);
      }
    }
    const Matrix concat = matrix_from_json(out["concat"]);
    const Matrix output = matrix_from_json(out["output"]);
    check_shape(concat, s.tokens, s.d_model, "concat");
    check_shape(output, s.tokens, s.d_model, "output");
    check_matrix_close(concat, expected.concat, 1e-5, 1e-6, "concat");
    check_matrix_close(output, expected.output, 1e-5, 1e-6, "output");

    // The separate single-head attentions and the sum of per-head blocks: the same output,
    // and the printed differences are the differences of the printed matrices.
    const Matrix separate = matrix_from_json(out["separate_output"]);
    const Matrix summed = matrix_from_json(out["summed_output"]);
    check_matrix_close(separate, expected.output, 1e-5, 1e-6, "separate_output");
    check_matrix_close(summed, expected.output, 1e-5, 1e-6, "summed_output");
    const double separate_difference = out["separate_max_abs_difference"].get<double>();
    const double summed_difference = out["summed_max_abs_difference"].get<double>();
    CHECK_THAT(separate_difference,
               WithinAbs((separate - output).cast<double>().cwiseAbs().maxCoeff(), 1e-9));
    CHECK_THAT(summed_difference,
               WithinAbs((summed - output).cast<double>().cwiseAbs().maxCoeff(), 1e-9));
    CHECK(separate_difference < 1e-5);
    CHECK(summed_difference < 1e-5);

    // 4 d_model^2, whatever h is; GPT-2 small with biases: 4 * 768^2 + 4 * 768.
    CHECK(out["parameter_count"].get<Index>() == 4 * s.d_model * s.d_model);
    CHECK(out["gpt2_small_parameter_count"].get<Index>() == 2'362'368);
  }
}

TEST_CASE("the narrated lesson prints the shapes at every step and the parameter counts",
          "[chapter05]") {
  const std::string text = chapter_narration({"--tokens", "5", "--dim", "12", "--heads", "3"});
  // T x d_model -> h x T x d_head -> T x d_model
  CHECK_THAT(text,
             contains_all({"x (5 x 12)", "Q = X W_q              (5 x 12)",
                           "split_heads(Q, h)      3 x (5 x 4)      h x T x d_head",
                           "heads O_1 .. O_h       3 x (5 x 4)", "merge_heads -> concat  (5 x 12)",
                           "output = concat W_o    (5 x 12)", "q_head0 (5 x 4)"}));
  for (const char* head :
       {"head 0: attention weights", "head 1: attention weights", "head 2: attention weights"})
    CHECK_THAT(text, contains(head));
  CHECK(text.find("head 3: attention weights") == std::string::npos);
  CHECK_THAT(text, contains("softmax(Q_i K_i^T / sqrt(4) + M) V_i"));
  // 4 * 12^2 = 576 = 3 heads * (3 * 12 * 4) + 12^2
  CHECK_THAT(text,
             contains_all({"= 4 * 12^2 = 576", "= 3 * 144 + 144 = 576",
                           "4 * 768^2 + 4 * 768 = 2,359,296 + 3,072 = 2,362,368",
                           "max |separate heads, concatenated, times W_o - split-and-merge| = "}));

  // The printed differences are the recorded ones (printed with 3 significant digits).
  const json out = chapter_json({"--tokens", "5", "--dim", "12", "--heads", "3"});
  CHECK_THAT(text, contains(fmt::format("split-and-merge| = {:.3g}\n",
                                        out["separate_max_abs_difference"].get<double>())));
  CHECK_THAT(text, contains(fmt::format("sum_i O_i W_o^(i) - split-and-merge| = {:.3g}\n",
                                        out["summed_max_abs_difference"].get<double>())));

  // Matrices wider than 16 columns are recorded but not printed.
  const std::string wide = chapter_narration({"--dim", "32", "--heads", "4"});
  CHECK_THAT(wide, contains("w_q (32 x 32): the middle columns left out; --json has every number"));
  CHECK_THAT(wide, contains("q_head0 (6 x 8)"));
}

TEST_CASE("heads that do not divide the dimension exit 2, naming both flags", "[chapter05]") {
  check_rejected({"--heads", "3"}, "error: --heads 3 does not divide --dim 8");  // the default 8
  check_rejected({"--heads", "3", "--dim", "8"}, "error: --heads 3 does not divide --dim 8");
  check_rejected({"--dim", "10", "--heads", "4"}, "--heads 4 does not divide --dim 10");
  check_rejected({"--dim", "8", "--heads", "16"}, "--heads 16 does not divide --dim 8");
  // The largest sizes together are accepted.
  CHECK(run_chapter({"--tokens", "64", "--dim", "64", "--heads", "64", "--json"}).exit_code == 0);
  const auto help = run_chapter({"--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, contains("--causal"));
  CHECK_THAT(help.out, contains("must divide --dim"));
}

TEST_CASE("the svg flag writes one heatmap per head, and nothing else", "[chapter05]") {
  const auto figures = chapter_figures({"--heads", "4"});
  CHECK(names_of(figures) == std::vector<std::string>{"weights_head0.svg", "weights_head1.svg",
                                                      "weights_head2.svg", "weights_head3.svg"});
  for (const auto& [name, svg] : figures) {
    INFO(name);
    CHECK_FALSE(svg.empty());
  }
}

}  // namespace qkv::testing
