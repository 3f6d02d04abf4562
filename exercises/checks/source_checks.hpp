#pragma once
// What test_exercise_sources.cpp checks in the exercises' own files, as functions of their
// text so that the checks can be tested on canned examples too:
//  - a CHECK or REQUIRE whose condition is a bare bool (a call such as same(a, b) or
//    m.allFinite(), with no comparison that Catch could print), since its failure shows
//    only "false";
//  - the key expressions of a solution (its calls, member variables and operator
//    fragments such as `queries*keys`), which the first hint of an exercise must not quote.

#include <cctype>
#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace qkv::exercise_checks {

/// `text` with comments and the contents of string and character literals blanked out
/// (newlines kept, so line numbers stay right, and the quotes kept).
inline std::string strip_comments_and_literals(std::string_view text) {
  std::string out(text);
  std::size_t i = 0;
  while (i < out.size()) {
    if (out.compare(i, 2, "//") == 0) {
      while (i < out.size() && out[i] != '\n') out[i++] = ' ';
    } else if (out.compare(i, 2, "/*") == 0) {
      const std::size_t end = out.find("*/", i + 2);
      const std::size_t stop = end == std::string::npos ? out.size() : end + 2;
      for (; i < stop; ++i)
        if (out[i] != '\n') out[i] = ' ';
    } else if (out[i] == '"' || out[i] == '\'') {
      // A digit separator (1'000) is not a character literal.
      if (out[i] == '\'' && i > 0 && std::isalnum(static_cast<unsigned char>(out[i - 1]))) {
        ++i;
        continue;
      }
      const char quote = out[i++];
      while (i < out.size() && out[i] != quote && out[i] != '\n') {
        if (out[i] == '\\' && i + 1 < out.size()) out[i++] = ' ';
        out[i++] = ' ';
      }
      ++i;  // the closing quote
    } else {
      ++i;
    }
  }
  return out;
}

inline bool is_identifier_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

/// One Catch assertion: the macro, its condition as written, and its line (1-based).
struct Assertion {
  std::string macro;
  std::string condition;
  int line = 0;
};

/// Every CHECK, REQUIRE, CHECK_FALSE, REQUIRE_FALSE, CHECK_NOFAIL, CHECKED_IF and
/// CHECKED_ELSE in `source` (comments and string contents are ignored).
inline std::vector<Assertion> boolean_assertions(std::string_view source) {
  static const std::set<std::string, std::less<>> macros{
      "CHECK",        "REQUIRE",    "CHECK_FALSE", "REQUIRE_FALSE",
      "CHECK_NOFAIL", "CHECKED_IF", "CHECKED_ELSE"};
  const std::string text = strip_comments_and_literals(source);
  std::vector<Assertion> found;
  int line = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') ++line;
    if (!std::isupper(static_cast<unsigned char>(text[i])) ||
        (i > 0 && is_identifier_char(text[i - 1])))
      continue;
    std::size_t end = i;
    while (end < text.size() && is_identifier_char(text[end])) ++end;
    const std::string word = text.substr(i, end - i);
    std::size_t open = end;
    while (open < text.size() && text[open] == ' ') ++open;
    if (!macros.contains(word) || open >= text.size() || text[open] != '(') continue;
    int depth = 0;
    std::size_t close = open;
    for (; close < text.size(); ++close) {
      if (text[close] == '(') ++depth;
      if (text[close] == ')' && --depth == 0) break;
    }
    found.push_back({word, std::string(source.substr(open + 1, close - open - 1)), line});
  }
  return found;
}

