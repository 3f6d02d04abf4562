// Chapter 08: sharing keys and values (grouped-query and multi-query attention).
//
// The KV cache is the memory bill of decoding (chapter 06). Grouped-query attention keeps h
// query heads but only kv_heads key/value heads, each read by h / kv_heads query heads: the
// cache shrinks by that factor, and so do the bytes every decode step must read. A sliding
// window caps the cache at w tokens. Run with --help for the flags; the text is README.md.

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "qkv/cli.hpp"
#include "qkv/embedding.hpp"
#include "qkv/grouped_query.hpp"
#include "qkv/json.hpp"
#include "qkv/kv_cache.hpp"
#include "qkv/lesson.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/print.hpp"
#include "qkv/random.hpp"
#include "qkv/rope.hpp"
#include "qkv/timing.hpp"

int main(int argc, char** argv) try {
  qkv::Cli cli("08_grouped_query_attention", "Chapter 08: grouped-query attention");
  qkv::Index tokens = 8, d_model = 16, heads = 4, kv_heads = 2, window = 3;
  bool time_it = false;
  cli.add_size("--tokens", tokens, "number of tokens T", 1, 64);
  cli.add_size("--dim", d_model, "d_model, the width of every token", 2, 512);
  cli.add_size("--heads", heads, "h, the query heads (must divide --dim, d_model / h even)", 1, 64);
  cli.add_size("--kv-heads", kv_heads, "the key/value heads (must divide --heads)", 1, 64);
  cli.add_size("--window", window, "w, the sliding window of the windowed layers", 1, 64);
  cli.add_flag("--time", time_it,
               "also time decode steps at model size (timings differ from run to run; without "
               "--time the same seed prints the same bytes)");
  cli.require_divides("--heads", heads, "--dim", d_model);
  cli.require_divides("--kv-heads", kv_heads, "--heads", heads);
  cli.add_check([&]() -> std::string {  // RoPE (section 5) rotates pairs: d_head must be even
    if (d_model % heads != 0 || (d_model / heads) % 2 == 0) return {};
    return fmt::format("--dim {} / --heads {} = {} is odd: RoPE needs an even d_head", d_model,
                       heads, d_model / heads);
  });
  if (auto exit_code = cli.parse(argc, argv)) return *exit_code;
  qkv::Lesson lesson(cli.common());
  const qkv::Index d_head = d_model / heads, group = heads / kv_heads;

  lesson.heading("Fewer key/value heads, the same query heads");
  //! [setup]
  qkv::Random random(cli.common().seed);
  const qkv::Labels labels = qkv::token_labels({}, tokens);
  const qkv::Matrix x = qkv::random_normal(random, tokens, d_model);
  const qkv::MultiHeadWeights mh = qkv::random_multi_head_weights(random, d_model, heads);
  // The grouped layer is made from the multi-head one: each group's W_k and W_v averaged.
  const qkv::GroupedWeights w = qkv::mean_pool_kv_heads(mh, kv_heads);
  const qkv::Mask causal = qkv::causal_mask(tokens);
  const qkv::GroupedResult gqa = qkv::grouped_query_attention(x, w, causal);
  const qkv::MultiHeadResult mha = qkv::multi_head_attention(x, mh, causal);
  //! [setup]
  lesson.record("x", x, "w_q", w.w_q, "w_k", w.w_k, "w_v", w.w_v, "w_o", w.w_o, "heads", heads,
                "kv_heads", kv_heads, "d_head", d_head);
  lesson.say(
      "{} query heads of d_head = {}, but only {} key/value heads: query head i reads key/value "
      "head i / (h / kv_heads) = i / {}. Consecutive query heads share (not i mod kv_heads):",
      heads, d_head, kv_heads, group);
  for (qkv::Index g = 0; g < kv_heads; ++g)
    lesson.line("kv head {}  <-  query heads {} .. {}", g, g * group, (g + 1) * group - 1);
  qkv::Matrix mapping = qkv::Matrix::Zero(8, 2);  // the figure: h = 8, kv_heads = 2
  for (qkv::Index i = 0; i < 8; ++i) mapping(i, qkv::kv_head_of(i, 8, 2)) = 1;
  lesson.heatmap("head_mapping", "h = 8, kv_heads = 2: query head (row) reads kv head (column)",
                 mapping, qkv::numbered_labels("q", 8), qkv::numbered_labels("kv", 2));
  lesson.show("q", x * w.w_q, labels, {}, "{:6.2f}");
  lesson.show("k", x * w.w_k, labels, {}, "{:6.2f}");
  lesson.show("v", x * w.w_v, labels, {}, "{:6.2f}");
  lesson.heatmap("weights", "query head 0, causal", gqa.weights[0], labels, labels);
  lesson.show("output", gqa.output, labels, {}, "{:6.2f}");
  const qkv::GroupedResult unshared =
      qkv::grouped_query_attention(x, qkv::mean_pool_kv_heads(mh, heads), causal);
  const qkv::Index differing = (unshared.output.array() != mha.output.array()).count();
  lesson.record("mha_w_k", mh.w_k, "mha_w_v", mh.w_v, "mha_output", mha.output,
                "mha_differing_entries", differing);
  lesson.say(
      "With kv_heads = h nothing is shared and this is chapter 05's multi-head attention: both "
      "call the same scaled_dot_product_attention on the same columns. Entries that differ: {} "
      "(bit for bit).",
      differing);

  lesson.heading("The cache is the memory bill: real configurations");
  //! [configs]
  struct Config {  // from each model's published config.json (README.md names them)
    const char* name;
    qkv::Index layers, heads, kv_heads, d_head, window;  // window 0: none
  };
  const std::vector<Config> configs{{"Llama-2-7B", 32, 32, 32, 128, 0},
                                    {"Llama-2-70B", 80, 64, 8, 128, 0},
                                    {"Llama-3-8B", 32, 32, 8, 128, 0},
                                    {"Mistral-7B", 32, 32, 8, 128, 4096},
                                    {"Falcon-7B (MQA)", 32, 71, 1, 64, 0}};
  const auto cache_bytes = [](const Config& c, qkv::Index context) {  // fp16: 2 bytes
    const qkv::Index held = c.window > 0 ? std::min(context, c.window) : context;
    return qkv::kv_cache_bytes(c.layers, c.kv_heads, c.d_head, held, 2);
  };
  //! [configs]
  lesson.line("{:<16} {:>6} {:>9} {:>6} {:>6}  {:>9}  {:>9}  {:>9}", "model", "layers", "heads/kv",
              "d_head", "window", "per token", "4k ctx", "32k ctx");
  std::vector<qkv::JsonObject> config_rows;
  for (const Config& c : configs) {
    const auto per_token = cache_bytes(c, 1), at_4k = cache_bytes(c, 4096),
               at_32k = cache_bytes(c, 32768);
    lesson.line("{:<16} {:>6} {:>9} {:>6} {:>6}  {:>9}  {:>9}  {:>9}", c.name, c.layers,
                fmt::format("{}/{}", c.heads, c.kv_heads), c.d_head, c.window,
                qkv::human_bytes(per_token), qkv::human_bytes(at_4k), qkv::human_bytes(at_32k));
    config_rows.push_back(qkv::JsonObject::of("model", c.name, "layers", c.layers, "heads", c.heads,
                                              "kv_heads", c.kv_heads, "d_head", c.d_head, "window",
                                              c.window, "bytes_per_token", per_token, "bytes_4k",
                                              at_4k, "bytes_32k", at_32k));
  }
  lesson.record("configs", config_rows);
  lesson.say(
      "fp16, one sequence, all layers. Llama-2-70B has 2.5 times the layers of Llama-2-7B but a "
      "smaller cache per token: 8 kv heads instead of 64. Mistral's window stops the cache at "
      "4096 tokens; Falcon's single kv head makes its cache 64 times smaller than Llama-2-7B's.");

  lesson.heading("What sharing costs: averaged keys and values");
  //! [uptraining]
  std::vector<qkv::JsonObject> cost_rows;
  for (qkv::Index kv = heads; kv >= 1; --kv) {
    if (heads % kv != 0) continue;
    const qkv::GroupedWeights pooled = qkv::mean_pool_kv_heads(mh, kv);
    const qkv::Matrix gqa_output = qkv::grouped_query_attention(x, pooled, causal).output;
    const double error = static_cast<double>((gqa_output - mha.output).norm() / mha.output.norm());
    lesson.line("kv_heads {:>3}  (groups of {:>2}, cache {:>5.1f}%)  relative error {:.3f}", kv,
                heads / kv, 100.0 * static_cast<double>(kv) / static_cast<double>(heads), error);
    cost_rows.push_back(qkv::JsonObject::of("kv_heads", kv, "relative_error", error));
  }
  //! [uptraining]
  lesson.record("uptraining", cost_rows);
  lesson.say(
      "Ainslie et al. (2023) turn a trained multi-head model into a grouped one this way, then "
      "train about 5% longer to win back the loss. The relative error ||GQA - MHA|| / ||MHA|| "
      "is where that training starts. These heads are random and unrelated, so their average is "
      "far from each: a pessimistic case; trained heads are more alike.");

  lesson.heading("Decoding reads the whole cache for every token");
  //! [intensity]
  // One decode step of one layer at context N: 4 N h d_head FLOPs, 2 N kv_heads d_head
  // numbers read. Llama-size: h = 32, d_head = 128, N = 4096, in fp32 as computed here.
  std::vector<qkv::JsonObject> intensity_rows;
  for (const qkv::Index kv : {32, 8, 1}) {
    const auto flops = qkv::decode_attention_flops(4096, 32, 128);
    const auto bytes = qkv::decode_cache_bytes(4096, kv, 128, 4);
    const double intensity = static_cast<double>(flops) / static_cast<double>(bytes);
    lesson.line("kv_heads {:>2}: {:>10} FLOPs, {:>9} read, {:>5.2f} FLOPs per byte", kv, flops,
                qkv::human_bytes(bytes), intensity);
    intensity_rows.push_back(qkv::JsonObject::of("kv_heads", kv, "flops", flops, "bytes", bytes,
                                                 "flops_per_byte", intensity));
  }
  //! [intensity]
  lesson.record("intensity", intensity_rows);
  lesson.say(
      "Intensity 2 h / (kv_heads x bytes per number): 0.5 for multi-head attention in fp32. A "
      "core is busy only above its balance point, its FLOP rate over its memory bandwidth: "
      "7 to 14 FLOPs per byte on the 2-core VMs measured for this course (a fast build's FMA "
      "peak, ~210 to 230 GFLOP/s a core, over 15 to 32 GB/s; --time measures both). Decoding "
      "waits on memory; sharing a read between h / kv_heads query heads multiplies the "
      "intensity by that much, if the reads are shared: grouped_decode_attention multiplies a "
      "group's query heads, stacked into one matrix, against the group's keys, so each key is "
      "read once per group.");

  lesson.heading("A grouped cache, with RoPE");
  //! [decode]
  const qkv::RopeConfig rope{};
  qkv::KvCache cache(tokens, kv_heads * d_head);  // h / kv_heads times narrower than chapter 06's
  qkv::Matrix cached_output(tokens, d_model);
  for (qkv::Index t = 0; t < tokens; ++t)
    cached_output.row(t) = qkv::grouped_decode_step(x.row(t), w, cache, rope);
  const qkv::Matrix rope_output = qkv::grouped_query_attention(x, w, causal, rope).output;
  //! [decode]
  const double cache_difference = (cached_output - rope_output).cwiseAbs().maxCoeff();
  lesson.record("rope_output", rope_output, "cached_output", cached_output, "cache_max_difference",
                cache_difference);
  lesson.say(
      "The cache holds {} numbers per token ({} kv heads x d_head, keys rotated at their "
      "position as in chapter 07) instead of {}. Token by token it gives the rows of full causal "
      "grouped attention with RoPE, largest difference {:.2g}.",
      kv_heads * d_head, kv_heads, d_model, cache_difference);
  if (lesson.narrating() && time_it) {
    // Model size: d_model 4096, 32 query heads of 128. Zeros: the values do not change the time.
    const qkv::Matrix q = qkv::random_normal(random, 1, 4096);
    // Triad arrays of at least 64 MiB and at least the L3 (Eigen reads it from CPUID), so
    // that the triad measures memory, not the cache, on a machine with a large L3; all three
    // written once first, so that no page fault is timed.
    const qkv::Index floats = std::max<qkv::Index>(1 << 24, Eigen::l3CacheSize() / 4);
    qkv::Vector a = qkv::Vector::Zero(floats), b = qkv::Vector::Ones(floats), c = b;
    const double triad = qkv::median_seconds(5, [&] { a = b + 3.0f * c; });
    const double copy_gbs = 3.0 * 4.0 * static_cast<double>(a.size()) / triad / 1e9;
    const qkv::Matrix m = qkv::Matrix::Ones(512, 512);
    qkv::Matrix product(512, 512);
    const double gemm = qkv::median_seconds(5, [&] { product.noalias() = m * m; });
    const double gflops = 2.0 * 512 * 512 * 512 / gemm / 1e9;
    lesson.say(
        "Measured here: a 512^3 matrix product runs at {:.1f} GFLOP/s, a triad a = b + 3 c over "
        "arrays of {} MiB moves {:.1f} GB/s: the balance point is {:.1f} FLOPs per byte. One "
        "decode step at model size (d_model 4096, 32 query heads of 128), one thread:",
        gflops, floats * 4 / 1048576, copy_gbs, gflops / copy_gbs);
    for (const qkv::Index kv : {32, 8, 1}) {
      const qkv::Matrix keys = qkv::Matrix::Zero(16384, kv * 128), values = keys;
      for (const qkv::Index n : {1024, 4096, 16384}) {
        const double s = qkv::median_seconds(5, [&] {
          (void)qkv::grouped_decode_attention(q, keys.topRows(n), values.topRows(n), 32, kv);
        });
        const double gbs = static_cast<double>(qkv::decode_cache_bytes(n, kv, 128, 4)) / s / 1e9;
        lesson.line(
            "kv_heads {:>2}, N {:>5}: {:8.3f} ms per token, {:6.1f} GB/s ({:3.0f}% of the triad)",
            kv, n, s * 1e3, gbs, 100.0 * gbs / copy_gbs);
      }
    }
  }

  lesson.heading("Sliding windows: a fixed cache, a reach that grows with depth");
  //! [reach]
  // Change token 0 and see which rows move after 0, 1, 2 and 3 windowed layers.
  qkv::Matrix x_changed = x, reached(4, tokens);
  x_changed.row(0).array() += 1.0f;
  for (qkv::Index layers = 0; layers < 4; ++layers) {
    const qkv::Matrix delta = qkv::windowed_stack(x_changed, w, layers, window) -
                              qkv::windowed_stack(x, w, layers, window);
    reached.row(layers) = (delta.rowwise().norm().array() > 0).cast<float>().transpose();
  }
  //! [reach]
  lesson.say(
      "With a window of w tokens the cache keeps w rows per layer, however long the generation "
      "(chapter 06's ring buffer): Mistral-7B holds {} in fp16 at any length. But a token sees "
      "only w - 1 positions back, so a change travels w - 1 positions per layer: after L layers, "
      "L (w - 1) (Mistral: 32 x 4095 = {} positions). Here w = {}, token t0 changed:",
      qkv::human_bytes(qkv::kv_cache_bytes(32, 8, 128, 4096, 2)), 32 * 4095, window);
  lesson.heatmap("reach", "rows changed by a change to t0, after 0 .. 3 windowed layers", reached,
                 {"x", "1 layer", "2 layers", "3 layers"}, labels);
  std::vector<qkv::Index> reach, expected_reach;  // the last row that moved; the expected one
  for (qkv::Index layers = 0; layers < 4; ++layers) {
    reach.push_back(0);
    for (qkv::Index t = 0; t < tokens; ++t)
      if (reached(layers, t) > 0) reach.back() = t;
    expected_reach.push_back(std::min(layers * (window - 1), tokens - 1));
  }
  lesson.record("reach_last_row", reach);
  lesson.say("The last row reached after 0 .. 3 layers: {} (L (w - 1), at most T - 1: {}).",
             fmt::join(reach, ", "), fmt::join(expected_reach, ", "));

  lesson.heading("What comes next");
  lesson.say(
      "Llama 2 70B, Llama 3, Mistral and most open models since use grouped-query attention; "
      "Falcon and PaLM use multi-query. Chapter 09 makes attention itself fast on the CPU. The "
      "exercises expand a grouped cache for code that only knows multi-head attention "
      "(repeat_kv), plan a cache for a memory budget, and count a decode step's FLOPs and bytes.");
  return lesson.finish();
} catch (const std::exception& error) {
  return qkv::report_error(error);
}
