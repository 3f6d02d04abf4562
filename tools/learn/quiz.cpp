// The chapter quizzes: reading chapters/NN_name/quiz.md, asking it, checking it, and writing
// its docs page. See quiz.hpp.

#include "quiz.hpp"

#include <fmt/color.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <istream>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <utility>

#include "learn.hpp"
#include "qkv/terminal.hpp"

namespace qkv::learn {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Reading a quiz file.

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string rstrip(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return std::string(text);
}

// Reads blocks of Markdown (paragraphs, fenced code) line by line: one instance per body or
// explanation. Lines of a paragraph are joined by single spaces.
class BlockCollector {
 public:
  void text_line(std::string_view line) {
    const std::string text = trim(line);
    if (text.empty()) {
      paragraph_open_ = false;
      return;
    }
    if (!paragraph_open_) blocks_.push_back({false, ""});
    paragraph_open_ = true;
    blocks_.back().text += (blocks_.back().text.empty() ? "" : " ") + text;
  }
  void code_block(std::string text) {
    paragraph_open_ = false;
    blocks_.push_back({true, std::move(text)});
  }
  void end_paragraph() { paragraph_open_ = false; }
  std::vector<QuizBlock>& blocks() { return blocks_; }

 private:
  std::vector<QuizBlock> blocks_;
  bool paragraph_open_ = false;
};

class QuizParser {
 public:
  QuizParser(std::string_view text, std::string file_name) : file_(std::move(file_name)) {
    std::string line;
    for (char c : text) {
      if (c == '\n') {
        lines_.push_back(rstrip(line));
        line.clear();
      } else {
        line += c;
      }
    }
    if (!line.empty()) lines_.push_back(rstrip(line));
  }

  Quiz parse() {
    if (lines_.empty() || !starts_with(lines_[0], "# ") || trim(lines_[0].substr(2)).empty())
      fail(1, "the file must start with its title, e.g. '# Chapter 1 quiz: Dot-product relevance'");
    quiz_.title = trim(lines_[0].substr(2));
    at_ = 1;
    BlockCollector intro;
    read_blocks(intro, /*in_question=*/false);
    quiz_.intro = std::move(intro.blocks());
    while (at_ < lines_.size()) read_question();
    const std::size_t count = quiz_.questions.size();
    if (count < min_quiz_questions || count > max_quiz_questions)
      fail(1, fmt::format("{} questions; a chapter's quiz has {} to {}", count, min_quiz_questions,
                          max_quiz_questions));
    return std::move(quiz_);
  }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& message) const {
    throw LearnError(fmt::format("{}:{}: {}", file_, line, message));
  }
  [[nodiscard]] int line_number() const { return static_cast<int>(at_ + 1); }

  static bool is_option(std::string_view line) { return starts_with(line, "- ["); }
  static bool is_role(std::string_view line) {
    return line.size() >= 4 && starts_with(line, "- ") &&
           std::islower(static_cast<unsigned char>(line[2])) && line[3] == '.';
  }
  static bool is_pair(std::string_view line) {
    std::size_t digits = 0;
    while (digits < line.size() && std::isdigit(static_cast<unsigned char>(line[digits]))) ++digits;
    return digits > 0 && digits < line.size() && line[digits] == '.';
  }

  // Paragraphs and code blocks up to the first option, role, pair or heading.
  void read_blocks(BlockCollector& blocks, bool in_question) {
    while (at_ < lines_.size()) {
      const std::string& line = lines_[at_];
      if (starts_with(line, "## ")) return;
      if (starts_with(line, "#"))
        fail(at_ + 1, "only '## N. title' headings are allowed after the title");
      // (A line starting "128. " is text here: items come only after a question's roles.)
      if (in_question && (is_option(line) || is_role(line))) return;
      if (!in_question && (is_option(line) || is_role(line)))
        fail(at_ + 1, "an answer before the first question ('## 1. title')");
      if (starts_with(line, "```")) {
        blocks.code_block(read_fence());
        continue;
      }
      blocks.text_line(line);
      ++at_;
    }
  }

  // A fenced code block starting at the current line; leaves at_ after its closing fence.
  std::string read_fence() {
    const std::size_t start = at_;
    std::string code;
    for (++at_; at_ < lines_.size(); ++at_) {
      if (starts_with(lines_[at_], "```")) {
        ++at_;
        return code;
      }
      code += (code.empty() ? "" : "\n") + lines_[at_];
    }
    fail(start + 1, "this code block is never closed with ```");
  }

