// Chapter 01: dot-product relevance.
//
// A query is compared with every key by a dot product; the scores rank the keys; the value
// stored under the best key is retrieved. Everything here is hand-made and small enough to
// check with pencil and paper. Run with --help for the flags; the chapter text is README.md.

#include <cmath>
#include <string>
#include <vector>

#include "qkv/cli.hpp"
#include "qkv/lesson.hpp"
#include "qkv/print.hpp"
#include "qkv/random.hpp"
#include "qkv/relevance.hpp"

int main(int argc, char** argv) try {
  qkv::Cli cli("01_dot_product_relevance",
               "Chapter 01: a query, keys and values; relevance as a dot product");
  qkv::Index samples = 2000;
  cli.add_size("--samples", samples,
               "random query/key pairs per dimension in the scaling experiment", 2, 1'000'000);
  if (auto exit_code = cli.parse(argc, argv)) return *exit_code;
  qkv::Lesson lesson(cli.common());

  //! [translation]
  // Translating "The quick brown fox jumps" into German, the model is about to write the
  // noun. Each input word offers a key (how it can be found) described by four features.
  const qkv::Labels tokens{"The", "quick", "brown", "fox", "jumps"};
  const qkv::Labels features{"article", "describes", "thing", "action"};
  const qkv::Matrix keys = qkv::matrix_from_rows({{2, 0, 0, 0},    // The
                                                  {0, 2, 0, 1},    // quick
                                                  {0, 2, 1, 0},    // brown
                                                  {0, 0, 2, 1},    // fox
                                                  {0, 0, 1, 2}});  // jumps
  // The query: "I need a thing, and something that describes it would help a little."
  const qkv::Vector query = qkv::vector_of({0, 0.5f, 2, 0});
  // Each word's value is what it hands over once found: here, its German translation.
  const qkv::Labels german{"Der", "schnelle", "braune", "Fuchs", "springt"};
  const qkv::Matrix values = qkv::Matrix::Identity(5, 5);
  //! [translation]

  lesson.heading("A query, keys and values");
  lesson.say(
      "Attention is a lookup. A query says what the current position is looking for; every "
      "token offers a key, saying what it can be found by, and a value, saying what it hands "
      "over. We translate \"The quick brown fox jumps\" and are about to write the noun. "
      "The four features of every vector are: article, describes, thing, action.");
  lesson.show("query", query, features, "{:5.1f}");
  lesson.show("keys", keys, tokens, features, "{:5.1f}");
  lesson.heatmap("keys", "keys: one row per token", keys, tokens, features);
  lesson.show("values", values, tokens, german, "{:5.1f}");
  lesson.record("tokens", tokens);

  //! [scores]
  const qkv::Vector scores = qkv::relevance_scores(query, keys);  // s_j = q . k_j
  //! [scores]
  lesson.heading("Relevance is a dot product");
  lesson.say(
      "The relevance of key j is q . k_j = sum_i q_i k_ij. For the key of \"fox\", term by term:");
  {
    std::string terms, products;
    for (qkv::Index i = 0; i < query.size(); ++i) {
      terms += fmt::format("{}{:g}*{:g}", i ? " + " : "", query(i), keys(3, i));
      products += fmt::format("{}{:g}", i ? " + " : "", query(i) * keys(3, i));
    }
    lesson.line("q . k_fox = {} = {} = {:g}", terms, products, scores(3));
  }
  lesson.say("Doing that for every key at once is one matrix-vector product, s = K q:");
  lesson.show("scores", scores, tokens, "{:7.2f}");
  lesson.bars(scores, tokens);

  const std::vector<qkv::Index> ranking = qkv::rank_by_relevance(scores);
  const qkv::Vector retrieved = qkv::hard_retrieve(query, keys, values);
  lesson.heading("Ranking and hard retrieval");
  qkv::Labels ranked;
  for (const qkv::Index index : ranking) ranked.push_back(tokens[index]);
  lesson.say("Sorted by score (ties go to the earlier token): {}.", qkv::join(ranked, " > "));
  lesson.record("ranking", ranking);
  lesson.say(
      "Hard retrieval returns the value stored under the best key. Its one 1 sits under "
      "\"{}\": the word the model writes next.",
      german[ranking.front()]);
  lesson.show("retrieved", retrieved, german, "{:5.1f}");

  // A second scenario: answering a question over a short document.
  //! [question]
  const qkv::Labels sentences{"S1 The Eiffel Tower is in Paris.", "S2 It was completed in 1889.",
                              "S3 It is 330 metres tall.", "S4 Paris is the capital of France."};
  const qkv::Labels topics{"place", "date", "size", "tower"};
  const qkv::Matrix doc_keys =
      qkv::matrix_from_rows({{2, 0, 0, 2}, {0, 2, 0, 1}, {0, 0, 2, 1}, {2, 0, 0, 0}});
  const qkv::Labels facts{"city", "year", "metres", "capital"};
  const qkv::Matrix doc_values =
      qkv::matrix_from_rows({{1, 0, 0, 0}, {0, 1889, 0, 0}, {0, 0, 330, 0}, {0, 0, 0, 1}});
  const qkv::Vector question = qkv::vector_of({0, 0, 2, 1});  // "How tall is the tower?"
  //! [question]
  const qkv::Vector doc_scores = qkv::relevance_scores(question, doc_keys);
  const std::vector<qkv::Index> doc_ranking = qkv::rank_by_relevance(doc_scores);
  const qkv::Vector doc_retrieved = qkv::hard_retrieve(question, doc_keys, doc_values);

  lesson.heading("The same lookup answers a question");
  lesson.say(
      "Now the query is a question, \"How tall is the Eiffel Tower?\", the keys describe the "
      "sentences of a document by topic (place, date, size, tower), and each value holds the "
      "facts a sentence states.");
  lesson.show("doc_query", question, topics, "{:5.1f}");
  lesson.show("doc_keys", doc_keys, sentences, topics, "{:5.1f}");
  lesson.show("doc_values", doc_values, sentences, facts, "{:7.1f}");
  lesson.show("doc_scores", doc_scores, {"S1", "S2", "S3", "S4"}, "{:7.2f}");
  lesson.bars(doc_scores, sentences);
  lesson.record("doc_ranking", doc_ranking);
  lesson.say("S{} wins, and its value is retrieved:", doc_ranking.front() + 1);
  lesson.show("doc_retrieved", doc_retrieved, facts, "{:7.1f}");

  const qkv::Vector mixed = qkv::vector_of({1, 2, 0, 1});
  const qkv::Vector mixed_scores = qkv::relevance_scores(mixed, doc_keys);
  lesson.say(
      "Hard retrieval keeps only the winner. Ask \"When was the tower in Paris built?\" "
      "(query 1, 2, 0, 1) and S2 scores {:g} while S1, which also matters, scores {:g}; "
      "S1 is thrown away entirely. And an arg-max has no gradient, so no model could learn its "
      "keys through it. Chapter 03 replaces the arg-max by softmax weights over all values.",
      mixed_scores(1), mixed_scores(0));
  lesson.show("mixed_scores", mixed_scores, {"S1", "S2", "S3", "S4"}, "{:7.2f}");

  //! [scaling]
  // Why attention divides by sqrt(d): the spread of q . k grows with the dimension.
  qkv::Random random(cli.common().seed);
  const std::vector<qkv::Index> dims{4, 64, 1024};
  qkv::Vector raw_spread(3), scaled_spread(3);
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const qkv::Index d = dims[i];
    qkv::Vector raw(samples);
    for (qkv::Index s = 0; s < samples; ++s) {
      const qkv::Vector q = qkv::random_normal(random, d, 1);
      const qkv::Vector k = qkv::random_normal(random, d, 1);
      raw(s) = qkv::dot_product(q, k);
    }
    raw_spread(static_cast<qkv::Index>(i)) = static_cast<float>(qkv::spread_of(raw).stddev);
    scaled_spread(static_cast<qkv::Index>(i)) =
        static_cast<float>(qkv::spread_of(raw / std::sqrt(static_cast<float>(d))).stddev);
  }
  //! [scaling]
  lesson.heading("Why scores are scaled by sqrt(d)");
  lesson.say(
      "Real queries and keys are not hand-made: they are learned vectors of dimension d = 64 "
      "or more, with entries of roughly unit variance. A dot product sums d such products, so "
      "its variance is d and its standard deviation sqrt(d). We draw {} random pairs with "
      "N(0, 1) entries for each d and measure the standard deviation of q . k, before and "
      "after dividing by sqrt(d):",
      samples);
  lesson.line("{:>6}  {:>12}  {:>10}  {:>18}", "d", "std(q . k)", "sqrt(d)", "std(q . k / sqrt d)");
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const auto at = static_cast<qkv::Index>(i);
    lesson.line("{:>6}  {:>12.3f}  {:>10.3f}  {:>18.3f}", dims[i], raw_spread(at),
                std::sqrt(static_cast<double>(dims[i])), scaled_spread(at));
  }
  lesson.say(
      "Unscaled, scores at d = 1024 differ by tens: chapter 03's softmax would put nearly all "
      "weight on one key and stop learning. Scaled, the spread stays near 1 at every d. "
      "On the hand-made example, d = 4, so scaled scores are the raw ones halved:");
  lesson.record("scaling_dims", dims, "raw_spread", raw_spread, "scaled_spread", scaled_spread);
  const qkv::Vector scaled_scores = qkv::scaled_relevance_scores(query, keys);
  lesson.show("scaled_scores", scaled_scores, tokens, "{:7.2f}");

  //! [cosine]
  qkv::Matrix loud_keys = keys;
  loud_keys.row(4) *= 3.0f;  // "jumps" now has a key three times as long
  const qkv::Vector loud_scores = qkv::relevance_scores(query, loud_keys);
  const qkv::Vector cosine = qkv::cosine_scores(query, loud_keys);
  //! [cosine]
  lesson.heading("Dot product or cosine similarity?");
  lesson.say(
      "Cosine similarity divides the lengths out: cos(q, k) = q . k / (|q| |k|), always in "
      "[-1, 1]. Make the key of \"jumps\" three times longer, pointing the same way: its dot "
      "product triples to {:g} and it now outranks \"fox\" ({:g}); its cosine does not move.",
      loud_scores(4), loud_scores(3));
  lesson.show("loud_scores", loud_scores, tokens, "{:7.2f}");
  lesson.show("cosine_scores", cosine, tokens, "{:7.3f}");
  lesson.say(
      "Transformers keep the dot product: a key's length can carry confidence, and the learned "
      "projections of chapter 02 control lengths. Dividing by sqrt(d) fixes the one thing "
      "length must not depend on, the dimension.");
  return lesson.finish();
} catch (const std::exception& error) {
  return qkv::report_error(error);
}
