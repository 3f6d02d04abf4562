#pragma once
/// @file
/// Wall-clock timing for the chapters that compare two ways of computing the same thing
/// (chapter 06: decoding with and without a KV cache). Timings differ from run to run, so
/// chapters print them only when asked (`--time`) and never record them for `--json`.

#include <algorithm>
#include <chrono>
#include <vector>

namespace qkv {

/// The median wall time, in seconds, of up to `repetitions` runs of `work`: fewer once the
/// runs have taken a second together (large sizes take long), at least one.
template <typename Work>
double median_seconds(int repetitions, Work&& work) {
  std::vector<double> seconds;
  double total = 0.0;
  for (int r = 0; r < std::max(repetitions, 1) && total < 1.0; ++r) {
    const auto start = std::chrono::steady_clock::now();
    work();
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    total += seconds.back();
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

}  // namespace qkv
