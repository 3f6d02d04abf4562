// The backward pass of attention (attention_backward.hpp), for float and double.
#include "qkv/attention_backward.hpp"

#include <algorithm>
#include <cmath>

#include "qkv/error.hpp"

namespace qkv {

template <typename Scalar>
MatrixOf<Scalar> softmax_rows_backward(const MatrixOf<Scalar>& weights,
                                       const MatrixOf<Scalar>& d_weights) {
  require_shapes(weights.rows() == d_weights.rows() && weights.cols() == d_weights.cols(),
                 "softmax_rows_backward", "P and dP must have the same shape", "P", weights, "dP",
                 d_weights);
  // D_i = sum_k dP_ik P_ik: what moving all of row i's weight at once would change. Each
  // weight's gradient is its own dP minus that average, scaled by the weight itself.
  const Eigen::Matrix<Scalar, Eigen::Dynamic, 1> row_dot =
      d_weights.cwiseProduct(weights).rowwise().sum();
  return (weights.array() * (d_weights.colwise() - row_dot).array()).matrix();
}

template <typename Scalar>
AttentionGradientsT<Scalar> attention_backward(const MatrixOf<Scalar>& q, const MatrixOf<Scalar>& k,
                                               const MatrixOf<Scalar>& v,
                                               const MatrixOf<Scalar>& weights,
                                               const MatrixOf<Scalar>& d_output) {
  require_shapes(q.cols() == k.cols(), "attention_backward",
                 "queries and keys must have the same d_k", "Q", q, "K", k);
  require_shapes(k.rows() == v.rows(), "attention_backward",
                 "keys and values must have the same T_k", "K", k, "V", v);
  require_shapes(weights.rows() == q.rows() && weights.cols() == k.rows(), "attention_backward",
                 "the weights must be T_q x T_k", "Q", q, "P", weights);
  require_shapes(d_output.rows() == q.rows() && d_output.cols() == v.cols(), "attention_backward",
                 "dO must be T_q x d_v, the output's shape", "V", v, "dO", d_output);
  require(q.cols() > 0, "attention_backward", "d_k must be positive");
  const Scalar scale = Scalar(1) / std::sqrt(static_cast<Scalar>(q.cols()));
  AttentionGradientsT<Scalar> g;
  g.d_v = weights.transpose() * d_output;                    // O = P V
  g.d_weights = d_output * v.transpose();                    // O = P V
  g.d_scores = softmax_rows_backward(weights, g.d_weights);  // P = softmax(S)
  g.d_q = g.d_scores * k * scale;                            // S = Q K^T / sqrt(d)
  g.d_k = g.d_scores.transpose() * q * scale;                // S = Q K^T / sqrt(d)
  return g;
}

template <typename Scalar>
HeadForwardT<Scalar> head_forward(const MatrixOf<Scalar>& x, const HeadWeightsT<Scalar>& w,
                                  const std::optional<Mask>& mask) {
  require_shapes(x.cols() == w.w_q.rows() && x.cols() == w.w_k.rows() && x.cols() == w.w_v.rows(),
                 "head_forward", "X's columns must be the rows of W_q, W_k and W_v", "X", x, "W_q",
                 w.w_q);
  HeadForwardT<Scalar> f;
  f.q = x * w.w_q;
  f.k = x * w.w_k;
  f.v = x * w.w_v;
  f.attention = scaled_dot_product_attention(f.q, f.k, f.v, mask);
  return f;
}

template <typename Scalar>
HeadGradientsT<Scalar> head_backward(const MatrixOf<Scalar>& x, const HeadWeightsT<Scalar>& w,
                                     const HeadForwardT<Scalar>& forward,
                                     const MatrixOf<Scalar>& d_output) {
  require_shapes(d_output.rows() == forward.attention.output.rows() &&
                     d_output.cols() == forward.attention.output.cols(),
                 "head_backward", "dO must have the output's shape", "O", forward.attention.output,
                 "dO", d_output);
  HeadGradientsT<Scalar> g;
  g.attention =
      attention_backward(forward.q, forward.k, forward.v, forward.attention.weights, d_output);
  g.d_w.w_q = x.transpose() * g.attention.d_q;  // Q = X W_q
  g.d_w.w_k = x.transpose() * g.attention.d_k;  // K = X W_k
  g.d_w.w_v = x.transpose() * g.attention.d_v;  // V = X W_v
  g.d_x = g.attention.d_q * w.w_q.transpose() + g.attention.d_k * w.w_k.transpose() +
          g.attention.d_v * w.w_v.transpose();
  return g;
}

double max_relative_error(const MatrixD& analytic, const MatrixD& numeric) {
  require_shapes(analytic.rows() == numeric.rows() && analytic.cols() == numeric.cols(),
                 "max_relative_error", "the two gradients must have the same shape", "analytic",
                 analytic, "numeric", numeric);
  if (analytic.size() == 0) return 0.0;
  const double scale =
      std::max({analytic.cwiseAbs().maxCoeff(), numeric.cwiseAbs().maxCoeff(), 1e-30});
  return (analytic - numeric).cwiseAbs().maxCoeff() / scale;
}

template MatrixOf<float> softmax_rows_backward(const MatrixOf<float>&, const MatrixOf<float>&);
template MatrixOf<double> softmax_rows_backward(const MatrixOf<double>&, const MatrixOf<double>&);
template AttentionGradientsT<float> attention_backward(const MatrixOf<float>&,
                                                       const MatrixOf<float>&,
                                                       const MatrixOf<float>&,
                                                       const MatrixOf<float>&,
                                                       const MatrixOf<float>&);
template AttentionGradientsT<double> attention_backward(const MatrixOf<double>&,
                                                        const MatrixOf<double>&,
                                                        const MatrixOf<double>&,
                                                        const MatrixOf<double>&,
                                                        const MatrixOf<double>&);
template HeadForwardT<float> head_forward(const MatrixOf<float>&, const HeadWeightsT<float>&,
                                          const std::optional<Mask>&);
template HeadForwardT<double> head_forward(const MatrixOf<double>&, const HeadWeightsT<double>&,
                                           const std::optional<Mask>&);
template HeadGradientsT<float> head_backward(const MatrixOf<float>&, const HeadWeightsT<float>&,
                                             const HeadForwardT<float>&, const MatrixOf<float>&);
template HeadGradientsT<double> head_backward(const MatrixOf<double>&, const HeadWeightsT<double>&,
                                              const HeadForwardT<double>&, const MatrixOf<double>&);

}  // namespace qkv
