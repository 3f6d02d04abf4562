// Every public function of the qkv library that takes operands whose shapes must fit
// together checks them and throws qkv::ShapeError naming itself and both shapes, e.g.
// "attention_scores: ... (Q is 3x4, K is 5x2)". A last test reads the headers and fails
// when a public function or class appears that is neither tested here nor listed as having
// no shapes to check, so a new chapter's header cannot slip past.

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "qkv/attention.hpp"
#include "qkv/catch.hpp"
#include "qkv/embedding.hpp"
#include "qkv/fast_attention.hpp"
#include "qkv/files.hpp"
#include "qkv/grouped_query.hpp"
#include "qkv/heatmap.hpp"
#include "qkv/kv_cache.hpp"
#include "qkv/lesson.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/print.hpp"
#include "qkv/projection.hpp"
#include "qkv/random.hpp"
#include "qkv/relevance.hpp"
#include "qkv/rope.hpp"
#include "qkv/timing.hpp"
#include "qkv/toy_model.hpp"
#include "qkv/train.hpp"

namespace qkv::testing {

namespace {

// Runs `call`, which must throw qkv::ShapeError whose message starts with "function: " and
// mentions each of `shapes` ("3x4", or "3 row labels", ...).
template <typename Call>
void check_shape_error(const std::string& function, const std::vector<std::string>& shapes,
                       Call&& call) {
  INFO(function);
  try {
    call();
    FAIL_CHECK("no error for mismatched shapes");
  } catch (const qkv::ShapeError& error) {
    const std::string what = error.what();
    INFO(what);
    CHECK(what.rfind(function + ": ", 0) == 0);
    for (const auto& shape : shapes) CHECK_THAT(what, contains(shape));
  }
}

Matrix ones(qkv::Index rows, qkv::Index cols) { return Matrix::Ones(rows, cols); }

qkv::MultiHeadWeights mha_weights(qkv::Index d_model, qkv::Index heads) {
  qkv::Random random(1);
  return qkv::random_multi_head_weights(random, d_model, heads);
}

}  // namespace

TEST_CASE("relevance.hpp checks that query, keys and values fit", "[shapes]") {
  const Vector a = Vector::Ones(3), b = Vector::Ones(2);
  check_shape_error("dot_product", {"3x1", "2x1"}, [&] { qkv::dot_product(a, b); });
  check_shape_error("cosine_similarity", {"3x1", "2x1"}, [&] { qkv::cosine_similarity(a, b); });
  check_shape_error("relevance_scores", {"3x1", "4x2"},
                    [&] { qkv::relevance_scores(a, ones(4, 2)); });
  check_shape_error("scaled_relevance_scores", {"3x1", "4x2"},
                    [&] { qkv::scaled_relevance_scores(a, ones(4, 2)); });
  check_shape_error("cosine_scores", {"3x1", "4x2"}, [&] { qkv::cosine_scores(a, ones(4, 2)); });
  check_shape_error("hard_retrieve", {"4x2", "3x5"},
                    [&] { qkv::hard_retrieve(b, ones(4, 2), ones(3, 5)); });
  check_shape_error("hard_retrieve", {"3x1", "4x2"},
                    [&] { qkv::hard_retrieve(a, ones(4, 2), ones(4, 5)); });
}

TEST_CASE("projection.hpp and embedding.hpp check X against the weights, Q against K", "[shapes]") {
  check_shape_error("project", {"3x4", "5x2"}, [] { qkv::project(ones(3, 4), ones(5, 2)); });
  qkv::QkvWeights w{ones(4, 2), ones(4, 3), ones(4, 2)};
  check_shape_error("project_qkv", {"4x2", "4x3"}, [&] { qkv::project_qkv(ones(3, 4), w); });
  w.w_k = ones(4, 2);
  check_shape_error("project_qkv", {"3x5", "4x2"}, [&] { qkv::project_qkv(ones(3, 5), w); });
  w.w_v = ones(5, 2);
  check_shape_error("project_qkv", {"3x4", "5x2"}, [&] { qkv::project_qkv(ones(3, 4), w); });
  check_shape_error("attention_scores", {"3x4", "5x2"},
                    [] { qkv::attention_scores(ones(3, 4), ones(5, 2)); });
  check_shape_error("attention_scores", {"3x4", "5x2"},
                    [] { qkv::attention_scores(MatrixD::Ones(3, 4), MatrixD::Ones(5, 2)); });
  // Not a pair of shapes, but the same promise: an id outside the table names both.
  CHECK_THROWS_WITH(qkv::embed(ones(4, 3), {0, 4}),
                    contains("embed: ") && contains("4") && contains("4x3"));
}

TEST_CASE("attention.hpp checks Q, K, V and the mask", "[shapes]") {
  const Matrix q = ones(3, 4), k = ones(5, 4), v = ones(5, 2);
  check_shape_error("scaled_dot_product_attention", {"3x4", "5x2"},
                    [&] { qkv::scaled_dot_product_attention(q, ones(5, 2), v); });
  check_shape_error("scaled_dot_product_attention", {"5x4", "6x2"},
                    [&] { qkv::scaled_dot_product_attention(q, k, ones(6, 2)); });
  check_shape_error("scaled_dot_product_attention", {"2x5", "3x5"}, [&] {
    qkv::scaled_dot_product_attention(q, k, v, qkv::Mask::Constant(2, 5, true));
  });
  check_shape_error("scaled_dot_product_attention", {"3x4", "5x2"}, [&] {
    qkv::scaled_dot_product_attention(MatrixD::Ones(3, 4), MatrixD::Ones(5, 2),
                                      MatrixD::Ones(5, 2));
  });
  check_shape_error("scaled_dot_product_attention", {"3x4", "5x2"},
                    [&] { qkv::check_attention_operands(q, ones(5, 2), v); });
  // attention() is scaled_dot_product_attention(...).output: the error is that function's.
  check_shape_error("scaled_dot_product_attention", {"5x4", "6x2"},
                    [&] { qkv::attention(q, k, ones(6, 2)); });
  check_shape_error("attention_from_scores", {"3x4", "5x2"},
                    [] { qkv::attention_from_scores(ones(3, 4), ones(5, 2)); });
}

TEST_CASE("masking.hpp checks the mask against the scores", "[shapes]") {
  check_shape_error("apply_mask", {"3x4", "3x5"},
                    [] { qkv::apply_mask(ones(3, 4), qkv::Mask::Constant(3, 5, true)); });
}

TEST_CASE("fast_attention.hpp checks Q, K, V and the query of the trace", "[shapes]") {
  const Matrix q = ones(3, 4), k = ones(5, 4), v = ones(5, 2);
  check_shape_error("tiled_attention", {"3x4", "5x2"},
                    [&] { qkv::tiled_attention(q, ones(5, 2), v); });
  check_shape_error("tiled_attention", {"5x4", "6x2"},
                    [&] { qkv::tiled_attention(q, k, ones(6, 2)); });
  check_shape_error("online_softmax_trace", {"1x3", "5x4"},
                    [&] { qkv::online_softmax_trace(Vector::Ones(3), k, v, 2); });
  check_shape_error("online_softmax_trace", {"5x4", "6x2"},
                    [&] { qkv::online_softmax_trace(Vector::Ones(4), k, ones(6, 2), 2); });
  auto w = mha_weights(8, 2);
  check_shape_error("tiled_multi_head_attention", {"3x6", "8x8"},
                    [&] { qkv::tiled_multi_head_attention(ones(3, 6), w); });
  w.w_o = ones(8, 6);
  check_shape_error("tiled_multi_head_attention", {"8x8", "8x6"},
                    [&] { qkv::tiled_multi_head_attention(ones(3, 8), w); });
}

TEST_CASE("multi_head.hpp checks the weights, the inputs, the heads and the mask", "[shapes]") {
  auto w = mha_weights(8, 2);
  const Matrix x = ones(3, 8);
  check_shape_error("multi_head_attention", {"3x6", "3x8"},
                    [&] { qkv::multi_head_attention(ones(3, 6), x, w); });
  check_shape_error("multi_head_attention", {"3x6"},
                    [&] { qkv::multi_head_attention(ones(3, 6), w); });
  check_shape_error("multi_head_attention", {"2x3", "3x8"},
                    [&] { qkv::multi_head_attention(x, w, qkv::Mask::Constant(2, 3, true)); });
  // The one core: Q, K, V already projected, each d_model wide; K and V the same rows.
  check_shape_error("attend_heads", {"3x6", "3x8"},
                    [&] { qkv::attend_heads(ones(3, 6), x, x, w); });
  check_shape_error("attend_heads", {"3x8", "4x8"},
                    [&] { qkv::attend_heads(x, x, ones(4, 8), w); });
  check_shape_error("attend_heads", {"3x8", "3x6"},
                    [&] { qkv::attend_heads(x, x, ones(3, 6), w); });
  // Its heads run scaled_dot_product_attention, whose error names the mask.
  check_shape_error("scaled_dot_product_attention", {"2x3", "3x3"},
                    [&] { qkv::attend_heads(x, x, x, w, qkv::Mask::Constant(2, 3, true)); });
  check_shape_error("merge_heads", {"3x4", "3x2"}, [] {
    qkv::merge_heads({ones(3, 4), ones(3, 2)});
  });
  w.w_v = ones(8, 6);
  check_shape_error("check_multi_head_weights", {"8x8", "8x6"},
                    [&] { qkv::check_multi_head_weights(w, "check_multi_head_weights"); });
  check_shape_error("multi_head_attention", {"8x8", "8x6"},
                    [&] { qkv::multi_head_attention(x, w); });
  check_shape_error("attend_heads", {"8x8", "8x6"}, [&] { qkv::attend_heads(x, x, x, w); });
  check_shape_error("head_weights", {"8x8", "8x6"}, [&] { qkv::head_weights(w, 0); });
  // Sizes, not shapes: heads that do not divide d_model are a ValueError naming both.
  CHECK_THROWS_WITH(qkv::split_heads(ones(3, 8), 3),
                    contains("split_heads: 3 heads") && contains("d_model = 8"));
  CHECK_THROWS_AS(qkv::split_heads(ones(3, 8), 3), qkv::ValueError);
}

TEST_CASE("kv_cache.hpp checks what is appended and decoded", "[shapes]") {
  qkv::KvCache cache(4, 8);
  check_shape_error("KvCache::append", {"1x8", "1x6"},
                    [&] { cache.append(ones(1, 8), ones(1, 6)); });
  check_shape_error("KvCache::append", {"2x8", "1x8"},
                    [&] { cache.append(ones(2, 8), ones(1, 8)); });
  CHECK(cache.size() == 0);
  qkv::WindowKvCache window(2, 8);
  check_shape_error("WindowKvCache::append", {"1x6", "1x8"},
                    [&] { window.append(ones(1, 6), ones(1, 8)); });
  CHECK(window.seen() == 0);
  const auto w = mha_weights(8, 2);
  check_shape_error("decode_step", {"1x6", "8x8"}, [&] { qkv::decode_step(ones(1, 6), w, cache); });
  check_shape_error("decode_step", {"1x6", "8x8"},
                    [&] { qkv::decode_step(ones(1, 6), w, window); });
  qkv::KvCache narrow(4, 6);
  check_shape_error("decode_step", {"6", "8"}, [&] { qkv::decode_step(ones(1, 8), w, narrow); });
  CHECK(narrow.size() == 0);
  check_shape_error("recompute_step", {"3x6", "8x8"}, [&] { qkv::recompute_step(ones(3, 6), w); });
  check_shape_error("generate_without_cache", {"3x6", "8x8"},
                    [&] { qkv::generate_without_cache(ones(3, 6), w, 1); });
}

TEST_CASE("rope.hpp checks positions against the rows, X against the weights", "[shapes]") {
  const qkv::VectorD two = qkv::rope_positions(2);
  check_shape_error("apply_rope", {"3x4", "2x1"}, [&] { qkv::apply_rope(ones(3, 4), two); });
  const auto w = mha_weights(8, 2);
  check_shape_error("rope_multi_head_attention", {"3x6", "8x8"},
                    [&] { qkv::rope_multi_head_attention(ones(3, 6), w, qkv::rope_positions(3)); });
  check_shape_error("rope_multi_head_attention", {"3x8", "2x1"},
                    [&] { qkv::rope_multi_head_attention(ones(3, 8), w, two); });
  qkv::KvCache cache(4, 8);
  check_shape_error("rope_decode_step", {"1x6", "8x8"},
                    [&] { qkv::rope_decode_step(ones(1, 6), w, cache); });
  check_shape_error("rope_decode_step", {"3x8", "2x1"},
                    [&] { qkv::rope_decode_step(ones(3, 8), w, cache, two); });
  qkv::KvCache narrow(4, 6);
  check_shape_error("rope_decode_step", {"6", "8"},
                    [&] { qkv::rope_decode_step(ones(1, 8), w, narrow); });
  CHECK(cache.size() == 0);
  CHECK(narrow.size() == 0);
}

TEST_CASE("grouped_query.hpp checks Q, K, V, the weights and the cache width", "[shapes]") {
  qkv::Random random(8);
  const qkv::GroupedWeights w = qkv::random_grouped_weights(random, 8, 4, 2, 2);
  check_shape_error("grouped_attend_heads", {"3x6", "3x4"},
                    [&] { qkv::grouped_attend_heads(ones(3, 6), ones(3, 4), ones(3, 4), w); });
  check_shape_error("grouped_attend_heads", {"3x4", "2x4"},
                    [&] { qkv::grouped_attend_heads(ones(3, 8), ones(3, 4), ones(2, 4), w); });
  // The loop both run: Q h d_head wide, K and V kv_heads d_head wide, with d_head from W_o.
  check_shape_error("attend_head_groups", {"3x6", "3x4"}, [&] {
    qkv::attend_head_groups(ones(3, 6), ones(3, 4), ones(3, 4), 4, 2, w.w_o);
  });
  check_shape_error("attend_head_groups", {"3x4", "3x2"}, [&] {
    qkv::attend_head_groups(ones(3, 8), ones(3, 4), ones(3, 2), 4, 2, w.w_o);
  });
  CHECK_THROWS_AS(qkv::attend_head_groups(ones(3, 8), ones(3, 4), ones(3, 4), 4, 3, w.w_o),
                  qkv::ValueError);
  CHECK_THROWS_WITH(qkv::attend_head_groups(ones(3, 8), ones(3, 4), ones(3, 4), 3, 1, w.w_o),
                    contains("must divide h = 3"));
  check_shape_error("grouped_query_attention", {"3x7", "8x8"},
                    [&] { qkv::grouped_query_attention(ones(3, 7), w); });
  check_shape_error("grouped_query_attention", {"2x2", "3x8"},
                    [&] { qkv::grouped_query_attention(ones(3, 8), w, qkv::causal_mask(2)); });
  qkv::GroupedWeights wide = w;
  wide.w_k = ones(8, 8);
  check_shape_error("check_grouped_weights", {"8x8", "8x8"},
                    [&] { qkv::check_grouped_weights(wide, "check_grouped_weights"); });
  qkv::MultiHeadWeights odd = mha_weights(8, 4);
  odd.w_k = ones(8, 6);
  check_shape_error("mean_pool_kv_heads", {"8x8", "8x6"}, [&] { qkv::mean_pool_kv_heads(odd, 2); });
  check_shape_error("grouped_decode_attention", {"1x6", "5x4"}, [&] {
    qkv::grouped_decode_attention(ones(1, 6), ones(5, 4), ones(5, 4), 4, 2);
  });
  check_shape_error("grouped_decode_attention", {"5x4", "4x4"}, [&] {
    qkv::grouped_decode_attention(ones(1, 8), ones(5, 4), ones(4, 4), 4, 2);
  });
  qkv::KvCache cache(4, 4), narrow(4, 6);
  check_shape_error("grouped_decode_step", {"1x6", "8x8"},
                    [&] { qkv::grouped_decode_step(ones(1, 6), w, cache); });
  check_shape_error("grouped_decode_step", {"6", "4"},
                    [&] { qkv::grouped_decode_step(ones(1, 8), w, narrow); });
  CHECK(cache.size() == 0);
  CHECK(narrow.size() == 0);
  check_shape_error("windowed_stack", {"3x7", "8x8"},
                    [&] { qkv::windowed_stack(ones(3, 7), w, 1, 2); });
}

TEST_CASE("printing and figures check their labels against the matrix", "[shapes]") {
  const Matrix m = ones(3, 2);
  const qkv::Labels two{"a", "b"}, three{"a", "b", "c"};
  check_shape_error("format_matrix", {"2 row labels", "3 rows"},
                    [&] { qkv::format_matrix(m, "{:4.1f}", two, two); });
  check_shape_error("format_matrix", {"3 column labels", "2 columns"},
                    [&] { qkv::format_matrix(m, "{:4.1f}", three, three); });
  // format_vector and print_* format through format_matrix, whose error it is.
  check_shape_error("format_matrix", {"3 column labels", "2 columns"},
                    [&] { qkv::format_vector(Vector::Ones(2), "{:4.1f}", three); });
  check_shape_error("format_matrix", {"2 row labels", "3 rows"},
                    [&] { qkv::print_matrix("m", m, "{:4.1f}", two); });
  check_shape_error("format_matrix", {"2 column labels", "3 columns"},
                    [&] { qkv::print_vector("v", Vector::Ones(3), "{:4.1f}", two); });
  check_shape_error("format_matrix_within", {"2 row labels", "3 rows"},
                    [&] { qkv::format_matrix_within(m, "{:4.1f}", two, two, 100, 32); });
  check_shape_error("format_matrix_within", {"3 column labels", "2 columns"},
                    [&] { qkv::format_matrix_within(m, "{:4.1f}", three, three, 100, 32); });
  check_shape_error("terminal_heatmap", {"2 row labels", "3 rows"},
                    [&] { qkv::terminal_heatmap(m, two, two, false); });
  check_shape_error("bar_chart", {"2 value labels", "3 values"},
                    [&] { qkv::bar_chart(Vector::Ones(3), two, false); });
  const auto svg = std::filesystem::temp_directory_path() / "qkv-test-shape-errors.svg";
  std::filesystem::remove(svg);
  check_shape_error("write_svg_heatmap", {"3 column labels", "2 columns"},
                    [&] { qkv::write_svg_heatmap(svg, "t", m, three, three); });
  CHECK_FALSE(std::filesystem::exists(svg));
  qkv::CommonOptions options;
  options.json = true;  // nothing printed
  qkv::Lesson lesson(options);
  check_shape_error("terminal_heatmap", {"2 row labels", "3 rows"}, [&] {
    options.json = false;
    qkv::Lesson narrating(options);
    narrating.heatmap("m", "m", m, two, two);
  });
}

TEST_CASE("the backward of attention and the training code check their operands", "[shapes]") {
  const Matrix q = ones(3, 2), k = ones(4, 2), v = ones(4, 5), p = ones(3, 4), d_o = ones(3, 5);
  check_shape_error("attention_backward", {"3x2", "4x3"},
                    [&] { qkv::attention_backward<float>(q, ones(4, 3), v, p, d_o); });
  check_shape_error("attention_backward", {"4x2", "3x5"},
                    [&] { qkv::attention_backward<float>(q, k, ones(3, 5), p, d_o); });
  check_shape_error("attention_backward", {"3x2", "4x3"},
                    [&] { qkv::attention_backward<float>(q, k, v, ones(4, 3), d_o); });
  check_shape_error("attention_backward", {"4x5", "3x4"},
                    [&] { qkv::attention_backward<float>(q, k, v, p, ones(3, 4)); });
  check_shape_error("softmax_rows_backward", {"3x4", "4x3"},
                    [&] { qkv::softmax_rows_backward<float>(p, ones(4, 3)); });
  const qkv::HeadWeightsT<float> w{ones(4, 2), ones(4, 2), ones(4, 2)};
  check_shape_error("head_forward", {"3x5", "4x2"}, [&] { qkv::head_forward(ones(3, 5), w); });
  const auto f = qkv::head_forward(ones(3, 4), w);
  check_shape_error("head_backward", {"3x2", "2x2"},
                    [&] { qkv::head_backward(ones(3, 4), w, f, ones(2, 2)); });
  check_shape_error("max_relative_error", {"2x2", "2x3"}, [&] {
    qkv::max_relative_error(qkv::MatrixD::Ones(2, 2), qkv::MatrixD::Ones(2, 3));
  });
  qkv::Adam adam({});
  Matrix param = ones(2, 2);
  const Matrix wrong = ones(2, 3);
  check_shape_error("Adam::step", {"2x2", "2x3"}, [&] { adam.step({&param}, {&wrong}, 0.1); });
  const qkv::RecallTask task{.pairs = 2, .keys = 3, .values = 2};
  qkv::Random random(1);
  const qkv::RecallModel model = qkv::init_recall_model(task, 4, 1, random);
  const qkv::RecallBatch batch = qkv::make_recall_batch(task, random, 3);
  const qkv::RecallForward forward = qkv::recall_forward(model, batch);
  check_shape_error("recall_backward", {"3x2", "3x5"},
                    [&] { qkv::recall_backward(model, batch, forward, ones(3, 5)); });
}

// The public functions and classes of common/include/qkv/*.hpp that take no operands whose
// shapes must agree (sizes are checked as ValueError where they can be wrong), with the
// ones tested above: together they must name everything the headers declare.
TEST_CASE("every public function and class is shape-tested or has no shapes to check", "[shapes]") {
  const std::set<std::string> shape_tested{
      "dot_product", "cosine_similarity", "relevance_scores", "scaled_relevance_scores",
      "cosine_scores", "hard_retrieve", "project", "project_qkv", "attention_scores", "embed",
      "scaled_dot_product_attention", "check_attention_operands", "attention", "apply_mask",
      "attention_from_scores", "multi_head_attention", "attend_heads", "format_matrix_within",
      "merge_heads", "check_multi_head_weights", "head_weights", "split_heads", "decode_step",
      "recompute_step", "generate_without_cache", "format_matrix", "format_vector", "print_matrix",
      "print_vector", "terminal_heatmap", "bar_chart", "write_svg_heatmap", "tiled_attention",
      "online_softmax_trace", "tiled_multi_head_attention",
      // rope.hpp (chapter 07)
      "apply_rope", "rope_multi_head_attention", "rope_decode_step",
      // grouped_query.hpp (chapter 08)
      "grouped_attend_heads", "attend_head_groups", "grouped_query_attention",
      "check_grouped_weights", "mean_pool_kv_heads", "grouped_decode_attention",
      "grouped_decode_step", "windowed_stack",
      // attention_backward.hpp and train.hpp (chapter 10)
      "softmax_rows_backward", "attention_backward", "head_forward", "head_backward",
      "max_relative_error", "recall_backward", "Adam",
      // classes
      "KvCache", "WindowKvCache", "Lesson"};
  const std::set<std::string> no_shapes{
      // one operand, any shape
      "softmax_rows", "softmax", "naive_softmax_rows", "softmax_rows_with_temperature",
      "row_entropy", "rank_by_relevance", "most_relevant", "spread_of", "mask_as_matrix",
      "additive_mask", "shape_of", "shape_label",
      // sizes only (ValueError when negative, zero or not dividing)
      "mask_where", "causal_mask", "window_mask", "padding_mask", "query_key_padding_mask",
      "random_normal", "random_uniform", "init_linear_weight", "random_qkv_weights",
      "random_multi_head_weights", "require_heads_divide", "qkv_parameter_count",
      "multi_head_parameter_count", "kv_cache_bytes", "cached_step_flops", "recompute_step_flops",
      "token_labels",
      // no matrices at all
      "build_vocabulary", "matrix_from_rows", "vector_of", "require_shapes", "require",
      "report_error", "stdout_supports_color", "write_file_atomically", "json_number",
      "json_string", "color_mode", "color_mode_for", "display_columns", "wrap_words",
      "parse_integer", "parse_unsigned", "parse_number", "parse_as", "run", "now_seconds",
      "format_cell", "format_numbers", "numbered_labels", "join", "with_commas", "human_bytes",
      "toy_model", "dot_product_terms", "plural", "median_seconds", "padded_batch",
      "add_toy_model_flags",
      // rope.hpp: sizes and one operand, any shape
      "rope_frequencies", "rope_positions", "rope_angles", "rotate_half_permutation",
      "to_rotate_half_layout", "sinusoidal_positions", "RopeConfig",
      // grouped_query.hpp: sizes and counts only, and plain data
      "kv_head_of", "require_kv_heads_divide", "random_grouped_weights", "decode_attention_flops",
      "decode_cache_bytes", "GroupedWeights", "GroupedResult",
      // attention_backward.hpp and train.hpp: any shape, sizes (ValueError), or plain data
      "central_differences", "cross_entropy", "make_recall_batch", "recall_labels",
      "init_recall_model", "parameters", "recall_forward", "recall_accuracy", "attention_hit_rate",
      "learning_rate_at", "train_recall", "sparkline", "write_svg_curve", "AdamOptions",
      "AttentionGradientsT", "AttentionLayer", "CrossEntropy", "HeadForwardT", "HeadGradientsT",
      "HeadWeightsT", "RecallBatch", "RecallForward", "RecallModel", "RecallTask", "TrainOptions",
      "TrainProgress",
      // macros that the declaration pattern reads as a call at column 0
      "QKV_EIGEN_KERNELS",
      // classes and structs without shaped arguments, or plain data
      "Error", "ShapeError", "ValueError", "NotDone", "Cli", "CommonOptions", "JsonObject",
      "Random", "Spread", "QkvWeights", "Qkv", "Vocabulary", "AttentionResultT", "MultiHeadWeights",
      "MultiHeadResult", "Child", "Limits", "Options", "Result", "ToyModel", "Labels",
      "PaddedBatch", "TiledAttentionOptions", "TiledAttentionResult", "OnlineSoftmaxState"};

  const std::filesystem::path headers =
      std::filesystem::path(QKV_TEST_DATA_DIR) / "../../include/qkv";
  // A declaration at namespace level (column 0): "[return type] name(" or "class Name".
  static const std::regex function(
      R"(^(?!template|namespace|struct|class|using|return|#|//|\s)(?:[\w:<>,*&\s]+?[\s*&])?(\w+)\()");
  static const std::regex type(R"(^(?:class|struct) (\w+))");
  std::set<std::string> declared;
  for (const auto& entry : std::filesystem::directory_iterator(headers)) {
    if (entry.path().extension() != ".hpp") continue;
    std::ifstream in(entry.path());
    bool in_detail = false;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("namespace detail", 0) == 0) in_detail = true;
      if (line.rfind("}  // namespace detail", 0) == 0) in_detail = false;
      std::smatch m;
      if (!in_detail && (std::regex_search(line, m, function) || std::regex_search(line, m, type)))
        declared.insert(m[1]);
    }
  }
  REQUIRE(declared.count("attention_scores") == 1);  // the headers were found and read
  for (const auto& name : declared) {
    INFO(name << ": a new public function or class: test its shape errors in "
                 "common/tests/test_shape_errors.cpp, or list it there among those with no "
                 "shapes to check");
    CHECK((shape_tested.count(name) + no_shapes.count(name)) == 1);
  }
}

}  // namespace qkv::testing
