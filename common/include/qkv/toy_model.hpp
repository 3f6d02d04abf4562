#pragma once
/// @file
/// Chapter 02's example, continued by chapters 03 and 04: the sentence "the cat sat on the
/// mat" (or T made-up tokens), its vocabulary, a random embedding table, X and one head's
/// W_q, W_k, W_v. One function draws it, always in the same order, so the same seed gives
/// the same numbers in every chapter that uses it.

#include <cstddef>
#include <string>
#include <vector>

#include "qkv/cli.hpp"
#include "qkv/embedding.hpp"
#include "qkv/projection.hpp"
#include "qkv/random.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// The toy model of chapters 02-04: the tokens and everything drawn for them.
struct ToyModel {
  Labels sentence;        ///< "the cat sat on the mat": the words the tokens are named after
  Labels tokens;          ///< T labels: the first T words, or t0 .. t{T-1} past 6
  Vocabulary vocabulary;  ///< the distinct tokens and each token's id
  Matrix table;           ///< vocabulary size x d_model: the embedding table, N(0, 1)
  Matrix x;               ///< T x d_model: each token's row of the table
  QkvWeights w;           ///< d_model x d_head each, like nn.Linear
};

/// The toy model's size flags, the same in chapters 02-04: --tokens T, --dim d_model and
/// --head-dim d_head.
inline void add_toy_model_flags(Cli& cli, Index& tokens, Index& d_model, Index& d_head) {
  cli.add_size("--tokens", tokens, "number of tokens T (past 6, the tokens are named t0, t1, ...)",
               1, 64);
  cli.add_size("--dim", d_model, "embedding dimension d_model", 1, 512);
  cli.add_size("--head-dim", d_head, "query, key and value dimension d_head", 1, 512);
}

/// Draws chapter 02's toy model from `random`: first the embedding table
/// (\f$ E \sim N(0, 1) \f$, vocabulary size x d_model), then W_q, W_k, W_v
/// (random_qkv_weights()). X = embed(E, ids). Later draws from `random` continue after these.
/// @throws ValueError unless T, d_model and d_head are positive.
inline ToyModel toy_model(Random& random, Index tokens, Index d_model, Index d_head) {
  require(tokens > 0 && d_model > 0 && d_head > 0, "toy_model", "sizes must be positive");
  //! [toy_model]
  ToyModel model;
  model.sentence = {"the", "cat", "sat", "on", "the", "mat"};
  model.tokens = token_labels(model.sentence, tokens);
  model.vocabulary = build_vocabulary(model.tokens);
  model.table = random_normal(random, static_cast<Index>(model.vocabulary.words.size()), d_model);
  model.x = embed(model.table, model.vocabulary.ids);
  model.w = random_qkv_weights(random, d_model, d_head);
  //! [toy_model]
  return model;
}

/// Chapter 04's padded batch: B sequences stacked into one tall matrix of B T rows.
struct PaddedBatch {
  Labels tokens;  ///< B T words: sequence b's first lengths[b] words of texts[b], then \<pad\>
  Labels labels;  ///< B T row labels "b:word", b counted from 1
  Matrix x;       ///< B T x d_model: rows b T .. b T + T - 1 embed sequence b
};

/// Draws a padded batch from `random`: sequence b is token_labels(texts[b], lengths[b])
/// padded with "<pad>" to T = lengths[0] tokens (the longest), the batch's vocabulary is
/// build_vocabulary() of all B T tokens, and its embedding table, N(0, 1), is drawn anew:
/// the same words get new numbers. X = embed(table, ids).
/// @throws ValueError unless there is one length per text, T >= 1 and every length is
///         0..T.
inline PaddedBatch padded_batch(Random& random, const std::vector<Labels>& texts,
                                const std::vector<Index>& lengths, Index d_model) {
  require(!lengths.empty() && lengths.size() == texts.size() && lengths[0] >= 1, "padded_batch",
          "one length per text, the first one (T) positive");
  const Index tokens = lengths[0];
  PaddedBatch batch;
  for (std::size_t b = 0; b < lengths.size(); ++b) {
    require(lengths[b] >= 0 && lengths[b] <= tokens, "padded_batch", "lengths must be 0..T");
    Labels padded = token_labels(texts[b], lengths[b]);
    padded.resize(static_cast<std::size_t>(tokens), "<pad>");
    for (const auto& token : padded) {
      batch.tokens.push_back(token);
      batch.labels.push_back(std::to_string(b + 1) + ":" + token);
    }
  }
  const Vocabulary vocabulary = build_vocabulary(batch.tokens);
  const Matrix table = random_normal(random, static_cast<Index>(vocabulary.words.size()), d_model);
  batch.x = embed(table, vocabulary.ids);
  return batch;
}

}  // namespace qkv
