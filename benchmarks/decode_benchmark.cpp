// Decoding benchmark for chapter 06: generating N tokens with a KV cache against
// recomputing the keys and values of the whole prefix at every step, for one layer of
// multi-head attention (d_model 512, 8 heads) and N = 128, 256, 512, 1024, 2048.
//
//   qkv_decode_benchmark [--reps R] [--max-tokens N] [--clock cpu|wall] [--out FILE.md]
//                        [--csv FILE.csv] [--benchmark_* flags of Google Benchmark]
//
// What is measured, all in one run, single-threaded, on Google Benchmark (R repetitions
// of each case, medians reported):
// - cached/N: all N tokens decoded one per step from position 0 (qkv::decode_step with a
//   qkv::KvCache of capacity N, allocated once and reset between runs).
// - cached_step/p: one cached step at position p, the cache holding the p earlier tokens
//   (refilled outside the timing before each step).
// - recompute/p: the step for the token at position p recomputes the keys and values of
//   tokens 0..p (qkv::recompute_step). That costs O(p) per token and all 2048 steps would
//   take minutes, so it is timed at sampled positions only, and the total over N steps is
//   estimated by linear interpolation between the samples (the cost is linear in the
//   position, so the estimate is close).
// Times are the CPU time of this thread unless --clock wall: on a shared machine, wall time
// also counts other processes' time slices, which hit the long recompute steps far more
// often than the short cached ones. Medians, not means: a run that another process
// disturbs should not count. The speedup is recompute total / cached total, both from the
// same run. Not a test: the machine may be noisy, so compare ratios, not absolute times, and
// rerun when in doubt.

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "harness.hpp"
#include "qkv/error.hpp"
#include "qkv/files.hpp"
#include "qkv/kv_cache.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"

namespace {

constexpr qkv::Index d_model = 512;
constexpr qkv::Index heads = 8;
const std::vector<qkv::Index> all_sizes{128, 256, 512, 1024, 2048};

// The positions at which the recompute step is timed for N tokens.
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

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app("qkv_decode_benchmark: cached decoding against recomputing the prefix (chapter 06)");
  int reps = 5;
  qkv::Index max_tokens = 2048;
  std::string clock = "cpu", out_path, csv_path;
  app.add_option("--reps", reps, "runs per measurement, medians reported (1-50, default 5)")
      ->check(CLI::Range(1, 50));
  app.add_option("--max-tokens", max_tokens,
                 "largest N to run, of 128 256 512 1024 2048 (default 2048)")
      ->check(CLI::IsMember(all_sizes));
  app.add_option("--clock", clock, "cpu: this thread's CPU time (default), wall: elapsed time")
      ->check(CLI::IsMember({"cpu", "wall"}));
  app.add_option("--out", out_path, "also write the tables as Markdown to FILE");
  app.add_option("--csv", csv_path, "also write the per-N table as CSV to FILE");
  if (const auto exit_code = qkv::bench::parse_flags(app, argc, argv)) return *exit_code;
  const bool wall = clock == "wall";
  const char* clock_name = wall ? "wall time" : "thread CPU time";

  // The big temporaries of the recompute step stay in the heap for the next step.
  qkv::bench::keep_freed_memory(256 << 20);
  Eigen::setNbThreads(1);  // one thread, also in the fast build (OpenMP)

  qkv::Random random(2024);
  const qkv::Matrix x_all = qkv::random_normal(random, max_tokens, d_model);
  const qkv::MultiHeadWeights w = qkv::random_multi_head_weights(random, d_model, heads);
  const qkv::Matrix k_all = x_all * w.w_k, v_all = x_all * w.w_v;
  fmt::print(
      "decode benchmark: one multi-head attention layer, d_model {}, {} heads, fp32, "
      "1 thread; Eigen SIMD: {}; {} runs per measurement, medians of {}\n\n",
      d_model, heads, Eigen::SimdInstructionSetsInUse(), reps, clock_name);
  const auto started = std::chrono::steady_clock::now();

  std::vector<qkv::Index> sizes;
  std::set<qkv::Index> recompute_positions, step_positions;
  for (qkv::Index n : all_sizes) {
    if (n > max_tokens) break;
    sizes.push_back(n);
    for (qkv::Index p : sample_positions(n)) recompute_positions.insert(p);
    step_positions.insert({n / 16, n - 1 - n / 16});
  }
  for (qkv::Index p : sample_positions(sizes.back())) step_positions.insert(p);