  // Lines indented by `indent` spaces under an option or pairing: continuation text of its
  // first line until the first '>' line, then the explanation, as a block quote.
  void read_item_tail(std::size_t indent, std::string& text, std::vector<QuizBlock>& explanation) {
    const std::string pad(indent, ' ');
    BlockCollector quote;
    bool quoting = false;
    for (; at_ < lines_.size(); ++at_) {
      const std::string& line = lines_[at_];
      if (line.empty() || !starts_with(line, pad) || line[indent] == ' ') break;
      const std::string_view rest = std::string_view(line).substr(indent);
      if (rest[0] == '>') {
        quoting = true;
        const std::string_view quoted = rest.substr(1);
        if (starts_with(quoted, "```")) fail(at_ + 1, "no code blocks in an explanation");
        quote.text_line(quoted);
      } else if (quoting) {
        fail(at_ + 1,
             fmt::format("expected the explanation to go on with '{}> ' or a blank line", pad));
      } else {
        text += " " + trim(rest);
      }
    }
    explanation = std::move(quote.blocks());
  }

  void read_question() {
    const std::string& heading = lines_[at_];
    QuizQuestion question;
    question.line = line_number();
    question.number = static_cast<int>(quiz_.questions.size()) + 1;
    const std::string expected = fmt::format("## {}. ", question.number);
    if (!starts_with(heading, expected) || trim(heading.substr(expected.size())).empty())
      fail(at_ + 1,
           fmt::format("expected question {} here, as '{}<title>'", question.number, expected));
    question.title = trim(heading.substr(expected.size()));
    ++at_;
    BlockCollector body;
    read_blocks(body, /*in_question=*/true);
    question.body = std::move(body.blocks());
    if (question.body.empty())
      fail(static_cast<std::size_t>(question.line), "the question has no text under its title");
    if (at_ >= lines_.size() || starts_with(lines_[at_], "## "))
      fail(static_cast<std::size_t>(question.line),
           "the question has no answers: add options '- [ ] A. ...' or roles '- a. ...'");
    if (is_option(lines_[at_]))
      read_options(question);
    else if (is_role(lines_[at_]))
      read_matching(question);
    else
      fail(at_ + 1, "expected the answers: options '- [ ] A. ...' or roles '- a. ...'");
    quiz_.questions.push_back(std::move(question));
  }

  void skip_blank_lines() {
    while (at_ < lines_.size() && lines_[at_].empty()) ++at_;
  }

  // After the answers, only a blank line or the next question may follow.
  void expect_question_end(const char* what) {
    skip_blank_lines();
    if (at_ < lines_.size() && !starts_with(lines_[at_], "## ") && starts_with(lines_[at_], "#"))
      fail(at_ + 1, "only '## N. title' headings are allowed after the title");
    if (at_ < lines_.size() && !starts_with(lines_[at_], "## "))
      fail(at_ + 1, fmt::format("expected {} or the next question ('## N. title')", what));
  }

  void read_options(QuizQuestion& question) {
    for (;;) {
      skip_blank_lines();
      if (at_ >= lines_.size() || !is_option(lines_[at_])) break;
      const std::string& line = lines_[at_];
      QuizOption option;
      option.line = line_number();
      option.letter = static_cast<char>('A' + question.options.size());
      if (line.size() < 6 || (line[3] != ' ' && line[3] != 'x') || line[4] != ']' || line[5] != ' ')
        fail(at_ + 1, "an option starts '- [ ] ' (a wrong answer) or '- [x] ' (the right one)");
      option.right = line[3] == 'x';
      const std::string rest = line.substr(6);
      if (rest.size() < 3 || rest[0] != option.letter || rest[1] != '.' || rest[2] != ' ')
        fail(at_ + 1,
             fmt::format("expected option {0} here, as '- [ ] {0}. <text>'", option.letter));
      option.text = trim(rest.substr(3));
      if (option.text.empty()) fail(at_ + 1, "the option has no text");
      ++at_;
      read_item_tail(2, option.text, option.explanation);
      if (option.explanation.empty())
        fail(static_cast<std::size_t>(option.line),
             fmt::format("option {} has no explanation: add '  > why it is {}' under it",
                         option.letter, option.right ? "right" : "wrong, what it confuses"));
      question.options.push_back(std::move(option));
      if (question.options.size() > 6)
        fail(static_cast<std::size_t>(question.options.back().line), "at most 6 options (A to F)");
    }
    expect_question_end("another option '- [ ] X. ...'");
    if (question.options.size() < 2)
      fail(static_cast<std::size_t>(question.line), "a question needs at least 2 options");
    std::string right;
    int right_count = 0;
    for (const auto& option : question.options) {
      if (!option.right) continue;
      right += fmt::format("{}{}", right.empty() ? "" : ", ", option.letter);
      ++right_count;
    }
    if (right_count != 1)
      fail(static_cast<std::size_t>(question.line),
           right_count == 0 ? std::string("no right answer: mark exactly one option '- [x]'")
                            : fmt::format("{} right answers ({}): mark exactly one option '- [x]'",
                                          right_count, right));
  }

