// Chapter 07: rotary positions (RoPE).
//
// Attention cannot tell word order: permute the tokens and every output row moves with its
// token, unchanged. RoPE rotates each pair of coordinates of every query and key by an angle
// proportional to the token's position, so that a score depends on how far apart two tokens
// are, and nothing else. The same rotation works token by token with a KV cache. Run with
// --help for the flags; the chapter text is README.md.

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "qkv/attention.hpp"
#include "qkv/cli.hpp"
#include "qkv/embedding.hpp"
#include "qkv/kv_cache.hpp"
#include "qkv/lesson.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/projection.hpp"
#include "qkv/random.hpp"
#include "qkv/rope.hpp"

int main(int argc, char** argv) try {
  qkv::Cli cli("07_rotary_positions", "Chapter 07: rotary position embedding (RoPE)");
  qkv::Index tokens = 6, d_model = 16, d_head = 8, heads = 2, offset = 0;
  double base = 10000;
  cli.add_size("--tokens", tokens, "number of tokens T (past 6, named t0, t1, ...)", 1, 64);
  cli.add_size("--dim", d_model, "d_model, the width of every token", 1, 512);
  cli.add_size("--head-dim", d_head, "d_head of the single head (even: RoPE rotates pairs)", 2,
               512);
  cli.add_size("--heads", heads, "h of the multi-head layer (must divide --dim, d_model / h even)",
               1, 64);
  cli.add_number("--base", base, "RoPE's base b in theta_i = b^(-2i/d_head)", 2, 1e9);
  cli.add_size("--offset", offset, "the position of the first token", 0, 1000000);
  cli.add_check([&]() -> std::string {  // RoPE rotates pairs: every head's width is even
    if (d_head % 2 != 0)
      return fmt::format("--head-dim {} is odd: RoPE rotates pairs of coordinates", d_head);
    if (d_model % heads != 0 || (d_model / heads) % 2 == 0) return {};  // not whole: see below
    return fmt::format("--dim {} / --heads {} = {} is odd: each head's width must be even", d_model,
                       heads, d_model / heads);
  });
  cli.require_divides("--heads", heads, "--dim", d_model);
  if (auto exit_code = cli.parse(argc, argv)) return *exit_code;
  qkv::Lesson lesson(cli.common());
  const auto max_abs_difference = [](const qkv::Matrix& a, const qkv::Matrix& b) {
    return (a - b).cwiseAbs().maxCoeff();
  };

  //! [setup]
  qkv::Random random(cli.common().seed);
  const qkv::Labels sentence{"the", "dog", "bites", "the", "man", "today"};
  const qkv::Labels labels = qkv::token_labels(sentence, tokens);
  const qkv::Vocabulary vocabulary = qkv::build_vocabulary(sentence);  // ids of all six words
  const qkv::Matrix table = qkv::random_normal(random, 5, d_model);    // one row per word
  std::vector<qkv::Index> ids;
  for (qkv::Index t = 0; t < tokens; ++t) ids.push_back(t < 6 ? vocabulary.ids[t] : t % 5);
  const qkv::Matrix x = qkv::embed(table, ids);
  const qkv::QkvWeights w = qkv::random_qkv_weights(random, d_model, d_head);
  //! [setup]
  lesson.record("tokens", labels, "x", x, "w_q", w.w_q, "w_k", w.w_k, "w_v", w.w_v);

  lesson.heading("Attention cannot tell word order");
  //! [order]
  const auto attend = [&](const qkv::Matrix& in) {
    const qkv::Qkv p = qkv::project_qkv(in, w);
    return qkv::attention(p.q, p.k, p.v);
  };
  // Rows 1, 2, 3 of the table are "dog", "bites", "man".
  const qkv::Matrix out_a = attend(qkv::embed(table, {1, 2, 3}));  // dog bites man
  const qkv::Matrix out_b = attend(qkv::embed(table, {3, 2, 1}));  // man bites dog
  //! [order]
  lesson.say(
      "Take \"dog bites man\" and \"man bites dog\": the same three embeddings in another order. "
      "Self-attention compares every token with every other, and nothing in Q K^T or in the "
      "weighted sum of values knows where a token stands. So each token's output row is the same "
      "in both sentences, only the rows move: attention is permutation-equivariant.");
  lesson.show("order_output_a", out_a, {"dog", "bites", "man"}, {}, "{:7.3f}");
  lesson.show("order_output_b", out_b, {"man", "bites", "dog"}, {}, "{:7.3f}");
  const float order_difference = std::max(max_abs_difference(out_a.row(0), out_b.row(2)),
                                          max_abs_difference(out_a.row(2), out_b.row(0)));
  lesson.record("order_max_difference", order_difference);
  lesson.say(
      "\"dog\" gets the same row in both (largest difference {:.2g}: the rows of a sum taken in "
      "another order). Who bites whom is lost.",
      order_difference);

  lesson.heading("Absolute positions: order, but not distance");
  //! [sinusoidal]
  // Vaswani et al.: add PE(p) to the token at position p; then score "dog" at m with
  // "bites" at m + 1, the same two words one apart, at several places m. RoPE (next) turns
  // q and k instead, with the base b of --base and the default layout, pairs (2i, 2i+1).
  const qkv::Matrix pe = qkv::sinusoidal_positions(4, d_model);
  const qkv::RopeConfig config{.base = base};
  const auto at = [](qkv::Index p) { return qkv::rope_positions(1, static_cast<double>(p)); };
  const qkv::Matrix q_dog = table.row(1) * w.w_q, k_bites = table.row(2) * w.w_k;
  qkv::Vector absolute_scores(3), rope_scores(3);
  for (qkv::Index m = 0; m < 3; ++m) {
    const qkv::Matrix q = (table.row(1) + pe.row(m)) * w.w_q;
    const qkv::Matrix k = (table.row(2) + pe.row(m + 1)) * w.w_k;
    absolute_scores(m) = q.row(0).dot(k.row(0));
    const qkv::Matrix q_m = qkv::apply_rope(q_dog, at(m), 1, config);
    rope_scores(m) = q_m.row(0).dot(qkv::apply_rope(k_bites, at(m + 1), 1, config).row(0));
  }
  //! [sinusoidal]
  lesson.say(
      "The first fix (Vaswani et al., 2017) adds a vector of sines and cosines of the position to "
      "each token's embedding: now the sentences differ. But a score then depends on both absolute "
      "positions. The same words one apart, \"dog\" at m and \"bites\" at m + 1, unscaled q . k:");
  for (qkv::Index m = 0; m < 3; ++m)
    lesson.line("m = {}   sinusoidal {:8.4f}   RoPE {:8.4f}", m, absolute_scores(m),
                rope_scores(m));
  lesson.record("absolute_scores", absolute_scores, "rope_distance_one_scores", rope_scores);
  lesson.say("RoPE, next, gives the same score wherever the pair stands.");

  lesson.heading("RoPE: rotate each pair by p theta_i");
  //! [rope]
  const qkv::VectorD positions = qkv::rope_positions(tokens, static_cast<double>(offset));
  const qkv::VectorD theta = qkv::rope_frequencies(d_head, base);
  const qkv::Qkv p = qkv::project_qkv(x, w);
  const qkv::Matrix q_rot = qkv::apply_rope(p.q, positions, 1, config);
  const qkv::Matrix k_rot = qkv::apply_rope(p.k, positions, 1, config);
  const qkv::AttentionResult rope = qkv::scaled_dot_product_attention(
      q_rot, k_rot, p.v, qkv::causal_mask(tokens));  // V is not rotated
  //! [rope]
  lesson.say(
      "Su et al. (RoFormer) rotate instead of adding: each pair of coordinates (2i, 2i+1) of a "
      "query or key at position p turns by the angle p theta_i, theta_i = b^(-2i/d_head) with "
      "b = {}: {} frequencies for d_head = {}, from one radian per position down to {:.3g}.",
      base, d_head / 2, d_head, theta(d_head / 2 - 1));
  lesson.record("positions", positions.cast<float>().eval(), "rope_base", base);
  lesson.show("theta", qkv::Vector(theta.cast<float>()), {}, "{:9.6f}");
  lesson.show("q", p.q, labels, {}, "{:7.3f}");
  lesson.show("k", p.k, labels, {}, "{:7.3f}");
  lesson.show("v", p.v, labels, {}, "{:7.3f}");
  const qkv::Index row = std::min<qkv::Index>(1, tokens - 1);
  const double angle = positions(row) * theta(0);
  lesson.say("By hand, pair 0 of the query of \"{}\" at position p = {} (theta_0 = 1):",
             labels[row], positions(row));
  lesson.line("[ cos {0:.4f}  -sin {0:.4f} ] [ {1:8.4f} ]   [ {2:8.4f} ]", angle, p.q(row, 0),
              q_rot(row, 0));
  lesson.line("[ sin {0:.4f}   cos {0:.4f} ] [ {1:8.4f} ] = [ {2:8.4f} ]", angle, p.q(row, 1),
              q_rot(row, 1));
  lesson.show("q_rot", q_rot, labels, {}, "{:7.3f}");
  lesson.show("k_rot", k_rot, labels, {}, "{:7.3f}");
  lesson.say("Causal attention over the rotated queries and keys (V is not rotated):");
  lesson.show("scores", rope.scores, labels, labels, "{:7.3f}");
  lesson.heatmap("weights", "RoPE attention weights, causal", rope.weights, labels, labels);
  lesson.show("output", rope.output, labels, {}, "{:7.3f}");

  lesson.heading("Only the offset counts");
  lesson.say(
      "A rotation keeps lengths and two rotations add their angles, so (R_m q) . (R_n k) = "
      "q . R_(n-m) k: the score sees m - n only. Shift every position by c and the scores stay:");
  const std::vector<qkv::Index> shifts{1, 100, 1000};
  const qkv::Mask causal = qkv::causal_mask(tokens);
  qkv::Vector shift_differences(3);
  for (qkv::Index j = 0; j < 3; ++j) {
    const qkv::Index c = shifts[static_cast<std::size_t>(j)];
    const qkv::VectorD shifted = positions.array() + static_cast<double>(c);
    const qkv::Matrix s = qkv::attention_scores(qkv::apply_rope(p.q, shifted, 1, config),
                                                qkv::apply_rope(p.k, shifted, 1, config));
    shift_differences(j) =
        max_abs_difference(causal.select(s, 0.0f), causal.select(rope.scores, 0.0f));
    lesson.line("c = {:4}: largest score difference {:.2g}", c, shift_differences(j));
  }
  lesson.record("shift_offsets", shifts, "shift_max_difference", shift_differences);
  lesson.say("Float rounding only: the angles are computed in double, the products in float.");

  lesson.heading("Fast pairs and slow pairs");
  //! [distance]
  // q = k = all ones: pair i adds 2 cos(d theta_i) to q . k at distance d. Per pair (pairs
  // spread from the fastest to the slowest), and the mean over all pairs (q . k / d_head).
  const std::vector<qkv::Index> distances{0, 1, 2, 4, 8, 16, 32, 128, 512, 2048};
  const qkv::Index pairs = d_head / 2, shown = std::min<qkv::Index>(pairs, 8);
  const auto pair = [&](qkv::Index r) { return shown > 1 ? r * (pairs - 1) / (shown - 1) : 0; };
  qkv::Matrix by_distance(shown + 1, static_cast<qkv::Index>(distances.size()));
  for (qkv::Index j = 0; j < by_distance.cols(); ++j) {
    const qkv::Index d = distances[static_cast<std::size_t>(j)];
    const qkv::Matrix turned = qkv::apply_rope(qkv::Matrix::Ones(1, d_head), at(d), 1, config);
    for (qkv::Index r = 0; r < shown; ++r)
      by_distance(r, j) = (turned(0, 2 * pair(r)) + turned(0, 2 * pair(r) + 1)) / 2;
    by_distance(shown, j) = turned.sum() / static_cast<float>(d_head);
  }
  //! [distance]
  qkv::Labels pair_labels, distance_labels;
  for (qkv::Index r = 0; r < shown; ++r) pair_labels.push_back(fmt::format("pair {}", pair(r)));
  pair_labels.push_back("mean");
  for (qkv::Index d : distances) distance_labels.push_back(std::to_string(d));
  lesson.say(
      "The first pairs turn fast and tell near neighbours apart; the last turn so slowly that "
      "they still see far context. The score of a fixed q = k (all ones) against distance, per "
      "pair (cos d theta_i) and averaged over the {} pairs:",
      pairs);
  lesson.record("distances", distances);
  lesson.heatmap("distance_scores", "cos(d theta_i) per pair, and their mean, against distance d",
                 by_distance, pair_labels, distance_labels);
  lesson.say(
      "The mean falls from 1 as the distance grows and then wavers near 0: RoFormer's long-range "
      "decay. Few pairs make a rough curve; try --head-dim 64.");

  lesson.heading("Two conventions, one rotation");
  //! [layouts]
  const qkv::RopeConfig half{.base = base, .layout = qkv::RopeLayout::rotate_half};
  const std::vector<qkv::Index> permutation = qkv::rotate_half_permutation(d_head);
  const qkv::Matrix q_half = qkv::apply_rope(qkv::to_rotate_half_layout(p.q), positions, 1, half);
  const float layout_difference = max_abs_difference(q_half, qkv::to_rotate_half_layout(q_rot));
  const float mixed_difference =
      max_abs_difference(qkv::apply_rope(p.q, positions, 1, half), q_rot);
  //! [layouts]
  lesson.say(
      "Which coordinates form a pair is a convention. The library, like RoFormer, Meta's Llama "
      "code and llama2.c, pairs (2i, 2i+1) (interleaved); GPT-NeoX and Hugging Face's Llama pair "
      "(i, i + d_head/2) (rotate-half). Same rotation, coordinates reordered: rotate-half applied "
      "to q with its columns in the order {} equals interleaved q_rot in that order, largest "
      "difference {}. Apply rotate-half to weights trained interleaved without reordering, and "
      "q_rot is off by up to {:.3f}: the classic bug.",
      fmt::join(permutation, ", "), layout_difference, mixed_difference);
  lesson.record("rotate_half_permutation", permutation, "layout_max_difference", layout_difference,
                "mixed_layout_max_difference", mixed_difference);

  lesson.heading("RoPE in multi-head attention, and the KV cache");
  //! [cache]
  // h heads of d_model / h; every head's q and k rotated at the token's absolute position.
  const qkv::MultiHeadWeights mh = qkv::random_multi_head_weights(random, d_model, heads);
  const qkv::Matrix full_output =
      qkv::rope_multi_head_attention(x, mh, positions, qkv::causal_mask(tokens), config).output;
  qkv::KvCache cache(tokens, d_model);  // holds the keys rotated, each at its own position
  qkv::Matrix cached_output(tokens, d_model);
  for (qkv::Index t = 0; t < tokens; ++t)
    cached_output.row(t) = qkv::rope_decode_step(x.row(t), mh, cache, at(offset + t), config);
  //! [cache]
  lesson.record({{"mh_w_q", mh.w_q}, {"mh_w_k", mh.w_k}, {"mh_w_v", mh.w_v}, {"mh_w_o", mh.w_o}});
  lesson.record("heads", heads);
  lesson.say(
      "In a model RoPE acts after the projections, on every head ({} heads of d_head = {} here), "
      "on queries and keys only. Decoding one token at a time, the new token's key is rotated "
      "once, at its own position, when it enters the cache, and never again; its query is "
      "rotated at the same position. Full causal RoPE attention over all T tokens:",
      heads, d_model / heads);
  lesson.show("full_output", full_output, labels, {}, "{:7.3f}");
  const float cache_difference = max_abs_difference(cached_output, full_output);
  lesson.record("cached_output", cached_output, "cache_max_difference", cache_difference);
  lesson.say("Token by token with the cache: the same rows, largest difference {:.2g}.",
             cache_difference);
  //! [bug]
  // The bug: halfway, the position counter restarts at 0 but the cache keeps its rows.
  qkv::KvCache buggy(tokens, d_model);
  qkv::Matrix buggy_output(tokens, d_model);
  const qkv::Index restart = tokens / 2;
  for (qkv::Index t = 0; t < tokens; ++t)
    buggy_output.row(t) = qkv::rope_decode_step(
        x.row(t), mh, buggy, at(offset + (t < restart ? t : t - restart)), config);
  //! [bug]
  const qkv::Vector bug_error = (buggy_output - full_output).cwiseAbs().rowwise().maxCoeff();
  lesson.record("buggy_output", buggy_output);
  lesson.show("bug_row_error", bug_error, labels, "{:7.3f}");
  lesson.say(
      "A classic bug: a position counter that restarts at 0 (after a reset, say) while the cache "
      "still holds the old rows. From token {} on, new queries and keys sit at the wrong "
      "positions, the offsets to the cached keys are wrong, and so are the outputs: above, each "
      "token's largest error against the right row. Nothing crashes.",
      restart);

  lesson.heading("Longer than trained: position interpolation");
  //! [interpolation]
  // The slowest pair turns theta_last per position. Trained on 4096 positions, a model has
  // seen its angles up to 4095 theta_last; at 32768 they go 8 times further, unless the
  // positions are scaled by 4096 / 32768 (Chen et al., 2023).
  const qkv::RopeConfig interpolated{.base = base, .position_scale = 4096.0 / 32768.0};
  const qkv::VectorD last{{4095.0, 32767.0}};
  qkv::MatrixD slowest_angles(2, 3);
  for (qkv::Index r = 0; r < 2; ++r) {
    const qkv::Index width = r == 0 ? d_head : 128, slowest = width / 2 - 1;
    const qkv::MatrixD plain = qkv::rope_angles(last, width, config);
    slowest_angles.row(r) << plain(0, slowest), plain(1, slowest),
        qkv::rope_angles(last, width, interpolated)(1, slowest);
  }
  //! [interpolation]
  lesson.say(
      "A model trained on 4096 positions has seen each pair turn through angles up to 4095 "
      "theta_i. At 32768 positions the slow pairs reach angles it never saw. Position "
      "interpolation multiplies every position by L_train / L_new = 1/8 and the angles stay "
      "inside the trained range (the model is then fine-tuned briefly). The slowest pair, in "
      "radians:");
  lesson.show("slowest_angles", qkv::Matrix(slowest_angles.cast<float>()),
              {fmt::format("d_head {}", d_head), "d_head 128"},
              {"trained 4k", "32k plain", "32k interp."}, "{:11.4f}");

  lesson.heading("What comes next");
  lesson.say(
      "RoPE is how Llama, Mistral, Qwen and most open models encode positions: a rotation of q "
      "and k per head, nothing added to X, and a cache that stores keys already rotated. Chapter "
      "08 shares those cached keys between query heads. The exercises build ALiBi, NTK-aware base "
      "scaling and the complex-number form of RoPE.");
  return lesson.finish();
} catch (const std::exception& error) {
  return qkv::report_error(error);
}
