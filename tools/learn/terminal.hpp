#pragma once
// Stand-in for common/include/qkv/terminal.hpp (contract C, task `process`), with exactly
// its declarations: at the merge, replace this header's body by
// `#include "qkv/terminal.hpp"` and drop terminal.cpp.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace qkv {

enum class ColorMode { none, basic, truecolor };

/// none when fd is not a terminal or NO_COLOR is set (non-empty); truecolor when COLORTERM
/// is truecolor or 24bit; basic (8/16 colors) otherwise.
ColorMode color_mode(int fd);

/// Words of `text` in lines of at most `width` columns (a longer word gets a line alone).
std::vector<std::string> wrap_words(std::string_view text, std::size_t width);

}  // namespace qkv
