// Decode bandwidth benchmark for chapter 08: one decode step's attention over the KV cache
// (qkv::grouped_decode_attention) for multi-head (32 key/value heads), grouped-query (8) and
// multi-query (1) attention, against this machine's memory bandwidth, all in one run.
//
//   qkv_decode_bandwidth [--max-tokens N] [--reps R] [--triad-mib M] [--rotate-mib M]
//                        [--min-time S] [--md FILE] [--csv FILE] [--json FILE]
//                        [--benchmark_* flags of Google Benchmark]
//
// Rows (impl):
//   decode  one new token (T_new = 1) of 32 query heads of d_head 128 (d_model 4096) against
//           a cache of N = 1024, 4096, 16384 positions with kv_heads 32, 8, 1; 1 and 2 threads
//           (the kernel's own std::threads). Only the attention over the cache is timed: the
//           projections are left out on purpose, because at d_model 4096 the four weight
//           matrices of a layer are 4 x 4096 x 4096 floats = 256 MiB (GQA-8: 160 MiB), read
//           once per token like the cache, and the benchmark would time them instead of the
//           cache (their cost does not depend on N and is the same GEMV in every variant).
//   triad   STREAM's triad a = b + s c on float arrays of --triad-mib MiB each (default: the
//           L3's size and at least 256 MiB, so the three arrays are at least 3 x L3): the copy
//           bandwidth, counted as STREAM does (12 bytes per element: two reads and a write),
//           1 and 2 threads
//   read    the sum of one such array: the bandwidth of a pure read stream, which is what a
//           decode step is (it writes only its few-KiB output)
//   peak    a register-blocked loop of fused multiply-adds (harness.hpp's fma_loop):
//           the FP32 limit, for the roofline
// A real model decodes layer after layer, so a layer's cache is never in a cache of the CPU
// when its turn comes. Here the small caches (MQA at 1k: 512 KiB) would stay in L2 or L3
// from one repetition to the next; so every case cycles through as many independent layers'
// caches as make --rotate-mib (default 4 x the L3 and at least 256 MiB: 8 x L3 on the Zen 5
// machine, 32 MiB of L3; 1920 MiB on the Xeon VM, whose L3 reports 480 MiB) and each call
// decodes the next one.
// Times: Google Benchmark, R repetitions of each case, medians; 1-thread rows by the
// process's CPU time (other processes' time slices do not count), 2-thread rows by wall
// time, as attention_benchmark does. Bytes of a decode step: 2 N kv_heads d_head x 4, keys
// and values read once. Not a test: the machine may be noisy; compare ratios in one run.

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"
#include "qkv/error.hpp"
#include "qkv/files.hpp"
#include "qkv/grouped_query.hpp"
#include "qkv/random.hpp"

