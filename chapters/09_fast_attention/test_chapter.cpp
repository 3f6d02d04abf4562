// Chapter 09's executable, run as a learner would: every output it prints (the loops, the
// matrix form, the tiled kernel, the log-sum-exp, the running state of one row) must equal
// attention computed here in double, from the Q, K and V it printed, by the textbook two
// passes; the causal tiles are counted here pair by pair, the FLOPs and bytes by hand.
// Timings are printed but never checked (they depend on the machine).

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "qkv/chapter_test.hpp"
#include "qkv/expect.hpp"

namespace qkv::testing {
namespace {

constexpr double minus_infinity = -std::numeric_limits<double>::infinity();

// Attention in double, straight from the formula: for query i the keys j it may see (all,
// or j <= i when causal), s_ij = q_i . k_j / sqrt(d), w = softmax(s), o_i = sum_j w_ij v_j,
// and lse_i = log sum_j e^(s_ij).
struct Reference {
  MatrixD output;
  VectorD lse;
};
double score(const Matrix& q, const Matrix& k, Index i, Index j) {
  return q.row(i).cast<double>().dot(k.row(j).cast<double>()) /
         std::sqrt(static_cast<double>(q.cols()));
}
Reference attention_in_double(const Matrix& q, const Matrix& k, const Matrix& v, bool causal) {
  Reference r{MatrixD::Zero(q.rows(), v.cols()), VectorD(q.rows())};
  for (Index i = 0; i < q.rows(); ++i) {
    const Index seen = causal ? i + 1 : k.rows();
    double m = minus_infinity, l = 0;
    for (Index j = 0; j < seen; ++j) m = std::max(m, score(q, k, i, j));
    for (Index j = 0; j < seen; ++j) {
      const double e = std::exp(score(q, k, i, j) - m);
      l += e;
      r.output.row(i) += e * v.row(j).cast<double>();
    }
    r.output.row(i) /= l;
    r.lse(i) = m + std::log(l);
  }
  return r;
}

struct Case {
  std::vector<std::string> flags;
  Index tokens, d_head, block_q, block_k;
  bool causal;
};

void check_outputs(const Case& c) {
  INFO("09_fast_attention --json " << command_line(c.flags));
  const json out = chapter_json(c.flags);
  const Matrix q = matrix_from_json(out["q"]), k = matrix_from_json(out["k"]),
               v = matrix_from_json(out["v"]);
  REQUIRE(q.rows() == c.tokens);
  REQUIRE(q.cols() == c.d_head);
  REQUIRE(k.rows() == c.tokens);
  REQUIRE(v.rows() == c.tokens);
  CHECK(out["block_q"].get<Index>() == c.block_q);
  CHECK(out["block_k"].get<Index>() == c.block_k);
  CHECK(out["causal"].get<int>() == (c.causal ? 1 : 0));
  const Reference expected = attention_in_double(q, k, v, c.causal);
  const Matrix output = matrix_from_json(out["output"]);
  const Matrix reference = matrix_from_json(out["reference_output"]);
  // Float against double over T <= 64 terms: 1e-5 relative with 1e-6 absolute is ample.
  check_matrix_close(output, expected.output, 1e-5, 1e-6, "output (tiled)");
  check_matrix_close(reference, expected.output, 1e-5, 1e-6, "reference_output (matrix form)");
  check_matrix_close(matrix_from_json(out["loop_output"]), expected.output, 1e-5, 1e-6,
                     "loop_output");
  check_matrix_close(vector_from_json(out["lse"]), expected.lse, 1e-5, 1e-6, "lse");
  CHECK_THAT(out["max_abs_difference"].get<double>(),
             WithinAbs((output - reference).cwiseAbs().maxCoeff(), 1e-12));
  CHECK(out["max_abs_difference"].get<double>() <= 1e-5);
  CHECK(out["threads_max_abs_difference"].get<double>() == 0.0);  // bit-identical

  // The running state of the last query, block by block: m, l and o of the keys seen so far.
  const json& state = out["running_state"];
  const Index row = c.tokens - 1;
  CHECK(state["query"].get<Index>() == row);
  const Index blocks = (c.tokens + c.block_k - 1) / c.block_k;
  REQUIRE(state["keys_seen"].size() == static_cast<std::size_t>(blocks));
  const Matrix running_output = matrix_from_json(state["unnormalised_output"]);
  double previous_max = minus_infinity;
  for (Index b = 0; b < blocks; ++b) {
    const Index seen = std::min((b + 1) * c.block_k, c.tokens);
    INFO("running_state after key block " << b << " (" << seen << " keys)");
    double m = minus_infinity, l = 0;
    VectorD o = VectorD::Zero(c.d_head);
    for (Index j = 0; j < seen; ++j) m = std::max(m, score(q, k, row, j));
    for (Index j = 0; j < seen; ++j) {
      const double e = std::exp(score(q, k, row, j) - m);
      l += e;
      o += e * v.row(j).transpose().cast<double>();
    }
    const auto at = static_cast<std::size_t>(b);
    CHECK(state["keys_seen"][at].get<Index>() == seen);
    CHECK_THAT(state["running_max"][at].get<double>(), WithinAbs(m, 1e-5));
    CHECK_THAT(state["running_sum"][at].get<double>(), WithinRel(l, 1e-5));
    CHECK_THAT(state["rescale"][at].get<double>(), WithinAbs(std::exp(previous_max - m), 1e-5));
    check_matrix_close(Vector(running_output.row(b).transpose()), o, 1e-5, 1e-5,
                       "unnormalised_output");
    previous_max = m;
  }
}

// The causal tiles, pair by pair: tile (a, b) holds queries a*bq.. and keys b*bk..; a pair
// (i, j) is visible when j <= i.
void check_tiles(const json& out, Index tokens, Index block_q, Index block_k) {
  const Matrix tiles = matrix_from_json(out["causal_tiles"]);
  REQUIRE(tiles.rows() == (tokens + block_q - 1) / block_q);
  REQUIRE(tiles.cols() == (tokens + block_k - 1) / block_k);
  Index computed = 0, computed_scores = 0;
  for (Index a = 0; a < tiles.rows(); ++a)
    for (Index b = 0; b < tiles.cols(); ++b) {
      Index pairs = 0, size = 0;
      for (Index i = a * block_q; i < std::min((a + 1) * block_q, tokens); ++i)
        for (Index j = b * block_k; j < std::min((b + 1) * block_k, tokens); ++j) {
          ++size;
          pairs += j <= i ? 1 : 0;
        }
      INFO("tile (" << a << ", " << b << ")");
      CHECK(tiles(a, b) == static_cast<float>(pairs));
      if (pairs > 0) ++computed, computed_scores += size;
    }
  CHECK(out["causal_tiles_computed"].get<Index>() == computed);
  CHECK_THAT(out["causal_fraction_computed"].get<double>(),
             WithinRel(static_cast<double>(computed_scores) / static_cast<double>(tokens * tokens),
                       1e-12));
}

}  // namespace

TEST_CASE("every output equals attention in double, from the printed Q, K and V", "[chapter09]") {
  for (const Case& c : std::vector<Case>{
           {{}, 10, 4, 4, 3, false},
           {{"--causal"}, 10, 4, 4, 3, true},
           {{"--tokens", "1"}, 1, 4, 4, 3, false},
           {{"--tokens", "1", "--causal", "--head-dim", "1"}, 1, 1, 4, 3, true},
           {{"--tokens", "37", "--block-q", "5", "--block-k", "64"}, 37, 4, 5, 64, false},
           {{"--tokens", "23", "--head-dim", "1", "--causal", "--block-q", "7", "--block-k", "7"},
            23,
            1,
            7,
            7,
            true},
           {{"--tokens", "17", "--block-q", "1", "--block-k", "1", "--causal", "--threads", "3"},
            17,
            4,
            1,
            1,
            true},
           {{"--tokens", "64", "--head-dim", "64", "--block-q", "16", "--block-k", "13",
             "--threads", "4"},
            64,
            64,
            16,
            13,
            false},
       })
    check_outputs(c);
}

TEST_CASE("the running state of the default run, by hand", "[chapter09]") {
  // Query t9 against 10 keys in blocks of 3: keys 3, 6, 9 and 10; the maximum never falls,
  // and o / l of the last state is the output row.
  const json out = chapter_json();
  const json& state = out["running_state"];
  CHECK(state["keys_seen"].get<std::vector<Index>>() == std::vector<Index>{3, 6, 9, 10});
  const Vector m = vector_from_json(state["running_max"]);
  for (Index b = 1; b < m.size(); ++b) CHECK(m(b) >= m(b - 1));
  CHECK(state["rescale"][0].get<double>() == 0.0);  // e^(-inf - m): nothing summed before
  const Matrix o = matrix_from_json(state["unnormalised_output"]);
  const float l = vector_from_json(state["running_sum"])(3);
  check_matrix_close(Vector(o.row(3).transpose() / l),
                     Vector(matrix_from_json(out["output"]).row(9).transpose()), 1e-5, 1e-6,
                     "o / l of the last state against output row t9");
  CHECK_THAT(vector_from_json(out["lse"])(9), WithinAbs(m(3) + std::log(l), 1e-5));
}

TEST_CASE("the causal tiles, counted pair by pair", "[chapter09]") {
  const json out = chapter_json();  // T = 10, blocks of 4 queries and 3 keys
  check_tiles(out, 10, 4, 3);
  // By hand: query block 0 (queries 0..3) sees 1+2+3+3 = 9 pairs of keys 0..2 and key 3 once.
  CHECK_THAT(matrix_from_json(out["causal_tiles"]),
             equals(matrix_from_rows({{9, 1, 0, 0}, {12, 11, 3, 0}, {6, 6, 6, 1}})));
  CHECK(out["causal_tiles_computed"].get<Index>() == 9);
  CHECK_THAT(out["causal_fraction_computed"].get<double>(), WithinRel(0.8, 1e-12));  // 80 of 100
  check_tiles(chapter_json({"--tokens", "64", "--block-q", "16", "--block-k", "16"}), 64, 16, 16);
  check_tiles(chapter_json({"--tokens", "29", "--block-q", "6", "--block-k", "11"}), 29, 6, 11);
  check_tiles(chapter_json({"--tokens", "5", "--block-q", "9", "--block-k", "2"}), 5, 9, 2);
}

TEST_CASE("the cost table, by hand", "[chapter09]") {
  const json out = chapter_json({"--head-dim", "64"});
  CHECK(out["cost_tokens"].get<std::vector<Index>>() == std::vector<Index>{10, 1024, 4096, 32768});
  // 4 T^2 d and 4 T^2 bytes: 32768^2 floats are 4 GiB.
  CHECK(out["cost_flops"].get<std::vector<std::int64_t>>() ==
        std::vector<std::int64_t>{25600, 268435456, 4294967296, 274877906944});
  CHECK(out["cost_score_bytes"].get<std::vector<std::int64_t>>() ==
        std::vector<std::int64_t>{400, 4194304, 67108864, 4294967296});
}

TEST_CASE("the narrated lesson: the table of one row, the tiles, the threads", "[chapter09]") {
  const std::string text = chapter_narration();
  CHECK_THAT(text, contains_all({"     keys         m   rescale         l  o",
                                 "       10    0.5401    1.0000    5.9217",
                                 "9 of 12 tiles are computed, 80.0% of the scores"}));
  CHECK_THAT(unwrapped(text), contains("the 55.0% = (T + 1) / 2T that are visible"));
  CHECK_THAT(text, contains("  q1   12██   11██    3░░    0"));
  CHECK_THAT(unwrapped(text), contains("2 threads against 1 thread, the largest difference is 0."));
  CHECK_THAT(text, contains("32768      17179869184       4294967296  = 4 GiB"));
  CHECK_THAT(text, contains("Run with --time"));
  // A long table of blocks is cut after the first 8, keeping the last 2.
  const std::string long_trace = chapter_narration({"--tokens", "30", "--block-k", "1"});
  CHECK_THAT(long_trace, contains("        8    "));
  CHECK_THAT(long_trace, contains("      ...\n       29    "));
  CHECK(long_trace.find("\n        9    ") == std::string::npos);
}

TEST_CASE("timings are printed with --time only, never in --json", "[chapter09]") {
  const std::string timed = chapter_narration({"--time"});
  CHECK_THAT(timed, contains("GFLOP/s"));
  CHECK_THAT(timed, contains("tiled, 2 threads"));
  CHECK_THAT(unwrapped(timed), contains("cmake --workflow --preset fast"));
  CHECK(run_chapter({"--json", "--time"}).out == run_chapter({"--json"}).out);
  CHECK(chapter_narration().find("GFLOP/s") == std::string::npos);
}

TEST_CASE("the svg flag writes the causal tile figure", "[chapter09]") {
  CHECK(names_of(chapter_figures()) == std::vector<std::string>{"causal_tiles.svg"});
}

}  // namespace qkv::testing
