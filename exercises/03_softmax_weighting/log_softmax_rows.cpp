// Exercise log_softmax_rows (chapter 03): log-softmax by the log-sum-exp trick.
//
// Training a language model minimises -ln w_target, the log of a softmax weight. Taking
// std::log of qkv::softmax_rows fails when a weight underflows: the scores (0, -200) give
// weights (1, e^-200), and e^-200 is 0 in float, so its log is -inf although the true answer
// is -200. Take the log first instead:
//
//     ln w_ij = S_ij - ln sum_l e^(S_il)
//             = S_ij - m_i - ln sum_l e^(S_il - m_i),   m_i = max_l S_il
//
// The sum inside the log lies between 1 and T (its largest term is e^0 = 1), so its log is
// tame, and S_ij - m_i is exact. This m_i + ln sum e^(S - m_i) is the "log-sum-exp" trick:
// the same max subtraction as the chapter's softmax.
//
// TODO: For each row: find the maximum m (throw qkv::ValueError with qkv::require if it is
//       not finite: a row of -inf, or a NaN), compute ln sum_l e^(S_il - m), and subtract
//       m and that log from every score of the row. A score of -inf then gives -inf by
//       itself. Eigen: row.maxCoeff(), (row.array() - m).exp().sum(), std::log.
// Check with:  build/dev/bin/qkv-learn check log_softmax_rows
//   or, checking again on every save:  build/dev/bin/qkv-learn watch log_softmax_rows

#include "log_softmax_rows.hpp"

#include "qkv/error.hpp"

namespace qkv::exercises {

Matrix log_softmax_rows(const Matrix& scores) {
  (void)scores;
  QKV_NOT_DONE();
}

}  // namespace qkv::exercises
