// Tests of the chapter quizzes (quiz.hpp): the reader of quiz.md on canned text, good and
// malformed; a quiz asked through string streams; the docs page; and `--check` over the real
// chapters/*/quiz.md.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "learn.hpp"
#include "qkv/catch.hpp"
#include "qkv/process.hpp"
#include "quiz.hpp"

namespace fs = std::filesystem;
using qkv::learn::LearnError;
using qkv::learn::parse_quiz;
using qkv::learn::Quiz;
using qkv::learn::QuizRequest;
using qkv::learn::run_quiz;
using qkv::testing::contains;
using qkv::testing::contains_all;

namespace {

// Four questions: two multiple choice, one with a code block, one matching.
const std::string good_quiz = R"(# Chapter 9 quiz: Testing

An introduction, on
two lines.

## 1. First

Which letter comes first?

- [ ] A. The letter b.
  > b comes second.
- [x] B. The letter a, whose text
  goes on here.
  > a comes first.
  >
  > A second paragraph.
- [ ] C. The letter z.
  > z comes last.

## 2. Second

Pick B.

```
a code block
  indented
```

- [ ] A. Not this one.
  > No.
- [x] B. This one.
  > Yes.

## 3. Matching

Match the vectors.

- a. what it hands over
- b. what is looked for
- c. what it is found by

1. query: b
   > The query looks.
2. key: c
   > The key is found.
3. value: a
   > The value is handed over.

## 4. Fourth

Pick A.

- [x] A. This one.
  > Yes.
- [ ] B. Not this one.
  > No.
)";

// `text` with `from` replaced by `to` (which must occur exactly once).
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  REQUIRE(text.find(from, at + 1) == std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}
std::string with(const std::string& from, const std::string& to) {
  return replaced(good_quiz, from, to);
}

// The message parse_quiz throws for `text`, or "" when it accepts it.
std::string parse_error(const std::string& text) {
  try {
    parse_quiz(text, "chapters/09_test/quiz.md");
  } catch (const LearnError& error) {
    return error.what();
  }
  return "";
}

// A repository with chapters 08 and 09 (quiz.md = `quiz_text` in 09) under the build folder.
fs::path fake_repo(const std::string& name, const std::string& quiz_text) {
  const fs::path root = fs::path(QKV_QUIZ_SCRATCH) / name;
  fs::remove_all(root);
  fs::create_directories(root / "chapters" / "09_test");
  fs::create_directories(root / "chapters" / "08_other");
  std::ofstream(root / "chapters" / "09_test" / "quiz.md") << quiz_text;
  std::ofstream(root / "chapters" / "08_other" / "quiz.md") << with("Testing", "Other");
  return root;
}

struct Run {
  int exit_code;
  std::string out, err;
};

Run run(const QuizRequest& request, const fs::path& root, const std::string& input,
        bool color = false) {
  std::istringstream in(input);
  std::ostringstream out, err;
  const int code = run_quiz(request, root, in, out, err, color);
  return {code, out.str(), err.str()};
}

QuizRequest chapter(const std::string& which) {
  QuizRequest request;
  request.chapter = which;
  return request;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a well-formed quiz is read entry by entry", "[quiz]") {
  const Quiz quiz = parse_quiz(good_quiz, "quiz.md");
  CHECK(quiz.title == "Chapter 9 quiz: Testing");
  REQUIRE(quiz.intro.size() == 1);
  CHECK(quiz.intro[0].text == "An introduction, on two lines.");
  REQUIRE(quiz.questions.size() == 4);

  const auto& first = quiz.questions[0];
  CHECK(first.number == 1);
  CHECK(first.title == "First");
  CHECK(first.line == 6);
  CHECK_FALSE(first.matching());
  REQUIRE(first.options.size() == 3);
  CHECK(first.options[1].letter == 'B');
  CHECK(first.options[1].right);
  CHECK_FALSE(first.options[0].right);
  CHECK(first.options[1].text == "The letter a, whose text goes on here.");
  CHECK(first.options[1].line == 12);
  REQUIRE(first.options[1].explanation.size() == 2);
  CHECK(first.options[1].explanation[0].text == "a comes first.");
  CHECK(first.options[1].explanation[1].text == "A second paragraph.");

  const auto& second = quiz.questions[1];
  REQUIRE(second.body.size() == 2);
  CHECK(second.body[1].code);
  CHECK(second.body[1].text == "a code block\n  indented");

  const auto& matching = quiz.questions[2];
  CHECK(matching.matching());
  REQUIRE(matching.roles.size() == 3);
  CHECK(matching.roles[2].text == "what it is found by");
  REQUIRE(matching.pairs.size() == 3);
  CHECK(matching.pairs[0].item == "query");
  CHECK(matching.pairs[0].role == 'b');
  CHECK(matching.pairs[2].role == 'a');
  CHECK(matching.pairs[1].explanation.at(0).text == "The key is found.");
}

