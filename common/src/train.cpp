// Training an attention model on associative recall (train.hpp).
#include "qkv/train.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>

#include "qkv/error.hpp"
#include "qkv/files.hpp"
#include "qkv/masking.hpp"

namespace qkv {

CrossEntropy cross_entropy(const Matrix& logits, const std::vector<Index>& targets) {
  require(static_cast<Index>(targets.size()) == logits.rows(), "cross_entropy",
          fmt::format("{} targets for {} rows of logits", targets.size(), logits.rows()));
  CrossEntropy result;
  result.d_logits.resize(logits.rows(), logits.cols());
  const auto batch = static_cast<double>(logits.rows());
  for (Index b = 0; b < logits.rows(); ++b) {
    const Index y = targets[static_cast<std::size_t>(b)];
    require(y >= 0 && y < logits.cols(), "cross_entropy",
            fmt::format("target {} is outside 0..{}", y, logits.cols() - 1));
    // log softmax(z)_y = z_y - m - log sum exp(z - m), m the largest logit.
    const float m = logits.row(b).maxCoeff();
    const Eigen::RowVectorXf e = (logits.row(b).array() - m).exp();
    const float sum = e.sum();
    result.loss -= static_cast<double>(logits(b, y) - m - std::log(sum)) / batch;
    result.d_logits.row(b) = e / (sum * static_cast<float>(batch));
    result.d_logits(b, y) -= 1.0f / static_cast<float>(batch);
  }
  return result;
}

void Adam::step(const std::vector<Matrix*>& parameters, const std::vector<const Matrix*>& gradients,
                double learning_rate) {
  require(parameters.size() == gradients.size(), "Adam::step",
          fmt::format("{} parameters but {} gradients", parameters.size(), gradients.size()));
  if (t_ == 0) {
    for (const Matrix* p : parameters) {
      m_.push_back(Matrix::Zero(p->rows(), p->cols()));
      v_.push_back(Matrix::Zero(p->rows(), p->cols()));
    }
  }
  require(m_.size() == parameters.size(), "Adam::step", "the parameter list changed between steps");
  ++t_;
  const auto& o = options_;
  const double correction1 = 1 - std::pow(o.beta1, static_cast<double>(t_));
  const double correction2 = 1 - std::pow(o.beta2, static_cast<double>(t_));
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    Matrix& p = *parameters[i];
    const Matrix& g = *gradients[i];
    require_shapes(g.rows() == p.rows() && g.cols() == p.cols() && m_[i].rows() == p.rows() &&
                       m_[i].cols() == p.cols(),
                   "Adam::step", "a gradient must have its parameter's shape", "parameter", p,
                   "gradient", g);
    m_[i] = static_cast<float>(o.beta1) * m_[i] + static_cast<float>(1 - o.beta1) * g;
    v_[i] =
        static_cast<float>(o.beta2) * v_[i] + static_cast<float>(1 - o.beta2) * g.cwiseProduct(g);
    const auto m_hat = m_[i].array() / static_cast<float>(correction1);
    const auto v_hat = v_[i].array() / static_cast<float>(correction2);
    p.array() -=
        static_cast<float>(learning_rate) * m_hat / (v_hat.sqrt() + static_cast<float>(o.epsilon));
  }
}

RecallBatch make_recall_batch(const RecallTask& task, Random& random, Index count) {
  require(task.pairs >= 1 && task.pairs <= task.keys, "make_recall_batch",
          fmt::format("need 1 <= pairs <= keys (pairs {}, keys {})", task.pairs, task.keys));
  require(task.values >= 1 && count >= 0, "make_recall_batch",
          "need at least one value and a count that is not negative");
  RecallBatch batch;
  std::vector<Index> keys(static_cast<std::size_t>(task.keys));
  for (Index n = 0; n < count; ++n) {
    // The first `pairs` entries of a Fisher-Yates shuffle: distinct keys.
    std::iota(keys.begin(), keys.end(), Index{0});
    std::vector<Index> sequence, values;
    for (Index i = 0; i < task.pairs; ++i) {
      const auto j =
          i + static_cast<Index>(random.below(static_cast<std::uint64_t>(task.keys - i)));
      std::swap(keys[static_cast<std::size_t>(i)], keys[static_cast<std::size_t>(j)]);
      values.push_back(static_cast<Index>(random.below(static_cast<std::uint64_t>(task.values))));
      sequence.push_back(keys[static_cast<std::size_t>(i)]);
      sequence.push_back(task.keys + values.back());
    }
    const auto asked =
        static_cast<std::size_t>(random.below(static_cast<std::uint64_t>(task.pairs)));
    sequence.push_back(keys[asked]);
    batch.tokens.push_back(std::move(sequence));
    batch.answers.push_back(values[asked]);
    batch.key_positions.push_back(2 * static_cast<Index>(asked));
  }
  return batch;
}

