// Chapter 03: softmax weighting, the whole of scaled dot-product attention.
//
// Chapter 02's scores S = Q K^T / sqrt(d_head) become weights, row by row, with softmax:
// positive, summing to 1. The output is the weighted sum of the values:
// Attention(Q, K, V) = softmax(Q K^T / sqrt(d_head)) V. Also: why softmax subtracts the
// maximum (overflow), and temperature. Run with --help for the flags; the text is README.md.

#include <cmath>
#include <string>
#include <vector>

#include "qkv/attention.hpp"
#include "qkv/cli.hpp"
#include "qkv/lesson.hpp"
#include "qkv/print.hpp"
#include "qkv/random.hpp"
#include "qkv/softmax.hpp"
#include "qkv/toy_model.hpp"

int main(int argc, char** argv) try {
  qkv::Cli cli("03_softmax_weighting",
               "Chapter 03: softmax turns scores into weights; attention is their weighted sum");
  qkv::Index tokens = 6, d_model = 8, d_head = 4;
  double temperature = 0.5;
  qkv::add_toy_model_flags(cli, tokens, d_model, d_head);
  cli.add_number("--temperature", temperature, "softmax temperature tau for the comparison", 0.05,
                 20.0);
  if (auto exit_code = cli.parse(argc, argv)) return *exit_code;
  qkv::Lesson lesson(cli.common());

  // Chapter 02's toy model, drawn by the same function: the same seed gives the same numbers.
  qkv::Random random(cli.common().seed);
  const qkv::ToyModel model = qkv::toy_model(random, tokens, d_model, d_head);
  const qkv::Labels& labels = model.tokens;
  const auto [q, k, v] = qkv::project_qkv(model.x, model.w);  // each T x d_head

  //! [attention]
  // softmax(Q K^T / sqrt(d_head)) V, keeping every intermediate to show it.
  const qkv::AttentionResult attention = qkv::scaled_dot_product_attention(q, k, v);
  const qkv::Matrix& scores = attention.scores;    // T x T
  const qkv::Matrix& weights = attention.weights;  // T x T, each row sums to 1
  const qkv::Matrix& output = attention.output;    // T x d_head
  //! [attention]

  lesson.heading("Where we are: queries, keys, values and scores");
  lesson.say(
      "As in chapter 02 (same seed, same numbers): T = {} of d_model = {}, projected to "
      "queries, keys and values of d_head = {}, and the scores S = Q K^T / sqrt(d_head). "
      "X and W_q, W_k, W_v are in --json; chapter 02 prints them.",
      qkv::plural(tokens, "token"), d_model, d_head);
  lesson.record("tokens", labels);
  lesson.record({{"x", model.x}, {"w_q", model.w.w_q}, {"w_k", model.w.w_k}, {"w_v", model.w.w_v}});
  lesson.show("q", q, labels, {}, "{:7.3f}");
  lesson.show("k", k, labels, {}, "{:7.3f}");
  lesson.show("v", v, labels, {}, "{:7.3f}");
  lesson.show("scores", scores, labels, labels, "{:7.3f}");
  lesson.say(
      "Chapter 01 kept only the best key (hard retrieval): no gradient, and everything else "
      "lost. Attention keeps every value, weighted by how well its key matches.");

  const qkv::Index row = std::min<qkv::Index>(1, tokens - 1);  // "cat", or the only token
  const std::string row_name = labels[row];
  lesson.heading("Softmax: scores become weights");
  lesson.say(
      "Softmax makes every score positive with the exponential and divides by the row's "
      "sum, so the weights of each query sum to 1. Subtracting the row's maximum m first "
      "changes nothing (it cancels in the fraction) but keeps every exponent <= 0:");
  lesson.line("w_ij = e^(s_ij - m_i) / sum_l e^(s_il - m_i),   m_i = max_l s_il");
  lesson.say("The row of \"{}\", step by step:", row_name);
  const qkv::Vector row_scores = scores.row(row).transpose();
  const float row_max = row_scores.maxCoeff();
  const qkv::Vector row_exp = (row_scores.array() - row_max).exp().matrix();
  lesson.line("s        = {}", qkv::format_numbers(row_scores, "{:8.4f}"));
  lesson.line("m        = {:.4f}", row_max);
  lesson.line("e^(s-m)  = {}", qkv::format_numbers(row_exp, "{:8.4f}"));
  lesson.line("sum      = {:.4f}", row_exp.sum());
  lesson.line("w        = {}   (e^(s-m) / sum)",
              qkv::format_numbers(row_exp / row_exp.sum(), "{:8.4f}"));
  lesson.record("row_exp", row_exp);
  lesson.show("weights", weights, labels, labels, "{:7.3f}");
  lesson.heatmap("weights", "attention weights: row i is how query i spreads over the keys",
                 weights, labels, labels);
  lesson.show("row_sums", qkv::Vector(weights.rowwise().sum()), labels, "{:7.4f}");
  lesson.say(
      "Every weight is greater than 0 (no key is ignored entirely) and every row sums to 1. "
      "The larger a score, the larger its share, but the shares are relative: adding the "
      "same number to a whole row changes nothing.");

  //! [overflow]
  const qkv::Vector big = qkv::vector_of({1000, 999, 998});
  const qkv::Vector naive_big = qkv::naive_softmax_rows(big.transpose()).transpose();
  const qkv::Vector stable_big = qkv::softmax(big);
  const qkv::Vector tiny = qkv::vector_of({-1000, -1001, -1002});
  const qkv::Vector naive_tiny = qkv::naive_softmax_rows(tiny.transpose()).transpose();
  const qkv::Vector stable_tiny = qkv::softmax(tiny);
  //! [overflow]
  lesson.heading("Why subtract the maximum: overflow");
  lesson.say(
      "The textbook formula e^s_j / sum_l e^s_l is right on paper and wrong in float. The "
      "largest float is about 3.4e38: e^88 = {:.4g} still fits, e^89 = {} does not. Scores "
      "of 1000, 999, 998 give inf / inf = NaN; scores of -1000, -1001, -1002 give 0 / 0 = "
      "NaN. Subtracting the maximum turns both into e^0, e^-1, e^-2: the same answer, "
      "{:.3f}, {:.3f}, {:.3f}, with nothing out of range.",
      std::exp(88.0f), std::exp(89.0f), stable_big(0), stable_big(1), stable_big(2));
  lesson.show("big_scores", big, {}, "{:9.1f}");
  lesson.show("naive_big", naive_big, {}, "{:9.4f}");
  lesson.show("stable_big", stable_big, {}, "{:9.4f}");
  lesson.show("tiny_scores", tiny, {}, "{:9.1f}");
  lesson.show("naive_tiny", naive_tiny, {}, "{:9.4f}");
  lesson.show("stable_tiny", stable_tiny, {}, "{:9.4f}");
  const float naive_difference = (qkv::naive_softmax_rows(scores) - weights).cwiseAbs().maxCoeff();
  lesson.say(
      "Where the naive formula does not overflow, both agree: on our scores the largest difference "
      "is {:.2g}. Scores of 1000 are not far-fetched: before scaling by sqrt(d_head), and in low "
      "precision (e^12 already overflows half precision), they happen.",
      naive_difference);
  lesson.record("naive_difference", naive_difference);

  //! [temperature]
  const qkv::Vector entropy = qkv::row_entropy(weights);  // H_i = -sum_j w_ij ln w_ij
  const qkv::Matrix tempered = qkv::softmax_rows_with_temperature(scores, temperature);
  const qkv::Vector tempered_entropy = qkv::row_entropy(tempered);
  //! [temperature]
  const qkv::Vector sweep = qkv::vector_of({0.1f, 0.5f, 1, 2, 10});  // temperatures
  qkv::Matrix sweep_weights(sweep.size(), tokens);
  qkv::Labels sweep_labels;
  for (qkv::Index i = 0; i < sweep.size(); ++i) {
    sweep_weights.row(i) = qkv::softmax_rows_with_temperature(row_scores.transpose(), sweep(i));
    sweep_labels.push_back(fmt::format("tau={:g}", sweep(i)));
  }
  const qkv::Vector sweep_entropy = qkv::row_entropy(sweep_weights);

  lesson.heading("Temperature: sharper or flatter");
  lesson.say(
      "Dividing the scores by a temperature tau before softmax, softmax(S / tau), reshapes "
      "the weights without reordering them: tau < 1 sharpens them toward the largest score "
      "(tau -> 0 is chapter 01's hard retrieval), tau > 1 flattens them toward uniform. "
      "(Dividing by sqrt(d_head) is such a temperature, fixed.) The entropy "
      "H = -sum_j w_j ln w_j measures the spread: 0 when one key takes all the weight, "
      "ln T = {:.4f} when all T keys share it equally.",
      std::log(static_cast<double>(tokens)));
  lesson.say("The row of \"{}\" at five temperatures:", row_name);
  lesson.show("sweep_weights", sweep_weights, sweep_labels, labels, "{:7.3f}");
  lesson.show("sweep_entropy", sweep_entropy, sweep_labels, "{:9.4f}");
  lesson.record("sweep_temperatures", sweep);
  lesson.say("Every row's entropy at tau = 1 and at tau = {:g} (--temperature):", temperature);
  lesson.show("entropy", entropy, labels, "{:7.4f}");
  lesson.show("tempered_entropy", tempered_entropy, labels, "{:7.4f}");
  lesson.show("tempered_weights", tempered, labels, labels, "{:7.3f}");
  lesson.record("temperature", temperature);

  //! [output]
  // Output row i: the values weighted by row i of the weights, o_i = sum_j w_ij v_j.
  const qkv::Matrix terms = weights.row(row).transpose().asDiagonal() * v;  // w_ij v_j per row j
  const qkv::Vector by_hand = terms.colwise().sum().transpose();
  //! [output]
  lesson.heading("The output: a weighted sum of the values");
  lesson.line("W {} x V {} -> O {}", qkv::shape_label(weights.rows(), weights.cols()),
              qkv::shape_label(v.rows(), v.cols()), qkv::shape_label(output.rows(), output.cols()));
  lesson.say(
      "Each output row mixes the value rows, weighted by that query's row of weights. For "
      "\"{}\", value row by value row:",
      row_name);
  for (qkv::Index j = 0; j < tokens; ++j)
    lesson.line("{} {:.4f} * v_{:<5} = {:.4f} * ({}) = ({})", j ? "+" : " ", weights(row, j),
                labels[j], weights(row, j), qkv::format_numbers(v.row(j).transpose(), "{:7.3f}"),
                qkv::format_numbers(terms.row(j).transpose(), "{:7.3f}"));
  lesson.line("= o_{} = ({})", row_name, qkv::format_numbers(by_hand, "{:7.3f}"));
  lesson.record("by_hand_terms", terms, "by_hand_output", by_hand);
  lesson.show("output", output, labels, {}, "{:7.3f}");
  qkv::Index best = 0;
  weights.row(row).maxCoeff(&best);
  if (tokens == 1) {
    lesson.say(
        "With T = 1 there is one value only: its weight is 1 and the output is v_{} itself, "
        "what hard retrieval would have returned too.",
        labels[best]);
  } else {
    lesson.say(
        "Hard retrieval would have returned v_{0} alone, the value of the best key; attention "
        "gives v_{0} the largest share, {1:.0f}% of the weight, and mixes in {2}. Since the "
        "weights are positive and sum to 1, every entry of an output lies between the smallest "
        "and the largest entry of its column of V.",
        labels[best], 100.0f * weights(row, best),
        tokens == 2 ? "the other value" : "every other value");
  }

  lesson.heading("The whole of scaled dot-product attention");
  lesson.line("Attention(Q, K, V) = softmax(Q K^T / sqrt(d_head)) V");
  lesson.line("X {} -> Q, K, V {} -> S, W {} -> O {}", qkv::shape_label(tokens, d_model),
              qkv::shape_label(tokens, d_head), qkv::shape_label(tokens, tokens),
              qkv::shape_label(tokens, d_head));
  lesson.say(
      "That is all of it: every token's output is a mix of every token's value, mixed by "
      "learned relevance. Chapter 04 adds a mask, so that a token can be kept from seeing "
      "the tokens after it.");
  return lesson.finish();
} catch (const std::exception& error) {
  return qkv::report_error(error);
}
