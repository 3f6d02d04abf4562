#!/usr/bin/env python3
"""Checks the documentation site in a real browser: headless Chromium, network off.

    check_site.py --site build/docs/html --chapters build/docs/chapters.txt \
                  --manifest build/docs/manifest.json --root . \
                  --screenshots build/docs/screenshots

Fails (exit 1, every problem listed) unless
  - the main page, the page of every chapter in chapters.txt (ch01.html, ...), of every
    exercise in manifest.json (ex_<id>.html), of every chapter's quiz where the chapter has
    a quiz.md (quizNN.html, its answers folded in <details>, linked from the chapter) and of
    the library reference (namespace, class and struct pages) load from disk without a
    script error;
  - every exercise page shows each of the exercise's hints, each folded in its own <details>;
  - on every page that has formulas, MathJax typeset each of them with its TeX web font,
    and no formula is left as raw TeX or shows a MathJax error;
  - every image and SVG figure on those pages loaded, and every chapter page shows at
    least one figure, no label of which is cut off at the figure's edge;
  - every request the pages made stayed on the machine (file:, data:, about:);
  - the chapters are in the sidebar in order, each with links to the previous and next;
  - in every HTML file of the site, every link and image to a local file resolves, anchors
    included;
  - no exercise page shows a line of its solution that the stub does not have.
It saves a screenshot of every page it opened (screenshots/ch01.png, index.png, ...) and
of each chapter's first figure (ch01_figure.png).

Only the Python standard library: Chromium is driven through the DevTools protocol over
a pipe (--remote-debugging-pipe), so there is no WebSocket client or Node.js to install.
"""

import argparse
import base64
import fcntl
import html
import html.parser
import json
import os
import pathlib
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

PAGE_TIMEOUT_S = 30
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")
# MathJax 2 measures fonts with a @font-face whose src is about:blank; Chromium refuses to
# load it and says so. It is MathJax's own probe, not a missing file.
HARMLESS = ("font at 'about:blank'",)


class Browser:
    """Headless Chromium driven over the DevTools protocol on fds 3 (in) and 4 (out)."""

    def __init__(self, chromium, width=1280, height=900):
        self.profile = tempfile.mkdtemp(prefix="qkv-chromium-")
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # Move the child's ends above 2..4 so that placing them on 3 and 4 cannot clobber.
        child_in = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

        def place_pipes():
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        args = [
            chromium, "--headless", "--remote-debugging-pipe", f"--user-data-dir={self.profile}",
            # The site must work with the network off: every host name fails to resolve and
            # every proxied request goes to a closed port. Attempts are still seen and counted.
            "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
            "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions",
            "--disable-default-apps", "--disable-dev-shm-usage", "--disable-gpu",
            "--hide-scrollbars", "--mute-audio", f"--window-size={width},{height}",
            # Containers and root: Chromium's sandbox needs user namespaces. The pages are
            # our own, loaded from disk.
            "--no-sandbox", "about:blank",
        ]
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.stderr,
                                        stderr=self.stderr, pass_fds=(3, 4),
                                        preexec_fn=place_pipes)
        os.close(child_in)
        os.close(child_out)
        self.write_fd = to_chrome_w
        self.read_fd = from_chrome_r
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.session = None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def close(self):
        try:
            self.process.terminate()
            self.process.wait(timeout=10)
        except (subprocess.TimeoutExpired, OSError):
            self.process.kill()
        os.close(self.write_fd)
        os.close(self.read_fd)
        shutil.rmtree(self.profile, ignore_errors=True)

    def _receive(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if ready:
                chunk = os.read(self.read_fd, 1 << 20)
                if not chunk:
                    self.stderr.seek(0)
                    log = self.stderr.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"Chromium exited; its last output:\n{log}")
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, timeout=PAGE_TIMEOUT_S, **params):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for_event(self, method, timeout=PAGE_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event["method"] == method:
                return event
        while True:
            event = self._receive(deadline)
            if "method" in event:
                self.events.append(event)
                if event["method"] == method:
                    return event

    def open(self, url):
        """Loads url; returns the protocol events it caused (requests, errors, console)."""
        self.events = []
        self.call("Page.navigate", url=url)
        self.wait_for_event("Page.loadEventFired")

    def evaluate(self, expression, timeout=PAGE_TIMEOUT_S):
        result = self.call("Runtime.evaluate", timeout=timeout, expression=expression,
                           awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))


