// projection.hpp against hand-computed values, PyTorch (golden data from
// data/attention_golden.py) and its invariants.

#include "qkv/projection.hpp"

#include <cmath>
#include <string>

#include "qkv/attention.hpp"  // the golden case checks the scores too
#include "qkv/catch.hpp"
#include "qkv/golden.hpp"
#include "qkv/random.hpp"

namespace qkv::testing {

TEST_CASE("project multiplies X by a weight, one token per row", "[projection]") {
  const Matrix x = qkv::matrix_from_rows({{1, 2, 0}, {0, -1, 3}});  // T = 2, d_model = 3
  const Matrix w = qkv::matrix_from_rows({{1, 0}, {0, 1}, {2, -1}});
  // row 0: (1 + 0 + 0, 0 + 2 + 0); row 1: (0 + 0 + 6, 0 - 1 - 3)
  CHECK(qkv::project(x, w) == qkv::matrix_from_rows({{1, 2}, {6, -4}}));
  CHECK_THROWS_AS(qkv::project(x, Matrix::Ones(2, 2)), qkv::ShapeError);
  CHECK_THROWS_WITH(
      qkv::project(x, Matrix::Ones(4, 2), "W_k"),
      qkv::testing::contains("project") && qkv::testing::contains("X is 2x3, W_k is 4x2"));
}

TEST_CASE("project_qkv gives Q, K, V by three products, and checks the weights", "[projection]") {
  const Matrix x = qkv::matrix_from_rows({{1, 0}, {0, 1}, {1, 1}});
  qkv::QkvWeights w;
  w.w_q = qkv::matrix_from_rows({{1}, {2}});
  w.w_k = qkv::matrix_from_rows({{-1}, {0}});
  w.w_v = qkv::matrix_from_rows({{0, 1, 2}, {3, 4, 5}});  // d_v = 3 may differ from d_head
  const qkv::Qkv out = qkv::project_qkv(x, w);
  CHECK(out.q == qkv::matrix_from_rows({{1}, {2}, {3}}));
  CHECK(out.k == qkv::matrix_from_rows({{-1}, {0}, {-1}}));
  CHECK(out.v == qkv::matrix_from_rows({{0, 1, 2}, {3, 4, 5}, {3, 5, 7}}));

  w.w_k = Matrix::Ones(2, 2);  // queries and keys of different d_head cannot be compared
  CHECK_THROWS_WITH(qkv::project_qkv(x, w), qkv::testing::contains("W_q is 2x1, W_k is 2x2"));
  w.w_k = Matrix::Ones(2, 1);
  w.w_v = Matrix::Ones(3, 1);  // W_v with d_model + 1 rows
  CHECK_THROWS_WITH(qkv::project_qkv(x, w), qkv::testing::contains("X is 3x2, W_v is 3x1"));
}

TEST_CASE("random_qkv_weights: nn.Linear's range, seeded, drawn W_q, W_k, W_v in order",
          "[projection]") {
  qkv::Random random(42);
  const qkv::QkvWeights w = qkv::random_qkv_weights(random, 16, 4);
  for (const Matrix* m : {&w.w_q, &w.w_k, &w.w_v}) {
    CHECK(m->rows() == 16);
    CHECK(m->cols() == 4);
    CHECK(m->cwiseAbs().maxCoeff() <= 0.25f);  // 1 / sqrt(16)
    CHECK(m->cwiseAbs().maxCoeff() > 0.15f);   // 64 draws spread over the whole range
  }
  CHECK(w.w_q != w.w_k);
  qkv::Random again(42);
  CHECK(qkv::init_linear_weight(again, 16, 4) == w.w_q);
  CHECK(qkv::init_linear_weight(again, 16, 4) == w.w_k);
  CHECK(qkv::init_linear_weight(again, 16, 4) == w.w_v);
  CHECK_THROWS_AS(qkv::random_qkv_weights(random, 0, 4), qkv::ValueError);
  CHECK_THROWS_AS(qkv::random_qkv_weights(random, 4, 0), qkv::ValueError);
}

TEST_CASE("qkv_parameter_count is 3 d_model d_head", "[projection]") {
  CHECK(qkv::qkv_parameter_count(8, 4) == 96);
  CHECK(qkv::qkv_parameter_count(768, 64) == 147456);  // one GPT-2 small head
  CHECK(qkv::qkv_parameter_count(1, 1) == 3);
}

TEST_CASE("projections and scores match PyTorch", "[projection][golden]") {
  const auto golden = qkv::testing::load_json(QKV_TEST_DATA_DIR "/attention_golden.json");
  int checked = 0;
  for (const auto& c : golden["attention"]) {
    if (!c.contains("x")) continue;  // cases given as Q, K, V directly
    INFO("case " << c["name"].get<std::string>());
    const Matrix x_kv = matrix_from_json(c["x"]);
    const Matrix x_q = c.contains("x_q") ? matrix_from_json(c["x_q"]) : x_kv;
    const qkv::QkvWeights w{matrix_from_json(c["w_q"]), matrix_from_json(c["w_k"]),
                            matrix_from_json(c["w_v"])};
    const Matrix q = qkv::project(x_q, w.w_q, "W_q");
    const Matrix k = qkv::project(x_kv, w.w_k, "W_k");
    check_matrix_close(q, matrix_from_json(c["q"]), 1e-5, 1e-6, "q");
    check_matrix_close(k, matrix_from_json(c["k"]), 1e-5, 1e-6, "k");
    check_matrix_close(qkv::project(x_kv, w.w_v, "W_v"), matrix_from_json(c["v"]), 1e-5, 1e-6, "v");
    check_matrix_close(qkv::attention_scores(q, k), matrix_from_json(c["scores"]), 1e-5, 1e-6,
                       "scores");
    if (!c.contains("x_q")) {  // self-attention: project_qkv does all three at once
      const qkv::Qkv all = qkv::project_qkv(x_kv, w);
      check_matrix_close(all.q, matrix_from_json(c["q"]), 1e-5, 1e-6, "project_qkv q");
      check_matrix_close(all.v, matrix_from_json(c["v"]), 1e-5, 1e-6, "project_qkv v");
    }
    ++checked;
  }
  CHECK(checked == 11);
}

TEST_CASE("projection is linear: X W splits over tokens and over a sum of inputs", "[projection]") {
  qkv::Random random(8);
  const Matrix x = qkv::random_normal(random, 5, 6);
  const Matrix y = qkv::random_normal(random, 5, 6);
  const Matrix w = qkv::init_linear_weight(random, 6, 3);
  check_matrix_close(qkv::project(x + y, w), qkv::project(x, w) + qkv::project(y, w), 1e-5, 1e-5,
                     "(X + Y) W");
  // Each token is projected on its own: row t of X W depends only on row t of X.
  for (Index t = 0; t < 5; ++t)
    check_matrix_close(qkv::project(x.row(t), w), qkv::project(x, w).row(t), 1e-6, 1e-6, "row");
  // The double-precision product agrees with the float one.
  check_matrix_close(qkv::project(x, w), (x.cast<double>() * w.cast<double>()).eval(), 1e-5, 1e-6,
                     "float vs double");
}

}  // namespace qkv::testing