Labels recall_labels(const RecallTask& task, const std::vector<Index>& tokens) {
  Labels labels;
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    const Index id = tokens[t];
    if (t + 1 == tokens.size())
      labels.push_back(fmt::format("q{}", id));
    else if (id < task.keys)
      labels.push_back(fmt::format("k{}", id));
    else
      labels.push_back(fmt::format("v{}", id - task.keys));
  }
  return labels;
}

RecallModel init_recall_model(const RecallTask& task, Index d_model, Index layers, Random& random) {
  require(d_model >= 1 && layers >= 1, "init_recall_model",
          "d_model and the number of layers must be at least 1");
  const double scale = 1.0 / std::sqrt(static_cast<double>(d_model));
  RecallModel model;
  model.embedding = random_normal(random, task.vocabulary(), d_model);
  model.positions = random_normal(random, task.length(), d_model);
  for (Index l = 0; l < layers; ++l) {
    AttentionLayer layer;
    layer.head.w_q = random_normal(random, d_model, d_model, scale);
    layer.head.w_k = random_normal(random, d_model, d_model, scale);
    layer.head.w_v = random_normal(random, d_model, d_model, scale);
    layer.w_o = random_normal(random, d_model, d_model, scale);
    model.layers.push_back(std::move(layer));
  }
  model.readout = random_normal(random, d_model, task.values, scale);
  return model;
}

namespace {
template <typename Model, typename Pointer>
std::vector<Pointer> parameters_of(Model& model) {
  std::vector<Pointer> list{&model.embedding, &model.positions};
  for (auto& layer : model.layers)
    list.insert(list.end(), {&layer.head.w_q, &layer.head.w_k, &layer.head.w_v, &layer.w_o});
  list.push_back(&model.readout);
  return list;
}
}  // namespace

std::vector<Matrix*> parameters(RecallModel& model) {
  return parameters_of<RecallModel, Matrix*>(model);
}
std::vector<const Matrix*> parameters(const RecallModel& model) {
  return parameters_of<const RecallModel, const Matrix*>(model);
}

RecallForward recall_forward(const RecallModel& model, const RecallBatch& batch) {
  const Index t_len = model.positions.rows(), d = model.positions.cols();
  const auto count = static_cast<Index>(batch.tokens.size());
  RecallForward f;
  Matrix h(count * t_len, d);  // H_0 = E[tokens] + P, the sequences stacked
  for (Index b = 0; b < count; ++b) {
    const auto& tokens = batch.tokens[static_cast<std::size_t>(b)];
    require(static_cast<Index>(tokens.size()) == t_len, "recall_forward",
            fmt::format("a sequence of {} tokens; the model's are {} long", tokens.size(), t_len));
    for (Index t = 0; t < t_len; ++t) {
      const Index id = tokens[static_cast<std::size_t>(t)];
      require(id >= 0 && id < model.embedding.rows(), "recall_forward",
              fmt::format("token id {} is outside the vocabulary 0..{}", id,
                          model.embedding.rows() - 1));
      h.row(b * t_len + t) = model.embedding.row(id) + model.positions.row(t);
    }
  }
  const Mask causal = causal_mask(t_len);
  for (const AttentionLayer& layer : model.layers) {
    f.inputs.push_back(h);
    // One product per projection for all B T rows; attention sequence by sequence.
    const Matrix q = h * layer.head.w_q, k = h * layer.head.w_k, v = h * layer.head.w_v;
    Matrix attended(count * t_len, d);
    std::vector<HeadForwardT<float>> heads;
    for (Index b = 0; b < count; ++b) {
      HeadForwardT<float> head;
      head.q = q.middleRows(b * t_len, t_len);
      head.k = k.middleRows(b * t_len, t_len);
      head.v = v.middleRows(b * t_len, t_len);
      head.attention = scaled_dot_product_attention(head.q, head.k, head.v, causal);
      attended.middleRows(b * t_len, t_len) = head.attention.output;
      heads.push_back(std::move(head));
    }
    f.heads.push_back(std::move(heads));
    h += attended * layer.w_o;  // H' = H + attn(H) W_o
  }
  f.last.resize(count, d);
  for (Index b = 0; b < count; ++b) f.last.row(b) = h.row(b * t_len + t_len - 1);
  f.logits = f.last * model.readout;
  return f;
}

