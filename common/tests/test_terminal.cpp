// qkv/terminal.hpp: the color rule, the word wrapper and the number parser, on hand-written
// cases; the wrapper also on paragraphs the chapters print (as they print them today).

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "qkv/catch.hpp"
#include "qkv/terminal.hpp"

using qkv::ColorMode;

namespace {

/// Sets (or, with nullptr, removes) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_.c_str(), old_->c_str(), 1);
    else
      unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

std::string name(ColorMode mode) {
  switch (mode) {
    case ColorMode::none:
      return "none";
    case ColorMode::basic:
      return "basic";
    case ColorMode::truecolor:
      return "truecolor";
  }
  return "?";
}

/// Lines as Lesson::say prints them: each followed by '\n'.
std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

// Every text is rejected by `parse` (one of qkv's parsers) for the reason `expected`: the
// reason starts as the other one, so a parser that fails without saying why is caught.
template <typename Parse>
void check_rejects(Parse parse, std::initializer_list<const char*> texts,
                   qkv::ParseError expected) {
  for (const char* text : texts) {
    INFO("'" << text << "'");
    auto why = expected == qkv::ParseError::out_of_range ? qkv::ParseError::not_a_number
                                                         : qkv::ParseError::out_of_range;
    CHECK_FALSE(parse(text, &why).has_value());
    CHECK(why == expected);
  }
}

}  // namespace

TEST_CASE("color_mode_for: none, basic or truecolor", "[terminal]") {
  struct Case {
    bool terminal;
    const char *no_color, *colorterm, *term;
    ColorMode expected;
  };
  for (const Case& c : {Case{false, "", "truecolor", "xterm-256color", ColorMode::none},
                        Case{true, "1", "truecolor", "xterm-256color", ColorMode::none},
                        Case{true, "0", "", "xterm", ColorMode::none},  // any non-empty value
                        Case{true, "", "", "dumb", ColorMode::none},
                        Case{true, "", "truecolor", "dumb", ColorMode::none},
                        Case{true, "", "truecolor", "xterm-256color", ColorMode::truecolor},
                        Case{true, "", "24bit", "xterm", ColorMode::truecolor},
                        Case{true, "", "", "xterm-256color", ColorMode::basic},
                        Case{true, "", "yes", "xterm", ColorMode::basic},
                        Case{true, "", "", "", ColorMode::basic}}) {
    INFO("terminal " << c.terminal << ", NO_COLOR '" << c.no_color << "', COLORTERM '"
                     << c.colorterm << "', TERM '" << c.term << "'");
    CHECK(name(qkv::color_mode_for(c.terminal, c.no_color, c.colorterm, c.term)) ==
          name(c.expected));
  }
}

TEST_CASE("color_mode reads the descriptor and the environment", "[terminal]") {
  // A pseudo-terminal is a terminal; a pipe is not.
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(master >= 0);
  REQUIRE(grantpt(master) == 0);
  REQUIRE(unlockpt(master) == 0);
  const int tty = open(ptsname(master), O_RDWR | O_NOCTTY);
  REQUIRE(tty >= 0);
  int ends[2];
  REQUIRE(pipe(ends) == 0);
  {
    ScopedEnv no_color("NO_COLOR", nullptr), colorterm("COLORTERM", nullptr), term("TERM", "xterm");
    CHECK(name(qkv::color_mode(tty)) == "basic");
    CHECK(name(qkv::color_mode(ends[1])) == "none");
    {
      ScopedEnv truecolor("COLORTERM", "truecolor");
      CHECK(name(qkv::color_mode(tty)) == "truecolor");
      CHECK(name(qkv::color_mode(ends[1])) == "none");
      ScopedEnv set("NO_COLOR", "1");
      CHECK(name(qkv::color_mode(tty)) == "none");
    }
    ScopedEnv empty("NO_COLOR", "");  // set but empty counts as unset (no-color.org)
    CHECK(name(qkv::color_mode(tty)) == "basic");
  }
  for (int fd : {master, tty, ends[0], ends[1]}) close(fd);
}

