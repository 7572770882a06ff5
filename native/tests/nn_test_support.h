// Test support shared by test_nn.cpp (CPU core) and native/cuda/tests/test_cuda_nn.cpp: seeded
// inputs, the comparison with nn_reference.h's float64 results, the sentinel check of rows outside
// a row range, and the SPD matrices of the spdSolve cases.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "affinity/nn.h"
#include "reference.h"  // CHECK, g_checks

namespace affinity_test {

inline constexpr affinity::Activation kActs[] = {affinity::Activation::Identity, affinity::Activation::Relu,
                                                 affinity::Activation::Sigmoid, affinity::Activation::Tanh,
                                                 affinity::Activation::Gelu};
/** What an output holds before a kernel runs: elements outside the row range must still hold it. */
inline constexpr float kSentinel = 12345.0f;
inline constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

/** n values uniform in [lo, hi) from mt19937(seed). */
inline std::vector<float> uniform(int64_t n, uint32_t seed, float lo = -1, float hi = 1) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = u(g);
  return v;
}

/** got[i] within atol + rtol·|want[i]| for i in [0, n) (NaN matches NaN); reports the first miss. */
inline bool close(const std::string& label, const float* got, const double* want, int64_t n, double atol, double rtol) {
  for (int64_t i = 0; i < n; i++) {
    const double w = want[i], g = got[i];
    if (std::isnan(w) && std::isnan(g)) continue;
    if (!(std::fabs(g - w) <= atol + rtol * std::fabs(w))) {
      CHECK(false, "%s: [%lld] = %.9g, reference %.9g", label.c_str(), static_cast<long long>(i), g, w);
      return false;
    }
  }
  ++g_checks;
  return true;
}

/** close() over all of want, against got from offset on (got must be long enough). */
inline bool close(const std::string& label, const std::vector<float>& got, const std::vector<double>& want, double atol,
                  double rtol, int64_t offset = 0) {
  if (got.size() < want.size() + static_cast<size_t>(offset)) {
    CHECK(false, "%s: size %zu, reference %zu", label.c_str(), got.size(), want.size());
    return false;
  }
  return close(label, got.data() + offset, want.data(), static_cast<int64_t>(want.size()), atol, rtol);
}

/** Elements [from, to) of v all still hold the sentinel. */
inline void untouched(const std::string& label, const std::vector<float>& v, int64_t from, int64_t to) {
  for (int64_t i = from; i < to; i++)
    if (v[static_cast<size_t>(i)] != kSentinel) {
      CHECK(false, "%s: element %lld outside the row range was written", label.c_str(), static_cast<long long>(i));
      return;
    }
}

/** x of the activation cases (rows × cols): uniform in [-6, 6), and where there are more than 6 elements,
 *  the extremes ±40, 0, 1e-4, −0.3 and ±95 first (saturation, and tanh's polynomial/exp switch). */
inline std::vector<float> activation_input(int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
  std::vector<float> x = uniform(n, static_cast<uint32_t>(rows * 7 + cols), -6, 6);
  if (n > 6) {
    x[0] = 40;
    x[1] = -40;
    x[2] = 0;
    x[3] = 1e-4f;
    x[4] = -0.3f;
    x[5] = 95;
    x[6] = -95;
  }
  return x;
}

inline std::string shape(int64_t r, int64_t c) { return std::to_string(r) + "x" + std::to_string(c); }

/** A = MᵀM/n + I (n × n), upper triangle replaced by NaN: only the lower triangle may be read. */
inline std::vector<float> spd_matrix(int64_t n, uint32_t seed) {
  const std::vector<float> m = uniform(n * n, seed);
  std::vector<float> a(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j <= i; j++) {
      double s = i == j ? 1.0 : 0.0;
      for (int64_t k = 0; k < n; k++)
        s += static_cast<double>(m[static_cast<size_t>(k * n + i)]) * m[static_cast<size_t>(k * n + j)] / static_cast<double>(n);
      a[static_cast<size_t>(i * n + j)] = static_cast<float>(s);
      if (j < i) a[static_cast<size_t>(j * n + i)] = kNaN;
    }
  return a;
}

