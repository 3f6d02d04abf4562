// Chapter 08's executable, run as a learner would. Every number it prints is recomputed here
// from the inputs it printed, independently of grouped_query.hpp: the keys and values
// expanded to one head per query head (Hugging Face's repeat_kv), attention and softmax
// written out by hand in double, RoPE as Meta's Llama code writes it (complex numbers), and
// the cache sizes and FLOP counts multiplied out.

#include <cmath>
#include <complex>
#include <limits>
#include <string>
#include <vector>

#include "qkv/chapter_test.hpp"
#include "qkv/expect.hpp"

namespace qkv::testing {
namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

MatrixD matrix_d(const json& rows) { return matrix_from_json(rows).cast<double>(); }

// T x (kv_heads d) -> T x (heads d): query head i gets kv head i / (heads / kv_heads).
MatrixD repeat_kv(const MatrixD& kv, Index heads, Index kv_heads) {
  const Index d = kv.cols() / kv_heads;
  MatrixD out(kv.rows(), heads * d);
  for (Index i = 0; i < heads; ++i)
    out.middleCols(i * d, d) = kv.middleCols(i / (heads / kv_heads) * d, d);
  return out;
}

// Pairs (2i, 2i+1) of each head as complex numbers times e^(i t theta_i), at positions 0..T-1.
MatrixD rope_by_complex(const MatrixD& x, Index heads) {
  MatrixD y = x;
  const Index d = x.cols() / heads;
  for (Index t = 0; t < x.rows(); ++t)
    for (Index h = 0; h < heads; ++h)
      for (Index i = 0; i < d / 2; ++i) {
        const double theta = std::pow(10000.0, -2.0 * double(i) / double(d));
        const Index a = h * d + 2 * i;
        const std::complex<double> z =
            std::complex<double>(x(t, a), x(t, a + 1)) * std::polar(1.0, double(t) * theta);
        y(t, a) = z.real();
        y(t, a + 1) = z.imag();
      }
  return y;
}

// softmax(q k^T / sqrt(d) + M) v with key j visible to query i when j <= i.
MatrixD causal_attention(const MatrixD& q, const MatrixD& k, const MatrixD& v,
                         MatrixD* weights = nullptr) {
  const Index t = q.rows();
  MatrixD w(t, t);
  for (Index i = 0; i < t; ++i) {
    double largest = -inf, sum = 0;
    for (Index j = 0; j <= i; ++j) largest = std::max(largest, q.row(i).dot(k.row(j)));
    for (Index j = 0; j < t; ++j) {
      const double scaled = (q.row(i).dot(k.row(j)) - largest) / std::sqrt(double(q.cols()));
      w(i, j) = j <= i ? std::exp(scaled) : 0.0;
      sum += w(i, j);
    }
    w.row(i) /= sum;
  }
  if (weights) *weights = w;
  return w * v;
}

// Multi-head attention over h heads of q, k, v already expanded to h heads, then W_o.
MatrixD heads_attention(const MatrixD& q, const MatrixD& k, const MatrixD& v, const MatrixD& w_o,
                        Index heads, MatrixD* head0_weights = nullptr) {
  const Index d = q.cols() / heads;
  MatrixD concat(q.rows(), q.cols());
  for (Index i = 0; i < heads; ++i)
    concat.middleCols(i * d, d) =
        causal_attention(q.middleCols(i * d, d), k.middleCols(i * d, d), v.middleCols(i * d, d),
                         i == 0 ? head0_weights : nullptr);
  return concat * w_o;
}

// Mean of each group's heads of W (d_model x (heads d)), by hand.
MatrixD pooled(const MatrixD& w, Index heads, Index kv_heads) {
  const Index d = w.cols() / heads, group = heads / kv_heads;
  MatrixD out = MatrixD::Zero(w.rows(), kv_heads * d);
  for (Index i = 0; i < heads; ++i) out.middleCols(i / group * d, d) += w.middleCols(i * d, d);
  return out / double(group);
}

void check_chapter(const std::vector<std::string>& flags, Index tokens, Index d_model, Index heads,
                   Index kv_heads, Index window) {
  INFO(command_line(flags));
  const json out = chapter_json(flags);
  const MatrixD x = matrix_d(out["x"]);
  REQUIRE(x.rows() == tokens);
  REQUIRE(x.cols() == d_model);
  REQUIRE(out["heads"].get<Index>() == heads);
  REQUIRE(out["kv_heads"].get<Index>() == kv_heads);
  const Index d_head = d_model / heads;
  CHECK(out["d_head"].get<Index>() == d_head);
  const MatrixD w_q = matrix_d(out["w_q"]), w_k = matrix_d(out["w_k"]);
  const MatrixD w_v = matrix_d(out["w_v"]), w_o = matrix_d(out["w_o"]);
  CHECK(w_k.cols() == kv_heads * d_head);
  const MatrixD q = x * w_q, k = x * w_k, v = x * w_v;
  check_matrix_close(matrix_from_json(out["q"]), q, 1e-5, 1e-6, "q");
  check_matrix_close(matrix_from_json(out["k"]), k, 1e-5, 1e-6, "k");
  check_matrix_close(matrix_from_json(out["v"]), v, 1e-5, 1e-6, "v");

  // Grouped attention, the way Hugging Face computes it: expand, then multi-head.
  MatrixD head0;
  const MatrixD gqa = heads_attention(q, repeat_kv(k, heads, kv_heads),
                                      repeat_kv(v, heads, kv_heads), w_o, heads, &head0);
  check_matrix_close(matrix_from_json(out["output"]), gqa, 1e-5, 1e-6, "output");
  check_matrix_close(matrix_from_json(out["weights"]), head0, 1e-5, 1e-6, "weights");

  // The multi-head layer it was made from: W_k, W_v mean-pooled per group; W_q, W_o kept.
  const MatrixD mha_w_k = matrix_d(out["mha_w_k"]), mha_w_v = matrix_d(out["mha_w_v"]);
  check_matrix_close(w_k, pooled(mha_w_k, heads, kv_heads), 1e-6, 1e-7, "w_k (pooled)");
  check_matrix_close(w_v, pooled(mha_w_v, heads, kv_heads), 1e-6, 1e-7, "w_v (pooled)");
  const MatrixD mha = heads_attention(q, x * mha_w_k, x * mha_w_v, w_o, heads);
  check_matrix_close(matrix_from_json(out["mha_output"]), mha, 1e-5, 1e-6, "mha_output");
  CHECK(out["mha_differing_entries"].get<Index>() == 0);
  std::vector<Index> divisors;
  for (Index kv = heads; kv >= 1; --kv)
    if (heads % kv == 0) divisors.push_back(kv);
  REQUIRE(out["uptraining"].size() == divisors.size());
  for (std::size_t r = 0; r < divisors.size(); ++r) {
    const Index kv = divisors[r];
    INFO("uptraining, kv_heads " << kv);
    const json& row = out["uptraining"][r];
    CHECK(row["kv_heads"].get<Index>() == kv);
    const MatrixD merged =
        heads_attention(q, repeat_kv(x * pooled(mha_w_k, heads, kv), heads, kv),
                        repeat_kv(x * pooled(mha_w_v, heads, kv), heads, kv), w_o, heads);
    CHECK_THAT(row["relative_error"].get<double>(),
               Catch::Matchers::WithinAbs((merged - mha).norm() / mha.norm(), 1e-5));
  }
  CHECK(out["uptraining"][0]["relative_error"].get<double>() == 0.0);

  // RoPE on every head of q (h heads) and k (kv_heads heads); the cache gives the same rows.
  const MatrixD rope = heads_attention(rope_by_complex(q, heads),
                                       repeat_kv(rope_by_complex(k, kv_heads), heads, kv_heads),
                                       repeat_kv(v, heads, kv_heads), w_o, heads);
  check_matrix_close(matrix_from_json(out["rope_output"]), rope, 1e-5, 1e-6, "rope_output");
  check_matrix_close(matrix_from_json(out["cached_output"]), rope, 1e-5, 1e-6, "cached_output");
  CHECK(out["cache_max_difference"].get<double>() <= 1e-5);

  // The reach: after L layers exactly rows 0 .. min(L (w - 1), T - 1) moved.
  const MatrixD reach = matrix_d(out["reach"]);
  REQUIRE(reach.rows() == 4);
  std::vector<Index> last_rows;
  for (Index layers = 0; layers < 4; ++layers) {
    const Index last = std::min(layers * (window - 1), tokens - 1);
    last_rows.push_back(last);
    for (Index t = 0; t < tokens; ++t) {
      INFO("layers " << layers << ", row " << t);
      CHECK(reach(layers, t) == (t <= last ? 1.0 : 0.0));
    }
  }
  CHECK(out["reach_last_row"].get<std::vector<Index>>() == last_rows);
}

}  // namespace