TEST_CASE("display_columns counts code points and skips escape codes", "[terminal]") {
  CHECK(qkv::display_columns("") == 0);
  CHECK(qkv::display_columns("abc") == 3);
  CHECK(qkv::display_columns("\xC3\xA9t\xC3\xA9") == 3);         // "été": 5 bytes
  CHECK(qkv::display_columns("\xE2\x96\x88\xE2\x96\x88") == 2);  // "██": 6 bytes
  CHECK(qkv::display_columns("\x1B[1;31mred\x1B[0m") == 3);
  CHECK(qkv::display_columns("\x1B[38;2;10;20;30mx") == 1);
}

TEST_CASE("wrap_words on hand-written cases", "[terminal]") {
  using Lines = std::vector<std::string>;
  CHECK(qkv::wrap_words("the quick brown fox", 10) == Lines{"the quick", "brown fox"});
  // The boundary: 5 + 1 + 4 = 10 columns fit in 10, not in 9.
  CHECK(qkv::wrap_words("aaaaa bbbb", 10) == Lines{"aaaaa bbbb"});
  CHECK(qkv::wrap_words("aaaaa bbbb", 9) == Lines{"aaaaa", "bbbb"});
  // A word wider than the line is not split.
  CHECK(qkv::wrap_words("a build/dev/exercises/exercise_top_k b", 8) ==
        Lines{"a", "build/dev/exercises/exercise_top_k", "b"});
  CHECK(qkv::wrap_words("one two", 0) == Lines{"one", "two"});
  // Explicit line breaks stay; an empty line stays; "" is one empty line.
  CHECK(qkv::wrap_words("", 10) == Lines{""});
  CHECK(qkv::wrap_words("a\n\nb", 10) == Lines{"a", "", "b"});
  CHECK(qkv::wrap_words("a\n", 10) == Lines{"a", ""});
  CHECK(qkv::wrap_words("first line\nsecond line", 80) == Lines{"first line", "second line"});
  // Spaces at the ends go; runs of spaces between words stay, unless the line breaks there.
  CHECK(qkv::wrap_words("   padded   ", 10) == Lines{"padded"});
  CHECK(qkv::wrap_words("1.0  2.0  3.0", 20) == Lines{"1.0  2.0  3.0"});
  CHECK(qkv::wrap_words("1.0  2.0  3.0", 9) == Lines{"1.0  2.0", "3.0"});
  CHECK(qkv::wrap_words("    ", 10) == Lines{""});
  // Width in columns: "été" is 3 columns of 5 bytes; an escape code is none.
  CHECK(qkv::wrap_words("\xC3\xA9t\xC3\xA9 \xC3\xA9t\xC3\xA9", 7) ==
        Lines{"\xC3\xA9t\xC3\xA9 \xC3\xA9t\xC3\xA9"});
  CHECK(qkv::wrap_words("\x1B[31mred\x1B[0m fox", 7) == Lines{"\x1B[31mred\x1B[0m fox"});
}

TEST_CASE("wrap_words is greedy and loses no word", "[terminal]") {
  std::mt19937 random(20261201);
  std::uniform_int_distribution<int> word_length(1, 14), word_count(0, 60), letter('a', 'z');
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t width = 5 + static_cast<std::size_t>(trial % 40);
    std::vector<std::string> words(static_cast<std::size_t>(word_count(random)));
    std::string text;
    for (auto& word : words) {
      for (int i = word_length(random); i > 0; --i) word += static_cast<char>(letter(random));
      text += (text.empty() ? "" : " ") + word;
    }
    const auto lines = qkv::wrap_words(text, width);
    INFO("width " << width << ", text: " << text);
    std::string rejoined;
    for (const auto& line : lines) rejoined += (rejoined.empty() ? "" : " ") + line;
    CHECK(rejoined == text);  // every word, in order, single spaces where the lines broke
    for (std::size_t i = 0; i < lines.size(); ++i) {
      INFO("line " << i << ": '" << lines[i] << "'");
      // Within the width, unless it is one word wider than the width.
      CHECK((lines[i].size() <= width || lines[i].find(' ') == std::string::npos));
      // Greedy: the next line's first word would not have fit on this one.
      if (i + 1 < lines.size()) {
        const auto next_word = lines[i + 1].substr(0, lines[i + 1].find(' '));
        CHECK(lines[i].size() + 1 + next_word.size() > width);
      }
    }
  }
}

