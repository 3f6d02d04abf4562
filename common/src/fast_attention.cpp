/// @file
/// The tiled attention kernel of qkv/fast_attention.hpp (chapter 09), compiled once.
///
/// Layout. Inside a block everything is stored so that one SIMD vector holds one number for
/// `lanes` consecutive queries (8 with AVX2, 16 with AVX-512): the scaled query block, the
/// scores S and the unnormalised output O of the block are column-major matrices with a row
/// per query. The online softmax is then the same few vector operations for every key, with
/// no reduction across lanes: the running maximum, sum and rescaling factor of 8 queries are
/// one vector each. The two products, \f$ S = Q_b K_b^\top \f$ and \f$ O \mathrel{+}= P V_b \f$,
/// are small register-blocked kernels whose accumulators never leave the registers.
///
/// The SIMD code is written with Eigen's packet functions (Eigen::internal::ploadu, pmadd,
/// pmax, ...), so the one kernel runs at the width the build targets: what -march=native
/// offers in the fast build (AVX2 on the machine it was tuned on), SSE2 in the default one,
/// one float at a time without vectorisation.

#include "qkv/fast_attention.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

#include "qkv/error.hpp"

namespace qkv {
namespace {

namespace simd = Eigen::internal;
using Packet = simd::packet_traits<float>::type;
/// Queries per SIMD vector.
constexpr Index lanes = simd::unpacket_traits<Packet>::size;
constexpr float minus_infinity = -std::numeric_limits<float>::infinity();

/// \f$ 2^x \f$ for \f$ x \le 0 \f$ (a score minus the running maximum), in base 2 because a
/// power of two is cheap: \f$ 2^x = 2^n\, 2^f \f$ with \f$ n = \lfloor x + 1/2 \rfloor \f$
/// put straight into the exponent bits and \f$ 2^f \f$, \f$ |f| \le 1/2 \f$, a degree-6
/// polynomial (Cephes' exp2f, about 1 float epsilon). Half the operations of Eigen's pexp,
/// which handles any x. \f$ x \le -127 \f$, masked keys' \f$ -\infty \f$ among them,
/// gives exactly 0; NaN stays NaN.
template <typename P>
P exp2_nonpositive(const P& x) {
  if constexpr (std::is_same_v<P, float>) {  // no vectorisation
    return x <= -127.0F ? 0.0F : std::exp2(x);
  } else {
    const P clamped = simd::pmax(x, simd::pset1<P>(-127.0F));  // pmax(NaN, c) is NaN
    const P n = simd::pfloor(simd::padd(clamped, simd::pset1<P>(0.5F)));
    const P f = simd::psub(clamped, n);
    P y = simd::pset1<P>(1.535336188319500e-4F);
    for (const float c : {1.339887440266574e-3F, 9.618437357674640e-3F, 5.550332471162809e-2F,
                          2.402264791363012e-1F, 6.931472028550421e-1F, 1.0F})
      y = simd::pmadd(y, f, simd::pset1<P>(c));
    // y 2^n: n + 127 (0 .. 127, as x <= 0) straight into the exponent bits, so 0 for n = -127.
    // (Eigen's pldexp_fast also clamps the biased exponent to 0..255: two operations per
    // score that cannot matter here, about 3% of the kernel's time.)
    using Integers = typename simd::unpacket_traits<P>::integer_packet;
    const Integers biased = simd::pcast<P, Integers>(simd::padd(n, simd::pset1<P>(127.0F)));
    return simd::pmul(y, simd::preinterpret<P>(simd::plogical_shift_left<23>(biased)));
  }
}

/// Scores of KEYS keys against VECTORS x lanes queries: \f$ S_{ij} = q_i \cdot k_j \f$.
/// `q` points at query i's first coordinate in a block with a row per query (leading
/// dimension ldq), `k` at key j's in the key block, `s` at S(i, j). The accumulators (KEYS x
/// VECTORS packets) stay in registers for the whole dot product.
template <int KEYS, int VECTORS>
void score_tile(const float* q, Index ldq, const float* k, Index ldk, Index d_k, float* s,
                Index lds) {
  Packet acc[KEYS][VECTORS];
  for (auto& row : acc)
    for (auto& a : row) a = simd::pset1<Packet>(0.0F);
  for (Index c = 0; c < d_k; ++c) {
    Packet query[VECTORS];
    for (int v = 0; v < VECTORS; ++v) query[v] = simd::ploadu<Packet>(q + c * ldq + v * lanes);
    for (int j = 0; j < KEYS; ++j) {
      const Packet key = simd::pset1<Packet>(k[c * ldk + j]);
      for (int v = 0; v < VECTORS; ++v) acc[j][v] = simd::pmadd(query[v], key, acc[j][v]);
    }
  }
  for (int j = 0; j < KEYS; ++j)
    for (int v = 0; v < VECTORS; ++v) simd::pstoreu(s + j * lds + v * lanes, acc[j][v]);
}

/// \f$ O_{ic} \leftarrow \alpha_i O_{ic} + \sum_j P_{ij} V_{jc} \f$ for COLS value columns
/// and VECTORS x lanes queries: `o` points at O(i, c), `p` at P(i, 0), `alpha` at
/// \f$ \alpha_i \f$ (the rescaling \f$ e^{m - m'} \f$, here \f$ 2^{m - m'} \f$ on scores in
/// base 2), `v` at V_b(0, c).
template <int COLS, int VECTORS>
void output_tile(const float* p, Index ldp, const float* v, Index ldv, Index keys,
                 const float* alpha, float* o, Index ldo) {
  Packet acc[COLS][VECTORS];
  for (int w = 0; w < VECTORS; ++w) {
    const Packet rescale = simd::ploadu<Packet>(alpha + w * lanes);
    for (int c = 0; c < COLS; ++c)
      acc[c][w] = simd::pmul(simd::ploadu<Packet>(o + c * ldo + w * lanes), rescale);
  }
  for (Index j = 0; j < keys; ++j) {
    Packet weight[VECTORS];
    for (int w = 0; w < VECTORS; ++w) weight[w] = simd::ploadu<Packet>(p + j * ldp + w * lanes);
    for (int c = 0; c < COLS; ++c) {
      const Packet value = simd::pset1<Packet>(v[c * ldv + j]);
      for (int w = 0; w < VECTORS; ++w) acc[c][w] = simd::pmadd(weight[w], value, acc[c][w]);
    }
  }
  for (int c = 0; c < COLS; ++c)
    for (int w = 0; w < VECTORS; ++w) simd::pstoreu(o + c * ldo + w * lanes, acc[c][w]);
}

// The register tile of both products: tile_cols keys (or value columns) by tile_vectors
// vectors of queries. Measured on AVX2 (16 registers): 6 x 2 runs at 75% of the FMA peak,
// 4 x 3 at 40%, because 12 accumulators + 3 operands + 1 broadcast leave the compiler no
// register and its 3 vectors of 8 queries straddle cache lines. With AVX-512's 32 registers,
// 6 x 4: 24 accumulators, 4 + 6 loads per 24 FMAs; on an Intel Xeon (AVX-512) VM 7 to 12%
// faster than 8 x 3 at T = 2048..4096 with blocks of 128 x 64 (medians of 7 interleaved runs).
constexpr int tile_cols = 6;
constexpr int tile_vectors = tiled_attention_many_registers ? 4 : 2;

/// Calls tile.operator()<COLS, VECTORS>(w, c) over a grid of `vectors` query vectors by
/// `cols` columns: full register tiles, then narrower ones (4, 2, 1 columns; 1 vector) on the
/// edges, so that any block size works. The query tiles are the outer loop: a tile's queries
/// stay in the L1 cache while the columns stream past.
template <typename Tile>
void for_each_tile(Index vectors, Index cols, Tile tile) {
  const auto row_of_tiles = [&]<int VECTORS>(Index w) {
    Index c = 0;
    for (; c + tile_cols <= cols; c += tile_cols)
      tile.template operator()<tile_cols, VECTORS>(w, c);
    if (c + 4 <= cols) tile.template operator()<4, VECTORS>(w, c), c += 4;
    if (c + 2 <= cols) tile.template operator()<2, VECTORS>(w, c), c += 2;
    if (c < cols) tile.template operator()<1, VECTORS>(w, c);
  };
  Index w = 0;
  for (; w + tile_vectors <= vectors; w += tile_vectors)
    row_of_tiles.template operator()<tile_vectors>(w);
  for (; w < vectors; ++w) row_of_tiles.template operator()<1>(w);
}

/// One thread's buffers, allocated once and reused for every block it computes.
struct BlockBuffers {
  BlockBuffers(Index padded_q, Index block_k, Index d_k, Index d_v)
      : queries(padded_q, d_k),
        scores(padded_q, block_k),
        output(padded_q, d_v),
        running_max(padded_q),
        running_sum(padded_q),
        rescale(padded_q) {}
  Matrix queries;      ///< padded_q x d_k: the query block times TiledProblem::scale
  Matrix scores;       ///< padded_q x block_k: S, then \f$ P = 2^{S - m'} \f$
  Matrix output;       ///< padded_q x d_v: the unnormalised output o
  Vector running_max;  ///< m of each query
  Vector running_sum;  ///< l of each query
  Vector rescale;      ///< \f$ 2^{m - m'} \f$ of each query, for the current key block
};

/// What every block of one call shares: the operands, the options and where results go.
struct TiledProblem {
  Eigen::Ref<const Matrix> q, k, v;
  TiledAttentionOptions options;
  /// \f$ \log_2 e / \sqrt{d_k} \f$: the kernel's scores are \f$ s \log_2 e \f$, so that
  /// \f$ e^{s - m} = 2^{(s - m) \log_2 e} \f$ and every exponential is a cheap power of 2.
  float scale;
  /// K and V cut into panels of block_k rows, packed once per call: panel n is keys
  /// n block_k .. (n+1) block_k - 1 as a contiguous block_k x d column-major matrix (columns
  /// n d .. (n+1) d - 1 here), which every query block reads in place. Copying a block out of
  /// a tall column-major K for each query block instead reads d_k columns T_k floats apart, d_k
  /// pages per block: on an Intel Xeon VM the packed panels were 3 to 9% faster at
  /// T = 8192..16384 (no difference beyond the noise at 2048). O(T d) memory, as K and V.
  Matrix key_panels, value_panels;
  Matrix* output;
  Vector* lse;
};

/// Packs the rows of `m` into panels of `block` rows (TiledProblem::key_panels).
Matrix pack_panels(const Eigen::Ref<const Matrix>& m, Index block) {
  const Index panels = (m.rows() + block - 1) / block, d = m.cols();
  Matrix packed(block, panels * d);
  for (Index n = 0; n < panels; ++n) {
    const Index rows = std::min(block, m.rows() - n * block);
    packed.block(0, n * d, rows, d) = m.middleRows(n * block, rows);
    packed.block(rows, n * d, block - rows, d).setZero();  // the last panel's tail: never read
  }
  return packed;
}

/// One query block, rows first_query .. first_query + rows - 1, against every key block it
/// can see: FlashAttention-2's inner loop.
void attend_query_block(const TiledProblem& problem, Index first_query, Index rows,
                        BlockBuffers& b) {
  const Index t_q = problem.q.rows(), t_k = problem.k.rows();
  const Index d_k = problem.q.cols(), d_v = problem.v.cols();
  const Index padded = b.queries.rows(), vectors = padded / lanes;
  // Query i of the whole input sees keys 0..i + offset (causal_mask's rule).
  const Index offset = t_k - t_q;
  b.queries.topRows(rows) = problem.q.middleRows(first_query, rows) * problem.scale;
  b.queries.bottomRows(padded - rows).setZero();  // padding lanes: computed, never stored
  b.output.setZero();
  b.running_max.setConstant(minus_infinity);
  b.running_sum.setZero();
  // Causal: the block's last query sees keys up to last_query + offset; later blocks skipped.
  const Index end_key =
      problem.options.causal ? std::clamp<Index>(first_query + rows + offset, 0, t_k) : t_k;
  for (Index first_key = 0; first_key < end_key; first_key += problem.options.block_k) {
    const Index keys = std::min(problem.options.block_k, end_key - first_key);
    const Index panel = first_key / problem.options.block_k;
    const float* key_block = problem.key_panels.data() + panel * problem.key_panels.rows() * d_k;
    const float* value_block =
        problem.value_panels.data() + panel * problem.value_panels.rows() * d_v;

    // S = Q_b K_b^T (the log2(e) / sqrt(d_k) is in the queries already).
    const Index ldk = problem.key_panels.rows(), lds = b.scores.rows();
    const Index ldv = problem.value_panels.rows();
    for_each_tile(vectors, keys, [&]<int KEYS, int VECTORS>(Index w, Index j) {
      score_tile<KEYS, VECTORS>(&b.queries(w * lanes, 0), padded, key_block + j, ldk, d_k,
                                &b.scores(w * lanes, j), lds);
    });
    // A key block that crosses the diagonal: hide key j from the queries before it.
    const bool masked = problem.options.causal && first_key + keys - 1 > first_query + offset;
    if (masked) {
      for (Index j = 0; j < keys; ++j) {
        const Index hidden = std::clamp<Index>(first_key + j - offset - first_query, 0, padded);
        b.scores.col(j).head(hidden).setConstant(minus_infinity);
      }
    }

    // Online softmax, lanes queries at a time, in base 2 (see TiledProblem::scale):
    // m' = max(m, max_j s_j), alpha = 2^{m - m'}, p_j = 2^{s_j - m'}, l' = alpha l + sum_j p_j.
    for (Index i = 0; i < padded; i += lanes) {
      const Packet old_max = simd::ploadu<Packet>(&b.running_max(i));
      // Four partial maxima (the same maximum): one chain of `keys` dependent pmax would
      // wait out each one's latency.
      Packet partial_max[4] = {old_max, old_max, old_max, old_max};
      Index key = 0;
      for (; key + 4 <= keys; key += 4)
        for (int u = 0; u < 4; ++u)
          partial_max[u] = simd::pmax(partial_max[u], simd::ploadu<Packet>(&b.scores(i, key + u)));
      for (; key < keys; ++key)
        partial_max[0] = simd::pmax(partial_max[0], simd::ploadu<Packet>(&b.scores(i, key)));
      const Packet new_max = simd::pmax(simd::pmax(partial_max[0], partial_max[1]),
                                        simd::pmax(partial_max[2], partial_max[3]));
      // A query that has seen no key yet keeps m' = -inf; subtract 0 there, not -inf, so
      // that no -inf - (-inf) = NaN appears.
      const Packet unseen = simd::pcmp_eq(new_max, simd::pset1<Packet>(minus_infinity));
      const Packet shift = simd::pselect(unseen, simd::pset1<Packet>(0.0F), new_max);
      Packet block_sum = simd::pset1<Packet>(0.0F);
      for (Index j = 0; j < keys; ++j) {
        const Packet s = simd::psub(simd::ploadu<Packet>(&b.scores(i, j)), shift);
        const Packet p = exp2_nonpositive(s);  // exactly 0 for a masked key
        simd::pstoreu(&b.scores(i, j), p);
        block_sum = simd::padd(block_sum, p);
      }
      const Packet alpha = exp2_nonpositive(simd::psub(old_max, shift));  // 0 if m = -inf
      simd::pstoreu(&b.rescale(i), alpha);
      simd::pstoreu(&b.running_max(i), new_max);
      simd::pstoreu(&b.running_sum(i),
                    simd::pmadd(alpha, simd::ploadu<Packet>(&b.running_sum(i)), block_sum));
    }

    // o' = alpha o + P V_b.
    for_each_tile(vectors, d_v, [&]<int COLS, int VECTORS>(Index w, Index c) {
      output_tile<COLS, VECTORS>(&b.scores(w * lanes, 0), lds, value_block + c * ldv, ldv, keys,
                                 &b.rescale(w * lanes), &b.output(w * lanes, c), padded);
    });
  }

  // The end: o / l, and lse = m + log l (m back from base 2). A query that saw no key has
  // l = 0: output 0, lse -inf. (A NaN sum stays NaN.)
  constexpr float ln2 = 0.693147180559945309F;
  for (Index i = 0; i < rows; ++i) {
    const float sum = b.running_sum(i);
    b.rescale(i) = sum == 0.0F ? 0.0F : 1.0F / sum;
    (*problem.lse)(first_query + i) =
        sum == 0.0F ? minus_infinity : b.running_max(i) * ln2 + std::log(sum);
  }
  problem.output->middleRows(first_query, rows) =
      b.output.topRows(rows).array().colwise() * b.rescale.head(rows).array();
}

void require_at_least_one(Index value, const char* option) {
  require(value >= 1, "tiled_attention",
          std::string(option) + " must be at least 1 (got " + std::to_string(value) + ")");
}

}  // namespace

TiledAttentionResult tiled_attention(const Eigen::Ref<const Matrix>& q,
                                     const Eigen::Ref<const Matrix>& k,
                                     const Eigen::Ref<const Matrix>& v,
                                     const TiledAttentionOptions& options) {
  require_shapes(q.cols() == k.cols(), "tiled_attention",
                 "queries and keys must have the same dimension d_k (columns)", "Q", q, "K", k);
  require_shapes(k.rows() == v.rows(), "tiled_attention",
                 "keys and values must have the same number of rows (T_k)", "K", k, "V", v);
  require(q.cols() > 0, "tiled_attention", "d_k must be positive");
  require_at_least_one(options.block_q, "block_q");
  require_at_least_one(options.block_k, "block_k");
  require_at_least_one(options.threads, "threads");

  const Index t_q = q.rows(), t_k = k.rows();
  TiledAttentionResult result{Matrix(t_q, v.cols()), Vector(t_q)};
  const float log2_e = 1.442695040888963407F;
  const float scale = log2_e / std::sqrt(static_cast<float>(q.cols()));
  TiledProblem problem{q, k, v, options, scale, Matrix(), Matrix(), &result.output, &result.lse};
  // Blocks larger than the input are the input: no buffer larger than it.
  problem.options.block_q = std::min(options.block_q, std::max<Index>(t_q, 1));
  problem.options.block_k = std::min(options.block_k, std::max<Index>(t_k, 1));
  problem.key_panels = pack_panels(k, problem.options.block_k);
  problem.value_panels = pack_panels(v, problem.options.block_k);
  const Index block_q = problem.options.block_q;
  const Index padded_q = (block_q + lanes - 1) / lanes * lanes;
  const Index blocks = (t_q + block_q - 1) / block_q;
  const Index workers = std::min<Index>(options.threads, blocks);

  // Each worker takes the next query block until none is left: the last (under a causal mask
  // the most expensive) blocks first. Which thread computes a block does not change how.
  std::atomic<Index> next_block{0};
  const auto work = [&](BlockBuffers& buffers) {
    for (Index n = next_block++; n < blocks; n = next_block++) {
      const Index first_query = (blocks - 1 - n) * block_q;
      attend_query_block(problem, first_query, std::min(block_q, t_q - first_query), buffers);
    }
  };
  std::vector<BlockBuffers> buffers(
      static_cast<std::size_t>(std::max<Index>(workers, 1)),
      BlockBuffers(padded_q, problem.options.block_k, q.cols(), v.cols()));
  std::vector<std::thread> threads;
  for (std::size_t t = 1; t < buffers.size(); ++t) {
    try {
      threads.emplace_back(work, std::ref(buffers[t]));
    } catch (const std::system_error&) {
      break;  // no more threads to be had: the others take its blocks, with the same result
    }
  }
  work(buffers[0]);
  for (auto& thread : threads) thread.join();
  return result;
}

Matrix tiled_multi_head_attention(const Matrix& x, const MultiHeadWeights& w,
                                  const TiledAttentionOptions& options) {
  check_multi_head_weights(w, "tiled_multi_head_attention");
  require_shapes(x.cols() == w.d_model(), "tiled_multi_head_attention",
                 "the input must have d_model columns (the rows of W_q)", "X", x, "W_q", w.w_q);
  const Matrix q = x * w.w_q, k = x * w.w_k, v = x * w.w_v;
  const Index d_head = w.d_head();
  Matrix concat(x.rows(), w.d_model());
  for (Index head = 0; head < w.heads; ++head) {
    // Head i's columns, read in place: a column-major block of whole columns.
    const auto columns = [&](const Matrix& m) { return m.middleCols(head * d_head, d_head); };
    concat.middleCols(head * d_head, d_head) =
        tiled_attention(columns(q), columns(k), columns(v), options).output;
  }
  return concat * w.w_o;
}

std::vector<OnlineSoftmaxState> online_softmax_trace(const Eigen::Ref<const Vector>& query,
                                                     const Eigen::Ref<const Matrix>& k,
                                                     const Eigen::Ref<const Matrix>& v,
                                                     Index block_k) {
  require_shapes(query.size() == k.cols(), "online_softmax_trace",
                 "the query's length must be the keys' dimension d_k (columns)", "query",
                 query.transpose(), "K", k);
  require_shapes(k.rows() == v.rows(), "online_softmax_trace",
                 "keys and values must have the same number of rows (T_k)", "K", k, "V", v);
  require(k.cols() > 0, "online_softmax_trace", "d_k must be positive");
  require(block_k >= 1, "online_softmax_trace",
          "block_k must be at least 1 (got " + std::to_string(block_k) + ")");

  const Vector scores = (k * query) / std::sqrt(static_cast<float>(k.cols()));  // s_j
  std::vector<OnlineSoftmaxState> trace;
  float max = minus_infinity;  // m: no key seen yet
  float sum = 0.0F;            // l
  Vector output = Vector::Zero(v.cols());
  for (Index first = 0; first < k.rows(); first += block_k) {
    const Index keys = std::min(block_k, k.rows() - first);
    const float new_max = std::max(max, scores.segment(first, keys).maxCoeff());
    const float rescale = std::exp(max - new_max);  // e^{m - m'}: 0 for the first block
    const Vector weights = (scores.segment(first, keys).array() - new_max).exp().matrix();
    sum = rescale * sum + weights.sum();
    output = rescale * output + v.middleRows(first, keys).transpose() * weights;
    max = new_max;
    trace.push_back({first + keys, max, sum, output});
  }
  return trace;
}

}  // namespace qkv
