// Chapter 09: fast attention on the CPU.
//
// The same softmax(Q K^T / sqrt(d_head)) V three ways, each improving the previous one: plain
// loops, the matrix form of chapter 03, and tiled attention with online softmax ("flash"
// attention), which walks blocks of keys keeping a running maximum, sum and output per query
// and never holds the T x T score matrix. Then causal block skipping, threads, and what each
// costs on this machine (--time). Run with --help for the flags; the text is README.md.

#include <fmt/format.h>

#include <cmath>
#include <string_view>
#include <vector>

#include "loops.hpp"
#include "qkv/cli.hpp"
#include "qkv/fast_attention.hpp"
#include "qkv/lesson.hpp"
#include "qkv/masking.hpp"
#include "qkv/print.hpp"
#include "qkv/random.hpp"
#include "qkv/timing.hpp"

int main(int argc, char** argv) try {
  qkv::Cli cli("09_fast_attention", "Chapter 09: tiled attention with online softmax");
  qkv::Index tokens = 10, d_head = 4, block_q = 4, block_k = 3, threads = 2;
  cli.add_size("--tokens", tokens, "number of tokens T (queries and keys)", 1, 4096);
  cli.add_size("--head-dim", d_head, "query, key and value dimension d_head", 1, 512);
  cli.add_size("--block-q", block_q, "queries per block (any size, not only divisors of T)", 1,
               4096);
  cli.add_size("--block-k", block_k, "keys per block (any size, not only divisors of T)", 1, 4096);
  cli.add_size("--threads", threads, "threads sharing the tiled kernel's query blocks", 1, 16);
  bool causal = false, time_it = false;
  cli.add_flag("--causal", causal, "causal attention: query i sees keys 0..i");
  cli.add_flag("--time", time_it,
               "also time the three implementations (timings differ from run to run; "
               "without --time the same seed prints the same bytes)");
  if (auto exit_code = cli.parse(argc, argv)) return *exit_code;
  qkv::Lesson lesson(cli.common());
  const auto flops = [&](qkv::Index t) { return 4 * t * t * d_head; };  // Q K^T and W V

  lesson.heading("The cost: 4 T^2 d FLOPs, and a T x T matrix");
  lesson.say(
      "Attention of T queries against T keys of d = d_head numbers does two products, Q K^T "
      "and W V, each 2 T^2 d FLOPs. The matrix form also keeps the T x T scores: 4 T^2 bytes "
      "in float, written, read by the softmax, written again as weights and read by W V.");
  std::vector<qkv::Index> cost_tokens{tokens, 1024, 4096, 32768}, cost_flops, cost_bytes;
  lesson.line("{:>7} {:>16} {:>16}  (d = {})", "T", "FLOPs", "score bytes", d_head);
  for (const qkv::Index t : cost_tokens) {
    cost_flops.push_back(flops(t));
    cost_bytes.push_back(4 * t * t);
    lesson.line("{:>7} {:>16} {:>16}  = {}", t, cost_flops.back(), cost_bytes.back(),
                qkv::human_bytes(cost_bytes.back()));
  }
  lesson.record("cost_tokens", cost_tokens, "cost_flops", cost_flops, "cost_score_bytes",
                cost_bytes);
  lesson.say(
      "At T = 32768 one head's scores take 4 GiB. The work grows as T^2 either way; the "
      "memory need not: tiled attention keeps O(T).");

  //! [setup]
  qkv::Random random(cli.common().seed);
  const qkv::Matrix q = qkv::random_normal(random, tokens, d_head);
  const qkv::Matrix k = qkv::random_normal(random, tokens, d_head);
  const qkv::Matrix v = qkv::random_normal(random, tokens, d_head);
  //! [setup]
  const qkv::Labels positions = qkv::numbered_labels("t", tokens);
  lesson.heading("Three implementations of the same formula");
  lesson.say("Q, K and V are {} each, seeded normal numbers{}; the tiled kernel runs on {}.",
             qkv::shape_label(tokens, d_head), causal ? "; --causal: query i sees keys 0..i" : "",
             qkv::plural(threads, "thread"));
  lesson.show("q", q, positions, {}, "{:7.3f}");
  lesson.show("k", k, positions, {}, "{:7.3f}");
  lesson.show("v", v, positions, {}, "{:7.3f}");

  //! [three]
  // 1. Plain loops, one query at a time (loops.hpp): a row of T scores at a time.
  const qkv::Matrix loop_output = loop_attention(q, k, v, causal);
  // 2. The matrix form of chapters 03 and 04: the T x T scores, the weights, then W V.
  const std::optional<qkv::Mask> mask =
      causal ? std::optional<qkv::Mask>(qkv::causal_mask(tokens)) : std::nullopt;
  const qkv::Matrix reference = qkv::scaled_dot_product_attention(q, k, v, mask).output;
  // 3. Tiled: blocks of block_q queries against blocks of block_k keys, online softmax.
  qkv::TiledAttentionOptions options{block_q, block_k, causal, static_cast<int>(threads)};
  const qkv::TiledAttentionResult tiled = qkv::tiled_attention(q, k, v, options);
  //! [three]
  lesson.record({{"loop_output", loop_output}, {"reference_output", reference}});
  lesson.show("output", tiled.output, positions, {}, "{:7.3f}");
  lesson.show("lse", tiled.lse, positions, "{:8.4f}");
  const double difference = (tiled.output - reference).cwiseAbs().maxCoeff();
  const double loop_difference = (loop_output - reference).cwiseAbs().maxCoeff();
  lesson.record("max_abs_difference", difference, "loop_max_abs_difference", loop_difference,
                "block_q", block_q, "block_k", block_k, "causal", causal ? 1 : 0);
  lesson.say(
      "The tiled output against the matrix form: largest difference {:.2g}; the loops: {:.2g}. "
      "Float rounding only: the same terms summed in another order. lse is the log-sum-exp "
      "of each row, log sum_j e^(s_j) = m + log l, which the backward pass (chapter 10) and "
      "split-KV decoding reuse.",
      difference, loop_difference);

  lesson.heading("Online softmax on one row, key block by key block");
  const qkv::Index row = tokens - 1;  // the last query: it sees every key, causal or not
  //! [trace]
  const std::vector<qkv::OnlineSoftmaxState> trace =
      qkv::online_softmax_trace(q.row(row).transpose(), k, v, block_k);
  //! [trace]
  lesson.say(
      "Query {} against the keys in blocks of {}. After each block: the running maximum m, "
      "the factor e^(m_old - m) that brings what was summed to the new maximum, the running "
      "sum l and the unnormalised output o (its first entries).",
      positions[row], block_k);
  const auto blocks = static_cast<qkv::Index>(trace.size());
  std::vector<qkv::Index> keys_seen;
  qkv::Vector running_max(blocks), running_sum(blocks), rescale(blocks);
  qkv::Matrix running_output(blocks, d_head);
  lesson.line("{:>5} {:>9} {:>9} {:>9}  o", "keys", "m", "rescale", "l");
  for (qkv::Index b = 0; b < blocks; ++b) {
    const qkv::OnlineSoftmaxState& state = trace[static_cast<std::size_t>(b)];
    keys_seen.push_back(state.keys_seen);
    running_max(b) = state.running_max;
    running_sum(b) = state.running_sum;
    running_output.row(b) = state.unnormalised_output.transpose();
    rescale(b) = std::exp((b ? running_max(b - 1) : -INFINITY) - running_max(b));  // m_old: -inf
    if (b == 8 && blocks > 10) lesson.line("  ...");
    if (b >= 8 && b < blocks - 2) continue;  // the first 8 blocks and the last 2
    lesson.line("{:>5} {:>9.4f} {:>9} {:>9.4f}  {}", state.keys_seen, state.running_max,
                b == 0 ? "-" : fmt::format("{:.4f}", rescale(b)), state.running_sum,
                qkv::format_numbers(state.unnormalised_output.head(std::min<qkv::Index>(d_head, 4)),
                                    "{:8.4f}"));
  }
  lesson.record("running_state",
                qkv::JsonObject::of("query", row, "keys_seen", keys_seen, "running_max",
                                    running_max, "rescale", rescale, "running_sum", running_sum,
                                    "unnormalised_output", running_output));
  const float l = running_sum(blocks - 1);
  lesson.line("o / l     = {}", qkv::format_numbers(running_output.row(blocks - 1) / l, "{:8.4f}"));
  lesson.line("output    = {}   (row {} of the tiled output)",
              qkv::format_numbers(tiled.output.row(row).transpose(), "{:8.4f}"), positions[row]);
  lesson.line("m + log l = {:.4f}, lse of {} {:.4f}", running_max(blocks - 1) + std::log(l),
              positions[row], tiled.lse(row));
  lesson.say(
      "A factor of 1: the block did not raise the maximum. Below 1: the sum and the output "
      "are both shrunk by it before the block's terms are added. The division by l comes "
      "once, at the end.");

  lesson.heading("Causal attention: skipping the blocks above the diagonal");
  // Which tiles a causal kernel computes, read off the mask: the visible (query, key) pairs
  // in each tile; a tile with none (0) is skipped.
  const qkv::Mask visible = qkv::causal_mask(tokens);
  const qkv::Index q_blocks = (tokens + block_q - 1) / block_q;
  const qkv::Index k_blocks = (tokens + block_k - 1) / block_k;
  qkv::Matrix tiles(q_blocks, k_blocks);
  qkv::Index computed_tiles = 0, computed_scores = 0;
  for (qkv::Index i = 0; i < q_blocks; ++i)
    for (qkv::Index j = 0; j < k_blocks; ++j) {
      const auto tile =
          visible.block(i * block_q, j * block_k, std::min(block_q, tokens - i * block_q),
                        std::min(block_k, tokens - j * block_k));
      tiles(i, j) = static_cast<float>(tile.count());
      if (tile.any()) ++computed_tiles, computed_scores += tile.size();
    }
  const double fraction =
      static_cast<double>(computed_scores) / static_cast<double>(tokens * tokens);
  lesson.say(
      "With blocks of {} queries and {} keys the {} x {} scores make {} x {} tiles. Under a "
      "causal mask a tile whose first key comes after the last key its last query may see "
      "has nothing to compute: {} of {} tiles are computed, {:.1f}% of the scores, against "
      "the {:.1f}% = (T + 1) / 2T that are visible.",
      block_q, block_k, tokens, tokens, q_blocks, k_blocks, computed_tiles, q_blocks * k_blocks,
      100 * fraction, 50.0 * static_cast<double>(tokens + 1) / static_cast<double>(tokens));
  lesson.heatmap("causal_tiles", "visible (query, key) pairs per tile; 0: skipped", tiles,
                 qkv::numbered_labels("q", q_blocks), qkv::numbered_labels("k", k_blocks));
  lesson.record("causal_tiles_computed", computed_tiles, "causal_fraction_computed", fraction);

  lesson.heading("Threads: query blocks are independent");
  options.threads = 1;
  const qkv::TiledAttentionResult single = qkv::tiled_attention(q, k, v, options);
  const double thread_difference = (single.output - tiled.output).cwiseAbs().maxCoeff();
  lesson.record("threads", threads, "threads_max_abs_difference", thread_difference);
  lesson.say(
      "Each query block reads all of K and V and writes only its own rows of the output, so "
      "threads can share the {} blocks with no locks, and each block is computed the same way "
      "whichever thread takes it: {} against 1 thread, the largest difference is {}.",
      q_blocks, qkv::plural(threads, "thread"), thread_difference);

  if (!time_it) lesson.say("Run with --time to time the three (timings differ from run to run).");
  if (lesson.narrating() && time_it) {
    lesson.heading("Time on this build");
    lesson.say(
        "T = {}, d_head = {}, blocks {} x {}{}, medians of up to 5 runs, GFLOP/s at "
        "4 T^2 d FLOPs:",
        tokens, d_head, block_q, block_k, causal ? ", causal" : "");
    //! [timing]
    Eigen::setNbThreads(1);  // the fast build's OpenMP would run Eigen's products on every core
    const auto seconds = [](auto&& work) { return qkv::median_seconds(5, work); };
    const auto tiled_with = [&](const qkv::Matrix& x, qkv::TiledAttentionOptions o) {
      return seconds([&] { (void)qkv::tiled_attention(x, x, x, o); });
    };
    const auto report = [&](std::string_view name, double s) {
      lesson.line("{:<18} {:12.1f} us  {:8.2f} GFLOP/s", name, s * 1e6,
                  static_cast<double>(flops(tokens)) / s * 1e-9);
    };
    report("plain loops", seconds([&] { (void)loop_attention(q, k, v, causal); }));
    report("matrix form", seconds([&] { (void)qkv::scaled_dot_product_attention(q, k, v, mask); }));
    options.threads = 1;
    report("tiled, 1 thread", tiled_with(q, options));
    options.threads = static_cast<int>(threads);
    report(fmt::format("tiled, {}", qkv::plural(threads, "thread")), tiled_with(q, options));
    //! [timing]
    const qkv::TiledAttentionOptions defaults, causal_defaults{.causal = true};
    lesson.say(
        "The matrix form against the tiled kernel with its default blocks of {} x {}, "
        "1 thread, and the causal speedup with the same blocks:",
        defaults.block_q, defaults.block_k);
    lesson.line("{:>6}  {:>12} {:>12} {:>8}  {:>12} {:>8}", "T", "matrix us", "tiled us", "ratio",
                "causal us", "speedup");
    for (const qkv::Index t : {16, 64, 256, 1024, 2048}) {
      const qkv::Matrix x = qkv::random_normal(random, t, d_head);
      const double m = seconds([&] { (void)qkv::attention(x, x, x); });
      const double full = tiled_with(x, defaults), half = tiled_with(x, causal_defaults);
      lesson.line("{:>6}  {:12.1f} {:12.1f} {:7.2f}x  {:12.1f} {:7.2f}x", t, m * 1e6, full * 1e6,
                  m / full, half * 1e6, full / half);
    }
    lesson.say(
        "This build: Eigen SIMD {}, the project's default flags, the same in every build so "
        "that every build prints the same numbers. The build for speed is the fast preset "
        "(-O3 -march=native): cmake --workflow --preset fast, then build/fast/bin/"
        "09_fast_attention --time.",
        Eigen::SimdInstructionSetsInUse());
  }

  lesson.heading("What comes next");
  lesson.say(
      "Tiled attention computes exactly softmax(Q K^T / sqrt(d)) V in O(T) memory, and lse is "
      "all a backward pass needs to recompute the weights block by block. The exercises write "
      "the online softmax state, merge two of them as split-KV decoding does, and derive the "
      "causal skipping rule for any block sizes.");
  return lesson.finish();
} catch (const std::exception& error) {
  return qkv::report_error(error);
}
