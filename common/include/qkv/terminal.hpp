#pragma once
/// @file
/// Text for a terminal, one rule each for the whole tree (the chapters' Lesson and heatmaps,
/// qkv-learn): whether and how to color, how to wrap words, how to read a number a user typed.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace qkv {

/// How much color a terminal takes.
enum class ColorMode {
  none,       ///< plain text: not a terminal, NO_COLOR, or TERM=dumb
  basic,      ///< the 8/16 ANSI colors, which every color terminal has
  truecolor,  ///< 24-bit RGB (ESC[38;2;r;g;bm), only where the terminal says it has it
};

/// The color rule of the tree: ColorMode::none when `fd` is not a terminal, when NO_COLOR is
/// set and not empty (https://no-color.org) or when TERM is `dumb` (a terminal without escape
/// codes, like Emacs' shell); else truecolor when COLORTERM is `truecolor` or `24bit`; else
/// basic.
ColorMode color_mode(int fd);

/// color_mode() on given facts rather than the process's: `is_terminal` for isatty(fd), the
/// other three the values of those environment variables ("" when unset).
ColorMode color_mode_for(bool is_terminal, std::string_view no_color, std::string_view colorterm,
                         std::string_view term);

/// Columns `text` takes on a terminal: its UTF-8 code points (bytes 10xxxxxx continue a code
/// point and count 0), with ANSI escape sequences (ESC [ ... final byte) counting 0.
std::size_t display_columns(std::string_view text);

/// Greedy word wrap into lines of at most `width` columns (display_columns()).
///
/// Each line of `text` (split at '\n', so the author's line breaks stay) is wrapped on its own
/// and gives at least one line: "" gives {""} and "a\n\nb" gives {"a", "", "b"}. Words are
/// the runs of characters other than ' '. A word joins the current line when
/// columns(line) + columns(gap) + columns(word) <= width, where the gap is the spaces between
/// them as written (so aligned "1.0  2.0" keeps its two spaces); otherwise it starts the
/// next line and the gap is dropped. Spaces at the start and end of a line are dropped. A
/// word wider than `width` is never split (it may be a path or a command): it gets a line
/// of its own.
///
/// To indent by a prefix, wrap at `width - prefix columns` and put the prefix before each
/// line.
std::vector<std::string> wrap_words(std::string_view text, std::size_t width);

/// Why parse_integer(), parse_unsigned() or parse_number() gave no value.
enum class ParseError {
  not_a_number,  ///< not written as a number of that kind: "abc", "1.5" for an integer, ""
  out_of_range,  ///< written as one, but beyond what the type holds: "99999999999999999999"
};

/// The whole of `text` as a decimal integer: an optional '-' and digits, nothing else (no
/// '+', spaces, "0x10", "1e3" or "1.0"), within [-2^63, 2^63 - 1]. On failure, `why` (when
/// given) says which of ParseError it is.
std::optional<long long> parse_integer(std::string_view text, ParseError* why = nullptr);

/// parse_integer() for [0, 2^64 - 1]. A negative whole number ("-1") is out_of_range.
std::optional<unsigned long long> parse_unsigned(std::string_view text, ParseError* why = nullptr);

/// The whole of `text` as a finite decimal number: "2", "-0.5", ".5", "1e-3", "2.5E+4"; not
/// "nan", "inf", "0x1p3", "1,5", " 1" or "1 ". Out of range when its magnitude overflows a
/// double ("1e999") or underflows to zero from a non-zero value ("1e-999").
std::optional<double> parse_number(std::string_view text, ParseError* why = nullptr);

/// The parser for type T: parse_number() for double, parse_unsigned() for an unsigned integer
/// type, parse_integer() for a signed one. A value outside T's range is out_of_range, never
/// truncated ("300" for std::uint8_t, "2147483648" for int).
template <typename T>
std::optional<T> parse_as(std::string_view text, ParseError* why = nullptr) {
  static_assert(std::is_same_v<T, double> || (std::is_integral_v<T> && !std::is_same_v<T, bool>),
                "parse_as reads double or an integer type");
  if constexpr (std::is_same_v<T, double>) {
    return parse_number(text, why);
  } else {
    const auto narrow = [why](const auto& value) -> std::optional<T> {
      if (!value) return std::nullopt;
      if (!std::in_range<T>(*value)) {
        if (why != nullptr) *why = ParseError::out_of_range;
        return std::nullopt;
      }
      return static_cast<T>(*value);
    };
    if constexpr (std::is_unsigned_v<T>)
      return narrow(parse_unsigned(text, why));
    else
      return narrow(parse_integer(text, why));
  }
}

}  // namespace qkv
