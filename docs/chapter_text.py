#!/usr/bin/env python3
"""The chapter texts (chapters/NN_name/README.md): GitHub-flavoured Markdown, kept true.

A learner reads a chapter's README in a terminal or on the repository's web page, so it is
written in GitHub-flavoured Markdown, readable as it is:
  - math as $...$ (inline, on one line) and $$ ... $$ (display, the $$ on lines of their own);
  - code as fenced blocks, each right after a marker naming the source and its snippet,
        <!-- snippet: chapters/03_softmax_weighting/main.cpp attention -->
    where the source has the code between two lines `//! [attention]`;
  - figures as image links to committed SVGs, ![caption](figures/weights.svg), the files the
    chapter's `--svg DIR` writes;
  - a benchmark's table on the docs site as a marker, <!-- table: decode_benchmark.html -->;
  - folded text (a quiz's answers) between lines <details><summary>...</summary> and
    </details>, with blank lines between its paragraphs as anywhere else;
  - the flags in one paragraph starting `Flags:`, each as `--name ...` in backticks;
  - the --json keys under the heading "## `--json` keys", in bullets that start with the
    keys they describe: - `w_q`, `w_k`, `w_v`: the projection weights.

Subcommands:
  filter NAV_DIR FILE   Doxygen input filter (docs/Doxyfile.in): prints FILE translated for
                        Doxygen 1.9.4 (\\f$ \\f[ \\snippet \\image html \\htmlinclude, the page
                        id {#chNN}), then NAV_DIR/<chapter>.md if it exists. Line numbers stay
                        those of FILE, so Doxygen's warnings point at the real line.
  check --root R --bin B CHAPTER...
                        fails (exit 1, every problem listed) when a marked code block differs
                        from its snippet, a figure link points at nothing, a committed figure
                        differs from what `B/CHAPTER --svg` draws now, or the Flags paragraph
                        or the --json key list differs from `--help` and `--json`.
  update --root R --bin B [CHAPTER...]
                        rewrites every marked code block from its source and the committed
                        figures from `--svg` (scripts/update-chapter-texts.sh calls it).

Only the Python standard library.
"""

import argparse
import collections
import difflib
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import textwrap

SNIPPET_MARKER = re.compile(r"^<!-- snippet: (\S+) ([\w.-]+) -->\s*$")
TABLE_MARKER = re.compile(r"^<!-- table: ([\w.-]+\.html) -->\s*$")
FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)\s*$")
IMAGE = re.compile(r"!\[([^\]\n]*)\]\(([^)\s]+)\)")
# Inline math: $...$ on one line, not $$, the opening $ not followed by a space and the
# closing one not preceded by one (GitHub's rule), no unescaped $ inside.
INLINE_MATH = re.compile(r"(?<![\\$])\$(?![\s$])((?:\\.|[^$\\\n])+?)(?<![\s\\])\$(?!\$)")
CODE_SPAN = re.compile(r"(`+)(?:.+?)\1")
QUOTED_EMPHASIS = re.compile(r'"\*([^*"\n]+)\*"')
# A line of only <details>, <summary>...</summary> or </details> tags (the quiz's folded
# answers). Doxygen 1.9.4 closes a <details> at the first blank line after it, so the
# filter hands such lines to the HTML as they are (\htmlonly).
FOLD_LINE = re.compile(r"^\s*(?:</?details>|<summary>[^<\n]*</summary>)+\s*$")
# Doxygen source that must not appear in the Markdown a learner reads.
DOXYGEN_ONLY = re.compile(r"\\f[$\[\]{}]|\\snippet\b|\\image\b|\\htmlinclude\b|\\subpage\b|"
                          r"@ref\b|\\ref\b|\{#[\w-]+\}")
OPTION_LINE = re.compile(r"^\s*(?:-\w\s*,\s*)?(--[a-z][a-z0-9-]*)")
FLAG_IN_TEXT = re.compile(r"`(--[a-z][a-z0-9-]*)[^`]*`")
JSON_HEADING = re.compile(r"^##\s+`--json`\s+keys\s*$")
JSON_BULLET = re.compile(r"^[-*]\s+((?:`[^`]+`(?:,\s*)?)+):")


class Problems(list):
    def add(self, where, text):
        self.append(f"{where}: {text}")


