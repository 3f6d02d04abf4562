// Chapter 04: masking, deciding which keys each query may see.
//
// Chapter 03's attention lets every token look at every other token. A mask M adds -inf to
// the scores of the keys a query must not see: softmax(Q K^T / sqrt(d_head) + M) V. Three
// masks: causal (no peeking at later tokens), padding (a batch of sequences of different
// lengths) and a context window (only the last w tokens). Also: what a query that may see
// nothing gets. Run with --help for the flags; the chapter text is README.md.

#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "qkv/cli.hpp"
#include "qkv/lesson.hpp"
#include "qkv/masking.hpp"
#include "qkv/print.hpp"
#include "qkv/random.hpp"
#include "qkv/softmax.hpp"
#include "qkv/toy_model.hpp"

namespace {

// Self-attention of the tokens X under `mask`: project with W, then chapter 03's attention.
qkv::AttentionResult masked_self_attention(const qkv::Matrix& x, const qkv::QkvWeights& w,
                                           const qkv::Mask& mask) {
  const qkv::Qkv p = qkv::project_qkv(x, w);
  return qkv::scaled_dot_product_attention(p.q, p.k, p.v, mask);
}

// max_j |a_ij - b_ij| for every row i.
qkv::Vector max_difference_per_row(const qkv::Matrix& a, const qkv::Matrix& b) {
  return (a - b).cwiseAbs().rowwise().maxCoeff();
}

}  // namespace

