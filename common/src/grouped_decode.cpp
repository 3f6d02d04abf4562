/// @file
/// grouped_decode_attention() of qkv/grouped_query.hpp (chapter 08): one decode step of
/// grouped-query attention over a key/value cache, compiled once.
///
/// Why it is shaped this way. A decode step does about 4 N h d_head FLOPs on 2 N kv_heads
/// d_head cached floats: h / (2 kv_heads) FLOPs per byte, 0.5 for multi-head attention and 2
/// for GQA-8, below the balance point of the machine this was tuned on (~100 GFLOP/s per core
/// over ~15 GB/s: ~7 FLOP/byte), so their time is the time to read K and V; MQA's 16 is above
/// it, bound by the arithmetic. Either way each key/value head is read once: the
/// group_size = heads / kv_heads query heads that share it, with all their T_new rows, are
/// ONE d_head x (group_size T_new) matrix Q_g^T (one query per column), and
///   S^T = K_g Q_g^T / sqrt(d_head)            (keys x queries)
///   O^T = V_g^T softmax_columns(S^T)           (d_head x queries)
/// The cache is column-major with the heads side by side, so head g's keys K_g are d_head
/// whole columns, each N contiguous floats. One query column (multi-head attention, one new
/// row) is Eigen's matrix-vector product, which streams such columns at the memory's rate.
/// More columns are register-tiled kernels written with Eigen's packet functions (the width
/// the build targets: AVX2 in the fast build, SSE2 in the default one): Eigen's general
/// product ran these skinny shapes at 10-25% of the FMA peak. The scores are kept transposed
/// so that the softmax runs down contiguous columns.
///
/// Keys are taken in chunks (online softmax, as in chapter 09): a chunk's weights, keys x
/// queries, stay in the L2 cache (one query: 8192 keys, 4: 4096, 32: 512), and each query
/// column keeps a running maximum m, sum l and unnormalised output o, rescaled by
/// e^(m - m') when its maximum grows. The same (m, l, o) states make the threads: the work
/// items are the groups, and when there are fewer groups than threads each group's keys are
/// split into ranges whose states are merged at the end (split-KV, "flash decoding", Dao et
/// al. 2023): with weights w_p = e^(m_p - M), M = max_p m_p, l = sum_p w_p l_p,
/// o = sum_p w_p o_p, output o / l. A group is computed the same way whichever thread takes
/// it, so a split over groups only is bit-identical to one thread.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <numeric>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "qkv/error.hpp"
#include "qkv/grouped_query.hpp"

