// Printing, heatmaps, SVG and JSON output: layout, labels, shape checks, and JSON that
// parses back to the same numbers.

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "qkv/catch.hpp"
#include "qkv/error.hpp"
#include "qkv/heatmap.hpp"
#include "qkv/json.hpp"
#include "qkv/print.hpp"

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
