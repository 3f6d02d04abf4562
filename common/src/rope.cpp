/// @file
/// The out-of-line bodies of qkv/rope.hpp (chapter 07; the formulas are documented there),
/// compiled once, as common/src/layers.cpp is for the earlier layers.

#include "qkv/rope.hpp"

#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "qkv/error.hpp"
#include "qkv/kv_cache.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/types.hpp"

namespace qkv {

namespace {

void require_even_head(Index d_head, std::string_view function) {
  if (d_head < 2 || d_head % 2 != 0) {
    throw ValueError(std::string(function) + ": d_head = " + std::to_string(d_head) +
                     " must be even and positive (RoPE rotates pairs of coordinates)");
  }
}

// d_head of x's columns split into `heads`, checked to be whole and even.
Index head_width(Index columns, Index heads, std::string_view function) {
  require_heads_divide(columns, heads, function);
  require_even_head(columns / heads, function);
  return columns / heads;
}

// The two coordinates of pair i inside a head of width d_head.
std::pair<Index, Index> pair_of(Index i, Index d_head, RopeLayout layout) {
  if (layout == RopeLayout::interleaved) return {2 * i, 2 * i + 1};
  return {i, i + d_head / 2};
}

}  // namespace

VectorD rope_frequencies(Index d_head, double base) {
  require_even_head(d_head, "rope_frequencies");
  require(base > 1.0 && std::isfinite(base), "rope_frequencies",
          "the base must be a finite number above 1");
  VectorD theta(d_head / 2);
  for (Index i = 0; i < theta.size(); ++i)
    theta(i) = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(d_head));
  return theta;
}

VectorD rope_positions(Index tokens, double first) {
  require(tokens >= 0, "rope_positions", "T must not be negative");
  require(first >= 0.0 && std::isfinite(first), "rope_positions",
          "the first position must be a finite number >= 0");
  VectorD positions(tokens);
  for (Index t = 0; t < tokens; ++t) positions(t) = first + static_cast<double>(t);
  return positions;
}

MatrixD rope_angles(const Eigen::Ref<const VectorD>& positions, Index d_head,
                    const RopeConfig& config) {
  require(config.position_scale > 0.0 && std::isfinite(config.position_scale), "rope_angles",
          "position_scale must be a finite number above 0");
  const VectorD theta = rope_frequencies(d_head, config.base);
  return (positions * config.position_scale) * theta.transpose();
}

Matrix apply_rope(const Eigen::Ref<const Matrix>& x, const Eigen::Ref<const VectorD>& positions,
                  Index heads, const RopeConfig& config) {
  require_shapes(positions.size() == x.rows(), "apply_rope",
                 "there must be one position per row of x", "x", x, "positions", positions);
  const Index d_head = head_width(x.cols(), heads, "apply_rope");
  const MatrixD angles = rope_angles(positions, d_head, config);
  Matrix y(x.rows(), x.cols());
  for (Index t = 0; t < x.rows(); ++t)
    for (Index i = 0; i < d_head / 2; ++i) {
      const auto c = static_cast<float>(std::cos(angles(t, i)));
      const auto s = static_cast<float>(std::sin(angles(t, i)));
      const auto [a, b] = pair_of(i, d_head, config.layout);
      for (Index h = 0; h < heads; ++h) {
        const float xa = x(t, h * d_head + a), xb = x(t, h * d_head + b);
        y(t, h * d_head + a) = xa * c - xb * s;
        y(t, h * d_head + b) = xb * c + xa * s;
      }
    }
  return y;
}

std::vector<Index> rotate_half_permutation(Index d_head) {
  require_even_head(d_head, "rotate_half_permutation");
  std::vector<Index> order(static_cast<std::size_t>(d_head));
  for (Index i = 0; i < d_head / 2; ++i) {
    order[static_cast<std::size_t>(i)] = 2 * i;
    order[static_cast<std::size_t>(i + d_head / 2)] = 2 * i + 1;
  }
  return order;
}