// ------------------------------------------------------------------ the params of a case
// Each builds a kernel's params as both tests pass them: sizes, the inputs and outputs (lengths set
// where the tests check them, the rest left at −1, unchecked). The row range, and on the CPU the
// SIMD level and threads, are the caller's to set.
using FloatBuf = std::vector<float>;

/** layerNorm of x (rows × cols) into y, mean, rstd; every length set. */
inline affinity::LayerNormParams layer_norm_case(int64_t rows, int64_t cols, const FloatBuf& x, const FloatBuf& gamma,
                                                 const FloatBuf& beta, FloatBuf& y, FloatBuf& mean, FloatBuf& rstd) {
  affinity::LayerNormParams p;
  p.rows = rows;
  p.cols = cols;
  p.x = x.data();
  p.x_length = rows * cols;
  p.gamma = gamma.data();
  p.gamma_length = cols;
  p.beta = beta.data();
  p.beta_length = cols;
  p.y = y.data();
  p.y_length = rows * cols;
  p.mean = mean.data();
  p.mean_length = rows;
  p.rstd = rstd.data();
  p.rstd_length = rows;
  return p;
}

/** layerNormBackward: dx from x, γ, the saved mean and rstd, and dy. */
inline affinity::LayerNormBackwardParams layer_norm_backward_case(int64_t rows, int64_t cols, const FloatBuf& x, const FloatBuf& gamma,
                                                                  const FloatBuf& mean, const FloatBuf& rstd, const FloatBuf& dy,
                                                                  FloatBuf& dx) {
  affinity::LayerNormBackwardParams b;
  b.rows = rows;
  b.cols = cols;
  b.x = x.data();
  b.gamma = gamma.data();
  b.mean = mean.data();
  b.rstd = rstd.data();
  b.grad_out = dy.data();
  b.out = dx.data();
  return b;
}

/** layerNormParamGrad: dγ, dβ from x, the saved mean and rstd, and dy (its rows are columns). */
inline affinity::LayerNormParamGradParams layer_norm_param_grad_case(int64_t rows, int64_t cols, const FloatBuf& x, const FloatBuf& mean,
                                                                     const FloatBuf& rstd, const FloatBuf& dy, FloatBuf& dgamma,
                                                                     FloatBuf& dbeta) {
  affinity::LayerNormParamGradParams g;
  g.rows = rows;
  g.cols = cols;
  g.x = x.data();
  g.mean = mean.data();
  g.rstd = rstd.data();
  g.grad_out = dy.data();
  g.grad_gamma = dgamma.data();
  g.grad_beta = dbeta.data();
  return g;
}

/** maskedSoftmax of scores (rows × cols, `queries` query rows per block); key_valid null: no padding mask. */
inline affinity::MaskedSoftmaxParams masked_softmax_case(int64_t rows, int64_t cols, const FloatBuf& scores, float scale, int64_t queries,
                                                         bool causal, const std::vector<uint8_t>* key_valid, FloatBuf& out) {
  affinity::MaskedSoftmaxParams p;
  p.rows = rows;
  p.cols = cols;
  p.scores = scores.data();
  p.scale = scale;
  p.queries = queries;
  p.causal = causal;
  p.has_key_valid = key_valid != nullptr;
  p.key_valid = key_valid ? key_valid->data() : nullptr;
  p.key_valid_length = key_valid ? static_cast<int64_t>(key_valid->size()) : 0;
  p.out = out.data();
  return p;
}

/** softmaxBackward: dx from the probabilities and their gradient. */
inline affinity::SoftmaxBackwardParams softmax_backward_case(int64_t rows, int64_t cols, const FloatBuf& probs, const FloatBuf& grad_probs,
                                                             float scale, FloatBuf& dx) {
  affinity::SoftmaxBackwardParams b;
  b.rows = rows;
  b.cols = cols;
  b.probs = probs.data();
  b.grad_probs = grad_probs.data();
  b.scale = scale;
  b.out = dx.data();
  return b;
}

/** sigmoidCrossEntropy over n elements; weights null: unweighted. */
inline affinity::SigmoidCrossEntropyParams sigmoid_cross_entropy_case(int64_t n, const FloatBuf& logits, const FloatBuf& targets,
                                                                      const float* weights, float grad_scale, FloatBuf& loss,
                                                                      FloatBuf& grad) {
  affinity::SigmoidCrossEntropyParams p;
  p.length = n;
  p.logits = logits.data();
  p.targets = targets.data();
  p.weights = weights;
  p.grad_scale = grad_scale;
  p.loss = loss.data();
  p.grad = grad.data();
  return p;
}

