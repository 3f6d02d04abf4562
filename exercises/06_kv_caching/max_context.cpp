// Exercise max_context (chapter 06): how long a context fits on your accelerator?
//
// The chapter computed what a cache of T tokens costs. Turn the question around: given the
// memory of a GPU, a model's weights and a batch size, what is the longest context every
// sequence of the batch can have? The weights take parameters x bytes_per_number; what is
// left holds the caches, batch x T x (bytes per token). For example, a 24 GiB GPU holding
// a 7B model in fp16 (6738415616 parameters, 32 layers, 32 kv heads, d_head 128) has room
// for 23446 tokens of one sequence, or 5861 tokens each for a batch of 4.
//
// TODO: 1. Throw qkv::ValueError for a negative memory_bytes or parameters, and for batch
//          or any field of `shape` below 1 (qkv::require in qkv/error.hpp).
//       2. Subtract the weights' bytes from the memory; if nothing is left, return 0.
//       3. Divide what is left by the bytes one token costs for the whole batch and round
//          down. qkv::kv_cache_bytes (qkv/cache_size.hpp) computes 2 x layers x kv_heads x
//          d_head x tokens x bytes_per_number; with tokens = batch it is the cost of one
//          more token in every sequence.
// Check with:  build/dev/bin/qkv-learn check max_context
//   or, checking again on every save:  build/dev/bin/qkv-learn watch max_context

#include "max_context.hpp"

#include "qkv/cache_size.hpp"
#include "qkv/error.hpp"

namespace qkv::exercises {

Index max_context(std::int64_t memory_bytes, std::int64_t parameters, const CacheShape& shape,
                  Index batch) {
  (void)memory_bytes;
  (void)parameters;
  (void)shape;
  (void)batch;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
