/// @file
/// The one instantiation of Eigen's float product kernels that qkv/eigen_kernels.hpp declares
/// `extern`.

#include "qkv/eigen_kernels.hpp"

QKV_EIGEN_KERNELS()