# Runs in each page once it has loaded: waits for MathJax to finish, then reports what the
# page shows. Doxygen writes inline formulas as \( ... \) and display ones as \[ ... \];
# MathJax replaces each with a span.MathJax (inline) or div.MathJax_Display, keeping the
# TeX in a <script type="math/tex">.
PAGE_PROBE = r"""
(async () => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const report = { problems: [] };
  const text = document.body ? document.body.innerText : "";
  const rawTex = (text.match(/\\\(|\\\[/g) || []).length;
  const usesMath = rawTex > 0 || !!document.querySelector("script[type^='math/tex']");
  report.mathjaxLoaded = !!window.MathJax;
  if (usesMath) {
    const start = Date.now();
    while (!(window.MathJax && MathJax.Hub && MathJax.isReady)) {
      if (Date.now() - start > 20000) { report.problems.push("MathJax never became ready"); break; }
      await sleep(50);
    }
    if (window.MathJax && MathJax.Hub && MathJax.isReady) {
      await new Promise((resolve) => MathJax.Hub.Queue(resolve));
      const jax = MathJax.Hub.getAllJax();
      report.formulas = jax.length;
      const html = MathJax.OutputJax && MathJax.OutputJax["HTML-CSS"];
      report.font = html ? String(html.fontInUse) : "none";
      report.imageFont = html ? !!html.imgFonts : false;
      if (!html || report.font !== "TeX" || report.imageFont)
        report.problems.push(`MathJax did not use its TeX web font (font ${report.font})`);
      // The web fonts in the site, not fonts installed on this machine, must have been used.
      const faces = [...document.fonts].filter((face) => /MathJax_/.test(face.family));
      const loaded = faces.filter((face) => face.status === "loaded").map((f) => f.family);
      const failed = faces.filter((face) => face.status === "error").map((f) => f.family);
      report.webFonts = loaded;
      if (!loaded.includes("MathJax_Main")) report.problems.push("MathJax_Main web font not loaded");
      if (failed.length) report.problems.push(`web fonts failed to load: ${failed.join(", ")}`);
      const rendered = document.querySelectorAll("span.MathJax, div.MathJax_Display").length;
      if (jax.length === 0) report.problems.push("the page has formulas but MathJax typeset none");
      if (rendered < jax.length)
        report.problems.push(`${jax.length - rendered} of ${jax.length} formulas not rendered`);
      const errors = document.querySelectorAll(".MathJax_Error, [data-mjx-error], .merror");
      if (errors.length) report.problems.push(`${errors.length} formulas show a TeX error`);
      const processingErrors = (document.body.innerText.match(/Math Processing Error/g) || []).length;
      if (processingErrors) report.problems.push(`${processingErrors} Math Processing Errors`);
    }
  }
  // Prose only: code listings may show TeX on purpose (a header's \f$ ... \f$ comments).
  const prose = document.body.cloneNode(true);
  prose.querySelectorAll("div.fragment, pre, code, script").forEach((e) => e.remove());
  const left = (prose.textContent.match(/\\\(|\\\[|\\f\$|\\f\[/g) || []).length;
  if (left) report.problems.push(`${left} formulas left as raw TeX`);
  // Markdown Doxygen 1.9.4 left as text (e.g. *"quoted"* or ("`code`")): reported, not fatal.
  report.notes = (prose.textContent.match(/[*_]["'][^*_\n]{0,40}|["(]`[^`\n]{0,40}/g) || [])
    .map((text) => `Markdown shown as text: ${text.trim()}`);
  // Images: loaded and not empty. SVG figures are <object>s: their document must be there.
  report.images = 0;
  for (const img of document.querySelectorAll("img")) {
    if (!img.complete) await new Promise((r) => { img.onload = img.onerror = r; });
    report.images++;
    if (!img.naturalWidth) report.problems.push(`image did not load: ${img.getAttribute("src")}`);
  }
  report.figures = 0;
  report.figureFiles = [];
  for (const object of document.querySelectorAll("object[type='image/svg+xml'], .image img")) {
    report.figures++;
    report.figureFiles.push(object.getAttribute("data") || object.getAttribute("src"));
    if (object.tagName === "OBJECT") {
      const box = object.getBoundingClientRect();
      if (box.width < 20 || box.height < 20)
        report.problems.push(`figure did not load: ${object.getAttribute("data")}`);
    }
  }
  const link = (selector) => { const a = document.querySelector(selector); return a ? a.getAttribute("href") : null; };
  report.prev = link(".qkv-prev a");
  report.next = link(".qkv-next a");
  report.title = document.title;
  return report;
})()
"""


