// Chapter 06's executable, run as a learner would: the cached outputs it prints must equal
// full attention over all tokens, and both must equal what the library computes from the
// inputs it printed; the cache's slots, byte counts and FLOP counts are checked by hand.
// Timings are printed but never checked (they depend on the machine).

#include <cmath>
#include <limits>

#include "qkv/chapter_test.hpp"
#include "qkv/kv_cache.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"

namespace qkv::testing {
namespace {

// Recomputes everything from the printed inputs with the library and compares.
void check_outputs(const json& out, Index tokens, Index prompt, Index d_model, Index heads,
                   Index window) {
  const Matrix x = matrix_from_json(out["x"]);
  const auto w = layer_weights_from_json<qkv::MultiHeadWeights>(out, out["heads"].get<Index>());
  REQUIRE(x.rows() == tokens);
  REQUIRE(x.cols() == d_model);
  REQUIRE(w.heads == heads);
  REQUIRE(w.w_o.rows() == d_model);
  const qkv::Mask mask = window > 0 ? qkv::window_mask(tokens, window) : qkv::causal_mask(tokens);
  const Matrix full = qkv::multi_head_attention(x, w, mask).output;
  const Matrix full_output = matrix_from_json(out["full_output"]);
  const Matrix cached_output = matrix_from_json(out["cached_output"]);
  check_matrix_close(full_output, full, 1e-5, 1e-6, "full_output");
  check_matrix_close(cached_output, full, 1e-5, 1e-6, "cached_output against full attention");
  check_matrix_close(cached_output, full_output, 1e-5, 1e-6, "cached_output against full_output");

  // The same decode with the library: prefill, then one token per step.
  Matrix decoded(tokens, d_model);
  if (window > 0) {
    qkv::WindowKvCache cache(window, d_model);
    decoded.topRows(prompt) = qkv::decode_step(x.topRows(prompt), w, cache);
    for (Index t = prompt; t < tokens; ++t) decoded.row(t) = qkv::decode_step(x.row(t), w, cache);
  } else {
    qkv::KvCache cache(tokens, d_model);
    decoded.topRows(prompt) = qkv::decode_step(x.topRows(prompt), w, cache);
    for (Index t = prompt; t < tokens; ++t) decoded.row(t) = qkv::decode_step(x.row(t), w, cache);
  }
  check_matrix_close(cached_output, decoded, 1e-5, 1e-6, "cached_output against decode_step");

  const double difference = (cached_output - full_output).cwiseAbs().maxCoeff();
  CHECK(out["max_difference"].get<double>() <= 1e-5);
  CHECK_THAT(out["max_difference"].get<double>(), WithinAbs(difference, 1e-12));
}

// Row k of cache_slots: the position each slot holds after step k (k = 0: after the prefill).
std::vector<double> slots_row(const json& out, std::size_t k) {
  std::vector<double> row;
  for (const auto& value : out["cache_slots"][k])
    row.push_back(value.is_null() ? std::numeric_limits<double>::quiet_NaN() : value.get<double>());
  return row;
}

void check_slots(const std::vector<double>& actual, const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t s = 0; s < expected.size(); ++s) {
    INFO("slot " << s);
    if (std::isnan(expected[s]))
      CHECK(std::isnan(actual[s]));
    else
      CHECK(actual[s] == expected[s]);
  }
}

constexpr double empty = std::numeric_limits<double>::quiet_NaN();

}  // namespace

TEST_CASE("cached decoding equals full causal attention, recomputed from the printed inputs",
          "[chapter06]") {
  check_outputs(chapter_json(), 8, 3, 16, 4, 0);
  check_outputs(chapter_json({"--tokens", "1", "--prompt", "1"}), 1, 1, 16, 4, 0);
  check_outputs(chapter_json({"--tokens", "12", "--prompt", "1", "--dim", "8", "--heads", "2"}), 12,
                1, 8, 2, 0);
  check_outputs(chapter_json({"--tokens", "6", "--prompt", "6", "--heads", "1"}), 6, 6, 16, 1, 0);
  check_outputs(chapter_json({"--tokens", "40", "--prompt", "7", "--dim", "24", "--heads", "3"}),
                40, 7, 24, 3, 0);
}