namespace qkv {
namespace {

constexpr float minus_infinity = -std::numeric_limits<float>::infinity();

namespace simd = Eigen::internal;
using Packet = simd::packet_traits<float>::type;
/// Floats per SIMD vector (8 with AVX2, 4 with SSE2, 1 without vectorisation).
constexpr Index lanes = simd::unpacket_traits<Packet>::size;

constexpr Index floats_per_line = 16;  // 64-byte cache lines
/// How far ahead (in keys) the score tiles prefetch the keys they read: the hardware
/// prefetchers alone left the tiles waiting for memory.
constexpr Index prefetch_keys = 128;

/// Scores of KP x lanes keys against ROWS query columns: \f$ S_{jr} = \sum_c K_{jc} Q_{cr} \f$.
/// `k` points at the first key's coordinate 0 (coordinate c at k + c ldk: the keys of one
/// coordinate are contiguous, so each step loads KP vectors), `q` at the first query column
/// (column r at q + r ldq), `s` at S(0, 0); the sum runs over d coordinates and is added
/// to S when `add`. The KP x ROWS accumulators stay in registers for the whole sum. With
/// `prefetch`, the same coordinates prefetch_keys keys further on are prefetched.
template <int KP, int ROWS>
void score_tile(const float* k, Index ldk, const float* q, Index ldq, Index d, float* s, Index lds,
                bool add, bool prefetch) {
  Packet acc[ROWS][KP];
  for (int r = 0; r < ROWS; ++r)
    for (int p = 0; p < KP; ++p)
      acc[r][p] = add ? simd::ploadu<Packet>(s + r * lds + p * lanes) : simd::pset1<Packet>(0.0F);
  for (Index c = 0; c < d; ++c) {
    Packet key[KP];
    for (int p = 0; p < KP; ++p) key[p] = simd::ploadu<Packet>(k + c * ldk + p * lanes);
    if (prefetch)
      for (Index f = 0; f < KP * lanes; f += floats_per_line)
        simd::prefetch(k + c * ldk + prefetch_keys + f);
    for (int r = 0; r < ROWS; ++r) {
      const Packet query = simd::pset1<Packet>(q[r * ldq + c]);
      for (int p = 0; p < KP; ++p) acc[r][p] = simd::pmadd(key[p], query, acc[r][p]);
    }
  }
  for (int r = 0; r < ROWS; ++r)
    for (int p = 0; p < KP; ++p) simd::pstoreu(s + r * lds + p * lanes, acc[r][p]);
}

/// Vectors of keys and query columns per score tile: 3 x 4 = 12 accumulators, with the 3
/// keys and a broadcast query within AVX2's 16 registers (a tile of 4 query columns, as GQA-8
/// has, fills it: no narrower edge tile).
/// Without FMA (the default build's SSE2) a multiply-add needs a register for the product,
/// and 12 accumulators spilled: 2 x 4 there.
#ifdef EIGEN_VECTORIZE_FMA
constexpr int tile_vectors = 3;
#else
constexpr int tile_vectors = 2;
#endif
constexpr int tile_rows = 4;
constexpr Index tile_keys = tile_vectors * lanes;

/// One key tile against all query columns, tile_rows at a time, over the coordinates
/// first .. first + count - 1 (see column_block). The tile's keys stay in the L1 cache from
/// one group of columns to the next.
void score_keys(const float* k, Index ldk, const Matrix& q, Index first, Index count, float* s,
                Index lds) {
  const Index d = q.rows(), rows = q.cols();
  const bool add = first > 0;
  bool prefetch = true;  // by the first group of columns only
  Index r = 0;
  for (; r + tile_rows <= rows; r += tile_rows, prefetch = false)
    score_tile<tile_vectors, tile_rows>(k, ldk, &q(first, r), d, count, s + r * lds, lds, add,
                                        prefetch);
  if (rows - r == 3)
    score_tile<tile_vectors, 3>(k, ldk, &q(first, r), d, count, s + r * lds, lds, add, prefetch);
  if (rows - r == 2)
    score_tile<tile_vectors, 2>(k, ldk, &q(first, r), d, count, s + r * lds, lds, add, prefetch);
  if (rows - r == 1)
    score_tile<tile_vectors, 1>(k, ldk, &q(first, r), d, count, s + r * lds, lds, add, prefetch);
}

/// Coordinates per pass of the score tiles over a chunk. A tile summing over all d_head
/// coordinates at once reads d_head runs of tile_keys floats, N floats apart: every tile
/// touches d_head pages, no hardware prefetcher follows, and the scores ran at 10-20 GFLOP/s
/// (a copy of the keys into tiles first was no faster overall: its short runs cost as much). In
/// passes of 16 coordinates the chunk is read as 16 long contiguous streams, and the scores
/// (in the L2 cache) are added to once per pass.
constexpr Index column_block = 16;

/// \f$ O_{cr} \mathrel{+}= \sum_j V_{jc} P_{jr} \f$ for COLS value columns and ROWS query
/// columns over `keys` keys: dot products down contiguous columns of V (the cache) and of
/// P (the chunk's weights), COLS x ROWS vector accumulators summed across lanes at the end.
/// Unless `ahead` is null, the same keys of the COLS columns at `ahead` are prefetched.
template <int COLS, int ROWS>
void value_tile(const float* v, Index ldv, const float* p, Index ldp, Index keys, float* o,
                Index ldo, const float* ahead) {
  Packet acc[COLS][ROWS];
  for (auto& col : acc)
    for (auto& a : col) a = simd::pset1<Packet>(0.0F);
  Index j = 0;
  for (; j + lanes <= keys; j += lanes) {
    Packet weight[ROWS];
    for (int r = 0; r < ROWS; ++r) weight[r] = simd::ploadu<Packet>(p + r * ldp + j);
    if (ahead && j % floats_per_line == 0)
      for (int c = 0; c < COLS; ++c) simd::prefetch(ahead + c * ldv + j);
    for (int c = 0; c < COLS; ++c) {
      const Packet value = simd::ploadu<Packet>(v + c * ldv + j);
      for (int r = 0; r < ROWS; ++r) acc[c][r] = simd::pmadd(value, weight[r], acc[c][r]);
    }
  }
  // Summed across lanes first, in loops the compiler unrolls: a loop of unknown length among
  // them kept the accumulators on the stack instead of in registers.
  float sums[COLS][ROWS];
  for (int c = 0; c < COLS; ++c)
    for (int r = 0; r < ROWS; ++r) sums[c][r] = simd::predux(acc[c][r]);
  for (; j < keys; ++j)  // the last keys
    for (int c = 0; c < COLS; ++c)
      for (int r = 0; r < ROWS; ++r) sums[c][r] += v[c * ldv + j] * p[r * ldp + j];
  for (int c = 0; c < COLS; ++c)
    for (int r = 0; r < ROWS; ++r) o[r * ldo + c] += sums[c][r];
}

/// Calls value_tile over the d_head x rows output: 6 value columns by 2 query columns (12
/// accumulators, 2 weights and a value in AVX2's 16 registers), narrower tiles on the edges.
/// The query columns are the inner loop, so a tile's value columns stay in the L1 cache while
/// P is read again; the first pass over them prefetches the next tile's columns (runs of a
/// chunk's keys, N floats apart).
void add_weighted_values(const float* v, Index ldv, const float* p, Index ldp, Index keys,
                         Matrix& o) {
  const Index d = o.rows(), rows = o.cols();
  const auto columns = [&]<int COLS>(Index c) {
    const float* vc = v + c * ldv;
    const float* ahead = c + COLS < d ? vc + COLS * ldv : nullptr;
    Index r = 0;
    for (; r + 2 <= rows; r += 2, ahead = nullptr)
      value_tile<COLS, 2>(vc, ldv, p + r * ldp, ldp, keys, &o(c, r), d, ahead);
    if (rows - r == 1) value_tile<COLS, 1>(vc, ldv, p + r * ldp, ldp, keys, &o(c, r), d, ahead);
  };
  Index c = 0;
#ifdef EIGEN_VECTORIZE_FMA
  constexpr int widest = 6;
#else
  constexpr int widest = 4;  // 8 accumulators: without FMA each product needs a register too
#endif
  for (; c + widest <= d; c += widest) columns.template operator()<widest>(c);
  if (d - c >= 4) columns.template operator()<4>(c), c += 4;
  if (d - c >= 2) columns.template operator()<2>(c), c += 2;
  if (d - c == 1) columns.template operator()<1>(c);
}

/// Floats of weights P per chunk (64 KiB, in the L2 cache while the values stream past):
/// keys per chunk = this / query columns, between min_chunk_keys and max_chunk_keys.
constexpr Index chunk_floats = Index{1} << 14;
constexpr Index min_chunk_keys = 256, max_chunk_keys = 8192;

/// What every work item of one call shares.
struct DecodeProblem {
  Eigen::Ref<const Matrix> keys, values;
  Index t_new, d_head, group_size;
  /// Per group: its query heads' rows, scaled by 1 / sqrt(d_head), one query per column
  /// (column il T_new + t is row t of the group's il-th query head): d_head x rows.
  std::vector<Matrix> queries;
};

/// One group's keys first_key .. end_key - 1: its running state after the last chunk.
struct PartialState {
  Index group = 0, first_key = 0, end_key = 0;
  Eigen::RowVectorXf max;  ///< m per query column (-inf: no key seen yet)
  Eigen::RowVectorXf sum;  ///< l per query column
  Matrix output;           ///< o, d_head x queries, not yet divided by l
};

/// Runs the online softmax of `part`'s group over its key range, chunk by chunk.
/// `scores` is this thread's buffer, reused from item to item.
void attend_key_range(const DecodeProblem& problem, PartialState& part, Matrix& scores) {
  const Matrix& queries = problem.queries[static_cast<std::size_t>(part.group)];
  const Index rows = queries.cols(), d = problem.d_head, n = problem.keys.rows();
  const Index chunk = std::clamp(chunk_floats / rows, min_chunk_keys, max_chunk_keys);
  const Index padded_chunk = (chunk + tile_keys - 1) / tile_keys * tile_keys;  // whole tiles
  if (scores.rows() != padded_chunk || scores.cols() != rows) scores.resize(padded_chunk, rows);
  // Head g's keys and values: columns g d .. (g+1) d - 1 of the cache, each column contiguous.
  const Index column = part.group * d;
  const Index ldk = problem.keys.outerStride(), ldv = problem.values.outerStride();
  const float* group_keys = problem.keys.data() + part.group * d * ldk;
  const float* group_values = problem.values.data() + part.group * d * ldv;
  part.max.setConstant(rows, minus_infinity);
  part.sum.setZero(rows);
  part.output.setZero(d, rows);
  // Row t of the new rows is position n - t_new + t and sees keys 0 .. n - t_new + t.
  const Index first_hidden = n - problem.t_new + 1;  // the first key some new row must not see
  Eigen::RowVectorXf new_max(rows), shift(rows), rescale(rows);
  for (Index first = part.first_key; first < part.end_key; first += chunk) {
    const Index keys = std::min(chunk, part.end_key - first);
    // S^T = K_chunk Q_g^T (the 1 / sqrt(d) is in the queries). One query column (multi-head
    // attention, one new row): Eigen's matrix-vector product, which streams the cache column
    // by column at the memory's rate; more: the register tiles, a tile of keys at a time.
    if (rows == 1) {
      scores.col(0).head(keys).noalias() = problem.keys.block(first, column, keys, d) * queries;
    } else {
      const Index full = keys / tile_keys * tile_keys;
      for (Index c = 0; c < d; c += column_block)
        for (Index j = 0; j < full; j += tile_keys)
          score_keys(group_keys + c * ldk + first + j, ldk, queries, c,
                     std::min(column_block, d - c), &scores(j, 0), padded_chunk);
      if (full < keys)  // the last few keys
        scores.block(full, 0, keys - full, rows).noalias() =
            problem.keys.block(first + full, column, keys - full, d) * queries;
    }
    auto s = scores.topRows(keys);
    // Causal among the new rows: key j is hidden from new row t when j > n - t_new + t.
    // Marked -inf for the maximum, set to exactly 0 after the exponential (Eigen's
    // vectorised exp of -inf is ~1e-39, not 0).
    const Index hidden_from = std::max(first, first_hidden);
    const auto hide = [&](float value) {
      for (Index j = hidden_from; j < first + keys; ++j)
        for (Index t = 0; t < problem.t_new && j > n - problem.t_new + t; ++t)
          for (Index head = 0; head < problem.group_size; ++head)
            s(j - first, head * problem.t_new + t) = value;
    };
    hide(minus_infinity);
    new_max = part.max.cwiseMax(s.colwise().maxCoeff());
    // A column that has seen no key keeps m' = -inf: shift by 0 there, so that no
    // -inf - (-inf) = NaN appears.
    shift = (new_max.array() == minus_infinity).select(0.0F, new_max.array());
    rescale = (part.max - shift).array().exp().matrix();  // e^(m - m'); 0 while m = -inf
    for (Index r = 0; r < rows; ++r)  // column by column: contiguous, so vectorised
      s.col(r) = (s.col(r).array() - shift(r)).exp().matrix();
    hide(0.0F);
    part.sum = part.sum.cwiseProduct(rescale) + s.colwise().sum();
    part.output = part.output * rescale.asDiagonal();
    // O^T += V_chunk^T P (one column: Eigen's matrix-vector product again).
    if (rows == 1)
      part.output.col(0).noalias() +=
          problem.values.block(first, column, keys, d).transpose() * s.col(0);
    else
      add_weighted_values(group_values + first, ldv, scores.data(), padded_chunk, keys,
                          part.output);
    part.max = new_max;
  }
}

}  // namespace

// The Refs by value are interface G's signature (grouped_query.hpp), as its owner declared it.
// NOLINTBEGIN(performance-unnecessary-value-param)
Matrix grouped_decode_attention(Eigen::Ref<const Matrix> q, Eigen::Ref<const Matrix> keys,
                                Eigen::Ref<const Matrix> values, Index heads, Index kv_heads,
                                int threads) {
  // NOLINTEND(performance-unnecessary-value-param)
  constexpr const char* name = "grouped_decode_attention";
  require(heads >= 1 && kv_heads >= 1, name,
          "heads and kv_heads must be at least 1 (got heads " + std::to_string(heads) +
              ", kv_heads " + std::to_string(kv_heads) + ")");
  require(heads % kv_heads == 0, name,
          "kv_heads must divide heads (got heads " + std::to_string(heads) + ", kv_heads " +
              std::to_string(kv_heads) + ")");
  require(threads >= 1, name, "threads must be at least 1 (got " + std::to_string(threads) + ")");
  require_shapes(keys.rows() == values.rows() && keys.cols() == values.cols(), name,
                 "keys and values must have the same shape, N x (kv_heads d_head)", "keys", keys,
                 "values", values);
  require_shapes(keys.cols() % kv_heads == 0 && keys.cols() > 0, name,
                 "the cache's columns must be kv_heads = " + std::to_string(kv_heads) +
                     " heads of d_head >= 1 side by side",
                 "keys", keys, "values", values);
  const Index d = keys.cols() / kv_heads, n = keys.rows(), t_new = q.rows();
  require_shapes(q.cols() == heads * d, name,
                 "the queries must be heads = " + std::to_string(heads) +
                     " heads of d_head = " + std::to_string(d) + " (the cache's) side by side",
                 "q", q, "keys", keys);
  require(n >= 1, name, "the cache is empty (N = 0): there is nothing to attend to");
  require(t_new <= n, name,
          "T_new = " + std::to_string(t_new) + " new rows but only N = " + std::to_string(n) +
              " cached positions: the new rows' own keys must be in the cache");

  if (t_new == 0) return Matrix(0, heads * d);  // no new rows: nothing to compute

  const Index group_size = heads / kv_heads;
  const float scale = 1.0F / std::sqrt(static_cast<float>(d));
  DecodeProblem problem{keys, values, t_new, d, group_size, {}};
  problem.queries.resize(static_cast<std::size_t>(kv_heads));
  for (Index g = 0; g < kv_heads; ++g) {
    Matrix& qg = problem.queries[static_cast<std::size_t>(g)];
    qg.resize(d, group_size * t_new);
    for (Index head = 0; head < group_size; ++head)
      qg.middleCols(head * t_new, t_new) =
          q.middleCols((g * group_size + head) * d, d).transpose() * scale;
  }

  // Work items: each group whole, or, with fewer groups than threads, split into key ranges
  // so that groups x splits is a multiple of the threads (every thread gets as many).
  const Index splits = kv_heads >= threads ? 1 : threads / std::gcd(kv_heads, Index{threads});
  std::vector<PartialState> parts;
  for (Index g = 0; g < kv_heads; ++g)
    for (Index p = 0; p < splits; ++p) {
      PartialState part;
      part.group = g;
      part.first_key = n * p / splits;
      part.end_key = n * (p + 1) / splits;
      if (part.end_key > part.first_key) parts.push_back(std::move(part));
    }

  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  const auto work = [&] {
    Matrix scores;
    try {
      for (std::size_t i = next++; i < parts.size(); i = next++)
        attend_key_range(problem, parts[i], scores);
    } catch (...) {
      const std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next = parts.size();  // the others stop too
    }
  };
  std::vector<std::thread> others;
  const auto workers = std::min<std::size_t>(static_cast<std::size_t>(threads), parts.size());
  for (std::size_t t = 1; t < workers; ++t) {
    try {
      others.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // no more threads to be had: the others take its items, with the same result
    }
  }
  work();
  for (auto& thread : others) thread.join();
  if (failure) std::rethrow_exception(failure);

  // Merge each group's key ranges (in key order) and divide by the sum: out = o / l.
  Matrix out(t_new, heads * d);
  Eigen::RowVectorXf weight, sum;
  Matrix output;
  for (std::size_t first = 0; first < parts.size();) {
    const Index g = parts[first].group;
    std::size_t last = first;
    while (last < parts.size() && parts[last].group == g) ++last;
    if (last - first == 1) {  // one range: nothing to merge, no rounding added
      output = parts[first].output;
      sum = parts[first].sum;
    } else {
      Eigen::RowVectorXf max = parts[first].max;
      for (std::size_t p = first + 1; p < last; ++p) max = max.cwiseMax(parts[p].max);
      output.setZero(d, group_size * t_new);
      sum.setZero(group_size * t_new);
      for (std::size_t p = first; p < last; ++p) {
        // w_p = e^(m_p - M): 0 for a range whose keys this column may not see (m_p = -inf).
        weight = (parts[p].max.array() == minus_infinity)
                     .select(0.0F, (parts[p].max - max).array().exp());
        sum += parts[p].sum.cwiseProduct(weight);
        output += parts[p].output * weight.asDiagonal();
      }
    }
    for (Index head = 0; head < group_size; ++head)
      out.middleCols((g * group_size + head) * d, d) =
          (output.middleCols(head * t_new, t_new).array().rowwise() /
           sum.segment(head * t_new, t_new).array())
              .transpose();
    first = last;
  }
  return out;
}

}  // namespace qkv