# Runs in an SVG figure opened on its own: every label must lie inside the picture.
FIGURE_PROBE = r"""
(() => {
  const svg = document.documentElement;
  const width = svg.width.baseVal.value, height = svg.height.baseVal.value;
  const cut = [];
  for (const text of svg.querySelectorAll("text")) {
    const box = text.getBoundingClientRect();
    if (box.left < -1 || box.top < -1 || box.right > width + 1 || box.bottom > height + 1)
      cut.push(text.textContent);
  }
  return { width, height, cut };
})()
"""


class LinkCollector(html.parser.HTMLParser):
    """Collects ids/names (anchors) and local href/src/data references of one HTML file."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.anchors = set()
        self.references = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.anchors.add(attrs[key])
        for key in ("href", "src", "data"):
            value = attrs.get(key)
            if value and not (tag == "a" and key != "href"):
                self.references.append((tag, key, value))


def check_links(site):
    """Every local href/src/data in every HTML file of the site resolves, anchors included."""
    problems = []
    parsed = {}

    def parse(path):
        if path not in parsed:
            collector = LinkCollector()
            collector.feed(path.read_text(encoding="utf-8", errors="replace"))
            parsed[path] = collector
        return parsed[path]

    pages = sorted(site.rglob("*.html"))
    for page in pages:
        for tag, key, value in parse(page).references:
            url = urllib.parse.urlsplit(value)
            if url.scheme or value.startswith("//"):
                continue  # external links are links, not requests; the browser checks requests
            target = page if not url.path else (page.parent / urllib.parse.unquote(url.path))
            where = f"{page.relative_to(site)}: <{tag} {key}=\"{value}\">"
            if not target.resolve().is_file():
                problems.append(f"{where}: {target.relative_to(site) if target.is_relative_to(site) else target} does not exist")
            elif url.fragment and target.suffix == ".html":
                if url.fragment not in parse(target).anchors:
                    problems.append(f"{where}: no anchor #{url.fragment} in {target.name}")
    return len(pages), problems


def check_sidebar(site, labels):
    """The chapters appear in the sidebar (navtreedata.js) in chapters.txt's order."""
    tree = (site / "navtreedata.js").read_text(encoding="utf-8")
    found = [m for m in re.findall(r'"(ch\d\d)\.html"', tree) if m in labels]
    if found != labels:
        return [f"navtreedata.js: the sidebar lists the chapters as {found}, not {labels}"]
    return []


class TextCollector(html.parser.HTMLParser):
    """The text of an HTML file, scripts left out (and, with unfolded_only, what a <details>
    folds away: the hints a learner opens one level at a time)."""

    def __init__(self, unfolded_only=False):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skip = 0
        self.hidden = ("script", "style", "details") if unfolded_only else ("script", "style")

    def handle_starttag(self, tag, attrs):
        self.skip += tag in self.hidden

    def handle_endtag(self, tag):
        self.skip -= tag in self.hidden

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def check_no_solutions(site, root, exercises):
    """No exercise page shows, unfolded, a line of code that the solution has and the stub has
    not. The last, code-level hint may quote one: it is folded, and opened last."""
    problems = []
    squash = lambda text: re.sub(r"\s+", "", text)
    for exercise in exercises:
        id = exercise["id"]
        page, solution = site / f"ex_{id}.html", root / exercise["solution"]
        stub = root / exercise["file"]
        if not (page.is_file() and solution.is_file() and stub.is_file()):
            continue
        stub_lines = {squash(l) for l in stub.read_text(encoding="utf-8").splitlines()}
        text = TextCollector(unfolded_only=True)
        text.feed(page.read_text(encoding="utf-8"))
        shown = squash("".join(text.parts))
        for code in solution.read_text(encoding="utf-8").splitlines():
            code = squash(code)
            if len(code) >= 12 and not code.startswith("//") and code not in stub_lines \
                    and code in shown:
                problems.append(f"ex_{id}.html shows a line of the solution: {code}")
    return problems