int main(int argc, char** argv) try {
  qkv::Cli cli("04_masking", "Chapter 04: causal, padding and context-window masks");
  qkv::Index tokens = 6, d_model = 8, d_head = 4, window = 3;
  std::string mask_choice = "causal";
  qkv::add_toy_model_flags(cli, tokens, d_model, d_head);
  cli.add_size("--window", window,
               "context window w: token i sees tokens i-w+1..i (w >= T is the causal mask)", 1, 64);
  cli.add_choice("--mask", mask_choice,
                 "the mask behind the --json keys mask, scores, weights and output",
                 {"causal", "window", "none"});
  if (auto exit_code = cli.parse(argc, argv)) return *exit_code;

  // Chapter 02's toy model, drawn by the same function: the same seed gives the same numbers.
  qkv::Random random(cli.common().seed);
  const qkv::ToyModel model = qkv::toy_model(random, tokens, d_model, d_head);
  const qkv::Labels& labels = model.tokens;
  const qkv::Matrix& x = model.x;
  const qkv::QkvWeights& w = model.w;
  const qkv::Qkv p = qkv::project_qkv(x, w);
  const qkv::Mask everything = qkv::Mask::Constant(tokens, tokens, true);
  const qkv::AttentionResult unmasked = masked_self_attention(x, w, everything);

  qkv::Lesson lesson(cli.common());
  lesson.heading("Attention sees every token, the later ones too");
  lesson.say(
      "As in chapter 03 (same seed, same numbers): T = {} tokens of d_model = {}, queries, keys "
      "and values of d_head = {}. X, W_q, W_k, W_v, Q, K and V are in --json. Without a mask, "
      "every row of the weights spreads over every token, including the ones after it:",
      tokens, d_model, d_head);
  lesson.record("tokens", labels, "x", x, "w_q", w.w_q, "w_k", w.w_k, "w_v", w.w_v, "q", p.q, "k",
                p.k, "v", p.v);
  lesson.heatmap("weights_none", "weights without a mask", unmasked.weights, labels, labels);
  lesson.say(
      "That is right for reading a whole sentence at once (an encoder, like BERT). It is wrong "
      "for a model that writes text one token at a time (a decoder, like GPT): while it "
      "computes token i, the tokens after i do not exist yet. Trained with them in view, it "
      "would learn to copy the next token instead of predicting it.");

  //! [mask]
  // The mask: true where query i may see key j. --mask picks it; causal by default.
  const qkv::Mask mask = mask_choice == "causal"   ? qkv::causal_mask(tokens)
                         : mask_choice == "window" ? qkv::window_mask(tokens, window)
                                                   : everything;
  // M_ij = 0 where allowed, -inf where masked; softmax(S + M) V.
  const qkv::Matrix additive = qkv::additive_mask(mask);
  const qkv::AttentionResult chosen = qkv::scaled_dot_product_attention(p.q, p.k, p.v, mask);
  //! [mask]
  lesson.heading("A mask adds -inf where a query must not look");
  lesson.say(
      "A mask is a T x T table of yes and no: may query i see key j? It enters attention as "
      "a matrix M of 0 (yes) and -inf (no) added to the scores before softmax. e^-inf = 0, so "
      "a masked key gets weight exactly 0, and the remaining weights still sum to 1:");
  lesson.line("Attention(Q, K, V) = softmax(Q K^T / sqrt(d_head) + M) V");
  lesson.say("The mask chosen with --mask, here \"{}\", as 1 (may see) and 0, and as M:",
             mask_choice);
  lesson.show("mask", qkv::mask_as_matrix(mask), labels, labels, "{:5.0f}");
  lesson.show("additive_mask", additive, labels, labels, "{:5.0f}");
  lesson.show("scores", chosen.scores, labels, labels, "{:7.3f}");
  lesson.show("weights", chosen.weights, labels, labels, "{:7.3f}");
  lesson.show("output", chosen.output, labels, {}, "{:7.3f}");

  //! [causal]
  const qkv::Mask causal = qkv::causal_mask(tokens);  // token i sees tokens 0..i
  const qkv::AttentionResult causal_attention = masked_self_attention(x, w, causal);
  //! [causal]
  lesson.heading("The causal mask: token i sees tokens 0..i");
  lesson.say(
      "The causal mask is the lower triangle: row i allows keys 0..i. The first token can "
      "only attend to itself (weight 1), the last one to everything.");
  lesson.record("mask_causal", qkv::mask_as_matrix(causal));
  lesson.heatmap("weights_causal", "weights with the causal mask", causal_attention.weights, labels,
                 labels);
  lesson.record("output_causal", causal_attention.output);
  const qkv::Vector causal_sums = causal_attention.weights.rowwise().sum();
  lesson.show("causal_row_sums", causal_sums, labels, "{:7.4f}");

  //! [causality]
  // Replace token `changed` by another word (a fresh embedding) and run both again.
  const qkv::Index changed = tokens / 2;
  qkv::Matrix x_changed = x;
  x_changed.row(changed) = qkv::random_normal(random, 1, d_model);
  const qkv::Matrix causal_changed = masked_self_attention(x_changed, w, causal).output;
  const qkv::Matrix none_changed = masked_self_attention(x_changed, w, everything).output;
  const qkv::Vector causal_diff = max_difference_per_row(causal_changed, causal_attention.output);
  const qkv::Vector none_diff = max_difference_per_row(none_changed, unmasked.output);
  //! [causality]
  lesson.heading("Causality, checked: change a later token");
  lesson.say(
      "Replace token {} (\"{}\") by another word and compute everything again. With the "
      "causal mask, the outputs of the {} tokens before it cannot change, not even in the "
      "last bit: the new token reaches them only through weights that are exactly 0. Without "
      "a mask, every output moves. The largest change of each output row, max_j |O'_ij - O_ij|:",
      changed, labels[changed], changed);
  lesson.record("changed_token", changed, "x_changed", x_changed, "output_causal_changed",
                causal_changed, "output_none_changed", none_changed);
  lesson.show("causal_max_diff", causal_diff, labels, "{:9.2e}");
  lesson.show("none_max_diff", none_diff, labels, "{:9.2e}");

  //! [window]
  const qkv::Mask windowed = qkv::window_mask(tokens, window);  // sees i-w+1..i
  const qkv::AttentionResult window_attention = masked_self_attention(x, w, windowed);
  const qkv::AttentionResult own_token = masked_self_attention(x, w, qkv::window_mask(tokens, 1));
  //! [window]
  const float own_token_diff = (own_token.output - p.v).cwiseAbs().maxCoeff();
  lesson.heading("A context window: only the last w tokens");
  lesson.say(
      "A sliding window keeps the causal rule and adds a horizon: token i sees tokens "
      "max(0, i - w + 1)..i, the last w including itself (Mistral 7B uses w = 4096). The cost of a "
      "row no longer grows with T, and a cache of w keys and values is enough. Here w = {}{}.",
      window, window >= tokens ? ", at least T: the window is the whole causal triangle" : "");
  lesson.record("window", window, "mask_window", qkv::mask_as_matrix(windowed));
  lesson.heatmap("weights_window", fmt::format("weights with a window of w = {}", window),
                 window_attention.weights, labels, labels);
  lesson.record("output_window", window_attention.output, "window_1_max_diff", own_token_diff);
  lesson.say(
      "Two limits: w >= T is the causal mask; w = 1 lets each token see only itself, so its "
      "weight is 1 and its output is its own value row. Largest |O - V| with w = 1: {:g}.",
      own_token_diff);

  //! [padding]
  // A batch of three sequences of different lengths, padded to T with a <pad> token. The
  // batch has its own vocabulary, so its embedding table is drawn anew, after everything
  // above: even sequence 1, the same words, gets new numbers.
  const std::vector<qkv::Index> lengths{tokens, (2 * tokens + 2) / 3, (tokens + 2) / 3};
  const qkv::PaddedBatch batch = qkv::padded_batch(
      random, {labels, {"a", "dog", "barked", "twice"}, {"hello", "there"}}, lengths, d_model);
  // Results stacked like batch.x, into tall matrices: rows b T .. b T + T - 1 are sequence b.
  qkv::Matrix batch_masks(3 * tokens, tokens), batch_weights(3 * tokens, tokens),
      batch_outputs(3 * tokens, d_head), garbage_x = batch.x, garbage_outputs(3 * tokens, d_head);
  qkv::Vector padding_diff(3);
  for (qkv::Index b = 0; b < 3; ++b) {
    const qkv::Index length = lengths[static_cast<std::size_t>(b)];
    const qkv::Matrix xb = batch.x.middleRows(b * tokens, tokens);
    // Each sequence its own mask: only its real tokens see, and are seen.
    const qkv::Mask mb = qkv::query_key_padding_mask(tokens, length);
    const qkv::AttentionResult ab = masked_self_attention(xb, w, mb);
    // Garbage in the padded rows must not reach the real tokens.
    qkv::Matrix gb = xb;
    gb.bottomRows(tokens - length) = qkv::random_normal(random, tokens - length, d_model, 100.0);
    const qkv::Matrix ob = masked_self_attention(gb, w, mb).output;
    padding_diff(b) = length ? (ob - ab.output).topRows(length).cwiseAbs().maxCoeff() : 0.0f;
    batch_masks.middleRows(b * tokens, tokens) = qkv::mask_as_matrix(mb);
    batch_weights.middleRows(b * tokens, tokens) = ab.weights;
    batch_outputs.middleRows(b * tokens, tokens) = ab.output;
    garbage_x.middleRows(b * tokens, tokens) = gb;
    garbage_outputs.middleRows(b * tokens, tokens) = ob;
  }
  //! [padding]

  lesson.heading("Padding: a batch of sequences of different lengths");
  lesson.say(
      "Models work on batches: several sequences at once, in one tensor of B x T tokens. "
      "Sequences differ in length, so the short ones are filled up with a <pad> token. Its "
      "embedding is a token like any other, and attention would happily mix it into the real "
      "tokens. Each sequence gets its own mask that hides its padding: query i may see key j "
      "only when both are real tokens (i, j < length). Lengths {}, {} and {}, padded to T = {}, "
      "one tall matrix of B T = {} rows (row labels: sequence:token). The batch's embedding "
      "table is drawn fresh (seed {} continues), so sequence 1's rows differ from X above, "
      "though its words are the same:",
      lengths[0], lengths[1], lengths[2], tokens, 3 * tokens, cli.common().seed);
  lesson.record("padding_lengths", lengths, "padding_tokens", batch.tokens, "x_padding", batch.x,
                "mask_padding", batch_masks);
  lesson.heatmap("weights_padding", "weights of a padded batch of three sequences", batch_weights,
                 batch.labels, qkv::numbered_labels("k", tokens));
  lesson.show("output_padding", batch_outputs, batch.labels, {}, "{:7.3f}");
  lesson.say(
      "Is the padding really invisible? Put garbage into every padded row (random numbers "
      "100 times larger than an embedding) and run again. The largest change of any real "
      "token's output, per sequence:");
  lesson.record("x_padding_changed", garbage_x, "output_padding_changed", garbage_outputs);
  lesson.show("padding_max_diff", padding_diff, {"seq 1", "seq 2", "seq 3"}, "{:9.2e}");

  //! [fully_masked]
  // softmax over a row of -inf, as the formula says and as qkv computes it.
  const float inf = std::numeric_limits<float>::infinity();
  const qkv::Vector nothing = qkv::vector_of({-inf, -inf, -inf});
  const qkv::Vector textbook = nothing.array().exp() / nothing.array().exp().sum();
  const qkv::Vector ours = qkv::softmax(nothing);
  //! [fully_masked]
  std::vector<qkv::Index> fully_masked;  // the padded queries: row b T + i with i >= length b
  qkv::Labels fully_masked_labels;
  for (qkv::Index r = 0; r < batch_weights.rows(); ++r)
    if (lengths[static_cast<std::size_t>(r / tokens)] <= r % tokens) {
      fully_masked.push_back(r);
      fully_masked_labels.push_back(batch.labels[r]);
    }
  lesson.heading("A query that may see nothing");
  lesson.say(
      "The padded queries of the batch are hidden too, so their rows of the mask are all "
      "no. Softmax over a row of -inf is e^-inf / (e^-inf + ...) = 0 / 0, which is NaN, "
      "and PyTorch's masked_fill(-inf) followed by softmax indeed returns NaN there. One NaN "
      "spreads: every later value computed from it is NaN, and the next layer's attention "
      "passes it to every token that looks at that row.");
  // Printed as words: a NaN's sign, and so "nan" or "-nan", differs between machines.
  lesson.line("e^-inf = {:g}, so the sum is {:g}, and every weight is 0 / 0 = {}",
              std::exp(nothing(0)), std::exp(nothing(0)) * 3,
              std::isnan(textbook(0)) ? "NaN" : fmt::format("{:g}", textbook(0)));
  lesson.record("textbook_fully_masked", textbook);
  lesson.say(
      "qkv decides: a query that may see nothing gets weights 0 and output 0, a row that "
      "contributes nothing (in a transformer the residual connection carries the token on "
      "unchanged). No NaN ever leaves a mask:");
  lesson.show("softmax_fully_masked", ours, {}, "{:7.3f}");
  lesson.record("fully_masked_rows", fully_masked);
  if (fully_masked.empty())
    lesson.say("With T = 1 no sequence needs padding, so the batch has no such row.");
  else
    lesson.say(
        "In the batch above, the rows {} are fully masked: their weights and outputs are all "
        "0, as output_padding above shows. Only the real tokens' rows are ever read.",
        qkv::join(fully_masked_labels, ", "));

  lesson.heading("Where we are");
  lesson.line("Attention(Q, K, V) = softmax(Q K^T / sqrt(d_head) + M) V");
  lesson.say(
      "One mechanism, and the mask says who may look at whom: the causal mask for models "
      "that write, padding masks for batches, windows for long texts. Masks combine with a "
      "logical and (causal && padding for a batch of decoder inputs). Chapter 05 runs several "
      "attentions side by side: multi-head attention, every head under the same mask.");
  return lesson.finish();
} catch (const std::exception& error) {
  return qkv::report_error(error);
}
