// The neural-network kernels (affinity/nn.h): validation of every params struct, and the
// threading — rows cut into blocks of about kTaskElements elements, run on the core's pool by
// the inner loops of the chosen instruction set (nn_ops.h). spdSolve is in spd_solve.cpp.
#include "affinity/nn.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <vector>

#include "nn_ops.h"
#include "nn_validate.h"
#include "thread_pool.h"

namespace affinity {

using detail::NnOps;
using detail::nn_ops;
using namespace detail::nnv;

namespace {

/** Elements of work per pool task: large enough to hide the hand-out, small enough to balance. */
constexpr int64_t kTaskElements = 16384;

/** Rows per task for rows of `width` elements. */
int64_t grain_for(int64_t width) { return std::max<int64_t>(1, kTaskElements / std::max<int64_t>(1, width)); }

/** fn(r0, r1) over [start, end) in blocks of `grain` rows on up to `threads` participants. */
template <class Fn>
void for_blocks(int64_t start, int64_t end, int64_t grain, int threads, Fn&& fn) {
  const int64_t n = end - start;
  if (n <= 0) return;
  const int64_t tasks = (n + grain - 1) / grain;
  parallel_for(tasks, threads, [&](int64_t t, int) {
    const int64_t r0 = start + t * grain;
    fn(r0, std::min(end, r0 + grain));
  });
}

template <class P>
void require_valid(const char* kernel, const P& p, std::string (*validate)(const P&)) {
  const std::string problem = validate(p);
  if (!problem.empty()) throw std::invalid_argument(std::string(kernel) + ": " + problem);
}

std::string check_activation(Activation a) {
  const int v = static_cast<int>(a);
  if (v < 0 || v > 4) return "activation must be identity, relu, sigmoid, tanh or gelu, got " + str(v);
  return "";
}

/**
 * Column sums over every row for the columns [c0, c1), in tasks of column chunks (each column is
 * summed over the rows in order, in float64: the result does not depend on the threads).
 * fn(cc0, cc1) fills columns [cc0, cc1).
 */
template <class Fn>
void for_column_chunks(int64_t c0, int64_t c1, int64_t rows, int threads, Fn&& fn) {
  const int64_t w = c1 - c0;
  if (w <= 0) return;
  // at least 16 columns (a cache line) per task; about 4 tasks per thread when there are enough columns
  int64_t chunk = (w + 4 * threads - 1) / (4 * threads);
  chunk = std::max<int64_t>(16, (chunk + 15) / 16 * 16);
  if (rows > 0) chunk = std::max<int64_t>(chunk, std::min<int64_t>(w, kTaskElements / std::max<int64_t>(1, rows)));
  for_blocks(c0, c1, chunk, threads, fn);
}

}  // namespace

// ------------------------------------------------------------------ activation
bool parse_activation(const std::string& name, Activation* out) {
  static const struct { const char* name; Activation a; } table[] = {
      {"identity", Activation::Identity}, {"relu", Activation::Relu}, {"sigmoid", Activation::Sigmoid},
      {"tanh", Activation::Tanh},         {"gelu", Activation::Gelu}};
  for (const auto& e : table) {
    if (name == e.name) {
      *out = e.a;
      return true;
    }
  }
  return false;
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::Identity: return "identity";
    case Activation::Relu: return "relu";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Tanh: return "tanh";
    case Activation::Gelu: return "gelu";
  }
  return "?";
}

std::string validate_bias_activation(const BiasActivationParams& p) {
  AFF_CHECK(dims({{"rows", p.rows}, {"cols", p.cols}}));
  const int64_t size = p.rows * p.cols;
  AFF_CHECK(buffer("x", p.x, p.x_length, size, "rows*cols"));
  if (p.bias) AFF_CHECK(buffer("bias", p.bias, p.bias_length, p.cols, "cols"));
  AFF_CHECK(check_activation(p.activation));
  AFF_CHECK(buffer("out", p.out, p.out_length, size, "rows*cols"));
  AFF_CHECK(row_range(p, p.rows, "rows"));
  return disjoint({{"out", p.out, size}}, {{"x", p.x, size}, {"bias", p.bias, p.bias ? p.cols : 0}});
}