TEST_CASE("every printed number, recomputed independently from the printed inputs", "[chapter08]") {
  check_chapter({}, 8, 16, 4, 2, 3);
  check_chapter({"--kv-heads", "1"}, 8, 16, 4, 1, 3);
  check_chapter({"--dim", "32", "--heads", "8", "--kv-heads", "8", "--window", "2"}, 8, 32, 8, 8,
                2);
  check_chapter({"--tokens", "1", "--window", "1"}, 1, 16, 4, 2, 1);
  check_chapter({"--tokens", "12", "--dim", "24", "--heads", "6", "--kv-heads", "3", "--window",
                 "5", "--seed", "7"},
                12, 24, 6, 3, 5);
}

TEST_CASE("the tables: real caches, the head mapping and the decode intensity, by hand",
          "[chapter08]") {
  const json out = chapter_json();
  // 2 x layers x kv_heads x d_head x tokens x 2 bytes; Mistral's window holds 4096 tokens.
  struct Row {
    const char* model;
    Index layers, heads, kv_heads, d_head, window;
  };
  const std::vector<Row> rows{{"Llama-2-7B", 32, 32, 32, 128, 0},
                              {"Llama-2-70B", 80, 64, 8, 128, 0},
                              {"Llama-3-8B", 32, 32, 8, 128, 0},
                              {"Mistral-7B", 32, 32, 8, 128, 4096},
                              {"Falcon-7B (MQA)", 32, 71, 1, 64, 0}};
  REQUIRE(out["configs"].size() == rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const Row& e = rows[r];
    const json& row = out["configs"][r];
    INFO(e.model);
    CHECK(row["model"].get<std::string>() == e.model);
    const std::int64_t per_token = 2LL * e.layers * e.kv_heads * e.d_head * 2;
    CHECK(row["bytes_per_token"].get<std::int64_t>() == per_token);
    CHECK(row["bytes_4k"].get<std::int64_t>() == 4096 * per_token);
    CHECK(row["bytes_32k"].get<std::int64_t>() == (e.window ? e.window : 32768) * per_token);
    CHECK(row["heads"].get<Index>() == e.heads);
  }
  CHECK(out["configs"][0]["bytes_per_token"].get<std::int64_t>() == 524288);  // 512 KiB
  CHECK(out["configs"][4]["bytes_4k"].get<std::int64_t>() == 32 * 1024 * 1024);

  const MatrixD mapping = matrix_d(out["head_mapping"]);
  REQUIRE(mapping.rows() == 8);
  REQUIRE(mapping.cols() == 2);
  for (Index i = 0; i < 8; ++i) {
    INFO("query head " << i);
    CHECK(mapping(i, 0) == (i < 4 ? 1.0 : 0.0));  // 0 1 2 3 | 4 5 6 7, not 0 2 4 6 | 1 3 5 7
    CHECK(mapping(i, 1) == (i < 4 ? 0.0 : 1.0));
  }

  REQUIRE(out["intensity"].size() == 3);
  for (std::size_t r = 0; r < 3; ++r) {
    const json& row = out["intensity"][r];
    const Index kv = std::vector<Index>{32, 8, 1}[r];
    INFO("kv_heads " << kv);
    CHECK(row["kv_heads"].get<Index>() == kv);
    CHECK(row["flops"].get<std::int64_t>() == 4LL * 4096 * 32 * 128);
    CHECK(row["bytes"].get<std::int64_t>() == 2LL * 4096 * kv * 128 * 4);
    CHECK(row["flops_per_byte"].get<double>() == 2.0 * 32 / (double(kv) * 4));
  }
}