  void read_matching(QuizQuestion& question) {
    for (; at_ < lines_.size() && is_role(lines_[at_]); ++at_) {
      const std::string& line = lines_[at_];
      QuizRole role;
      role.line = line_number();
      role.letter = static_cast<char>('a' + question.roles.size());
      if (line[2] != role.letter || line.size() < 6 || line[4] != ' ')
        fail(at_ + 1, fmt::format("expected role {0} here, as '- {0}. <text>'", role.letter));
      role.text = trim(line.substr(5));
      if (role.text.empty()) fail(at_ + 1, "the role has no text");
      question.roles.push_back(std::move(role));
    }
    skip_blank_lines();
    std::map<char, int> used_by;
    for (;;) {
      skip_blank_lines();
      if (at_ >= lines_.size() || !is_pair(lines_[at_])) break;
      const std::string& line = lines_[at_];
      QuizPair pair;
      pair.line = line_number();
      pair.number = static_cast<int>(question.pairs.size()) + 1;
      const std::string number = fmt::format("{}. ", pair.number);
      const auto colon = line.rfind(": ");
      if (!starts_with(line, number) || colon == std::string::npos || colon < number.size() ||
          line.size() != colon + 3 || !std::islower(static_cast<unsigned char>(line.back())))
        fail(at_ + 1, fmt::format("expected item {0} here, as '{0}. <item>: <its role's letter>'",
                                  pair.number));
      pair.item = trim(line.substr(number.size(), colon - number.size()));
      pair.role = line.back();
      if (pair.item.empty()) fail(at_ + 1, "the item has no text");
      if (pair.role >= 'a' + static_cast<int>(question.roles.size()))
        fail(at_ + 1, fmt::format("there is no role {}", pair.role));
      if (auto [it, fresh] = used_by.emplace(pair.role, pair.number); !fresh)
        fail(at_ + 1, fmt::format("role {} is already the answer of item {}: every role must be "
                                  "the answer of exactly one item",
                                  pair.role, it->second));
      ++at_;
      std::string more;
      read_item_tail(number.size(), more, pair.explanation);
      if (!more.empty())
        fail(static_cast<std::size_t>(pair.line) + 1,
             fmt::format("under an item, only its explanation ('{}> ...')",
                         std::string(number.size(), ' ')));
      if (pair.explanation.empty())
        fail(static_cast<std::size_t>(pair.line),
             fmt::format("item {} has no explanation: add '{}> why it goes with {}' under it",
                         pair.number, std::string(number.size(), ' '), pair.role));
      question.pairs.push_back(std::move(pair));
    }
    expect_question_end("another item 'N. <item>: <letter>'");
    if (question.roles.size() < 2)
      fail(static_cast<std::size_t>(question.line), "a matching question needs at least 2 roles");
    if (question.roles.size() > 6)
      fail(static_cast<std::size_t>(question.line), "at most 6 roles (a to f)");
    if (question.pairs.size() != question.roles.size())
      fail(static_cast<std::size_t>(question.line),
           fmt::format("{} roles but {} items: each role is the answer of exactly one item",
                       question.roles.size(), question.pairs.size()));
    bool in_order = true;
    for (const auto& pair : question.pairs)
      in_order = in_order && pair.role == 'a' + pair.number - 1;
    if (in_order)
      fail(static_cast<std::size_t>(question.line),
           "the roles are listed in the order of their items (1a, 2b, ...): shuffle them");
  }

  std::string file_;
  std::vector<std::string> lines_;
  std::size_t at_ = 0;
  Quiz quiz_;
};

// ---------------------------------------------------------------------------------------------
// Text for the terminal: inline markup becomes bold (with colors) or disappears, paragraphs
// are wrapped.

