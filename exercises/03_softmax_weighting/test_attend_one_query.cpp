// Checks exercise attend_one_query: one query's attention output, by loops, equals the
// library's row of scaled dot-product attention.

#include "attend_one_query.hpp"

#include <cmath>

#include "qkv/attention.hpp"
#include "qkv/catch.hpp"
#include "qkv/expect.hpp"
#include "qkv/random.hpp"

using qkv::Index;
using qkv::Matrix;
using qkv::Vector;
using qkv::exercises::attend_one_query;

TEST_CASE("attend_one_query by hand", "[attend_one_query]") {
  // d_k = 1: scores 0 and ln 3, weights 1/4 and 3/4.
  const Vector o =
      attend_one_query(qkv::vector_of({1}), qkv::matrix_from_rows({{0}, {std::log(3.0f)}}),
                       qkv::matrix_from_rows({{4, 0}, {0, 8}}));
  REQUIRE(o.size() == 2);
  CHECK_THAT(o(0), WithinAbs(1.0, 1e-6));
  CHECK_THAT(o(1), WithinAbs(6.0, 1e-6));
  // One key: its value, whatever the query.
  CHECK_THAT(attend_one_query(qkv::vector_of({-3, 2}), qkv::matrix_from_rows({{1, 1}}),
                              qkv::matrix_from_rows({{7, -1, 2}})),
             qkv::testing::equals(qkv::vector_of({7, -1, 2})));
}

TEST_CASE("attend_one_query equals each row of scaled_dot_product_attention",
          "[attend_one_query]") {
  qkv::Random random(18);
  for (const auto& [t_q, t_k, d_k, d_v] : std::vector<std::tuple<Index, Index, Index, Index>>{
           {4, 6, 8, 3}, {1, 1, 1, 1}, {3, 9, 2, 5}, {5, 5, 16, 16}}) {
    INFO("T_q = " << t_q << ", T_k = " << t_k << ", d_k = " << d_k << ", d_v = " << d_v);
    const Matrix q = qkv::random_normal(random, t_q, d_k);
    const Matrix k = qkv::random_normal(random, t_k, d_k);
    const Matrix v = qkv::random_normal(random, t_k, d_v);
    const Matrix expected = qkv::attention(q, k, v);
    for (Index i = 0; i < t_q; ++i) {
      INFO("query " << i << ", against row " << i << " of qkv::attention(Q, K, V)");
      CHECK_THAT(attend_one_query(q.row(i).transpose(), k, v),
                 qkv::testing::is_close(Vector(expected.row(i).transpose())));
    }
  }
}

TEST_CASE("attend_one_query is stable on large scores", "[attend_one_query]") {
  // Scores 1000 q . k / 2 reach the thousands: the naive exp would overflow.
  const Matrix keys = qkv::matrix_from_rows({{1, 0, 0, 0}, {0, 1, 0, 0}, {1, 1, 0, 0}});
  const Matrix values = qkv::matrix_from_rows({{1, 0}, {0, 1}, {3, 3}});
  const Vector o = attend_one_query(qkv::vector_of({1000, 1000, 0, 0}), keys, values);
  CHECK_THAT(o, qkv::testing::all_finite<Vector>());
  CHECK_THAT(o(0), WithinAbs(3.0, 1e-5));  // key 2 scores 1000, the others 500
  CHECK_THAT(o(1), WithinAbs(3.0, 1e-5));
}

TEST_CASE("attend_one_query rejects shapes that do not fit", "[attend_one_query]") {
  CHECK_THROWS_WITH(attend_one_query(Vector::Ones(3), Matrix::Ones(4, 2), Matrix::Ones(4, 1)),
                    qkv::testing::contains("3x1") && qkv::testing::contains("4x2"));
  CHECK_THROWS_WITH(attend_one_query(Vector::Ones(2), Matrix::Ones(4, 2), Matrix::Ones(3, 1)),
                    qkv::testing::contains("4x2") && qkv::testing::contains("3x1"));
  CHECK_THROWS_AS(attend_one_query(Vector::Ones(2), Matrix(0, 2), Matrix(0, 3)), qkv::ValueError);
  CHECK_THROWS_AS(attend_one_query(Vector(0), Matrix(2, 0), Matrix(2, 3)), qkv::ValueError);
}
