#pragma once
/// @file
/// Eigen's float product kernels, compiled once in the qkv library instead of in every
/// translation unit that multiplies two matrices.
///
/// Every product \f$ C = A B \f$ of dynamic float matrices ends in a few kernels that depend
/// only on the storage order of A and B, not on the expression: packing panels of A and B
/// (gemm_pack_lhs, gemm_pack_rhs), the block-panel multiply (gebp_kernel) and the
/// matrix-vector loops (general_matrix_vector_product). g++ instantiates them in each
/// translation unit that has a product; a file with one product spends about a third of its
/// compile time on them. Declared `extern` here, they are instantiated only in
/// common/src/eigen_kernels.cpp. The exercise tests' precompiled header includes this file, so
/// a learner's one-line change recompiles less (exercises/CMakeLists.txt, README "Verdict
/// times"). The chapters do not include it: their code, and the numbers they print, are the
/// same as without it.
///
/// The template arguments are the ones Eigen's general_matrix_matrix_product::run and
/// gemv_dense_selector use (Eigen/src/Core/products/; the matrix-vector kernel comes in two
/// storage orders), spelled through Eigen's own traits so that they follow the SIMD width the
/// compiler targets.

#include <Eigen/Core>

// The declarations are Eigen's own kernels, not qkv's API: hidden from the reference.
/// @cond
namespace qkv::eigen_kernels {
using Traits = Eigen::internal::gebp_traits<float, float>;
template <int StorageOrder>
using Input = Eigen::internal::const_blas_data_mapper<float, Eigen::Index, StorageOrder>;
using Output =
    Eigen::internal::blas_data_mapper<float, Eigen::Index, Eigen::ColMajor, Eigen::Unaligned, 1>;
}  // namespace qkv::eigen_kernels

/// The kernels, as explicit instantiation declarations (`QKV_EIGEN_KERNELS(extern)`) or
/// definitions (`QKV_EIGEN_KERNELS()`): one list for both, so they cannot drift apart.
// EXTERN is `extern` or nothing, a keyword that cannot stand in parentheses.
// NOLINTBEGIN(cppcoreguidelines-macro-usage,bugprone-macro-parentheses)
#define QKV_EIGEN_PACK_LHS(EXTERN, ORDER)                                                     \
  EXTERN template struct Eigen::internal::gemm_pack_lhs<                                      \
      float, Eigen::Index, qkv::eigen_kernels::Input<ORDER>, qkv::eigen_kernels::Traits::mr,  \
      qkv::eigen_kernels::Traits::LhsProgress, qkv::eigen_kernels::Traits::LhsPacket4Packing, \
      ORDER>;
#define QKV_EIGEN_PACK_RHS(EXTERN, ORDER)                                                 \
  EXTERN template struct Eigen::internal::gemm_pack_rhs<float, Eigen::Index,              \
                                                        qkv::eigen_kernels::Input<ORDER>, \
                                                        qkv::eigen_kernels::Traits::nr, ORDER>;
#define QKV_EIGEN_GEMV(EXTERN, MATRIX_ORDER, VECTOR_ORDER)                                      \
  EXTERN template struct Eigen::internal::general_matrix_vector_product<                        \
      Eigen::Index, float, qkv::eigen_kernels::Input<MATRIX_ORDER>, MATRIX_ORDER, false, float, \
      qkv::eigen_kernels::Input<VECTOR_ORDER>, false, 0>;
#define QKV_EIGEN_KERNELS(EXTERN)                                                             \
  QKV_EIGEN_PACK_LHS(EXTERN, Eigen::ColMajor)                                                 \
  QKV_EIGEN_PACK_LHS(EXTERN, Eigen::RowMajor)                                                 \
  QKV_EIGEN_PACK_RHS(EXTERN, Eigen::ColMajor)                                                 \
  QKV_EIGEN_PACK_RHS(EXTERN, Eigen::RowMajor)                                                 \
  EXTERN template struct Eigen::internal::gebp_kernel<                                        \
      float, float, Eigen::Index, qkv::eigen_kernels::Output, qkv::eigen_kernels::Traits::mr, \
      qkv::eigen_kernels::Traits::nr, false, false>;                                          \
  QKV_EIGEN_GEMV(EXTERN, Eigen::ColMajor, Eigen::RowMajor)                                    \
  QKV_EIGEN_GEMV(EXTERN, Eigen::RowMajor, Eigen::ColMajor)
// NOLINTEND(cppcoreguidelines-macro-usage,bugprone-macro-parentheses)

QKV_EIGEN_KERNELS(extern)
/// @endcond