TEST_CASE("a malformed entry is reported with its file and line", "[quiz]") {
  const std::string file = "chapters/09_test/quiz.md:";
  struct Case {
    const char* what;
    std::string text;
    int line;
    const char* message;
  };
  const std::vector<Case> cases{
      {"two right answers", with("- [ ] C. The letter z.", "- [x] C. The letter z."), 6,
       "2 right answers (B, C)"},
      {"no right answer", with("- [x] A. This one.", "- [ ] A. This one."), 49, "no right answer"},
      {"an option without explanation", with("  > z comes last.\n", ""), 17,
       "option C has no explanation"},
      {"letters out of order", with("- [ ] C. The letter z.", "- [ ] D. The letter z."), 17,
       "expected option C"},
      {"a bad checkbox", with("- [ ] C. The letter z.", "- [y] C. The letter z."), 17,
       "an option starts '- [ ] '"},
      {"questions out of order", with("## 2. Second", "## 3. Second"), 20, "expected question 2"},
      {"a heading of another level", with("## 4. Fourth", "### 4. Fourth"), 49,
       "only '## N. title' headings"},
      {"no title", good_quiz.substr(good_quiz.find('\n') + 1), 1, "must start with its title"},
      {"text after the options", with("  > z comes last.\n", "  > z comes last.\n\nStray.\n"), 20,
       "expected another option"},
      {"a role used twice", with("3. value: a", "3. value: b"), 46, "role b is already"},
      {"a role that does not exist", with("3. value: a", "3. value: d"), 46, "no role d"},
      {"fewer items than roles", with("3. value: a\n   > The value is handed over.\n", ""), 34,
       "3 roles but 2 items"},
      {"roles in the order of their items",
       replaced(replaced(with("1. query: b", "1. query: a"), "2. key: c", "2. key: b"),
                "3. value: a", "3. value: c"),
       34, "shuffle them"},
      {"an item without explanation", with("   > The key is found.\n", ""), 44,
       "item 2 has no explanation"},
      {"a question without answers",
       with("Pick A.\n\n- [x] A. This one.\n  > Yes.\n- [ ] B. "
            "Not this one.\n  > No.\n",
            "Pick A.\n"),
       49, "no answers"},
      {"an unclosed code block", with("  indented\n```\n", "  indented\n"), 24, "never closed"},
      {"three questions", good_quiz.substr(0, good_quiz.find("## 4.")), 1,
       "3 questions; a chapter's quiz has 4 to 6"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const std::string message = parse_error(c.text);
    CHECK_THAT(message, contains(file + std::to_string(c.line) + ": "));
    CHECK_THAT(message, contains(c.message));
  }
  CHECK(parse_error(good_quiz).empty());
  // A line of text that starts like an item ("2. ") is text when no roles came before it.
  CHECK(parse_error(with("Pick A.\n", "Pick A, the first of\n2. options.\n")).empty());
}

TEST_CASE("a quiz asks every question and explains every answer", "[quiz]") {
  const fs::path root = fake_repo("ask", good_quiz);
  // Question 1 wrong (A), 2 right after an invalid answer, 3 matched by letters, 4 right.
  const Run result = run(chapter("9"), root, "a\nx\nb\nbca\nA\n");
  INFO(result.out << result.err);
  CHECK(result.exit_code == 0);
  CHECK(result.err.empty());
  CHECK_THAT(result.out, contains("Question 1 of 4: First"));
  CHECK_THAT(result.out, contains("Not quite: the answer is B, not A."));
  // Every option's explanation is shown, the chosen one first, then the right one.
  const auto chosen = result.out.find("b comes second.");
  const auto right = result.out.find("a comes first.");
  const auto other = result.out.find("z comes last.");
  CHECK(chosen != std::string::npos);
  CHECK(right > chosen);
  CHECK(other > right);
  CHECK(other != std::string::npos);
  CHECK_THAT(result.out,
             contains_all(
                 {"  A (your answer):\n", "  B (right):\n", "Please type one letter, A to B",
                  "Right: B.", "    a code block\n      indented\n", "Right: all 3 matched.",
                  "The value is handed over.", "3 of 4 right.", "Worth another look: 1 (First)."}));
  CHECK(count(result.out, "\033[") == 0);
}

TEST_CASE("a matching answer is read in several spellings, and wrong pairs are named", "[quiz]") {
  const fs::path root = fake_repo("matching", good_quiz);
  for (const std::string answer : {"b c a", "1b 2c 3a", "3a, 1b, 2c", "1-b 2-c 3-a"}) {
    INFO(answer);
    const Run result = run(chapter("09"), root, "b\nb\n" + answer + "\na\n");
    CHECK_THAT(result.out, contains("Right: all 3 matched."));
    CHECK_THAT(result.out, contains("4 of 4 right."));
  }
  const Run wrong = run(chapter("09"), root, "b\nb\nbb\nabc\nb c a\na\n");
  CHECK_THAT(wrong.out, contains("Please give one letter, a to c, for each of the 3 numbers."));
  CHECK(count(wrong.out, "Please give one letter") == 1);
  const Run swapped = run(chapter("09"), root, "b\nb\nb a c\na\n");
  CHECK_THAT(swapped.out, contains_all({"1 of 3 matched.", "2. key -> c (you said a; it is c):\n",
                                        "1. query -> b (right):"}));
  // Markup in an item or a title is not shown as it is.
  const fs::path marked = fake_repo(
      "marked", replaced(with("1. query: b", "1. `query`: b"), "## 1. First", "## 1. *First*"));
  const Run shown = run(chapter("09"), marked, "a\nb\nb a c\na\n");
  CHECK_THAT(shown.out, contains_all({"Question 1 of 4: First\n", "  1. query -> b (right):\n",
                                      "Worth another look: 1 (First), 3 (Matching)."}));
  CHECK_THAT(swapped.out, contains("3 of 4 right."));
}

TEST_CASE("q or the end of the input stops a quiz with the score so far", "[quiz]") {
  const fs::path root = fake_repo("stop", good_quiz);
  const Run quit = run(chapter("09_test"), root, "b\nq\n");
  CHECK(quit.exit_code == 0);
  CHECK_THAT(quit.out, contains("Stopped after 1 of 4 questions: 1 right."));
  CHECK(count(quit.out, "Question 3 of 4") == 0);
  const Run ended = run(chapter("09_test"), root, "b\nb\n");
  CHECK(ended.exit_code == 0);
  CHECK_THAT(ended.out, contains("Stopped after 2 of 4 questions: 2 right."));
}

TEST_CASE("a quiz without a chapter asks which one", "[quiz]") {
  const fs::path root = fake_repo("which", good_quiz);
  const Run result = run(QuizRequest{}, root, "7\n9\nb\nb\nbca\na\n");
  INFO(result.out << result.err);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, contains_all({"  08_other\n  09_test\n", "Chapter (08 to 09, q to stop): ",
                                       "There is no chapter '7'.", "Chapter 9 quiz: Testing",
                                       "4 of 4 right."}));
  const Run none = run(QuizRequest{}, root, "");
  CHECK(none.exit_code == 2);
  CHECK_THAT(none.err, contains("no chapter chosen"));
}

