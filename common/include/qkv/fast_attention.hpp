#pragma once
/// @file
/// Chapter 09, fast attention: tiled attention with online softmax ("flash" attention), the
/// same result as chapter 03's softmax(Q K^T / sqrt(d_k)) V without ever holding the
/// T_q x T_k score matrix.
///
/// The queries are cut into blocks of block_q rows, the keys and values into blocks of
/// block_k rows (FlashAttention-2's loop order: the outer loop over query blocks, the inner
/// over key blocks). For each query row i the kernel keeps, while it walks the key blocks,
/// a running maximum \f$ m \f$ of the scores seen so far, a running sum
/// \f$ l = \sum_j e^{s_j - m} \f$ and an unnormalised output \f$ o = \sum_j e^{s_j - m} v_j \f$.
/// A new key block with scores \f$ s_j \f$ gives the new maximum
/// \f$ m' = \max(m, \max_j s_j) \f$, and since \f$ e^{s - m} = e^{s - m'} e^{m' - m} \f$
/// the old terms are brought to the new maximum by one factor:
/// \f[ l' = e^{m - m'}\, l + \sum_{j \in \text{block}} e^{s_j - m'}, \qquad
///     o' = e^{m - m'}\, o + \sum_{j \in \text{block}} e^{s_j - m'}\, v_j . \f]
/// After the last block \f$ o / l \f$ is the output row, exactly the softmax-weighted
/// average, and \f$ m + \log l = \log \sum_j e^{s_j} \f$ is the log-sum-exp of the row
/// (Milakov and Gimelshein 2018; Dao et al. 2022 and 2023). Memory: the inputs, the output,
/// one copy of K and V packed block by block, and a few block-sized buffers per thread: O(T)
/// instead of the T^2 of the matrix form.

#include <vector>

#include "qkv/multi_head.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// Whether the build's SIMD has 32 vector registers (AVX-512 in the fast build) rather than
/// 16 (SSE2, AVX2): tiled_attention()'s register tiles and default block sizes depend on it.
inline constexpr bool tiled_attention_many_registers = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS >= 32;

/// How tiled_attention() cuts and schedules the work. The default blocks are the fastest
/// measured for d_head = 64, T = 2048..8192: 96 x 48 with 16 registers (fast build on a Zen 3
/// with AVX2; the dev and ci builds use them too), 128 x 64 with 32 (fast build on an Intel
/// Xeon with AVX-512).
struct TiledAttentionOptions {
  Index block_q = tiled_attention_many_registers ? 128 : 96;  ///< queries per block: any size
                                                              ///< >= 1 (need not divide T_q)
  Index block_k = tiled_attention_many_registers ? 64 : 48;   ///< keys per block: any size >= 1
                                                              ///< (need not divide T_k)
  bool causal = false;  ///< causal_mask(T_q, T_k)'s rule: query i sees keys 0..T_k - T_q + i;
                        ///< key blocks entirely above the diagonal are skipped
  int threads = 1;      ///< >= 1: query blocks are shared out among this many std::threads;
                        ///< each block is computed by one thread, the same way, so the result
                        ///< is bit-identical for any count
};

/// What tiled_attention() returns.
struct TiledAttentionResult {
  Matrix output;  ///< T_q x d_v: \f$ \mathrm{softmax}(Q K^\top / \sqrt{d_k}\ [+ M]) V \f$
  /// T_q: the log-sum-exp of each row of the scaled (masked) scores,
  /// \f$ \log \sum_j e^{s_{ij}} = m_i + \log l_i \f$; \f$ -\infty \f$ for a row that sees no
  /// key (its output row is 0, as in the matrix form).
  Vector lse;
};

