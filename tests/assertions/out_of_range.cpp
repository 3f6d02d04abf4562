// An exercise-like program that indexes out of range on purpose: the test of the
// assertion handler (common/testing/qkv/assert_handler.cpp, contract D) runs it and
// checks that stderr names the line below marked "out of range", not an Eigen header.
//
//   out_of_range eigen   writes one past the last column of an Eigen matrix
//   out_of_range vector  reads one past the end of a std::vector

#include <cstdio>
#include <string_view>
#include <vector>

#include "qkv/types.hpp"

namespace {

float eigen_write(qkv::Index t) {
  qkv::Matrix m = qkv::Matrix::Zero(t, t);
  for (qkv::Index j = 0; j <= t; ++j) m(0, j) = 1.0F;  // out of range (Eigen)
  return m.sum();
}

int vector_read(std::size_t n) {
  std::vector<int> v(n, 1);
  int sum = 0;
  for (std::size_t i = 0; i <= n; ++i) sum += v[i];  // out of range (std::vector)
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view what = argc > 1 ? argv[1] : "";
  if (what == "eigen") return static_cast<int>(eigen_write(argc + 2));
  if (what == "vector") return vector_read(static_cast<std::size_t>(argc) + 2);
  std::fprintf(stderr, "usage: out_of_range eigen|vector\n");
  return 2;
}
