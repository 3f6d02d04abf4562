#pragma once
/// @file
/// Writing output files (figures, benchmark tables) so that a failure never leaves a
/// half-written file behind.

#include <filesystem>
#include <string_view>

namespace qkv {

/// Writes `contents` to `path` through a temporary file in the same folder and a rename.
/// Throws qkv::Error naming the path when it cannot.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents);

}  // namespace qkv
