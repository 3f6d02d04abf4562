#pragma once
/// @file
/// Chapter 07, rotary position embedding (RoPE, Su et al. 2021, RoFormer): positions that
/// enter attention as rotations of the queries and keys.
///
/// Attention alone cannot tell word order: permute the tokens and every output row is
/// permuted the same way. RoPE rotates each pair of coordinates of a query or key of token
/// position p by the angle \f$ p\,\theta_i \f$, with one frequency per pair,
/// \f[ \theta_i = b^{-2i/d_{head}},\qquad i = 0 .. d_{head}/2 - 1,\quad b = 10000, \f]
/// \f[ \begin{pmatrix} y_a \\ y_b \end{pmatrix} =
/// \begin{pmatrix} \cos p\theta_i & -\sin p\theta_i \\ \sin p\theta_i & \cos p\theta_i
/// \end{pmatrix} \begin{pmatrix} x_a \\ x_b \end{pmatrix}. \f]
/// A rotation keeps lengths, and two rotations compose by adding angles, so a query at m
/// and a key at n score \f$ (R_m q)^\top (R_n k) = q^\top R_{n-m}\, k \f$: the score
/// depends on the offset m - n only, never on where the pair sits.
///
/// Which coordinates form pair i is a convention, and real code uses two:
/// - RopeLayout::interleaved (the library's default): pair i is coordinates (2i, 2i+1), as
///   in RoFormer, Meta's Llama reference code and llama2.c;
/// - RopeLayout::rotate_half: pair i is (i, i + d_head/2), as in GPT-NeoX and Hugging Face's
///   Llama.
///
/// They are the same rotation after a fixed permutation of each head's coordinates
/// (rotate_half_permutation()), so weights trained with one work with the other only once
/// W_q's and W_k's columns are permuted: mixing them up is a known bug in published code.
///
/// In a model, RoPE rotates the queries and keys of every head after the projection, at each
/// token's absolute position, and leaves the values alone. A KV cache then stores the keys
/// already rotated: a key is rotated once, when it enters the cache (rope_decode_step()).

#include <optional>
#include <vector>

#include "qkv/types.hpp"

