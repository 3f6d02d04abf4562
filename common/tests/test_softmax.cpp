// softmax.hpp against hand-computed values, PyTorch (golden data from
// data/attention_golden.py) and the invariants of softmax.

#include "qkv/softmax.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/golden.hpp"
#include "qkv/random.hpp"

namespace qkv::testing {

namespace {
constexpr float inf = std::numeric_limits<float>::infinity();

// Scores from golden JSON: null stands for a masked score, -inf.
Matrix scores_from_json(const nlohmann::json& rows) {
  Matrix m = matrix_from_json(rows);
  return m.unaryExpr([](float s) { return std::isnan(s) ? -inf : s; });
}
}  // namespace

TEST_CASE("softmax by hand: e^s over the sum", "[softmax]") {
  // e^0 = 1 and e^(ln 3) = 3: weights 1/4 and 3/4.
  const Vector w = qkv::softmax(qkv::vector_of({0, std::log(3.0f)}));
  CHECK_THAT(w(0), WithinAbs(0.25, 1e-7));
  CHECK_THAT(w(1), WithinAbs(0.75, 1e-7));
  // Equal scores share equally; one score takes everything.
  CHECK(qkv::softmax(qkv::vector_of({2, 2, 2, 2})) == qkv::vector_of({0.25f, 0.25f, 0.25f, 0.25f}));
  CHECK(qkv::softmax(qkv::vector_of({-7.5f})) == qkv::vector_of({1}));
  // Row by row: each row of the matrix is its own softmax.
  const Matrix rows = qkv::softmax_rows(qkv::matrix_from_rows({{0, std::log(3.0f)}, {5, 5}}));
  CHECK_THAT(rows(0, 1), WithinAbs(0.75, 1e-7));
  CHECK(rows.row(1) == qkv::matrix_from_rows({{0.5f, 0.5f}}));
}

TEST_CASE("softmax rows are positive, sum to 1 and keep the order of the scores", "[softmax]") {
  qkv::Random random(21);
  for (const auto& [rows, cols, scale] : std::vector<std::tuple<Index, Index, double>>{
           {1, 1, 1.0}, {4, 7, 1.0}, {3, 50, 5.0}, {16, 16, 0.1}}) {
    const Matrix scores = qkv::random_normal(random, rows, cols, scale);
    const Matrix weights = qkv::softmax_rows(scores);
    REQUIRE(weights.rows() == rows);
    REQUIRE(weights.cols() == cols);
    CHECK((weights.array() > 0.0f).all());
    for (Index i = 0; i < rows; ++i) {
      CHECK_THAT(weights.row(i).sum(), WithinAbs(1.0, 1e-6));
      for (Index j = 0; j + 1 < cols; ++j)
        CHECK((scores(i, j) < scores(i, j + 1)) == (weights(i, j) < weights(i, j + 1)));
    }
  }
}

TEST_CASE("softmax ignores a constant added to a row", "[softmax]") {
  qkv::Random random(22);
  const Matrix scores = qkv::random_normal(random, 3, 6);
  const Matrix weights = qkv::softmax_rows(scores);
  for (float shift : {-100.0f, -1.0f, 3.5f, 80.0f}) {
    INFO("shift " << shift);
    check_matrix_close(qkv::softmax_rows((scores.array() + shift).matrix()), weights, 1e-5, 1e-6,
                       "shifted");
  }
}

TEST_CASE("the naive softmax overflows on large scores, the stable one does not", "[softmax]") {
  const Matrix big = qkv::matrix_from_rows({{1000, 999, 998}});
  const Matrix tiny = qkv::matrix_from_rows({{-1000, -1001, -1002}});
  CHECK(std::isinf(std::exp(89.0f)));  // the float limit the chapter quotes
  CHECK(std::isfinite(std::exp(88.0f)));
  CHECK(qkv::naive_softmax_rows(big).array().isNaN().all());   // inf / inf
  CHECK(qkv::naive_softmax_rows(tiny).array().isNaN().all());  // 0 / 0
  const double sum = 1 + std::exp(-1.0) + std::exp(-2.0);
  for (const Matrix& scores : {big, tiny}) {
    const Matrix w = qkv::softmax_rows(scores);
    CHECK_THAT(w(0, 0), WithinRel(1 / sum, 1e-6));
    CHECK_THAT(w(0, 1), WithinRel(std::exp(-1.0) / sum, 1e-6));
    CHECK_THAT(w(0, 2), WithinRel(std::exp(-2.0) / sum, 1e-6));
  }
}

TEST_CASE("stable and naive softmax agree wherever the naive one does not overflow", "[softmax]") {
  qkv::Random random(23);
  for (double scale : {0.01, 1.0, 10.0, 25.0}) {
    INFO("scores of scale " << scale);
    // |s| stays below 88 (e^88 fits in float) except with negligible probability; check it.
    const Matrix scores = qkv::random_normal(random, 6, 9, scale);
    REQUIRE(scores.cwiseAbs().maxCoeff() < 88.0f);
    const Matrix naive = qkv::naive_softmax_rows(scores);
    REQUIRE(naive.allFinite());
    check_matrix_close(naive, qkv::softmax_rows(scores), 1e-5, 1e-7, "naive vs stable");
  }
}

TEST_CASE("masked scores of -inf get weight exactly 0; a row of -inf gets zeros, not NaN",
          "[softmax]") {
  const Matrix w = qkv::softmax_rows(
      qkv::matrix_from_rows({{-inf, 1, -inf, 1}, {-inf, -inf, -inf, -inf}, {3, -inf, -inf, -inf}}));
  CHECK(w.row(0) == qkv::matrix_from_rows({{0, 0.5f, 0, 0.5f}}));
  CHECK(w.row(1) == qkv::matrix_from_rows({{0, 0, 0, 0}}));
  CHECK(w.row(2) == qkv::matrix_from_rows({{1, 0, 0, 0}}));
  // A NaN score is not hidden: its whole row is NaN.
  const Matrix with_nan = qkv::softmax_rows(qkv::matrix_from_rows({{1, NAN, 2}, {1, 2, 3}}));
  CHECK(with_nan.row(0).array().isNaN().all());
  CHECK(with_nan.row(1).allFinite());
  // No columns: nothing to weigh.
  CHECK(qkv::softmax_rows(Matrix(2, 0)).size() == 0);
}

TEST_CASE("temperature sharpens below 1 and flattens above, never reorders", "[softmax]") {
  const Matrix scores = qkv::matrix_from_rows({{1, 2, 3}});
  CHECK(qkv::softmax_rows_with_temperature(scores, 1.0) == qkv::softmax_rows(scores));
  // tau = 0.5 is softmax of the doubled scores.
  check_matrix_close(qkv::softmax_rows_with_temperature(scores, 0.5),
                     qkv::softmax_rows(qkv::matrix_from_rows({{2, 4, 6}})), 1e-6, 1e-7, "tau 0.5");
  const float h_sharp = qkv::row_entropy(qkv::softmax_rows_with_temperature(scores, 0.2))(0);
  const float h_plain = qkv::row_entropy(qkv::softmax_rows(scores))(0);
  const float h_flat = qkv::row_entropy(qkv::softmax_rows_with_temperature(scores, 5.0))(0);
  CHECK(h_sharp < h_plain);
  CHECK(h_plain < h_flat);
  CHECK(h_flat < std::log(3.0f));
  // Extremes: tau -> 0 is the arg-max, tau -> infinity uniform.
  CHECK_THAT(qkv::softmax_rows_with_temperature(scores, 0.01)(0, 2), WithinAbs(1.0, 1e-6));
  CHECK_THAT(qkv::softmax_rows_with_temperature(scores, 1e6)(0, 0), WithinAbs(1.0 / 3, 1e-5));
  for (double bad : {0.0, -1.0, static_cast<double>(NAN), static_cast<double>(INFINITY)})
    CHECK_THROWS_AS(qkv::softmax_rows_with_temperature(scores, bad), qkv::ValueError);
}

TEST_CASE("row_entropy: 0 for one-hot, ln T for uniform, by hand in between", "[softmax]") {
  const Vector h = qkv::row_entropy(
      qkv::matrix_from_rows({{0, 1, 0, 0}, {0.25f, 0.25f, 0.25f, 0.25f}, {0.5f, 0.5f, 0, 0}}));
  CHECK(h(0) == 0.0f);
  CHECK_THAT(h(1), WithinAbs(std::log(4.0), 1e-6));
  CHECK_THAT(h(2), WithinAbs(std::log(2.0), 1e-6));
}

TEST_CASE("float and double softmax agree", "[softmax]") {
  qkv::Random random(24);
  const Matrix scores = qkv::random_normal(random, 8, 12, 3.0);
  const MatrixD weights_d = qkv::softmax_rows(scores.cast<double>());
  check_matrix_close(qkv::softmax_rows(scores), weights_d, 1e-5, 1e-7, "float vs double");
  check_matrix_close(qkv::row_entropy(qkv::softmax_rows(scores)), qkv::row_entropy(weights_d), 1e-5,
                     1e-6, "entropy float vs double");
}

TEST_CASE("softmax, temperature and entropy match PyTorch", "[softmax][golden]") {
  const auto golden = qkv::testing::load_json(QKV_TEST_DATA_DIR "/attention_golden.json");
  REQUIRE(golden["softmax"].size() == 4);
  for (const auto& c : golden["softmax"]) {
    INFO("case " << c["name"].get<std::string>());
    const Matrix scores = scores_from_json(c["scores"]);
    const Matrix weights = qkv::softmax_rows(scores);
    check_matrix_close(weights, matrix_from_json(c["weights"]), 1e-5, 1e-6, "weights");
    check_matrix_close(qkv::row_entropy(weights), qkv::testing::vector_from_json(c["entropy"]),
                       1e-5, 1e-6, "entropy");
    check_matrix_close(qkv::softmax_rows_with_temperature(scores, c["temperature"].get<double>()),
                       matrix_from_json(c["tempered_weights"]), 1e-5, 1e-6, "tempered_weights");
  }
}

// softmax_rows walks the scores column by column and exponentiates them a chunk of columns at
// a time (about 8192 entries per chunk): shapes that cut the columns into several chunks, the
// last one partial, with masked entries, a fully masked row and a NaN row, against the
// formula computed row by row in double.
TEST_CASE("softmax_rows equals the row-by-row formula across column chunks") {
  for (const auto& [rows, cols] : {std::pair<Index, Index>{70, 300}, {1, 20000}, {300, 29}}) {
    CAPTURE(rows, cols);
    qkv::Random random(7);
    Matrix s = qkv::random_normal(random, rows, cols, 3.0);
    for (Index j = 0; j < cols; ++j)
      for (Index i = 0; i < rows; ++i)
        if ((i * 7 + j * 3) % 5 == 0) s(i, j) = -inf;  // masked, in every chunk
    if (rows > 2) {
      s.row(1).setConstant(-inf);  // a query that sees nothing
      s(2, cols - 1) = std::numeric_limits<float>::quiet_NaN();
    }
    MatrixD expected(rows, cols);
    for (Index i = 0; i < rows; ++i) {
      const Eigen::RowVectorXd row = s.row(i).cast<double>();
      const double m = row.maxCoeff();
      if (m == -std::numeric_limits<double>::infinity()) {
        expected.row(i).setZero();
        continue;
      }
      const Eigen::RowVectorXd e = (row.array() - m).exp().matrix();
      expected.row(i) = e / e.sum();
    }
    if (rows > 2) expected.row(2).setConstant(std::numeric_limits<double>::quiet_NaN());
    const Matrix w = qkv::softmax_rows(s);
    CHECK_THAT(w, qkv::testing::is_close(expected.cast<float>(), 1e-5, 1e-7));
    // Masked entries are exactly 0, not Eigen's 3e-39 for exp(-inf) (the NaN row aside).
    Matrix masked_weights = Matrix::Zero(rows, cols);
    for (Index j = 0; j < cols; ++j)
      for (Index i = 0; i < rows; ++i)
        if (s(i, j) == -inf && !(rows > 2 && i == 2)) masked_weights(i, j) = w(i, j);
    CHECK_THAT(masked_weights, qkv::testing::equals(Matrix::Zero(rows, cols)));
  }
}

}  // namespace qkv::testing
