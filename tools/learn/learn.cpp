// Reading Catch2's XML reports (with pugixml) and compiler output for qkv-learn.

#include "learn.hpp"

#include "qkv/terminal.hpp"

#include <algorithm>
#include <cctype>
#include <csignal>
#include <fstream>
#include <pugixml.hpp>
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
// A count or line number in a report; 0 when it is not one (the report is then judged by
// what else it says).
int to_int(std::string_view text) { return qkv::parse_as<int>(text).value_or(0); }
}  // namespace

// ---------------------------------------------------------------------------------------
// Catch2's XML report

namespace {

std::string attribute(const pugi::xml_node& node, const char* name) {
  return node.attribute(name).as_string();
}

std::string child_text(const pugi::xml_node& node, const char* name) {
  return trim(node.child(name).text().as_string());
}

struct Walk {
  TestReport report;
  std::string test_case;
  std::vector<std::string> sections;
  std::vector<std::string> messages;

  Failure start_failure(const pugi::xml_node& node) const {
    Failure failure;
    failure.test_case = test_case;
    failure.sections = sections;
    failure.file = attribute(node, "filename");
    failure.line = to_int(attribute(node, "line"));
    failure.messages = messages;
    return failure;
  }

  void visit(const pugi::xml_node& node) {
    for (const auto& child : node.children()) {
      const std::string_view name = child.name();
      if (name == "TestCase") {
        test_case = attribute(child, "name");
        report.cases_run.push_back(test_case);
        sections.clear();
        messages.clear();
        const bool ended = !child.child("OverallResult").empty();
        visit(child);
        if (!ended) {  // cut short inside it: it ran, and did not pass
          ++report.cases;
          ++report.cases_failed;
        }
      } else if (name == "Section") {
        sections.push_back(attribute(child, "name"));
        visit(child);
        sections.pop_back();
      } else if (name == "Info" || name == "Warning") {
        messages.push_back(trim(child.text().as_string()));
      } else if (name == "Expression") {
        if (attribute(child, "success") == "false" && !report.first_failure) {
          Failure failure = start_failure(child);
          failure.macro = attribute(child, "type");
          failure.original = child_text(child, "Original");
          failure.expanded = child_text(child, "Expanded");
          if (child.child("Exception")) failure.exception = child_text(child, "Exception");
          if (child.child("FatalErrorCondition"))
            failure.fatal = child_text(child, "FatalErrorCondition");
          if (child.child("Failure")) failure.explicit_failure = child_text(child, "Failure");
          report.first_failure = std::move(failure);
        }
        if (child.child("FatalErrorCondition") && !report.crash) {
          report.crashed_in = test_case;
          report.crash = child_text(child, "FatalErrorCondition");
        }
        messages.clear();
      } else if (name == "Exception" || name == "FatalErrorCondition" || name == "Failure") {
        // Outside any check: thrown by the test's own code, a crash, or FAIL().
        const auto text = trim(child.text().as_string());
        if (name == "FatalErrorCondition" && !report.crash) {
          report.crashed_in = test_case;
          report.crash = text;
        }
        if (!report.first_failure) {
          Failure failure = start_failure(child);
          if (name == "Exception")
            failure.exception = text;
          else if (name == "FatalErrorCondition")
            failure.fatal = text;
          else
            failure.explicit_failure = text;
          report.first_failure = std::move(failure);
        }
        messages.clear();
      } else if (name == "OverallResult") {
        ++report.cases;
        if (attribute(child, "success") == "false") ++report.cases_failed;
      } else if (name == "OverallResults") {
        // Sections and groups have their own; the run's comes last in the document.
        report.checks_failed = to_int(attribute(child, "failures"));
      } else {
        visit(child);
      }
    }
  }
};

}  // namespace

TestReport read_catch_xml(std::string_view xml) {
  pugi::xml_document document;
  const auto result = document.load_buffer(xml.data(), xml.size(), pugi::parse_default);
  Walk walk;
  walk.visit(document);  // what was read, even when the report was cut short
  const auto root = document.document_element();
  walk.report.parsed = result && !root.empty() &&
                       (std::string_view(root.name()) == "Catch" ||
                        std::string_view(root.name()) == "Catch2TestRun");
  return walk.report;
}

std::vector<std::string> read_test_list(std::string_view output) {
  std::vector<std::string> names;
  for (const auto& line : split_lines(output))
    if (!trim(line).empty()) names.push_back(trim(line));
  return names;
}

std::optional<Assertion> find_assertion(std::string_view output) {
  constexpr std::string_view kPrefix = "qkv-assert: ";
  for (const auto& line : split_lines(output)) {
    const auto at = line.find(kPrefix);
    if (at == std::string::npos) continue;
    const std::string_view rest = std::string_view(line).substr(at + kPrefix.size());
    // FILE:LINE: what, where FILE may itself hold a ':' (not before a run of digits and ": ").
    for (std::size_t colon = rest.find(':'); colon != std::string_view::npos;
         colon = rest.find(':', colon + 1)) {
      const auto digits_end = rest.find_first_not_of("0123456789", colon + 1);
      if (digits_end == colon + 1 || digits_end == std::string_view::npos ||
          rest[digits_end] != ':')
        continue;
      Assertion assertion;
      assertion.file = std::string(rest.substr(0, colon));
      assertion.line = to_int(rest.substr(colon + 1, digits_end - colon - 1));
      assertion.what = trim(rest.substr(digits_end + 1));
      return assertion;
    }
    return Assertion{trim(rest), 0, ""};
  }
  return std::nullopt;
}

std::string describe_signal(int signal) {
  switch (signal) {
    case SIGSEGV:
      return "SIGSEGV (invalid memory access)";
    case SIGABRT:
      return "SIGABRT (aborted: a failed assertion, or the heap found corrupted)";
    case SIGFPE:
      return "SIGFPE (arithmetic error: an integer division by zero?)";
    case SIGBUS:
      return "SIGBUS (misaligned or invalid memory access)";
    case SIGILL:
      return "SIGILL (illegal instruction)";
    case SIGKILL:
      return "SIGKILL (killed: out of memory, or from outside)";
    default:
      return "signal " + std::to_string(signal);
  }
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
      const bool got_right =
          (mentions_exercise(written->second) && !mentions_exercise(written->first)) ||
          (!mentions_exercise(written->first) && looks_literal(written->first) &&
           !looks_literal(written->second));
      const bool got_left = !got_right;
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
