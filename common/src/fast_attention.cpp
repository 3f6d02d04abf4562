/// @file
/// The tiled attention kernel of qkv/fast_attention.hpp (chapter 09), compiled once.
///
/// Layout. Inside a block everything is stored so that one SIMD vector holds one number for
/// `lanes` consecutive queries (16 with AVX-512): the scaled query block, the scores S and
/// the unnormalised output O of the block are column-major matrices with a row per query.
/// The online softmax is then the same few vector operations for every key, with no
/// reduction across lanes: the running maximum, sum and rescaling factor of 16 queries are
/// one vector each. The two products, \f$ S = Q_b K_b^\top \f$ and \f$ O \mathrel{+}= P V_b \f$,
/// are small register-blocked kernels whose accumulators never leave the registers.
///
/// The SIMD code is written with Eigen's packet functions (Eigen::internal::pload, pmadd,
/// pexp, ...), so the one kernel runs at the width the build targets: AVX-512 in the fast
/// build, SSE2 in the default one, one float at a time without vectorisation.

#include "qkv/fast_attention.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "qkv/error.hpp"

namespace qkv {
namespace {

namespace simd = Eigen::internal;
using Packet = simd::packet_traits<float>::type;
/// Queries per SIMD vector.
constexpr Index lanes = simd::unpacket_traits<Packet>::size;
constexpr float minus_infinity = -std::numeric_limits<float>::infinity();

/// \f$ e^x \f$, and exactly 0 for \f$ x = -\infty \f$ (Eigen's vectorised exp gives about
/// 1e-38 there): a masked key must get weight 0.
Packet exp_or_zero(const Packet& x) {
  const Packet masked = simd::pcmp_eq(x, simd::pset1<Packet>(minus_infinity));
  return simd::pselect(masked, simd::pset1<Packet>(0.0F), simd::pexp(x));
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
/// \f$ \alpha_i \f$ (the rescaling \f$ e^{m - m'} \f$), `v` at V_b(0, c).
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

/// Calls tile<4, 4> over a rows x cols grid (rows in vectors of lanes, cols in scalars) and
/// the narrower tiles on the edges, so that any block size works.
template <typename Tile>
void for_each_tile(Index vectors, Index cols, Tile tile) {
  Index c = 0;
  for (; c + 4 <= cols; c += 4) {
    Index w = 0;
    for (; w + 4 <= vectors; w += 4) tile.template operator()<4, 4>(w, c);
    for (; w < vectors; ++w) tile.template operator()<4, 1>(w, c);
  }
  for (; c < cols; ++c) {
    Index w = 0;
    for (; w + 4 <= vectors; w += 4) tile.template operator()<1, 4>(w, c);
    for (; w < vectors; ++w) tile.template operator()<1, 1>(w, c);
  }
}

/// One thread's buffers, allocated once and reused for every block it computes.
struct BlockBuffers {
  BlockBuffers(Index padded_q, Index block_k, Index d_k, Index d_v)
      : queries(padded_q, d_k),
        keys(block_k, d_k),
        values(block_k, d_v),
        scores(padded_q, block_k),
        output(padded_q, d_v),
        running_max(padded_q),
        running_sum(padded_q),
        rescale(padded_q) {}
  Matrix queries;      ///< padded_q x d_k: the query block times \f$ 1 / \sqrt{d_k} \f$
  Matrix keys;         ///< block_k x d_k: the key block, its columns next to each other
  Matrix values;       ///< block_k x d_v: the value block
  Matrix scores;       ///< padded_q x block_k: S, then \f$ P = e^{S - m'} \f$
  Matrix output;       ///< padded_q x d_v: the unnormalised output o
  Vector running_max;  ///< m of each query
  Vector running_sum;  ///< l of each query
  Vector rescale;      ///< \f$ e^{m - m'} \f$ of each query, for the current key block
};

/// What every block of one call shares: the operands, the options and where results go.
struct TiledProblem {
  Eigen::Ref<const Matrix> q, k, v;
  TiledAttentionOptions options;
  float scale;  // 1 / sqrt(d_k)
  Matrix* output;
  Vector* lse;
};

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
    b.keys.topRows(keys) = problem.k.middleRows(first_key, keys);
    b.values.topRows(keys) = problem.v.middleRows(first_key, keys);

    // S = Q_b K_b^T (the 1 / sqrt(d_k) is in the queries already).
    const Index ldk = b.keys.rows(), lds = b.scores.rows(), ldv = b.values.rows();
    for_each_tile(vectors, keys, [&]<int KEYS, int VECTORS>(Index w, Index j) {
      score_tile<KEYS, VECTORS>(&b.queries(w * lanes, 0), padded, &b.keys(j, 0), ldk, d_k,
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

    // Online softmax, lanes queries at a time: m' = max(m, max_j s_j), alpha = e^{m - m'},
    // p_j = e^{s_j - m'}, l' = alpha l + sum_j p_j.
    for (Index i = 0; i < padded; i += lanes) {
      const Packet old_max = simd::ploadu<Packet>(&b.running_max(i));
      Packet new_max = old_max;
      for (Index j = 0; j < keys; ++j)
        new_max = simd::pmax(new_max, simd::ploadu<Packet>(&b.scores(i, j)));
      // A query that has seen no key yet keeps m' = -inf; subtract 0 there, not -inf, so
      // that no -inf - (-inf) = NaN appears.
      const Packet unseen = simd::pcmp_eq(new_max, simd::pset1<Packet>(minus_infinity));
      const Packet shift = simd::pselect(unseen, simd::pset1<Packet>(0.0F), new_max);
      Packet block_sum = simd::pset1<Packet>(0.0F);
      for (Index j = 0; j < keys; ++j) {
        const Packet s = simd::psub(simd::ploadu<Packet>(&b.scores(i, j)), shift);
        const Packet p = masked ? exp_or_zero(s) : simd::pexp(s);
        simd::pstoreu(&b.scores(i, j), p);
        block_sum = simd::padd(block_sum, p);
      }
      const Packet alpha = exp_or_zero(simd::psub(old_max, shift));
      simd::pstoreu(&b.rescale(i), alpha);
      simd::pstoreu(&b.running_max(i), new_max);
      simd::pstoreu(&b.running_sum(i),
                    simd::pmadd(alpha, simd::ploadu<Packet>(&b.running_sum(i)), block_sum));
    }

    // o' = alpha o + P V_b.
    for_each_tile(vectors, d_v, [&]<int COLS, int VECTORS>(Index w, Index c) {
      output_tile<COLS, VECTORS>(&b.scores(w * lanes, 0), lds, &b.values(0, c), ldv, keys,
                                 &b.rescale(w * lanes), &b.output(w * lanes, c), padded);
    });
  }

  // The end: o / l, and lse = m + log l. A query that saw no key has l = 0: output 0.
  for (Index i = 0; i < rows; ++i) {
    const float sum = b.running_sum(i);
    const float inverse = sum > 0.0F ? 1.0F / sum : 0.0F;
    problem.output->row(first_query + i) = b.output.row(i) * inverse;
    (*problem.lse)(first_query + i) =
        sum > 0.0F ? b.running_max(i) + std::log(sum) : minus_infinity;
  }
}

void require_at_least_one(Index value, const char* option) {
  require(value >= 1, "tiled_attention",
          std::string(option) + " must be at least 1 (got " + std::to_string(value) + ")");
}

}  // namespace

TiledAttentionResult tiled_attention(Eigen::Ref<const Matrix> q, Eigen::Ref<const Matrix> k,
                                     Eigen::Ref<const Matrix> v,
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
  // Blocks larger than the input are the input: no buffer larger than it.
  TiledProblem problem{
      q,          k, v, options, 1.0F / std::sqrt(static_cast<float>(q.cols())), &result.output,
      &result.lse};
  problem.options.block_q = std::min(options.block_q, std::max<Index>(t_q, 1));
  problem.options.block_k = std::min(options.block_k, std::max<Index>(t_k, 1));
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
  for (std::size_t t = 1; t < buffers.size(); ++t) threads.emplace_back(work, std::ref(buffers[t]));
  work(buffers[0]);
  for (auto& thread : threads) thread.join();
  return result;
}

std::vector<OnlineSoftmaxState> online_softmax_trace(Eigen::Ref<const Vector> query,
                                                     Eigen::Ref<const Matrix> k,
                                                     Eigen::Ref<const Matrix> v, Index block_k) {
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
