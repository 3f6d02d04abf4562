// Reading the manifest, Catch2's XML reports and compiler output for qkv-learn.

#include "learn.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

namespace qkv::learn {

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(start, end - start));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

namespace {
bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}
bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}
int to_int(std::string_view text) {
  int value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}
}  // namespace

// ---------------------------------------------------------------------------------------
// The manifest

std::vector<Exercise> read_manifest(const std::filesystem::path& manifest) {
  std::ifstream in(manifest, std::ios::binary);
  if (!in) throw LearnError("cannot read " + manifest.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::vector<Exercise> exercises;
  std::set<std::string> ids;
  int number = 0;
  for (const auto& line : split_lines(buffer.str())) {
    ++number;
    const std::string stripped = trim(line);
    if (stripped.empty() || stripped.front() == '#') continue;
    const auto where = manifest.string() + ":" + std::to_string(number) + ": ";
    std::vector<std::string> fields;
    std::size_t start = 0;
    // Five separators; the hint, last, may itself contain '|'.
    for (int field = 0; field < 5; ++field) {
      const auto bar = line.find('|', start);
      if (bar == std::string::npos) break;
      fields.push_back(trim(std::string_view(line).substr(start, bar - start)));
      start = bar + 1;
    }
    fields.push_back(trim(std::string_view(line).substr(start)));
    if (fields.size() != 6 ||
        std::any_of(fields.begin(), fields.end(), [](const auto& f) { return f.empty(); }))
      throw LearnError(where + "expected 6 fields: id | chapter | title | file | tag | hint");
    Exercise exercise{fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], number};
    if (!std::all_of(exercise.id.begin(), exercise.id.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        }))
      throw LearnError(where + "id '" + exercise.id + "' must be lower_snake_case");
    if (!ids.insert(exercise.id).second)
      throw LearnError(where + "id '" + exercise.id + "' appears twice");
    exercises.push_back(std::move(exercise));
  }
  return exercises;
}

// ---------------------------------------------------------------------------------------
// Catch2's XML report

namespace {

// Just enough XML for Catch2's reporter: elements, attributes, text, entities.
struct XmlNode {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string text;
  std::vector<XmlNode> children;

  std::string attribute(std::string_view key) const {
    for (const auto& [name_, value] : attributes)
      if (name_ == key) return value;
    return {};
  }
  const XmlNode* child(std::string_view child_name) const {
    for (const auto& node : children)
      if (node.name == child_name) return &node;
    return nullptr;
  }
};

std::string decode_entities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    const auto semicolon = text.find(';', i);
    if (semicolon == std::string_view::npos || semicolon - i > 10) {
      out += text[i];
      continue;
    }
    const auto entity = text.substr(i + 1, semicolon - i - 1);
    if (entity == "lt")
      out += '<';
    else if (entity == "gt")
      out += '>';
    else if (entity == "amp")
      out += '&';
    else if (entity == "quot")
      out += '"';
    else if (entity == "apos")
      out += '\'';
    else if (!entity.empty() && entity[0] == '#') {
      unsigned code = 0;
      const bool hex = entity.size() > 1 && (entity[1] == 'x' || entity[1] == 'X');
      const auto digits = entity.substr(hex ? 2 : 1);
      std::from_chars(digits.data(), digits.data() + digits.size(), code, hex ? 16 : 10);
      if (code < 0x80) {
        out += static_cast<char>(code);
      } else if (code < 0x800) {  // UTF-8
        out += static_cast<char>(0xC0 | (code >> 6));
        out += static_cast<char>(0x80 | (code & 0x3F));
      } else {
        out += static_cast<char>(0xE0 | ((code >> 12) & 0x0F));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
      }
    } else {
      out += text.substr(i, semicolon - i + 1);
    }
    i = semicolon;
  }
  return out;
}