void bias_activation(const BiasActivationParams& p) {
  require_valid("biasActivation", p, &validate_bias_activation);
  const NnOps& ops = nn_ops(p.simd);
  for_blocks(p.row_start, p.row_end, grain_for(p.cols), p.threads,
             [&](int64_t r0, int64_t r1) { ops.bias_activation(p, r0, r1); });
}

std::string validate_activation_backward(const ActivationBackwardParams& p) {
  AFF_CHECK(validate_bias_activation(p));
  const int64_t size = p.rows * p.cols;
  AFF_CHECK(buffer("gradOut", p.grad_out, p.grad_out_length, size, "rows*cols"));
  return disjoint({{"out", p.out, size}}, {{"gradOut", p.grad_out, size}});
}

void activation_backward(const ActivationBackwardParams& p) {
  require_valid("activationBackward", p, &validate_activation_backward);
  const NnOps& ops = nn_ops(p.simd);
  for_blocks(p.row_start, p.row_end, grain_for(p.cols), p.threads,
             [&](int64_t r0, int64_t r1) { ops.activation_backward(p, r0, r1); });
}

std::string validate_column_sums(const ColumnSumsParams& p) {
  AFF_CHECK(dims({{"rows", p.rows}, {"cols", p.cols}}));
  const int64_t size = p.rows * p.cols;
  AFF_CHECK(buffer("x", p.x, p.x_length, size, "rows*cols"));
  AFF_CHECK(buffer("out", p.out, p.out_length, p.cols, "cols"));
  AFF_CHECK(row_range(p, p.cols, "cols"));
  return disjoint({{"out", p.out, p.cols}}, {{"x", p.x, size}});
}

void column_sums(const ColumnSumsParams& p) {
  require_valid("columnSums", p, &validate_column_sums);
  const NnOps& ops = nn_ops(p.simd);
  for_column_chunks(p.row_start, p.row_end, p.rows, p.threads, [&](int64_t c0, int64_t c1) {
    std::vector<double> acc(static_cast<size_t>(c1 - c0), 0.0);
    ops.column_sums(p.x, p.cols, 0, p.rows, c0, c1, acc.data());
    for (int64_t j = c0; j < c1; j++) p.out[j] = static_cast<float>(acc[static_cast<size_t>(j - c0)]);
  });
}

// ------------------------------------------------------------------ layer norm
std::string validate_layer_norm(const LayerNormParams& p) {
  AFF_CHECK(dims({{"rows", p.rows}, {"cols", p.cols}}));
  const int64_t size = p.rows * p.cols;
  AFF_CHECK(buffer("x", p.x, p.x_length, size, "rows*cols"));
  AFF_CHECK(buffer("gamma", p.gamma, p.gamma_length, p.cols, "cols"));
  AFF_CHECK(buffer("beta", p.beta, p.beta_length, p.cols, "cols"));
  AFF_CHECK(finite("eps", p.eps));
  if (!(p.eps > 0)) return "eps must be > 0, got " + num(p.eps);
  AFF_CHECK(buffer("y", p.y, p.y_length, size, "rows*cols"));
  AFF_CHECK(buffer("mean", p.mean, p.mean_length, p.rows, "rows"));
  AFF_CHECK(buffer("rstd", p.rstd, p.rstd_length, p.rows, "rows"));
  AFF_CHECK(row_range(p, p.rows, "rows"));
  return disjoint({{"y", p.y, size}, {"mean", p.mean, p.rows}, {"rstd", p.rstd, p.rows}},
                  {{"x", p.x, size}, {"gamma", p.gamma, p.cols}, {"beta", p.beta, p.cols}});
}

void layer_norm(const LayerNormParams& p) {
  require_valid("layerNorm", p, &validate_layer_norm);
  const NnOps& ops = nn_ops(p.simd);
  for_blocks(p.row_start, p.row_end, grain_for(p.cols), p.threads, [&](int64_t r0, int64_t r1) { ops.layer_norm(p, r0, r1); });
}