TEST_CASE("wrap_words at 92 columns prints the chapters' paragraphs as they are today",
          "[terminal]") {
  // Input: the text a chapter passes to Lesson::say (formatted); expected: what it printed
  // at main 6d3f93a (chapters' default output, 01 and 04).
  struct Paragraph {
    const char* text;
    const char* printed;
  };
  const Paragraph paragraphs[] = {
      {"Attention is a lookup. A query says what the current position is looking for; every "
       "token offers a key, saying what it can be found by, and a value, saying what it hands "
       "over. We translate \"The quick brown fox jumps\" and are about to write the noun. "
       "The four features of every vector are: article, describes, thing, action.",
       "Attention is a lookup. A query says what the current position is looking for; every "
       "token\n"
       "offers a key, saying what it can be found by, and a value, saying what it hands over. "
       "We\n"
       "translate \"The quick brown fox jumps\" and are about to write the noun. The four "
       "features of\n"
       "every vector are: article, describes, thing, action.\n"},
      {"Hard retrieval returns the value stored under the best key. Its one 1 sits under "
       "\"Fuchs\": the word the model writes next.",
       "Hard retrieval returns the value stored under the best key. Its one 1 sits under "
       "\"Fuchs\":\n"
       "the word the model writes next.\n"},
      {"The relevance of key j is q . k_j = sum_i q_i k_ij. For the key of \"fox\", term by "
       "term:",
       "The relevance of key j is q . k_j = sum_i q_i k_ij. For the key of \"fox\", term by "
       "term:\n"},
      {"That is right for reading a whole sentence at once (an encoder, like BERT). It is wrong "
       "for a model that writes text one token at a time (a decoder, like GPT): while it "
       "computes token i, the tokens after i do not exist yet. Trained with them in view, it "
       "would learn to copy the next token instead of predicting it.",
       "That is right for reading a whole sentence at once (an encoder, like BERT). It is wrong "
       "for\n"
       "a model that writes text one token at a time (a decoder, like GPT): while it computes "
       "token\n"
       "i, the tokens after i do not exist yet. Trained with them in view, it would learn to "
       "copy\n"
       "the next token instead of predicting it.\n"},
      {"A sliding window keeps the causal rule and adds a horizon: token i sees tokens "
       "max(0, i - w + 1)..i, the last w including itself (Mistral 7B uses w = 4096). The cost "
       "of a row no longer grows with T, and a cache of w keys and values is enough. Here w = "
       "3.",
       "A sliding window keeps the causal rule and adds a horizon: token i sees tokens max(0, "
       "i - w\n"
       "+ 1)..i, the last w including itself (Mistral 7B uses w = 4096). The cost of a row no "
       "longer\n"
       "grows with T, and a cache of w keys and values is enough. Here w = 3.\n"},
      {"Models work on batches: several sequences at once, in one tensor of B x T tokens. "
       "Sequences differ in length, so the short ones are filled up with a <pad> token. Its "
       "embedding is a token like any other, and attention would happily mix it into the real "
       "tokens. Each sequence gets its own mask that hides its padding: query i may see key j "
       "only when both are real tokens (i, j < length). Lengths 6, 4 and 2, padded to T = 6, "
       "one tall matrix of B T = 18 rows (row labels: sequence:token):",
       "Models work on batches: several sequences at once, in one tensor of B x T tokens. "
       "Sequences\n"
       "differ in length, so the short ones are filled up with a <pad> token. Its embedding is "
       "a\n"
       "token like any other, and attention would happily mix it into the real tokens. Each "
       "sequence\n"
       "gets its own mask that hides its padding: query i may see key j only when both are "
       "real\n"
       "tokens (i, j < length). Lengths 6, 4 and 2, padded to T = 6, one tall matrix of B T = "
       "18\n"
       "rows (row labels: sequence:token):\n"},
  };
  for (const auto& paragraph : paragraphs) {
    INFO(paragraph.text);
    CHECK(joined(qkv::wrap_words(paragraph.text, 92)) == paragraph.printed);
  }
}