// Parses `xml` into `document`; returns false when it ends early or does not nest (a test
// that crashed mid-report). What was read so far stays in `document`.
bool parse_xml(std::string_view xml, XmlNode& document) {
  std::vector<XmlNode*> open{&document};
  std::size_t pos = 0;
  const auto n = xml.size();
  while (pos < n) {
    const auto lt = xml.find('<', pos);
    open.back()->text +=
        decode_entities(xml.substr(pos, lt == std::string_view::npos ? n - pos : lt - pos));
    if (lt == std::string_view::npos) break;
    const auto rest = xml.substr(lt);
    auto skip_to = [&](std::string_view end) {
      const auto found = xml.find(end, lt);
      if (found == std::string_view::npos) return false;
      pos = found + end.size();
      return true;
    };
    if (starts_with(rest, "<?")) {
      if (!skip_to("?>")) return false;
    } else if (starts_with(rest, "<!--")) {
      if (!skip_to("-->")) return false;
    } else if (starts_with(rest, "<![CDATA[")) {
      const auto end = xml.find("]]>", lt);
      if (end == std::string_view::npos) return false;
      open.back()->text += xml.substr(lt + 9, end - lt - 9);
      pos = end + 3;
    } else if (starts_with(rest, "<!")) {
      if (!skip_to(">")) return false;
    } else if (starts_with(rest, "</")) {
      const auto gt = xml.find('>', lt);
      if (gt == std::string_view::npos) return false;
      const auto name = trim(xml.substr(lt + 2, gt - lt - 2));
      if (open.size() < 2 || open.back()->name != name) return false;
      open.pop_back();
      pos = gt + 1;
    } else {
      XmlNode node;
      std::size_t i = lt + 1;
      while (i < n && !std::isspace(static_cast<unsigned char>(xml[i])) && xml[i] != '>' &&
             xml[i] != '/')
        node.name += xml[i++];
      bool self_closing = false;
      while (true) {
        while (i < n && std::isspace(static_cast<unsigned char>(xml[i]))) ++i;
        if (i >= n) return false;
        if (xml[i] == '>') {
          ++i;
          break;
        }
        if (xml[i] == '/') {
          self_closing = true;
          ++i;
          continue;
        }
        const auto equals = xml.find('=', i);
        if (equals == std::string_view::npos || equals + 1 >= n) return false;
        const auto key = trim(xml.substr(i, equals - i));
        const char quote = xml[equals + 1];
        if (quote != '"' && quote != '\'') return false;
        const auto close = xml.find(quote, equals + 2);
        if (close == std::string_view::npos) return false;
        node.attributes.emplace_back(key,
                                     decode_entities(xml.substr(equals + 2, close - equals - 2)));
        i = close + 1;
      }
      open.back()->children.push_back(std::move(node));
      // The parent's children vector may grow, but only ancestors are kept in `open`,
      // and their own vectors do not change until they are closed.
      if (!self_closing) open.push_back(&open.back()->children.back());
      pos = i;
    }
  }
  return open.size() == 1;
}

struct Walk {
  TestReport report;
  std::string test_case;
  std::vector<std::string> sections;
  std::vector<std::string> messages;

  Failure start_failure(const XmlNode& node) const {
    Failure failure;
    failure.test_case = test_case;
    failure.sections = sections;
    failure.file = node.attribute("filename");
    failure.line = to_int(node.attribute("line"));
    failure.messages = messages;
    return failure;
  }

