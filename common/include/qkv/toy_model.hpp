#pragma once
/// @file
/// Chapter 02's example, continued by chapters 03 and 04: the sentence "the cat sat on the
/// mat" (or T made-up tokens), its vocabulary, a random embedding table, X and one head's
/// W_q, W_k, W_v. One function draws it, always in the same order, so the same seed gives
/// the same numbers in every chapter that uses it.

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

}  // namespace qkv