def split_code_spans(line):
    """Yields (is_code, text) pieces of one line of prose."""
    at = 0
    for match in CODE_SPAN.finditer(line):
        if match.start() > at:
            yield False, line[at:match.start()]
        yield True, match.group(0)
        at = match.end()
    if at < len(line):
        yield False, line[at:]


def scan(lines):
    """Classifies the lines of a Markdown file: yields (index, kind, data) where kind is
    'prose', 'math_open' (a line starting $$), 'math' (inside), 'math_close' (ending $$),
    'math_line' ($$ ... $$ on one line), 'fence_open' (data: (fence, language)), 'code',
    'fence_close'."""
    fence = None
    in_math = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if fence:
            if stripped.startswith(fence) and stripped.strip(fence[0]) == "":
                fence = None
                yield i, "fence_close", None
            else:
                yield i, "code", None
            continue
        if in_math:
            in_math = not stripped.endswith("$$")
            yield i, "math" if in_math else "math_close", None
            continue
        match = FENCE.match(line)
        if match:
            fence = match.group(1)
            yield i, "fence_open", (fence, match.group(2))
        elif stripped.startswith("$$") and len(stripped) > 4 and stripped.endswith("$$"):
            yield i, "math_line", None
        elif stripped.startswith("$$"):
            in_math = True
            yield i, "math_open", None
        else:
            yield i, "prose", None


def read_snippet(root, path, name):
    """The code between the two lines `//! [name]` of root/path, common indent removed."""
    source = root / path
    if not source.is_file():
        raise LookupError(f"{path} does not exist")
    lines = source.read_text(encoding="utf-8").splitlines()
    marks = [i for i, line in enumerate(lines) if line.strip() == f"//! [{name}]"]
    if len(marks) != 2:
        raise LookupError(f"{path} has {len(marks)} lines '//! [{name}]', not 2")
    body = "\n".join(lines[marks[0] + 1:marks[1]])
    return textwrap.dedent(body).strip("\n").splitlines()


Block = collections.namedtuple("Block", "marker path name first close")


def code_blocks(lines):
    """The fenced code of a Markdown file: (marked, unmarked, orphans). marked: a Block for
    each fence right after a snippet marker (first: the first code line, close: the closing
    fence); unmarked: the opening line of each C++ fence without a marker; orphans: each
    marker with no fence on the next line."""
    marked, unmarked, orphans = [], [], []
    kinds = list(scan(lines))
    for n, (i, kind, data) in enumerate(kinds):
        if kind == "fence_open":
            marker = SNIPPET_MARKER.match(lines[i - 1]) if i > 0 else None
            if marker:
                close = next((j for j, k, _ in kinds[n + 1:] if k == "fence_close"), len(lines))
                marked.append(Block(i - 1, marker.group(1), marker.group(2), i + 1, close))
            elif data[1] in ("cpp", "c++", "cxx", "hpp"):
                unmarked.append(i)
        elif kind == "prose" and SNIPPET_MARKER.match(lines[i]):
            if not (i + 1 < len(lines) and FENCE.match(lines[i + 1])):
                orphans.append(i)
    return marked, unmarked, orphans


# --- Doxygen --------------------------------------------------------------------------------
def prose_to_doxygen(line, label):
    # Doxygen 1.9.4 takes text after a straight double quote literally: "*a*" and "`b`"
    # would show their stars and backticks. Curly quotes and <em> read the same on the site.
    pieces = list(split_code_spans(line))
    for n, (is_code, piece) in enumerate(pieces):
        if not is_code:
            continue
        if n > 0 and pieces[n - 1][1].endswith('"'):
            pieces[n - 1] = (False, pieces[n - 1][1][:-1] + "\u201c")
        if n + 1 < len(pieces) and pieces[n + 1][1].startswith('"'):
            pieces[n + 1] = (False, "\u201d" + pieces[n + 1][1][1:])
    out = []
    for is_code, piece in pieces:
        if is_code:
            out.append(piece)
            continue
        piece = QUOTED_EMPHASIS.sub("\u201c<em>\\1</em>\u201d", piece)
        piece = INLINE_MATH.sub(lambda m: f"\\f$ {m.group(1)} \\f$", piece)

        def image(match):
            caption, target = match.groups()
            name = pathlib.PurePosixPath(target).name
            if target.startswith(("http:", "https:", "/")) or not name.endswith(".svg"):
                return match.group(0)
            return f'\\image html {label}_{name} "{caption}"'
        out.append(IMAGE.sub(image, piece))
    return "".join(out)


