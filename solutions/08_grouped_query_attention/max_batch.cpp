// Reference solution of exercise max_batch (chapter 08).

#include "max_batch.hpp"

#include <algorithm>

#include "qkv/cache_size.hpp"
#include "qkv/error.hpp"

namespace qkv::exercises {

Index max_batch(const ServingConfig& config, Index context, std::int64_t memory_bytes) {
  require(memory_bytes >= 0 && config.parameters >= 0 && config.window >= 0, "max_batch",
          "memory, parameters and window must not be negative");
  require(context >= 1 && config.layers >= 1 && config.kv_heads >= 1 && config.d_head >= 1 &&
              config.bytes_per_number >= 1,
          "max_batch", "the context and the model's sizes must be at least 1");
  if (config.parameters > memory_bytes / config.bytes_per_number) return 0;
  const std::int64_t free_bytes = memory_bytes - config.parameters * config.bytes_per_number;
  // A window keeps exactly its last w tokens, however long the context.
  const Index held = config.window > 0 ? std::min(context, config.window) : context;
  return free_bytes / kv_cache_bytes(config.layers, config.kv_heads, config.d_head, held,
                                     config.bytes_per_number);
}

}  // namespace qkv::exercises
