// affinity native core: the neural-network kernels of issue 18 (the TypeScript references and
// their exact formulas are src/kernels/nn/*.ts; each struct below says which). Plain C++17, no
// Node: the parameter structs and their validate functions are what a binding (native/addon) or
// another implementation (a CUDA module) fills and checks; the functions run on the CPU.
//
// Conventions shared by every kernel:
// - every matrix is row-major float32, dense (rows × cols, no leading dimension);
// - `*_length` fields are the elements a caller's buffer holds (-1 = trust the caller); validate
//   checks each against what the call reads or writes, and that no output overlaps an input or
//   another output;
// - a kernel fills the "rows" [row_start, row_end) of its output and touches nothing else; what a
//   row is (a row of x, a column for the column sums, a group, an element) is said per kernel;
// - index arrays (ids, targets, offsets, positions, row ids) are checked element by element by
//   validate: a binding that validates on one thread and runs on another must validate (and then
//   use) its own copy, so that no other thread can change an index after it was checked;
// - `threads` participants (the caller included) run blocks of rows from the core's pool;
//   `simd` picks the inner loops (Auto: detect_simd()); under a CancelScope (affinity/cancel.h)
//   a call stops between blocks and throws Cancelled, its outputs then partly written;
// - each kernel throws std::invalid_argument("<kernel>: <validate's message>") on bad params.
//
// Numerics: float32 storage and, unless said otherwise, float32 arithmetic with exp/log/tanh
// evaluated by polynomials accurate to a few ulp (the same polynomials at every SIMD level); sums
// that the references take over many rows (column sums, parameter gradients, segment sums) are
// accumulated in float64. The tolerances every backend meets against the references are those
// of test/helpers/nnCases.ts.
#pragma once

#include <cstdint>
#include <string>

#include "affinity/platform.h"  // Simd