/** embeddingGather of the rows `ids` (−1: a zero row) of table (vocab × dim). */
inline affinity::EmbeddingGatherParams embedding_gather_case(int64_t vocab, int64_t dim, const FloatBuf& table,
                                                             const std::vector<int32_t>& ids, FloatBuf& out) {
  affinity::EmbeddingGatherParams p;
  p.vocab = vocab;
  p.dim = dim;
  p.table = table.data();
  p.ids = ids.data();
  p.ids_length = static_cast<int64_t>(ids.size());
  p.out = out.data();
  return p;
}

/** segmentSum of src (rows × dim) over the groups of offsets; weights null: unweighted. */
inline affinity::SegmentSumParams segment_sum_case(int64_t rows, int64_t dim, const FloatBuf& src, const std::vector<int32_t>& offsets,
                                                   const std::vector<int32_t>& positions, const float* weights, FloatBuf& out) {
  affinity::SegmentSumParams s;
  s.rows = rows;
  s.dim = dim;
  s.src = src.data();
  s.offsets = offsets.data();
  s.offsets_length = static_cast<int64_t>(offsets.size());
  s.positions = positions.data();
  s.positions_length = static_cast<int64_t>(positions.size());
  s.weights = weights;
  s.out = out.data();
  return s;
}

/** columnSums of x (rows × cols) into out (cols); its rows are columns. */
inline affinity::ColumnSumsParams column_sums_case(int64_t rows, int64_t cols, const FloatBuf& x, FloatBuf& out) {
  affinity::ColumnSumsParams p;
  p.rows = rows;
  p.cols = cols;
  p.x = x.data();
  p.x_length = rows * cols;
  p.out = out.data();
  p.out_length = cols;
  return p;
}

/** dropout of x (n elements) at rate, seed 11, the counter starting at offset. */
inline affinity::DropoutParams dropout_case(int64_t n, const FloatBuf& x, double rate, uint32_t offset, FloatBuf& out) {
  affinity::DropoutParams p;
  p.length = n;
  p.x = x.data();
  p.rate = rate;
  p.seed = 11;
  p.offset = offset;
  p.out = out.data();
  return p;
}

/** adamUpdate of params (n = rows × dim) with the tests' hyperparameters: step 10 (lazy, over the rows ids)
 *  or 3 (dense), lr 1e-2, weight decay 0.1 (decoupled or L2), grad scale 0.5. */
inline affinity::AdamUpdateParams adam_update_case(int64_t n, int64_t dim, FloatBuf& params, const FloatBuf& grads, FloatBuf& m,
                                                   FloatBuf& v, bool lazy, const std::vector<int32_t>& ids, bool decoupled) {
  affinity::AdamUpdateParams p;
  p.length = n;
  p.dim = dim;
  p.params = params.data();
  p.grads = grads.data();
  p.m = m.data();
  p.v = v.data();
  p.lazy = lazy;
  p.row_ids = ids.data();
  p.row_ids_length = static_cast<int64_t>(ids.size());
  p.step = lazy ? 10 : 3;
  p.lr = 1e-2;
  p.weight_decay = 0.1;
  p.decoupled = decoupled;
  p.grad_scale = 0.5;
  return p;
}

/** elementwise over n elements, variant 0: 0.5·x − 2·y (axpby), 1: 0.5·x·y (mul), 2: 0.5·x (axpby, no y). */
inline affinity::ElementwiseParams elementwise_case(int variant, int64_t n, const FloatBuf& x, const FloatBuf& y, FloatBuf& out) {
  affinity::ElementwiseParams p;
  p.op = variant == 1 ? affinity::ElementwiseOp::Mul : affinity::ElementwiseOp::Axpby;
  p.length = n;
  p.x = x.data();
  p.y = variant == 2 ? nullptr : y.data();
  p.alpha = 0.5;
  p.beta = -2;
  p.out = out.data();
  return p;
}

}  // namespace affinity_test
