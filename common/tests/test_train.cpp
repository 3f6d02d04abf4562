// train.hpp: cross-entropy and Adam against hand-computed numbers, the recall task's
// sequences, the model's backward against central differences, and a short training run
// whose loss falls by a stated factor, the same for the same seed.

#include <cmath>
#include <set>
#include <vector>

#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/train.hpp"

namespace qkv {
namespace {

using testing::is_close;

TEST_CASE("cross_entropy: loss and gradient by hand", "[train]") {
  // Logits (0, ln 3) for target 1: softmax (1/4, 3/4), loss -ln(3/4); mean over 2 rows.
  const Matrix logits = matrix_from_rows({{0.0f, std::log(3.0f)}, {2.0f, 2.0f}});
  const CrossEntropy ce = cross_entropy(logits, {1, 0});
  CHECK_THAT(ce.loss, Catch::Matchers::WithinRel((-std::log(0.75) - std::log(0.5)) / 2, 1e-6));
  CHECK_THAT(ce.d_logits, is_close(matrix_from_rows({{0.125f, -0.125f}, {-0.25f, 0.25f}})));
  // Large logits: log-sum-exp keeps it finite.
  const CrossEntropy big = cross_entropy(matrix_from_rows({{1000.0f, 0.0f}}), {1});
  CHECK_THAT(big.loss, Catch::Matchers::WithinRel(1000.0, 1e-6));
  CHECK_THROWS_AS(cross_entropy(logits, {2, 0}), ValueError);
  CHECK_THROWS_AS(cross_entropy(logits, {0}), ValueError);
}

TEST_CASE("Adam: the first two steps by hand, with bias correction", "[train]") {
  // Step 1: m = 0.1 g, v = 0.001 g^2; m_hat = g, v_hat = g^2: the step is lr * sign(g).
  Matrix p = matrix_from_rows({{1.0f, -2.0f}});
  Adam adam(AdamOptions{.learning_rate = 0.1});
  const Matrix g1 = matrix_from_rows({{0.5f, -4.0f}});
  adam.step({&p}, {&g1}, 0.1);
  CHECK_THAT(p, is_close(matrix_from_rows({{0.9f, -1.9f}}), 1e-6, 1e-6));
  // Step 2 with g = (1, 0): m = 0.9*0.05 + 0.1 = 0.145, m_hat = 0.145/0.19;
  // v = 0.999*0.00025 + 0.001 = 0.00124975, v_hat = v/0.001999.
  const Matrix g2 = matrix_from_rows({{1.0f, 0.0f}});
  adam.step({&p}, {&g2}, 0.1);
  const double m_hat0 = 0.145 / 0.19, v_hat0 = 0.00124975 / 0.001999;
  const double m_hat1 = (0.9 * -0.4) / 0.19, v_hat1 = (0.999 * 0.016) / 0.001999;
  const Matrix expected =
      matrix_from_rows({{static_cast<float>(0.9 - 0.1 * m_hat0 / (std::sqrt(v_hat0) + 1e-8)),
                         static_cast<float>(-1.9 - 0.1 * m_hat1 / (std::sqrt(v_hat1) + 1e-8))}});
  CHECK_THAT(p, is_close(expected, 1e-6, 1e-6));
  CHECK(adam.steps() == 2);
  const Matrix wrong = Matrix::Ones(2, 2);
  CHECK_THROWS_AS(adam.step({&p}, {&wrong}, 0.1), ShapeError);
}

TEST_CASE("make_recall_batch: distinct keys, the answer follows the query's key", "[train]") {
  const RecallTask task{.pairs = 5, .keys = 8, .values = 4};
  Random random(3);
  const RecallBatch batch = make_recall_batch(task, random, 50);
  REQUIRE(batch.tokens.size() == 50);
  for (std::size_t b = 0; b < 50; ++b) {
    const auto& s = batch.tokens[b];
    REQUIRE(static_cast<Index>(s.size()) == task.length());
    std::set<Index> keys;
    for (Index i = 0; i < task.pairs; ++i) {
      CHECK(s[static_cast<std::size_t>(2 * i)] < task.keys);
      CHECK(s[static_cast<std::size_t>(2 * i + 1)] >= task.keys);
      keys.insert(s[static_cast<std::size_t>(2 * i)]);
    }
    CHECK(static_cast<Index>(keys.size()) == task.pairs);
    const auto at = static_cast<std::size_t>(batch.key_positions[b]);
    CHECK(s[at] == s.back());
    CHECK(s[at + 1] - task.keys == batch.answers[b]);
  }
  CHECK_THROWS_AS(make_recall_batch({.pairs = 9, .keys = 8, .values = 4}, random, 1), ValueError);
  CHECK(recall_labels(task, batch.tokens[0]).back().front() == 'q');
}

TEST_CASE("recall_backward matches central differences", "[train]") {
  // Float, so a coarse step (1e-2) and a loose bound: a wrong gradient is off by O(1).
  const RecallTask task{.pairs = 3, .keys = 5, .values = 4};
  Random random(1);
  RecallModel model = init_recall_model(task, 6, 2, random);
  const RecallBatch batch = make_recall_batch(task, random, 4);
  const RecallForward f = recall_forward(model, batch);
  const RecallModel g =
      recall_backward(model, batch, f, cross_entropy(f.logits, batch.answers).d_logits);
  const auto params = parameters(model);
  const auto grads = parameters(static_cast<const RecallModel&>(g));
  REQUIRE(params.size() == grads.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    MatrixD numeric(params[i]->rows(), params[i]->cols());
    for (Index e = 0; e < params[i]->size(); ++e) {
      const float saved = params[i]->data()[e];
      params[i]->data()[e] = saved + 1e-2f;
      const double up = cross_entropy(recall_forward(model, batch).logits, batch.answers).loss;
      params[i]->data()[e] = saved - 1e-2f;
      const double down = cross_entropy(recall_forward(model, batch).logits, batch.answers).loss;
      params[i]->data()[e] = saved;
      numeric.data()[e] = (up - down) / 2e-2;
    }
    INFO("parameter " << i);
    CHECK(max_relative_error(grads[i]->cast<double>(), numeric) < 2e-3);
  }
}

TEST_CASE("a short training run lowers the loss, the same for the same seed", "[train]") {
  const RecallTask task{.pairs = 3, .keys = 8, .values = 8};
  const auto run = [&] {
    Random random(7), held_random(8);
    RecallModel model = init_recall_model(task, 16, 2, random);
    const RecallBatch held_out = make_recall_batch(task, held_random, 100);
    const TrainOptions options{
        .steps = 150, .batch = 16, .eval_every = 50, .adam = {.learning_rate = 1e-2}};
    return train_recall(model, task, options, random, held_out, nullptr);
  };
  const auto first = run(), second = run();
  REQUIRE(first.size() == 4);  // steps 0, 50, 100, 150
  // From ln 8 = 2.08 (or above, untrained) to below half of it in 150 steps.
  CHECK(first.back().held_out_loss < 0.5 * first.front().held_out_loss);
  for (std::size_t i = 0; i < first.size(); ++i) {
    CHECK(first[i].loss == second[i].loss);
    CHECK(first[i].accuracy == second[i].accuracy);
  }
}

TEST_CASE("learning_rate_at: warm-up, then cosine down to a tenth", "[train]") {
  const TrainOptions o{.steps = 110, .adam = {.learning_rate = 1.0}, .warmup = 10};
  CHECK_THAT(learning_rate_at(o, 0), Catch::Matchers::WithinRel(0.1, 1e-12));
  CHECK_THAT(learning_rate_at(o, 9), Catch::Matchers::WithinRel(1.0, 1e-12));
  CHECK_THAT(learning_rate_at(o, 10), Catch::Matchers::WithinRel(1.0, 1e-12));
  CHECK_THAT(learning_rate_at(o, 60), Catch::Matchers::WithinRel(0.55, 1e-12));
  CHECK_THAT(learning_rate_at(o, 110), Catch::Matchers::WithinRel(0.1, 1e-12));
}

TEST_CASE("sparkline: the lowest value the lowest block", "[train]") {
  CHECK(sparkline({}).empty());
  CHECK(sparkline({0.0, 1.0}) == "\u2581\u2588");
  CHECK(sparkline({2.0, 2.0}) == "\u2581\u2581");
}

}  // namespace
}  // namespace qkv