TEST_CASE("parse_integer reads the whole text as a decimal integer", "[terminal]") {
  using qkv::ParseError;
  CHECK(qkv::parse_integer("42").value_or(-999) == 42);
  CHECK(qkv::parse_integer("-7").value_or(-999) == -7);
  CHECK(qkv::parse_integer("0").value_or(-999) == 0);
  CHECK(qkv::parse_integer("007").value_or(-999) == 7);
  CHECK(qkv::parse_integer("9223372036854775807").value_or(-999) ==
        std::numeric_limits<long long>::max());
  CHECK(qkv::parse_integer("-9223372036854775808").value_or(-999) ==
        std::numeric_limits<long long>::min());
  check_rejects(
      qkv::parse_integer,
      {"", "-", "+5", " 5", "5 ", "0x10", "1e3", "1.5", "1.0", "abc", "12abc", "--5", "5-"},
      ParseError::not_a_number);
  check_rejects(qkv::parse_integer,
                {"9223372036854775808", "-9223372036854775809", "99999999999999999999999"},
                ParseError::out_of_range);
}

TEST_CASE("parse_unsigned: a negative whole number is out of range", "[terminal]") {
  using qkv::ParseError;
  CHECK(qkv::parse_unsigned("18446744073709551615").value_or(999) ==
        std::numeric_limits<unsigned long long>::max());
  CHECK(qkv::parse_unsigned("12").value_or(999) == 12U);
  check_rejects(qkv::parse_unsigned, {"18446744073709551616", "-1", "-18446744073709551616"},
                ParseError::out_of_range);
  check_rejects(qkv::parse_unsigned, {"", "-", "-x", "+1", "1.0", "0x1"}, ParseError::not_a_number);
}

TEST_CASE("parse_number reads the whole text as a finite number", "[terminal]") {
  using qkv::ParseError;
  const double nan = std::numeric_limits<double>::quiet_NaN();  // never equal: shows the value
  CHECK(qkv::parse_number("2").value_or(nan) == 2.0);
  CHECK(qkv::parse_number("-0.5").value_or(nan) == -0.5);
  CHECK(qkv::parse_number(".5").value_or(nan) == 0.5);
  CHECK(qkv::parse_number("5.").value_or(nan) == 5.0);
  CHECK(qkv::parse_number("1e-3").value_or(nan) == 0.001);
  CHECK(qkv::parse_number("2.5E+4").value_or(nan) == 25000.0);
  CHECK(qkv::parse_number("4.9e-324").value_or(nan) > 0.0);  // the smallest subnormal is a value
  check_rejects(qkv::parse_number,
                {"", "nan", "inf", "-inf", "infinity", "0x1p3", "1,5", " 1", "1 ", "1e", "+1",
                 "--1", "1..2", "abc"},
                ParseError::not_a_number);
  check_rejects(qkv::parse_number, {"1e999", "-1e999", "1e-999"}, ParseError::out_of_range);
}

TEST_CASE("parse_as picks the parser by type and never truncates", "[terminal]") {
  using qkv::ParseError;
  CHECK(qkv::parse_as<int>("-5").value_or(0) == -5);
  CHECK(qkv::parse_as<int>("2147483647").value_or(0) == 2147483647);
  CHECK(qkv::parse_as<std::uint8_t>("255").value_or(0) == 255);
  CHECK(qkv::parse_as<long>("-9223372036854775808").value_or(0) ==
        std::numeric_limits<long>::min());
  CHECK(qkv::parse_as<double>("0.25").value_or(0) == 0.25);
  check_rejects(qkv::parse_as<int>, {"2147483648", "-2147483649", "99999999999"},
                ParseError::out_of_range);
  auto why = ParseError::not_a_number;
  CHECK_FALSE(qkv::parse_as<std::uint8_t>("256", &why).has_value());
  CHECK(why == ParseError::out_of_range);
  CHECK_FALSE(qkv::parse_as<unsigned>("-1", &why).has_value());
  CHECK(why == ParseError::out_of_range);
  CHECK_FALSE(qkv::parse_as<int>("1.5", &why).has_value());
  CHECK(why == ParseError::not_a_number);
  CHECK_FALSE(qkv::parse_as<double>("1e999", &why).has_value());
  CHECK(why == ParseError::out_of_range);
}
