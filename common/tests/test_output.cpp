// Printing, heatmaps, SVG and JSON output: layout, labels, shape checks, and JSON that
// parses back to the same numbers.

#include <fmt/color.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

#include "qkv/catch.hpp"
#include "qkv/error.hpp"
#include "qkv/heatmap.hpp"
#include "qkv/json.hpp"
#include "qkv/lesson.hpp"
#include "qkv/print.hpp"
#include "qkv/terminal.hpp"
#include "qkv/timing.hpp"

namespace qkv::testing {

TEST_CASE("format_matrix aligns labelled rows and columns", "[print]") {
  const Matrix m = qkv::matrix_from_rows({{1, -2.5f}, {0.25f, 100}});
  const std::string text = qkv::format_matrix(m, "{:.2f}", {"a", "bbb"}, {"x", "y"});
  CHECK(text ==
        "            x      y\n"
        "  a      1.00  -2.50\n"
        "  bbb    0.25 100.00\n");
  CHECK(qkv::shape_label(3, 4) == "(3 x 4)");
  CHECK(qkv::format_vector(qkv::vector_of({1, 2}), "{:.1f}") == "   1.0 2.0\n");
}

TEST_CASE("format_matrix rejects the wrong number of labels", "[print]") {
  const Matrix m = Matrix::Zero(2, 3);
  CHECK_THROWS_WITH(qkv::format_matrix(m, "{:.1f}", {"only one"}),
                    contains("format_matrix") && contains("1 row labels for 2 row"));
  CHECK_THROWS_AS(qkv::format_matrix(m, "{:.1f}", {}, {"a", "b"}), qkv::ShapeError);
}

TEST_CASE("terminal_heatmap shades without color and colors only when asked", "[heatmap]") {
  const Matrix m = qkv::matrix_from_rows({{0, 1}, {0.5f, 0.25f}});
  const std::string plain = qkv::terminal_heatmap(m, {"r0", "r1"}, {"c0", "c1"}, false);
  CHECK(plain.find("\x1b[") == std::string::npos);
  CHECK_THAT(plain, contains("1.00██"));  // the largest value: full block
  CHECK_THAT(plain, contains("0.50▒▒"));  // the middle: medium shade
  CHECK_THAT(plain, contains("0.00  "));  // the smallest: blank
  const std::string colored = qkv::terminal_heatmap(m, {"r0", "r1"}, {"c0", "c1"}, true);
  CHECK_THAT(colored, contains("\x1b[48;2;"));  // 24-bit background
  CHECK_THAT(colored, contains("\x1b[0m"));     // and a reset after each cell
  // A fixed range maps 0.5 in [0, 2] to the low end: light shade, not medium.
  CHECK_THAT(qkv::terminal_heatmap(m, {"r0", "r1"}, {"c0", "c1"}, false, 0.0f, 2.0f),
             contains("0.50░░"));
  CHECK_THROWS_AS(qkv::terminal_heatmap(m, {"r0"}, {"c0", "c1"}, false), qkv::ShapeError);
}

TEST_CASE("terminal_heatmap copes with a constant matrix and infinities", "[heatmap]") {
  const Matrix constant = Matrix::Constant(2, 2, 3.0f);
  CHECK_NOTHROW(qkv::terminal_heatmap(constant, {}, {}, false));
  Matrix masked = Matrix::Zero(2, 2);
  masked(0, 1) = -INFINITY;
  CHECK_THAT(qkv::terminal_heatmap(masked, {}, {}, false), contains("-inf"));
}

namespace {
// The last line of `text` (a heatmap's legend), without its newline.
std::string last_line(const std::string& text) {
  const std::string body = text.substr(0, text.size() - 1);
  return body.substr(body.rfind('\n') + 1);
}

// The escape code that sets a background color (fmt 9 writes "068;001;084", later ones may not).
std::string background(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  const std::string marked = fmt::format(fmt::bg(fmt::rgb(r, g, b)), "|");
  return marked.substr(0, marked.find('|'));
}

// How many times `part` occurs in `text`.
std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("terminal_heatmap says under the cells which shade stands for which value", "[heatmap]") {
  const Matrix m = qkv::matrix_from_rows({{0, 1}, {0.5f, 0.25f}});
  const std::string plain = qkv::terminal_heatmap(m, {"r0", "r1"}, {"c0", "c1"}, false);
  CHECK(last_line(plain) ==
        "  scale: 0.00   0.25░░ 0.50▒▒ 0.75▓▓ 1.00██ (each cell has the shade nearest its value)");
  // From -2 to 6: the legend's values are the quarters of that range.
  const std::string wide = qkv::terminal_heatmap(qkv::matrix_from_rows({{-2, 6}}), {}, {}, false);
  CHECK(last_line(wide) ==
        "  scale: -2.00   0.00░░ 2.00▒▒ 4.00▓▓ 6.00██ (each cell has the "
        "shade nearest its value)");
  // A range of 0.01: two decimals would print 0.16 0.16 0.17 0.17 0.17; it takes three.
  CHECK_THAT(
      last_line(qkv::terminal_heatmap(qkv::matrix_from_rows({{0.16f, 0.17f}}), {}, {}, false)),
      contains("scale: 0.160   0.162░░ 0.165▒▒ 0.168▓▓ 0.170██"));
  // In color: the five values on their colors, dark to bright.
  const std::string colored = last_line(qkv::terminal_heatmap(m, {}, {}, true));
  CHECK(count(colored, "\x1b[48;2;") == 5);
  CHECK_THAT(colored, contains(background(68, 1, 84)));     // viridis at 0
  CHECK_THAT(colored, contains(background(253, 231, 37)));  // viridis at 1
  CHECK_THAT(colored, contains("(dark to bright)"));
  // Off the scale: infinities and NaN, blank (gray in color).
  Matrix masked = Matrix::Zero(2, 2);
  masked(0, 0) = 1;
  masked(0, 1) = -INFINITY;
  CHECK_THAT(last_line(qkv::terminal_heatmap(masked, {}, {}, false)),
             contains("value); blank: nan or inf"));
  CHECK_THAT(last_line(qkv::terminal_heatmap(masked, {}, {}, true)),
             contains("(dark to bright); gray: nan or inf"));
}

TEST_CASE("terminal_heatmap shades a constant matrix evenly, and equal numbers alike",
          "[heatmap]") {
  // Exactly constant: every cell the middle shade.
  const std::string constant = qkv::terminal_heatmap(Matrix::Constant(2, 3, 3.0f), {}, {}, false);
  CHECK(count(constant, "3▒▒") == 6);  // whole numbers print without decimals
  CHECK(last_line(constant) == "  scale: every value is 3, so every cell has the same shade");
  const std::string halves = qkv::terminal_heatmap(Matrix::Constant(2, 3, 0.5f), {}, {}, false);
  CHECK(count(halves, "0.50▒▒") == 6);
  CHECK(last_line(halves) == "  scale: every value is 0.50, so every cell has the same shade");
  // 04_masking --dim 1: weights that differ in the 7th digit and all print 0.17 were shaded
  // from blank to full; they are one shade now.
  const Matrix almost = qkv::matrix_from_rows({{0.16666f, 0.16667f}, {0.16668f, 0.16672f}});
  const std::string even = qkv::terminal_heatmap(almost, {}, {}, false);
  CHECK(count(even, "0.17▒▒") == 4);
  CHECK(last_line(even) == "  scale: every value is 0.17, so every cell has the same shade");
  const std::string even_color = qkv::terminal_heatmap(almost, {}, {}, true);
  CHECK(count(even_color, background(33, 144, 141)) == 4);  // all viridis at 1/2
  // On a scale from 0 to 0.8, 0.098 and 0.102 both print 0.10: both get its shade (it was
  // blank for one and light for the other, across the boundary at 0.1).
  const std::string same =
      qkv::terminal_heatmap(qkv::matrix_from_rows({{0, 0.098f}, {0.102f, 0.8f}}), {}, {}, false);
  CHECK(count(same, "0.10░░") == 2);
}

TEST_CASE("bar_chart draws bars proportional to the values", "[heatmap]") {
  const std::string chart = qkv::bar_chart(qkv::vector_of({1, 4}), {"a", "b"}, false, 8);
  CHECK(chart ==
        "  a │██ 1.0000\n"
        "  b │████████ 4.0000\n");
  const std::string signed_chart = qkv::bar_chart(qkv::vector_of({-2, 2}), {"n", "p"}, false, 8);
  CHECK(signed_chart ==
        "  n ████│ -2.0000\n"
        "  p     │████ 2.0000\n");
  CHECK_THROWS_AS(qkv::bar_chart(qkv::vector_of({1}), {"a", "b"}, false), qkv::ShapeError);
}

TEST_CASE("write_svg_heatmap writes a complete SVG with every value and label", "[heatmap]") {
  const auto dir = std::filesystem::temp_directory_path() / "qkv-test-svg";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto path = dir / "weights.svg";
  qkv::write_svg_heatmap(path, "weights <T x T>", qkv::matrix_from_rows({{0.1f, 0.9f}}), {"q"},
                         {"k0", "k&1"});
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string svg = text.str();
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK_THAT(svg, contains("</svg>"));
  CHECK_THAT(svg, contains("weights &lt;T x T&gt;"));  // escaped
  CHECK_THAT(svg, contains_all({"k&amp;1", ">0.10<", ">0.90<"}));
  // The scale under the cells: a viridis bar labelled at 0, 1/4, .., 1 of 0.10 to 0.90.
  CHECK_THAT(svg, contains("<linearGradient id=\"scale\">"));
  CHECK_THAT(svg, contains("fill=\"url(#scale)\""));
  for (const char* label : {">0.30</text>", ">0.50</text>", ">0.70</text>", ">color scale</text>"})
    CHECK_THAT(svg, contains(label));
  // Only the figure is left in the folder: no temporary file.
  CHECK(std::distance(std::filesystem::directory_iterator(dir), {}) == 1);
  CHECK_THROWS_AS(
      qkv::write_svg_heatmap(dir / "missing" / "x.svg", "t", Matrix::Zero(1, 1), {}, {}),
      qkv::Error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("write_svg_heatmap colors a constant matrix evenly and says so", "[heatmap]") {
  const auto dir = std::filesystem::temp_directory_path() / "qkv-test-svg-constant";
  std::filesystem::create_directories(dir);
  const auto path = dir / "constant.svg";
  qkv::write_svg_heatmap(path, "uniform", qkv::matrix_from_rows({{0.16666f, 0.16672f}}), {}, {});
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string svg = text.str();
  CHECK(count(svg, "fill=\"#21908d\"") == 3);  // both cells and the swatch: viridis at 1/2
  CHECK_THAT(svg, contains(">every value is 0.17, so every cell has the same color</text>"));
  CHECK(svg.find("linearGradient") == std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("JsonObject writes keys in order and numbers that read back exactly", "[json]") {
  qkv::JsonObject object;
  const Matrix m = qkv::matrix_from_rows({{0.1f, -2}, {1e-8f, 3.5f}});
  object.add("matrix", m);
  object.add("vector", qkv::vector_of({1.0f / 3.0f, 0}));
  object.add("ranking", std::vector<qkv::Index>{2, 0, 1});
  object.add("tokens", qkv::Labels{"a \"quoted\" word", "tab\there"});
  object.add("count", 7.0);
  object.add("name", "qkv");
  object.add("heads", std::vector<Matrix>{m, m});
  const auto parsed = nlohmann::json::parse(object.dump());
  std::vector<std::string> keys;
  for (const auto& item : parsed.items()) keys.push_back(item.key());
  // nlohmann sorts keys; the order we wrote is checked on the text.
  CHECK(object.dump().find("\"matrix\"") < object.dump().find("\"vector\""));
  CHECK(parsed["matrix"][0][0].get<float>() == 0.1f);
  CHECK(parsed["matrix"][1][0].get<float>() == 1e-8f);
  CHECK(parsed["vector"][0].get<float>() == 1.0f / 3.0f);
  CHECK(parsed["ranking"] == nlohmann::json({2, 0, 1}));
  CHECK(parsed["tokens"][0] == "a \"quoted\" word");
  CHECK(parsed["tokens"][1] == "tab\there");
  CHECK(parsed["count"] == 7);
  CHECK(parsed["name"] == "qkv");
  CHECK(parsed["heads"].size() == 2);
  CHECK(parsed["heads"][1][1][1].get<float>() == 3.5f);
  CHECK_THROWS_AS(object.add("name", "again"), qkv::Error);
}

TEST_CASE("json_number writes shortest round-trip floats and null for non-finite", "[json]") {
  CHECK(qkv::json_number(0.1f) == "0.1");
  CHECK(qkv::json_number(2.0f) == "2");
  CHECK(qkv::json_number(NAN) == "null");
  CHECK(qkv::json_number(-INFINITY) == "null");
  CHECK(qkv::json_string("a\nb") == "\"a\\nb\"");
  CHECK(qkv::json_string(std::string(1, '\x01')) == "\"\\u0001\"");
  CHECK(qkv::JsonObject().dump() == "{}");
}

TEST_CASE("one rule prints NaN, infinities, integers and empty cells", "[print]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(qkv::format_cell(0.5, "{:7.3f}") == "  0.500");
  CHECK(qkv::format_cell(nan, "{:7.3f}") == "    nan");
  CHECK(qkv::format_cell(-nan, "{:7.3f}") == "    nan");  // never "-nan"
  CHECK(qkv::format_cell(std::copysign(nan, -1.0f), "{:.2f}") == " nan");
  CHECK(qkv::format_cell(inf, "{:5.0f}") == "  inf");
  CHECK(qkv::format_cell(-inf, "{:5.0f}") == " -inf");
  CHECK(qkv::format_cell(3.0, "{:3d}") == "  3");  // whole numbers without decimals
  CHECK(qkv::format_cell(nan, "{:3d}") == "  -");  // an empty cell
  CHECK(qkv::format_numbers(qkv::vector_of({1, nan}), "{:6.2f}") == "  1.00   nan");
  const Matrix slots = qkv::matrix_from_rows({{0, 1, nan}, {3, 1, 2}});
  CHECK(qkv::format_matrix(slots, "{:2d}") == "    0  1  -\n    3  1  2\n");
  // The heatmap prints a matrix of whole numbers without decimals, and a NaN as empty.
  const std::string heat = qkv::terminal_heatmap(slots, {"a", "b"}, {"x", "y", "z"}, false);
  CHECK_THAT(heat, contains("  -"));
  CHECK(heat.find("nan") == std::string::npos);
  CHECK_THAT(heat, contains("; -: no value"));
  CHECK(heat.find("1.00") == std::string::npos);
}

TEST_CASE("format_matrix_within shows the first and last columns and rows of a large matrix",
          "[print]") {
  Matrix m(40, 30);
  for (qkv::Index r = 0; r < m.rows(); ++r)
    for (qkv::Index c = 0; c < m.cols(); ++c) m(r, c) = static_cast<float>(r * 100 + c);
  const qkv::Labels rows = qkv::numbered_labels("t", 40);
  const std::string text = qkv::format_matrix_within(m, "{:6.0f}", rows, {}, 100, 32);
  std::istringstream lines(text);
  std::size_t count = 0, widest = 0;
  for (std::string line; std::getline(lines, line); ++count) widest = std::max(widest, line.size());
  CHECK(widest <= 100);
  CHECK(count == 1 + 32);  // the column indices, 31 rows and a "..." row
  CHECK_THAT(text, contains("t0 "));
  CHECK_THAT(text, contains("t39 "));
  CHECK(text.find("t20 ") == std::string::npos);
  CHECK_THAT(text, contains(" 3929\n"));  // the last column of the last row
  CHECK_THAT(text, contains("..."));
  // A matrix that fits is formatted exactly as format_matrix formats it.
  const Matrix small = m.topLeftCorner(3, 4);
  CHECK(qkv::format_matrix_within(small, "{:6.0f}", {}, {}, 100, 32) ==
        qkv::format_matrix(small, "{:6.0f}"));
}

TEST_CASE("labels, joins, thousands and bytes as a lesson writes them", "[print]") {
  CHECK(qkv::numbered_labels("t", 3) == qkv::Labels{"t0", "t1", "t2"});
  CHECK(qkv::numbered_labels("t", 0).empty());
  CHECK(qkv::join({"a", "b", "c"}, " > ") == "a > b > c");
  CHECK(qkv::plural(1, "token") == "1 token");
  CHECK(qkv::plural(0, "token") == "0 tokens");
  CHECK(qkv::plural(6, "token") == "6 tokens");
  CHECK(qkv::join({}, ", ").empty());
  CHECK(qkv::with_commas(2362368) == "2,362,368");
  CHECK(qkv::with_commas(999) == "999");
  CHECK(qkv::with_commas(-1000) == "-1,000");
  const auto terms = qkv::dot_product_terms(qkv::vector_of({1, -2}), qkv::vector_of({0.5f, 3}));
  CHECK(terms == std::vector<std::string>{"  1.0000*0.5000 + (-2.0000)*3.0000"});
  const auto long_terms = qkv::dot_product_terms(qkv::Vector::Ones(10), qkv::Vector::Ones(10));
  REQUIRE(long_terms.size() == 2);
  CHECK(long_terms[1] == "+ ... (5 more terms) ... + 1.0000*1.0000");
  CHECK_THROWS_AS(qkv::dot_product_terms(qkv::Vector::Ones(2), qkv::Vector::Ones(3)),
                  qkv::ValueError);
  CHECK(qkv::human_bytes(96) == "96 bytes");
  CHECK(qkv::human_bytes(1536) == "1.5 KiB");
  CHECK(qkv::human_bytes(std::int64_t{1} << 31) == "2 GiB");
}

TEST_CASE("JsonObject writes integers exactly and knows which matrix it holds", "[json]") {
  qkv::JsonObject json;
  json.add("count", qkv::Index{7});
  json.add("big", std::int64_t{1} << 53);
  const Matrix m = qkv::matrix_from_rows({{1, 2}});
  json.add("m", m);
  CHECK(json.holds("m", m));
  CHECK_FALSE(json.holds("m", Matrix(m * 2)));
  CHECK_FALSE(json.holds("count", m));
  const auto parsed = nlohmann::json::parse(json.dump());
  CHECK(parsed["count"].get<long long>() == 7);
  CHECK(parsed["big"].get<long long>() == (1LL << 53));
}

TEST_CASE("JsonObject::of and add_all add key, value pairs in order, as add() would", "[json]") {
  qkv::JsonObject by_add;
  by_add.add("kv_heads", qkv::Index{8});
  by_add.add("relative_error", 0.25);
  by_add.add("name", "gqa");
  const qkv::JsonObject row =
      qkv::JsonObject::of("kv_heads", qkv::Index{8}, "relative_error", 0.25, "name", "gqa");
  CHECK(row.dump() == by_add.dump());
  CHECK(row.dump() == "{\n  \"kv_heads\": 8,\n  \"relative_error\": 0.25,\n  \"name\": \"gqa\"\n}");
  qkv::JsonObject chained;
  chained.add_all("kv_heads", qkv::Index{8}).add_all("relative_error", 0.25, "name", "gqa");
  CHECK(chained.dump() == by_add.dump());
  CHECK(qkv::JsonObject::of().empty());
}

TEST_CASE("Lesson::heatmap records its matrix once; show and heatmap agree", "[json]") {
  qkv::CommonOptions options;
  options.json = true;
  const Matrix a = qkv::matrix_from_rows({{1, 2}}), b = qkv::matrix_from_rows({{3, 4}});
  qkv::Lesson lesson(options);
  lesson.heatmap("drawn", "t", a, {}, {});  // recorded though never shown
  lesson.show("both", b);
  lesson.heatmap("both", "t", b, {}, {});  // the same matrix: recorded once
  CHECK_THROWS_AS(lesson.heatmap("both", "t", a, {}, {}), qkv::Error);  // another one
  lesson.record("steps", qkv::Index{3});                                // integers without a cast
  // finish() prints the JSON object to stdout: catch it in a file.
  const auto path = std::filesystem::temp_directory_path() / "qkv-test-lesson.json";
  std::fflush(stdout);
  const int saved = dup(fileno(stdout));
  REQUIRE(std::freopen(path.c_str(), "w", stdout) != nullptr);
  lesson.finish();
  std::fflush(stdout);
  dup2(saved, fileno(stdout));
  close(saved);
  std::ifstream in(path);
  const auto parsed = nlohmann::json::parse(in);
  CHECK(parsed.size() == 3);
  CHECK(parsed["drawn"] == nlohmann::json::parse("[[1, 2]]"));
  CHECK(parsed["both"] == nlohmann::json::parse("[[3, 4]]"));
  CHECK(parsed["steps"] == 3);
}

TEST_CASE("median_seconds runs the work at most `repetitions` times and at least once",
          "[timing]") {
  int runs = 0;
  const double seconds = qkv::median_seconds(5, [&] { ++runs; });
  CHECK(runs == 5);  // each run takes far less than the one-second budget
  CHECK(seconds >= 0.0);
  runs = 0;
  qkv::median_seconds(0, [&] { ++runs; });
  CHECK(runs == 1);
}

TEST_CASE("Lesson::heatmap draws only what fits in the lesson's width and rows", "[print]") {
  qkv::CommonOptions options;  // narrating, no color
  qkv::Lesson lesson(options);
  const auto path = std::filesystem::temp_directory_path() / "qkv-test-heatmap.txt";
  std::fflush(stdout);
  const int saved = dup(fileno(stdout));
  REQUIRE(std::freopen(path.c_str(), "w", stdout) != nullptr);
  lesson.heatmap("small", "small one", Matrix::Identity(3, 3), {}, {});
  lesson.heatmap("wide", "wide one", Matrix::Identity(3, 40), {}, {});
  lesson.heatmap("tall", "tall one", Matrix::Identity(40, 3), {}, {});
  std::fflush(stdout);
  dup2(saved, fileno(stdout));
  close(saved);
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, contains_all({"small one (3 x 3)\n",
                                 "wide one (3 x 40): too large to draw here; --json has it",
                                 "tall one (40 x 3): too large to draw here; --json has it"}));
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) CHECK(qkv::display_columns(line) <= 100);
}

}  // namespace qkv::testing