  auto add = [reps](const std::string& name, auto body, benchmark::IterationCount iterations) {
    benchmark::RegisterBenchmark(name.c_str(), body)
        ->Repetitions(reps)
        ->Iterations(iterations)
        ->Unit(benchmark::kMicrosecond);
  };
  for (qkv::Index n : sizes) {
    add(
        fmt::format("cached/{}", n),
        [&, n](benchmark::State& state) {
          qkv::KvCache cache(n, d_model);
          qkv::Matrix row(1, d_model), out(1, d_model);
          for (auto _ : state) {
            cache.reset();
            for (qkv::Index t = 0; t < n; ++t) {
              row = x_all.row(t);
              out = qkv::decode_step(row, w, cache);
            }
            benchmark::DoNotOptimize(out.data());
          }
        },
        1);
  }
  for (qkv::Index p : step_positions) {
    add(
        fmt::format("cached_step/{}", p),
        [&, p](benchmark::State& state) {
          qkv::KvCache cache(p + 1, d_model);
          const qkv::Matrix row = x_all.row(p);
          qkv::Matrix out(1, d_model);
          for (auto _ : state) {
            state.PauseTiming();
            cache.reset();
            if (p > 0) cache.append(k_all.topRows(p), v_all.topRows(p));
            state.ResumeTiming();
            out = qkv::decode_step(row, w, cache);
            benchmark::DoNotOptimize(out.data());
          }
        },
        16);
  }
  for (qkv::Index p : recompute_positions) {
    add(
        fmt::format("recompute/{}", p),
        [&, p](benchmark::State& state) {
          const qkv::Matrix prefix = x_all.topRows(p + 1);  // copied once, outside the timing
          qkv::Matrix out(1, d_model);
          for (auto _ : state) {
            out = qkv::recompute_step(prefix, w);
            benchmark::DoNotOptimize(out.data());
          }
        },
        1);
  }
  qkv::bench::CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  auto seconds = [&reporter, wall](const std::string& name) {
    const auto timing = reporter.timing(name);
    if (!timing)
      throw qkv::Error("qkv_decode_benchmark: " + name + " was not run (--benchmark_filter?)");
    return wall ? timing->seconds : timing->cpu_seconds;
  };

  std::string md = fmt::format(
      "Generating N tokens, one layer (d_model {}, {} heads, fp32, 1 thread, Eigen SIMD {}); "
      "{}; medians of {} runs (Google Benchmark); recompute timed at {} sampled positions "
      "and interpolated.\n\n",
      d_model, heads, Eigen::SimdInstructionSetsInUse(), clock_name, reps,
      sample_positions(sizes.back()).size());
  md +=
      "| N | cached total (ms) | recompute total (ms) | speedup | cached us/token at N/16 "
      "| cached us/token at 15N/16 |\n"
      "|---:|---:|---:|---:|---:|---:|\n";
  std::string csv =
      "n,cached_total_ms,recompute_total_ms,speedup,cached_us_per_token_at_n_16,"
      "cached_us_per_token_at_15n_16\n";
  fmt::print("\n");
  for (qkv::Index n : sizes) {
    const double cached = seconds(fmt::format("cached/{}", n));
    std::vector<double> recompute;
    const auto positions = sample_positions(n);
    for (qkv::Index p : positions) recompute.push_back(seconds(fmt::format("recompute/{}", p)));
    const double recomputed = interpolated_total(positions, recompute);
    const double first = seconds(fmt::format("cached_step/{}", n / 16)) * 1e6;
    const double last = seconds(fmt::format("cached_step/{}", n - 1 - n / 16)) * 1e6;
    fmt::print("N = {:4}: cached {:8.1f} ms, recompute {:9.1f} ms (estimated), {:6.1f}x\n", n,
               cached * 1e3, recomputed * 1e3, recomputed / cached);
    md += fmt::format("| {} | {:.1f} | {:.1f} | {:.1f}x | {:.1f} | {:.1f} |\n", n, cached * 1e3,
                      recomputed * 1e3, recomputed / cached, first, last);
    csv += fmt::format("{},{:.3f},{:.3f},{:.2f},{:.2f},{:.2f}\n", n, cached * 1e3, recomputed * 1e3,
                       recomputed / cached, first, last);
  }
  md += fmt::format(
      "\nTime per token against position (N = {}): the cached step reads the weights and a "
      "cache that grows by one row per token; the recompute step redoes the keys and values of "
      "the whole prefix.\n\n"
      "| position | cached (us) | recompute (us) | ratio |\n|---:|---:|---:|---:|\n",
      sizes.back());
  for (qkv::Index p : sample_positions(sizes.back())) {
    const double c = seconds(fmt::format("cached_step/{}", p)) * 1e6;
    const double r = seconds(fmt::format("recompute/{}", p)) * 1e6;
    md += fmt::format("| {} | {:.1f} | {:.1f} | {:.1f}x |\n", p, c, r, r / c);
  }
  fmt::print("\n{}\nwhole run: {:.1f} s\n", md,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (!out_path.empty()) qkv::write_file_atomically(out_path, md);
  if (!csv_path.empty()) qkv::write_file_atomically(csv_path, csv);
  return 0;
} catch (const std::exception& error) {
  fmt::print(stderr, "error: {}\n", error.what());
  return 1;
}
