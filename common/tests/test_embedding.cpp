// embedding.hpp against hand-computed values: token labels, the vocabulary, the lookup.

#include "qkv/embedding.hpp"

#include <string>
#include <vector>

#include "qkv/catch.hpp"
#include "qkv/random.hpp"
#include "qkv/toy_model.hpp"

using qkv::Index;
using qkv::Matrix;

TEST_CASE("token_labels: the sentence's first words, or t0, t1, ... past its end", "[embedding]") {
  const qkv::Labels sentence{"the", "cat", "sat"};
  CHECK(qkv::token_labels(sentence, 2) == qkv::Labels{"the", "cat"});
  CHECK(qkv::token_labels(sentence, 3) == sentence);
  CHECK(qkv::token_labels(sentence, 4) == qkv::Labels{"t0", "t1", "t2", "t3"});
  CHECK(qkv::token_labels(sentence, 0).empty());
  CHECK_THROWS_AS(qkv::token_labels(sentence, -1), qkv::ValueError);
}

TEST_CASE("build_vocabulary gives each distinct token an id by first appearance", "[embedding]") {
  const auto vocabulary = qkv::build_vocabulary({"the", "cat", "sat", "on", "the", "mat"});
  CHECK(vocabulary.words == qkv::Labels{"the", "cat", "sat", "on", "mat"});
  CHECK(vocabulary.ids == std::vector<Index>{0, 1, 2, 3, 0, 4});
  CHECK(qkv::build_vocabulary({}).words.empty());
  CHECK(qkv::build_vocabulary({"a", "a", "a"}).ids == std::vector<Index>{0, 0, 0});
}

TEST_CASE("embed looks up one table row per token id", "[embedding]") {
  const Matrix table = qkv::matrix_from_rows({{1, 2}, {3, 4}, {5, 6}});
  CHECK(qkv::embed(table, {2, 0, 2}) == qkv::matrix_from_rows({{5, 6}, {1, 2}, {5, 6}}));
  CHECK(qkv::embed(table, {}).rows() == 0);
  CHECK_THROWS_WITH(qkv::embed(table, {0, 3}), qkv::testing::contains("embed") &&
                                                   qkv::testing::contains("token id 3") &&
                                                   qkv::testing::contains("3x2"));
  CHECK_THROWS_AS(qkv::embed(table, {-1}), qkv::ValueError);
}

TEST_CASE("toy_model draws chapter 02's example in one order: table, then W_q, W_k, W_v",
          "[embedding]") {
  for (const Index tokens : {Index{1}, Index{6}, Index{9}}) {
    INFO("T = " << tokens);
    qkv::Random random(2024), by_hand(2024);
    const qkv::ToyModel model = qkv::toy_model(random, tokens, 8, 4);
    // The steps chapter 02 shows, drawn from a second generator with the same seed.
    const qkv::Labels labels = qkv::token_labels(model.sentence, tokens);
    const qkv::Vocabulary vocabulary = qkv::build_vocabulary(labels);
    const Matrix table =
        qkv::random_normal(by_hand, static_cast<Index>(vocabulary.words.size()), 8);
    const qkv::QkvWeights w = qkv::random_qkv_weights(by_hand, 8, 4);
    CHECK(model.tokens == labels);
    CHECK(model.vocabulary.ids == vocabulary.ids);
    CHECK(model.table == table);
    CHECK(model.x == qkv::embed(table, vocabulary.ids));
    CHECK(model.w.w_q == w.w_q);
    CHECK(model.w.w_k == w.w_k);
    CHECK(model.w.w_v == w.w_v);
    // Later draws continue after the model's: both generators are at the same point.
    CHECK(qkv::random_normal(random, 1, 3) == qkv::random_normal(by_hand, 1, 3));
  }
  qkv::Random random(1);
  CHECK(qkv::toy_model(random, 6, 2, 2).tokens ==
        qkv::Labels{"the", "cat", "sat", "on", "the", "mat"});
  CHECK_THROWS_AS(qkv::toy_model(random, 0, 8, 4), qkv::ValueError);
}

TEST_CASE("padded_batch pads each sequence to T and embeds the batch with a fresh table",
          "[embedding]") {
  qkv::Random random(7), by_hand(7);
  const qkv::PaddedBatch batch =
      qkv::padded_batch(random, {{"a", "b", "c"}, {"b", "d"}, {"e"}}, {3, 2, 0}, 4);
  const qkv::Labels expected{"a", "b", "c", "b", "d", "<pad>", "<pad>", "<pad>", "<pad>"};
  CHECK(batch.tokens == expected);
  CHECK(batch.labels ==
        qkv::Labels{"1:a", "1:b", "1:c", "2:b", "2:d", "2:<pad>", "3:<pad>", "3:<pad>", "3:<pad>"});
  // Vocabulary a b c d <pad> (ids by first appearance), one table drawn after nothing else.
  const Matrix table = qkv::random_normal(by_hand, 5, 4);
  CHECK(batch.x == qkv::embed(table, {0, 1, 2, 1, 3, 4, 4, 4, 4}));
  CHECK_THROWS_AS(qkv::padded_batch(random, {{"a"}}, {1, 1}, 4), qkv::ValueError);
  CHECK_THROWS_AS(qkv::padded_batch(random, {{"a"}, {"b"}}, {1, 2}, 4), qkv::ValueError);
  CHECK_THROWS_AS(qkv::padded_batch(random, {{"a"}}, {0}, 4), qkv::ValueError);
}

TEST_CASE("Labels are indexed with Index, size_t or int alike", "[embedding]") {
  const qkv::Labels labels{"a", "b", "c"};
  CHECK(labels[Index{2}] == "c");
  CHECK(labels[std::size_t{1}] == "b");
  CHECK(labels[0] == "a");
  const std::vector<std::string> strings{"x", "y"};
  CHECK(qkv::Labels(strings).size() == 2);
}