TEST_CASE("a window cache equals windowed attention, after the ring wraps", "[chapter06]") {
  check_outputs(chapter_json({"--tokens", "11", "--prompt", "5", "--window", "3"}), 11, 5, 16, 4,
                3);
  check_outputs(chapter_json({"--tokens", "9", "--prompt", "1", "--window", "1"}), 9, 1, 16, 4, 1);
  // A window longer than the context: plain causal attention.
  check_outputs(chapter_json({"--tokens", "5", "--prompt", "2", "--window", "8"}), 5, 2, 16, 4, 8);
}

TEST_CASE("the cache's slots fill in order, or wrap around the ring", "[chapter06]") {
  const json full = chapter_json();  // T = 8, prompt 3: the prefill and steps 3..7
  REQUIRE(full["cache_slots"].size() == 6);
  check_slots(slots_row(full, 0), {0, 1, 2, empty, empty, empty, empty, empty});
  check_slots(slots_row(full, 1), {0, 1, 2, 3, empty, empty, empty, empty});
  check_slots(slots_row(full, 5), {0, 1, 2, 3, 4, 5, 6, 7});

  // Window 3, prompt 5: after the prefill the ring holds 2, 3, 4 in slots 2, 0, 1;
  // then position p goes into slot p mod 3.
  const json ring = chapter_json({"--tokens", "11", "--prompt", "5", "--window", "3"});
  REQUIRE(ring["cache_slots"].size() == 7);
  check_slots(slots_row(ring, 0), {3, 4, 2});
  check_slots(slots_row(ring, 1), {3, 4, 5});   // after position 5
  check_slots(slots_row(ring, 2), {6, 4, 5});   // after position 6: slot 0 again
  check_slots(slots_row(ring, 6), {9, 10, 8});  // after position 10
}

TEST_CASE("the cache sizes in bytes, by hand", "[chapter06]") {
  const json out = chapter_json();
  CHECK(out["cache_models"].get<std::vector<std::string>>() ==
        std::vector<std::string>{"this demo, fp32", "GPT-2 small, fp32", "GPT-2 small, fp16",
                                 "7B (Llama-2-7B size), fp16"});
  // 2 x layers x kv heads x d_head x tokens x bytes: demo 2*1*4*4*8*4; GPT-2 small
  // 2*12*12*64*1024*4 (72 MiB) and *2 (36 MiB); 7B 2*32*32*128*4096*2 = 2 GiB.
  CHECK(out["cache_bytes"].get<std::vector<std::int64_t>>() ==
        std::vector<std::int64_t>{1024, 75497472, 37748736, 2147483648});
  CHECK(out["cache_bytes_per_token"].get<std::vector<std::int64_t>>() ==
        std::vector<std::int64_t>{128, 73728, 36864, 524288});
  // With a window of 3 the demo cache holds 3 tokens: 2*1*4*4*3*4 = 384 bytes.
  const json ring = chapter_json({"--window", "3"});
  CHECK(ring["cache_bytes"][0].get<std::int64_t>() == 384);
  // d_model 32, 2 heads of 16, 5 tokens: 2*1*2*16*5*4 = 1280.
  const json other = chapter_json({"--tokens", "5", "--dim", "32", "--heads", "2"});
  CHECK(other["cache_bytes"][0].get<std::int64_t>() == 1280);
}