namespace affinity {

/** Row range, thread count and instruction set of one call (every kernel's params extend it). */
struct NnCall {
  int64_t row_start = 0, row_end = 0;
  int threads = 1;
  Simd simd = Simd::Auto;
};

/** Largest size (rows, cols, lengths) a kernel takes: every product of two fits in int64. */
constexpr int64_t kNnMaxDim = 2147483647;

// ------------------------------------------------------------------ activation.ts
enum class Activation : int { Identity = 0, Relu = 1, Sigmoid = 2, Tanh = 3, Gelu = 4 };

/** "identity" | "relu" | "sigmoid" | "tanh" | "gelu" → true and *out; false for anything else. */
bool parse_activation(const std::string& name, Activation* out);
const char* activation_name(Activation a);

/**
 * biasActivation: out = act(x + bias) (bias broadcast over rows; null = none). Rows of x.
 * gelu is the tanh approximation ½·z·(1 + tanh(√(2/π)·(z + 0.044715·z³))).
 */
struct BiasActivationParams : NnCall {
  int64_t rows = 0, cols = 0;
  const float* x = nullptr;
  int64_t x_length = -1;
  const float* bias = nullptr;  // cols, or null
  int64_t bias_length = -1;
  Activation activation = Activation::Identity;
  float* out = nullptr;  // rows × cols
  int64_t out_length = -1;
};
std::string validate_bias_activation(const BiasActivationParams& p);
void bias_activation(const BiasActivationParams& p);

/** activationBackward: out = grad_out ⊙ act'(x + bias). Rows of x. */
struct ActivationBackwardParams : BiasActivationParams {
  const float* grad_out = nullptr;  // rows × cols
  int64_t grad_out_length = -1;
};
std::string validate_activation_backward(const ActivationBackwardParams& p);
void activation_backward(const ActivationBackwardParams& p);

/** columnSums: out[j] = Σ_r x[r, j] (float64 sums). Its rows are the columns [row_start, row_end) of x. */
struct ColumnSumsParams : NnCall {
  int64_t rows = 0, cols = 0;
  const float* x = nullptr;
  int64_t x_length = -1;
  float* out = nullptr;  // cols
  int64_t out_length = -1;
};
std::string validate_column_sums(const ColumnSumsParams& p);
void column_sums(const ColumnSumsParams& p);

// ------------------------------------------------------------------ layerNorm.ts
/**
 * layerNorm per row: μ = mean, σ² = biased variance, rstd = 1/√(σ² + eps) (stored as float32),
 * y = γ·(x − μ)·rstd + β with the stored μ and rstd. Rows of x.
 */
struct LayerNormParams : NnCall {
  int64_t rows = 0, cols = 0;
  const float* x = nullptr;
  int64_t x_length = -1;
  const float* gamma = nullptr;  // cols
  int64_t gamma_length = -1;
  const float* beta = nullptr;  // cols
  int64_t beta_length = -1;
  double eps = 1e-5;  // finite, > 0
  float* y = nullptr;  // rows × cols
  int64_t y_length = -1;
  float* mean = nullptr;  // rows
  int64_t mean_length = -1;
  float* rstd = nullptr;  // rows
  int64_t rstd_length = -1;
};
std::string validate_layer_norm(const LayerNormParams& p);
void layer_norm(const LayerNormParams& p);

/** layerNormBackward, g = dy·γ: dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), x̂ = (x − μ)·rstd. Rows of x. */
struct LayerNormBackwardParams : NnCall {
  int64_t rows = 0, cols = 0;
  const float* x = nullptr;
  int64_t x_length = -1;
  const float* gamma = nullptr;  // cols
  int64_t gamma_length = -1;
  const float* mean = nullptr;  // rows
  int64_t mean_length = -1;
  const float* rstd = nullptr;  // rows
  int64_t rstd_length = -1;
  const float* grad_out = nullptr;  // rows × cols
  int64_t grad_out_length = -1;
  float* out = nullptr;  // rows × cols
  int64_t out_length = -1;
};
std::string validate_layer_norm_backward(const LayerNormBackwardParams& p);
void layer_norm_backward(const LayerNormBackwardParams& p);

/** layerNormParamGrad: dγ_j = Σ_r dy_rj·x̂_rj, dβ_j = Σ_r dy_rj (float64 sums). Its rows are the columns of x. */
struct LayerNormParamGradParams : NnCall {
  int64_t rows = 0, cols = 0;
  const float* x = nullptr;
  int64_t x_length = -1;
  const float* mean = nullptr;  // rows
  int64_t mean_length = -1;
  const float* rstd = nullptr;  // rows
  int64_t rstd_length = -1;
  const float* grad_out = nullptr;  // rows × cols
  int64_t grad_out_length = -1;
  float* grad_gamma = nullptr;  // cols
  int64_t grad_gamma_length = -1;
  float* grad_beta = nullptr;  // cols
  int64_t grad_beta_length = -1;
};
std::string validate_layer_norm_param_grad(const LayerNormParamGradParams& p);
void layer_norm_param_grad(const LayerNormParamGradParams& p);

// ------------------------------------------------------------------ softmax.ts
/**
 * maskedSoftmax: p_ij = exp(s·x_ij − m_i) / Σ_{unmasked k} exp(s·x_ik − m_i) on unmasked j, 0 on
 * masked j (a row with every key masked, or whose sum is not > 0, is all zeros). Row r is query
 * i = r mod queries of block e = r / queries; causal masks key j > i; key_valid (S × cols bytes,
 * S = key_valid_length / cols, 0 = padding) masks the keys of sequence e mod S. Rows of scores.
 */
struct MaskedSoftmaxParams : NnCall {
  int64_t rows = 0, cols = 0;
  const float* scores = nullptr;
  int64_t scores_length = -1;
  float scale = 1.0f;  // finite
  int64_t queries = 0;  // ≥ 1 when rows > 0, divides rows
  bool causal = false;
  bool has_key_valid = false;  // false: no padding mask
  const uint8_t* key_valid = nullptr;
  int64_t key_valid_length = 0;  // a positive multiple of cols (0 when cols = 0)
  float* out = nullptr;  // rows × cols
  int64_t out_length = -1;
};
std::string validate_masked_softmax(const MaskedSoftmaxParams& p);
void masked_softmax(const MaskedSoftmaxParams& p);

/** softmaxBackward: dx_ij = s·p_ij·(dp_ij − Σ_k dp_ik·p_ik). Rows of probs. */
struct SoftmaxBackwardParams : NnCall {
  int64_t rows = 0, cols = 0;
  const float* probs = nullptr;
  int64_t probs_length = -1;
  const float* grad_probs = nullptr;
  int64_t grad_probs_length = -1;
  float scale = 1.0f;
  float* out = nullptr;
  int64_t out_length = -1;
};
std::string validate_softmax_backward(const SoftmaxBackwardParams& p);
void softmax_backward(const SoftmaxBackwardParams& p);

// ------------------------------------------------------------------ losses.ts
/**
 * softmaxCrossEntropy per row (lse = log Σ_j e^{z_j}, p = softmax(z), s = grad_scale):
 *   targets t:        loss = lse − z_t,             grad = s·(p − onehot(t));  t = −1: loss 0, grad 0
 *   target weights w: loss = Σ_j w_j·(lse − z_j),   grad = s·((Σ_j w_j)·p − w)
 * use_targets picks targets (rows, each in [−1, cols)) or target_weights (rows × cols, finite,
 * ≥ 0). Rows of logits.
 */
struct SoftmaxCrossEntropyParams : NnCall {
  int64_t rows = 0, cols = 0;
  const float* logits = nullptr;
  int64_t logits_length = -1;
  bool use_targets = true;
  const int32_t* targets = nullptr;
  int64_t targets_length = -1;
  const float* target_weights = nullptr;
  int64_t target_weights_length = -1;
  float grad_scale = 1.0f;
  float* loss = nullptr;  // rows
  int64_t loss_length = -1;
  float* grad = nullptr;  // rows × cols
  int64_t grad_length = -1;
};
std::string validate_softmax_cross_entropy(const SoftmaxCrossEntropyParams& p);
void softmax_cross_entropy(const SoftmaxCrossEntropyParams& p);

/**
 * sigmoidCrossEntropy per element: loss = w·(max(z, 0) − z·y + log(1 + e^{−|z|})),
 * grad = s·w·(σ(z) − y); targets y in [0, 1], weights w finite ≥ 0 (null: 1). Rows are elements.
 */
struct SigmoidCrossEntropyParams : NnCall {
  int64_t length = 0;
  const float* logits = nullptr;
  int64_t logits_length = -1;
  const float* targets = nullptr;
  int64_t targets_length = -1;
  const float* weights = nullptr;
  int64_t weights_length = -1;
  float grad_scale = 1.0f;
  float* loss = nullptr;  // length
  int64_t loss_length = -1;
  float* grad = nullptr;  // length
  int64_t grad_length = -1;
};
std::string validate_sigmoid_cross_entropy(const SigmoidCrossEntropyParams& p);
void sigmoid_cross_entropy(const SigmoidCrossEntropyParams& p);

// ------------------------------------------------------------------ embedding.ts
/** embeddingGather: out row r = table row ids[r] (ids[r] = −1: zeros). Rows are ids. */
struct EmbeddingGatherParams : NnCall {
  int64_t vocab = 0, dim = 0;
  const float* table = nullptr;  // vocab × dim
  int64_t table_length = -1;
  const int32_t* ids = nullptr;  // each in [−1, vocab)
  int64_t ids_length = 0;  // the output rows
  float* out = nullptr;  // ids_length × dim
  int64_t out_length = -1;
};
std::string validate_embedding_gather(const EmbeddingGatherParams& p);
void embedding_gather(const EmbeddingGatherParams& p);

/**
 * segmentSum: out row g = Σ_{q ∈ [offsets[g], offsets[g+1])} w_q·src[positions[q]] (float64 sums;
 * positions[q] = −1 adds nothing; w null: 1). offsets: groups + 1 entries, offsets[0] = 0,
 * non-decreasing, ending at positions_length. Rows are groups.
 */
struct SegmentSumParams : NnCall {
  int64_t rows = 0, dim = 0;  // src: rows × dim
  const float* src = nullptr;
  int64_t src_length = -1;
  const int32_t* offsets = nullptr;
  int64_t offsets_length = 0;  // groups + 1 (≥ 1)
  const int32_t* positions = nullptr;  // each in [−1, rows)
  int64_t positions_length = 0;
  const float* weights = nullptr;  // positions_length, or null
  int64_t weights_length = -1;
  float* out = nullptr;  // groups × dim
  int64_t out_length = -1;
};
std::string validate_segment_sum(const SegmentSumParams& p);
void segment_sum(const SegmentSumParams& p);

// ------------------------------------------------------------------ dropout.ts
/**
 * Inverted dropout with a counter hash (bit-identical masks to the reference):
 *   u_i = fmix32(key ^ fmix32(offset + i)), key = fmix32(seed ^ 0x9E3779B9),
 *   out_i = u_i ≥ ⌊rate·2³²⌋ ? x_i·(1/(1 − rate)) : 0   (the product in float64, rounded once).
 * Rows are elements.
 */
struct DropoutParams : NnCall {
  int64_t length = 0;
  const float* x = nullptr;
  int64_t x_length = -1;
  double rate = 0.0;  // [0, 1)
  uint32_t seed = 0;
  uint32_t offset = 0;
  float* out = nullptr;
  int64_t out_length = -1;
};
std::string validate_dropout(const DropoutParams& p);
void dropout(const DropoutParams& p);
/** MurmurHash3's 32-bit finalizer. */
inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return h;
}

