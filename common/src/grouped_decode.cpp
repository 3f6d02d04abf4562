/// @file
/// grouped_decode_attention() of qkv/grouped_query.hpp (chapter 08): one decode step of
/// grouped-query attention over a key/value cache, compiled once.
///
/// Why it is shaped this way. A decode step does about 4 N h d_head FLOPs on 2 N kv_heads
/// d_head cached numbers: 2 h / kv_heads FLOPs per float read, far below this machine's
/// balance point (~100 GFLOP/s per core against a few GB/s of memory), so its time is the
/// time to read K and V. The kernel therefore reads each key/value head once: the
/// group_size = heads / kv_heads query heads that share it, with all their T_new rows, are
/// ONE (group_size T_new) x d_head matrix, and
///   S^T = K_g Q_g^T / sqrt(d_head)            (keys x queries, a GEMM; GEMV for one row)
///   O^T = V_g^T softmax_columns(S^T)           (d_head x queries)
/// The cache is column-major with the heads side by side, so head g's keys K_g are a block of
/// d_head whole columns, each of them N contiguous floats: Eigen's products stream through
/// it. The scores are kept transposed (one query per column) so that the softmax runs down
/// contiguous columns.
///
/// Keys are taken in chunks (online softmax, as in chapter 09): a chunk's scores, keys x
/// queries, are sized to stay in the L2 cache (one query: the whole cache at once; 32: 2048
/// keys), and each query column keeps a running maximum m, sum l and unnormalised output o,
/// rescaled by e^(m - m') when its maximum grows. The same (m, l, o) states make the
/// threads: the work items are the groups, and when there are fewer groups than threads
/// each group's keys are split into ranges whose states are merged at the end (split-KV,
/// "flash decoding", Dao et al. 2023): with weights w_p = e^(m_p - M), M = max_p m_p,
/// l = sum_p w_p l_p, o = sum_p w_p o_p, output o / l.

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
/// Floats of scores per chunk (256 KiB): keys per chunk = this / queries in the group.
constexpr Index chunk_floats = Index{1} << 16;
/// Fewer keys than this per chunk and the per-chunk overhead (a product call, the softmax
/// bookkeeping) outweighs the cache it saves.
constexpr Index min_chunk_keys = 256;

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
  const Index column = part.group * d;
  const Index chunk = std::max(min_chunk_keys, chunk_floats / rows);
  part.max.setConstant(rows, minus_infinity);
  part.sum.setZero(rows);
  part.output.setZero(d, rows);
  // Row t of the new rows is position n - t_new + t and sees keys 0 .. n - t_new + t.
  const Index first_hidden = n - problem.t_new + 1;  // the first key some new row must not see
  Eigen::RowVectorXf new_max(rows), shift(rows), rescale(rows);
  for (Index first = part.first_key; first < part.end_key; first += chunk) {
    const Index keys = std::min(chunk, part.end_key - first);
    if (scores.rows() < keys || scores.cols() != rows) scores.resize(keys, rows);
    auto s = scores.topRows(keys);
    s.noalias() = problem.keys.block(first, column, keys, d) * queries;
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
    s = (s.rowwise() - shift).array().exp().matrix();
    hide(0.0F);
    part.sum = part.sum.cwiseProduct(rescale) + s.colwise().sum();
    part.output = part.output * rescale.asDiagonal();
    part.output.noalias() += problem.values.block(first, column, keys, d).transpose() * s;
    part.max = new_max;
  }
}

}  // namespace

Matrix grouped_decode_attention(Eigen::Ref<const Matrix> q, Eigen::Ref<const Matrix> keys,
                                Eigen::Ref<const Matrix> values, Index heads, Index kv_heads,
                                int threads) {
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