  void visit(const XmlNode& node) {
    for (const auto& child : node.children) {
      if (child.name == "TestCase") {
        test_case = child.attribute("name");
        sections.clear();
        messages.clear();
        visit(child);
      } else if (child.name == "Section") {
        sections.push_back(child.attribute("name"));
        visit(child);
        sections.pop_back();
      } else if (child.name == "Info" || child.name == "Warning") {
        messages.push_back(trim(child.text));
      } else if (child.name == "Expression") {
        if (child.attribute("success") == "false" && !report.first_failure) {
          Failure failure = start_failure(child);
          failure.macro = child.attribute("type");
          if (const auto* original = child.child("Original"))
            failure.original = trim(original->text);
          if (const auto* expanded = child.child("Expanded"))
            failure.expanded = trim(expanded->text);
          if (const auto* exception = child.child("Exception"))
            failure.exception = trim(exception->text);
          if (const auto* fatal = child.child("FatalErrorCondition"))
            failure.fatal = trim(fatal->text);
          if (const auto* explicit_failure = child.child("Failure"))
            failure.explicit_failure = trim(explicit_failure->text);
          report.first_failure = std::move(failure);
        }
        messages.clear();
      } else if (child.name == "Exception" || child.name == "FatalErrorCondition" ||
                 child.name == "Failure") {
        // Outside any check: thrown by the test's own code, a crash, or FAIL().
        if (!report.first_failure) {
          Failure failure = start_failure(child);
          const auto text = trim(child.text);
          if (child.name == "Exception")
            failure.exception = text;
          else if (child.name == "FatalErrorCondition")
            failure.fatal = text;
          else
            failure.explicit_failure = text;
          report.first_failure = std::move(failure);
        }
        messages.clear();
      } else if (child.name == "OverallResult") {
        ++report.cases;
        if (child.attribute("success") == "false") ++report.cases_failed;
      } else if (child.name == "OverallResults") {
        // Sections and groups have their own; the run's comes last in the document.
        report.checks_failed = to_int(child.attribute("failures"));
      } else {
        visit(child);
      }
    }
  }
};

}  // namespace

TestReport read_catch_xml(std::string_view xml) {
  XmlNode document;
  const bool complete = parse_xml(xml, document);
  Walk walk;
  walk.visit(document);
  walk.report.parsed = complete && !document.children.empty();
  return walk.report;
}

bool is_not_done(const Failure& failure) {
  return failure.exception && starts_with(*failure.exception, "not done yet");
}

namespace {

// Splits `text` at its one top-level occurrence of `op` (outside brackets and quotes).
std::optional<std::pair<std::string, std::string>> split_top_level(std::string_view text,
                                                                   std::string_view op,
                                                                   bool last = false) {
  int depth = 0;
  char quote = 0;
  std::vector<std::size_t> found;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == '\\')
        ++i;
      else if (c == quote)
        quote = 0;
      continue;
    }
    if (c == '"' || c == '\'')
      quote = c;
    else if (c == '(' || c == '[' || c == '{')
      ++depth;
    else if (c == ')' || c == ']' || c == '}')
      --depth;
    else if (depth == 0 && text.substr(i, op.size()) == op) {
      // "==" must not be part of "!==" or "<==" and friends.
      const bool clean_before =
          i == 0 || std::string_view("=!<>").find(text[i - 1]) == std::string_view::npos;
      const auto after = i + op.size();
      const bool clean_after = after >= text.size() || text[after] != '=';
      if (clean_before && clean_after) found.push_back(i);
    }
  }
  if (found.empty() || (found.size() > 1 && !last)) return std::nullopt;
  const auto at = found.back();
  return std::pair{trim(text.substr(0, at)), trim(text.substr(at + op.size()))};
}

bool looks_literal(std::string_view text) {
  const auto value = trim(text);
  if (value.empty()) return false;
  if (value == "true" || value == "false" || value == "nullptr") return true;
  const char c = value.front();
  if (c == '"' || c == '\'' || c == '{') return true;
  if (std::isdigit(static_cast<unsigned char>(c)) || c == '.' ||
      ((c == '-' || c == '+') && value.size() > 1 &&
       (std::isdigit(static_cast<unsigned char>(value[1])) || value[1] == '.')))
    return value.find_first_not_of("0123456789.eE+-fFuUlLx'") == std::string::npos;
  // A typed list, like std::vector<Index>{3, 2}.
  const auto brace = value.find('{');
  return brace != std::string::npos && value.back() == '}' &&
         value.substr(0, brace).find_first_of("()") == std::string::npos;
}

bool mentions_exercise(std::string_view text) { return contains(text, "exercises::"); }

void add_value(std::vector<std::string>& lines, const std::string& label,
               const std::string& value) {
  const auto value_lines = split_lines(value);
  if (value_lines.size() <= 1) {
    lines.push_back(label + value);
    return;
  }
  lines.push_back(label.substr(0, label.find_last_not_of(' ') + 1));
  for (const auto& line : value_lines) lines.push_back("        " + line);
}

}  // namespace

