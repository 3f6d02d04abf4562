// Attention benchmark for chapter 09: every way qkv computes softmax(Q K^T / sqrt(d)) V,
// against the products it is made of, this machine's FP32 peak and the peers a user would
// pick instead, all in one run. Build it with the fast preset (README, "The fast build").
//
//   qkv_attention_benchmark [--max-tokens N] [--reps R] [--peers FILE.json] [--json FILE]
//                           [--md FILE] [--csv FILE] [--benchmark_* flags of Google Benchmark]
//
// Rows (impl), d_head 64, T = 512 .. 16384:
//   naive   chapter 09's loop_attention (plain loops; T <= 1024, it is slow)
//   matrix  qkv::attention, the matrix form chapters 03-08 call (causal: with causal_mask)
//   tiled   qkv::tiled_attention, online softmax over blocks, 1 and 2 threads, causal and not
//   gemm    the two Eigen products of the same FLOPs, S = Q K^T and O = S V, into buffers
//           allocated once: the rate the matrix form is measured against
//   peak    a register-blocked loop of fused multiply-adds on Eigen's widest float packet:
//           this machine's FP32 limit, 1 and 2 threads
//   mha     qkv::multi_head_attention, T 512 and 2048, d_model 512, 8 heads (it returns every
//           head's T x T weights, as torch's need_weights=True returns their average)
//   tiled_mha  qkv::tiled_multi_head_attention, the same layer's output only, each head by the
//           tiled kernel (as torch's need_weights=False)
// and, from --peers (scripts/bench_torch.py, run by scripts/run-benchmarks.sh), torch_mha,
// torch2_mha, torch2_sdpa. Times are wall-clock medians of R repetitions (Google Benchmark);
// "spread" is (slowest - fastest) / median over them, the noise of the run. FLOPs: 4 T^2 d
// per attention, 2 T (T + 1) d causal (the pairs a query may see). Peak resident memory:
// each case once more in a fresh child process (this program, --rss-child), the child's
// VmHWM (what getrusage's ru_maxrss would be, were it not inherited across fork and exec); it
// includes the process itself (the "none" row: inputs only). glibc keeps freed memory in the
// heap (mallopt), so repeated calls are not charged fresh page faults each time.
// Eigen's own products run on 1 thread (Eigen::setNbThreads(1)); threads > 1 only where the
// row says so. Not a test: the machine may be noisy; compare ratios measured in the same run.

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"
#include "loops.hpp"  // chapter 09's loop_attention
#include "qkv/attention.hpp"
#include "qkv/fast_attention.hpp"
#include "qkv/files.hpp"
#include "qkv/masking.hpp"
#include "qkv/multi_head.hpp"
#include "qkv/random.hpp"
#include "qkv/subprocess.hpp"