constexpr std::size_t text_width = 80;

enum class Style { plain, strong, code };

struct Piece {
  std::string text;
  Style style = Style::plain;
};
using Word = std::vector<Piece>;

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// A '*' run opens emphasis when a non-space follows it, and closes it when a non-space precedes
// it: "2 * 3" stays as it is.
std::vector<Piece> inline_pieces(std::string_view text) {
  std::vector<Piece> pieces(1);
  std::string_view open_marker;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '`') {
      const auto end = text.find('`', i + 1);
      if (end != std::string_view::npos) {
        pieces.push_back({std::string(text.substr(i + 1, end - i - 1)), Style::code});
        pieces.push_back({});
        i = end + 1;
        continue;
      }
    }
    if (text[i] == '*') {
      const std::string_view marker = text.substr(i, text.substr(i, 2) == "**" ? 2 : 1);
      const std::size_t after = i + marker.size();
      const bool space_after = after >= text.size() || is_space(text[after]);
      const bool space_before = i == 0 || is_space(text[i - 1]);
      if (open_marker.empty() && !space_after &&
          text.find(marker, after) != std::string_view::npos) {
        open_marker = marker;
        pieces.push_back({"", Style::strong});
        i = after;
        continue;
      }
      if (open_marker == marker && !space_before) {
        open_marker = {};
        pieces.push_back({});
        i = after;
        continue;
      }
    }
    pieces.back().text += text[i];
    ++i;
  }
  return pieces;
}

std::size_t display_width(std::string_view text) { return qkv::display_columns(text); }

