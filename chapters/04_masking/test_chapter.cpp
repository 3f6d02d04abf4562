// Chapter 04's executable, run as a learner would: every matrix it prints in --json is
// recomputed with the library from the inputs it printed (X and the weights), the masks are
// rebuilt from their definitions, and the chapter's claims are checked as invariants:
// masked weights are exactly 0, rows sum to 1, causality, padding, fully masked rows.

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "qkv/attention.hpp"
#include "qkv/chapter_test.hpp"
#include "qkv/masking.hpp"
#include "qkv/projection.hpp"

namespace qkv::testing {
namespace {

Mask mask_from_json(const json& rows) {
  const Matrix m = matrix_from_json(rows);
  REQUIRE(((m.array() == 0.0f) || (m.array() == 1.0f)).all());
  return m.array() == 1.0f;
}

bool same_mask(const Mask& a, const Mask& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && (a == b).all();
}

// The chapter's printed attention under `mask`, against the library's, plus the promises of
// masking: masked weights exactly 0, rows with a visible key sum to 1, empty rows all 0.
void check_attention(const Matrix& weights, const Matrix& output, const qkv::Qkv& p,
                     const Mask& mask, const std::string& what) {
  INFO(what);
  const auto expected = qkv::scaled_dot_product_attention(p.q, p.k, p.v, std::optional<Mask>(mask));
  check_matrix_close(weights, expected.weights, 1e-5, 1e-6, what + " weights");
  check_matrix_close(output, expected.output, 1e-5, 1e-6, what + " output");
  REQUIRE(weights.rows() == mask.rows());
  CHECK_FALSE(weights.hasNaN());
  CHECK_FALSE(output.hasNaN());
  for (Index i = 0; i < mask.rows(); ++i) {
    INFO("row " << i);
    CHECK((mask.row(i) || weights.row(i).array() == 0.0f).all());
    if (mask.row(i).any())
      CHECK_THAT(weights.row(i).sum(), WithinAbs(1.0, 1e-5));
    else
      CHECK((output.row(i).array() == 0.0f).all());
  }
}

// Everything one --json run prints, recomputed; the run had T = tokens, --window and --mask.
void check_run(const json& out, Index tokens, Index window, const std::string& choice) {
  const Matrix x = matrix_from_json(out["x"]);
  const qkv::QkvWeights w{matrix_from_json(out["w_q"]), matrix_from_json(out["w_k"]),
                          matrix_from_json(out["w_v"])};
  REQUIRE(x.rows() == tokens);
  const auto labels = out["tokens"].get<std::vector<std::string>>();
  REQUIRE(static_cast<Index>(labels.size()) == tokens);
  // An embedding lookup: the same token has the same row of X.
  for (Index i = 0; i < tokens; ++i)
    for (Index j = 0; j < tokens; ++j)
      if (labels[static_cast<std::size_t>(i)] == labels[static_cast<std::size_t>(j)])
        CHECK(x.row(i) == x.row(j));

  const qkv::Qkv p = qkv::project_qkv(x, w);
  check_matrix_close(matrix_from_json(out["q"]), p.q, 1e-5, 1e-6, "q");
  check_matrix_close(matrix_from_json(out["k"]), p.k, 1e-5, 1e-6, "k");
  check_matrix_close(matrix_from_json(out["v"]), p.v, 1e-5, 1e-6, "v");
  const Mask everything = Mask::Constant(tokens, tokens, true);
  const Mask causal = qkv::causal_mask(tokens);
  const Mask windowed = qkv::window_mask(tokens, window);

  // The mask --mask chose, its additive form, the masked scores, weights and output.
  const Mask mask = choice == "causal" ? causal : choice == "window" ? windowed : everything;
  CHECK(same_mask(mask_from_json(out["mask"]), mask));
  const Matrix additive = matrix_from_json(out["additive_mask"]);  // -inf is null: NaN
  const Matrix scores = matrix_from_json(out["scores"]);
  const Matrix raw_scores = qkv::attention_scores(p.q, p.k);
  for (Index i = 0; i < tokens; ++i)
    for (Index j = 0; j < tokens; ++j) {
      CHECK(std::isnan(additive(i, j)) == !mask(i, j));
      CHECK(std::isnan(scores(i, j)) == !mask(i, j));
      if (mask(i, j)) {
        CHECK(additive(i, j) == 0.0f);
        CHECK_THAT(scores(i, j),
                   WithinAbs(raw_scores(i, j), 1e-6 + 1e-5 * std::abs(raw_scores(i, j))));
      }
    }
  check_attention(matrix_from_json(out["weights"]), matrix_from_json(out["output"]), p, mask,
                  "--mask " + choice);
  check_attention(matrix_from_json(out["weights_none"]),
                  qkv::attention(p.q, p.k, p.v, std::optional<Mask>(everything)), p, everything,
                  "no mask");

  // Causal: the mask, the attention, and causality itself.
  CHECK(same_mask(mask_from_json(out["mask_causal"]), causal));
  const Matrix weights_causal = matrix_from_json(out["weights_causal"]);
  const Matrix output_causal = matrix_from_json(out["output_causal"]);
  check_attention(weights_causal, output_causal, p, causal, "causal");
  CHECK(weights_causal(0, 0) == 1.0f);  // the first token sees only itself
  check_matrix_close(vector_from_json(out["causal_row_sums"]), weights_causal.rowwise().sum(), 1e-6,
                     1e-6, "causal_row_sums");
  const Index changed = out["changed_token"].get<Index>();
  CHECK(changed == tokens / 2);
  const Matrix x_changed = matrix_from_json(out["x_changed"]);
  REQUIRE(x_changed.rows() == tokens);
  for (Index i = 0; i < tokens; ++i) CHECK((x_changed.row(i) == x.row(i)) == (i != changed));
  const qkv::Qkv p_changed = qkv::project_qkv(x_changed, w);
  const Matrix causal_changed = matrix_from_json(out["output_causal_changed"]);
  const Matrix none_changed = matrix_from_json(out["output_none_changed"]);
  check_matrix_close(
      causal_changed,
      qkv::attention(p_changed.q, p_changed.k, p_changed.v, std::optional<Mask>(causal)), 1e-5,
      1e-6, "output_causal_changed");
  check_matrix_close(none_changed, qkv::attention(p_changed.q, p_changed.k, p_changed.v), 1e-5,
                     1e-6, "output_none_changed");
  const qkv::Vector causal_diff = vector_from_json(out["causal_max_diff"]);
  const qkv::Vector none_diff = vector_from_json(out["none_max_diff"]);
  const Matrix none_output = qkv::attention(p.q, p.k, p.v);
  REQUIRE(causal_diff.size() == tokens);
  for (Index i = 0; i < tokens; ++i) {
    INFO("row " << i);
    CHECK(causal_diff(i) == (causal_changed - output_causal).row(i).cwiseAbs().maxCoeff());
    CHECK_THAT(none_diff(i),
               WithinAbs((none_changed - none_output).row(i).cwiseAbs().maxCoeff(), 1e-6));
    if (i < changed) CHECK(causal_diff(i) == 0.0f);  // exactly: not a bit moves
    if (i >= changed) CHECK(causal_diff(i) > 0.0f);  // through its positive weight
    CHECK(none_diff(i) > 0.0f);                      // without the mask everything moves
  }

  // Window.
  CHECK(out["window"].get<Index>() == window);
  CHECK(same_mask(mask_from_json(out["mask_window"]), windowed));
  check_attention(matrix_from_json(out["weights_window"]), matrix_from_json(out["output_window"]),
                  p, windowed, "window");
  if (window >= tokens) {
    CHECK(matrix_from_json(out["weights_window"]) == weights_causal);
    CHECK(matrix_from_json(out["output_window"]) == output_causal);
  }
  CHECK(out["window_1_max_diff"].get<double>() == 0.0);
  CHECK(qkv::attention(p.q, p.k, p.v, std::optional<Mask>(qkv::window_mask(tokens, 1))) == p.v);

  // Padding: three sequences, lengths T, ceil(2T/3), ceil(T/3), each with its own mask.
  const auto lengths = out["padding_lengths"].get<std::vector<Index>>();
  REQUIRE(lengths == std::vector<Index>{tokens, (2 * tokens + 2) / 3, (tokens + 2) / 3});
  const auto batch_tokens = out["padding_tokens"].get<std::vector<std::string>>();
  REQUIRE(static_cast<Index>(batch_tokens.size()) == 3 * tokens);
  const Matrix x_padding = matrix_from_json(out["x_padding"]);
  const Matrix x_garbage = matrix_from_json(out["x_padding_changed"]);
  const Mask mask_padding = mask_from_json(out["mask_padding"]);
  const Matrix weights_padding = matrix_from_json(out["weights_padding"]);
  const Matrix output_padding = matrix_from_json(out["output_padding"]);
  const Matrix output_garbage = matrix_from_json(out["output_padding_changed"]);
  const qkv::Vector padding_diff = vector_from_json(out["padding_max_diff"]);
  REQUIRE(x_padding.rows() == 3 * tokens);
  REQUIRE(padding_diff.size() == 3);
  std::vector<Index> expected_fully_masked;
  for (Index b = 0; b < 3; ++b) {
    INFO("sequence " << b);
    const Index length = lengths[static_cast<std::size_t>(b)];
    const Mask mb = qkv::query_key_padding_mask(tokens, length);
    CHECK(same_mask(mask_padding.middleRows(b * tokens, tokens), mb));
    for (Index i = 0; i < tokens; ++i) {
      const bool pad = batch_tokens[static_cast<std::size_t>(b * tokens + i)] == "<pad>";
      CHECK(pad == (i >= length));
      if (pad) expected_fully_masked.push_back(b * tokens + i);
      // Real tokens keep their embedding; only padded rows get garbage.
      CHECK((x_garbage.row(b * tokens + i) == x_padding.row(b * tokens + i)) == !pad);
    }
    const qkv::Qkv pb = qkv::project_qkv(x_padding.middleRows(b * tokens, tokens), w);
    check_attention(weights_padding.middleRows(b * tokens, tokens),
                    output_padding.middleRows(b * tokens, tokens), pb, mb, "padding");
    const qkv::Qkv gb = qkv::project_qkv(x_garbage.middleRows(b * tokens, tokens), w);
    const Matrix garbage_output = qkv::attention(gb.q, gb.k, gb.v, std::optional<Mask>(mb));
    check_matrix_close(output_garbage.middleRows(b * tokens, tokens), garbage_output, 1e-5, 1e-6,
                       "output_padding_changed");
    // The real tokens' outputs do not move by a single bit.
    CHECK(garbage_output.topRows(length) == output_padding.middleRows(b * tokens, length));
    CHECK(padding_diff(b) == 0.0f);
  }
  CHECK(out["fully_masked_rows"].get<std::vector<Index>>() == expected_fully_masked);
  for (Index r : expected_fully_masked) {
    CHECK((weights_padding.row(r).array() == 0.0f).all());
    CHECK((output_padding.row(r).array() == 0.0f).all());
  }

  // A row of -inf: the textbook formula gives NaN (null in JSON), qkv gives 0.
  for (const auto& value : out["textbook_fully_masked"]) CHECK(value.is_null());
  CHECK(out["textbook_fully_masked"].size() == 3);
  CHECK(vector_from_json(out["softmax_fully_masked"]) == qkv::Vector::Zero(3));
}

}  // namespace

TEST_CASE("every printed matrix matches the library, default flags", "[chapter04]") {
  const json out = chapter_json();
  check_run(out, 6, 3, "causal");
  CHECK(out["tokens"].get<std::vector<std::string>>() ==
        std::vector<std::string>{"the", "cat", "sat", "on", "the", "mat"});
  CHECK(out["padding_lengths"].get<std::vector<Index>>() == std::vector<Index>{6, 4, 2});
  CHECK(out["fully_masked_rows"].get<std::vector<Index>>() ==
        std::vector<Index>{10, 11, 14, 15, 16, 17});
}

TEST_CASE("every printed matrix matches the library, other sizes and masks", "[chapter04]") {
  check_run(chapter_json({"--mask", "window", "--window", "2", "--seed", "7"}), 6, 2, "window");
  check_run(chapter_json({"--mask", "none", "--tokens", "9", "--dim", "5", "--head-dim", "3"}), 9,
            3, "none");
  check_run(chapter_json({"--tokens", "4", "--window", "10", "--mask", "window"}), 4, 10, "window");
  check_run(chapter_json({"--tokens", "2", "--dim", "1", "--head-dim", "1", "--window", "1"}), 2, 1,
            "causal");
  const json one = chapter_json({"--tokens", "1"});
  check_run(one, 1, 3, "causal");
  CHECK(one["fully_masked_rows"].empty());  // T = 1: nothing to pad
}

TEST_CASE("the narrated lesson prints every step without color into a pipe", "[chapter04]") {
  const std::string text = chapter_narration();
  CHECK_THAT(text, contains_all({"Attention(Q, K, V) = softmax(Q K^T / sqrt(d_head) + M) V",
                                 "mask (6 x 6)", "weights with the causal mask (6 x 6)",
                                 "weights with a window of w = 3 (6 x 6)",
                                 "weights of a padded batch of three sequences (18 x 6)",
                                 "Lengths 6, 4 and 2, padded to T = 6", "Replace token 3 (\"on\")",
                                 "every weight is 0 / 0 = NaN", "Largest |O - V| with w = 1: 0.",
                                 "0.00e+00  0.00e+00  0.00e+00"}));
  CHECK(text.find("nan") == std::string::npos);  // no NaN is ever printed as a number
  CHECK_THAT(chapter_narration({"--window", "6"}), contains("Here w = 6, at least T"));
}

TEST_CASE("the mask is one of three, named in words", "[chapter04]") {
  check_rejected({"--mask", "padding"},
                 "--mask padding is not a choice: give causal, window or none");
  const auto help = run_chapter({"--help"}).out;
  CHECK_THAT(help, contains(" --mask NAME "));
  CHECK_THAT(help, contains("(causal, window or none; default causal)\n"));
}

TEST_CASE("the svg flag writes the four heatmaps", "[chapter04]") {
  const auto figures = chapter_figures();
  REQUIRE(names_of(figures) == std::vector<std::string>{"weights_causal.svg", "weights_none.svg",
                                                        "weights_padding.svg",
                                                        "weights_window.svg"});
  for (const auto& [name, svg] : figures) {
    INFO(name);
    CHECK(svg.size() > 500);
  }
}

}  // namespace qkv::testing