TEST_CASE("the narrated lesson shows the mapping, the tables, and no timings unless asked",
          "[chapter08]") {
  const std::string text = chapter_narration();
  CHECK_THAT(text, contains_all({"kv head 0  <-  query heads 0 .. 1",
                                 "kv head 1  <-  query heads 2 .. 3", "Entries that differ: 0",
                                 "Llama-2-70B          80      64/8    128      0    320 KiB"}));
  CHECK_THAT(text, contains("Mistral-7B           32      32/8    128   4096    128 KiB    512 MiB"
                            "    512 MiB"));
  CHECK_THAT(text,
             contains_all({"kv_heads  8:   67108864 FLOPs,    32 MiB read,  2.00 FLOPs per byte",
                           "The last row reached after 0 .. 3 layers: 0, 2, 4, 6", "q (8 x 16)",
                           "k (8 x 8)"}));
  CHECK_THAT(text, !contains("ms per token") && !contains("GB/s ("));
}

TEST_CASE("kv heads that do not divide the heads, and an odd d_head, exit 2", "[chapter08]") {
  check_rejected({"--kv-heads", "3"}, "--kv-heads 3 does not divide --heads 4");
  check_rejected({"--heads", "8", "--kv-heads", "16"}, "--kv-heads 16 does not divide --heads 8");
  check_rejected({"--heads", "3"}, "--heads 3 does not divide --dim 16");
  check_rejected({"--dim", "12", "--heads", "4"}, "--dim 12 / --heads 4 = 3 is odd");
}

TEST_CASE("the svg flag writes the head mapping, the weights and the reach", "[chapter08]") {
  CHECK(names_of(chapter_figures()) ==
        std::vector<std::string>{"head_mapping.svg", "reach.svg", "weights.svg"});
}

}  // namespace qkv::testing
