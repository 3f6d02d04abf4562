// Reference solution of exercise adamw_step (chapter 10).

#include "adamw_step.hpp"

#include <cmath>

#include "qkv/error.hpp"

namespace qkv::exercises {

void adamw_step(Matrix& parameter, const Matrix& gradient, AdamWState& state,
                const AdamWOptions& options) {
  require_shapes(gradient.rows() == parameter.rows() && gradient.cols() == parameter.cols(),
                 "adamw_step", "the gradient must have the parameter's shape", "parameter",
                 parameter, "gradient", gradient);
  if (state.t == 0) {
    state.m = Matrix::Zero(parameter.rows(), parameter.cols());
    state.v = Matrix::Zero(parameter.rows(), parameter.cols());
  }
  require_shapes(state.m.rows() == parameter.rows() && state.m.cols() == parameter.cols(),
                 "adamw_step", "the state must have the parameter's shape", "parameter", parameter,
                 "m", state.m);
  ++state.t;
  // 1 - beta in double, then rounded: 1 - 0.999f in float is off by 1e-5 of itself.
  state.m = static_cast<float>(options.beta1) * state.m +
            static_cast<float>(1 - options.beta1) * gradient;
  state.v = static_cast<float>(options.beta2) * state.v +
            static_cast<float>(1 - options.beta2) * gradient.cwiseProduct(gradient);
  const auto t = static_cast<double>(state.t);
  const Matrix m_hat = state.m / static_cast<float>(1 - std::pow(options.beta1, t));
  const Matrix v_hat = state.v / static_cast<float>(1 - std::pow(options.beta2, t));
  const Matrix adam =
      (m_hat.array() / (v_hat.array().sqrt() + static_cast<float>(options.epsilon))).matrix();
  parameter -= static_cast<float>(options.learning_rate) *
               (adam + static_cast<float>(options.weight_decay) * parameter);
}

}  // namespace qkv::exercises