/// Tiled attention with online softmax:
/// \f$ O = \mathrm{softmax}(Q K^\top / \sqrt{d_k}\ [+ M_{\text{causal}}])\, V \f$ and the
/// log-sum-exp of every row, computed block by block (see the file comment for the
/// rescaling \f$ l' = e^{m - m'} l + \sum_j e^{s_j - m'} \f$). Q is T_q x d_k, K is
/// T_k x d_k, V is T_k x d_v. With `causal`, query i sees keys \f$ 0..T_k - T_q + i \f$
/// (causal_mask()'s rule; with T_q > T_k the first T_q - T_k queries see no key and get a
/// zero output row and lse \f$ -\infty \f$), and key blocks that no query of a block can see
/// are skipped: about half the work. Equal to scaled_dot_product_attention() up to float
/// rounding (the sums are added in another order).
/// @throws ShapeError if Q and K differ in d_k, or K and V in T_k; ValueError if d_k is 0,
/// block_q or block_k is below 1 or threads is below 1.
TiledAttentionResult tiled_attention(const Eigen::Ref<const Matrix>& q,
                                     const Eigen::Ref<const Matrix>& k,
                                     const Eigen::Ref<const Matrix>& v,
                                     const TiledAttentionOptions& options = {});

/// Chapter 05's multi-head self-attention with every head computed by tiled_attention():
/// \f$ Q = X W_q,\ K = X W_k,\ V = X W_v \f$, head i on columns
/// \f$ i\,d_{head} .. (i+1)\,d_{head}-1 \f$,
/// \f$ O_i = \mathrm{softmax}(Q_i K_i^\top / \sqrt{d_{head}}\ [+ M_{\text{causal}}])\, V_i,\quad
/// \mathrm{MHA}(X) = [O_1 \dots O_h]\, W_o \f$.
/// The output of multi_head_attention(x, w) (with `options.causal`: of
/// multi_head_attention(x, w, causal_mask(T))) up to float rounding, without its per-head
/// T x T weights: memory O(T d_model) instead of O(h T^2), and the speed of the tiled kernel
/// (the fast path for a caller who needs only the output, as PyTorch's need_weights=False).
/// `options` go to every head's tiled_attention() call.
/// @throws ShapeError / ValueError as check_multi_head_weights(); ShapeError if X does not
///         have d_model columns; ValueError as tiled_attention() for bad options.
Matrix tiled_multi_head_attention(const Matrix& x, const MultiHeadWeights& w,
                                  const TiledAttentionOptions& options = {});

/// The running state of one query row after a key block (see online_softmax_trace()).
struct OnlineSoftmaxState {
  Index keys_seen;             ///< keys processed so far
  float running_max;           ///< \f$ m = \max_{j < \text{keys\_seen}} s_j \f$
  float running_sum;           ///< \f$ l = \sum_{j < \text{keys\_seen}} e^{s_j - m} \f$
  Vector unnormalised_output;  ///< \f$ o = \sum_{j < \text{keys\_seen}} e^{s_j - m} v_j \f$ (d_v)
};

/// The lesson's table: online softmax of one query against K and V, block_k keys at a
/// time, written out plainly, with the state \f$ (m, l, o) \f$ after each key block, where
/// \f$ s_j = q \cdot k_j / \sqrt{d_k} \f$, \f$ m' = \max(m, \max_{j \in \text{block}} s_j) \f$,
/// \f$ l' = e^{m - m'} l + \sum_{j \in \text{block}} e^{s_j - m'} \f$ and
/// \f$ o' = e^{m - m'} o + \sum_{j \in \text{block}} e^{s_j - m'} v_j \f$.
/// The last state's \f$ o / l \f$ is the attention output of the query (no mask).
/// @throws ShapeError if the query's length is not d_k or K and V differ in T_k;
/// ValueError if d_k is 0 or block_k is below 1.
std::vector<OnlineSoftmaxState> online_softmax_trace(const Eigen::Ref<const Vector>& query,
                                                     const Eigen::Ref<const Matrix>& k,
                                                     const Eigen::Ref<const Matrix>& v,
                                                     Index block_k);

}  // namespace qkv
