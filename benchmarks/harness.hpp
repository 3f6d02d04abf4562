#pragma once
// What the benchmarks share: their own flags parsed by CLI11, every --benchmark_* flag handed
// on to Google Benchmark; the loop that measures this machine's FP32 FMA peak; work split over
// std::threads; a heap that keeps freed memory; and the medians of Google Benchmark's
// repetitions.

#include <benchmark/benchmark.h>
#include <Eigen/Core>

#include <CLI/CLI.hpp>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <algorithm>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace qkv::bench {

// ---- the peak: independent chains of fused multiply-adds, held in registers ---------------

using Packet = Eigen::internal::packet_traits<float>::type;
/// Floats per packet: 16 with AVX-512, 8 with AVX2, 4 with SSE2.
constexpr int packet_floats = Eigen::internal::unpacket_traits<Packet>::size;
/// At least FMA latency x FMA pipes (4 x 2 on Zen 3, 4 and 5) chains, so that the pipes never
/// wait, and few enough to fit the registers with the two operands: 12 + 2 of AVX2's 16 (16
/// chains spill there: ~58 instead of ~100 GFLOP/s on Zen 3), 16 + 2 of AVX-512's 32. On the
/// Zen 5 machine 8, 12 and 16 chains of 512-bit FMAs all ran at ~235 GFLOP/s (64 FLOPs per
/// cycle), and 24 at half that, though g++ kept all 24 in registers.
constexpr int peak_chains = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS >= 32 ? 16 : 12;
constexpr long long peak_steps = 1 << 22;

/// Runs peak_steps x peak_chains FMAs on packet_floats lanes; returns the sum so that nothing
/// is optimized away.
inline float fma_loop() {
  using namespace Eigen::internal;
  Packet acc[peak_chains];
  for (int c = 0; c < peak_chains; ++c) acc[c] = pset1<Packet>(static_cast<float>(c) * 1e-3F);
  const Packet a = pset1<Packet>(0.999999F), b = pset1<Packet>(1e-6F);
  for (long long s = 0; s < peak_steps; ++s)
    for (auto& x : acc) x = pmadd(x, a, b);
  Packet sum = acc[0];
  for (int c = 1; c < peak_chains; ++c) sum = padd(sum, acc[c]);
  return predux(sum);
}

/// The FLOPs of fma_loop() on each of `threads` threads.
inline double peak_flops(int threads) {
  return static_cast<double>(threads) * peak_steps * peak_chains * packet_floats * 2.0;
}

/// Runs body(t, first, count) on `threads` std::threads (this one is thread 0), thread t on
/// the slice [first, first + count) of [0, size).
template <typename Body>
void on_slices(Eigen::Index size, int threads, Body body) {
  std::vector<std::thread> others;
  const auto slice = [&](int t) {
    const Eigen::Index first = size * t / threads, last = size * (t + 1) / threads;
    body(static_cast<std::size_t>(t), first, last - first);
  };
  for (int t = 1; t < threads; ++t) others.emplace_back(slice, t);
  slice(0);
  for (auto& thread : others) thread.join();
}

/// fma_loop() on each of `threads` threads at once (peak_flops(threads) FLOPs); returns
/// thread 0's sum.
inline float fma_loop_on(int threads) {
  std::vector<float> results(static_cast<std::size_t>(threads));
  on_slices(threads, threads,
            [&results](std::size_t t, Eigen::Index, Eigen::Index) { results[t] = fma_loop(); });
  return results[0];
}

/// Keeps glibc from giving freed memory back to the kernel (blocks up to `mmap_threshold`
/// bytes come from the heap, which is never trimmed): otherwise every call that allocates
/// large temporaries pays their page faults again (about 100 ms per 64 MiB on the Zen 3 VM),
/// which a long-running program does not (ECOSYSTEM.md: heap trimming around Eigen's buffers).
inline void keep_freed_memory(int mmap_threshold = 1 << 30) {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, mmap_threshold);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#else
  (void)mmap_threshold;
#endif
}

/// The median of `values` (the mean of the middle two for an even count).
inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

/// One case's repetitions, summarised.
struct Timing {
  double seconds = 0;      ///< median wall-clock seconds per iteration
  double cpu_seconds = 0;  ///< median CPU seconds per iteration (the process's with
                           ///< MeasureProcessCPUTime(), else this thread's)
  double spread = 0;       ///< (slowest - fastest) / median wall time: the run's noise
};

/// Prints what Google Benchmark prints (the aggregates) and keeps every repetition's times.
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    std::vector<Run> shown;
    for (const Run& run : runs) {
      const auto iterations = static_cast<double>(run.iterations);
      if (run.run_type == Run::RT_Iteration && !run.error_occurred) {
        seconds_[run.run_name.function_name].push_back(run.real_accumulated_time / iterations);
        cpu_seconds_[run.run_name.function_name].push_back(run.cpu_accumulated_time / iterations);
      } else {
        shown.push_back(run);
      }
    }
    if (!shown.empty()) ConsoleReporter::ReportRuns(shown);
  }
  /// The medians of the case `name`; std::nullopt when it did not run (--benchmark_filter).
  std::optional<Timing> timing(const std::string& name) const {
    const auto wall = seconds_.find(name);
    if (wall == seconds_.end()) return std::nullopt;
    Timing t;
    t.seconds = median(wall->second);
    t.cpu_seconds = median(cpu_seconds_.at(name));
    const auto [lo, hi] = std::minmax_element(wall->second.begin(), wall->second.end());
    t.spread = (*hi - *lo) / t.seconds;
    return t;
  }

 private:
  std::map<std::string, std::vector<double>> seconds_, cpu_seconds_;  // per case name
};

/// Parses argv with `app` (which must allow extras) and gives what it leaves to Google
/// Benchmark. Returns the exit code when the program should stop now: 0 after --help, 2 after
/// a bad flag of either parser; std::nullopt when it should run.
inline std::optional<int> parse_flags(CLI::App& app, int argc, char** argv) {
  app.allow_extras();  // --benchmark_* go to Google Benchmark
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  std::vector<std::string> extras = app.remaining();
  std::vector<char*> benchmark_argv{argv[0]};
  for (auto& extra : extras) benchmark_argv.push_back(extra.data());
  int benchmark_argc = static_cast<int>(benchmark_argv.size());
  benchmark::Initialize(&benchmark_argc, benchmark_argv.data());
  if (benchmark::ReportUnrecognizedArguments(benchmark_argc, benchmark_argv.data())) return 2;
  return std::nullopt;
}

}  // namespace qkv::bench