def to_doxygen(text, label):
    """The Markdown of a chapter (page id {#label}) as Doxygen 1.9.4 reads it, line for line."""
    lines = text.split("\n")
    out = list(lines)
    snippet_lines = {}
    for block in code_blocks(lines)[0]:
        snippet_lines[block.marker] = f"\\snippet {block.path} {block.name}"
        for j in range(block.marker + 1, min(block.close + 1, len(lines))):
            snippet_lines[j] = ""
    for i, kind, _ in scan(lines):
        if i in snippet_lines:
            out[i] = snippet_lines[i]
        elif kind == "math_open":
            out[i] = "\\f[" + lines[i].strip()[2:]
        elif kind == "math_close":
            out[i] = lines[i].rstrip()[:-2] + "\\f]"
        elif kind == "math_line":
            out[i] = f"\\f[ {lines[i].strip()[2:-2].strip()} \\f]"
        elif kind == "prose":
            table = TABLE_MARKER.match(lines[i])
            if table:
                out[i] = f"\\htmlinclude {table.group(1)}"
            elif FOLD_LINE.match(lines[i]):
                out[i] = f"\\htmlonly{lines[i].strip()}\\endhtmlonly"
            else:
                out[i] = prose_to_doxygen(lines[i], label)
    if out and out[0].startswith("# ") and "{#" not in out[0]:
        out[0] = f"{out[0].rstrip()} {{#{label}}}"
    return "\n".join(out)


def chapter_label(path):
    """chNN for chapters/NN_name/README.md; quizNN for a quiz page quiz_NN.md."""
    path = pathlib.Path(path)
    match = re.fullmatch(r"quiz_(\d\d)\.md", path.name)
    if match:
        return f"quiz{match.group(1)}"
    return f"ch{path.parent.name[:2]}"


def command_filter(args):
    path = pathlib.Path(args.file)
    text = path.read_text(encoding="utf-8")
    sys.stdout.write(to_doxygen(text, chapter_label(path)))
    nav = pathlib.Path(args.nav_dir) / f"{path.parent.name}.md"
    if path.name == "README.md" and nav.is_file():
        sys.stdout.write("\n\n" + nav.read_text(encoding="utf-8"))
    return 0


# --- checks ---------------------------------------------------------------------------------
def run(command):
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


def help_flags(help_text):
    """Flag names of a --help text: the --name that starts each option line (layout-free)."""
    return {m.group(1) for m in map(OPTION_LINE.match, help_text.splitlines()) if m}


def readme_flags(lines):
    """The `--name` flags in the README's paragraph that starts 'Flags:'."""
    for i, line in enumerate(lines):
        if line.startswith("Flags:"):
            paragraph = []
            for following in lines[i:]:
                if not following.strip():
                    break
                paragraph.append(following)
            return {m.group(1) for m in FLAG_IN_TEXT.finditer(" ".join(paragraph))}, i + 1
    return None, None


def readme_json_keys(lines):
    """The keys under '## `--json` keys': those a bullet starts with, `a`, `b`: ..."""
    for i, line in enumerate(lines):
        if JSON_HEADING.match(line):
            bullets = []
            for following in lines[i + 1:]:
                if following.startswith("#"):
                    break
                if re.match(r"[-*]\s", following):
                    bullets.append(following)
                elif bullets and following.startswith(" "):
                    bullets[-1] += " " + following.strip()  # a bullet's next line
            keys = []
            for bullet in bullets:
                match = JSON_BULLET.match(bullet)
                if match:
                    keys += re.findall(r"`([^`]+)`", match.group(1))
            return keys, i + 1
    return None, None


def describe_sets(what, readme, actual):
    missing = sorted(actual - readme)
    extra = sorted(readme - actual)
    parts = []
    if missing:
        parts.append(f"the program has {', '.join(missing)}, which the README does not list")
    if extra:
        parts.append(f"the README lists {', '.join(extra)}, which the program does not have")
    return f"{what} differ: " + "; ".join(parts)


