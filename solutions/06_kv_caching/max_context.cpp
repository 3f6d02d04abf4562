// Reference solution of exercise max_context (chapter 06).

#include "max_context.hpp"

#include <limits>

#include "qkv/cache_size.hpp"
#include "qkv/error.hpp"

namespace qkv::exercises {

Index max_context(std::int64_t memory_bytes, std::int64_t parameters, const CacheShape& shape,
                  Index batch) {
  require(memory_bytes >= 0 && parameters >= 0, "max_context",
          "memory and parameters must not be negative");
  require(batch >= 1 && shape.layers >= 1 && shape.kv_heads >= 1 && shape.d_head >= 1 &&
              shape.bytes_per_number >= 1,
          "max_context", "the batch and every field of the cache shape must be at least 1");
  // Compare before multiplying, so that absurd parameter counts cannot overflow.
  if (parameters > memory_bytes / shape.bytes_per_number) return 0;
  const std::int64_t free_bytes = memory_bytes - parameters * shape.bytes_per_number;
  // One more token in every sequence of the batch.
  const std::int64_t per_token =
      kv_cache_bytes(shape.layers, shape.kv_heads, shape.d_head, batch, shape.bytes_per_number);
  return free_bytes / per_token;
}

}  // namespace qkv::exercises