namespace {

using qkv::Index;
using qkv::Matrix;

constexpr Index d_head = 64;
constexpr Index mha_d_model = 512, mha_heads = 8;  // the mha rows: d_model 512, 8 heads of 64
const std::vector<Index> all_sizes{512, 1024, 2048, 4096, 8192, 16384};

struct Case {
  std::string impl;
  Index t = 0;
  int threads = 1;
  bool causal = false;
  std::string name() const {
    return fmt::format("{}/T:{}/threads:{}/causal:{}", impl, t, threads, causal ? 1 : 0);
  }
  // mha, tiled_mha, torch_mha and torch2_mha: a whole layer of d_model, not one head.
  bool is_layer() const { return impl.ends_with("mha"); }
  Index width() const { return is_layer() ? mha_d_model : d_head; }
  double flops() const {
    const auto tt = static_cast<double>(t), d = static_cast<double>(d_head);
    if (impl == "peak") return 0;  // counted by the loop itself
    if (is_layer()) {
      const auto dm = static_cast<double>(mha_d_model);
      return 4 * 2 * tt * dm * dm + 4 * tt * tt * dm;  // four projections, h heads of T x d_head
    }
    return causal ? 2 * tt * (tt + 1) * d : 4 * tt * tt * d;
  }
};

struct Row {
  explicit Row(Case measured) : c(std::move(measured)) {}
  Case c;
  double seconds = 0, cpu_seconds = 0, spread = 0, gflops = 0, flops = 0;
  // The time that compares best on a shared machine: on one thread the CPU time of the
  // process, which other processes' time slices do not inflate; on more, the wall-clock time.
  double fair_seconds() const { return c.threads == 1 && cpu_seconds > 0 ? cpu_seconds : seconds; }
  double fair_gflops() const { return flops / fair_seconds() * 1e-9; }
  long long peak_rss_bytes = 0;
  std::string note;  // peers: their version and BLAS
};

// The peak: harness.hpp's fma_loop() on every thread.
using qkv::bench::fma_loop_on;
using qkv::bench::peak_flops;

// ---- the work of one case --------------------------------------------------------------------

struct Inputs {
  Matrix q, k, v, x;
  qkv::MultiHeadWeights w;
  std::optional<qkv::Mask> mask;
  Matrix scores, output;  // the gemm rows' buffers
};

Inputs make_inputs(const Case& c) {
  qkv::Random random(2024);
  Inputs in;
  if (c.is_layer()) {
    in.x = qkv::random_normal(random, c.t, mha_d_model);
    in.w = qkv::random_multi_head_weights(random, mha_d_model, mha_heads);
    return in;
  }
  if (c.impl == "peak") return in;
  in.q = qkv::random_normal(random, c.t, d_head);
  in.k = qkv::random_normal(random, c.t, d_head);
  in.v = qkv::random_normal(random, c.t, d_head);
  if (c.impl == "matrix" && c.causal) in.mask = qkv::causal_mask(c.t);
  if (c.impl == "gemm") {
    in.scores.resize(c.t, c.t);
    in.output.resize(c.t, d_head);
  }
  return in;
}

// One run of the case; returns something computed, for benchmark::DoNotOptimize.
float run_case(const Case& c, Inputs& in) {
  if (c.impl == "none") return 0;
  if (c.impl == "naive") return loop_attention(in.q, in.k, in.v, c.causal)(0, 0);
  if (c.impl == "matrix") return qkv::attention(in.q, in.k, in.v, in.mask)(0, 0);
  if (c.impl == "tiled") {
    qkv::TiledAttentionOptions options;
    options.causal = c.causal;
    options.threads = c.threads;
    return qkv::tiled_attention(in.q, in.k, in.v, options).output(0, 0);
  }
  if (c.impl == "gemm") {
    in.scores.noalias() = in.q * in.k.transpose();
    in.output.noalias() = in.scores * in.v;
    return in.output(0, 0);
  }
  if (c.impl == "mha") return qkv::multi_head_attention(in.x, in.w).output(0, 0);
  if (c.impl == "tiled_mha") return qkv::tiled_multi_head_attention(in.x, in.w)(0, 0);
  if (c.impl == "peak") return fma_loop_on(c.threads);
  throw qkv::ValueError("attention_benchmark: unknown impl " + c.impl);
}

std::vector<Case> all_cases(Index max_tokens) {
  std::vector<Case> cases;
  cases.push_back({"peak", 0, 1, false});
  cases.push_back({"peak", 0, 2, false});
  for (Index t : all_sizes) {
    if (t > max_tokens) break;
    if (t <= 1024) cases.push_back({"naive", t, 1, false});
    cases.push_back({"gemm", t, 1, false});
    cases.push_back({"matrix", t, 1, false});
    if (t <= 4096) cases.push_back({"matrix", t, 1, true});
    for (int threads : {1, 2})
      for (bool causal : {false, true}) cases.push_back({"tiled", t, threads, causal});
  }
  for (Index t : {Index{512}, Index{2048}})
    if (t <= max_tokens)
      for (const char* impl : {"mha", "tiled_mha"}) cases.push_back({impl, t, 1, false});
  return cases;
}

// ---- peak memory: the case once more, alone in a child process ------------------------------

// The peak resident memory of this process, VmHWM of /proc/self/status. (getrusage's
// ru_maxrss of a child would not do: Linux carries the parent's peak over into a child's
// ru_maxrss across fork and exec, so every probe would report the benchmark's own peak.)
long long own_peak_rss() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // in kB
  return 0;
}

// Runs the case once in a fresh process (this program, --rss-child), which reports its peak.
long long child_peak_rss(const std::string& self, const Case& c) {
  const auto result = qkv::subprocess::run({self, "--rss-child", c.impl, std::to_string(c.t),
                                            std::to_string(c.threads), c.causal ? "1" : "0"});
  if (result.exit_code != 0)
    throw qkv::Error("attention_benchmark: the memory probe of " + c.name() +
                     " failed: " + result.describe() + " " + result.err);
  return std::stoll(result.out);
}

// ---- output ----------------------------------------------------------------------------------

