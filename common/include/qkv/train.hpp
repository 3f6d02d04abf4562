#pragma once
/// @file
/// What training an attention model needs (chapter 10): the cross-entropy loss and its
/// gradient, the Adam optimiser, the associative-recall task, and a two-layer attention model
/// with its forward and backward, built on attention_backward.hpp. Everything is in float
/// (as PyTorch trains by default; the gradient check of attention_backward.hpp is in double),
/// single-threaded, and deterministic for a seed.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "qkv/attention_backward.hpp"
#include "qkv/random.hpp"
#include "qkv/types.hpp"

namespace qkv {

/// The mean cross-entropy of a batch and its gradient with respect to the logits.
struct CrossEntropy {
  double loss = 0;  ///< \f$ L = -\frac{1}{B} \sum_b \log \mathrm{softmax}(z_b)_{y_b} \f$
  Matrix d_logits;  ///< B x C: \f$ \partial L / \partial z_b = (\mathrm{softmax}(z_b) - e_{y_b}) /
                    ///< B \f$
};

/// Cross-entropy of B rows of logits (B x C) against B class indices, through log-sum-exp
/// (finite for any finite logits).
/// @throws ValueError if a target is outside 0..C-1 or there are not B of them.
CrossEntropy cross_entropy(const Matrix& logits, const std::vector<Index>& targets);

/// Adam's settings (Kingma and Ba, 2015; PyTorch's defaults but the learning rate).
struct AdamOptions {
  double learning_rate = 3e-3;  ///< \f$ \eta \f$
  double beta1 = 0.9;           ///< \f$ \beta_1 \f$: how long the mean of the gradients remembers
  double beta2 = 0.999;         ///< \f$ \beta_2 \f$: the same for their squares
  double epsilon = 1e-8;        ///< \f$ \epsilon \f$: keeps the step finite where v is 0
};

/// The Adam optimiser. For every parameter entry, at step t = 1, 2, ...:
/// \f$ m \leftarrow \beta_1 m + (1 - \beta_1) g,\ v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \;
///     \hat m = m / (1 - \beta_1^t),\ \hat v = v / (1 - \beta_2^t), \;
///     \theta \leftarrow \theta - \eta\, \hat m / (\sqrt{\hat v} + \epsilon) \f$.
/// The bias corrections undo the zeros m and v start from: without them, at t = 1, m is
/// 10 times too small and sqrt(v) about 32 times, so the first step is ~3.2 times too long.
class Adam {
 public:
  /// An optimiser with no state yet (t = 0): m and v are made at the first step.
  explicit Adam(AdamOptions options) : options_(options) {}
  /// One step over all parameters (the same list, in the same order, at every step), with
  /// the learning rate `learning_rate` (a schedule may change it from step to step).
  /// @throws ShapeError if a gradient's shape is not its parameter's; ValueError if the
  /// lists differ in length or change between steps.
  void step(const std::vector<Matrix*>& parameters, const std::vector<const Matrix*>& gradients,
            double learning_rate);
  /// The steps taken so far (t).
  std::int64_t steps() const { return t_; }
  const AdamOptions& options() const { return options_; }  ///< The settings.