def check_folded(site, name, texts, what):
    """Every one of texts appears on the page inside a <details>, none of it outside."""
    problems = []
    page = (site / f"{name}.html").read_text(encoding="utf-8")
    folded = TextCollector()
    # Letters and digits only: Doxygen turns -- into a dash, links words, escapes quotes.
    squash = lambda text: re.sub(r"[^A-Za-z0-9]", "", text)
    inside = "".join(squash(html.unescape(re.sub(r"<[^>]+>", "", m))) for m in
                     re.findall(r"<details[ >](.*?)</details>", page, flags=re.S))
    folded.feed(re.sub(r"<details[ >].*?</details>", "", page, flags=re.S))
    outside = squash("".join(folded.parts))
    for text in texts:
        words = squash(text)[:40]
        if words and words not in inside:
            problems.append(f"{name}.html: {what} not folded in a <details>: {words}")
        elif words and words in outside:
            problems.append(f"{name}.html: {what} shown unfolded: {words}")
    return problems


def check_hints_and_quizzes(site, exercises, quizzes):
    """Each exercise page folds each hint in a <details> of its own; each quiz page folds its
    answers and its chapter links to it."""
    problems = []
    details = re.compile(r"<details[ >]")
    for exercise in exercises:
        name = f"ex_{exercise['id']}"
        if not (site / f"{name}.html").is_file():
            continue
        problems += check_folded(site, name, exercise["hints"], "a hint")
        shown = len(details.findall((site / f"{name}.html").read_text(encoding="utf-8")))
        if shown != len(exercise["hints"]):
            problems.append(f"{name}.html: {shown} <details>, not one per hint "
                            f"({len(exercise['hints'])})")
    for quiz, label, _ in quizzes:
        if not (site / f"{quiz}.html").is_file():
            continue  # reported as missing
        if not details.search((site / f"{quiz}.html").read_text(encoding="utf-8")):
            problems.append(f"{quiz}.html: no answer folded in a <details>")
        chapter = site / f"{label}.html"
        if chapter.is_file() and f'href="{quiz}.html"' not in chapter.read_text(encoding="utf-8"):
            problems.append(f"{label}.html: no link to its quiz {quiz}.html")
    return problems


def read_chapters(path):
    chapters = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return [(f"ch{name[:2]}", name) for name in chapters]