std::vector<Word> words_of(std::string_view text) {
  std::vector<Word> words(1);
  for (const Piece& piece : inline_pieces(text)) {
    for (char c : piece.text) {
      if (is_space(c) && piece.style != Style::code) {
        if (!words.back().empty()) words.emplace_back();
        continue;
      }
      if (words.back().empty() || words.back().back().style != piece.style)
        words.back().push_back({"", piece.style});
      words.back().back().text += c;
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

std::string styled(const Piece& piece, bool color) {
  if (!color || piece.style == Style::plain) return piece.text;
  if (piece.style == Style::strong) return fmt::format(fmt::emphasis::bold, "{}", piece.text);
  return fmt::format(fg(fmt::terminal_color::cyan), "{}", piece.text);
}

// Text without its markup, for a line that is not wrapped (titles, items in feedback).
std::string plain(std::string_view text) {
  std::string out;
  for (const Piece& piece : inline_pieces(text)) out += piece.text;
  return out;
}

// The paragraph wrapped to text_width: the first line after `first`, the others after
// `indent`. Not qkv::wrap_words: a `code span` is one word here even when it holds spaces,
// and styles are applied per piece after the words are measured.
std::string wrap(std::string_view text, std::string_view first, std::size_t indent, bool color) {
  std::string out(first);
  std::size_t column = display_width(first);
  bool line_empty = true;
  for (const Word& word : words_of(text)) {
    std::size_t width = 0;
    for (const Piece& piece : word) width += display_width(piece.text);
    if (!line_empty && column + 1 + width > text_width) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
      line_empty = true;
    }
    if (!line_empty) {
      out += ' ';
      ++column;
    }
    for (const Piece& piece : word) out += styled(piece, color);
    column += width;
    line_empty = false;
  }
  return out + "\n";
}

void print_blocks(std::ostream& out, const std::vector<QuizBlock>& blocks, std::size_t indent,
                  bool color) {
  const std::string pad(indent, ' ');
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (i > 0) out << '\n';
    if (blocks[i].code) {
      for (const auto& line : split_lines(blocks[i].text)) out << pad << "    " << line << '\n';
    } else {
      out << wrap(blocks[i].text, pad, indent, color);
    }
  }
}

std::string bold(std::string_view text, bool color) {
  return color ? fmt::format(fmt::emphasis::bold, "{}", text) : std::string(text);
}
std::string green(std::string_view text, bool color) {
  return color ? fmt::format(fg(fmt::terminal_color::green) | fmt::emphasis::bold, "{}", text)
               : std::string(text);
}
std::string red(std::string_view text, bool color) {
  return color ? fmt::format(fg(fmt::terminal_color::red) | fmt::emphasis::bold, "{}", text)
               : std::string(text);
}

// ---------------------------------------------------------------------------------------------
// Asking.

std::string lower(std::string_view text) {
  std::string out;
  for (char c : text) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_quit(std::string_view answer) {
  const std::string word = lower(trim(answer));
  return word == "q" || word == "quit";
}

// A matching answer: "cab", "c a b", "1c 2a 3b", "1-c, 2-a, 3-b". Returns the role letter
// chosen for each item, or nothing when the answer is not one letter per item.
std::optional<std::vector<char>> read_matching_answer(std::string_view answer, std::size_t items,
                                                      std::size_t roles) {
  std::string compact;
  for (char c : lower(answer))
    if (!is_space(c) && c != ',' && c != '-' && c != ':' && c != '=' && c != '>') compact += c;
  const auto valid_role = [&](char c) { return c >= 'a' && c < static_cast<char>('a' + roles); };
  std::vector<char> chosen(items, '\0');
  if (compact.size() == items && std::all_of(compact.begin(), compact.end(), valid_role)) {
    std::copy(compact.begin(), compact.end(), chosen.begin());
    return chosen;
  }
  if (compact.size() != 2 * items || items > 9) return std::nullopt;
  for (std::size_t i = 0; i < compact.size(); i += 2) {
    const int item = compact[i] - '1';
    if (item < 0 || item >= static_cast<int>(items) || !valid_role(compact[i + 1]) ||
        chosen[static_cast<std::size_t>(item)] != '\0')
      return std::nullopt;
    chosen[static_cast<std::size_t>(item)] = compact[i + 1];
  }
  return chosen;
}

enum class Outcome { right, wrong, quit };

class Asker {
 public:
  Asker(std::istream& in, std::ostream& out, bool color) : in_(in), out_(out), color_(color) {}

  // Reads one answer after `prompt`; nothing when the input ends.
  std::optional<std::string> read(std::string_view prompt) {
    out_ << prompt << std::flush;
    std::string line;
    if (!std::getline(in_, line)) {
      out_ << '\n';
      return std::nullopt;
    }
    return trim(line);
  }

  Outcome ask(const QuizQuestion& question, std::size_t count) {
    out_ << '\n'
         << bold(
                fmt::format("Question {} of {}: {}", question.number, count, plain(question.title)),
                color_)
         << '\n';
    print_blocks(out_, question.body, 0, color_);
    out_ << '\n';
    return question.matching() ? ask_matching(question) : ask_choice(question);
  }

 private:
  Outcome ask_choice(const QuizQuestion& question) {
    for (const auto& option : question.options)
      out_ << wrap(option.text, fmt::format("  {}. ", option.letter), 5, color_);
    const char last = question.options.back().letter;
    char chosen = '\0';
    while (chosen == '\0') {
      const auto answer = read(fmt::format("\nYour answer (A-{}, q to stop): ", last));
      if (!answer || is_quit(*answer)) return Outcome::quit;
      const std::string word = lower(*answer);
      if (word.size() == 1 && word[0] >= 'a' && word[0] <= lower(std::string(1, last))[0])
        chosen = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
      else
        out_ << fmt::format("Please type one letter, A to {} (or q to stop).", last) << '\n';
    }
    const auto right = std::find_if(question.options.begin(), question.options.end(),
                                    [](const QuizOption& option) { return option.right; });
    const bool correct = chosen == right->letter;
    out_ << '\n'
         << (correct
                 ? green(fmt::format("Right: {}.", chosen), color_)
                 : red(fmt::format("Not quite: the answer is {}, not {}.", right->letter, chosen),
                       color_))
         << '\n';
    // The chosen answer first, then the right one, then the others in order.
    std::vector<const QuizOption*> order;
    for (const auto& option : question.options)
      if (option.letter == chosen) order.push_back(&option);
    if (!correct) order.push_back(&*right);
    for (const auto& option : question.options)
      if (option.letter != chosen && !option.right) order.push_back(&option);
    for (const QuizOption* option : order) {
      const std::string label =
          option->right ? "right" : (option->letter == chosen ? "your answer" : "wrong");
      out_ << '\n' << bold(fmt::format("  {} ({}):", option->letter, label), color_) << '\n';
      print_blocks(out_, option->explanation, 4, color_);
    }
    return correct ? Outcome::right : Outcome::wrong;
  }

  Outcome ask_matching(const QuizQuestion& question) {
    for (const auto& pair : question.pairs)
      out_ << wrap(pair.item, fmt::format("  {}. ", pair.number), 5, color_);
    out_ << '\n';
    for (const auto& role : question.roles)
      out_ << wrap(role.text, fmt::format("  {}. ", role.letter), 5, color_);
    const std::size_t n = question.pairs.size();
    std::string example;
    for (std::size_t i = 0; i < n; ++i)
      example += fmt::format("{}{}{}", i ? " " : "", i + 1, static_cast<char>('a' + (i + 1) % n));
    std::optional<std::vector<char>> chosen;
    while (!chosen) {
      const auto answer = read(fmt::format(
          "\nYour matching, one letter per number (for example {}), q to stop: ", example));
      if (!answer || is_quit(*answer)) return Outcome::quit;
      chosen = read_matching_answer(*answer, n, question.roles.size());
      if (!chosen)
        out_ << fmt::format("Please give one letter, a to {}, for each of the {} numbers.",
                            static_cast<char>('a' + question.roles.size() - 1), n)
             << '\n';
    }
    std::size_t right = 0;
    for (std::size_t i = 0; i < n; ++i) right += (*chosen)[i] == question.pairs[i].role ? 1 : 0;
    out_ << '\n'
         << (right == n ? green(fmt::format("Right: all {} matched.", n), color_)
                        : red(fmt::format("{} of {} matched.", right, n), color_))
         << '\n';
    for (std::size_t i = 0; i < n; ++i) {
      const QuizPair& pair = question.pairs[i];
      const char given = (*chosen)[i];
      const std::string verdict =
          given == pair.role ? "right" : fmt::format("you said {}; it is {}", given, pair.role);
      out_ << '\n'
           << bold(fmt::format("  {}. {} -> {} ({}):", pair.number, plain(pair.item), pair.role,
                               verdict),
                   color_)
           << '\n';
      print_blocks(out_, pair.explanation, 4, color_);
    }
    return right == n ? Outcome::right : Outcome::wrong;
  }

  std::istream& in_;
  std::ostream& out_;
  bool color_;
};

// ---------------------------------------------------------------------------------------------
// Chapters and files.

struct Chapter {
  std::string name;  // 01_dot_product_relevance
  int number = 0;
  fs::path quiz_file;
  std::string display;  // chapters/01_dot_product_relevance/quiz.md
};

std::vector<Chapter> list_chapters(const fs::path& repo_root) {
  std::vector<Chapter> chapters;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(repo_root / "chapters", error)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.size() < 4 ||
        !std::isdigit(static_cast<unsigned char>(name[0])) ||
        !std::isdigit(static_cast<unsigned char>(name[1])) || name[2] != '_')
      continue;
    chapters.push_back({name, std::stoi(name.substr(0, 2)), entry.path() / "quiz.md",
                        "chapters/" + name + "/quiz.md"});
  }
  std::sort(chapters.begin(), chapters.end(),
            [](const Chapter& a, const Chapter& b) { return a.name < b.name; });
  return chapters;
}