nlohmann::json row_json(const Row& r) {
  return {{"impl", r.c.impl},
          {"T", r.c.t},
          {"d_head", r.c.width()},
          {"threads", r.c.threads},
          {"causal", r.c.causal},
          {"seconds", r.seconds},
          {"cpu_seconds", r.cpu_seconds},
          {"gflops", r.gflops},
          {"spread", r.spread},
          {"peak_rss_bytes", r.peak_rss_bytes},
          {"note", r.note}};
}

const Row* find(const std::vector<Row>& rows, const std::string& impl, Index t, int threads,
                bool causal) {
  for (const Row& r : rows)
    if (r.c.impl == impl && r.c.t == t && r.c.threads == threads && r.c.causal == causal) return &r;
  return nullptr;
}

std::string ratio_text(const Row* a, const Row* b) {
  return a && b && b->flops > 0 ? fmt::format("{:.0f}%", 100 * a->fair_gflops() / b->fair_gflops())
                                : "";
}

std::string markdown_table(const std::vector<Row>& rows) {
  const Row* peak = find(rows, "peak", 0, 1, false);
  std::string md =
      "| impl | T | threads | causal | wall (ms) | CPU (ms) | GFLOP/s | of gemm | of 1-thread "
      "peak | spread | peak RSS (MiB) |\n|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const Row& r : rows) {
    // Rates against 1-thread references: for 1-thread rows only (CPU times on both sides).
    const Row* gemm =
        r.c.is_layer() || r.c.threads > 1 ? nullptr : find(rows, "gemm", r.c.t, 1, false);
    md += fmt::format(
        "| {}{} | {} | {} | {} | {:.3f} | {:.3f} | {:.1f} | {} | {} | {:.0f}% | {} |\n", r.c.impl,
        r.note.empty() ? "" : " (" + r.note + ")", r.c.t > 0 ? std::to_string(r.c.t) : "",
        r.c.threads, r.c.causal ? "yes" : "no", r.seconds * 1e3, r.cpu_seconds * 1e3, r.gflops,
        r.c.impl == "peak" || r.c.impl == "gemm" ? "" : ratio_text(&r, gemm),
        peak && r.c.impl != "peak" && r.c.threads == 1 ? ratio_text(&r, peak) : "", 100 * r.spread,
        r.peak_rss_bytes > 0
            ? fmt::format("{:.1f}", static_cast<double>(r.peak_rss_bytes) / 1048576)
            : "");
  }
  return md;
}

