// Chapter 06's executable, run as a learner would: the cached outputs it prints must equal
// full attention over all tokens, and both must equal what the library computes from the
// inputs it printed; the cache's slots, byte counts and FLOP counts are checked by hand.
// Timings are printed but never checked (they depend on the machine).

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <limits>

#include "qkv/catch.hpp"
#include "qkv/golden.hpp"
#include "qkv/kv_cache.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/process.hpp"

using nlohmann::json;
using qkv::Index;
using qkv::Matrix;
using qkv::testing::check_matrix_close;
using qkv::testing::matrix_from_json;
using qkv::testing::run_process;

namespace {

json run_json(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{QKV_CHAPTER_EXE, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto result = run_process(args);
  REQUIRE(result.exit_code == 0);
  REQUIRE(result.err.empty());
  return json::parse(result.out);
}

qkv::MultiHeadWeights weights_from(const json& out) {
  qkv::MultiHeadWeights w;
  w.w_q = matrix_from_json(out["w_q"]);
  w.w_k = matrix_from_json(out["w_k"]);
  w.w_v = matrix_from_json(out["w_v"]);
  w.w_o = matrix_from_json(out["w_o"]);
  w.heads = out["heads"].get<Index>();
  return w;
}

std::string run_json_text() { return run_process({QKV_CHAPTER_EXE, "--json"}).out; }

// Recomputes everything from the printed inputs with the library and compares.
void check_outputs(const json& out, Index tokens, Index prompt, Index d_model, Index heads,
                   Index window) {
  const Matrix x = matrix_from_json(out["x"]);
  const qkv::MultiHeadWeights w = weights_from(out);
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
  check_outputs(run_json(), 8, 3, 16, 4, 0);
  check_outputs(run_json({"--tokens", "1", "--prompt", "1"}), 1, 1, 16, 4, 0);
  check_outputs(run_json({"--tokens", "12", "--prompt", "1", "--dim", "8", "--heads", "2"}), 12, 1,
                8, 2, 0);
  check_outputs(run_json({"--tokens", "6", "--prompt", "6", "--heads", "1"}), 6, 6, 16, 1, 0);
  check_outputs(run_json({"--tokens", "40", "--prompt", "7", "--dim", "24", "--heads", "3"}), 40, 7,
                24, 3, 0);
}

TEST_CASE("a window cache equals windowed attention, after the ring wraps", "[chapter06]") {
  check_outputs(run_json({"--tokens", "11", "--prompt", "5", "--window", "3"}), 11, 5, 16, 4, 3);
  check_outputs(run_json({"--tokens", "9", "--prompt", "1", "--window", "1"}), 9, 1, 16, 4, 1);
  // A window longer than the context: plain causal attention.
  check_outputs(run_json({"--tokens", "5", "--prompt", "2", "--window", "8"}), 5, 2, 16, 4, 8);
}

TEST_CASE("the cache's slots fill in order, or wrap around the ring", "[chapter06]") {
  const json full = run_json();  // T = 8, prompt 3: the prefill and steps 3..7
  REQUIRE(full["cache_slots"].size() == 6);
  check_slots(slots_row(full, 0), {0, 1, 2, empty, empty, empty, empty, empty});
  check_slots(slots_row(full, 1), {0, 1, 2, 3, empty, empty, empty, empty});
  check_slots(slots_row(full, 5), {0, 1, 2, 3, 4, 5, 6, 7});

  // Window 3, prompt 5: after the prefill the ring holds 2, 3, 4 in slots 2, 0, 1;
  // then position p goes into slot p mod 3.
  const json ring = run_json({"--tokens", "11", "--prompt", "5", "--window", "3"});
  REQUIRE(ring["cache_slots"].size() == 7);
  check_slots(slots_row(ring, 0), {3, 4, 2});
  check_slots(slots_row(ring, 1), {3, 4, 5});   // after position 5
  check_slots(slots_row(ring, 2), {6, 4, 5});   // after position 6: slot 0 again
  check_slots(slots_row(ring, 6), {9, 10, 8});  // after position 10
}

TEST_CASE("the cache sizes in bytes, by hand", "[chapter06]") {
  const json out = run_json();
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
  const json ring = run_json({"--window", "3"});
  CHECK(ring["cache_bytes"][0].get<std::int64_t>() == 384);
  // d_model 32, 2 heads of 16, 5 tokens: 2*1*2*16*5*4 = 1280.
  const json other = run_json({"--tokens", "5", "--dim", "32", "--heads", "2"});
  CHECK(other["cache_bytes"][0].get<std::int64_t>() == 1280);
}

TEST_CASE("FLOPs per step with and without the cache, by hand", "[chapter06]") {
  const json out = run_json();
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
  const json one = run_json({"--tokens", "1", "--prompt", "1"});
  CHECK(one["flops_t_k"].get<std::vector<Index>>() == std::vector<Index>{1, 512, 2048});
}

TEST_CASE("the narrated lesson shows the cache growing, the bytes and the times", "[chapter06]") {
  const auto result = run_process({QKV_CHAPTER_EXE, "--time"});
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.out, qkv::testing::contains("prefill  x_new (3 x 16) -> q, k, v (3 x 16) "
                                                "each; mask causal (3 x 3); cache keys (3 x 16)"));
  CHECK_THAT(result.out, qkv::testing::contains("step   3  x_new (1 x 16) -> q, k, v (1 x 16) "
                                                "each; scores per head (1 x 4); cache keys (4 x "
                                                "16)"));
  CHECK_THAT(result.out, qkv::testing::contains("scores per head (1 x 8); cache keys (8 x 16)"));
  CHECK_THAT(result.out, qkv::testing::contains("T (T + 1) / 2 = 36 key rows computed for 8"));
  CHECK_THAT(result.out, qkv::testing::contains("2147483648  = 2 GiB"));
  CHECK_THAT(result.out, qkv::testing::contains("75497472  = 72 MiB"));
  CHECK_THAT(result.out, qkv::testing::contains("538968064    171.3x"));
  CHECK_THAT(result.out, qkv::testing::contains("speedup"));
  CHECK_THAT(result.out, qkv::testing::contains("us per token"));
  CHECK_THAT(result.out, qkv::testing::contains("cached_output (8 x 16)"));
  CHECK(result.out.find("\x1b[") == std::string::npos);  // no ANSI escapes in a pipe

  const auto ring = run_process({QKV_CHAPTER_EXE, "--window", "3", "--tokens", "10"});
  REQUIRE(ring.exit_code == 0);
  CHECK_THAT(ring.out, qkv::testing::contains("a ring buffer"));
  CHECK_THAT(ring.out, qkv::testing::contains("mask window (3 x 3); cache keys (3 x 16)"));
  CHECK_THAT(ring.out, qkv::testing::contains("step   9  x_new (1 x 16) -> q, k, v (1 x 16) "
                                              "each; scores per head (1 x 3); cache keys (3 x "
                                              "16)"));

  const auto large =
      run_process({QKV_CHAPTER_EXE, "--tokens", "40", "--dim", "24", "--heads", "3"});
  REQUIRE(large.exit_code == 0);
  CHECK_THAT(large.out, qkv::testing::contains("x (40 x 24): too large to print here"));
}

TEST_CASE("the same seed gives byte-identical --json, another seed other numbers", "[chapter06]") {
  const auto first = run_process({QKV_CHAPTER_EXE, "--json", "--seed", "5"});
  const auto second = run_process({QKV_CHAPTER_EXE, "--json", "--seed", "5"});
  const auto other = run_process({QKV_CHAPTER_EXE, "--json", "--seed", "6"});
  REQUIRE(first.exit_code == 0);
  CHECK(first.out == second.out);
  CHECK(first.out != other.out);
  // Timings are in the narrated output with --time only, never in --json.
  CHECK(run_process({QKV_CHAPTER_EXE, "--json", "--time"}).out == run_json_text());
  const auto text = run_process({QKV_CHAPTER_EXE, "--window", "3"});
  CHECK(text.out == run_process({QKV_CHAPTER_EXE, "--window", "3"}).out);
  CHECK(text.out.find("speedup") == std::string::npos);
  CHECK_THAT(text.out, qkv::testing::contains("Run with --time"));
}

TEST_CASE("bad flags print an error and the usage and exit 2", "[chapter06]") {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--bogus"},
                                               {"--tokens", "0"},
                                               {"--tokens", "513"},
                                               {"--tokens", "abc"},
                                               {"--heads", "3"},  // 3 does not divide d_model 16
                                               {"--dim", "10", "--heads", "4"},  // nor 4 divides 10
                                               {"--prompt", "9"},  // longer than the 8 tokens
                                               {"--tokens", "2", "--prompt", "3"},
                                               {"--prompt", "0"},
                                               {"--window", "-1"},
                                               {"--window", "513"},
                                               {"--dim", "0"},
                                               {"extra"}}) {
    std::vector<std::string> argv{QKV_CHAPTER_EXE};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto result = run_process(argv);
    INFO(args.front() << " " << (args.size() > 1 ? args[1] : ""));
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, qkv::testing::contains("error:"));
    CHECK_THAT(result.err, qkv::testing::contains("--window"));  // the usage follows
    CHECK(result.out.empty());
  }
  const auto heads = run_process({QKV_CHAPTER_EXE, "--heads", "3"});
  CHECK_THAT(heads.err, qkv::testing::contains("--heads 3 does not divide --dim 16"));
  const auto prompt = run_process({QKV_CHAPTER_EXE, "--prompt", "9"});
  CHECK_THAT(prompt.err, qkv::testing::contains("--prompt 9 exceeds --tokens 8"));
  const auto help = run_process({QKV_CHAPTER_EXE, "--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, qkv::testing::contains("--prompt"));
}

TEST_CASE("the svg flag writes the cache-slot figure", "[chapter06]") {
  const auto dir = std::filesystem::temp_directory_path() / "qkv-test-ch06-svg";
  std::filesystem::remove_all(dir);
  const auto written = run_process({QKV_CHAPTER_EXE, "--svg", dir.string(), "--window", "3"});
  CHECK(written.exit_code == 0);
  CHECK(std::filesystem::exists(dir / "cache_slots.svg"));
  std::filesystem::remove_all(dir);
}