TEST_CASE("a bad request exits 2 and says why", "[quiz]") {
  const fs::path root = fake_repo("bad", good_quiz);
  for (const std::string which : {"7", "10", "x", "09_tes", ""}) {
    INFO(which);
    const Run result = run(chapter(which), root, "");
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err,
               contains("there is no chapter '" + which + "': the chapters are 08 to 09"));
  }
  QuizRequest markdown;
  markdown.markdown = true;
  const Run no_chapter = run(markdown, root, "");
  CHECK(no_chapter.exit_code == 2);
  CHECK_THAT(no_chapter.err, contains("--markdown needs a chapter"));
  QuizRequest both = chapter("09");
  both.markdown = both.check = true;
  CHECK(run(both, root, "").exit_code == 2);
  CHECK(run(chapter("09"), root / "nowhere", "").exit_code == 2);
}

TEST_CASE("the check names every malformed or missing quiz file and exits 1", "[quiz]") {
  QuizRequest check;
  check.check = true;
  const fs::path good = fake_repo("check_good", good_quiz);
  const Run passed = run(check, good, "");
  CHECK(passed.exit_code == 0);
  CHECK_THAT(passed.out, contains("chapters/09_test/quiz.md: 4 questions (1 matching)"));
  CHECK_THAT(passed.out, contains("chapters/08_other/quiz.md: 4 questions"));

  const fs::path bad = fake_repo("check_bad", with("- [ ] C. The letter z.", "- [x] C. Z."));
  fs::create_directories(bad / "chapters" / "10_missing");
  const Run failed = run(check, bad, "");
  CHECK(failed.exit_code == 1);
  CHECK_THAT(failed.err, contains("chapters/09_test/quiz.md:6: question 1 has") ||
                             contains("chapters/09_test/quiz.md:6: 2 right answers"));
  CHECK_THAT(failed.err, contains("chapters/10_missing/quiz.md: missing"));
  CHECK_THAT(failed.err, contains("2 of 3 quiz files need fixing"));
  CHECK_THAT(failed.out, contains("chapters/08_other/quiz.md: 4 questions"));
  // One chapter only.
  QuizRequest one = check;
  one.chapter = "8";
  CHECK(run(one, bad, "").exit_code == 0);
  // Running a malformed quiz names the entry too.
  const Run asked = run(chapter("09"), bad, "");
  CHECK(asked.exit_code == 1);
  CHECK_THAT(asked.err, contains("chapters/09_test/quiz.md:6: 2 right answers"));
}