/// True when `condition` (the inside of a CHECK or REQUIRE) is a bare bool: it has no
/// comparison outside parentheses, brackets and braces that Catch would decompose and print
/// (==, !=, <, <=, >, >=), or it compares with the literal true or false.
inline bool is_bare_bool(std::string_view condition) {
  const std::string text = strip_comments_and_literals(condition);
  int depth = 0;
  bool comparison = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
    if (depth != 0) continue;
    const std::string_view two = std::string_view(text).substr(i, 2);
    if (two == "==" || two == "!=" || two == "<=" || two == ">=") comparison = true;
    // '<' and '>' compare only when spaced (clang-format's style); a template's are not.
    const auto blank = [&text](std::size_t at) {
      return at < text.size() && std::isspace(static_cast<unsigned char>(text[at])) != 0;
    };
    if ((c == '<' || c == '>') && i > 0 && blank(i - 1) && blank(i + 1)) comparison = true;
    // x == true, false != f(x): a bool dressed up as a comparison prints no value either.
    for (std::string_view literal : {"true", "false"})
      if (text.compare(i, literal.size(), literal) == 0 &&
          (i == 0 || !is_identifier_char(text[i - 1])) &&
          (i + literal.size() >= text.size() || !is_identifier_char(text[i + literal.size()])))
        return true;
  }
  return !comparison;
}

/// What of a solution a first hint must not quote.
struct KeyExpressions {
  std::set<std::string> snake_calls;  ///< called names with '_': never as a word
  std::set<std::string> plain_calls;  ///< other called names: never as `name(`, `.name`, `::name`
  std::set<std::string> members;      ///< member variables (trailing '_'): never as a word
  std::set<std::string> fragments;    ///< `a*b`, `t_k-t_q`, ...: never, spaces removed
};

/// The text inside the function bodies of `source` (a solution file): the outermost braces
/// that do not belong to a namespace. Signatures, includes and comments are left out.
inline std::string function_bodies(std::string_view source) {
  std::string text = strip_comments_and_literals(source);
  // Blank the preprocessor lines, so that the text before a brace is its declaration.
  for (std::size_t line = 0; line < text.size(); line = text.find('\n', line) + 1) {
    const std::size_t first = text.find_first_not_of(" \t", line);
    if (first != std::string::npos && text[first] == '#')
      for (std::size_t i = first; i < text.size() && text[i] != '\n'; ++i) text[i] = ' ';
    if (text.find('\n', line) == std::string::npos) break;
  }
  std::string bodies;
  std::vector<bool> is_namespace;  // one per open brace
  int body_depth = 0;              // braces open inside the current body
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (body_depth > 0) {
      if (c == '{') ++body_depth;
      if (c == '}' && --body_depth == 0) {
        bodies += "\n";
        continue;
      }
      if (body_depth > 0) bodies += c;
      continue;
    }
    if (c == '{') {
      // A namespace's brace: the text since the last ';', '{' or '}' starts with "namespace".
      std::size_t start = text.find_last_of(";{}", i == 0 ? 0 : i - 1);
      start = start == std::string::npos ? 0 : start + 1;
      std::string head = text.substr(start, i - start);
      head.erase(0, head.find_first_not_of(" \n\t"));
      if (head.rfind("namespace", 0) == 0)
        is_namespace.push_back(true);
      else
        body_depth = 1;
    } else if (c == '}' && !is_namespace.empty()) {
      is_namespace.pop_back();
    }
  }
  return bodies;
}

