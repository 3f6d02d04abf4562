// Exercise adamw_step (chapter 10): one step of AdamW, Adam with decoupled weight decay.
//
// The chapter's Adam (train.hpp) has no weight decay. Adding lambda theta to the gradient
// (L2 regularisation) would be divided by sqrt(v_hat) like the rest of the gradient, so
// weights with large gradients would hardly decay. AdamW subtracts eta lambda theta from the
// weight directly, beside the Adam step. At t = 1 the bias corrections make m_hat = g and
// v_hat = g^2, so the Adam part of the first step is eta times the sign of g:
//
//     theta = 2, g = 0.5, eta = 0.1, lambda = 0.5:  theta <- 2 - 0.1 (1 + 0.5 * 2) = 1.8
//
// TODO: 1. Check the shapes (qkv::require_shapes); on the first step set m and v to zeros of
//          the parameter's shape.
//       2. t <- t + 1; update m and v from the gradient.
//       3. Correct both for their zero start (divide by 1 - beta^t, t the new count).
//       4. Take the step: eta (m_hat / (sqrt(v_hat) + epsilon) + lambda theta), with the
//          theta from before the step.
// Check with:  build/dev/bin/qkv-learn check adamw_step
//   or, checking again on every save:  build/dev/bin/qkv-learn watch adamw_step

#include "adamw_step.hpp"

#include <cmath>

#include "qkv/error.hpp"

namespace qkv::exercises {

void adamw_step(Matrix& parameter, const Matrix& gradient, AdamWState& state,
                const AdamWOptions& options) {
  (void)parameter;
  (void)gradient;
  (void)state;
  (void)options;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