def check_text(root, readme, problems):
    """The checks that need no executable: snippets, figure links, no Doxygen source left."""
    rel = readme.relative_to(root)
    text = readme.read_text(encoding="utf-8")
    lines = text.split("\n")
    marked, unmarked, orphans = code_blocks(lines)
    for i in unmarked:
        problems.add(f"{rel}:{i + 1}", "a C++ code block without a marker "
                     "'<!-- snippet: PATH NAME -->' on the line before it")
    for i in orphans:
        problems.add(f"{rel}:{i + 1}", "a snippet marker with no fenced code block on the "
                     "next line")
    for block in marked:
        try:
            expected = read_snippet(root, block.path, block.name)
        except LookupError as error:
            problems.add(f"{rel}:{block.marker + 1}", f"snippet '{block.name}': {error}")
            continue
        shown = lines[block.first:block.close]
        if shown != expected:
            source = f"{block.path} [{block.name}]"
            diff = difflib.unified_diff(expected, shown, source, str(rel), lineterm="", n=1)
            problems.add(f"{rel}:{block.first + 1}", f"the code block differs from {source} "
                         "(scripts/update-chapter-texts.sh rewrites it):\n    "
                         + "\n    ".join(diff))
    for i, kind, _ in scan(lines):
        if kind != "prose":
            continue
        prose = "".join(piece for is_code, piece in split_code_spans(lines[i]) if not is_code)
        for match in IMAGE.finditer(prose):
            target = match.group(2)
            if target.startswith(("http:", "https:")):
                problems.add(f"{rel}:{i + 1}", f"figure {target} is not in the repository")
            elif not (readme.parent / target).is_file():
                problems.add(f"{rel}:{i + 1}", f"the figure link {target} points at nothing")
        doxygen = DOXYGEN_ONLY.search(prose)
        if doxygen:
            problems.add(f"{rel}:{i + 1}", f"Doxygen source '{doxygen.group(0)}' in Markdown "
                         "a learner reads (write GitHub Markdown: $...$, fenced code, ![](...))")
        left = prose_to_doxygen(prose, "x").replace("\\$", "")
        left = re.sub(r"\\f\$.*?\\f\$", "", left)
        if "$" in left:
            problems.add(f"{rel}:{i + 1}", "a '$' that is not inline math $...$ on one line "
                         "(no space after the opening or before the closing $)")
    kinds = list(scan(lines))
    if kinds and kinds[-1][1] in ("math_open", "math"):
        opened = max(i for i, kind, _ in kinds if kind == "math_open")
        problems.add(f"{rel}:{opened + 1}", "a '$$' display formula is not closed")
    if kinds and kinds[-1][1] in ("fence_open", "code"):
        problems.add(rel, "a fenced code block is not closed")
    return lines


def check_chapter(root, bin_dir, chapter, problems):
    readme = root / "chapters" / chapter / "README.md"
    rel = readme.relative_to(root)
    if not readme.is_file():
        problems.add(rel, "missing")
        return
    lines = check_text(root, readme, problems)
    exe = bin_dir / chapter

    # Figures: what the chapter draws now, byte for byte, is what is committed and linked.
    figures = readme.parent / "figures"
    with tempfile.TemporaryDirectory(prefix="qkv-figures-") as tmp:
        status, _, err = run([str(exe), "--svg", tmp])
        if status != 0:
            problems.add(exe, f"--svg {tmp} exited {status}: {err.strip()}")
        else:
            drawn = {p.name: p.read_bytes() for p in pathlib.Path(tmp).glob("*.svg")}
            committed = {p.name: p.read_bytes() for p in figures.glob("*.svg")}
            for name in sorted(drawn.keys() - committed.keys()):
                problems.add(f"{rel.parent}/figures/{name}", "the chapter draws it, but it is not "
                             "committed (scripts/update-chapter-texts.sh)")
            for name in sorted(committed.keys() - drawn.keys()):
                problems.add(f"{rel.parent}/figures/{name}", "committed, but the chapter no longer "
                             "draws it")
            for name in sorted(drawn.keys() & committed.keys()):
                if drawn[name] != committed[name]:
                    problems.add(f"{rel.parent}/figures/{name}", "differs from what "
                                 f"'{chapter} --svg' draws now (scripts/update-chapter-texts.sh)")
            linked = {pathlib.PurePosixPath(m.group(2)).name for line in lines
                      for m in IMAGE.finditer(line) if m.group(2).startswith("figures/")}
            for name in sorted(committed.keys() - linked):
                problems.add(rel, f"does not show figures/{name}")

    # Flags: names only, so the comparison does not depend on how --help lays them out.
    status, out, err = run([str(exe), "--help"])
    if status != 0:
        problems.add(exe, f"--help exited {status}: {err.strip()}")
    else:
        flags, line = readme_flags(lines)
        if flags is None:
            problems.add(rel, "no paragraph starting 'Flags:' lists the flags")
        elif flags != help_flags(out):
            problems.add(f"{rel}:{line}", describe_sets("the flags and --help", flags,
                                                        help_flags(out)))
    # --json keys: the README's list equals the top-level keys the program writes.
    status, out, err = run([str(exe), "--json"])
    if status != 0:
        problems.add(exe, f"--json exited {status}: {err.strip()}")
    else:
        try:
            document = json.loads(out)
        except json.JSONDecodeError as error:
            problems.add(exe, f"--json did not print JSON: {error}")
            return
        keys, line = readme_json_keys(lines)
        if keys is None:
            problems.add(rel, "no heading '## `--json` keys' with one bullet per key")
        else:
            duplicates = sorted({k for k in keys if keys.count(k) > 1})
            if duplicates:
                problems.add(f"{rel}:{line}", f"keys listed twice: {', '.join(duplicates)}")
            if set(keys) != set(document):
                problems.add(f"{rel}:{line}", describe_sets("the --json keys and the output",
                                                            set(keys), set(document)))