namespace {

using qkv::Index;
using qkv::Matrix;

constexpr Index heads = 32, d_head = 128;  // query heads of a Llama-size layer, d_model 4096
constexpr Index bytes_per_float = 4;
const std::vector<Index> model_sizes{1024, 4096, 16384};
const std::vector<Index> kv_variants{32, 8, 1};

std::string variant_name(Index kv_heads) {
  if (kv_heads == heads) return "MHA";
  if (kv_heads == 1) return "MQA";
  return fmt::format("GQA-{}", kv_heads);
}

struct Case {
  std::string impl;  // decode, triad, read, peak
  Index kv_heads = 0, n = 0;
  int threads = 1;
  std::string name() const {
    return fmt::format("{}/kv:{}/N:{}/threads:{}", impl, kv_heads, n, threads);
  }
  // What one call moves: the cache read once (decode), STREAM's count (triad), one array.
  double bytes(Index triad_floats) const {
    const auto floats = static_cast<double>(triad_floats);
    if (impl == "decode") return 2.0 * static_cast<double>(n * kv_heads * d_head * bytes_per_float);
    if (impl == "triad") return 3.0 * floats * bytes_per_float;
    if (impl == "read") return floats * bytes_per_float;
    return 0;
  }
  double flops() const;
};

// The peak: harness.hpp's fma_loop() on every thread.
using qkv::bench::fma_loop_on;
using qkv::bench::on_slices;
using qkv::bench::peak_flops;

double Case::flops() const {
  if (impl == "peak") return peak_flops(threads);
  if (impl == "decode") return 4.0 * static_cast<double>(n * heads * d_head);  // 4 N h d_head
  return 0;
}

// ---- the inputs of one case --------------------------------------------------------------

// Float arrays with the triad's a, b, c; each thread works on its own contiguous slice.
struct StreamArrays {
  explicit StreamArrays(Index floats) : a(floats), b(floats), c(floats) {
    a.setZero();  // touched once here, so that no page fault is timed
    b.setConstant(1.0F);
    c.setConstant(2.0F);
  }
  Eigen::VectorXf a, b, c;
};

// The caches of `layers` layers, one query row per layer.
struct DecodeInputs {
  std::vector<Matrix> q, k, v;
  std::size_t next = 0;
};

// Fills the caches from a pool of random normals (drawing 2 x 10^8 normals one by one would
// take longer than the benchmark): layer l's entry i is pool[(i + 7919 l) mod pool size].
DecodeInputs make_decode_inputs(Index kv_heads, Index n, double rotate_bytes) {
  qkv::Random random(2024);
  const Matrix pool = qkv::random_normal(random, (1 << 20) + 17, 1);
  const double layer_bytes = 2.0 * static_cast<double>(n * kv_heads * d_head * bytes_per_float);
  const auto layers =
      static_cast<std::size_t>(std::max(1.0, std::ceil(rotate_bytes / layer_bytes)));
  DecodeInputs in;
  const auto fill = [&pool](Matrix& m, Index offset) {
    float* data = m.data();
    const Index size = m.size(), p = pool.size();
    for (Index i = 0; i < size; ++i) data[i] = pool((i + offset) % p);
  };
  for (std::size_t l = 0; l < layers; ++l) {
    const auto offset = static_cast<Index>(7919 * (2 * l + 1));
    in.q.push_back(qkv::random_normal(random, 1, heads * d_head));
    in.k.emplace_back(n, kv_heads * d_head);
    in.v.emplace_back(n, kv_heads * d_head);
    fill(in.k.back(), offset);
    fill(in.v.back(), offset + 104729);
  }
  return in;
}

struct Row {
  Case c;
  double seconds = 0, cpu_seconds = 0, spread = 0, bytes = 0, flops = 0;
  // 1 thread: the process's CPU time; more: wall time (see the file comment).
  double fair_seconds() const { return c.threads == 1 && cpu_seconds > 0 ? cpu_seconds : seconds; }
  double gbytes_per_s() const { return bytes / fair_seconds() * 1e-9; }
  double gflops() const { return flops / fair_seconds() * 1e-9; }
};

const Row* find(const std::vector<Row>& rows, const std::string& impl, Index kv_heads, Index n,
                int threads) {
  for (const Row& r : rows)
    if (r.c.impl == impl && r.c.kv_heads == kv_heads && r.c.n == n && r.c.threads == threads)
      return &r;
  return nullptr;
}

std::string percent(double fraction) { return fmt::format("{:.0f}%", 100 * fraction); }

struct Tables {
  std::string md, csv;
  nlohmann::json json = nlohmann::json::array();
};

Tables make_tables(const std::vector<Row>& rows, const std::vector<Index>& sizes) {
  Tables t;
  t.md =
      "| kernel | N | threads | us/token | cache read (MiB) | GB/s | of triad | of read | GFLOP/s "
      "| of peak | spread |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  t.csv =
      "impl,variant,kv_heads,N,threads,seconds,cpu_seconds,bytes,gbytes_per_s,fraction_of_triad,"
      "gflops,fraction_of_peak,spread\n";
  for (const Row& r : rows) {
    const Row* triad = find(rows, "triad", 0, 0, r.c.threads);
    const Row* read = find(rows, "read", 0, 0, r.c.threads);
    const Row* peak = find(rows, "peak", 0, 0, r.c.threads);
    const bool decode = r.c.impl == "decode";
    const double of_triad = triad && r.bytes > 0 ? r.gbytes_per_s() / triad->gbytes_per_s() : 0;
    const double of_read = read && r.bytes > 0 ? r.gbytes_per_s() / read->gbytes_per_s() : 0;
    const double of_peak = peak && r.flops > 0 ? r.gflops() / peak->gflops() : 0;
    const std::string name =
        decode ? fmt::format("{} (kv {})", variant_name(r.c.kv_heads), r.c.kv_heads) : r.c.impl;
    t.md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0f}% |\n", name,
                        decode ? std::to_string(r.c.n) : "", r.c.threads,
                        decode ? fmt::format("{:.1f}", r.fair_seconds() * 1e6) : "",
                        r.bytes > 0 ? fmt::format("{:.1f}", r.bytes / 1048576) : "",
                        r.bytes > 0 ? fmt::format("{:.1f}", r.gbytes_per_s()) : "",
                        decode ? percent(of_triad) : "", decode ? percent(of_read) : "",
                        r.flops > 0 ? fmt::format("{:.1f}", r.gflops()) : "",
                        decode ? percent(of_peak) : "", 100 * r.spread);
    t.csv +=
        fmt::format("{},{},{},{},{},{:.6g},{:.6g},{:.0f},{:.4g},{:.4g},{:.4g},{:.4g},{:.3f}\n",
                    r.c.impl, decode ? variant_name(r.c.kv_heads) : r.c.impl, r.c.kv_heads, r.c.n,
                    r.c.threads, r.seconds, r.cpu_seconds, r.bytes,
                    r.bytes > 0 ? r.gbytes_per_s() : 0, of_triad, r.gflops(), of_peak, r.spread);
    t.json.push_back({{"impl", r.c.impl},
                      {"variant", decode ? variant_name(r.c.kv_heads) : r.c.impl},
                      {"heads", decode ? heads : 0},
                      {"kv_heads", r.c.kv_heads},
                      {"d_head", decode ? d_head : 0},
                      {"N", r.c.n},
                      {"threads", r.c.threads},
                      {"seconds", r.seconds},
                      {"cpu_seconds", r.cpu_seconds},
                      {"bytes", r.bytes},
                      {"gbytes_per_s", r.bytes > 0 ? r.gbytes_per_s() : 0},
                      {"fraction_of_triad", of_triad},
                      {"gflops", r.gflops()},
                      {"fraction_of_peak", of_peak},
                      {"spread", r.spread}});
  }

  // The targets of issue 13 (benchmark section), at the largest N of this run.
  const Index n = sizes.back();
  std::string targets = "| target | measured | met |\n|---|---|---|\n";
  const auto line = [&targets](const std::string& what, const Row* a, const Row* b,
                               double threshold, bool time_ratio) {
    if (!a || !b) {
      targets += fmt::format("| {} | not measured | |\n", what);
      return;
    }
    const double value =
        time_ratio ? a->fair_seconds() / b->fair_seconds() : a->gbytes_per_s() / b->gbytes_per_s();
    targets += fmt::format("| {} | {} | {} |\n", what,
                           time_ratio ? fmt::format("{:.2f}x", value) : percent(value),
                           value >= threshold ? "yes" : "no");
  };
  for (int threads : {1, 2}) {
    const Row* mha = find(rows, "decode", heads, n, threads);
    const Row* gqa = find(rows, "decode", 8, n, threads);
    const Row* mqa = find(rows, "decode", 1, n, threads);
    line(fmt::format("GQA-8 >= 3x faster than MHA, N {}, {} thread(s)", n, threads), mha, gqa, 3,
         true);
    line(fmt::format("MQA >= 1.5x faster than GQA-8, N {}, {} thread(s)", n, threads), gqa, mqa,
         1.5, true);
    line(fmt::format("MHA >= 60% of the triad's bandwidth, N {}, {} thread(s)", n, threads), mha,
         find(rows, "triad", 0, 0, threads), 0.6, false);
  }
  // The roofline: FLOPs per byte of cache, h / (2 kv_heads), against the machine's balance.
  const Row* peak = find(rows, "peak", 0, 0, 1);
  const Row* triad = find(rows, "triad", 0, 0, 1);
  std::string roofline;
  if (peak && triad) {
    const double flops = 4.0 * static_cast<double>(n * heads * d_head);
    const auto intensity = [](Index kv) {
      return static_cast<double>(heads) / (2.0 * static_cast<double>(kv));
    };
    const auto bound_us = [&](Index kv) {
      const double bytes = 2.0 * static_cast<double>(n * kv * d_head * bytes_per_float);
      return std::max(flops / (peak->gflops() * 1e3), bytes / (triad->gbytes_per_s() * 1e3));
    };
    roofline = fmt::format(
        "\nRoofline, 1 thread: the peak {:.0f} GFLOP/s over the triad's {:.1f} GB/s is a balance "
        "point of {:.1f} FLOP/byte. A decode step does 4 N h d_head FLOPs on 2 N kv_heads d_head "
        "x 4 bytes: {:.1f} FLOP/byte for MHA, {:.1f} for GQA-8 and {:.1f} for MQA. Below the "
        "balance point a step is bound by memory, above it by arithmetic: at N {} the lower "
        "bounds max(FLOPs / peak, bytes / triad bandwidth) are {:.0f} us (MHA), {:.0f} us "
        "(GQA-8) and {:.0f} us (MQA).\n",
        peak->gflops(), triad->gbytes_per_s(), peak->gflops() / triad->gbytes_per_s(),
        intensity(32), intensity(8), intensity(1), n, bound_us(32), bound_us(8), bound_us(1));
  }
  t.md += "\nTargets (issue 13, benchmark section):\n\n" + targets + roofline;
  return t;
}

}  // namespace