namespace qkv {

// Declared, not included: the layer functions at the end take them, and an exercise that
// rotates only (ntk_scaled_frequencies, rope_scores_backward) should not compile chapters
// 04-06's headers on every save (rope.hpp alone: 0.46 s of g++ with them, 0.31 s without;
// README, "Verdict times"). Whoever calls those functions includes multi_head.hpp and
// kv_cache.hpp.
struct MultiHeadWeights;
struct MultiHeadResult;
class KvCache;

/// Which coordinates of a head form the pairs that RoPE rotates.
enum class RopeLayout {
  interleaved,  ///< pair i = (2i, 2i+1): RoFormer, Meta's Llama reference, llama2.c (default)
  rotate_half,  ///< pair i = (i, i + d_head/2): GPT-NeoX, Hugging Face Llama
};

/// How positions become angles: \f$ \text{angle}_{p,i} = (p\,s)\, \theta_i \f$ with
/// \f$ \theta_i = b^{-2i/d_{head}} \f$.
struct RopeConfig {
  double base = 10000.0;  ///< b: 10000 in RoFormer and Llama 2, 500000 in Llama 3
  RopeLayout layout = RopeLayout::interleaved;  ///< which coordinates are paired
  /// s: positions are multiplied by it before they become angles. 1 is plain RoPE;
  /// \f$ L_{train} / L_{new} \f$ is position interpolation (Chen et al. 2023), which keeps
  /// the angles of a longer context inside the range seen in training.
  double position_scale = 1.0;
};

/// The frequencies of RoPE, one per pair: \f$ \theta_i = b^{-2i/d_{head}} \f$ for
/// \f$ i = 0 .. d_{head}/2 - 1 \f$, from \f$ \theta_0 = 1 \f$ (one radian per position)
/// down to \f$ b^{-(d_{head}-2)/d_{head}} \f$. In double precision: at position 32768 an
/// angle in float would be off by a few thousandths of a radian.
/// @throws ValueError unless d_head is even and positive and base > 1.
VectorD rope_frequencies(Index d_head, double base = 10000.0);

/// The positions of T consecutive tokens, the first at `first`:
/// \f$ p_t = \text{first} + t \f$, t = 0 .. T-1 (double, so that scaled positions stay exact).
/// @throws ValueError if T or first is negative.
VectorD rope_positions(Index tokens, double first = 0.0);

/// The rotation angles, T x d_head/2: entry (t, i) is
/// \f$ (p_t\,s)\,\theta_i \f$ with s = config.position_scale.
/// @throws ValueError as rope_frequencies(), or unless position_scale > 0.
MatrixD rope_angles(const Eigen::Ref<const VectorD>& positions, Index d_head,
                    const RopeConfig& config = {});

/// Rotates every row of x at its position: row t (T x h d_head, the heads side by side as
/// split_heads() cuts them) has each head's pairs rotated by \f$ (p_t s)\,\theta_i \f$,
/// \f[ y_a = x_a \cos(p_t s \theta_i) - x_b \sin(p_t s \theta_i),\quad
///     y_b = x_b \cos(p_t s \theta_i) + x_a \sin(p_t s \theta_i), \f]
/// with (a, b) = (2i, 2i+1) (interleaved) or (i, i + d_head/2) (rotate_half) inside each
/// head. Every head uses the same frequencies. The angles and their sines and cosines are
/// computed in double, the products in float.
/// @throws ShapeError unless there is one position per row of x.
/// @throws ValueError unless heads divides x's columns into even d_head, base > 1 and
///         position_scale > 0.
Matrix apply_rope(const Eigen::Ref<const Matrix>& x, const Eigen::Ref<const VectorD>& positions,
                  Index heads = 1, const RopeConfig& config = {});

/// The permutation of a head's coordinates that turns the interleaved layout into the
/// rotate-half one: entry j is the interleaved coordinate that becomes coordinate j,
/// \f$ \pi(i) = 2i,\ \pi(i + d_{head}/2) = 2i + 1 \f$. With \f$ P \f$ the matrix that takes
/// column \f$ \pi(j) \f$ to column j:
/// \f$ \mathrm{rope}_{\text{half}}(X P) = \mathrm{rope}_{\text{interleaved}}(X)\, P \f$.
/// @throws ValueError unless d_head is even and positive.
std::vector<Index> rotate_half_permutation(Index d_head);

/// x with each head's columns reordered by rotate_half_permutation(): column j of a head
/// is its column \f$ \pi(j) \f$. Applied to W_q and W_k it converts weights trained for the
/// interleaved layout into weights for rotate-half (what Hugging Face's Llama conversion
/// script does to Meta's checkpoints).
/// @throws ValueError unless heads divides x's columns into even d_head.
Matrix to_rotate_half_layout(const Eigen::Ref<const Matrix>& x, Index heads = 1);

/// The absolute sinusoidal positions of Vaswani et al. (2017), added to X before the
/// projections, T x d_model: \f$ PE_{p,2i} = \sin(p / b^{2i/d_{model}}) \f$ and
/// \f$ PE_{p,2i+1} = \cos(p / b^{2i/d_{model}}) \f$, p = first + t. Unlike RoPE it makes a score
/// depend on both absolute positions, not only on their distance.
/// @throws ValueError unless T >= 0, d_model >= 1, first >= 0 and base > 1.
Matrix sinusoidal_positions(Index tokens, Index d_model, double first = 0.0, double base = 10000.0);

/// Multi-head self-attention with RoPE, through the one core attend_heads():
/// \f$ Q = \mathrm{rope}(X W_q),\ K = \mathrm{rope}(X W_k),\ V = X W_v \f$ (each head
/// rotated at the tokens' positions), then
/// \f$ O_i = \mathrm{softmax}(Q_i K_i^\top / \sqrt{d_{head}} + M) V_i \f$ and
/// \f$ [O_1 \dots O_h] W_o \f$.
/// @throws ShapeError if X's columns are not d_model, positions are not one per row of X, or
///         the mask is not T x T; ValueError unless h divides d_model into even d_head.
MultiHeadResult rope_multi_head_attention(const Matrix& x, const MultiHeadWeights& w,
                                          const Eigen::Ref<const VectorD>& positions,
                                          const std::optional<Mask>& mask = std::nullopt,
                                          const RopeConfig& config = {});

/// One step of cached decoding with RoPE: the new rows are projected, their queries and keys
/// rotated at `positions` (one per new row), the rotated keys and the values appended to the
/// cache, and the queries attend to every cached key (causal_mask(T_new, T_k) within a
/// chunk, as decode_step()). The cache holds keys already rotated, each at its own position,
/// so a key is never rotated again; the query is rotated at its own position, and the score
/// \f$ q_m^\top k_n \f$ sees the offset m - n.
/// @throws ShapeError if x_new or the cache's width is not d_model, or positions are not one
///         per new row; ValueError as decode_step() or unless d_head is even.
Matrix rope_decode_step(const Matrix& x_new, const MultiHeadWeights& w, KvCache& cache,
                        const Eigen::Ref<const VectorD>& positions, const RopeConfig& config = {});

/// rope_decode_step() at the positions that follow the cache: the new rows get positions
/// \f$ \text{first} + n, \text{first} + n + 1, \dots \f$ with n = cache.size() (the tokens
/// already held). A reset() cache starts again at `first`.
Matrix rope_decode_step(const Matrix& x_new, const MultiHeadWeights& w, KvCache& cache,
                        const RopeConfig& config = {}, double first = 0.0);

}  // namespace qkv
