#!/usr/bin/env python3
"""docs/chapter_text.py on small made-up chapters: each kind of drift is caught, a chapter in
step passes, and the Doxygen translation keeps code, line numbers and page ids right."""

import os
import pathlib
import stat
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "docs"))
import chapter_text  # noqa: E402

MAIN_CPP = """\
int main() {
  //! [sum]
  // Adds them up.
  const int total = 1 + 2;
  //! [sum]
  return total;
}
"""

README = """\
# Chapter 99: Fake

Flags: `--tokens T` (1 to 64, default 6), `--json`, `--svg DIR`, `--help`.

The cost is $O(T^2)$, and `$HOME` is not math.

$$
S = \\frac{Q K^\\top}{\\sqrt{d}}
$$

<!-- snippet: chapters/99_fake/main.cpp sum -->
```cpp
// Adds them up.
const int total = 1 + 2;
```

```sh
echo $PATH
```

![a.svg: the figure](figures/a.svg)

<!-- table: decode_benchmark.html -->

## `--json` keys

- `a`, `b`: two numbers.
- `c`: a third,
  on two lines.
"""

# A chapter executable: --help in the layout given by HELP, --json, --svg DIR.
FAKE_EXE = """\
#!/bin/sh
case "$1" in
  --help) cat "$(dirname "$0")/help.txt" ;;
  --json) echo '{"a": 1, "b": [2], "c": {"d": 3}}' ;;
  --svg) printf '<svg>a</svg>\\n' > "$2/a.svg" ;;
  *) exit 2 ;;
esac
"""

CLI11_HELP = """\
Chapter 99: fake
Usage: 99_fake [OPTIONS]

Options:
  -h,--help                   Print this help message and exit
  --json                      print one JSON object (see --svg too)
  --svg DIR                   write the chapter's figures as SVG into this folder
  --tokens INT:INT in [1 - 64]=6
                              number of tokens T
"""

# The layout task `kit` moves to: the comparison must not depend on it.
PLAIN_HELP = """\
Chapter 99: fake

  --tokens N   tokens in the sequence (1 to 64, default 6)
  --json       print one JSON object
  --svg DIR    write the figures
  -h, --help   this help
"""


