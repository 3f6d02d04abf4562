// Chapter 10: learning to attend.
//
// Until now every weight was random. Here the backward pass of attention is derived line by
// line, checked against finite differences, and used to train a small attention model from
// scratch on associative recall: it learns where to look. Run with --help for the flags; the
// chapter text is README.md.

#include <fmt/format.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "qkv/attention_backward.hpp"
#include "qkv/cli.hpp"
#include "qkv/lesson.hpp"
#include "qkv/masking.hpp"
#include "qkv/random.hpp"
#include "qkv/train.hpp"

// AddressSanitizer at -O0 (the asan preset) runs this ~100 times slower: train less there.
#if defined(__SANITIZE_ADDRESS__)
constexpr qkv::Index default_steps = 10, held_out_count = 100;
#else
constexpr qkv::Index default_steps = 500, held_out_count = 500;
#endif
int main(int argc, char** argv) try {
  qkv::Cli cli("10_learning_to_attend", "Chapter 10: the backward pass of attention, and training");
  qkv::Index tokens = 4, d_head = 3, steps = default_steps, pairs = 6;
  double learning_rate = 1e-2;
  bool causal = false, time_it = false;
  cli.add_size("--tokens", tokens, "tokens T of the gradient check", 1, 16);
  cli.add_size("--head-dim", d_head, "d_head of the gradient check", 1, 16);
  cli.add_flag("--causal", causal, "causal mask in the gradient check");
  cli.add_size("--steps", steps, "training steps (0: the untrained model)", 0, 20000);
  cli.add_number("--learning-rate", learning_rate, "Adam's peak learning rate", 1e-5, 1);
  cli.add_size("--pairs", pairs, "key-value pairs per recall sequence (16 keys)", 1, 16);
  cli.add_flag("--time", time_it, "print the elapsed time (then the output varies)");
  if (auto exit_code = cli.parse(argc, argv)) return *exit_code;
  qkv::Lesson lesson(cli.common());
  qkv::Random random(cli.common().seed);
  using qkv::MatrixD;

  lesson.heading("The backward pass, line by line");
  //! [gradient_setup]
  const qkv::Index d_model = 4;
  const MatrixD x = qkv::random_normal(random, tokens, d_model).cast<double>();
  const qkv::HeadWeightsT<double> w{qkv::random_normal(random, d_model, d_head).cast<double>(),
                                    qkv::random_normal(random, d_model, d_head).cast<double>(),
                                    qkv::random_normal(random, d_model, d_head).cast<double>()};
  const std::optional<qkv::Mask> mask =
      causal ? std::optional<qkv::Mask>(qkv::causal_mask(tokens)) : std::nullopt;
  // The loss L = sum(O * G) for a fixed random G: then dL/dO = G, any gradient we like.
  const MatrixD d_output = qkv::random_normal(random, tokens, d_head).cast<double>();
  const qkv::HeadForwardT<double> f = qkv::head_forward(x, w, mask);
  const qkv::HeadGradientsT<double> g = qkv::head_backward(x, w, f, d_output);
  //! [gradient_setup]
  lesson.say(
      "A gradient says how much the loss L changes when one number moves. Training needs it for "
      "every weight, and the chain rule gives it backwards, one forward line at a time; each "
      "backward line reverses the forward line beside it (* is the entrywise product):");
  lesson.line("forward                         backward, from the output down");
  lesson.line("O = P V                         dV = P^T dO,  dP = dO V^T");
  lesson.line("P = softmax_rows(S)             dS = P * (dP - rowsum(dP * P))");
  lesson.line("S = Q K^T / sqrt(d) (+ mask)    dQ = dS K / sqrt(d),  dK = dS^T Q / sqrt(d)");
  lesson.line("Q, K, V = X W_q, X W_k, X W_v   dW_q = X^T dQ,  dW_k = X^T dK,  dW_v = X^T dV");
  lesson.line("                                dX = dQ W_q^T + dK W_k^T + dV W_v^T");
  lesson.say(
      "The softmax line is the one to understand: raising one score takes weight from all the "
      "others in its row, so dS_ij is P_ij times how much better than the row's average "
      "(rowsum(dP * P)) key j's dP is. That average equals rowsum(dO * O), because O = P V: "
      "FlashAttention-2 calls it D and never forms P to compute it. Here T = {}, d_model = {}, "
      "d_head = {}{}, and the loss is sum(O * G), so dO = G:",
      tokens, d_model, d_head, causal ? ", causal" : " (try --causal)");
  const auto as_float = [](const MatrixD& m) { return qkv::Matrix(m.cast<float>()); };
  lesson.record("x", as_float(x), "w_q", as_float(w.w_q), "w_k", as_float(w.w_k), "w_v",
                as_float(w.w_v), "q", as_float(f.q), "k", as_float(f.k), "v", as_float(f.v), "mask",
                qkv::mask_as_matrix(mask ? *mask : qkv::Mask::Constant(tokens, tokens, true)));
  lesson.show("weights", as_float(f.attention.weights), {}, {}, "{:7.4f}");
  lesson.show("d_output", as_float(d_output), {}, {}, "{:7.4f}");
  lesson.show("d_scores", as_float(g.attention.d_scores), {}, {}, "{:7.4f}");
  lesson.show("d_q", as_float(g.attention.d_q), {}, {}, "{:7.4f}");
  lesson.show("d_k", as_float(g.attention.d_k), {}, {}, "{:7.4f}");
  lesson.show("d_v", as_float(g.attention.d_v), {}, {}, "{:7.4f}");
  lesson.record("d_w_q", as_float(g.d_w.w_q), "d_w_k", as_float(g.d_w.w_k), "d_w_v",
                as_float(g.d_w.w_v));
  lesson.show("d_x", as_float(g.d_x), {}, {}, "{:7.4f}");
  const double row_sum_gap =
      (d_output.cwiseProduct(f.attention.output).rowwise().sum() -
       g.attention.d_weights.cwiseProduct(f.attention.weights).rowwise().sum())
          .cwiseAbs()
          .maxCoeff();
  lesson.record("rowsum_identity_gap", row_sum_gap);
  lesson.say("rowsum(dO * O) - rowsum(dP * P): at most {:.1e}, rounding.", row_sum_gap);
  if (mask)
    lesson.say("Masked scores have P = 0, so their dS is exactly 0: see the upper triangle.");

  lesson.heading("A gradient check");
  //! [gradient_check]
  // Central differences in double: error h^2 |f'''| / 6 from the step, ~1e-16 |f| / h from
  // rounding; h = 1e-5 keeps both near 1e-10, far below the 1e-6 we require.
  const double h = 1e-5;
  MatrixD xs = x, q = f.q, k = f.k, v = f.v;
  qkv::HeadWeightsT<double> ws = w;
  const auto loss = [&] {
    return qkv::head_forward(xs, ws, mask).attention.output.cwiseProduct(d_output).sum();
  };
  const auto core = [&] {
    return qkv::scaled_dot_product_attention(q, k, v, mask).output.cwiseProduct(d_output).sum();
  };
  const std::vector<std::pair<std::string, double>> errors{
      {"d_q", qkv::max_relative_error(g.attention.d_q, qkv::central_differences(q, h, core))},
      {"d_k", qkv::max_relative_error(g.attention.d_k, qkv::central_differences(k, h, core))},
      {"d_v", qkv::max_relative_error(g.attention.d_v, qkv::central_differences(v, h, core))},
      {"d_w_q", qkv::max_relative_error(g.d_w.w_q, qkv::central_differences(ws.w_q, h, loss))},
      {"d_w_k", qkv::max_relative_error(g.d_w.w_k, qkv::central_differences(ws.w_k, h, loss))},
      {"d_w_v", qkv::max_relative_error(g.d_w.w_v, qkv::central_differences(ws.w_v, h, loss))},
      {"d_x", qkv::max_relative_error(g.d_x, qkv::central_differences(xs, h, loss))}};
  // The planted bug: the softmax backward without its rowsum term.
  const MatrixD bad_d_q = g.attention.d_weights.cwiseProduct(f.attention.weights) * f.k /
                          std::sqrt(static_cast<double>(d_head));
  const double bug_error = qkv::max_relative_error(bad_d_q, qkv::central_differences(q, h, core));
  //! [gradient_check]
  lesson.say(
      "Is it right? Move each input number by +-h, run the forward again, and compare "
      "(L(x + h) - L(x - h)) / 2h with the formula, as max |a - n| / max(|a|, |n|) per matrix. "
      "In double, h = {:g}: a right gradient agrees to ~1e-9, so the test requires 1e-6.",
      h);
  double worst = 0;
  for (const auto& [name, error] : errors) {
    lesson.line("{:6} relative error {:.1e}", name, error);
    worst = std::max(worst, error);
  }
  lesson.record("numeric_max_rel_error", worst, "rowsum_dropped_rel_error", bug_error);
  lesson.say(
      "Drop the rowsum term (dS = P * dP, a classic slip) and d_q's error is {:.1e}: not "
      "rounding, a bug. A gradient check catches what no printed number would.",
      bug_error);

  lesson.heading("A task that needs attention: associative recall");
  //! [task]
  const qkv::RecallTask task{.pairs = pairs, .keys = 16, .values = 16};
  qkv::Random held_out_random(cli.common().seed + 1);
  const qkv::RecallBatch held_out = qkv::make_recall_batch(task, held_out_random, held_out_count);
  const qkv::Index width = 32;  // d_model of the recall model
  qkv::RecallModel model = qkv::init_recall_model(task, width, 2, random);
  const qkv::RecallForward untrained = qkv::recall_forward(model, held_out);
  //! [task]
  const qkv::Labels seq = qkv::recall_labels(task, held_out.tokens[0]);
  lesson.say(
      "A sequence of {} key-value pairs (16 keys k0..k15, 16 values v0..v15), then one of its "
      "keys again, as the query; the answer is the value that followed that key:",
      pairs);
  lesson.line("{}   ->  v{}", qkv::join(seq, " "), held_out.answers[0]);
  lesson.say(
      "The model: token and learned position embeddings (the length is fixed, so a learned row "
      "per position is the simplest choice), two causal attention layers of width {} (one head "
      "each, W_q, W_k, W_v, W_o, with residuals), and a readout of the query's row into 16 "
      "logits. Why two? One layer lets the query find the matching key by content, but the key's "
      "row knows only the key. The value sits one position later. So layer 1 copies each key into "
      "the row after it (a position-to-position step), and layer 2 matches the query against "
      "those rows and reads out the value: an induction head.",
      width);
  lesson.heatmap("untrained_weights", "layer 2 attention, untrained",
                 untrained.heads[1][0].attention.weights.bottomRows(1), {"query"}, seq);

  lesson.heading("Training: cross-entropy and Adam");
  //! [train]
  qkv::TrainOptions options{.steps = steps, .adam = {.learning_rate = learning_rate}};
  const auto start = std::chrono::steady_clock::now();
  const auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const auto reports =
      qkv::train_recall(model, task, options, random, held_out, [&](const qkv::TrainProgress& p) {
        lesson.line("step {:5}  loss {:6.3f}  held-out accuracy {:5.1f}%{}", p.step, p.loss,
                    100 * p.accuracy, time_it ? fmt::format("  {:5.1f} s", seconds()) : "");
      });
  const qkv::RecallForward trained = qkv::recall_forward(model, held_out);
  //! [train]
  std::vector<double> loss_curve, accuracy_curve, at_step;
  for (const auto& p : reports) {
    loss_curve.push_back(p.loss);
    accuracy_curve.push_back(p.accuracy);
    at_step.push_back(static_cast<double>(p.step));
  }
  const auto vec = [](const std::vector<double>& values) {
    return qkv::Vector(qkv::VectorD::Map(values.data(), qkv::Index(values.size())).cast<float>());
  };
  lesson.record("loss_curve", vec(loss_curve), "accuracy_curve", vec(accuracy_curve), "curve_steps",
                vec(at_step));
  lesson.say("Loss {}  (step 0 to {})", qkv::sparkline(loss_curve), steps);
  if (!cli.common().svg_dir.empty())
    qkv::write_svg_curve(cli.common().svg_dir / "loss_curve.svg", "training loss (cross-entropy)",
                         "step", at_step, loss_curve);
  const double accuracy = qkv::recall_accuracy(trained, held_out);
  const double hits = qkv::attention_hit_rate(trained, held_out, 1, 1);
  lesson.record("final_accuracy", accuracy, "query_attention_hit_rate", hits);
  lesson.say("Held-out accuracy after {} steps: {:.1f}% of {} sequences.", steps, 100 * accuracy,
             held_out.answers.size());

  lesson.heading("Where the trained model looks");
  lesson.heatmap("trained_weights_layer1", "layer 1 attention, trained",
                 trained.heads[0][0].attention.weights, seq, seq);
  lesson.heatmap("trained_weights", "layer 2 attention, trained (query row)",
                 trained.heads[1][0].attention.weights.bottomRows(1), {"query"}, seq);
  lesson.say(
      "Layer 1 learned to look one position back: each value's row now holds its key. Layer 2's "
      "query row puts its weight on the value that follows the matching key: its largest weight "
      "is there in {:.1f}% of held-out sequences.",
      100 * hits);
  if (time_it) lesson.say("{:.1f} s in all.", seconds());

  lesson.heading("What comes next");
  lesson.say(
      "This is all of training: a forward pass, a loss, its backward through every line, and an "
      "optimiser step, repeated. The exercises build the softmax's Jacobian, an AdamW step, and "
      "the backward of RoPE.");
  return lesson.finish();
} catch (const std::exception& error) {
  return qkv::report_error(error);
}
