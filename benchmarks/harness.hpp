#pragma once
// What both benchmarks share: their own flags parsed by CLI11, every --benchmark_* flag handed
// on to Google Benchmark; and the loop that measures this machine's FP32 FMA peak.

#include <benchmark/benchmark.h>
#include <Eigen/Core>

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
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