int main(int argc, char** argv) try {
  Eigen::setNbThreads(1);  // Eigen's products on one thread; the kernel's threads are its own
  // Freed memory stays in the heap: no fresh page faults for the kernel's per-call buffers.
  qkv::bench::keep_freed_memory();
  CLI::App app(
      "qkv_decode_bandwidth: decode attention over the KV cache, MHA / GQA / MQA, "
      "against the memory bandwidth (chapter 08)");
  // Memory sizes relative to the last-level cache (Eigen reads it from CPUID), so that neither
  // the triad nor a decode step is served from L3, whatever the machine.
  const Index l3_mib = std::max<Index>(1, Eigen::l3CacheSize() / 1048576);
  Index max_tokens = 16384, triad_mib = std::max<Index>(256, l3_mib),
        rotate_mib = std::max<Index>(256, 4 * l3_mib);
  int reps = 5;
  double min_time = 0.1;
  std::string md_path, csv_path, json_path;
  app.add_option("--max-tokens", max_tokens,
                 "largest N, of 1024 4096 16384 (default 16384); below 1024: N alone, for a "
                 "smoke run")
      ->check(CLI::Range(Index{1}, Index{16384}));
  app.add_option("--reps", reps, "repetitions per case, medians reported (default 5)")
      ->check(CLI::Range(1, 50));
  app.add_option(
         "--triad-mib", triad_mib,
         fmt::format("MiB per triad array (default: the L3, at least 256; here {})", triad_mib))
      ->check(CLI::Range(Index{1}, Index{8192}));
  app.add_option("--rotate-mib", rotate_mib,
                 fmt::format("MiB of layers' caches each case cycles through (default: 4 x the "
                             "L3, at least 256; here {})",
                             rotate_mib))
      ->check(CLI::Range(Index{0}, Index{16384}));
  app.add_option("--min-time", min_time,
                 "seconds each repetition runs at least (default 0.1; smoke runs: less)")
      ->check(CLI::Range(0.001, 10.0));
  app.add_option("--md,--out", md_path, "also write the tables as Markdown to FILE");
  app.add_option("--csv", csv_path, "also write the rows as CSV to FILE");
  app.add_option("--json", json_path, "also write the rows as a JSON list to FILE");
  if (const auto exit_code = qkv::bench::parse_flags(app, argc, argv)) return *exit_code;

  std::vector<Index> sizes;
  for (Index n : model_sizes)
    if (n <= max_tokens) sizes.push_back(n);
  if (sizes.empty()) sizes.push_back(max_tokens);
  const Index triad_floats = triad_mib * 1048576 / bytes_per_float;

  std::vector<Case> cases;
  for (int threads : {1, 2}) {
    cases.push_back({"peak", 0, 0, threads});
    cases.push_back({"triad", 0, 0, threads});
    cases.push_back({"read", 0, 0, threads});
  }
  for (Index n : sizes)
    for (Index kv : kv_variants)
      for (int threads : {1, 2}) cases.push_back({"decode", kv, n, threads});

  // The inputs of the case running now, kept while the next case needs the same ones (the
  // 1- and 2-thread cases of one cache), freed before the next are made.
  std::string inputs_key;
  std::unique_ptr<DecodeInputs> decode_inputs;
  std::unique_ptr<StreamArrays> arrays;
  for (const Case& c : cases) {
    benchmark::RegisterBenchmark(
        c.name().c_str(),
        [&, c](benchmark::State& state) {
          const std::string key = c.impl == "decode" ? fmt::format("{}/{}", c.kv_heads, c.n)
                                                     : (c.impl == "peak" ? "" : "arrays");
          if (key != inputs_key) {
            decode_inputs.reset();
            arrays.reset();
            if (c.impl == "decode")
              decode_inputs = std::make_unique<DecodeInputs>(
                  make_decode_inputs(c.kv_heads, c.n, static_cast<double>(rotate_mib) * 1048576));
            else if (!key.empty())
              arrays = std::make_unique<StreamArrays>(triad_floats);
            inputs_key = key;
          }
          for (auto _ : state) {
            if (c.impl == "decode") {
              DecodeInputs& in = *decode_inputs;
              const std::size_t l = in.next;
              in.next = (l + 1) % in.k.size();
              Matrix out = qkv::grouped_decode_attention(in.q[l], in.k[l], in.v[l], heads,
                                                         c.kv_heads, c.threads);
              benchmark::DoNotOptimize(out.data());
            } else if (c.impl == "triad") {
              StreamArrays& s = *arrays;
              on_slices(triad_floats, c.threads, [&s](std::size_t, Index first, Index count) {
                s.a.segment(first, count) =
                    s.b.segment(first, count) + 3.0F * s.c.segment(first, count);
              });
              benchmark::DoNotOptimize(s.a.data());
              benchmark::ClobberMemory();
            } else if (c.impl == "read") {
              StreamArrays& s = *arrays;
              std::vector<float> sums(static_cast<std::size_t>(c.threads));
              on_slices(triad_floats, c.threads,
                        [&s, &sums](std::size_t t, Index first, Index count) {
                          sums[t] = s.b.segment(first, count).sum();
                        });
              benchmark::DoNotOptimize(sums.data());
            } else {  // peak
              float sum = fma_loop_on(c.threads);
              benchmark::DoNotOptimize(sum);
            }
          }
        })
        ->Repetitions(reps)
        ->UseRealTime()
        ->MeasureProcessCPUTime()
        ->Unit(benchmark::kMicrosecond)
        ->MinTime(min_time);
  }
  qkv::bench::CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  decode_inputs.reset();
  arrays.reset();

  std::vector<Row> rows;
  for (const Case& c : cases) {
    const auto timing = reporter.timing(c.name());
    if (!timing) continue;  // filtered out by --benchmark_filter
    Row r{c};
    r.seconds = timing->seconds;
    r.cpu_seconds = timing->cpu_seconds;
    r.spread = timing->spread;
    r.bytes = c.bytes(triad_floats);
    r.flops = c.flops();
    rows.push_back(r);
  }
  Tables tables = make_tables(rows, sizes);
  const std::string md =
      fmt::format(
          "Decode attention over the KV cache, one new token, {} query heads of d_head {} "
          "(d_model 4096), fp32 (Eigen SIMD: {}); medians of {} repetitions (Google "
          "Benchmark), one run; 1-thread rows by the process's CPU time, 2-thread rows by wall "
          "time. Only the attention over the cache is timed (qkv::grouped_decode_attention): "
          "the four projections are left out because at d_model 4096 their weights are "
          "256 MiB per layer (GQA-8: 160 MiB, MQA: 132 MiB), read once per token like the cache, "
          "and would be timed instead of it. Each case cycles through {} MiB of layers' caches "
          "(L3: {} MiB), so no cache is in L3 when its step comes, as in a model with many "
          "layers. \"GB/s\": "
          "bytes of cache read (2 N kv_heads d_head x 4) per second; \"of triad\": against "
          "STREAM's triad a = b + 3 c on arrays of {} MiB (12 bytes per element), same thread "
          "count; \"of read\": against summing one such array; \"of peak\": against the FMA "
          "loop's rate, same threads. \"spread\": (slowest - fastest) / median of the wall "
          "times.\n\n",
          heads, d_head, Eigen::SimdInstructionSetsInUse(), reps, rotate_mib, l3_mib, triad_mib) +
      tables.md;
  fmt::print("\n{}", md);
  if (!md_path.empty()) qkv::write_file_atomically(md_path, md);
  if (!csv_path.empty()) qkv::write_file_atomically(csv_path, tables.csv);
  if (!json_path.empty()) qkv::write_file_atomically(json_path, tables.json.dump(1) + "\n");
  return 0;
} catch (const std::exception& error) {
  fmt::print(stderr, "qkv_decode_bandwidth: error: {}\n", error.what());
  return 1;
}