namespace {
/** The checks layerNormBackward and layerNormParamGrad share (x, the saved statistics, dy). */
std::string validate_saved(int64_t rows, int64_t cols, const float* x, int64_t x_length, const float* mean,
                           int64_t mean_length, const float* rstd, int64_t rstd_length, const float* dy,
                           int64_t dy_length) {
  AFF_CHECK(dims({{"rows", rows}, {"cols", cols}}));
  AFF_CHECK(buffer("x", x, x_length, rows * cols, "rows*cols"));
  AFF_CHECK(buffer("mean", mean, mean_length, rows, "rows"));
  AFF_CHECK(buffer("rstd", rstd, rstd_length, rows, "rows"));
  return buffer("gradOut", dy, dy_length, rows * cols, "rows*cols");
}
}  // namespace

std::string validate_layer_norm_backward(const LayerNormBackwardParams& p) {
  AFF_CHECK(validate_saved(p.rows, p.cols, p.x, p.x_length, p.mean, p.mean_length, p.rstd, p.rstd_length, p.grad_out,
                           p.grad_out_length));
  const int64_t size = p.rows * p.cols;
  AFF_CHECK(buffer("gamma", p.gamma, p.gamma_length, p.cols, "cols"));
  AFF_CHECK(buffer("out", p.out, p.out_length, size, "rows*cols"));
  AFF_CHECK(row_range(p, p.rows, "rows"));
  return disjoint({{"out", p.out, size}}, {{"x", p.x, size},
                                           {"gamma", p.gamma, p.cols},
                                           {"mean", p.mean, p.rows},
                                           {"rstd", p.rstd, p.rows},
                                           {"gradOut", p.grad_out, size}});
}

void layer_norm_backward(const LayerNormBackwardParams& p) {
  require_valid("layerNormBackward", p, &validate_layer_norm_backward);
  const NnOps& ops = nn_ops(p.simd);
  for_blocks(p.row_start, p.row_end, grain_for(p.cols), p.threads,
             [&](int64_t r0, int64_t r1) { ops.layer_norm_backward(p, r0, r1); });
}

std::string validate_layer_norm_param_grad(const LayerNormParamGradParams& p) {
  AFF_CHECK(validate_saved(p.rows, p.cols, p.x, p.x_length, p.mean, p.mean_length, p.rstd, p.rstd_length, p.grad_out,
                           p.grad_out_length));
  const int64_t size = p.rows * p.cols;
  AFF_CHECK(buffer("gradGamma", p.grad_gamma, p.grad_gamma_length, p.cols, "cols"));
  AFF_CHECK(buffer("gradBeta", p.grad_beta, p.grad_beta_length, p.cols, "cols"));
  AFF_CHECK(row_range(p, p.cols, "cols"));
  return disjoint({{"gradGamma", p.grad_gamma, p.cols}, {"gradBeta", p.grad_beta, p.cols}},
                  {{"x", p.x, size}, {"mean", p.mean, p.rows}, {"rstd", p.rstd, p.rows}, {"gradOut", p.grad_out, size}});
}

void layer_norm_param_grad(const LayerNormParamGradParams& p) {
  require_valid("layerNormParamGrad", p, &validate_layer_norm_param_grad);
  const NnOps& ops = nn_ops(p.simd);
  for_column_chunks(p.row_start, p.row_end, p.rows, p.threads, [&](int64_t c0, int64_t c1) {
    const size_t w = static_cast<size_t>(c1 - c0);
    std::vector<double> dg(w, 0.0), db(w, 0.0);
    ops.layer_norm_param_grad(p, 0, p.rows, c0, c1, dg.data(), db.data());
    for (size_t j = 0; j < w; j++) {
      p.grad_gamma[c0 + static_cast<int64_t>(j)] = static_cast<float>(dg[j]);
      p.grad_beta[c0 + static_cast<int64_t>(j)] = static_cast<float>(db[j]);
    }
  });
}