// ------------------------------------------------------------------ adam.ts
/**
 * Adam / AdamW in place, per element (float64 arithmetic, as the reference), at step t ≥ 1:
 *   g = grad_scale·grad (+ λ·θ when !decoupled);  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
 *   θ −= lr·λ·θ (decoupled);  θ −= lr·(m/(1−β1^t)) / (√(v/(1−β2^t)) + eps)
 * Dense (!lazy): grads has `length` elements; a row is `dim` consecutive elements.
 * Lazy: grads is row_ids_length × dim and row r updates row row_ids[r] (distinct, in range) of
 * params, m, v. Rows: length/dim (dense) or row_ids_length (lazy).
 */
struct AdamUpdateParams : NnCall {
  int64_t length = 0;  // params, m, v
  int64_t dim = 1;  // ≥ 1, divides length
  float* params = nullptr;
  int64_t params_length = -1;
  const float* grads = nullptr;
  int64_t grads_length = -1;
  float* m = nullptr;
  int64_t m_length = -1;
  float* v = nullptr;
  int64_t v_length = -1;
  bool lazy = false;
  const int32_t* row_ids = nullptr;
  int64_t row_ids_length = 0;
  int64_t step = 1;
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0, grad_scale = 1.0;
  bool decoupled = true;
};
std::string validate_adam_update(const AdamUpdateParams& p);
void adam_update(const AdamUpdateParams& p);

