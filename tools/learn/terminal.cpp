// Stand-in for qkv/terminal.hpp's color rule and word-wrapper (see terminal.hpp).

#include "terminal.hpp"

#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace qkv {

ColorMode color_mode(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  if (isatty(fd) == 0 || (no_color != nullptr && *no_color != '\0')) return ColorMode::none;
  const char* colorterm = std::getenv("COLORTERM");
  const std::string_view value = colorterm != nullptr ? colorterm : "";
  return value == "truecolor" || value == "24bit" ? ColorMode::truecolor : ColorMode::basic;
}

std::vector<std::string> wrap_words(std::string_view text, std::size_t width) {
  std::vector<std::string> lines;
  std::string line;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto start = text.find_first_not_of(" \t\r\n", at);
    if (start == std::string_view::npos) break;
    auto end = text.find_first_of(" \t\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    const auto word = text.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(line);
      line.clear();
    }
    if (!line.empty()) line += ' ';
    line += word;
    at = end;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

}  // namespace qkv
