// Chapter 02: learned query, key and value projections.
//
// Token embeddings X (T x d_model) are multiplied by three learned matrices W_q, W_k, W_v
// (d_model x d_head): Q = X W_q, K = X W_k, V = X W_v. Every query is then compared with every
// key: S = Q K^T / sqrt(d_head). Everything random is seeded (--seed) and printed. Run with
// --help for the flags; the chapter text is README.md.

#include <cmath>
#include <string>
#include <vector>

#include "qkv/attention.hpp"
#include "qkv/cli.hpp"
#include "qkv/lesson.hpp"
#include "qkv/print.hpp"
#include "qkv/random.hpp"
#include "qkv/toy_model.hpp"

namespace {

std::string shape(const char* name, const qkv::Matrix& m) {
  return fmt::format("{} {}", name, qkv::shape_label(m.rows(), m.cols()));
}

}  // namespace

int main(int argc, char** argv) try {
  qkv::Cli cli("02_qkv_projection", "Chapter 02: learned query, key and value projections");
  qkv::Index tokens = 6, d_model = 8, d_head = 4;
  qkv::add_toy_model_flags(cli, tokens, d_model, d_head);
  if (auto exit_code = cli.parse(argc, argv)) return *exit_code;
  qkv::Lesson lesson(cli.common());

  //! [embedding]
  // The sentence's vocabulary and token ids, an embedding table drawn from N(0, 1) like an
  // untrained nn.Embedding, X (each token's row of it) and W_q, W_k, W_v: toy_model() draws
  // them in that order (chapters 03 and 04 call it too: same seed, same numbers).
  qkv::Random random(cli.common().seed);
  const qkv::ToyModel model = qkv::toy_model(random, tokens, d_model, d_head);
  const qkv::Labels& labels = model.tokens;
  const qkv::Vocabulary& vocabulary = model.vocabulary;
  const qkv::Matrix& table = model.table;  // one row of d_model numbers per word
  const qkv::Matrix& x = model.x;          // X: T x d_model
  //! [embedding]

  lesson.heading("Where X comes from: token embeddings");
  lesson.say(
      "Chapter 01 wrote queries and keys by hand. A model starts from its input instead: a "
      "sequence of T = {} tokens. Each distinct token has an id, its row in an embedding table "
      "of d_model = {} numbers per word. A trained model learned that table; ours is drawn "
      "from N(0, 1) with seed {}, as an untrained model's would be.",
      tokens, d_model, cli.common().seed);
  lesson.record("tokens", labels, "vocabulary", vocabulary.words, "token_ids", vocabulary.ids);
  qkv::Labels ids;
  for (std::size_t t = 0; t < labels.size(); ++t)
    ids.push_back(fmt::format("{}={}", labels[t], vocabulary.ids[t]));
  lesson.line("token ids: {}", qkv::join(ids, " "));
  lesson.show("embedding_table", table, vocabulary.words, {}, "{:7.3f}");
  lesson.say("Looking up each token's row gives X, one token per row:");
  lesson.line("{} = rows {} of the embedding table {}", shape("X", x), "id_0 .. id_{T-1}",
              qkv::shape_label(table.rows(), table.cols()));
  lesson.show("x", x, labels, {}, "{:7.3f}");
  if (vocabulary.words.size() < labels.size()) {
    lesson.say(
        "\"the\" appears twice and gets the same row both times: X says which word a token "
        "is, not where it stands. Real models add position information to X; everything "
        "below treats the two \"the\" exactly alike.");
  }

  //! [weights]
  // W_q, W_k, W_v: d_model x d_head each, drawn like nn.Linear: U(-1/sqrt(d_model), +1/sqrt(..)).
  const qkv::QkvWeights& w = model.w;
  //! [weights]

  lesson.heading("One token, three roles, three matrices");
  lesson.say(
      "Every token plays three parts at once. As a query it says what it is looking for "
      "(\"cat\" may look for the verb that tells what it did). As a key it says how it can be "
      "found (\"sat\" offers itself as a verb). As a value it says what it hands over once it "
      "is found. One vector cannot say all three well, so the model learns three matrices "
      "and multiplies each token's embedding by each of them.");
  lesson.say(
      "Each matrix is d_model x d_head = {} x {}, drawn (seed {}) uniformly from "
      "+-1/sqrt(d_model) = +-{:.4f}, as PyTorch initialises nn.Linear; training would change "
      "them.",
      d_model, d_head, cli.common().seed, 1.0 / std::sqrt(static_cast<double>(d_model)));
  lesson.show("w_q", w.w_q, {}, {}, "{:7.3f}");
  lesson.show("w_k", w.w_k, {}, {}, "{:7.3f}");
  lesson.show("w_v", w.w_v, {}, {}, "{:7.3f}");

  //! [project]
  const qkv::Qkv qkv_rows = qkv::project_qkv(x, w);  // Q = X W_q, K = X W_k, V = X W_v
  //! [project]
  const qkv::Matrix& q = qkv_rows.q;
  const qkv::Matrix& k = qkv_rows.k;
  const qkv::Matrix& v = qkv_rows.v;
  const qkv::Index row = std::min<qkv::Index>(1, tokens - 1);  // "cat", or the only token
  const std::string row_name = labels[row];

  lesson.heading("Projecting: Q = X W_q, K = X W_k, V = X W_v");
  lesson.line("{} x {} -> {}", shape("X", x), shape("W_q", w.w_q), shape("Q", q));
  lesson.line("{} x {} -> {}", shape("X", x), shape("W_k", w.w_k), shape("K", k));
  lesson.line("{} x {} -> {}", shape("X", x), shape("W_v", w.w_v), shape("V", v));
  lesson.say(
      "Row t of Q is token t's embedding times W_q: a d_head-vector. Its first entry, for "
      "\"{}\", is the dot product of x_{} with the first column of W_q:",
      row_name, row_name);
  const qkv::Vector x_row = x.row(row).transpose();
  const qkv::Vector w_col = w.w_q.col(0);
  lesson.line("Q[{}, 0] = sum_i X[{}, i] * W_q[i, 0]", row_name, row_name);
  for (const auto& terms : qkv::dot_product_terms(x_row, w_col)) lesson.line("  {}", terms);
  lesson.line("  = {:.4f}", q(row, 0));
  lesson.record("q_terms", qkv::Vector(x_row.cwiseProduct(w_col)));
  lesson.show("q", q, labels, {}, "{:7.3f}");
  lesson.show("k", k, labels, {}, "{:7.3f}");
  lesson.show("v", v, labels, {}, "{:7.3f}");

  //! [scores]
  const qkv::Matrix scores = qkv::attention_scores(q, k);  // S = Q K^T / sqrt(d_head)
  //! [scores]
  const qkv::Index col = tokens - 1;  // the last token, "mat" by default
  const std::string col_name = labels[col];
  const float scale = std::sqrt(static_cast<float>(d_head));

  lesson.heading("Scores: every query against every key");
  lesson.say(
      "As in chapter 01, relevance is a dot product, now between learned vectors: query i "
      "against key j, divided by sqrt(d_head) to keep the spread near 1 whatever d_head is.");
  lesson.line("{} x {} -> Q K^T {}, then / sqrt(d_head) = / {:.4f}", shape("Q", q),
              fmt::format("K^T {}", qkv::shape_label(k.cols(), k.rows())),
              qkv::shape_label(q.rows(), k.rows()), scale);
  const qkv::Vector q_row = q.row(row).transpose();
  const qkv::Vector k_row = k.row(col).transpose();
  lesson.line("S[{}, {}] = q_{} . k_{} / sqrt(d_head) = sum_i Q[{}, i] * K[{}, i] / {:.4f}",
              row_name, col_name, row_name, col_name, row_name, col_name, scale);
  for (const auto& terms : qkv::dot_product_terms(q_row, k_row)) lesson.line("  {}", terms);
  lesson.line("  = {:.4f} / {:.4f} = {:.4f}", q_row.dot(k_row), scale, scores(row, col));
  lesson.record("score_terms", qkv::Vector(q_row.cwiseProduct(k_row)));
  lesson.show("scores", scores, labels, labels, "{:7.3f}");
  lesson.heatmap("scores",
                 "scores S = Q K^T / sqrt(d_head): rows ask (queries), columns answer "
                 "(keys)",
                 scores, labels, labels);

  //! [unprojected]
  // Without projections: every token's embedding as its own query and key.
  const qkv::Matrix unprojected = qkv::attention_scores(x, x);  // X X^T / sqrt(d_model)
  //! [unprojected]
  const float asymmetry = (scores - scores.transpose()).cwiseAbs().maxCoeff();
  const float unprojected_asymmetry = (unprojected - unprojected.transpose()).cwiseAbs().maxCoeff();
  lesson.say(
      "S[{0}, {1}] = {2:.4f} but S[{1}, {0}] = {3:.4f}: how much \"{0}\" looks for \"{1}\" "
      "differs from how much \"{1}\" looks for \"{0}\", because queries and keys come from "
      "different matrices. Use the embeddings themselves as queries and keys, X X^T / "
      "sqrt(d_model), and the scores are symmetric (largest |S - S^T|: {4:.4f} with the "
      "projections, {5:.4f} without), and a token's score with itself is its squared length over "
      "sqrt(d_model), usually its largest: every word would mostly look at itself.",
      row_name, col_name, scores(row, col), scores(col, row), asymmetry, unprojected_asymmetry);
  lesson.show("unprojected_scores", unprojected, labels, labels, "{:7.3f}");
  lesson.record("asymmetry", asymmetry, "unprojected_asymmetry", unprojected_asymmetry);

  //! [parameters]
  const qkv::Index parameters = qkv::qkv_parameter_count(d_model, d_head);  // 3 d_model d_head
  const qkv::Index embedding_parameters = table.size();                     // vocabulary x d_model
  const qkv::Index gpt2_head = qkv::qkv_parameter_count(768, 64);           // GPT-2 small, one head
  //! [parameters]
  lesson.heading("What is learned: the parameters");
  lesson.say(
      "The projections hold 3 x d_model x d_head = 3 x {} x {} = {} learned numbers, and the "
      "embedding table {} x {} = {} more. None of them depends on T: the same three matrices "
      "project every token of every sequence, however long.",
      d_model, d_head, parameters, table.rows(), table.cols(), embedding_parameters);
  lesson.say(
      "At GPT-2 small's size (d_model = 768, d_head = 64) one head's W_q, W_k, W_v hold "
      "3 x 768 x 64 = {} numbers; GPT-2 small has 12 heads in each of 12 layers.",
      gpt2_head);
  lesson.record("parameters", parameters, "embedding_parameters", embedding_parameters,
                "gpt2_head_parameters", gpt2_head);
  lesson.say(
      "The scores are raw numbers of any sign. Chapter 03 turns each row into weights that "
      "are positive and sum to 1, and mixes the values V with them.");
  return lesson.finish();
} catch (const std::exception& error) {
  return qkv::report_error(error);
}