class ChapterCheck(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = pathlib.Path(self.tmp.name)
        self.chapter = self.root / "chapters" / "99_fake"
        (self.chapter / "figures").mkdir(parents=True)
        (self.chapter / "main.cpp").write_text(MAIN_CPP)
        (self.chapter / "README.md").write_text(README)
        (self.chapter / "figures" / "a.svg").write_text("<svg>a</svg>\n")
        self.bin = self.root / "bin"
        self.bin.mkdir()
        exe = self.bin / "99_fake"
        exe.write_text(FAKE_EXE)
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
        (self.bin / "help.txt").write_text(CLI11_HELP)

    def tearDown(self):
        self.tmp.cleanup()

    def problems(self):
        found = chapter_text.Problems()
        chapter_text.check_chapter(self.root, self.bin, "99_fake", found)
        return found

    def edit(self, path, old, new):
        text = path.read_text()
        self.assertIn(old, text)
        path.write_text(text.replace(old, new))

    def assertOneProblem(self, words):
        found = self.problems()
        self.assertEqual(len(found), 1, f"expected one problem with '{words}', got {found}")
        self.assertIn(words, found[0])

    def test_a_chapter_in_step_passes(self):
        self.assertEqual(self.problems(), [])

    def test_the_help_layout_does_not_matter(self):
        (self.bin / "help.txt").write_text(PLAIN_HELP)
        self.assertEqual(self.problems(), [])

    def test_a_code_block_that_differs_from_its_snippet(self):
        self.edit(self.chapter / "main.cpp", "1 + 2", "1 + 2 + 3")
        self.assertOneProblem("differs from chapters/99_fake/main.cpp [sum]")

    def test_a_snippet_the_source_does_not_have(self):
        self.edit(self.chapter / "README.md", "main.cpp sum -->", "main.cpp total -->")
        self.assertOneProblem("has 0 lines '//! [total]'")

    def test_a_cpp_block_without_a_marker(self):
        self.edit(self.chapter / "README.md", "<!-- snippet: chapters/99_fake/main.cpp sum -->\n",
                  "")
        self.assertOneProblem("a C++ code block without a marker")

    def test_a_marker_without_its_block(self):
        self.edit(self.chapter / "README.md", "main.cpp sum -->\n```cpp",
                  "main.cpp sum -->\n\n```cpp")
        found = self.problems()
        self.assertTrue(any("a snippet marker with no fenced code block" in p for p in found),
                        found)

    def test_update_brings_code_and_figures_back_in_step(self):
        self.edit(self.chapter / "main.cpp", "1 + 2", "1 + 2 + 3")
        (self.chapter / "figures" / "a.svg").write_text("<svg>old</svg>\n")
        (self.chapter / "figures" / "gone.svg").write_text("<svg/>")
        self.assertEqual(len(self.problems()), 4)  # the code, a.svg, gone.svg drawn, shown
        args = ["update", "--root", str(self.root), "--bin", str(self.bin), "99_fake"]
        self.assertEqual(chapter_text.main(args), 0)
        self.assertEqual(self.problems(), [])
        self.assertIn("const int total = 1 + 2 + 3;", (self.chapter / "README.md").read_text())

    def test_a_figure_link_to_nothing(self):
        self.edit(self.chapter / "README.md", "](figures/a.svg)", "](figures/a.svg)\n"
                  "![b](figures/b.svg)")
        self.assertOneProblem("the figure link figures/b.svg points at nothing")

    def test_a_committed_figure_that_differs_from_the_drawing(self):
        (self.chapter / "figures" / "a.svg").write_text("<svg>old</svg>\n")
        self.assertOneProblem("differs from what '99_fake --svg' draws now")

    def test_a_figure_no_longer_drawn(self):
        (self.chapter / "figures" / "gone.svg").write_text("<svg/>")
        found = self.problems()
        self.assertTrue(any("no longer draws it" in p for p in found), found)

    def test_a_flag_the_readme_does_not_list(self):
        self.edit(self.chapter / "README.md", "`--json`, ", "")
        self.assertOneProblem("the program has --json, which the README does not list")

    def test_a_flag_the_program_does_not_have(self):
        self.edit(self.chapter / "README.md", "`--help`.", "`--help`, `--heads H`.")
        self.assertOneProblem("the README lists --heads, which the program does not have")

    def test_a_json_key_missing_from_the_list(self):
        self.edit(self.chapter / "README.md", "- `c`: a third,", "- a third,")
        self.assertOneProblem("the program has c, which the README does not list")

    def test_a_json_key_the_program_does_not_write(self):
        self.edit(self.chapter / "README.md", "- `a`, `b`:", "- `a`, `b`, `e`:")
        self.assertOneProblem("the README lists e, which the program does not have")

    def test_doxygen_source_in_the_markdown(self):
        self.edit(self.chapter / "README.md", "$O(T^2)$", "\\f$ O(T^2) \\f$")
        self.assertOneProblem("Doxygen source '\\f$'")

    def test_a_dollar_that_is_not_math(self):
        self.edit(self.chapter / "README.md", "$O(T^2)$", "$ O(T^2) $")
        self.assertOneProblem("a '$' that is not inline math")

    def test_an_unclosed_display_formula(self):
        self.edit(self.chapter / "README.md", "\\sqrt{d}}\n$$\n", "\\sqrt{d}}\n")
        found = self.problems()
        self.assertTrue(any("not closed" in p for p in found), found)


class DoxygenTranslation(unittest.TestCase):
    def setUp(self):
        self.lines = chapter_text.to_doxygen(README, "ch99").split("\n")

    def line_after(self, start):
        return next(line for line in self.lines if line.startswith(start))

    def test_line_numbers_stay(self):
        self.assertEqual(len(self.lines), len(README.split("\n")))

    def test_page_id(self):
        self.assertEqual(self.lines[0], "# Chapter 99: Fake {#ch99}")

    def test_math(self):
        self.assertEqual(self.line_after("The cost"),
                         "The cost is \\f$ O(T^2) \\f$, and `$HOME` is not math.")
        start = self.lines.index("\\f[")
        self.assertEqual(self.lines[start + 2], "\\f]")
        self.assertEqual(chapter_text.to_doxygen("$$ x^2 $$", "ch99"), "\\f[ x^2 \\f]")

    def test_snippet(self):
        at = self.lines.index("\\snippet chapters/99_fake/main.cpp sum")
        self.assertEqual(self.lines[at + 1:at + 5], ["", "", "", ""])
        self.assertNotIn("const int total = 1 + 2;", self.lines)

    def test_other_code_is_left_alone(self):
        self.assertIn("echo $PATH", self.lines)

    def test_figure_and_table(self):
        self.assertIn('\\image html ch99_a.svg "a.svg: the figure"', self.lines)
        self.assertIn("\\htmlinclude decode_benchmark.html", self.lines)

    def test_folded_answers_stay_folded_across_paragraphs(self):
        text = "<details><summary>Answer</summary>\n\n**B.** Right.\n\nA is wrong.\n\n</details>"
        self.assertEqual(chapter_text.to_doxygen(text, "quiz01").split("\n"), [
            "\\htmlonly<details><summary>Answer</summary>\\endhtmlonly", "", "**B.** Right.", "",
            "A is wrong.", "", "\\htmlonly</details>\\endhtmlonly"])

    def test_quotes_around_emphasis_and_code(self):
        self.assertEqual(
            chapter_text.to_doxygen('It says "*hello*" and ("`x = 1`").', "ch99"),
            "It says \u201c<em>hello</em>\u201d and (\u201c`x = 1`\u201d).")

    def test_the_quiz_page_label(self):
        self.assertEqual(chapter_text.chapter_label("build/docs/pages/quiz_03.md"), "quiz03")
        self.assertEqual(chapter_text.chapter_label("chapters/03_softmax/README.md"), "ch03")


if __name__ == "__main__":
    unittest.main(verbosity=2)
