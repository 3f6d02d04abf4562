#pragma once
// Chapter 09's first implementation: attention with nothing but loops over numbers, one query
// at a time, in the style of exercise attend_one_query (chapter 03). Not in the library: it is
// the baseline the chapter times the matrix form and the tiled kernel against (and the
// benchmark may time it too), and the library never holds an exercise's answer.

#include <algorithm>
#include <cmath>
#include <vector>

#include "qkv/attention.hpp"
#include "qkv/error.hpp"
#include "qkv/types.hpp"

/// softmax(Q K^T / sqrt(d_k) [+ causal mask]) V with plain loops: for each query row i, the
/// scores s_j = q_i . k_j / sqrt(d_k) of the keys it may see, their maximum m, the weights
/// e^(s_j - m) / sum_l e^(s_l - m), and the weighted sum of the value rows. With `causal`,
/// query i sees keys 0..T_k - T_q + i (qkv::causal_mask(T_q, T_k)'s convention); a query that
/// sees no key gets a row of zeros, as in the matrix form. Q is T_q x d_k, K is T_k x d_k,
/// V is T_k x d_v; the result is T_q x d_v. Extra memory: row-major copies of Q, K, V
/// and one row of T_k scores.
/// @throws qkv::ShapeError if Q and K differ in d_k or K and V in T_k; qkv::ValueError if
/// d_k is 0.
inline qkv::Matrix loop_attention(const qkv::Matrix& q, const qkv::Matrix& k, const qkv::Matrix& v,
                                  bool causal) {
  qkv::check_attention_operands(q, k, v);
  qkv::require(q.cols() > 0, "loop_attention", "d_k must be positive");
  const qkv::Index t_q = q.rows(), t_k = k.rows(), d_k = q.cols(), d_v = v.cols();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d_k));
  // Row-major copies: each token's numbers contiguous, as in a C array (qkv::Matrix is
  // column-major, and walking a row of it would stride through memory).
  using Rows = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Rows qr = q, kr = k, vr = v;
  Rows out = Rows::Zero(t_q, d_v);
  std::vector<float> e(static_cast<std::size_t>(t_k));
  for (qkv::Index i = 0; i < t_q; ++i) {
    // Keys 0..visible-1 are those query i may see.
    const qkv::Index visible =
        causal ? std::min(t_k, std::max<qkv::Index>(0, t_k - t_q + i + 1)) : t_k;
    if (visible == 0) continue;  // sees nothing: zeros, not 0 / 0
    float max_score = -INFINITY;
    for (qkv::Index j = 0; j < visible; ++j) {
      float dot = 0.0f;
      for (qkv::Index c = 0; c < d_k; ++c) dot += qr(i, c) * kr(j, c);
      e[static_cast<std::size_t>(j)] = dot * scale;
      max_score = std::max(max_score, e[static_cast<std::size_t>(j)]);
    }
    float sum = 0.0f;
    for (qkv::Index j = 0; j < visible; ++j) {
      e[static_cast<std::size_t>(j)] = std::exp(e[static_cast<std::size_t>(j)] - max_score);
      sum += e[static_cast<std::size_t>(j)];
    }
    for (qkv::Index j = 0; j < visible; ++j) {
      const float weight = e[static_cast<std::size_t>(j)] / sum;
      for (qkv::Index c = 0; c < d_v; ++c) out(i, c) += weight * vr(j, c);
    }
  }
  return qkv::Matrix(out);
}