// "01", "1" or the folder name.
const Chapter* find_chapter(const std::vector<Chapter>& chapters, std::string_view wanted) {
  const std::string text = trim(wanted);
  if (!text.empty() && text.size() <= 2 && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    const int number = std::stoi(text);
    for (const auto& chapter : chapters)
      if (chapter.number == number) return &chapter;
    return nullptr;
  }
  for (const auto& chapter : chapters)
    if (chapter.name == text) return &chapter;
  return nullptr;
}

std::string chapter_range(const std::vector<Chapter>& chapters) {
  if (chapters.empty()) return "there are no chapters";
  return fmt::format("the chapters are {} to {}", chapters.front().name.substr(0, 2),
                     chapters.back().name.substr(0, 2));
}

Quiz load_quiz(const Chapter& chapter) {
  std::ifstream file(chapter.quiz_file, std::ios::binary);
  if (!file)
    throw LearnError(fmt::format("{}: missing: chapter {} has no quiz", chapter.display,
                                 chapter.name.substr(0, 2)));
  std::ostringstream text;
  text << file.rdbuf();
  return parse_quiz(text.str(), chapter.display);
}

int check_quizzes(const std::vector<const Chapter*>& chapters, std::ostream& out,
                  std::ostream& err) {
  int failed = 0;
  for (const Chapter* chapter : chapters) {
    try {
      const Quiz quiz = load_quiz(*chapter);
      std::size_t matching = 0;
      for (const auto& question : quiz.questions) matching += question.matching() ? 1 : 0;
      out << fmt::format(
          "{}: {} questions ({} matching), each with one right answer and every "
          "answer explained\n",
          chapter->display, quiz.questions.size(), matching);
    } catch (const LearnError& error) {
      err << error.what() << '\n';
      ++failed;
    }
  }
  if (failed > 0) {
    err << fmt::format("qkv-learn quiz --check: {} of {} quiz files need fixing\n", failed,
                       chapters.size());
    return 1;
  }
  return 0;
}