// ------------------------------------------------------------------ softmax
std::string validate_masked_softmax(const MaskedSoftmaxParams& p) {
  AFF_CHECK(dims({{"rows", p.rows}, {"cols", p.cols}, {"queries", p.queries}}));
  const int64_t size = p.rows * p.cols;
  AFF_CHECK(buffer("scores", p.scores, p.scores_length, size, "rows*cols"));
  AFF_CHECK(finite("scale", p.scale));
  if (p.rows > 0 && (p.queries == 0 || p.rows % p.queries != 0))
    return "scores has " + str(p.rows) + " rows, not a multiple of queries = " + str(p.queries);
  if (p.has_key_valid) {
    const int64_t n = p.key_valid_length;
    if (n < 0 || n > kNnMaxDim) return "keyValid length must be in [0, 2^31-1], got " + str(n);
    if (p.cols == 0 ? n != 0 : (n == 0 || n % p.cols != 0))
      return "keyValid has length " + str(n) + ", not a positive multiple of the " + str(p.cols) + " keys";
    if (n > 0 && !p.key_valid) return "keyValid is null";
  }
  AFF_CHECK(buffer("out", p.out, p.out_length, size, "rows*cols"));
  AFF_CHECK(row_range(p, p.rows, "rows"));
  return disjoint({{"out", p.out, size}},
                  {{"scores", p.scores, size}, {"keyValid", p.key_valid, p.has_key_valid ? p.key_valid_length : 0, 1}});
}

void masked_softmax(const MaskedSoftmaxParams& p) {
  require_valid("maskedSoftmax", p, &validate_masked_softmax);
  const NnOps& ops = nn_ops(p.simd);
  for_blocks(p.row_start, p.row_end, grain_for(p.cols), p.threads, [&](int64_t r0, int64_t r1) { ops.masked_softmax(p, r0, r1); });
}

std::string validate_softmax_backward(const SoftmaxBackwardParams& p) {
  AFF_CHECK(dims({{"rows", p.rows}, {"cols", p.cols}}));
  const int64_t size = p.rows * p.cols;
  AFF_CHECK(buffer("probs", p.probs, p.probs_length, size, "rows*cols"));
  AFF_CHECK(buffer("gradProbs", p.grad_probs, p.grad_probs_length, size, "rows*cols"));
  AFF_CHECK(finite("scale", p.scale));
  AFF_CHECK(buffer("out", p.out, p.out_length, size, "rows*cols"));
  AFF_CHECK(row_range(p, p.rows, "rows"));
  return disjoint({{"out", p.out, size}}, {{"probs", p.probs, size}, {"gradProbs", p.grad_probs, size}});
}

void softmax_backward(const SoftmaxBackwardParams& p) {
  require_valid("softmaxBackward", p, &validate_softmax_backward);
  const NnOps& ops = nn_ops(p.simd);
  for_blocks(p.row_start, p.row_end, grain_for(p.cols), p.threads, [&](int64_t r0, int64_t r1) { ops.softmax_backward(p, r0, r1); });
}

// ------------------------------------------------------------------ losses
std::string validate_softmax_cross_entropy(const SoftmaxCrossEntropyParams& p) {
  AFF_CHECK(dims({{"rows", p.rows}, {"cols", p.cols}}));
  const int64_t size = p.rows * p.cols;
  AFF_CHECK(buffer("logits", p.logits, p.logits_length, size, "rows*cols"));
  AFF_CHECK(finite("gradScale", p.grad_scale));
  if (p.use_targets) {
    AFF_CHECK(buffer("targets", p.targets, p.targets_length, p.rows, "rows"));
    for (int64_t r = 0; r < p.rows; r++) {
      const int32_t t = p.targets[r];
      if (t < -1 || t >= p.cols) return "targets[" + str(r) + "] = " + str(t) + " is outside [-1, " + str(p.cols) + ")";
    }
  } else {
    AFF_CHECK(buffer("targetWeights", p.target_weights, p.target_weights_length, size, "rows*cols"));
    for (int64_t i = 0; i < size; i++) {
      const float w = p.target_weights[i];
      if (!(w >= 0) || !std::isfinite(w)) return "targetWeights[" + str(i) + "] = " + num(w) + " is not a finite weight >= 0";
    }
  }
  AFF_CHECK(buffer("loss", p.loss, p.loss_length, p.rows, "rows"));
  AFF_CHECK(buffer("grad", p.grad, p.grad_length, size, "rows*cols"));
  AFF_CHECK(row_range(p, p.rows, "rows"));
  return disjoint({{"loss", p.loss, p.rows}, {"grad", p.grad, size}},
                  {{"logits", p.logits, size},
                   {"targets", p.targets, p.use_targets ? p.rows : 0},
                   {"targetWeights", p.target_weights, p.use_targets ? 0 : size}});
}