TEST_CASE("FLOPs per step with and without the cache, by hand", "[chapter06]") {
  const json out = chapter_json();
  CHECK(out["flops_d_model"].get<std::vector<Index>>() == std::vector<Index>{16, 16, 16, 512, 512});
  CHECK(out["flops_t_k"].get<std::vector<Index>>() == std::vector<Index>{1, 4, 8, 512, 2048});
  // cached 8 d^2 + 4 T_k d; recompute 4 d^2 + 4 T_k d^2 + 4 T_k d.
  CHECK(out["flops_cached"].get<std::vector<std::int64_t>>() ==
        std::vector<std::int64_t>{2048 + 64, 2048 + 256, 2048 + 512, 2097152 + 1048576,
                                  2097152 + 4194304});
  CHECK(out["flops_recompute"].get<std::vector<std::int64_t>>() ==
        std::vector<std::int64_t>{1024 + 1024 + 64, 1024 + 4096 + 256, 1024 + 8192 + 512,
                                  1048576 + 536870912 + 1048576, 1048576 + 2147483648LL + 4194304});
  // T = 1: the three demo positions collapse into one.
  const json one = chapter_json({"--tokens", "1", "--prompt", "1"});
  CHECK(one["flops_t_k"].get<std::vector<Index>>() == std::vector<Index>{1, 512, 2048});
}

TEST_CASE("the narrated lesson shows the cache growing, the bytes and the times", "[chapter06]") {
  const std::string text = chapter_narration({"--time"});
  CHECK_THAT(text, contains("prefill  x_new (3 x 16) -> q, k, v (3 x 16) "
                            "each; mask causal (3 x 3); cache keys (3 x 16)"));
  CHECK_THAT(text, contains("step   3  x_new (1 x 16) -> q, k, v (1 x 16) "
                            "each; scores per head (1 x 4); cache keys (4 x "
                            "16)"));
  CHECK_THAT(text, contains_all({"scores per head (1 x 8); cache keys (8 x 16)",
                                 "T (T + 1) / 2 = 36 key rows computed for 8",
                                 "2147483648  = 2 GiB", "75497472  = 72 MiB", "538968064    171.3x",
                                 "speedup", "us per token", "cached_output (8 x 16)"}));

  const std::string ring = chapter_narration({"--window", "3", "--tokens", "10"});
  CHECK_THAT(ring, contains("a ring buffer"));
  CHECK_THAT(ring, contains("mask window (3 x 3); cache keys (3 x 16)"));
  CHECK_THAT(ring, contains("step   9  x_new (1 x 16) -> q, k, v (1 x 16) "
                            "each; scores per head (1 x 3); cache keys (3 x "
                            "16)"));

  const std::string large = chapter_narration({"--tokens", "40", "--dim", "24", "--heads", "3"});
  CHECK_THAT(
      large,
      contains("x (40 x 24): the middle rows and columns left out; --json has every number"));
}

TEST_CASE("timings are printed with --time only, never in --json", "[chapter06]") {
  CHECK(run_chapter({"--json", "--time"}).out == run_chapter({"--json"}).out);
  const std::string text = chapter_narration({"--window", "3"});
  CHECK(text.find("speedup") == std::string::npos);
  CHECK_THAT(text, contains("Run with --time"));
}

TEST_CASE("heads that do not divide --dim, and a prompt longer than --tokens, exit 2",
          "[chapter06]") {
  check_rejected({"--heads", "3"}, "--heads 3 does not divide --dim 16");  // the default 16
  check_rejected({"--dim", "10", "--heads", "4"}, "--heads 4 does not divide --dim 10");
  check_rejected({"--prompt", "9"}, "--prompt 9 exceeds --tokens 8");  // the default 8
  check_rejected({"--tokens", "2", "--prompt", "3"}, "--prompt 3 exceeds --tokens 2");
}

TEST_CASE("the svg flag writes the cache-slot figure", "[chapter06]") {
  CHECK(names_of(chapter_figures({"--window", "3"})) ==
        std::vector<std::string>{"cache_slots.svg"});
}

}  // namespace qkv::testing