RecallModel recall_backward(const RecallModel& model, const RecallBatch& batch,
                            const RecallForward& forward, const Matrix& d_logits) {
  const Index t_len = model.positions.rows(), d = model.positions.cols();
  const auto count = static_cast<Index>(batch.tokens.size());
  require_shapes(
      d_logits.rows() == forward.logits.rows() && d_logits.cols() == forward.logits.cols(),
      "recall_backward", "dL/dlogits must have the logits' shape", "logits", forward.logits,
      "d_logits", d_logits);
  RecallModel g;
  g.readout = forward.last.transpose() * d_logits;  // z = H_L[last] W_out
  Matrix d_h = Matrix::Zero(count * t_len, d);
  const Matrix d_last = d_logits * model.readout.transpose();
  for (Index b = 0; b < count; ++b) d_h.row(b * t_len + t_len - 1) = d_last.row(b);
  g.layers.resize(model.layers.size());
  for (std::size_t l = model.layers.size(); l-- > 0;) {
    const AttentionLayer& layer = model.layers[l];
    const auto& heads = forward.heads[l];
    const Matrix& h = forward.inputs[l];
    // H' = H + A W_o: the residual passes d_h through unchanged, and A W_o adds its share.
    Matrix attended(count * t_len, d);
    for (Index b = 0; b < count; ++b)
      attended.middleRows(b * t_len, t_len) = heads[static_cast<std::size_t>(b)].attention.output;
    g.layers[l].w_o = attended.transpose() * d_h;
    const Matrix d_attended = d_h * layer.w_o.transpose();
    Matrix d_q(count * t_len, d), d_k(count * t_len, d), d_v(count * t_len, d);
    for (Index b = 0; b < count; ++b) {
      const auto& head = heads[static_cast<std::size_t>(b)];
      const AttentionGradients a = attention_backward<float>(
          head.q, head.k, head.v, head.attention.weights, d_attended.middleRows(b * t_len, t_len));
      d_q.middleRows(b * t_len, t_len) = a.d_q;
      d_k.middleRows(b * t_len, t_len) = a.d_k;
      d_v.middleRows(b * t_len, t_len) = a.d_v;
    }
    g.layers[l].head.w_q = h.transpose() * d_q;  // Q = H W_q
    g.layers[l].head.w_k = h.transpose() * d_k;  // K = H W_k
    g.layers[l].head.w_v = h.transpose() * d_v;  // V = H W_v
    d_h += d_q * layer.head.w_q.transpose() + d_k * layer.head.w_k.transpose() +
           d_v * layer.head.w_v.transpose();
  }
  // H_0 = E[tokens] + P: each row's gradient goes to its token's and its position's row.
  g.embedding = Matrix::Zero(model.embedding.rows(), d);
  g.positions = Matrix::Zero(t_len, d);
  for (Index b = 0; b < count; ++b)
    for (Index t = 0; t < t_len; ++t) {
      g.embedding.row(batch.tokens[static_cast<std::size_t>(b)][static_cast<std::size_t>(t)]) +=
          d_h.row(b * t_len + t);
      g.positions.row(t) += d_h.row(b * t_len + t);
    }
  return g;
}

double recall_accuracy(const RecallForward& forward, const RecallBatch& batch) {
  if (batch.answers.empty()) return 0.0;
  Index right = 0;
  for (Index b = 0; b < forward.logits.rows(); ++b) {
    Index best = 0;
    forward.logits.row(b).maxCoeff(&best);
    right += best == batch.answers[static_cast<std::size_t>(b)];
  }
  return static_cast<double>(right) / static_cast<double>(batch.answers.size());
}

double attention_hit_rate(const RecallForward& forward, const RecallBatch& batch, Index layer,
                          Index offset) {
  require(layer >= 0 && layer < static_cast<Index>(forward.heads.size()), "attention_hit_rate",
          fmt::format("layer {} is outside 0..{}", layer, forward.heads.size() - 1));
  if (batch.answers.empty()) return 0.0;
  Index hits = 0;
  const auto& heads = forward.heads[static_cast<std::size_t>(layer)];
  for (std::size_t b = 0; b < heads.size(); ++b) {
    const Matrix& weights = heads[b].attention.weights;
    Index best = 0;
    weights.row(weights.rows() - 1).maxCoeff(&best);
    hits += best == batch.key_positions[b] + offset;
  }
  return static_cast<double>(hits) / static_cast<double>(heads.size());
}

