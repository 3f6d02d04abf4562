// Chapter 10's executable, run as a learner would. The gradients it prints are recomputed here
// from the inputs it printed, independently of attention_backward's gradients: the forward
// written out with loops in double, and its gradient by central differences. The training part is
// run short (a smoke test: the loss falls, the same seed gives the same bytes); the full
// default run is left to the robustness test and the docs build.

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "qkv/attention_backward.hpp"  // central_differences only
#include "qkv/chapter_test.hpp"
#include "qkv/expect.hpp"

namespace qkv::testing {
namespace {

MatrixD matrix_d(const json& rows) { return matrix_from_json(rows).cast<double>(); }

// sum(O * G) for O = softmax(Q K^T / sqrt(d) + mask) V, with loops.
double loss_of(const MatrixD& q, const MatrixD& k, const MatrixD& v, const MatrixD& mask,
               const MatrixD& g) {
  double total = 0;
  for (Index i = 0; i < q.rows(); ++i) {
    std::vector<double> s(static_cast<std::size_t>(k.rows()));
    double top = -INFINITY, sum = 0;
    for (Index j = 0; j < k.rows(); ++j) {
      if (mask(i, j) == 0) continue;
      double dot = 0;
      for (Index c = 0; c < q.cols(); ++c) dot += q(i, c) * k(j, c);
      s[static_cast<std::size_t>(j)] = dot / std::sqrt(static_cast<double>(q.cols()));
      top = std::max(top, s[static_cast<std::size_t>(j)]);
    }
    if (top == -INFINITY) continue;  // a query that sees nothing: output 0
    for (Index j = 0; j < k.rows(); ++j)
      if (mask(i, j) != 0) sum += std::exp(s[static_cast<std::size_t>(j)] - top);
    for (Index j = 0; j < k.rows(); ++j) {
      if (mask(i, j) == 0) continue;
      const double p = std::exp(s[static_cast<std::size_t>(j)] - top) / sum;
      for (Index c = 0; c < v.cols(); ++c) total += p * v(j, c) * g(i, c);
    }
  }
  return total;
}

// Central differences (the library's, checked by hand in test_attention_backward.cpp).
MatrixD numeric(MatrixD& at, const std::function<double()>& f) {
  return central_differences(at, 1e-6, f);
}

void check_gradients(const json& out) {
  MatrixD x = matrix_d(out["x"]), w_q = matrix_d(out["w_q"]), w_k = matrix_d(out["w_k"]),
          w_v = matrix_d(out["w_v"]);
  const MatrixD mask = matrix_d(out["mask"]), g = matrix_d(out["d_output"]);
  MatrixD q = x * w_q, k = x * w_k, v = x * w_v;
  const auto core = [&] { return loss_of(q, k, v, mask, g); };
  const auto head = [&] { return loss_of(x * w_q, x * w_k, x * w_v, mask, g); };
  // The printed gradients are float: 1e-5 of the matrix's largest entry.
  const auto check = [](const std::string& name, const json& printed, const MatrixD& expected) {
    INFO(name);
    const double tolerance = 1e-5 * std::max(expected.cwiseAbs().maxCoeff(), 1e-3);
    CHECK_THAT(matrix_d(printed), is_close(expected, 0.0, tolerance));
  };
  check("d_q", out["d_q"], numeric(q, core));
  check("d_k", out["d_k"], numeric(k, core));
  check("d_v", out["d_v"], numeric(v, core));
  check("d_w_q", out["d_w_q"], numeric(w_q, head));
  check("d_w_k", out["d_w_k"], numeric(w_k, head));
  check("d_w_v", out["d_w_v"], numeric(w_v, head));
  check("d_x", out["d_x"], numeric(x, head));
  CHECK(out["numeric_max_rel_error"].get<double>() < 1e-6);
  CHECK(out["rowsum_dropped_rel_error"].get<double>() > 1e-2);
}

TEST_CASE("every printed gradient, recomputed from the printed inputs", "[chapter10]") {
  const json out = chapter_json({"--steps", "0"});
  check_gradients(out);
  CHECK_THAT(matrix_d(out["mask"]), equals(MatrixD::Ones(4, 4)));
  const json causal =
      chapter_json({"--steps", "0", "--causal", "--tokens", "5", "--head-dim", "1"});
  check_gradients(causal);
  const MatrixD d_scores = matrix_d(causal["d_scores"]);
  for (Index i = 0; i < 5; ++i)
    for (Index j = i + 1; j < 5; ++j) CHECK(d_scores(i, j) == 0.0);
}

TEST_CASE("a short training run lowers the loss, and the same seed prints the same bytes",
          "[chapter10]") {
  const std::vector<std::string> flags{"--json", "--steps", "60", "--pairs", "2"};
  const ProcessResult first = run_chapter(flags), second = run_chapter(flags);
  REQUIRE(first.exit_code == 0);
  CHECK(first.out == second.out);
  const json out = json::parse(first.out);
  const auto loss = out["loss_curve"].get<std::vector<double>>();
  REQUIRE(loss.size() == 3);  // steps 0, 50, 60
  // From ~4.7 untrained to below half of it in 60 steps (1.82 with the default seed).
  CHECK(loss.back() < 0.5 * loss.front());
  CHECK(out["curve_steps"].get<std::vector<double>>() == std::vector<double>{0, 50, 60});
  CHECK(out["final_accuracy"].get<double>() > 0.2);  // chance is 1/16
}

TEST_CASE("the lesson names the check, the bug and the accuracy", "[chapter10]") {
  const std::string text = unwrapped(chapter_narration({"--steps", "20", "--pairs", "2"}));
  CHECK_THAT(text, contains_all({"dS = P * (dP - rowsum(dP * P))", "Drop the rowsum term",
                                 "Held-out accuracy after 20 steps", "induction head"}));
}

}  // namespace
}  // namespace qkv::testing