int ask_quiz(const Chapter& chapter, const Quiz& quiz, std::istream& in, std::ostream& out,
             bool color) {
  out << bold(plain(quiz.title), color) << '\n';
  if (!quiz.intro.empty()) {
    out << '\n';
    print_blocks(out, quiz.intro, 0, color);
  }
  out << fmt::format("\n{} questions. Type your answer and press Enter; q stops.\n",
                     quiz.questions.size());
  Asker asker(in, out, color);
  std::size_t asked = 0, right = 0;
  std::vector<const QuizQuestion*> missed;
  for (const auto& question : quiz.questions) {
    const Outcome outcome = asker.ask(question, quiz.questions.size());
    if (outcome == Outcome::quit) break;
    ++asked;
    if (outcome == Outcome::right)
      ++right;
    else
      missed.push_back(&question);
  }
  out << '\n';
  if (asked < quiz.questions.size())
    out << fmt::format("Stopped after {} of {} questions: {} right.\n", asked,
                       quiz.questions.size(), right);
  else
    out << bold(fmt::format("{} of {} right.", right, asked), color) << '\n';
  if (!missed.empty()) {
    std::string list;
    for (const QuizQuestion* question : missed)
      list += fmt::format("{}{} ({})", list.empty() ? "" : ", ", question->number,
                          plain(question->title));
    out << wrap(fmt::format("Worth another look: {}. The chapter's text is chapters/{}/README.md.",
                            list, chapter.name),
                "", 0, color);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The docs page.

// Doxygen reads '\', '@' and '%' as commands and '<' as the start of an HTML tag, in text but
// not in code spans.
std::string doxygen_text(std::string_view text) {
  std::string out;
  bool in_code = false;
  for (char c : text) {
    if (c == '`') in_code = !in_code;
    if (!in_code && (c == '\\' || c == '@' || c == '%'))
      out += std::string("\\") + c;
    else if (!in_code && c == '<')
      out += "&lt;";
    else
      out += c;
  }
  return out;
}

void markdown_blocks(std::string& out, const std::vector<QuizBlock>& blocks) {
  for (const auto& block : blocks) {
    if (block.code)
      out += "```\n" + block.text + "\n```\n\n";
    else
      out += doxygen_text(block.text) + "\n\n";
  }
}

// Blocks as the text of a list item: the first paragraph on the item's line, the rest
// indented under it.
std::string markdown_item(const std::vector<QuizBlock>& blocks) {
  std::string out;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (i > 0) out += "\n\n  ";
    out += blocks[i].code ? "`" + blocks[i].text + "`" : doxygen_text(blocks[i].text);
  }
  return out;
}

}  // namespace

// The format of chapters/NN_name/quiz.md:
//
//   # Chapter 1 quiz: Dot-product relevance        the title, first line
//
//   An optional introduction (paragraphs).
//
//   ## 1. A short title                           questions numbered from 1, 4 to 6 of them
//
//   The question: paragraphs and ``` code blocks.
//
//   - [ ] A. A wrong answer.                       options A, B, ...: exactly one is [x]
//     > What it confuses (a block quote under    every option explained
//     > the option; '  >' alone between paragraphs).
//   - [x] B. The right answer, whose text may
//     go on, indented, on the next lines.
//     > Why it is right.
//
//   ## 2. A matching question
//
//   Match each vector to its role.
//
//   - a. what it hands over once found             roles a, b, ..., listed in any order
//   - b. what is being looked for                  but not the order of their items
//
//   1. query: b                                    items 1, 2, ...: each names its role,
//      > Why the query goes with b.                each role the answer of one item,
//   2. value: a                                    every item explained
//      > ...
Quiz parse_quiz(std::string_view text, const std::string& file_name) {
  return QuizParser(text, file_name).parse();
}

