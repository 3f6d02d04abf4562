// Decoding benchmark for chapter 06: generating N tokens with a KV cache against
// recomputing the keys and values of the whole prefix at every step, for one layer of
// multi-head attention (d_model 512, 8 heads) and N = 128, 256, 512, 1024, 2048.
//
//   qkv_decode_benchmark [--reps R] [--max-tokens N] [--clock cpu|wall] [--out FILE.md]
//                        [--csv FILE.csv]
//
// What is measured, all in one run, single-threaded:
// - cached: all N tokens decoded one per step from position 0 (qkv::decode_step with a
//   qkv::KvCache of capacity N, allocated once and reset between runs). R runs; each step
//   is timed, the per-token time at a position is the median over the runs, and the total
//   the sum of those medians.
// - recompute: the step for the token at position p recomputes the keys and values of
//   tokens 0..p (qkv::recompute_step). That costs O(p) per token and all 2048 steps would
//   take minutes, so it is timed at sampled positions only (R runs each, median), and the
//   total over N steps is estimated by linear interpolation between the samples (the cost
//   is linear in the position, so the estimate is close).
// Times are the CPU time of this thread unless --clock wall: on a shared machine, wall time
// also counts other processes' time slices, which hit the long recompute steps far more
// often than the short cached ones. Medians, not means: a run that another process
// disturbs should not count. The speedup is recompute total / cached total, both from the same run.
// Not a test: the machine may be noisy, so compare ratios, not absolute times, and rerun when in
// doubt.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "qkv/error.hpp"
#include "qkv/files.hpp"
#include "qkv/kv_cache.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr qkv::Index d_model = 512;
constexpr qkv::Index heads = 8;
const std::vector<qkv::Index> all_sizes{128, 256, 512, 1024, 2048};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What a measurement counts: the CPU time of this thread (default: on a shared machine,
// wall time would include other processes' time slices, and the long recompute steps are
// interrupted far more often than the short cached ones), or wall time (--clock wall).
bool use_wall_clock = false;

const char* clock_name() { return use_wall_clock ? "wall time" : "thread CPU time"; }

double now_seconds() {
  if (use_wall_clock) return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

struct CachedRun {
  std::vector<double> per_token;  // seconds, median over the runs, per position
  double total = 0;               // the sum of per_token: all N steps
};

// Decodes all N rows of x one at a time, `reps` times, with one cache reused.
CachedRun time_cached(const qkv::Matrix& x, const qkv::MultiHeadWeights& w, int reps) {
  const qkv::Index n = x.rows();
  qkv::KvCache cache(n, d_model);
  qkv::Matrix row(1, d_model), out(1, d_model);
  std::vector<std::vector<double>> steps(static_cast<std::size_t>(n));
  for (int r = 0; r < reps; ++r) {
    cache.reset();
    for (qkv::Index t = 0; t < n; ++t) {
      row = x.row(t);
      const double start = now_seconds();
      out = qkv::decode_step(row, w, cache);
      steps[static_cast<std::size_t>(t)].push_back(now_seconds() - start);
    }
  }
  // Medians per position, then summed: a step that another process preempted in one run
  // does not count.
  CachedRun run;
  for (auto& s : steps) {
    run.per_token.push_back(median(s));
    run.total += run.per_token.back();
  }
  return run;
}

// The median time of the recompute step for the token at `position`.
double time_recompute(const qkv::Matrix& x, const qkv::MultiHeadWeights& w, qkv::Index position,
                      int reps) {
  const qkv::Matrix prefix = x.topRows(position + 1);  // copied once, outside the timing
  qkv::Matrix out(1, d_model);
  std::vector<double> seconds;
  for (int r = 0; r < reps; ++r) {
    const double start = now_seconds();
    out = qkv::recompute_step(prefix, w);
    seconds.push_back(now_seconds() - start);
  }
  return median(seconds);
}

std::vector<qkv::Index> sample_positions(qkv::Index n) {
  std::vector<qkv::Index> positions{0, n / 8, n / 4, n / 2, 3 * n / 4, n - 1};
  positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
  return positions;
}

// Sum over positions 0..n-1 of the time, interpolated linearly between the samples.
double interpolated_total(const std::vector<qkv::Index>& positions,
                          const std::vector<double>& seconds) {
  double total = 0;
  for (std::size_t i = 0; i + 1 < positions.size(); ++i) {
    const auto a = positions[i], b = positions[i + 1];
    for (qkv::Index p = a; p < b; ++p) {
      const double f = static_cast<double>(p - a) / static_cast<double>(b - a);
      total += (1 - f) * seconds[i] + f * seconds[i + 1];
    }
  }
  return total + seconds.back();
}

struct Row {
  qkv::Index n = 0;
  double cached_total = 0, recompute_total = 0;
  double cached_first = 0, cached_last = 0;  // median us per token, first and last eighth
};

// The median of v[from, to): the typical step of a stretch of positions, whatever a few
// disturbed steps took.
double median_of(const std::vector<double>& v, std::size_t from, std::size_t to) {
  return median(std::vector<double>(v.begin() + static_cast<std::ptrdiff_t>(from),
                                    v.begin() + static_cast<std::ptrdiff_t>(to)));
}

int usage(const char* problem) {
  if (problem) fmt::print(stderr, "qkv_decode_benchmark: error: {}\n\n", problem);
  fmt::print(problem ? stderr : stdout,
             "usage: qkv_decode_benchmark [--reps R] [--max-tokens N] [--clock cpu|wall] "
             "[--out FILE.md] [--csv FILE.csv]\n"
             "  --reps R        runs per measurement, medians reported (1-50, default 5)\n"
             "  --max-tokens N  largest N to run, of 128 256 512 1024 2048 (default 2048)\n"
             "  --clock C       cpu: this thread's CPU time (default), wall: elapsed time\n"
             "  --out FILE      also write the tables as Markdown to FILE\n"
             "  --csv FILE      also write the per-N table as CSV to FILE\n");
  return problem ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv) try {
  int reps = 5;
  qkv::Index max_tokens = 2048;
  std::string out_path, csv_path;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") return usage(nullptr);
    if (i + 1 >= argc) return usage("a flag is missing its value, or unknown");
    const std::string value = argv[++i];
    if (flag == "--reps") {
      char* end = nullptr;
      const long r = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0' || r < 1 || r > 50) return usage("--reps must be a whole number in 1-50");
      reps = static_cast<int>(r);
    } else if (flag == "--max-tokens") {
      char* end = nullptr;
      max_tokens = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0' ||
          std::find(all_sizes.begin(), all_sizes.end(), max_tokens) == all_sizes.end())
        return usage("--max-tokens must be one of 128 256 512 1024 2048");
    } else if (flag == "--clock") {
      if (value != "cpu" && value != "wall") return usage("--clock must be cpu or wall");
      use_wall_clock = value == "wall";
    } else if (flag == "--out") {
      out_path = value;
    } else if (flag == "--csv") {
      csv_path = value;
    } else {
      return usage("unknown flag");
    }
  }

#if defined(__GLIBC__)
  // Keep glibc from returning the big temporaries of the recompute step to the system and
  // faulting them back in on every call (ECOSYSTEM.md: heap trimming around Eigen's
  // buffers): freed memory stays in the heap for the next step.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif

  qkv::Random random(2024);
  const qkv::Matrix x_all = qkv::random_normal(random, max_tokens, d_model);
  const qkv::MultiHeadWeights w = qkv::random_multi_head_weights(random, d_model, heads);
  fmt::print(
      "decode benchmark: one multi-head attention layer, d_model {}, {} heads, fp32, "
      "1 thread; Eigen SIMD: {}; {} runs per measurement, medians of {}\n\n",
      d_model, heads, Eigen::SimdInstructionSetsInUse(), reps, clock_name());

  const auto started = Clock::now();
  time_cached(x_all.topRows(64), w, 1);  // warm up caches, the heap and the CPU clock
  std::vector<Row> rows;
  CachedRun largest;
  std::vector<qkv::Index> largest_positions;
  std::vector<double> largest_recompute;
  for (qkv::Index n : all_sizes) {
    if (n > max_tokens) break;
    const qkv::Matrix x = x_all.topRows(n);
    const CachedRun cached = time_cached(x, w, reps);
    const auto positions = sample_positions(n);
    std::vector<double> recompute;
    for (qkv::Index p : positions) recompute.push_back(time_recompute(x, w, p, reps));
    Row row;
    row.n = n;
    row.cached_total = cached.total;
    row.recompute_total = interpolated_total(positions, recompute);
    const auto eighth = static_cast<std::size_t>(n / 8);
    row.cached_first = median_of(cached.per_token, 0, eighth) * 1e6;
    row.cached_last =
        median_of(cached.per_token, cached.per_token.size() - eighth, cached.per_token.size()) *
        1e6;
    rows.push_back(row);
    fmt::print("N = {:4}: cached {:8.1f} ms, recompute {:9.1f} ms (estimated), {:6.1f}x\n", n,
               row.cached_total * 1e3, row.recompute_total * 1e3,
               row.recompute_total / row.cached_total);
    largest = cached;
    largest_positions = positions;
    largest_recompute = recompute;
  }

  std::string md = fmt::format(
      "Generating N tokens, one layer (d_model {}, {} heads, fp32, 1 thread, Eigen SIMD {}); "
      "{}; per-token medians of {} runs, summed over the N steps; recompute timed at {} "
      "sampled positions and interpolated.\n\n",
      d_model, heads, Eigen::SimdInstructionSetsInUse(), clock_name(), reps,
      largest_positions.size());
  md +=
      "| N | cached total (ms) | recompute total (ms) | speedup | cached us/token, first 1/8 "
      "| cached us/token, last 1/8 |\n"
      "|---:|---:|---:|---:|---:|---:|\n";
  std::string csv =
      "n,cached_total_ms,recompute_total_ms,speedup,cached_us_per_token_first_eighth,"
      "cached_us_per_token_last_eighth\n";
  for (const Row& r : rows) {
    md += fmt::format("| {} | {:.1f} | {:.1f} | {:.1f}x | {:.1f} | {:.1f} |\n", r.n,
                      r.cached_total * 1e3, r.recompute_total * 1e3,
                      r.recompute_total / r.cached_total, r.cached_first, r.cached_last);
    csv += fmt::format("{},{:.3f},{:.3f},{:.2f},{:.2f},{:.2f}\n", r.n, r.cached_total * 1e3,
                       r.recompute_total * 1e3, r.recompute_total / r.cached_total, r.cached_first,
                       r.cached_last);
  }
  md += fmt::format(
      "\nTime per token against position (N = {}): the cached step reads the weights and a "
      "cache that grows by one row per token (its time here: the median over the 16 positions "
      "up to the one shown); the recompute step redoes the keys and values of the whole "
      "prefix.\n\n"
      "| position | cached (us) | recompute (us) | ratio |\n|---:|---:|---:|---:|\n",
      rows.back().n);
  for (std::size_t i = 0; i < largest_positions.size(); ++i) {
    // The cached time at p: the median over the 16 positions up to p (single steps are noisy).
    const auto p = static_cast<std::size_t>(largest_positions[i]);
    const double c = median_of(largest.per_token, p >= 15 ? p - 15 : 0, p + 1) * 1e6;
    const double r = largest_recompute[i] * 1e6;
    md += fmt::format("| {} | {:.1f} | {:.1f} | {:.1f}x |\n", largest_positions[i], c, r, r / c);
  }
  fmt::print("\n{}\nwhole run: {:.1f} s\n", md, seconds_since(started));
  if (!out_path.empty()) qkv::write_file_atomically(out_path, md);
  if (!csv_path.empty()) qkv::write_file_atomically(csv_path, csv);
  return 0;
} catch (const std::exception& error) {
  fmt::print(stderr, "error: {}\n", error.what());
  return 1;
}