std::vector<std::string> describe_failure(
    const Failure& failure, const std::function<std::string(const std::string&)>& display) {
  std::vector<std::string> lines;
  std::string context = "in test case \"" + failure.test_case + "\"";
  for (const auto& section : failure.sections) context += " / \"" + section + "\"";
  lines.push_back(context);
  if (!failure.file.empty())
    lines.push_back("at " + display(failure.file) + ":" + std::to_string(failure.line));

  const std::string expected = "    expected: ";
  const std::string got = "    got:      ";
  const auto& macro = failure.macro;
  const bool has_check = !macro.empty();
  if (has_check) lines.push_back("    " + macro + "( " + failure.original + " )");

  if (failure.fatal) {
    lines.push_back("    the test crashed: " + *failure.fatal);
  } else if (failure.explicit_failure) {
    add_value(lines, "    ", *failure.explicit_failure);
  } else if (!has_check && failure.exception) {
    add_value(lines, "    your code threw: ", *failure.exception);
  } else if (contains(macro, "THROWS_AS")) {
    const auto parts = split_top_level(failure.original, ",", /*last=*/true);
    lines.push_back(expected + "it throws " + (parts ? parts->second : "the named exception"));
    if (failure.exception)
      add_value(lines, got, "a different exception: " + *failure.exception);
    else
      lines.push_back(got + "nothing was thrown");
  } else if (contains(macro, "NOTHROW")) {
    lines.push_back(expected + "no exception");
    if (failure.exception) add_value(lines, got, "an exception: " + *failure.exception);
  } else if (contains(macro, "THROWS")) {
    lines.push_back(expected + "it throws");
    if (failure.exception)
      add_value(lines, got, "an exception: " + *failure.exception);
    else if (failure.expanded == failure.original)
      lines.push_back(got + "nothing was thrown");
    else
      add_value(lines, "    which is: ", failure.expanded);
  } else if (failure.exception) {
    add_value(lines, got, "an exception: " + *failure.exception);
  } else if (contains(macro, "THAT")) {
    // Catch writes "<value> <matcher's description>".
    const auto& text = failure.expanded;
    const auto within = text.find(" is within ");
    const auto are_within = text.find(" are within ");
    const auto and_ = text.find(" and ");
    const auto of = text.rfind(" of ");
    if (within != std::string::npos && of != std::string::npos && of > within) {
      add_value(lines, expected,
                text.substr(of + 4) + " (give or take " +
                    text.substr(within + 11, of - within - 11) + ")");
      add_value(lines, got, text.substr(0, within));
    } else if (are_within != std::string::npos && and_ != std::string::npos && and_ < are_within) {
      add_value(
          lines, expected,
          text.substr(and_ + 5, are_within - and_ - 5) + " (" + text.substr(are_within + 12) + ")");
      add_value(lines, got, text.substr(0, and_));
    } else {
      add_value(lines, "    which is: ", text);
    }
  } else {
    const auto written = split_top_level(failure.original, "==");
    std::optional<std::pair<std::string, std::string>> values;
    if (const auto multi_line = failure.expanded.find("\n==\n");
        multi_line != std::string::npos &&
        failure.expanded.find("\n==\n", multi_line + 1) == std::string::npos)
      values = std::pair{failure.expanded.substr(0, multi_line),
                         failure.expanded.substr(multi_line + 4)};
    else if (const auto single = failure.expanded.find(" == ");
             single != std::string::npos &&
             failure.expanded.find(" == ", single + 1) == std::string::npos)
      values = std::pair{failure.expanded.substr(0, single), failure.expanded.substr(single + 4)};
    if (written && values) {
      // Tests put the code under test on the left, as in CHECK(top_k(s, 2) == {1, 2});
      // if it is on the right, or the left is a plain value, swap.
      bool got_left = true;
      if (mentions_exercise(written->second) && !mentions_exercise(written->first))
        got_left = false;
      else if (!mentions_exercise(written->first) && looks_literal(written->first) &&
               !looks_literal(written->second))
        got_left = false;
      add_value(lines, expected, got_left ? values->second : values->first);
      add_value(lines, got, got_left ? values->first : values->second);
    } else if (failure.expanded != failure.original) {
      add_value(lines, "    which is: ", failure.expanded);
    } else {
      lines.push_back("    which is false");
    }
  }
  for (const auto& message : failure.messages) add_value(lines, "    with: ", message);
  return lines;
}