std::string quiz_markdown(const Quiz& quiz, int chapter_number) {
  const std::string page = fmt::format("ch{:02}_quiz", chapter_number);
  std::string out = fmt::format("# {} {{#{}}}\n\n", doxygen_text(quiz.title), page);
  markdown_blocks(out, quiz.intro);
  out += fmt::format(
      "In a terminal, `build/dev/bin/qkv-learn quiz {:02}` asks these questions one at a time "
      "and explains every answer. Here, each answer is folded under its question.\n\n",
      chapter_number);
  for (const auto& question : quiz.questions) {
    out += fmt::format("## {}. {} {{#{}_{}}}\n\n", question.number, doxygen_text(question.title),
                       page, question.number);
    markdown_blocks(out, question.body);
    if (question.matching()) {
      for (const auto& pair : question.pairs)
        out += fmt::format("- **{}.** {}\n", pair.number, doxygen_text(pair.item));
      out += "\n";
      for (const auto& role : question.roles)
        out += fmt::format("- **{}.** {}\n", role.letter, doxygen_text(role.text));
    } else {
      for (const auto& option : question.options)
        out += fmt::format("- **{}.** {}\n", option.letter, doxygen_text(option.text));
    }
    // [block] keeps Doxygen from wrapping the tags in paragraphs of their own.
    out += "\n\\htmlonly[block]<details><summary>Answer</summary>\\endhtmlonly\n\n";
    if (question.matching()) {
      std::string answer;
      for (const auto& pair : question.pairs)
        answer += fmt::format("{}{}{}", answer.empty() ? "" : ", ", pair.number, pair.role);
      out += fmt::format("**{}**\n\n", answer);
      for (const auto& pair : question.pairs)
        out += fmt::format("- **{}. {} → {}:** {}\n", pair.number, doxygen_text(pair.item),
                           pair.role, markdown_item(pair.explanation));
    } else {
      for (const auto& option : question.options)
        if (option.right) out += fmt::format("**{}** is right.\n\n", option.letter);
      for (const auto& option : question.options)
        out += fmt::format("- **{} ({}):** {}\n", option.letter, option.right ? "right" : "wrong",
                           markdown_item(option.explanation));
    }
    out += "\n\\htmlonly[block]</details>\\endhtmlonly\n\n";
  }
  return out;
}

int run_quiz(const QuizRequest& request, const fs::path& repo_root, std::istream& in,
             std::ostream& out, std::ostream& err, bool color) {
  const std::vector<Chapter> chapters = list_chapters(repo_root);
  if (chapters.empty()) {
    err << fmt::format("qkv-learn: error: quiz: no chapters in {}\n",
                       (repo_root / "chapters").string());
    return 2;
  }
  if (request.check && request.markdown) {
    err << "qkv-learn: error: quiz: --check and --markdown do not go together\n";
    return 2;
  }
  const Chapter* chapter = nullptr;
  if (request.chapter) {
    chapter = find_chapter(chapters, *request.chapter);
    if (chapter == nullptr) {
      err << fmt::format("qkv-learn: error: quiz: there is no chapter '{}': {}\n", *request.chapter,
                         chapter_range(chapters));
      return 2;
    }
  }
  if (request.check) {
    std::vector<const Chapter*> which;
    for (const auto& c : chapters)
      if (chapter == nullptr || &c == chapter) which.push_back(&c);
    return check_quizzes(which, out, err);
  }
  if (request.markdown && chapter == nullptr) {
    err << "qkv-learn: error: quiz: --markdown needs a chapter, e.g. qkv-learn quiz 01 "
           "--markdown\n";
    return 2;
  }
  if (chapter == nullptr) {
    out << "Which chapter's quiz?\n";
    for (const auto& c : chapters) out << "  " << c.name << '\n';
    Asker asker(in, out, color);
    while (chapter == nullptr) {
      const auto answer = asker.read(
          fmt::format("Chapter ({} to {}, q to stop): ", chapters.front().name.substr(0, 2),
                      chapters.back().name.substr(0, 2)));
      if (!answer || is_quit(*answer)) {
        err << "qkv-learn: error: quiz: no chapter chosen\n";
        return 2;
      }
      chapter = find_chapter(chapters, *answer);
      if (chapter == nullptr) out << fmt::format("There is no chapter '{}'.\n", *answer);
    }
    out << '\n';
  }
  try {
    const Quiz quiz = load_quiz(*chapter);
    if (request.markdown) {
      out << quiz_markdown(quiz, chapter->number);
      return 0;
    }
    return ask_quiz(*chapter, quiz, in, out, color);
  } catch (const LearnError& error) {
    err << error.what() << '\n';
    return 1;
  }
}

}  // namespace qkv::learn
