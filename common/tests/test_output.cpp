// Printing, heatmaps, SVG and JSON output: layout, labels, shape checks, and JSON that
// parses back to the same numbers.

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
#include "qkv/timing.hpp"

using qkv::Matrix;
using qkv::testing::contains;

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
  CHECK_THAT(svg, contains("k&amp;1"));
  CHECK_THAT(svg, contains(">0.10<"));
  CHECK_THAT(svg, contains(">0.90<"));
  // Only the figure is left in the folder: no temporary file.
  CHECK(std::distance(std::filesystem::directory_iterator(dir), {}) == 1);
  CHECK_THROWS_AS(
      qkv::write_svg_heatmap(dir / "missing" / "x.svg", "t", Matrix::Zero(1, 1), {}, {}),
      qkv::Error);
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
  CHECK_THAT(text, contains("small one (3 x 3)\n"));
  CHECK_THAT(text, contains("wide one (3 x 40): too large to draw here; --json has it"));
  CHECK_THAT(text, contains("tall one (40 x 3): too large to draw here; --json has it"));
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) CHECK(line.size() <= 100);
}