// ---------------------------------------------------------------------------------------
// Compiler output

std::string shorten_templates(std::string_view text, int keep_depth) {
  std::string out;
  out.reserve(text.size());
  int depth = 0;
  auto ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool after_operator = i >= 8 && text.substr(i - 8, 8) == "operator";
    if (c == '<' && !after_operator && i > 0 && ident(text[i - 1])) {
      if (depth < keep_depth)
        out += '<';
      else if (depth == keep_depth)
        out += "<...";
      ++depth;
    } else if (c == '>' && depth > 0 && !after_operator && text[i - 1] != '-') {
      --depth;
      if (depth <= keep_depth) out += '>';
    } else if (after_operator && (c == '<' || c == '>')) {
      // operator<, operator<<, operator>=: copy the whole operator.
      while (i < text.size() && (text[i] == '<' || text[i] == '>' || text[i] == '=')) {
        if (depth <= keep_depth) out += text[i];
        ++i;
      }
      --i;
    } else if (depth <= keep_depth) {
      out += c;
    }
  }
  return depth == 0 ? out : std::string(text);
}

namespace {

struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string kind;  // "error", "fatal error", "warning", "note", "required from here"
  std::string message;
};

// Reads "file:line:col: kind: message" (g++ and clang), or "file:line:col:   required from
// here" (g++'s template instantiation chain).
std::optional<Diagnostic> parse_diagnostic(const std::string& line) {
  static const std::vector<std::string> kinds{"fatal error", "error", "warning", "note"};
  Diagnostic d;
  std::size_t at = std::string::npos;
  for (const auto& kind : kinds) {
    at = line.find(": " + kind + ": ");
    if (at != std::string::npos) {
      d.kind = kind;
      d.message = line.substr(at + kind.size() + 4);
      break;
    }
  }
  if (at == std::string::npos) {
    at = line.find(":   required from here");
    if (at == std::string::npos) return std::nullopt;
    d.kind = "required from here";
  }
  // The prefix is file:line:col or file:line.
  const std::string prefix = line.substr(0, at);
  std::vector<std::string> numbers;
  std::size_t end = prefix.size();
  for (int part = 0; part < 2; ++part) {
    const auto colon = prefix.rfind(':', end - 1);
    if (colon == std::string::npos || end == 0) break;
    const auto digits = prefix.substr(colon + 1, end - colon - 1);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) break;
    numbers.insert(numbers.begin(), digits);
    end = colon;
  }
  if (numbers.empty()) return std::nullopt;
  d.file = prefix.substr(0, end);
  d.line = to_int(numbers[0]);
  d.column = numbers.size() > 1 ? to_int(numbers[1]) : 0;
  return d;
}

bool is_source_excerpt(const std::string& line) {
  // g++: "   25 |   return idx;" and "      |          ^~~"
  const auto bar = line.find('|');
  if (bar == std::string::npos) return false;
  const auto head = line.substr(0, bar);
  return head.find_first_not_of(" 0123456789") == std::string::npos;
}

std::optional<std::string> source_line(const std::string& file, int number) {
  std::ifstream in(file);
  std::string line;
  for (int i = 1; in && std::getline(in, line); ++i)
    if (i == number) return line;
  return std::nullopt;
}

}  // namespace

