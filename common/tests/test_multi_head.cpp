// multi_head.hpp against torch.nn.MultiheadAttention (golden data), hand-made cases and the
// invariants of multi-head attention.

#include "qkv/multi_head.hpp"

#include <numeric>
#include <string>
#include <tuple>
#include <vector>

#include "qkv/catch.hpp"
#include "qkv/golden.hpp"
#include "qkv/random.hpp"

namespace qkv::testing {

namespace {

MultiHeadWeights random_weights(std::uint64_t seed, Index d_model, Index heads) {
  qkv::Random random(seed);
  return qkv::random_multi_head_weights(random, d_model, heads);
}

Matrix random_tokens(std::uint64_t seed, Index tokens, Index d_model) {
  qkv::Random random(seed);
  return qkv::random_normal(random, tokens, d_model);
}

// Row i of the result is row order[i] of m.
Matrix permute_rows(const Matrix& m, const std::vector<Index>& order) {
  Matrix out(m.rows(), m.cols());
  for (Index i = 0; i < m.rows(); ++i) out.row(i) = m.row(order[static_cast<std::size_t>(i)]);
  return out;
}

}  // namespace

TEST_CASE("split_heads takes consecutive column blocks, merge_heads puts them back",
          "[multi_head]") {
  const Matrix x = qkv::matrix_from_rows({{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}});
  const auto three = qkv::split_heads(x, 3);
  REQUIRE(three.size() == 3);
  CHECK(three[0] == qkv::matrix_from_rows({{1, 2}, {7, 8}}));
  CHECK(three[1] == qkv::matrix_from_rows({{3, 4}, {9, 10}}));
  CHECK(three[2] == qkv::matrix_from_rows({{5, 6}, {11, 12}}));
  CHECK(qkv::merge_heads(three) == x);

  for (Index heads : {1, 2, 3, 6}) {
    const auto parts = qkv::split_heads(x, heads);
    CHECK(static_cast<Index>(parts.size()) == heads);
    for (const auto& part : parts) {
      CHECK(part.rows() == 2);
      CHECK(part.cols() == 6 / heads);
    }
    CHECK(qkv::merge_heads(parts) == x);  // exact: only copies
  }
  // One token, and random sizes: the round trip is the identity.
  const Matrix one = random_tokens(3, 1, 12);
  CHECK(qkv::merge_heads(qkv::split_heads(one, 4)) == one);
  const Matrix many = random_tokens(4, 9, 24);
  CHECK(qkv::merge_heads(qkv::split_heads(many, 8)) == many);
}

TEST_CASE("split_heads and merge_heads reject what does not fit", "[multi_head]") {
  const Matrix x = Matrix::Zero(2, 8);
  CHECK_THROWS_AS(qkv::split_heads(x, 3), qkv::ValueError);
  CHECK_THROWS_WITH(qkv::split_heads(x, 3),
                    contains("split_heads") && contains("3 heads do not divide d_model = 8"));
  CHECK_THROWS_AS(qkv::split_heads(x, 0), qkv::ValueError);
  CHECK_THROWS_AS(qkv::split_heads(x, -2), qkv::ValueError);
  CHECK_THROWS_AS(qkv::split_heads(x, 16), qkv::ValueError);  // more heads than columns
  CHECK_THROWS_AS(qkv::split_heads(Matrix(2, 0), 1), qkv::ValueError);

  CHECK_THROWS_AS(qkv::merge_heads({}), qkv::ValueError);
  CHECK_THROWS_AS(qkv::merge_heads({Matrix::Zero(2, 3), Matrix::Zero(2, 4)}), qkv::ShapeError);
  CHECK_THROWS_WITH(qkv::merge_heads({Matrix::Zero(2, 3), Matrix::Zero(3, 3)}),
                    contains("merge_heads") && contains("head 0 is 2x3, another head is 3x3"));
}

TEST_CASE("heads that do not divide d_model are rejected with a clear message", "[multi_head]") {
  qkv::Random random(1);
  CHECK_THROWS_AS(qkv::random_multi_head_weights(random, 8, 3), qkv::ValueError);
  CHECK_THROWS_WITH(
      qkv::random_multi_head_weights(random, 8, 3),
      contains("random_multi_head_weights") && contains("3 heads do not divide d_model = 8"));
  CHECK_THROWS_AS(qkv::random_multi_head_weights(random, 8, 0), qkv::ValueError);
  CHECK_THROWS_AS(qkv::random_multi_head_weights(random, 0, 1), qkv::ValueError);

  MultiHeadWeights w = random_weights(2, 8, 2);
  const Matrix x = random_tokens(3, 4, 8);
  w.heads = 3;
  CHECK_THROWS_WITH(qkv::multi_head_attention(x, w),
                    contains("multi_head_attention") && contains("3 heads do not divide"));
  CHECK_THROWS_AS(qkv::head_weights(w, 0), qkv::ValueError);
  w.heads = 2;
  CHECK_NOTHROW(qkv::multi_head_attention(x, w));
}

TEST_CASE("multi_head_attention checks the shapes of weights, inputs and mask", "[multi_head]") {
  const MultiHeadWeights good = random_weights(5, 8, 2);
  const Matrix x = random_tokens(6, 4, 8);

  MultiHeadWeights w = good;
  w.w_v = Matrix::Zero(8, 6);
  CHECK_THROWS_AS(qkv::multi_head_attention(x, w), qkv::ShapeError);
  CHECK_THROWS_WITH(qkv::multi_head_attention(x, w), contains("W_q is 8x8, other is 8x6"));
  w = good;
  w.w_q = w.w_k = w.w_v = w.w_o = Matrix::Zero(8, 4);
  CHECK_THROWS_AS(qkv::multi_head_attention(x, w), qkv::ShapeError);

  CHECK_THROWS_WITH(qkv::multi_head_attention(random_tokens(7, 4, 6), good),
                    contains("multi_head_attention") && contains("X_q is 4x6"));
  CHECK_THROWS_AS(qkv::multi_head_attention(x, random_tokens(8, 5, 7), good), qkv::ShapeError);

  CHECK_THROWS_WITH(qkv::multi_head_attention(x, good, qkv::causal_mask(5)),
                    contains("multi_head_attention") && contains("mask is 5x5"));
  // Cross-attention: the mask is T_q x T_k.
  const Matrix memory = random_tokens(9, 6, 8);
  CHECK_NOTHROW(qkv::multi_head_attention(x, memory, good, qkv::causal_mask(4, 6)));
  CHECK_THROWS_AS(qkv::multi_head_attention(x, memory, good, qkv::causal_mask(4)), qkv::ShapeError);

  CHECK_THROWS_AS(qkv::head_weights(good, 2), qkv::ValueError);
  CHECK_THROWS_AS(qkv::head_weights(good, -1), qkv::ValueError);
}

TEST_CASE("multi-head attention matches torch.nn.MultiheadAttention", "[multi_head][golden]") {
  const auto data = qkv::testing::load_json(QKV_TEST_DATA_DIR "/multi_head_torch.json");
  REQUIRE(data["cases"].size() >= 9);
  bool saw_one_token = false, saw_one_head = false, saw_d_head_one = false, saw_cross = false;
  for (const auto& golden : data["cases"]) {
    const auto name = golden["name"].get<std::string>();
    const auto t_q = golden["t_q"].get<Index>(), t_k = golden["t_k"].get<Index>();
    const auto d_model = golden["d_model"].get<Index>(), h = golden["h"].get<Index>();
    saw_one_token = saw_one_token || t_q == 1;
    saw_one_head = saw_one_head || h == 1;
    saw_d_head_one = saw_d_head_one || h == d_model;
    saw_cross = saw_cross || t_q != t_k;

    const auto w = qkv::testing::layer_weights_from_json<MultiHeadWeights>(golden, h);
    const Matrix x_q = qkv::testing::matrix_from_json(golden["x_q"]);
    const Matrix x_kv = qkv::testing::matrix_from_json(golden["x_kv"]);
    REQUIRE(x_q.rows() == t_q);
    REQUIRE(x_kv.rows() == t_k);
    REQUIRE(w.d_model() == d_model);

    for (const char* variant : {"unmasked", "causal"}) {
      INFO("case " << name << ", " << variant);
      const auto& expected = golden[variant];
      const bool causal = std::string(variant) == "causal";
      const std::optional<qkv::Mask> mask =
          causal ? std::optional<qkv::Mask>(qkv::causal_mask(t_q, t_k)) : std::nullopt;
      const auto result = golden["self_attention"].get<bool>()
                              ? qkv::multi_head_attention(x_q, w, mask)
                              : qkv::multi_head_attention(x_q, x_kv, w, mask);
      REQUIRE(static_cast<Index>(result.weights.size()) == h);
      REQUIRE(static_cast<Index>(result.heads.size()) == h);
      for (Index i = 0; i < h; ++i) {
        const auto at = static_cast<std::size_t>(i);
        check_matrix_close(result.weights[at],
                           qkv::testing::matrix_from_json(expected["weights"][at]), 1e-5, 1e-6,
                           name + " weights of head " + std::to_string(i));
        check_matrix_close(result.heads[at], qkv::testing::matrix_from_json(expected["heads"][at]),
                           1e-5, 1e-6, name + " output of head " + std::to_string(i));
      }
      check_matrix_close(result.concat, qkv::testing::matrix_from_json(expected["concat"]), 1e-5,
                         1e-6, name + " concat");
      check_matrix_close(result.output, qkv::testing::matrix_from_json(expected["output"]), 1e-5,
                         1e-6, name + " output");
    }
  }
  // The golden file covers the edge cases it promises.
  CHECK(saw_one_token);
  CHECK(saw_one_head);
  CHECK(saw_d_head_one);
  CHECK(saw_cross);
}

TEST_CASE("h single-head attentions on weight slices, concatenated, equal the batched form",
          "[multi_head]") {
  for (auto [tokens, d_model, heads] :
       {std::tuple<Index, Index, Index>{5, 8, 2}, {1, 6, 3}, {7, 12, 12}, {4, 16, 1}, {9, 32, 4}}) {
    INFO("T = " << tokens << ", d_model = " << d_model << ", h = " << heads);
    const MultiHeadWeights w =
        random_weights(static_cast<std::uint64_t>(10 + heads), d_model, heads);
    const Matrix x = random_tokens(static_cast<std::uint64_t>(20 + tokens), tokens, d_model);
    for (bool causal : {false, true}) {
      const std::optional<qkv::Mask> mask =
          causal ? std::optional<qkv::Mask>(qkv::causal_mask(tokens)) : std::nullopt;
      const auto batched = qkv::multi_head_attention(x, w, mask);
      const Index d_head = w.d_head();
      Matrix concat(tokens, d_model);
      Matrix summed = Matrix::Zero(tokens, d_model);
      for (Index i = 0; i < heads; ++i) {
        const qkv::QkvWeights slice = qkv::head_weights(w, i);
        REQUIRE(slice.w_q.rows() == d_model);
        REQUIRE(slice.w_q.cols() == d_head);
        const qkv::Qkv qkv_i = qkv::project_qkv(x, slice);
        const auto single = qkv::scaled_dot_product_attention(qkv_i.q, qkv_i.k, qkv_i.v, mask);
        check_matrix_close(single.weights, batched.weights[static_cast<std::size_t>(i)], 1e-5, 1e-6,
                           "weights of head " + std::to_string(i));
        concat.middleCols(i * d_head, d_head) = single.output;
        // Block product: [O_1 ... O_h] W_o = sum_i O_i (rows i d_head.. of W_o).
        summed += single.output * w.w_o.middleRows(i * d_head, d_head);
      }
      check_matrix_close(concat, batched.concat, 1e-5, 1e-6, "concat");
      check_matrix_close(concat * w.w_o, batched.output, 1e-5, 1e-6, "separate heads, then W_o");
      check_matrix_close(summed, batched.output, 1e-5, 1e-6, "sum of per-head contributions");
    }
  }
}

TEST_CASE("one head is chapter 03's single-head attention followed by W_o", "[multi_head]") {
  const MultiHeadWeights w = random_weights(30, 8, 1);
  const Matrix x = random_tokens(31, 5, 8);
  const auto single =
      qkv::scaled_dot_product_attention(Matrix(x * w.w_q), Matrix(x * w.w_k), Matrix(x * w.w_v));
  const auto multi = qkv::multi_head_attention(x, w);
  check_matrix_close(multi.weights.front(), single.weights, 1e-6, 1e-7, "weights");
  check_matrix_close(multi.output, single.output * w.w_o, 1e-5, 1e-6, "output");
}

TEST_CASE("every head applies the same mask", "[multi_head]") {
  const Index tokens = 6, d_model = 12, heads = 4;
  const MultiHeadWeights w = random_weights(40, d_model, heads);
  const Matrix x = random_tokens(41, tokens, d_model);
  for (const qkv::Mask& mask :
       {qkv::causal_mask(tokens), qkv::window_mask(tokens, 2), qkv::padding_mask(tokens, 4)}) {
    const auto result = qkv::multi_head_attention(x, w, mask);
    for (const Matrix& weights : result.weights) {
      for (Index i = 0; i < tokens; ++i) {
        CHECK_THAT(weights.row(i).sum(), WithinAbs(1.0, 1e-6));
        for (Index j = 0; j < tokens; ++j) {
          if (mask(i, j))
            CHECK(weights(i, j) > 0.0f);  // softmax of finite scores is never exactly 0 here
          else
            CHECK(weights(i, j) == 0.0f);  // masked keys get exactly zero, in every head
        }
      }
    }
  }
  // Under the causal mask, changing the last token changes no earlier output row.
  Matrix changed = x;
  changed.row(tokens - 1) = random_tokens(42, 1, d_model);
  const auto before = qkv::multi_head_attention(x, w, qkv::causal_mask(tokens));
  const auto after = qkv::multi_head_attention(changed, w, qkv::causal_mask(tokens));
  CHECK(before.output.topRows(tokens - 1) == after.output.topRows(tokens - 1));
  CHECK(before.output.row(tokens - 1) != after.output.row(tokens - 1));
}

TEST_CASE("without a mask, permuting the tokens permutes the outputs", "[multi_head]") {
  const Index tokens = 7, d_model = 12, heads = 3;
  const MultiHeadWeights w = random_weights(50, d_model, heads);
  const Matrix x = random_tokens(51, tokens, d_model);
  const std::vector<Index> order{3, 0, 6, 1, 5, 2, 4};
  const auto original = qkv::multi_head_attention(x, w);
  const auto permuted = qkv::multi_head_attention(permute_rows(x, order), w);
  check_matrix_close(permuted.output, permute_rows(original.output, order), 1e-5, 1e-6,
                     "output of permuted tokens");
  for (Index i = 0; i < heads; ++i) {
    const auto at = static_cast<std::size_t>(i);
    // Weights: rows and columns both permuted, W'(a, b) = W(order a, order b).
    Matrix expected(tokens, tokens);
    for (Index a = 0; a < tokens; ++a)
      for (Index b = 0; b < tokens; ++b)
        expected(a, b) = original.weights[at](order[static_cast<std::size_t>(a)],
                                              order[static_cast<std::size_t>(b)]);
    check_matrix_close(permuted.weights[at], expected, 1e-5, 1e-6,
                       "weights of head " + std::to_string(i));
  }
  // A causal mask breaks the symmetry: position now matters.
  const auto causal =
      qkv::multi_head_attention(permute_rows(x, order), w, qkv::causal_mask(tokens));
  const auto causal_original = qkv::multi_head_attention(x, w, qkv::causal_mask(tokens));
  CHECK((causal.output - permute_rows(causal_original.output, order)).cwiseAbs().maxCoeff() >
        1e-3f);
}

TEST_CASE("the parameter count is 4 d_model^2 (+ 4 d_model biases), whatever h is",
          "[multi_head]") {
  CHECK(qkv::multi_head_parameter_count(8) == 256);
  CHECK(qkv::multi_head_parameter_count(1) == 4);
  CHECK(qkv::multi_head_parameter_count(512) == 1'048'576);
  // GPT-2 small: d_model 768, 12 heads, with biases: 4 * 768^2 + 4 * 768.
  CHECK(qkv::multi_head_parameter_count(768, true) == 2'362'368);
  CHECK(qkv::multi_head_parameter_count(768) == 2'359'296);
  CHECK_THROWS_AS(qkv::multi_head_parameter_count(0), qkv::ValueError);

  for (Index heads : {1, 2, 3, 6, 12}) {
    const MultiHeadWeights w = random_weights(60, 12, heads);
    const Index counted = w.w_q.size() + w.w_k.size() + w.w_v.size() + w.w_o.size();
    CHECK(counted == qkv::multi_head_parameter_count(12));
    // h heads of chapter 02's projections (3 d_model d_head each) plus W_o.
    CHECK(heads * qkv::qkv_parameter_count(12, w.d_head()) + w.w_o.size() == counted);
  }
}

TEST_CASE("head_weights are the column slices of W_q, W_k and W_v", "[multi_head]") {
  MultiHeadWeights w;
  w.w_q = Matrix(4, 4);
  std::iota(w.w_q.data(), w.w_q.data() + w.w_q.size(), 0.0f);  // column-major: column c is 4c..
  w.w_k = 2 * w.w_q;
  w.w_v = 3 * w.w_q;
  w.w_o = Matrix::Identity(4, 4);
  w.heads = 2;
  const qkv::QkvWeights second = qkv::head_weights(w, 1);
  CHECK(second.w_q == qkv::matrix_from_rows({{8, 12}, {9, 13}, {10, 14}, {11, 15}}));
  CHECK(second.w_k == 2 * second.w_q);
  CHECK(second.w_v == 3 * second.w_q);
  CHECK(w.d_model() == 4);
  CHECK(w.d_head() == 2);
}

}  // namespace qkv::testing