void softmax_cross_entropy(const SoftmaxCrossEntropyParams& p) {
  require_valid("softmaxCrossEntropy", p, &validate_softmax_cross_entropy);
  const NnOps& ops = nn_ops(p.simd);
  for_blocks(p.row_start, p.row_end, grain_for(p.cols), p.threads,
             [&](int64_t r0, int64_t r1) { ops.softmax_cross_entropy(p, r0, r1); });
}

std::string validate_sigmoid_cross_entropy(const SigmoidCrossEntropyParams& p) {
  AFF_CHECK(dims({{"length", p.length}}));
  const int64_t n = p.length;
  AFF_CHECK(buffer("logits", p.logits, p.logits_length, n, "length"));
  AFF_CHECK(buffer("targets", p.targets, p.targets_length, n, "length"));
  for (int64_t i = 0; i < n; i++) {
    const float y = p.targets[i];
    if (!(y >= 0 && y <= 1)) return "targets[" + str(i) + "] = " + num(y) + " is outside [0, 1]";
  }
  if (p.weights) {
    AFF_CHECK(buffer("weights", p.weights, p.weights_length, n, "length"));
    for (int64_t i = 0; i < n; i++) {
      const float w = p.weights[i];
      if (!(w >= 0) || !std::isfinite(w)) return "weights[" + str(i) + "] = " + num(w) + " is not a finite weight >= 0";
    }
  }
  AFF_CHECK(finite("gradScale", p.grad_scale));
  AFF_CHECK(buffer("loss", p.loss, p.loss_length, n, "length"));
  AFF_CHECK(buffer("grad", p.grad, p.grad_length, n, "length"));
  AFF_CHECK(row_range(p, n, "length"));
  return disjoint({{"loss", p.loss, n}, {"grad", p.grad, n}},
                  {{"logits", p.logits, n}, {"targets", p.targets, n}, {"weights", p.weights, p.weights ? n : 0}});
}

void sigmoid_cross_entropy(const SigmoidCrossEntropyParams& p) {
  require_valid("sigmoidCrossEntropy", p, &validate_sigmoid_cross_entropy);
  const NnOps& ops = nn_ops(p.simd);
  for_blocks(p.row_start, p.row_end, kTaskElements, p.threads,
             [&](int64_t i0, int64_t i1) { ops.sigmoid_cross_entropy(p, i0, i1); });
}

// ------------------------------------------------------------------ embeddings
std::string validate_embedding_gather(const EmbeddingGatherParams& p) {
  AFF_CHECK(dims({{"vocab", p.vocab}, {"dim", p.dim}, {"ids length", p.ids_length}}));
  AFF_CHECK(buffer("table", p.table, p.table_length, p.vocab * p.dim, "vocab*dim"));
  AFF_CHECK(buffer("ids", p.ids, -1, p.ids_length, "ids length"));
  AFF_CHECK(ids_in_range("ids", p.ids, p.ids_length, p.vocab));
  const int64_t size = p.ids_length * p.dim;
  AFF_CHECK(buffer("out", p.out, p.out_length, size, "ids.length*dim"));
  AFF_CHECK(row_range(p, p.ids_length, "ids"));
  return disjoint({{"out", p.out, size}}, {{"table", p.table, p.vocab * p.dim}, {"ids", p.ids, p.ids_length}});
}

void embedding_gather(const EmbeddingGatherParams& p) {
  require_valid("embeddingGather", p, &validate_embedding_gather);
  const int64_t dim = p.dim;
  const size_t bytes = static_cast<size_t>(dim) * sizeof(float);
  for_blocks(p.row_start, p.row_end, grain_for(dim), p.threads, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const int32_t id = p.ids[r];
      if (bytes == 0) continue;
      if (id < 0) std::memset(p.out + r * dim, 0, bytes);
      else std::memcpy(p.out + r * dim, p.table + static_cast<int64_t>(id) * dim, bytes);
    }
  });
}