Matrix to_rotate_half_layout(const Eigen::Ref<const Matrix>& x, Index heads) {
  const Index d_head = head_width(x.cols(), heads, "to_rotate_half_layout");
  const std::vector<Index> order = rotate_half_permutation(d_head);
  Matrix y(x.rows(), x.cols());
  for (Index h = 0; h < heads; ++h)
    for (Index j = 0; j < d_head; ++j)
      y.col(h * d_head + j) = x.col(h * d_head + order[static_cast<std::size_t>(j)]);
  return y;
}

Matrix sinusoidal_positions(Index tokens, Index d_model, double first, double base) {
  require(tokens >= 0 && d_model >= 1, "sinusoidal_positions",
          "T must not be negative and d_model must be positive");
  require(first >= 0.0 && base > 1.0, "sinusoidal_positions",
          "the first position must be >= 0 and the base above 1");
  Matrix pe(tokens, d_model);
  for (Index t = 0; t < tokens; ++t)
    for (Index c = 0; c < d_model; ++c) {
      const double angle =
          (first + static_cast<double>(t)) /
          std::pow(base, static_cast<double>(c - c % 2) / static_cast<double>(d_model));
      pe(t, c) = static_cast<float>(c % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
  return pe;
}

MultiHeadResult rope_multi_head_attention(const Matrix& x, const MultiHeadWeights& w,
                                          const Eigen::Ref<const VectorD>& positions,
                                          const std::optional<Mask>& mask,
                                          const RopeConfig& config) {
  check_multi_head_weights(w, "rope_multi_head_attention");
  require_shapes(x.cols() == w.d_model(), "rope_multi_head_attention",
                 "X must have d_model columns", "X", x, "W_q", w.w_q);
  require_shapes(positions.size() == x.rows(), "rope_multi_head_attention",
                 "there must be one position per row of X", "X", x, "positions", positions);
  require_even_head(w.d_head(), "rope_multi_head_attention");
  const Matrix q = apply_rope(x * w.w_q, positions, w.heads, config);
  const Matrix k = apply_rope(x * w.w_k, positions, w.heads, config);
  return attend_heads(q, k, x * w.w_v, w, mask);
}

Matrix rope_decode_step(const Matrix& x_new, const MultiHeadWeights& w, KvCache& cache,
                        const Eigen::Ref<const VectorD>& positions, const RopeConfig& config) {
  check_multi_head_weights(w, "rope_decode_step");
  require_shapes(x_new.cols() == w.d_model(), "rope_decode_step",
                 "the new rows must have d_model columns", "X_new", x_new, "W_q", w.w_q);
  require(x_new.rows() >= 1, "rope_decode_step", "there must be at least one new token");
  require_shapes(positions.size() == x_new.rows(), "rope_decode_step",
                 "there must be one position per new row", "X_new", x_new, "positions", positions);
  if (cache.width() != w.d_model()) {
    throw ShapeError("rope_decode_step: the cache's width " + std::to_string(cache.width()) +
                     " is not d_model = " + std::to_string(w.d_model()));
  }
  require_even_head(w.d_head(), "rope_decode_step");
  const Matrix q = apply_rope(x_new * w.w_q, positions, w.heads, config);
  // The key is rotated here, once, at its own position; the cache keeps it rotated.
  cache.append(apply_rope(x_new * w.w_k, positions, w.heads, config), x_new * w.w_v);
  const Index t_new = x_new.rows();
  std::optional<Mask> mask;
  if (t_new > 1) mask = causal_mask(t_new, cache.size());
  return attend_heads(q, cache.keys(), cache.values(), w, mask).output;
}

Matrix rope_decode_step(const Matrix& x_new, const MultiHeadWeights& w, KvCache& cache,
                        const RopeConfig& config, double first) {
  return rope_decode_step(x_new, w, cache,
                          rope_positions(x_new.rows(), first + static_cast<double>(cache.size())),
                          config);
}

}  // namespace qkv