CompileError first_compile_error(std::string_view output,
                                 const std::function<std::string(const std::string&)>& display,
                                 const std::function<bool(const std::string&)>& own_file) {
  const auto lines = split_lines(output);
  CompileError result;
  std::optional<std::size_t> first;
  std::optional<Diagnostic> first_diagnostic;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto d = parse_diagnostic(lines[i]);
    if (!d || (d->kind != "error" && d->kind != "fatal error")) continue;
    ++result.errors;
    if (!first) {
      first = i;
      first_diagnostic = d;
    }
  }
  auto located = [&](const Diagnostic& d) {
    return display(d.file) + ":" + std::to_string(d.line) +
           (d.column ? ":" + std::to_string(d.column) : "");
  };
  if (first) {
    const auto& d = *first_diagnostic;
    // "file: In function 'f':" just before says where in the file.
    if (*first > 0) {
      const auto& before = lines[*first - 1];
      const auto in = before.find(": In ");
      if (in != std::string::npos && before.back() == ':' && !parse_diagnostic(before))
        result.lines.push_back(
            shorten_templates(display(before.substr(0, in)) + before.substr(in)));
    }
    result.lines.push_back(located(d) + ": " + d.kind + ": " + shorten_templates(d.message));
    for (std::size_t i = *first + 1; i < lines.size() && i <= *first + 3; ++i) {
      if (!is_source_excerpt(lines[i])) break;
      result.lines.push_back(lines[i]);
    }
    if (!own_file(d.file)) {
      // Inside a header (Eigen's, qkv's): find the line of the learner's code that led
      // there, the last "required from here" (or "included from") before the error.
      for (std::size_t i = *first; i-- > 0;) {
        const auto chain = parse_diagnostic(lines[i]);
        if (chain && (chain->kind == "error" || chain->kind == "fatal error")) break;
        if (chain && chain->kind == "required from here" && own_file(chain->file)) {
          result.lines.push_back("which comes from your code at " + located(*chain) + ":");
          if (const auto code = source_line(chain->file, chain->line)) {
            result.lines.push_back("  " + std::to_string(chain->line) + " | " + *code);
            if (chain->column > 0)
              result.lines.push_back(
                  std::string(std::to_string(chain->line).size() + 2, ' ') + " | " +
                  std::string(static_cast<std::size_t>(chain->column - 1), ' ') + "^");
          }
          break;
        }
      }
    }
    return result;
  }
  // No compiler error: the linker's.
  for (const auto& line : lines) {
    for (const std::string what : {"undefined reference to", "multiple definition of"}) {
      const auto at = line.find(what);
      if (at == std::string::npos) continue;
      result.errors = 1;
      result.lines.push_back("link error: " + shorten_templates(line.substr(at)));
      result.lines.push_back(what == "undefined reference to"
                                 ? "  (no function with this name and these parameter types: "
                                   "compare yours with the declaration in the exercise's .hpp)"
                                 : "  (defined twice: is it also defined in another file?)");
      return result;
    }
  }
  // Something else: the last lines that are not the build tool's own chatter.
  std::vector<std::string> tail;
  for (const auto& line : lines) {
    if (trim(line).empty() || starts_with(line, "[") || starts_with(line, "FAILED:") ||
        starts_with(line, "ninja: build stopped") || starts_with(line, "ninja: no work"))
      continue;
    tail.push_back(line);
  }
  if (tail.size() > 15) tail.erase(tail.begin(), tail.end() - 15);
  result.lines = tail;
  return result;
}

std::vector<std::string> failed_build_steps(std::string_view output) {
  std::vector<std::string> steps;
  bool in_step = false;
  for (const auto& line : split_lines(output)) {
    if (starts_with(line, "FAILED: ")) {
      steps.push_back(line + "\n");
      in_step = true;
    } else if (in_step && ((line.size() > 1 && line[0] == '[' &&
                            std::isdigit(static_cast<unsigned char>(line[1]))) ||
                           starts_with(line, "ninja: "))) {
      in_step = false;
    } else if (in_step) {
      steps.back() += line + "\n";
    }
  }
  return steps;
}

bool step_belongs_to(std::string_view step, std::string_view id) {
  const auto first_line = step.substr(0, step.find('\n'));
  const std::string target = "exercise_" + std::string(id);
  if (contains(first_line, "/" + target + ".dir/")) return true;
  // The link step's output: exercises/exercise_<id>, then a space or the end.
  const std::string binary = "exercises/" + target;
  for (auto at = first_line.find(binary); at != std::string_view::npos;
       at = first_line.find(binary, at + 1)) {
    const auto after = at + binary.size();
    if (after == first_line.size() || first_line[after] == ' ') return true;
  }
  return false;
}

}  // namespace qkv::learn
