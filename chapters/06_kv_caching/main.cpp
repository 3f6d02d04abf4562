// Chapter 06: KV caching.
//
// A decoder writes one token at a time, and token t attends to tokens 0..t. Without a
// cache every step recomputes the keys and values of the whole prefix; with a KV cache
// each step projects the new token only, appends its key and value, and attends one query
// to everything cached. Same numbers, far less work, paid for in memory. Run with --help
// for the flags; the chapter text is README.md.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "qkv/cli.hpp"
#include "qkv/kv_cache.hpp"
#include "qkv/lesson.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/print.hpp"
#include "qkv/random.hpp"
#include "qkv/timing.hpp"

int main(int argc, char** argv) try {
  qkv::Cli cli("06_kv_caching", "Chapter 06: decoding token by token with a KV cache");
  qkv::Index tokens = 8, prompt = 3, d_model = 16, heads = 4, window = 0;
  bool time_it = false;
  cli.add_size("--tokens", tokens, "number of tokens T: the prompt plus the generated ones", 1,
               512);
  cli.add_size("--prompt", prompt, "prompt length P, prefilled in one step (default min(3, T))", 1,
               512);
  cli.add_size("--dim", d_model, "model width d_model", 1, 512);
  cli.add_size("--heads", heads, "number of heads h; must divide --dim", 1, 64);
  cli.add_size("--window", window,
               "keep only the last W tokens, in a ring buffer of W rows (0: keep every token)", 0,
               512);
  cli.add_flag("--time", time_it,
               "also time generating the tokens with and without the cache (timings "
               "differ from run to run; without --time the same seed prints the same bytes)");
  cli.require_divides("--heads", heads, "--dim", d_model);
  // An explicit --prompt over --tokens is an error; the default adapts (--tokens 1 prefills 1).
  cli.require_at_most("--prompt", prompt, "--tokens", tokens,
                      "the prompt is the first P of the T tokens");
  if (auto exit_code = cli.parse(argc, argv)) return *exit_code;
  prompt = std::min(prompt, tokens);
  qkv::Lesson lesson(cli.common());
  const qkv::Index d_head = d_model / heads;
  const qkv::Labels positions = qkv::numbered_labels("t", tokens);

  //! [setup]
  qkv::Random random(cli.common().seed);
  // Row t of X stands in for the embedding of token t. A real model would feed back the
  // embedding of the token it just sampled; the attention computation is the same.
  const qkv::Matrix x = qkv::random_normal(random, tokens, d_model);
  const qkv::MultiHeadWeights w = qkv::random_multi_head_weights(random, d_model, heads);
  //! [setup]
  lesson.heading("Generating one token at a time");
  lesson.say(
      "A decoder writes text one token at a time: to produce token t it runs attention with "
      "token t's query over the keys and values of tokens 0..t, then samples the next token "
      "and feeds its embedding back in. Here T = {} of width d_model = {}, a prompt of "
      "P = {}, and one multi-head attention layer (chapter 05) with h = {} heads of "
      "d_head = {}. To keep the point on attention, row t of a seeded X plays the embedding "
      "of token t instead of a sampled token.",
      qkv::plural(tokens, "token"), d_model, qkv::plural(prompt, "token"), heads, d_head);
  lesson.show("x", x, positions, {}, "{:7.3f}");
  lesson.record("w_q", w.w_q, "w_k", w.w_k, "w_v", w.w_v, "w_o", w.w_o, "heads", heads);
  lesson.say("W_q, W_k, W_v and W_o are {} each, drawn like nn.Linear (--json prints them).",
             qkv::shape_label(d_model, d_model));

  //! [full]
  // The reference: attention over all T tokens at once, each seeing tokens 0..t (or, with
  // --window W, only the last W of them).
  const qkv::Mask mask = window > 0 ? qkv::window_mask(tokens, window) : qkv::causal_mask(tokens);
  const qkv::Matrix full_output = qkv::multi_head_attention(x, w, mask).output;
  //! [full]
  lesson.heading("Without a cache: every step recomputes the prefix");
  lesson.say(
      "Generating token t without a cache means running the layer on tokens 0..t again: "
      "K = X[0..t] W_k and V = X[0..t] W_v, a (t+1) x d_model matrix each, of which only the "
      "last row is new. Over T steps that is T (T + 1) / 2 = {} key rows computed for {} "
      "distinct tokens. The rows below are what generation must produce: {} attention over "
      "all T tokens, each row seeing only the tokens allowed before it.",
      tokens * (tokens + 1) / 2, tokens, window > 0 ? "windowed" : "causal");
  lesson.show("full_output", full_output, positions, {}, "{:7.3f}");

  lesson.heading(window > 0 ? "With a fixed-window cache: a ring buffer" : "With a KV cache");
  if (window > 0) {
    lesson.say(
        "With --window {0}, each token sees only the last {0} tokens (chapter 04's window "
        "mask), so the cache needs only {0} rows: a ring buffer. Token p goes into slot "
        "p mod {0} and overwrites token p - {0}, which no later query can see. Memory stays "
        "fixed however long the generation runs.",
        window);
  } else {
    lesson.say(
        "The keys and values of tokens 0..t-1 do not change when token t arrives: a causal "
        "mask means no token ever looks ahead. So keep them. The cache has room for T = {} "
        "rows, allocated up front. The prompt is prefilled in one step; then each step "
        "projects one new token and attends its single query to every cached key.",
        tokens);
  }
  // Prefill, then one token per step. `observe`: print each step's shapes and record which
  // position each cache slot holds after it (NaN: empty); the timing runs do not.
  const qkv::Index capacity = window > 0 ? window : tokens;
  qkv::Matrix slot_table = qkv::Matrix::Constant(tokens - prompt + 1, capacity, NAN);
  qkv::KvCache full_cache(tokens, d_model);
  qkv::WindowKvCache ring(std::max<qkv::Index>(window, 1), d_model);
  const auto generate = [&](auto& cache, bool observe) {
    const auto record_slots = [&](qkv::Index step, qkv::Index last) {
      for (qkv::Index p = last + 1 - cache.size(); p <= last; ++p)
        slot_table(step, p % capacity) = static_cast<float>(p);  // a ring: slot p mod W
    };
    cache.reset();
    qkv::Matrix out(tokens, d_model);
    //! [prefill]
    // Prefill: the whole prompt in one step. Its P queries see the cache and each other
    // under the causal mask, exactly as in full attention.
    out.topRows(prompt) = qkv::decode_step(x.topRows(prompt), w, cache);
    //! [prefill]
    if (observe) {
      lesson.line("prefill  x_new {0} -> q, k, v {0} each; mask {1} {2}; cache keys {3}",
                  qkv::shape_label(prompt, d_model), window > 0 ? "window" : "causal",
                  qkv::shape_label(prompt, prompt), qkv::shape_label(cache.size(), d_model));
      record_slots(0, prompt - 1);
    }
    //! [decode]
    // Decode: one new token per step. q, k, v of that token only; k and v are appended and
    // the one query attends to every cached key.
    for (qkv::Index t = prompt; t < tokens; ++t) {
      out.row(t) = qkv::decode_step(x.row(t), w, cache);
      if (!observe) continue;
      lesson.line("step {:3}  x_new {} -> q, k, v {} each; scores per head {}; cache keys {}", t,
                  qkv::shape_label(1, d_model), qkv::shape_label(1, d_model),
                  qkv::shape_label(1, cache.size()), qkv::shape_label(cache.size(), d_model));
      record_slots(t - prompt + 1, t);
    }
    //! [decode]
    return out;
  };
  const auto generate_cached = [&](bool observe) {
    return window > 0 ? generate(ring, observe) : generate(full_cache, observe);
  };
  const qkv::Matrix cached_output = generate_cached(true);
  lesson.say("");
  lesson.show("cached_output", cached_output, positions, {}, "{:7.3f}");
  const double difference = (cached_output - full_output).cwiseAbs().maxCoeff();
  lesson.record("max_difference", difference);
  lesson.say(
      "The same rows: the largest difference from full attention is {:.2g}, float rounding "
      "(the products are summed in a different order).",
      difference);

  qkv::Labels step_labels{"prefill"};
  step_labels.insert(step_labels.end(), positions.begin() + prompt, positions.end());
  lesson.say("Which token each slot of the cache holds after each step (-: an empty slot). {}",
             window > 0 ? "Watch the ring wrap: position p lands in slot p mod W."
                        : "The cache fills up one row per step.");
  lesson.heatmap("cache_slots", "token position held in each cache slot", slot_table, step_labels,
                 qkv::numbered_labels("slot ", capacity));

  lesson.heading("Memory: what the cache holds");
  lesson.say(
      "Every layer keeps one key and one value of d_head numbers per kv head and token: "
      "bytes = 2 x layers x kv heads x d_head x tokens x bytes per number.");
  //! [memory]
  struct Model {
    const char* name;
    qkv::Index layers, kv_heads, d_head, tokens, bytes_per_number;
  };
  const std::vector<Model> models{
      {"this demo, fp32", 1, heads, d_head, capacity, 4},
      {"GPT-2 small, fp32", 12, 12, 64, 1024, 4},
      {"GPT-2 small, fp16", 12, 12, 64, 1024, 2},
      {"7B (Llama-2-7B size), fp16", 32, 32, 128, 4096, 2},
  };
  //! [memory]
  std::vector<qkv::Index> cache_bytes, bytes_per_token;
  qkv::Labels model_names;
  lesson.line("{:<26} {:>6} {:>8} {:>6} {:>6} {:>5}  {:>9}  {:>10}", "model", "layers", "kv heads",
              "d_head", "tokens", "bytes", "per token", "total");
  for (const Model& m : models) {
    const std::int64_t total =
        qkv::kv_cache_bytes(m.layers, m.kv_heads, m.d_head, m.tokens, m.bytes_per_number);
    const std::int64_t per_token = total / m.tokens;  // the bytes grow linearly with the tokens
    lesson.line("{:<26} {:>6} {:>8} {:>6} {:>6} {:>5}  {:>9}  {:>10}  = {}", m.name, m.layers,
                m.kv_heads, m.d_head, m.tokens, m.bytes_per_number, qkv::human_bytes(per_token),
                total, qkv::human_bytes(total));
    model_names.emplace_back(m.name);
    cache_bytes.push_back(total);
    bytes_per_token.push_back(per_token);
  }
  lesson.record("cache_models", model_names, "cache_bytes", cache_bytes, "cache_bytes_per_token",
                bytes_per_token);
  lesson.say(
      "The cache grows linearly with the context and with the batch: every sequence being "
      "generated has its own. For a 7B model a batch of 8 sequences of 4096 tokens needs 8 "
      "times the last line, beside the weights. That is why models share key/value heads "
      "between query heads (grouped-query attention: fewer kv heads) and why long contexts "
      "run out of memory before they run out of compute.");

  lesson.heading("Work: FLOPs per step");
  lesson.say(
      "Counting a multiply-add as 2 FLOPs, one step for a token that attends to T_k keys "
      "costs, for one layer, with the cache 8 d_model^2 + 4 T_k d_model (q, k, v and W_o for "
      "one token; scores and weighted values); without, 4 d_model^2 + 4 T_k d_model^2 + "
      "4 T_k d_model: the keys and values of all T_k tokens again.");
  //! [flops]
  std::vector<qkv::Index> flop_keys{1, (tokens + 1) / 2, tokens}, flops_cached, flops_recompute;
  flop_keys.erase(std::unique(flop_keys.begin(), flop_keys.end()), flop_keys.end());  // T <= 2
  std::vector<qkv::Index> flop_dims(flop_keys.size(), d_model);
  flop_dims.insert(flop_dims.end(), {512, 512});  // the benchmark's layer: d_model 512, 8 heads
  flop_keys.insert(flop_keys.end(), {512, 2048});
  for (std::size_t i = 0; i < flop_keys.size(); ++i) {
    flops_cached.push_back(qkv::cached_step_flops(flop_dims[i], flop_keys[i]));
    flops_recompute.push_back(qkv::recompute_step_flops(flop_dims[i], flop_keys[i]));
  }
  //! [flops]
  lesson.line("{:>8} {:>6}  {:>14}  {:>14}  {:>8}", "d_model", "T_k", "with cache", "recomputing",
              "ratio");
  for (std::size_t i = 0; i < flop_keys.size(); ++i)
    lesson.line("{:>8} {:>6}  {:>14}  {:>14}  {:>7.1f}x", flop_dims[i], flop_keys[i],
                flops_cached[i], flops_recompute[i],
                static_cast<double>(flops_recompute[i]) / static_cast<double>(flops_cached[i]));
  lesson.record("flops_d_model", flop_dims, "flops_t_k", flop_keys, "flops_cached", flops_cached,
                "flops_recompute", flops_recompute);
  lesson.say(
      "With the cache a step's work grows only through attention itself (4 T_k d_model); "
      "without it, the projections of the whole prefix dominate and the work of step t grows "
      "like t d_model^2, so generating T tokens costs about 2 T^2 d_model^2.");

  if (!time_it)
    lesson.say(
        "Run with --time to measure generating the tokens both ways (timings differ from run "
        "to run, so they are left out unless asked for).");
  if (lesson.narrating() && time_it) {
    lesson.heading("Time: generating the tokens both ways");
    // Timings vary from run to run: printed with --time only, never recorded for --json.
    //! [timing]
    const int repetitions = 5;
    const double with_cache = qkv::median_seconds(repetitions, [&] { generate_cached(false); });
    const double without_cache = qkv::median_seconds(
        repetitions, [&] { qkv::generate_without_cache(x, w, prompt, window); });
    //! [timing]
    lesson.say(
        "Producing all {} rows (prefill, then {} decode steps), the median of up to {} runs "
        "on this machine:",
        tokens, tokens - prompt, repetitions);
    lesson.line("with the cache   {:10.1f} us   ({:.2f} us per token)", with_cache * 1e6,
                with_cache * 1e6 / static_cast<double>(tokens));
    lesson.line("recomputing      {:10.1f} us   ({:.2f} us per token)", without_cache * 1e6,
                without_cache * 1e6 / static_cast<double>(tokens));
    lesson.line("speedup          {:10.1f}x", without_cache / with_cache);
    lesson.say(
        "At these toy sizes fixed costs dominate and the ratio is small or noisy. Try "
        "--tokens 256 --prompt 1 --dim 512 --heads 8, or run the benchmark "
        "(qkv_decode_benchmark, see README.md), which times d_model 512 up to 2048 tokens.");
  }

  lesson.heading("What comes next");
  lesson.say(
      "A KV cache turns generation from quadratic recomputation into one query per step over "
      "a growing memory. Real inference servers go further: grouped-query attention shrinks "
      "the cache, paged caches share memory between sequences, and sliding windows with a few "
      "kept 'sink' tokens bound it. The exercises build a paged cache and a sink cache, and size a "
      "cache for a GPU.");
  return lesson.finish();
} catch (const std::exception& error) {
  return qkv::report_error(error);
}
