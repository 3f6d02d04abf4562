#pragma once
// The chapter quizzes: `qkv-learn quiz [NN]`. One file per chapter, chapters/NN_name/quiz.md,
// in a Markdown format that reads well as it is (the format is described in quiz.cpp, above
// parse_quiz); a strict reader that names file:line of any malformed entry; the questions
// asked in a terminal, each answer explained; and the docs page, answers folded away.
// Stateless: nothing is stored between runs.

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qkv::learn {

/// A paragraph of text (Markdown inline markup: *emphasis*, **strong**, `code`), or a fenced
/// code block, shown as it is.
struct QuizBlock {
  bool code = false;
  std::string text;  ///< a paragraph's lines joined by spaces; a code block's lines by '\n'
};

/// One answer of a multiple-choice question, with why it is right or what it confuses.
struct QuizOption {
  char letter = 'A';
  std::string text;
  std::vector<QuizBlock> explanation;
  bool right = false;
  int line = 0;
};

/// A matching question: items 1, 2, ... are matched to roles a, b, ...
struct QuizRole {
  char letter = 'a';
  std::string text;
  int line = 0;
};
struct QuizPair {
  int number = 1;
  std::string item;
  char role = 'a';  ///< the right role of this item
  std::vector<QuizBlock> explanation;
  int line = 0;
};

struct QuizQuestion {
  int number = 1;
  std::string title;
  std::vector<QuizBlock> body;
  std::vector<QuizOption> options;  ///< multiple choice; empty for a matching question
  std::vector<QuizRole> roles;      ///< matching; empty for multiple choice
  std::vector<QuizPair> pairs;
  int line = 0;
  [[nodiscard]] bool matching() const { return !pairs.empty(); }
};

struct Quiz {
  std::string title;
  std::vector<QuizBlock> intro;
  std::vector<QuizQuestion> questions;
};

/// The fewest and most questions a chapter's quiz may have.
inline constexpr std::size_t min_quiz_questions = 4;
inline constexpr std::size_t max_quiz_questions = 6;

/// Reads a quiz file's text. Throws LearnError "<file_name>:<line>: <what is wrong>" on the
/// first malformed entry: a question without exactly one right answer, an option or pairing
/// without an explanation, roles that are not matched one to one, fewer than 4 or more than 6
/// questions, text where the format does not allow it.
Quiz parse_quiz(std::string_view text, const std::string& file_name);

/// The docs page of a quiz, for Doxygen 1.9.4: the questions, and each answer with its
/// explanations folded in a <details> block. `chapter_number` names the page `chNN_quiz`.
std::string quiz_markdown(const Quiz& quiz, int chapter_number);

struct QuizRequest {
  std::optional<std::string> chapter;  ///< "01", "1" or "01_dot_product_relevance"; empty: ask
  bool check = false;     ///< verify every quiz file: one right answer, an explanation per option
  bool markdown = false;  ///< print the docs page of `chapter` (answers folded in <details>)
};

/// Runs a quiz (questions on `out`, answers read from `in`), checks the quiz files, or prints
/// a docs page. Colors only when `color` is true. Returns the exit code: 0 ok, 1 a quiz file
/// is malformed or missing, 2 a bad request (no such chapter, --markdown without a chapter).
int run_quiz(const QuizRequest& request, const std::filesystem::path& repo_root, std::istream& in,
             std::ostream& out, std::ostream& err, bool color);

}  // namespace qkv::learn