TEST_CASE("colors appear only when asked for", "[quiz]") {
  const fs::path root = fake_repo("color", good_quiz);
  const Run plain = run(chapter("09"), root, "a\nb\nbca\na\n", false);
  const Run colored = run(chapter("09"), root, "a\nb\nbca\na\n", true);
  CHECK(count(plain.out, "\033[") == 0);
  CHECK(count(colored.out, "\033[") > 10);
}

TEST_CASE("inline markup is shown without its markers, and paragraphs are wrapped", "[quiz]") {
  const std::string long_body =
      "A *very* long question about `sqrt(d_head)` and **strong** words, 2 * 3 = 6, that goes "
      "on and on beyond eighty columns so that it must be wrapped onto a second line.";
  const fs::path root = fake_repo("markup", with("Which letter comes first?", long_body));
  const Run result = run(chapter("09"), root, "q\n");
  CHECK_THAT(result.out, contains("A very long question about sqrt(d_head) and strong words, "
                                  "2 * 3 = 6, that goes\non and on"));
  for (const auto& line : qkv::learn::split_lines(result.out)) {
    INFO(line);
    CHECK(line.size() <= 80);
  }
}

TEST_CASE("the docs page folds every answer in a <details> block", "[quiz]") {
  const fs::path root = fake_repo("markdown", good_quiz);
  QuizRequest request = chapter("09");
  request.markdown = true;
  const Run result = run(request, root, "");
  REQUIRE(result.exit_code == 0);
  const std::string& page = result.out;
  CHECK_THAT(page, contains("# Chapter 9 quiz: Testing {#ch09_quiz}\n"));
  CHECK_THAT(page, contains("## 3. Matching {#ch09_quiz_3}\n"));
  CHECK(count(page, "\\htmlonly[block]<details><summary>Answer</summary>\\endhtmlonly") == 4);
  CHECK(count(page, "\\htmlonly[block]</details>\\endhtmlonly") == 4);
  CHECK(count(page, "[x]") == 0);
  // The right answer and the explanations come after the <details> of their question only.
  const auto question = page.find("## 1. First");
  const auto details = page.find("<details>", question);
  CHECK(page.find("**B** is right.") > details);
  CHECK(page.find("a comes first.") > details);
  CHECK(page.find("b comes second.") > details);
  CHECK_THAT(page, contains_all({"- **1. query → b:** The query looks.", "**1b, 2c, 3a**",
                                 "- **B (right):** a comes first.\n\n  A second paragraph.\n"}));
}

TEST_CASE("the docs pages of the real quizzes render in Doxygen without a warning",
          "[quiz][doxygen]") {
  const std::string doxygen = QKV_DOXYGEN;
  if (doxygen.empty()) {
    WARN("doxygen is not installed: the rendering of the quiz pages is not checked");
    return;
  }
  const fs::path dir = fs::path(QKV_QUIZ_SCRATCH) / "doxygen";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<std::string> pages;
  for (int number = 1; number <= 6; ++number) {
    QuizRequest request = chapter(std::to_string(number));
    request.markdown = true;
    const Run result = run(request, QKV_SOURCE_DIR, "");
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    const std::string name = "quiz" + std::to_string(number) + ".md";
    std::ofstream(dir / name) << result.out;
    pages.push_back(name);
  }
  std::string input;
  for (const auto& page : pages) input += " " + page;
  std::ofstream(dir / "Doxyfile") << "INPUT =" << input << "\nOUTPUT_DIRECTORY = out\n"
                                  << "GENERATE_LATEX = NO\nHAVE_DOT = NO\nQUIET = YES\n"
                                  << "WARN_AS_ERROR = FAIL_ON_WARNINGS\n";
  const auto result = qkv::testing::run_process(
      {"/bin/sh", "-c", "cd '" + dir.string() + "' && '" + doxygen + "' Doxyfile"});
  INFO(result.out << result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(result.err.empty());
  std::ifstream html(dir / "out" / "html" / "ch01_quiz.html");
  std::stringstream text;
  text << html.rdbuf();
  CHECK_THAT(text.str(), contains("<details><summary>Answer</summary>"));
  CHECK(count(text.str(), "<p ><details>") == 0);
}

TEST_CASE("every chapter's quiz passes --check", "[quiz]") {
  QuizRequest check;
  check.check = true;
  const Run result = run(check, QKV_SOURCE_DIR, "");
  INFO(result.out << result.err);
  CHECK(result.exit_code == 0);
  CHECK(result.err.empty());
  CHECK(count(result.out, "quiz.md: ") >= 6);
}