def command_check(args):
    root = pathlib.Path(args.root).resolve()
    problems = Problems()
    for chapter in args.chapters:
        check_chapter(root, pathlib.Path(args.bin).resolve(), chapter, problems)
    for problem in problems:
        print(f"chapter_text: {problem}", file=sys.stderr)
    if problems:
        print(f"chapter_text: {len(problems)} problems in {', '.join(args.chapters)}",
              file=sys.stderr)
        return 1
    print(f"chapter_text: {', '.join(args.chapters)}: code blocks, figures, flags and --json "
          "keys match")
    return 0


# --- update ---------------------------------------------------------------------------------
def update_snippets(root, readme):
    lines = readme.read_text(encoding="utf-8").split("\n")
    for block in reversed(code_blocks(lines)[0]):
        lines[block.first:block.close] = read_snippet(root, block.path, block.name)
    text = "\n".join(lines)
    if text != readme.read_text(encoding="utf-8"):
        readme.write_text(text, encoding="utf-8")
        return True
    return False


def command_update(args):
    root = pathlib.Path(args.root).resolve()
    bin_dir = pathlib.Path(args.bin).resolve()
    chapters = args.chapters or sorted(
        p.parent.name for p in root.glob("chapters/[0-9][0-9]_*/README.md"))
    for chapter in chapters:
        readme = root / "chapters" / chapter / "README.md"
        if update_snippets(root, readme):
            print(f"updated the code blocks of {readme.relative_to(root)}")
        figures = readme.parent / "figures"
        with tempfile.TemporaryDirectory(prefix="qkv-figures-") as tmp:
            status, _, err = run([str(bin_dir / chapter), "--svg", tmp])
            if status != 0:
                print(f"{bin_dir / chapter} --svg failed ({status}): {err}", file=sys.stderr)
                return 1
            drawn = {p.name: p.read_bytes() for p in pathlib.Path(tmp).glob("*.svg")}
        figures.mkdir(exist_ok=True)
        for old in figures.glob("*.svg"):
            if old.name not in drawn:
                old.unlink()
                print(f"removed {old.relative_to(root)} (no longer drawn)")
        for name, data in sorted(drawn.items()):
            target = figures / name
            if not target.is_file() or target.read_bytes() != data:
                target.write_bytes(data)
                print(f"wrote {target.relative_to(root)}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("filter", help="Doxygen input filter")
    p.add_argument("nav_dir")
    p.add_argument("file")
    p.set_defaults(run=command_filter)
    for name, function in (("check", command_check), ("update", command_update)):
        p = sub.add_parser(name)
        p.add_argument("--root", required=True, help="the repository root")
        p.add_argument("--bin", required=True, help="the folder of the chapter executables")
        p.add_argument("chapters", nargs="*" if name == "update" else "+")
        p.set_defaults(run=function)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
