// Color, word wrapping and number reading for terminals: see qkv/terminal.hpp.

#include "qkv/terminal.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>
#include <type_traits>

namespace qkv {

namespace {
std::string_view environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string_view() : std::string_view(value);
}
}  // namespace

ColorMode color_mode_for(bool is_terminal, std::string_view no_color, std::string_view colorterm,
                         std::string_view term) {
  if (!is_terminal || !no_color.empty() || term == "dumb") return ColorMode::none;
  if (colorterm == "truecolor" || colorterm == "24bit") return ColorMode::truecolor;
  return ColorMode::basic;
}

ColorMode color_mode(int fd) {
  return color_mode_for(isatty(fd) != 0, environment("NO_COLOR"), environment("COLORTERM"),
                        environment("TERM"));
}

std::size_t display_columns(std::string_view text) {
  std::size_t columns = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte == 0x1B && i + 1 < text.size() && text[i + 1] == '[') {
      // CSI: parameter and intermediate bytes (0x20-0x3F), then one final byte (0x40-0x7E).
      i += 2;
      while (i < text.size() && static_cast<unsigned char>(text[i]) >= 0x20 &&
             static_cast<unsigned char>(text[i]) <= 0x3F)
        ++i;
      continue;  // the loop's ++i steps over the final byte
    }
    if ((byte & 0xC0) != 0x80) ++columns;
  }
  return columns;
}

std::vector<std::string> wrap_words(std::string_view text, std::size_t width) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view source = text.substr(start, end - start);
    std::string line;
    std::size_t line_columns = 0;
    std::size_t pos = source.find_first_not_of(' ');
    std::size_t gap_start = pos;  // where the spaces before the word at `pos` begin
    while (pos != std::string_view::npos) {
      const std::size_t word_end = std::min(source.find(' ', pos), source.size());
      const std::string_view word = source.substr(pos, word_end - pos);
      const std::string_view gap = source.substr(gap_start, pos - gap_start);
      const std::size_t word_columns = display_columns(word);
      if (line.empty()) {
        line = word;
        line_columns = word_columns;
      } else if (line_columns + gap.size() + word_columns <= width) {
        line.append(gap).append(word);
        line_columns += gap.size() + word_columns;
      } else {
        lines.push_back(std::move(line));
        line = word;
        line_columns = word_columns;
      }
      gap_start = word_end;
      pos = source.find_first_not_of(' ', word_end);
    }
    lines.push_back(std::move(line));
    if (end == text.size()) break;
    start = end + 1;
  }
  return lines;
}

namespace {
/// from_chars over the whole text; `why` gets the reason when it gives no value.
template <typename T>
std::optional<T> parse_whole(std::string_view text, ParseError* why) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  ParseError problem = ParseError::not_a_number;
  if (error == std::errc{} && stop == end) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isfinite(value)) return value;  // else "inf" or "nan": not a number here
    } else {
      return value;
    }
  } else if (error == std::errc::result_out_of_range && stop == end) {
    problem = ParseError::out_of_range;
  }
  if (why != nullptr) *why = problem;
  return std::nullopt;
}
}  // namespace

std::optional<long long> parse_integer(std::string_view text, ParseError* why) {
  return parse_whole<long long>(text, why);
}

std::optional<unsigned long long> parse_unsigned(std::string_view text, ParseError* why) {
  if (!text.empty() && text.front() == '-') {
    // from_chars calls "-1" malformed for an unsigned type; it is a whole number, just below 0.
    const auto magnitude = text.substr(1);
    const bool digits =
        !magnitude.empty() && magnitude.find_first_not_of("0123456789") == std::string_view::npos;
    if (why != nullptr) *why = digits ? ParseError::out_of_range : ParseError::not_a_number;
    return std::nullopt;
  }
  return parse_whole<unsigned long long>(text, why);
}

std::optional<double> parse_number(std::string_view text, ParseError* why) {
  return parse_whole<double>(text, why);
}

}  // namespace qkv