// The targets of issue 14, item 4, each with what this run measured.
std::string targets_table(const std::vector<Row>& rows) {
  std::string md = "| target | measured | met |\n|---|---|---|\n";
  auto line = [&md](const std::string& target, const std::optional<double>& value, double threshold,
                    const std::string& unit) {
    if (!value) {
      md += fmt::format("| {} | not measured | |\n", target);
      return;
    }
    md += fmt::format("| {} | {:.2f}{} | {} |\n", target, *value, unit,
                      *value >= threshold ? "yes" : "no");
  };
  auto rate = [&rows](const std::string& impl, Index t, int threads,
                      bool causal) -> std::optional<double> {
    const Row* r = find(rows, impl, t, threads, causal);
    return r ? std::optional(r->fair_gflops()) : std::nullopt;
  };
  auto secs = [&rows](const std::string& impl, Index t, int threads,
                      bool causal) -> std::optional<double> {
    const Row* r = find(rows, impl, t, threads, causal);
    return r ? std::optional(r->fair_seconds()) : std::nullopt;
  };
  auto wall = [&rows](const std::string& impl, Index t, int threads,
                      bool causal) -> std::optional<double> {
    const Row* r = find(rows, impl, t, threads, causal);
    return r ? std::optional(r->seconds) : std::nullopt;
  };
  auto quotient = [](std::optional<double> a, std::optional<double> b) -> std::optional<double> {
    return a && b && *b > 0 ? std::optional(*a / *b) : std::nullopt;
  };
  line("tiled, 1 thread, T 4096: >= 0.45 of the 1-thread peak",
       quotient(rate("tiled", 4096, 1, false), rate("peak", 0, 1, false)), 0.45, "");
  for (Index t : {Index{4096}, Index{8192}, Index{16384}})
    line(fmt::format("tiled / matrix, 1 thread, T {}: >= 1.2", t),
         quotient(rate("tiled", t, 1, false), rate("matrix", t, 1, false)), 1.2, "x");
  for (Index t : {Index{2048}, Index{4096}, Index{8192}, Index{16384}})
    line(fmt::format("tiled 2 threads / 1 thread, T {}: >= 1.8", t),
         quotient(wall("tiled", t, 1, false), wall("tiled", t, 2, false)), 1.8, "x");
  line("tiled non-causal / causal time, T 8192: >= 1.7",
       quotient(secs("tiled", 8192, 1, false), secs("tiled", 8192, 1, true)), 1.7, "x");
  const Row* tiled = find(rows, "tiled", 16384, 1, false);
  const Row* matrix = find(rows, "matrix", 16384, 1, false);
  line("peak RSS matrix / tiled, T 16384: >= 50",
       tiled && matrix && tiled->peak_rss_bytes > 0
           ? std::optional(static_cast<double>(matrix->peak_rss_bytes) /
                           static_cast<double>(tiled->peak_rss_bytes))
           : std::nullopt,
       50, "x");
  // A layer against the peer's call that returns the same: the weights (mha, torch's default
  // need_weights=True) or the output only (tiled_mha, need_weights=False).
  auto layer_secs = [&rows](const std::string& impl, Index t,
                            bool weights) -> std::optional<double> {
    for (const Row& r : rows) {
      const bool output_only = r.note.find("need_weights=False") != std::string::npos;
      if (r.c.impl == impl && r.c.t == t && (r.note.empty() || output_only != weights))
        return r.fair_seconds();
    }
    return std::nullopt;
  };
  for (Index t : {Index{512}, Index{2048}}) {
    for (const bool weights : {true, false}) {
      const std::string ours = weights ? "mha" : "tiled_mha";
      const std::string call = weights ? "need_weights=True" : "need_weights=False";
      line(fmt::format("{} vs torch 1.13 + OpenBLAS ({}), T {}: >= 2", ours, call, t),
           quotient(layer_secs("torch_mha", t, weights), layer_secs(ours, t, weights)), 2, "x");
      line(fmt::format("{} vs PyTorch 2 nn.MultiheadAttention ({}), T {}: >= 1", ours, call, t),
           quotient(layer_secs("torch2_mha", t, weights), layer_secs(ours, t, weights)), 1, "x");
    }
  }
  for (Index t : {Index{2048}, Index{4096}, Index{8192}, Index{16384}})
    for (int threads : {1, 2})
      for (bool causal : {false, true})
        line(fmt::format("tiled vs PyTorch 2 sdpa, T {}, {} thread{}{}: >= 1", t, threads,
                         threads > 1 ? "s" : "", causal ? ", causal" : ""),
             quotient(secs("torch2_sdpa", t, threads, causal), secs("tiled", t, threads, causal)),
             1, "x");
  return md;
}

std::string csv_table(const std::vector<Row>& rows) {
  std::string csv = "impl,T,d_head,threads,causal,seconds,gflops,spread,peak_rss_bytes,note\n";
  for (const Row& r : rows)
    csv += fmt::format("{},{},{},{},{},{:.6g},{:.4g},{:.3f},{},\"{}\"\n", r.c.impl, r.c.t,
                       r.c.width(), r.c.threads, r.c.causal ? 1 : 0, r.seconds, r.gflops, r.spread,
                       r.peak_rss_bytes, r.note);
  return csv;
}