inline std::vector<std::string> tokens_of(std::string_view code) {
  static const std::vector<std::string_view> operators{
      "&&", "||", "<<", ">>", "<=", ">=", "==", "!=",
      "::", "->", "+=", "-=", "*=", "/=", "++", "--"};
  std::vector<std::string> tokens;
  std::size_t i = 0;
  while (i < code.size()) {
    const char c = code[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (is_identifier_char(c)) {  // a name, or a number such as 1e-5f or 0.5f
      std::size_t end = i;
      const bool number = std::isdigit(static_cast<unsigned char>(c)) != 0;
      while (end < code.size() && (is_identifier_char(code[end]) || (number && code[end] == '.')))
        ++end;
      tokens.emplace_back(code.substr(i, end - i));
      i = end;
    } else {
      std::size_t length = 1;
      for (std::string_view op : operators)
        if (code.substr(i, op.size()) == op) length = op.size();
      tokens.emplace_back(code.substr(i, length));
      i += length;
    }
  }
  return tokens;
}

/// The key expressions of a solution file: every call in its function bodies, every member
/// variable, and every `operand op operand` (op one of * / % + - && || < > <= >= == !=).
inline KeyExpressions key_expressions(std::string_view solution) {
  static const std::set<std::string, std::less<>> keywords{
      "if",       "for",         "while",      "switch",       "return",  "sizeof",
      "decltype", "static_cast", "const_cast", "dynamic_cast", "noexcept"};
  static const std::set<std::string, std::less<>> binary{"*", "/", "%",  "+",  "-",  "&&", "||",
                                                         "<", ">", "<=", ">=", "==", "!="};
  KeyExpressions keys;
  const std::vector<std::string> tokens = tokens_of(function_bodies(solution));
  const auto is_operand = [](const std::string& token) { return is_identifier_char(token[0]); };
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (!is_operand(token)) continue;
    const bool called = i + 1 < tokens.size() && tokens[i + 1] == "(";
    if (called && token.size() > 1 && !keywords.contains(token) &&
        !std::isdigit(static_cast<unsigned char>(token[0])))
      (token.find('_') != std::string::npos ? keys.snake_calls : keys.plain_calls).insert(token);
    if (token.size() > 1 && token.back() == '_') keys.members.insert(token);
    if (i + 2 < tokens.size() && binary.contains(tokens[i + 1]) && is_operand(tokens[i + 2])) {
      // vector<Index>, static_cast<std::size_t>: a template's brackets, not a comparison.
      const bool angle = tokens[i + 1] == "<" || tokens[i + 1] == ">";
      const bool templated =
          angle && i + 3 < tokens.size() && (tokens[i + 3] == ">" || tokens[i + 3] == "::");
      if (!templated) keys.fragments.insert(token + tokens[i + 1] + tokens[i + 2]);
    }
  }
  return keys;
}

/// True when `text` holds `word` with no identifier character on either side.
inline bool contains_word(std::string_view text, std::string_view word) {
  for (std::size_t at = text.find(word); at != std::string_view::npos;
       at = text.find(word, at + 1)) {
    const bool starts = at == 0 || !is_identifier_char(text[at - 1]);
    const std::size_t after = at + word.size();
    if (starts && (after >= text.size() || !is_identifier_char(text[after]))) return true;
  }
  return false;
}

/// The key expressions of a solution that `hint` quotes, each as it would be found.
inline std::vector<std::string> quoted_code(std::string_view hint, const KeyExpressions& keys) {
  std::vector<std::string> quoted;
  // The hint without blanks next to symbols: "queries * keys" reads "queries*keys", while
  // "so queries" keeps its space.
  std::string squeezed;
  for (std::size_t i = 0; i < hint.size(); ++i) {
    if (!std::isspace(static_cast<unsigned char>(hint[i]))) {
      squeezed += hint[i];
      continue;
    }
    std::size_t next = i;
    while (next < hint.size() && std::isspace(static_cast<unsigned char>(hint[next]))) ++next;
    const bool between_words = !squeezed.empty() && is_identifier_char(squeezed.back()) &&
                               next < hint.size() && is_identifier_char(hint[next]);
    if (between_words) squeezed += ' ';
    i = next - 1;
  }
  for (const auto& name : keys.snake_calls)
    if (contains_word(hint, name)) quoted.push_back(name);
  for (const auto& name : keys.members)
    if (contains_word(hint, name)) quoted.push_back(name);
  // `name(` with no identifier before it; `.name` and `::name` with none after.
  const auto quotes = [hint](std::string_view form, bool boundary_before) {
    for (std::size_t at = hint.find(form); at != std::string_view::npos;
         at = hint.find(form, at + 1)) {
      const std::size_t after = at + form.size();
      if (boundary_before ? at == 0 || !is_identifier_char(hint[at - 1])
                          : after >= hint.size() || !is_identifier_char(hint[after]))
        return true;
    }
    return false;
  };
  for (const auto& name : keys.plain_calls) {
    if (quotes(name + "(", true)) quoted.push_back(name + "(");
    if (quotes("." + name, false)) quoted.push_back("." + name);
    if (quotes("::" + name, false)) quoted.push_back("::" + name);
  }
  for (const auto& fragment : keys.fragments)
    if (contains_word(squeezed, fragment)) quoted.push_back(fragment);
  return quoted;
}

}  // namespace qkv::exercise_checks