std::string validate_segment_sum(const SegmentSumParams& p) {
  AFF_CHECK(dims({{"rows", p.rows}, {"dim", p.dim}, {"offsets length", p.offsets_length}, {"positions length", p.positions_length}}));
  AFF_CHECK(buffer("src", p.src, p.src_length, p.rows * p.dim, "rows*dim"));
  if (p.offsets_length < 1) return "offsets must have at least one entry (groups + 1)";
  AFF_CHECK(buffer("offsets", p.offsets, -1, p.offsets_length, "offsets length"));
  AFF_CHECK(buffer("positions", p.positions, -1, p.positions_length, "positions length"));
  AFF_CHECK(offsets_valid("offsets", p.offsets, p.offsets_length, p.positions_length, "positions.length"));
  AFF_CHECK(ids_in_range("positions", p.positions, p.positions_length, p.rows));
  if (p.weights) AFF_CHECK(buffer("weights", p.weights, p.weights_length, p.positions_length, "positions.length"));
  const int64_t groups = p.offsets_length - 1, size = groups * p.dim;
  AFF_CHECK(buffer("out", p.out, p.out_length, size, "groups*dim"));
  AFF_CHECK(row_range(p, groups, "groups"));
  return disjoint({{"out", p.out, size}}, {{"src", p.src, p.rows * p.dim},
                                           {"offsets", p.offsets, p.offsets_length},
                                           {"positions", p.positions, p.positions_length},
                                           {"weights", p.weights, p.weights ? p.positions_length : 0}});
}

void segment_sum(const SegmentSumParams& p) {
  require_valid("segmentSum", p, &validate_segment_sum);
  const NnOps& ops = nn_ops(p.simd);
  const int64_t groups = p.offsets_length - 1;
  const int64_t per_group = std::max<int64_t>(1, p.positions_length / std::max<int64_t>(1, groups)) * std::max<int64_t>(1, p.dim);
  const int threads = std::max(1, std::min(p.threads, kMaxThreads));
  std::vector<std::vector<double>> scratch(static_cast<size_t>(threads), std::vector<double>(static_cast<size_t>(p.dim)));
  const int64_t grain = std::max<int64_t>(1, kTaskElements / per_group);
  const int64_t n = p.row_end - p.row_start;
  if (n <= 0) return;
  parallel_for((n + grain - 1) / grain, threads, [&](int64_t t, int slot) {
    const int64_t g0 = p.row_start + t * grain;
    ops.segment_sum(p, g0, std::min(p.row_end, g0 + grain), scratch[static_cast<size_t>(slot)].data());
  });
}

// ------------------------------------------------------------------ dropout
std::string validate_dropout(const DropoutParams& p) {
  AFF_CHECK(dims({{"length", p.length}}));
  AFF_CHECK(buffer("x", p.x, p.x_length, p.length, "length"));
  AFF_CHECK(finite("rate", p.rate));
  if (!(p.rate >= 0 && p.rate < 1)) return "rate must be in [0, 1), got " + num(p.rate);
  AFF_CHECK(buffer("out", p.out, p.out_length, p.length, "length"));
  AFF_CHECK(row_range(p, p.length, "length"));
  return disjoint({{"out", p.out, p.length}}, {{"x", p.x, p.length}});
}

void dropout(const DropoutParams& p) {
  require_valid("dropout", p, &validate_dropout);
  const NnOps& ops = nn_ops(p.simd);
  for_blocks(p.row_start, p.row_end, kTaskElements, p.threads, [&](int64_t i0, int64_t i1) { ops.dropout(p, i0, i1); });
}