// ------------------------------------------------------------------ spdSolve.ts
/**
 * spdSolve: X = A⁻¹·B by Cholesky A = L·Lᵀ (only A's lower triangle is read), or A⁻¹ when
 * `inverse` (b unused; out n × n, symmetric). Blocked right-looking factorization: each diagonal block is
 * factored and inverted in float64; the panel below it is multiplied by that inverse and the
 * trailing matrix updated (lower triangle, strips of `block` rows) with gemm's micro-kernels,
 * threaded. The solve is blocked forward and backward substitution (gemm updates, the diagonal
 * blocks' inverses); the inverse is computed in place in out as L⁻ᵀ·L⁻¹ (blocked triangular
 * inverse, then the product, as LAPACK's potri). Scratch: n × n floats when b is given (the
 * factor), plus O(n·block). A pivot that is not > 0 and finite throws std::domain_error
 * "spdSolve: the matrix is not positive definite (pivot j is d)". The whole system is one call:
 * row_start = 0 and row_end = n.
 */
struct SpdSolveParams : NnCall {
  int64_t n = 0;
  const float* a = nullptr;  // n × n
  int64_t a_length = -1;
  bool inverse = false;
  const float* b = nullptr;  // n × r (unless inverse)
  int64_t b_length = -1;
  int64_t r = 0;  // columns of b (unless inverse)
  float* out = nullptr;  // n × r, or n × n
  int64_t out_length = -1;
  int64_t block = 0;  // block size; 0 = automatic (tests set small blocks)
};
std::string validate_spd_solve(const SpdSolveParams& p);
void spd_solve(const SpdSolveParams& p);

