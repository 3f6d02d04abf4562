// Exercise max_batch (chapter 08): how many conversations fit on one accelerator?
//
// Chapter 06 asked how long one context can be. A server asks the other question: at a
// given context length, how many sequences can it decode at once? Every sequence has its own
// cache, and the cache is what grouped-query attention and sliding windows shrink. For
// example, on an 80 GiB GPU with 14 GiB of fp16 weights and 32 layers of d_head 128:
//
//     32 kv heads (MHA), 8192 tokens: 4 GiB per sequence  -> 16 sequences
//      8 kv heads (GQA), 8192 tokens: 1 GiB per sequence  -> 66 sequences
//      8 kv heads, window 4096:       0.5 GiB, at any length -> 132 sequences
//
// TODO: 1. Check the arguments (qkv::require): memory, parameters and window not negative,
//          context and every other field at least 1.
//       2. Subtract the weights' bytes from the memory (compare before multiplying, so that
//          a huge parameter count cannot overflow); no room left: return 0.
//       3. A sequence keeps context tokens, or with a window only the last `window` of them:
//          a ring of exactly w rows (chapter 06's WindowKvCache), not w + 1 or w - 1.
//          qkv::kv_cache_bytes (qkv/cache_size.hpp) gives one sequence's cache; divide and
//          round down.
// Check with:  build/dev/bin/qkv-learn check max_batch
//   or, checking again on every save:  build/dev/bin/qkv-learn watch max_batch

#include "max_batch.hpp"

#include "qkv/cache_size.hpp"
#include "qkv/error.hpp"

namespace qkv::exercises {

Index max_batch(const ServingConfig& config, Index context, std::int64_t memory_bytes) {
  (void)config;
  (void)context;
  (void)memory_bytes;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