// ------------------------------------------------------------------ Adam
std::string validate_adam_update(const AdamUpdateParams& p) {
  AFF_CHECK(dims({{"length", p.length}, {"dim", p.dim}, {"rowIds length", p.row_ids_length}}));
  if (p.dim < 1) return "dim must be >= 1, got " + str(p.dim);
  if (p.length % p.dim != 0) return "params has length " + str(p.length) + ", not a multiple of dim = " + str(p.dim);
  AFF_CHECK(buffer("params", p.params, p.params_length, p.length, "length"));
  AFF_CHECK(buffer("m", p.m, p.m_length, p.length, "length"));
  AFF_CHECK(buffer("v", p.v, p.v_length, p.length, "length"));
  const int64_t rows = p.length / p.dim;
  int64_t grads = p.length;
  if (p.lazy) {
    AFF_CHECK(buffer("rowIds", p.row_ids, -1, p.row_ids_length, "rowIds length"));
    AFF_CHECK(distinct_rows("rowIds", p.row_ids, p.row_ids_length, rows));
    grads = p.row_ids_length * p.dim;
    AFF_CHECK(buffer("grads", p.grads, p.grads_length, grads, "rowIds.length*dim"));
  } else {
    AFF_CHECK(buffer("grads", p.grads, p.grads_length, grads, "length"));
  }
  if (p.step < 1) return "step must be an integer >= 1, got " + str(p.step);
  AFF_CHECK(finite("lr", p.lr));
  AFF_CHECK(finite("eps", p.eps));
  AFF_CHECK(finite("weightDecay", p.weight_decay));
  AFF_CHECK(finite("gradScale", p.grad_scale));
  AFF_CHECK(finite("beta1", p.beta1));
  AFF_CHECK(finite("beta2", p.beta2));
  if (!(p.beta1 >= 0 && p.beta1 < 1)) return "beta1 must be in [0, 1), got " + num(p.beta1);
  if (!(p.beta2 >= 0 && p.beta2 < 1)) return "beta2 must be in [0, 1), got " + num(p.beta2);
  if (!(p.eps > 0)) return "eps must be > 0, got " + num(p.eps);
  AFF_CHECK(row_range(p, p.lazy ? p.row_ids_length : rows, "rows"));
  // params, m and v are read and written; none may share memory with another array
  return disjoint({{"params", p.params, p.length}, {"m", p.m, p.length}, {"v", p.v, p.length}},
                  {{"grads", p.grads, grads}, {"rowIds", p.row_ids, p.lazy ? p.row_ids_length : 0}});
}

void adam_update(const AdamUpdateParams& p) {
  require_valid("adamUpdate", p, &validate_adam_update);
  const NnOps& ops = nn_ops(p.simd);
  // rows are distinct (validated), so blocks of rows update disjoint elements
  for_blocks(p.row_start, p.row_end, grain_for(p.dim), p.threads, [&](int64_t r0, int64_t r1) { ops.adam_update(p, r0, r1); });
}

// ------------------------------------------------------------------ elementwise
std::string validate_elementwise(const ElementwiseParams& p) {
  const int op = static_cast<int>(p.op);
  if (op != 0 && op != 1) return "op must be axpby or mul, got " + str(op);
  AFF_CHECK(dims({{"length", p.length}}));
  AFF_CHECK(buffer("x", p.x, p.x_length, p.length, "length"));
  if (p.op == ElementwiseOp::Mul && !p.y && p.length > 0) return "y is required for mul";
  if (p.y) AFF_CHECK(buffer("y", p.y, p.y_length, p.length, "length"));
  AFF_CHECK(finite("alpha", p.alpha));
  AFF_CHECK(finite("beta", p.beta));
  AFF_CHECK(buffer("out", p.out, p.out_length, p.length, "length"));
  AFF_CHECK(row_range(p, p.length, "length"));
  return disjoint({{"out", p.out, p.length}}, {{"x", p.x, p.length}, {"y", p.y, p.y ? p.length : 0}});
}

void elementwise(const ElementwiseParams& p) {
  require_valid("elementwise", p, &validate_elementwise);
  const NnOps& ops = nn_ops(p.simd);
  for_blocks(p.row_start, p.row_end, kTaskElements, p.threads, [&](int64_t i0, int64_t i1) { ops.elementwise(p, i0, i1); });
}

}  // namespace affinity