double learning_rate_at(const TrainOptions& options, Index step) {
  const double peak = options.adam.learning_rate;
  if (step < options.warmup)
    return peak * static_cast<double>(step + 1) / static_cast<double>(options.warmup);
  const Index rest = std::max<Index>(options.steps - options.warmup, 1);
  const double done =
      std::min(1.0, static_cast<double>(step - options.warmup) / static_cast<double>(rest));
  return peak * (0.1 + 0.9 * 0.5 * (1 + std::cos(std::numbers::pi * done)));
}

std::vector<TrainProgress> train_recall(RecallModel& model, const RecallTask& task,
                                        const TrainOptions& options, Random& random,
                                        const RecallBatch& held_out,
                                        const std::function<void(const TrainProgress&)>& progress) {
  require(options.steps >= 0 && options.batch >= 1 && options.eval_every >= 1, "train_recall",
          "need steps >= 0, batch >= 1 and eval_every >= 1");
  std::vector<TrainProgress> reports;
  const auto report = [&](Index step, double loss) {
    const RecallForward f = recall_forward(model, held_out);
    TrainProgress p{step, loss, recall_accuracy(f, held_out),
                    cross_entropy(f.logits, held_out.answers).loss};
    if (step == 0) p.loss = p.held_out_loss;
    reports.push_back(p);
    if (progress) progress(p);
  };
  report(0, 0.0);
  Adam adam(options.adam);
  double loss_sum = 0;
  Index since = 0;
  for (Index step = 0; step < options.steps; ++step) {
    const RecallBatch batch = make_recall_batch(task, random, options.batch);
    const RecallForward f = recall_forward(model, batch);
    const CrossEntropy ce = cross_entropy(f.logits, batch.answers);
    const RecallModel g = recall_backward(model, batch, f, ce.d_logits);
    adam.step(parameters(model), parameters(g), learning_rate_at(options, step));
    loss_sum += ce.loss;
    ++since;
    if ((step + 1) % options.eval_every == 0 || step + 1 == options.steps) {
      report(step + 1, loss_sum / static_cast<double>(since));
      loss_sum = 0;
      since = 0;
    }
  }
  return reports;
}

std::string sparkline(const std::vector<double>& values) {
  if (values.empty()) return {};
  static const char* const blocks[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                       "\u2585", "\u2586", "\u2587", "\u2588"};
  const auto [low, high] = std::minmax_element(values.begin(), values.end());
  std::string line;
  for (double value : values) {
    const double share = *high > *low ? (value - *low) / (*high - *low) : 0.0;
    line += blocks[std::clamp(static_cast<int>(share * 7.999), 0, 7)];
  }
  return line;
}

void write_svg_curve(const std::filesystem::path& path, std::string_view title,
                     std::string_view x_label, const std::vector<double>& xs,
                     const std::vector<double>& ys) {
  require(
      !xs.empty() && xs.size() == ys.size(), "write_svg_curve",
      fmt::format("need as many x as y values, at least one ({} and {})", xs.size(), ys.size()));
  constexpr double width = 480, height = 260, left = 56, right = 16, top = 36, bottom = 44;
  const auto [x_low, x_high] = std::minmax_element(xs.begin(), xs.end());
  const auto [y_low, y_high] = std::minmax_element(ys.begin(), ys.end());
  const double x_span = *x_high > *x_low ? *x_high - *x_low : 1.0;
  const double y_span = *y_high > *y_low ? *y_high - *y_low : 1.0;
  std::string points;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double px = left + (xs[i] - *x_low) / x_span * (width - left - right);
    const double py = top + (*y_high - ys[i]) / y_span * (height - top - bottom);
    points += fmt::format("{}{:.1f},{:.1f}", i ? " " : "", px, py);
  }
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"20\" font-size=\"14\">{3}</text>\n"
      "<path d=\"M{2},{4} V{5} H{6}\" fill=\"none\" stroke=\"#444\"/>\n"
      "<polyline points=\"{7}\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n"
      "<text x=\"{8}\" y=\"{9}\" text-anchor=\"end\">{10:.3g}</text>\n"
      "<text x=\"{8}\" y=\"{5}\" text-anchor=\"end\">{11:.3g}</text>\n"
      "<text x=\"{2}\" y=\"{12}\">{13:g}</text>\n"
      "<text x=\"{6}\" y=\"{12}\" text-anchor=\"end\">{14:g}</text>\n"
      "<text x=\"{15}\" y=\"{16}\" text-anchor=\"middle\">{17}</text>\n</svg>\n",
      width, height, left, title, top, height - bottom, width - right, points, left - 6, top + 4,
      *y_high, *y_low, height - bottom + 16, *x_low, *x_high, (left + width - right) / 2,
      height - 8, x_label);
  write_file_atomically(path, svg);
}

}  // namespace qkv