 private:
  AdamOptions options_;
  std::vector<Matrix> m_, v_;
  std::int64_t t_ = 0;
};

/// Associative recall: pairs of (key, value) tokens, then a query key; the answer is the
/// value that followed that key. Keys are tokens 0..keys-1, values keys..keys+values-1; the
/// keys of a sequence are distinct, the values drawn independently, the query one of the keys.
/// `k3 v7 k0 v2 ... k3` -> `v7`.
struct RecallTask {
  Index pairs = 8;    ///< key-value pairs per sequence
  Index keys = 16;    ///< the key vocabulary
  Index values = 16;  ///< the value vocabulary (the answer's classes)
  /// Tokens per sequence, T = 2 pairs + 1.
  Index length() const { return 2 * pairs + 1; }
  /// Token ids in all, keys + values.
  Index vocabulary() const { return keys + values; }
};

/// A batch of recall sequences.
struct RecallBatch {
  std::vector<std::vector<Index>> tokens;  ///< B sequences of T token ids
  std::vector<Index> answers;              ///< B answers, value classes 0..values-1
  std::vector<Index> key_positions;        ///< where the query's key stands (0, 2, ...)
};

/// `count` sequences drawn from `random`.
/// @throws ValueError unless 1 <= pairs <= keys, values >= 1, count >= 0.
RecallBatch make_recall_batch(const RecallTask& task, Random& random, Index count);

/// A sequence's tokens as the lesson prints them: k3, v7, ..., and the query as q3.
Labels recall_labels(const RecallTask& task, const std::vector<Index>& tokens);

/// One attention layer of the model: a single head of width d_model and its output
/// projection, with a residual connection: \f$ H' = H + \mathrm{attn}(H) W_o \f$.
struct AttentionLayer {
  HeadWeightsT<float> head;  ///< W_q, W_k, W_v: d_model x d_model
  Matrix w_o;                ///< d_model x d_model
};

/// The recall model: \f$ H_0 = E[\text{tokens}] + P \f$ (token and learned position
/// embeddings), then causal attention layers with residuals, then logits
/// \f$ z = H_L[\text{last}]\, W_{out} \f$ over the values, read at the query's position.
struct RecallModel {
  Matrix embedding;                    ///< vocabulary x d_model: E
  Matrix positions;                    ///< T x d_model: P, learned
  std::vector<AttentionLayer> layers;  ///< in order
  Matrix readout;                      ///< d_model x values: W_out
};

/// A model with N(0, 1) embeddings and N(0, 1/d_model) weights (so that every projection
/// keeps its input's scale).
/// @throws ValueError unless d_model >= 1 and layers >= 1.
RecallModel init_recall_model(const RecallTask& task, Index d_model, Index layers, Random& random);

/// The model's parameters in one fixed order, for the optimiser (and their gradients in the
/// same order when `model` holds gradients).
std::vector<Matrix*> parameters(RecallModel& model);
/// The parameters, read-only (see the other overload).
std::vector<const Matrix*> parameters(const RecallModel& model);

/// What the forward of a batch keeps for the backward.
struct RecallForward {
  std::vector<Matrix> inputs;  ///< per layer: its input H_l, (B T) x d_model, sequences stacked
  /// per layer, per sequence: Q, K, V, scores, weights and output
  std::vector<std::vector<HeadForwardT<float>>> heads;
  Matrix last;    ///< B x d_model: H_L at each sequence's last position
  Matrix logits;  ///< B x values
};

/// The forward of a batch. Each sequence's attention is the library's
/// scaled_dot_product_attention with the causal mask; the projections of all B T rows are one
/// product each.
/// @throws ValueError if a sequence is not T tokens long or holds an id outside the vocabulary.
RecallForward recall_forward(const RecallModel& model, const RecallBatch& batch);

/// The gradients of every parameter (a RecallModel holding gradients), given dL/dlogits.
/// @throws ShapeError if dL/dlogits is not the logits' shape.
RecallModel recall_backward(const RecallModel& model, const RecallBatch& batch,
                            const RecallForward& forward, const Matrix& d_logits);

/// The share of sequences whose largest logit is the right value.
double recall_accuracy(const RecallForward& forward, const RecallBatch& batch);

/// The share of sequences in which layer `layer`'s query (the last row) puts its largest
/// weight on the position `offset` after the matching key (offset 1: the value's position).
double attention_hit_rate(const RecallForward& forward, const RecallBatch& batch, Index layer,
                          Index offset);

/// How a training run goes.
struct TrainOptions {
  Index steps = 600;      ///< optimiser steps
  Index batch = 32;       ///< sequences per step, fresh each step
  Index eval_every = 50;  ///< held-out accuracy every this many steps (and at the end)
  AdamOptions adam{};     ///< the peak learning rate is adam.learning_rate
  Index warmup = 50;      ///< linear warm-up steps, then cosine decay to a tenth of the peak
};

/// One point of the progress report.
struct TrainProgress {
  Index step = 0;            ///< steps done
  double loss = 0;           ///< mean training loss over the steps since the last report
  double accuracy = 0;       ///< on the held-out batch
  double held_out_loss = 0;  ///< on the held-out batch
};

/// The learning rate at step s (0-based): \f$ \eta\, (s + 1) / w \f$ during the w warm-up
/// steps, then \f$ \eta \,(0.1 + 0.9 \cdot \frac{1}{2}(1 + \cos(\pi\, p))) \f$, p the share of
/// the remaining steps done.
double learning_rate_at(const TrainOptions& options, Index step);

/// Trains `model` in place: each step draws a fresh batch from `random`, takes one Adam step
/// on the cross-entropy of the answers, and every eval_every steps (and after the last)
/// measures `held_out` and calls `progress` (if set). Returns the reports, the first at step 0
/// (the untrained model).
std::vector<TrainProgress> train_recall(RecallModel& model, const RecallTask& task,
                                        const TrainOptions& options, Random& random,
                                        const RecallBatch& held_out,
                                        const std::function<void(const TrainProgress&)>& progress);

/// A curve as a one-line terminal sparkline, one of the eight block characters per value
/// (the lowest value the lowest block); "" for no values.
std::string sparkline(const std::vector<double>& values);

/// Writes a curve (x, y pairs; a line chart with its axes labelled by their ranges) as an SVG
/// file, through a temporary file and a rename, as write_svg_heatmap() does.
/// @throws ValueError if xs and ys differ in length or are empty; Error if the file cannot be
/// written.
void write_svg_curve(const std::filesystem::path& path, std::string_view title,
                     std::string_view x_label, const std::vector<double>& xs,
                     const std::vector<double>& ys);

}  // namespace qkv