def read_exercises(path):
    """The exercises of <build>/manifest.json (cmake/QkvManifest.cmake writes it)."""
    return json.loads(path.read_text(encoding="utf-8"))["exercises"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--site", type=pathlib.Path, required=True, help="the html folder")
    parser.add_argument("--chapters", type=pathlib.Path, required=True, help="chapters.txt")
    parser.add_argument("--manifest", type=pathlib.Path, required=True,
                        help="<build>/manifest.json")
    parser.add_argument("--root", type=pathlib.Path, required=True,
                        help="the repository root (the manifest's paths are relative to it)")
    parser.add_argument("--screenshots", type=pathlib.Path, required=True)
    parser.add_argument("--chromium", default="chromium")
    args = parser.parse_args()
    started = time.monotonic()

    chromium = shutil.which(args.chromium) if args.chromium else None
    if not chromium:
        print(f"check_site: no Chromium ('{args.chromium}'): sudo apt-get install chromium "
              "(or scripts/setup.sh --docs)", file=sys.stderr)
        return 1
    site = args.site.resolve()
    if not (site / "index.html").is_file():
        print(f"check_site: {site}/index.html is missing: build the docs target first",
              file=sys.stderr)
        return 1

    problems = []
    chapters = read_chapters(args.chapters)
    root = args.root.resolve()
    exercises = read_exercises(args.manifest)
    quizzes = [(f"quiz{label[2:]}", label, name) for label, name in chapters
               if (root / "chapters" / name / "quiz.md").is_file()]
    pages = [("index", "the main page")]
    pages += [(label, f"chapter {name}") for label, name in chapters]
    pages += [(quiz, f"the quiz of {name}") for quiz, _, name in quizzes]
    pages += [("exercises", "the exercise list")]
    pages += [(f"ex_{e['id']}", f"exercise {e['id']}") for e in exercises]
    for name, what in pages:
        if not (site / f"{name}.html").is_file():
            problems.append(f"{name}.html ({what}) is missing")
    # The library reference: the namespace and class pages, where the formulas are.
    reference = sorted(p.stem for p in site.glob("*.html")
                       if re.fullmatch(r"(namespace|class|struct)\w*_1_1\w*|namespace(?!s|members)\w+",
                                       p.stem))
    if "namespaceqkv" not in reference:
        problems.append("namespaceqkv.html (the library reference) is missing")
    pages += [(name, "the library reference") for name in reference]

    html_files, link_problems = check_links(site)
    problems += link_problems
    labels = [label for label, _ in chapters]
    problems += check_sidebar(site, labels)
    problems += check_no_solutions(site, root, exercises)
    problems += check_hints_and_quizzes(site, exercises, quizzes)

    args.screenshots.mkdir(parents=True, exist_ok=True)
    browser = Browser(chromium)
    formulas = 0
    figure_files = []
    notes = []
    try:
        for name, what in pages:
            path = site / f"{name}.html"
            if not path.is_file():
                continue
            url = path.as_uri()
            try:
                browser.open(url)
                report = browser.evaluate(PAGE_PROBE)
            except (TimeoutError, RuntimeError) as error:
                problems.append(f"{name}.html: {error}")
                continue
            events = browser.events
            for event in events:
                method, params = event["method"], event["params"]
                if method == "Network.requestWillBeSent":
                    request_url = params["request"]["url"]
                    if not request_url.startswith(LOCAL_SCHEMES):
                        problems.append(f"{name}.html: a request left the machine: {request_url}")
                elif method == "Network.loadingFailed" and not params.get("canceled"):
                    failed = next((e["params"]["request"]["url"] for e in events
                                   if e["method"] == "Network.requestWillBeSent"
                                   and e["params"]["requestId"] == params["requestId"]), "?")
                    if failed != "about:blank":
                        problems.append(f"{name}.html: {failed} failed: {params.get('errorText')}")
                elif method == "Runtime.exceptionThrown":
                    details = params["exceptionDetails"]
                    text = details.get("exception", {}).get("description") or details.get("text")
                    problems.append(f"{name}.html: script error: {text}")
                elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                    text = params["entry"].get("text", "")
                    url = params["entry"].get("url", "")
                    if not any(h in text for h in HARMLESS) and url != "about:blank":
                        problems.append(f"{name}.html: {text} {url}".rstrip())
            problems += [f"{name}.html: {p}" for p in report["problems"]]
            notes += [f"{name}.html: {n}" for n in report["notes"]]
            formulas += report.get("formulas", 0)
            if name in labels:
                i = labels.index(name)
                for side, expected in (("prev", labels[i - 1] if i > 0 else None),
                                       ("next", labels[i + 1] if i + 1 < len(labels) else None)):
                    got = (report[side] or "").split("#")[0] or None
                    if got != (expected and f"{expected}.html"):
                        problems.append(f"{name}.html: the {side} link goes to {got}, not {expected}")
            if name in labels and report["figures"] == 0:
                problems.append(f"{name}.html ({what}) shows no figure: add "
                                f"![caption](figures/NAME.svg) to its README")
            if what != "the library reference" or name == "namespaceqkv":
                browser.screenshot(args.screenshots / f"{name}.png")
            figure_files += [f for f in report["figureFiles"] if f and f.endswith(".svg")]
            if name in labels and report["figures"]:
                # A second picture with the page's first figure in the middle of the view.
                browser.evaluate("document.querySelector('div.image')"
                                 ".scrollIntoView({block: 'center'})")
                browser.screenshot(args.screenshots / f"{name}_figure.png")
            print(f"  {name + '.html':40} {report.get('formulas', 0):4} formulas "
                  f"{report['figures']:3} figures {report['images']:3} images")
        for figure in sorted(set(figure_files)):
            path = site / figure
            if not path.is_file():
                continue  # reported above
            browser.open(path.as_uri())
            cut = browser.evaluate(FIGURE_PROBE)["cut"]
            if cut:
                problems.append(f"{figure}: text cut off at the picture's edge: {cut}")
    finally:
        browser.close()

    elapsed = time.monotonic() - started
    print(f"check_site: {len(pages)} pages in Chromium ({formulas} formulas, "
          f"{len(set(figure_files))} figures), links in "
          f"{html_files} HTML files, {elapsed:.1f} s; screenshots in {args.screenshots}")
    for note in notes:
        print(f"check_site: note: {note}")
    if problems:
        print(f"check_site: {len(problems)} problems:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print("check_site: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
