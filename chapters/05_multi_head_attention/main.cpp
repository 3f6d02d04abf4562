// Chapter 05: multi-head attention.
//
// d_model is split into h heads of d_head = d_model / h. Each head projects the tokens into
// its own d_head-wide queries, keys and values, attends there, and hands back T x d_head;
// the heads are concatenated to T x d_model again and mixed by the output projection W_o.
// Run with --help for the flags; the chapter text is README.md.

#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

#include "qkv/cli.hpp"
#include "qkv/lesson.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/print.hpp"
#include "qkv/random.hpp"

int main(int argc, char** argv) try {
  qkv::Cli cli("05_multi_head_attention",
               "Chapter 05: multi-head attention, h heads attending in parallel subspaces");
  qkv::Index tokens = 6, d_model = 8, heads = 2;
  bool causal = false;
  cli.add_size("--tokens", tokens, "number of tokens T", 1, 64);
  cli.add_size("--dim", d_model, "d_model, the width of every token", 1, 512);
  cli.add_size("--heads", heads, "h, the number of heads (must divide --dim)", 1, 64);
  cli.add_flag("--causal", causal,
               "apply the causal mask (token i sees tokens 0..i) in every head");
  cli.require_divides("--heads", heads, "--dim", d_model);
  if (auto exit_code = cli.parse(argc, argv)) return *exit_code;
  qkv::Lesson lesson(cli.common());

  //! [setup]
  const qkv::Index d_head = d_model / heads;  // --heads divides --dim: checked by the Cli
  qkv::Random random(cli.common().seed);
  const qkv::Matrix x = qkv::random_normal(random, tokens, d_model);  // T x d_model
  const qkv::MultiHeadWeights w = qkv::random_multi_head_weights(random, d_model, heads);
  const std::optional<qkv::Mask> mask =
      causal ? std::optional<qkv::Mask>(qkv::causal_mask(tokens)) : std::nullopt;
  //! [setup]
  const qkv::Labels token_labels = qkv::numbered_labels("t", tokens);
  // "h0.0", "h0.1", ..., "h1.0", ...: column j belongs to head j / d_head, as its dimension
  // j % d_head.
  qkv::Labels head_labels;
  for (qkv::Index j = 0; j < d_model; ++j)
    head_labels.push_back(fmt::format("h{}.{}", j / d_head, j % d_head));

  lesson.heading("One layer, h heads");
  lesson.say(
      "One attention head compares every token with every other in one way: one set of "
      "queries, keys and values. Multi-head attention runs h heads side by side, each with its "
      "own projections, so one head can track, say, the previous token while another tracks "
      "the subject of the sentence. They do not make the layer wider: d_model = {} is split "
      "into h = {} heads of d_head = d_model / h = {} numbers each.",
      d_model, heads, d_head);
  lesson.say("The input: T = {} random tokens, one row each (T x d_model).", tokens);
  lesson.show("x", x, token_labels, qkv::numbered_labels("x", d_model));
  lesson.say(
      "The weights: W_q, W_k, W_v and W_o, each d_model x d_model, drawn like PyTorch's "
      "nn.Linear. The columns of W_q, W_k and W_v are labeled by the head they belong to: "
      "column h1.0 is dimension 0 of head 1.");
  lesson.show("w_q", w.w_q, {}, head_labels);
  lesson.show("w_k", w.w_k, {}, head_labels);
  lesson.show("w_v", w.w_v, {}, head_labels);
  lesson.show("w_o", w.w_o, head_labels, {});

  //! [split]
  const qkv::Matrix q = x * w.w_q;  // T x d_model: all heads' queries side by side
  const qkv::Matrix k = x * w.w_k;
  const qkv::Matrix v = x * w.w_v;
  const std::vector<qkv::Matrix> q_heads = qkv::split_heads(q, heads);  // h x (T x d_head)
  //! [split]
  lesson.heading("Project once, then split into heads");
  lesson.say(
      "One product X W_q computes the queries of all heads at once; head i owns columns "
      "i d_head .. (i+1) d_head - 1. split_heads cuts them apart. The same happens to K and V.");
  lesson.line("{:<22} {:<16} {}", "X", qkv::shape_label(tokens, d_model), "T x d_model");
  lesson.line("{:<22} {:<16} {}", "Q = X W_q", qkv::shape_label(q.rows(), q.cols()), "T x d_model");
  lesson.line("{:<22} {:<16} {}", "split_heads(Q, h)",
              fmt::format("{} x {}", q_heads.size(),
                          qkv::shape_label(q_heads.front().rows(), q_heads.front().cols())),
              "h x T x d_head");
  lesson.say("");
  lesson.show("q", q, token_labels, head_labels);
  lesson.record("k", k, "v", v);
  lesson.show("q_head0", q_heads.front(), token_labels, qkv::numbered_labels("h0.", d_head));

  //! [attend]
  const qkv::MultiHeadResult result = qkv::multi_head_attention(x, w, mask);
  //! [attend]
  lesson.heading("Each head attends in its own subspace");
  lesson.say(
      "Head i runs chapter 03's attention on its slice, scaled by sqrt(d_head), not "
      "sqrt(d_model): the scores are dot products of d_head numbers.");
  lesson.line("O_i = softmax(Q_i K_i^T / sqrt({}) + M) V_i      ({} x {} weights, {} x {} output)",
              d_head, tokens, tokens, tokens, d_head);
  if (causal)
    lesson.say(
        "--causal: every head gets the same causal mask M: token i sees tokens 0..i, so "
        "every weight above the diagonal is 0 in every head.");
  else
    lesson.say("No mask (M = 0): every token sees every token. Add --causal to mask the future.");
  for (std::size_t i = 0; i < result.weights.size(); ++i)
    lesson.heatmap(fmt::format("weights_head{}", i),
                   fmt::format("head {}: attention weights, query rows, key columns", i),
                   result.weights[i], token_labels, token_labels);
  lesson.record("weights", result.weights, "heads", result.heads);
  lesson.say(
      "The heads were given the same tokens but different projections, so they spread their "
      "weight differently. In a trained model that is the point: each head learns its own "
      "notion of relevance.");

  lesson.heading("Concatenate, then mix with W_o");
  lesson.say(
      "The h outputs of T x d_head go back side by side (merge_heads), T x d_model again, and "
      "the output projection W_o mixes them: every output column reads from every head.");
  lesson.line("{:<22} {:<16} {}", "heads O_1 .. O_h",
              fmt::format("{} x {}", heads, qkv::shape_label(tokens, d_head)), "h x T x d_head");
  lesson.line("{:<22} {:<16} {}", "merge_heads -> concat",
              qkv::shape_label(result.concat.rows(), result.concat.cols()), "T x d_model");
  lesson.line("{:<22} {:<16} {}", "output = concat W_o",
              qkv::shape_label(result.output.rows(), result.output.cols()), "T x d_model");
  lesson.say("");
  lesson.show("concat", result.concat, token_labels, head_labels);
  lesson.show("output", result.output, token_labels, qkv::numbered_labels("y", d_model));

  //! [separate]
  // The same layer as h independent single-head attentions (chapter 03), each with its
  // own d_model x d_head slice of W_q, W_k, W_v, concatenated by hand and mixed by W_o.
  qkv::Matrix separate_concat(tokens, d_model);
  qkv::Matrix summed = qkv::Matrix::Zero(tokens, d_model);
  for (qkv::Index i = 0; i < heads; ++i) {
    const qkv::QkvWeights slice = qkv::head_weights(w, i);
    const qkv::Matrix o_i =
        qkv::scaled_dot_product_attention(qkv::Matrix(x * slice.w_q), qkv::Matrix(x * slice.w_k),
                                          qkv::Matrix(x * slice.w_v), mask)
            .output;
    separate_concat.middleCols(i * d_head, d_head) = o_i;
    summed += o_i * w.w_o.middleRows(i * d_head, d_head);  // head i's rows of W_o
  }
  const qkv::Matrix separate_output = separate_concat * w.w_o;
  //! [separate]
  const double separate_difference = (separate_output - result.output).cwiseAbs().maxCoeff();
  const double summed_difference = (summed - result.output).cwiseAbs().maxCoeff();
  lesson.heading("h single-head attentions give the same layer");
  lesson.say(
      "Nothing in split-and-merge is more than bookkeeping. Run h separate single-head "
      "attentions, head i with columns i d_head .. (i+1) d_head - 1 of W_q, W_k and W_v "
      "(d_model x d_head each, chapter 02's shapes), put their outputs side by side and "
      "multiply by W_o: the same numbers, up to float rounding.");
  lesson.line("max |separate heads, concatenated, times W_o - split-and-merge| = {:.3g}",
              separate_difference);
  lesson.say(
      "And since a block row times a matrix is a sum of blocks, [O_1 ... O_h] W_o = "
      "sum_i O_i W_o^(i), where W_o^(i) is head i's d_head rows of W_o: each head writes "
      "into the output through its own rows.");
  lesson.line("max |sum_i O_i W_o^(i) - split-and-merge| = {:.3g}", summed_difference);
  lesson.record("separate_output", separate_output, "separate_max_abs_difference",
                separate_difference, "summed_output", summed, "summed_max_abs_difference",
                summed_difference);

  //! [parameters]
  const qkv::Index parameters = qkv::multi_head_parameter_count(d_model);
  const qkv::Index per_head = qkv::qkv_parameter_count(d_model, d_head);  // 3 d_model d_head
  const qkv::Index gpt2_weights = qkv::multi_head_parameter_count(768);
  const qkv::Index gpt2_parameters = qkv::multi_head_parameter_count(768, /*with_biases=*/true);
  //! [parameters]
  lesson.heading("Parameters: heads split d_model, they add nothing");
  lesson.say(
      "W_q, W_k, W_v and W_o are d_model x d_model each: 4 d_model^2 weights, whatever h is. "
      "Counted per head: head i owns 3 d_model d_head numbers of W_q, W_k, W_v, and W_o is "
      "shared.");
  lesson.line("4 d_model^2                       = 4 * {}^2 = {}", d_model,
              qkv::with_commas(parameters));
  lesson.line("h 3 d_model d_head + d_model^2    = {} * {} + {} = {}", heads,
              qkv::with_commas(per_head), qkv::with_commas(d_model * d_model),
              qkv::with_commas(heads * per_head + d_model * d_model));
  lesson.say(
      "A GPT-2-small layer has d_model = 768 and 12 heads of 64; its projections also have "
      "biases, one per output number, 4 d_model of them:");
  lesson.line("4 * 768^2 + 4 * 768 = {} + {} = {}", qkv::with_commas(gpt2_weights),
              qkv::with_commas(gpt2_parameters - gpt2_weights), qkv::with_commas(gpt2_parameters));
  lesson.say(
      "12 heads of 64 or 1 head of 768: the same count. What heads change is what the layer "
      "can express (h different weight patterns per token) and what it costs to run: h score "
      "matrices of T x T.");
  lesson.record("d_head", d_head, "parameter_count", parameters, "gpt2_small_parameter_count",
                gpt2_parameters);

  lesson.heading("Next");
  lesson.say(
      "Generating text runs this layer once per new token, with --causal. Chapter 06 keeps "
      "each head's keys and values from earlier steps in a KV cache, so a step computes q, k "
      "and v for the new token only.");
  return lesson.finish();
} catch (const std::exception& error) {
  return qkv::report_error(error);
}
