#pragma once
// How qkv-learn paints its text: fmt's styles, under the tree's one color rule
// (qkv::color_mode): none in a pipe or with NO_COLOR, 24-bit colors only where the terminal
// says so, the 8 basic colors otherwise.

#include <fmt/color.h>

#include <string>
#include <string_view>

#include "qkv/terminal.hpp"

namespace qkv::learn {

class Style {
 public:
  explicit Style(ColorMode mode = ColorMode::none) : mode_(mode) {}
  [[nodiscard]] ColorMode mode() const { return mode_; }
  [[nodiscard]] bool color() const { return mode_ != ColorMode::none; }

  [[nodiscard]] std::string green(std::string_view text) const {
    return paint(text, fmt::terminal_color::green, fmt::rgb(0x2e, 0xa0, 0x43));
  }
  [[nodiscard]] std::string red(std::string_view text) const {
    return paint(text, fmt::terminal_color::red, fmt::rgb(0xd7, 0x3a, 0x49));
  }
  [[nodiscard]] std::string yellow(std::string_view text) const {
    return paint(text, fmt::terminal_color::yellow, fmt::rgb(0xc9, 0x94, 0x00));
  }
  [[nodiscard]] std::string bold(std::string_view text) const {
    return color() ? fmt::format(fmt::emphasis::bold, "{}", text) : std::string(text);
  }
  [[nodiscard]] std::string dim(std::string_view text) const {
    return color() ? fmt::format(fmt::emphasis::faint, "{}", text) : std::string(text);
  }

 private:
  [[nodiscard]] std::string paint(std::string_view text, fmt::terminal_color basic,
                                  fmt::rgb full) const {
    switch (mode_) {
      case ColorMode::none:
        return std::string(text);
      case ColorMode::basic:
        return fmt::format(fmt::fg(basic), "{}", text);
      case ColorMode::truecolor:
        return fmt::format(fmt::fg(full), "{}", text);
    }
    return std::string(text);
  }

  ColorMode mode_;
};

}  // namespace qkv::learn
