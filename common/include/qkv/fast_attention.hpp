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
/// (Milakov and Gimelshein 2018; Dao et al. 2022 and 2023). Memory: the inputs, the output
/// and a few block-sized buffers per thread, O(T) instead of the T^2 of the matrix form.

#include <vector>

#include "qkv/types.hpp"

namespace qkv {

/// How tiled_attention() cuts and schedules the work. The defaults are the fastest block
/// sizes measured on the machine this was written on (fast build, AVX-512).
struct TiledAttentionOptions {
  Index block_q = 64;   ///< queries per block: any size >= 1 (need not divide T_q)
  Index block_k = 64;   ///< keys per block: any size >= 1 (need not divide T_k)
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
TiledAttentionResult tiled_attention(Eigen::Ref<const Matrix> q, Eigen::Ref<const Matrix> k,
                                     Eigen::Ref<const Matrix> v,
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
std::vector<OnlineSoftmaxState> online_softmax_trace(Eigen::Ref<const Vector> query,
                                                     Eigen::Ref<const Matrix> k,
                                                     Eigen::Ref<const Matrix> v, Index block_k);

}  // namespace qkv