int rss_child(const std::vector<std::string>& args) {
  Case c{args.at(0), std::stol(args.at(1)), std::stoi(args.at(2)), args.at(3) == "1"};
  Inputs in = make_inputs(c);
  float result = run_case(c, in);
  benchmark::DoNotOptimize(result);
  fmt::print("{}\n", own_peak_rss());
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  Eigen::setNbThreads(1);  // Eigen's products on one thread; the rows say where more run
  // Freed memory stays in the heap for the next call: otherwise every call of the matrix
  // form pays the page faults of two fresh T x T matrices.
  qkv::bench::keep_freed_memory();
  if (argc >= 6 && std::string(argv[1]) == "--rss-child")
    return rss_child({argv[2], argv[3], argv[4], argv[5]});

  CLI::App app("qkv_attention_benchmark: attention against GEMM, peak and peers (chapter 09)");
  Index max_tokens = 16384;
  int reps = 5;
  std::string peers_path, json_path, md_path, csv_path;
  app.add_option("--max-tokens", max_tokens, "largest T, of 512 .. 16384 (default 16384)")
      ->check(CLI::IsMember(all_sizes));
  app.add_option("--reps", reps, "repetitions per case, medians reported (default 5)")
      ->check(CLI::Range(1, 50));
  app.add_option("--peers", peers_path, "rows measured by scripts/bench_torch.py (JSON)")
      ->check(CLI::ExistingFile);
  app.add_option("--json", json_path, "also write the rows as a JSON list to FILE");
  app.add_option("--md", md_path, "also write the tables as Markdown to FILE");
  app.add_option("--csv", csv_path, "also write the rows as CSV to FILE");
  if (const auto exit_code = qkv::bench::parse_flags(app, argc, argv)) return *exit_code;

  const std::vector<Case> cases = all_cases(max_tokens);
  std::map<std::string, Inputs> inputs;  // made once per case, outside the timing
  for (const Case& c : cases) {
    benchmark::RegisterBenchmark(c.name().c_str(),
                                 [c, &inputs](benchmark::State& state) {
                                   auto [it, made] = inputs.try_emplace(c.name());
                                   if (made) it->second = make_inputs(c);
                                   for (auto _ : state) {
                                     float result = run_case(c, it->second);
                                     benchmark::DoNotOptimize(result);
                                   }
                                   inputs.erase(c.name());  // free a T x T buffer before the next
                                 })
        ->Repetitions(reps)
        ->UseRealTime()
        ->MeasureProcessCPUTime()
        ->Unit(benchmark::kMillisecond)
        ->MinTime(0.05);
  }
  qkv::bench::CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  std::vector<Row> rows;
  const std::string self = "/proc/self/exe";
  char resolved[4096] = {};
  const ssize_t n = readlink(self.c_str(), resolved, sizeof resolved - 1);
  const std::string exe = n > 0 ? std::string(resolved, static_cast<std::size_t>(n)) : argv[0];
  for (const Case& c : cases) {
    const auto timing = reporter.timing(c.name());
    if (!timing) continue;  // filtered out by --benchmark_filter
    Row r(c);
    r.seconds = timing->seconds;
    r.cpu_seconds = timing->cpu_seconds;
    r.spread = timing->spread;
    r.flops = c.impl == "peak" ? peak_flops(c.threads) : c.flops();
    r.gflops = r.flops / r.seconds * 1e-9;
    if (c.impl != "peak") r.peak_rss_bytes = child_peak_rss(exe, c);
    rows.push_back(r);
  }
  Row none(Case{"none", 512, 1, false});
  none.peak_rss_bytes = child_peak_rss(exe, none.c);
  if (!peers_path.empty()) {
    std::ifstream file(peers_path);
    for (const auto& p : nlohmann::json::parse(file)) {
      Row r(Case{p.at("impl").get<std::string>(), p.at("T").get<Index>(),
                 p.at("threads").get<int>(), p.at("causal").get<bool>()});
      r.seconds = p.at("seconds").get<double>();
      r.spread = p.value("spread", 0.0);
      r.cpu_seconds = p.value("cpu_seconds", 0.0);
      r.peak_rss_bytes = p.value("peak_rss_bytes", 0LL);
      r.note = p.value("note", "");
      r.flops = r.c.flops();
      r.gflops = r.flops / r.seconds * 1e-9;
      rows.push_back(r);
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(a.c.t, a.c.causal) < std::tie(b.c.t, b.c.causal);
  });

  const std::string md = fmt::format(
      "Attention, d_head {}, fp32 (Eigen SIMD: {}); wall-clock medians of {} repetitions "
      "(Google Benchmark), in one run; CPU: the process's CPU time. GFLOP/s: by wall time, "
      "4 T^2 d per attention (causal: 2 T (T + 1) d), "
      "mha and tiled_mha: d_model {}, {} heads, with its four projections (mha returns each "
      "head's weights, tiled_mha the output only). \"of gemm\": the rate of the two "
      "Eigen products of the same FLOPs at that T. That column, the peak column and the targets "
      "compare CPU times on one thread (robust to other processes on a shared machine) and wall "
      "times on two. \"spread\": (slowest - fastest) / median of the wall times. Peak "
      "RSS: each case alone in a child process; the process with its inputs alone (T 512) "
      "takes {:.1f} MiB.\n\n{}\nTargets (issue 14, item 4):\n\n{}",
      d_head, Eigen::SimdInstructionSetsInUse(), reps, mha_d_model, mha_heads,
      static_cast<double>(none.peak_rss_bytes) / 1048576, markdown_table(rows),
      targets_table(rows));
  fmt::print("\n{}", md);
  if (!md_path.empty()) qkv::write_file_atomically(md_path, md);
  if (!csv_path.empty()) qkv::write_file_atomically(csv_path, csv_table(rows));
  if (!json_path.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const Row& r : rows) list.push_back(row_json(r));
    qkv::write_file_atomically(json_path, list.dump(1) + "\n");
  }
  return 0;
} catch (const std::exception& error) {
  fmt::print(stderr, "qkv_attention_benchmark: error: {}\n", error.what());
  return 1;
}