// ------------------------------------------------------------------ outputLayer.ts
/**
 * softmaxOutputLayer: the full-softmax output layer of a next-item model with its loss and both
 * gradients, fused. Hidden states H (rows × dim), item table E (items × dim), targets t (rows,
 * each in [−1, items)), row weights w (rows, finite ≥ 0; null: 1), s = grad_scale; per row r:
 *   z_r = E·h_r (the logits over every item),  loss_r = w_r·(lse(z_r) − z_{r,t_r}),
 *   G_r = s·w_r·(softmax(z_r) − onehot(t_r));  t_r = −1: loss_r = 0, G_r = 0;
 *   grad_hidden = G·E (rows × dim),  grad_table = Gᵀ·H (items × dim).
 * The rows × items logits are never in memory: the rows are cut into tiles of
 * kOutputLayerTileRows, each tile's logits and G live in its thread's scratch (in cache) between
 * the three products. The tiles are dealt round-robin to a number of groups that depends on the
 * shape only (never on the threads); each group adds its tiles' Gᵀ·H in order into its own
 * partial, and the partials are summed in group order: the result is the same on any number of
 * threads. One call computes every row (row range [0, rows]). grad_table is written whole
 * (zero when rows = 0).
 */
constexpr int64_t kOutputLayerTileRows = 128;

struct SoftmaxOutputLayerParams : NnCall {
  int64_t rows = 0, items = 0, dim = 0;
  const float* hidden = nullptr;  // rows × dim
  int64_t hidden_length = -1;
  const float* table = nullptr;  // items × dim
  int64_t table_length = -1;
  const int32_t* targets = nullptr;  // rows
  int64_t targets_length = -1;
  const float* weights = nullptr;  // rows, or null
  int64_t weights_length = -1;
  float grad_scale = 1.0f;
  float* loss = nullptr;  // rows
  int64_t loss_length = -1;
  float* grad_hidden = nullptr;  // rows × dim
  int64_t grad_hidden_length = -1;
  float* grad_table = nullptr;  // items × dim
  int64_t grad_table_length = -1;
};
std::string validate_softmax_output_layer(const SoftmaxOutputLayerParams& p);
void softmax_output_layer(const SoftmaxOutputLayerParams& p);

// ------------------------------------------------------------------ elementwise.ts
enum class ElementwiseOp : int { Axpby = 0, Mul = 1 };

/** elementwise (float64 arithmetic, rounded once): axpby out = α·x + β·y (y null: α·x); mul out = α·x·y. Rows are elements. */
struct ElementwiseParams : NnCall {
  ElementwiseOp op = ElementwiseOp::Axpby;
  int64_t length = 0;
  const float* x = nullptr;
  int64_t x_length = -1;
  const float* y = nullptr;  // required for mul
  int64_t y_length = -1;
  double alpha = 1.0, beta = 1.0;
  float* out = nullptr;
  int64_t out_length = -1;
};
std::string validate_elementwise(const ElementwiseParams& p);
void elementwise(const ElementwiseParams& p);

}  // namespace affinity
