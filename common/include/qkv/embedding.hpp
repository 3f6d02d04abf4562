#pragma once
/// @file
/// Chapter 02, token embeddings: where X comes from.
///
/// A sequence of T tokens becomes token ids (each distinct token's row in a vocabulary), and
/// each id picks its row of an embedding table E (vocabulary size x d_model):
/// \f$ X_{t,:} = E_{\mathrm{id}_t,:} \f$. X is T x d_model, one token per row.

#include <string>
#include <vector>

#include "qkv/error.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// Labels for T tokens: the first T words of `sentence`, or "t0", "t1", ..., "t{T-1}" when
/// T exceeds the sentence (a made-up sequence has no words).
/// @throws ValueError if T is negative.
Labels token_labels(const Labels& sentence, Index t);

/// A vocabulary built from a token sequence: every distinct token once, in order of first
/// appearance, and each token's id (its row in the embedding table).
struct Vocabulary {
  Labels words;            ///< the distinct tokens; word i has id i
  std::vector<Index> ids;  ///< one id per token of the sequence
};

/// The vocabulary of `tokens`: "the cat sat on the mat" gives the words
/// the, cat, sat, on, mat and the ids 0 1 2 3 0 4 (both "the" share id 0).
Vocabulary build_vocabulary(const Labels& tokens);

/// Embedding lookup: row t of X is row \f$ \mathrm{id}_t \f$ of the table E
/// (vocabulary size x d_model), \f$ X_{t,:} = E_{\mathrm{id}_t,:} \f$. The same token always
/// gets the same embedding, wherever it stands. X is T x d_model.
/// @throws ValueError if an id is not a row of the table.
Matrix embed(const Matrix& table, const std::vector<Index>& ids);

}  // namespace qkv
