// Bindings of the neural-network kernels (affinity/nn.h; formulas in src/kernels/nn/*.ts). Every
// kernel takes one options object (helpers in kernel_args.h); shapes are explicit numbers,
// matrices are row-major Float32Arrays:
//
//   biasActivation({ rows, cols, x, bias?, activation: 'identity'|'relu'|'sigmoid'|'tanh'|'gelu', out })
//   activationBackward({ rows, cols, x, bias?, activation, gradOut, out })
//   columnSums({ rows, cols, x, out })                                   rows of the call = columns of x
//   layerNorm({ rows, cols, x, gamma, beta, eps?, y, mean, rstd })
//   layerNormBackward({ rows, cols, x, gamma, mean, rstd, gradOut, out })
//   layerNormParamGrad({ rows, cols, x, mean, rstd, gradOut, gradGamma, gradBeta })   rows = columns
//   maskedSoftmax({ rows, cols, scores, scale?, queries?, causal?, keyValid?: Uint8Array, out })
//   softmaxBackward({ rows, cols, probs, gradProbs, scale?, out })
//   softmaxCrossEntropy({ rows, cols, logits, targets?: Int32Array, targetWeights?, gradScale?, loss, grad })
//   sigmoidCrossEntropy({ logits, targets, weights?, gradScale?, loss, grad })        rows = elements
//   embeddingGather({ vocab, dim, table, ids: Int32Array, out })                       rows = ids
//   segmentSum({ rows, dim, src, offsets: Int32Array, positions: Int32Array, weights?, out })  rows = groups
//   dropout({ x, rate, seed, offset?, out })                                            rows = elements
//   adamUpdate({ dim, params, grads, m, v, rowIds?: Int32Array, step, lr, beta1?, beta2?, eps?,
//                weightDecay?, decoupled?, gradScale? })     in place; rows = params.length/dim or rowIds
//   spdSolve({ n, a, b?, r?, out, block? })                  b absent: out = A⁻¹; one call, all n rows
//   elementwise({ op: 'axpby'|'mul', x, y?, alpha?, beta?, out })                        rows = elements
//   softmaxOutputLayer({ rows, items, dim, hidden, table, targets, weights?, gradScale?, loss, gradHidden,
//                        gradTable })     the native module only (not in AFFINITY_NN_KERNELS); one call, all rows
//
// and, in every one: rowStart?, rowEnd? (default: all the kernel's rows), threads?, cancel?.
// Each returns a Promise<void>. Before the worker is queued, on the JS thread: every array's type,
// every length against the shape, every scalar, and every index (targets, ids, offsets,
// positions, rowIds) by the core's validate function, which also refuses an output that shares
// memory with an input or another output. Index arrays are copied first and the kernel reads the
// copy: another thread cannot change an index after it was checked. A bad call throws a
// TypeError/RangeError naming the kernel, the property and the value.
#pragma once

#include <napi.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "affinity/nn.h"
#include "kernel_args.h"

namespace affinity {
namespace addon {

/** An index array copied on the JS thread; the kernel (and validate) read the copy. */
using IndexCopy = std::shared_ptr<std::vector<int32_t>>;

inline IndexCopy copy_indices(const ObjectArgs::Array& a) {
  auto v = std::make_shared<std::vector<int32_t>>(static_cast<size_t>(a.length));
  if (a.length > 0) std::memcpy(v->data(), a.data, static_cast<size_t>(a.length) * sizeof(int32_t));
  return v;
}

inline ObjectArgs::Array f32(ObjectArgs& o, const char* name) { return o.typed(name, napi_float32_array, "a Float32Array"); }

/** Binds the Float32Array `name` to a kernel parameter and its length (the core checks the length against the shape). */
template <class Ptr>
inline void bind_f32(ObjectArgs& o, const char* name, Ptr& data, int64_t& length) {
  const ObjectArgs::Array a = f32(o, name);
  data = static_cast<Ptr>(a.data);
  length = a.length;
}

/**
 * An optional Float32Array (absent: data null, length −1). When present it must have exactly
 * `need` elements: an empty array where elements are expected is refused here, since the core
 * reads a null pointer as "absent".
 */
inline ObjectArgs::Array optional_f32(ObjectArgs& o, const char* name, int64_t need, const char* what) {
  ObjectArgs::Array a = o.typed(name, napi_float32_array, "a Float32Array or null", true);
  if (!o.has(name)) {
    a.length = -1;
    return a;
  }
  if (a.length != need)
    o.range_error(std::string(name) + " has length " + std::to_string(a.length) + ", expected " + what + " = " + std::to_string(need));
  return a;
}

/** bind_f32 for an optional array (optional_f32's rule): absent → data null, length −1. */
template <class Ptr>
inline void bind_optional_f32(ObjectArgs& o, const char* name, int64_t need, const char* what, Ptr& data, int64_t& length) {
  const ObjectArgs::Array a = optional_f32(o, name, need, what);
  data = a.length >= 0 ? static_cast<Ptr>(a.data) : nullptr;
  length = a.length;
}

inline int64_t dim(ObjectArgs& o, const char* name) { return o.integer(name, 0, kNnMaxDim); }

/** rowStart/rowEnd (default: all `total` rows) and threads. */
inline void parse_call(ObjectArgs& o, NnCall& p, int64_t total, int max_threads) {
  p.row_start = o.integer("rowStart", 0, kNnMaxDim, true, 0);
  p.row_end = o.integer("rowEnd", 0, kNnMaxDim, true, total);
  p.threads = o.threads(max_threads);
}

/** Validates p with the core (on this thread), then queues Kernel(p) on a worker (or runs it here: `inline`); `keep` holds index copies. */
template <class P>
Napi::Value queue_nn(ObjectArgs& o, const char* name, const P& p, std::string (*validate)(const P&), void (*kernel)(const P&),
                     std::vector<IndexCopy> keep = {}) {
  const std::string problem = validate(p);
  if (!problem.empty()) o.range_error(problem);
  const int32_t* cancel = o.cancel_flag();
  const bool on_calling_thread = o.on_calling_thread();
  return queue_kernel(o.env(), name, [p, kernel, keep = std::move(keep)]() { kernel(p); }, o.take_refs(), cancel, on_calling_thread);
}

// ------------------------------------------------------------------ activation
inline void parse_bias_activation(ObjectArgs& o, BiasActivationParams& p, int max_threads) {
  p.rows = dim(o, "rows");
  p.cols = dim(o, "cols");
  bind_f32(o, "x", p.x, p.x_length);
  bind_optional_f32(o, "bias", p.cols, "cols", p.bias, p.bias_length);
  const std::string act = o.string("activation");
  if (!parse_activation(act, &p.activation)) o.range_error("unknown activation '" + act + "' (identity|relu|sigmoid|tanh|gelu)");
  bind_f32(o, "out", p.out, p.out_length);
  parse_call(o, p, p.rows, max_threads);
}

template <void (*Kernel)(const BiasActivationParams&)>
Napi::Value queue_bias_activation(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "biasActivation");
  BiasActivationParams p;
  parse_bias_activation(o, p, max_threads);
  return queue_nn(o, "biasActivation", p, &validate_bias_activation, Kernel);
}

template <void (*Kernel)(const ActivationBackwardParams&)>
Napi::Value queue_activation_backward(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "activationBackward");
  ActivationBackwardParams p;
  parse_bias_activation(o, p, max_threads);
  bind_f32(o, "gradOut", p.grad_out, p.grad_out_length);
  return queue_nn(o, "activationBackward", p, &validate_activation_backward, Kernel);
}

template <void (*Kernel)(const ColumnSumsParams&)>
Napi::Value queue_column_sums(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "columnSums");
  ColumnSumsParams p;
  p.rows = dim(o, "rows");
  p.cols = dim(o, "cols");
  bind_f32(o, "x", p.x, p.x_length);
  bind_f32(o, "out", p.out, p.out_length);
  parse_call(o, p, p.cols, max_threads);
  return queue_nn(o, "columnSums", p, &validate_column_sums, Kernel);
}

// ------------------------------------------------------------------ layer norm
template <void (*Kernel)(const LayerNormParams&)>
Napi::Value queue_layer_norm(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "layerNorm");
  LayerNormParams p;
  p.rows = dim(o, "rows");
  p.cols = dim(o, "cols");
  bind_f32(o, "x", p.x, p.x_length);
  bind_f32(o, "gamma", p.gamma, p.gamma_length);
  bind_f32(o, "beta", p.beta, p.beta_length);
  p.eps = o.number("eps", 1e-5, true);
  bind_f32(o, "y", p.y, p.y_length);
  bind_f32(o, "mean", p.mean, p.mean_length);
  bind_f32(o, "rstd", p.rstd, p.rstd_length);
  parse_call(o, p, p.rows, max_threads);
  return queue_nn(o, "layerNorm", p, &validate_layer_norm, Kernel);
}

/** x, mean, rstd, gradOut of the two backward kernels. */
template <class P>
void parse_saved(ObjectArgs& o, P& p) {
  p.rows = dim(o, "rows");
  p.cols = dim(o, "cols");
  bind_f32(o, "x", p.x, p.x_length);
  bind_f32(o, "mean", p.mean, p.mean_length);
  bind_f32(o, "rstd", p.rstd, p.rstd_length);
  bind_f32(o, "gradOut", p.grad_out, p.grad_out_length);
}

template <void (*Kernel)(const LayerNormBackwardParams&)>
Napi::Value queue_layer_norm_backward(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "layerNormBackward");
  LayerNormBackwardParams p;
  parse_saved(o, p);
  bind_f32(o, "gamma", p.gamma, p.gamma_length);
  bind_f32(o, "out", p.out, p.out_length);
  parse_call(o, p, p.rows, max_threads);
  return queue_nn(o, "layerNormBackward", p, &validate_layer_norm_backward, Kernel);
}

template <void (*Kernel)(const LayerNormParamGradParams&)>
Napi::Value queue_layer_norm_param_grad(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "layerNormParamGrad");
  LayerNormParamGradParams p;
  parse_saved(o, p);
  bind_f32(o, "gradGamma", p.grad_gamma, p.grad_gamma_length);
  bind_f32(o, "gradBeta", p.grad_beta, p.grad_beta_length);
  parse_call(o, p, p.cols, max_threads);
  return queue_nn(o, "layerNormParamGrad", p, &validate_layer_norm_param_grad, Kernel);
}

// ------------------------------------------------------------------ softmax
template <void (*Kernel)(const MaskedSoftmaxParams&)>
Napi::Value queue_masked_softmax(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "maskedSoftmax");
  MaskedSoftmaxParams p;
  p.rows = dim(o, "rows");
  p.cols = dim(o, "cols");
  bind_f32(o, "scores", p.scores, p.scores_length);
  p.scale = static_cast<float>(o.number("scale", 1.0, true));
  p.queries = o.integer("queries", 0, kNnMaxDim, true, p.rows);
  p.causal = o.boolean("causal", false);
  const auto kv = o.typed("keyValid", napi_uint8_array, "a Uint8Array or null", true);
  p.has_key_valid = o.has("keyValid");
  p.key_valid = static_cast<const uint8_t*>(kv.data);
  p.key_valid_length = kv.length;
  bind_f32(o, "out", p.out, p.out_length);
  parse_call(o, p, p.rows, max_threads);
  return queue_nn(o, "maskedSoftmax", p, &validate_masked_softmax, Kernel);
}

template <void (*Kernel)(const SoftmaxBackwardParams&)>
Napi::Value queue_softmax_backward(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "softmaxBackward");
  SoftmaxBackwardParams p;
  p.rows = dim(o, "rows");
  p.cols = dim(o, "cols");
  bind_f32(o, "probs", p.probs, p.probs_length);
  bind_f32(o, "gradProbs", p.grad_probs, p.grad_probs_length);
  bind_f32(o, "out", p.out, p.out_length);
  p.scale = static_cast<float>(o.number("scale", 1.0, true));
  parse_call(o, p, p.rows, max_threads);
  return queue_nn(o, "softmaxBackward", p, &validate_softmax_backward, Kernel);
}

// ------------------------------------------------------------------ losses
template <void (*Kernel)(const SoftmaxCrossEntropyParams&)>
Napi::Value queue_softmax_cross_entropy(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "softmaxCrossEntropy");
  SoftmaxCrossEntropyParams p;
  p.rows = dim(o, "rows");
  p.cols = dim(o, "cols");
  bind_f32(o, "logits", p.logits, p.logits_length);
  if (o.has("targets") == o.has("targetWeights")) o.type_error("give exactly one of targets and targetWeights");
  p.use_targets = o.has("targets");
  IndexCopy targets;
  if (p.use_targets) {
    targets = copy_indices(o.typed("targets", napi_int32_array, "an Int32Array"));
    p.targets = targets->data();
    p.targets_length = static_cast<int64_t>(targets->size());
  } else {
    bind_f32(o, "targetWeights", p.target_weights, p.target_weights_length);
  }
  p.grad_scale = static_cast<float>(o.number("gradScale", 1.0, true));
  bind_f32(o, "loss", p.loss, p.loss_length);
  bind_f32(o, "grad", p.grad, p.grad_length);
  parse_call(o, p, p.rows, max_threads);
  return queue_nn(o, "softmaxCrossEntropy", p, &validate_softmax_cross_entropy, Kernel, {targets});
}

template <void (*Kernel)(const SigmoidCrossEntropyParams&)>
Napi::Value queue_sigmoid_cross_entropy(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "sigmoidCrossEntropy");
  SigmoidCrossEntropyParams p;
  bind_f32(o, "logits", p.logits, p.logits_length);
  p.length = p.logits_length;
  bind_f32(o, "targets", p.targets, p.targets_length);
  bind_optional_f32(o, "weights", p.length, "logits.length", p.weights, p.weights_length);
  p.grad_scale = static_cast<float>(o.number("gradScale", 1.0, true));
  bind_f32(o, "loss", p.loss, p.loss_length);
  bind_f32(o, "grad", p.grad, p.grad_length);
  parse_call(o, p, p.length, max_threads);
  return queue_nn(o, "sigmoidCrossEntropy", p, &validate_sigmoid_cross_entropy, Kernel);
}

// ------------------------------------------------------------------ embeddings
template <void (*Kernel)(const EmbeddingGatherParams&)>
Napi::Value queue_embedding_gather(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "embeddingGather");
  EmbeddingGatherParams p;
  p.vocab = dim(o, "vocab");
  p.dim = dim(o, "dim");
  bind_f32(o, "table", p.table, p.table_length);
  const IndexCopy ids = copy_indices(o.typed("ids", napi_int32_array, "an Int32Array"));
  p.ids = ids->data();
  p.ids_length = static_cast<int64_t>(ids->size());
  bind_f32(o, "out", p.out, p.out_length);
  parse_call(o, p, p.ids_length, max_threads);
  return queue_nn(o, "embeddingGather", p, &validate_embedding_gather, Kernel, {ids});
}

template <void (*Kernel)(const SegmentSumParams&)>
Napi::Value queue_segment_sum(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "segmentSum");
  SegmentSumParams p;
  p.rows = dim(o, "rows");
  p.dim = dim(o, "dim");
  bind_f32(o, "src", p.src, p.src_length);
  const IndexCopy offsets = copy_indices(o.typed("offsets", napi_int32_array, "an Int32Array"));
  const IndexCopy positions = copy_indices(o.typed("positions", napi_int32_array, "an Int32Array"));
  p.offsets = offsets->data();
  p.offsets_length = static_cast<int64_t>(offsets->size());
  p.positions = positions->data();
  p.positions_length = static_cast<int64_t>(positions->size());
  bind_optional_f32(o, "weights", p.positions_length, "positions.length", p.weights, p.weights_length);
  bind_f32(o, "out", p.out, p.out_length);
  parse_call(o, p, p.offsets_length > 0 ? p.offsets_length - 1 : 0, max_threads);
  return queue_nn(o, "segmentSum", p, &validate_segment_sum, Kernel, {offsets, positions});
}

// ------------------------------------------------------------------ dropout, Adam
template <void (*Kernel)(const DropoutParams&)>
Napi::Value queue_dropout(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "dropout");
  DropoutParams p;
  bind_f32(o, "x", p.x, p.x_length);
  p.length = p.x_length;
  p.rate = o.number("rate", 0, false);
  p.seed = static_cast<uint32_t>(o.integer("seed", 0, 0xFFFFFFFFll));
  p.offset = static_cast<uint32_t>(o.integer("offset", 0, 0xFFFFFFFFll, true, 0));
  bind_f32(o, "out", p.out, p.out_length);
  parse_call(o, p, p.length, max_threads);
  return queue_nn(o, "dropout", p, &validate_dropout, Kernel);
}

template <void (*Kernel)(const AdamUpdateParams&)>
Napi::Value queue_adam_update(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "adamUpdate");
  AdamUpdateParams p;
  p.dim = o.integer("dim", 1, kNnMaxDim);
  bind_f32(o, "params", p.params, p.params_length);
  bind_f32(o, "grads", p.grads, p.grads_length);
  bind_f32(o, "m", p.m, p.m_length);
  bind_f32(o, "v", p.v, p.v_length);
  p.length = p.params_length;
  p.lazy = o.has("rowIds");
  IndexCopy rows;
  if (p.lazy) {
    rows = copy_indices(o.typed("rowIds", napi_int32_array, "an Int32Array or null", true));
    p.row_ids = rows->data();
    p.row_ids_length = static_cast<int64_t>(rows->size());
  }
  p.step = o.integer("step", 1, int64_t(1) << 53);
  p.lr = o.number("lr", 0, false);
  p.beta1 = o.number("beta1", 0.9, true);
  p.beta2 = o.number("beta2", 0.999, true);
  p.eps = o.number("eps", 1e-8, true);
  p.weight_decay = o.number("weightDecay", 0, true);
  p.decoupled = o.boolean("decoupled", true);
  p.grad_scale = o.number("gradScale", 1, true);
  parse_call(o, p, p.lazy ? p.row_ids_length : p.length / p.dim, max_threads);
  return queue_nn(o, "adamUpdate", p, &validate_adam_update, Kernel, {rows});
}

// ------------------------------------------------------------------ spdSolve, elementwise
template <void (*Kernel)(const SpdSolveParams&)>
Napi::Value queue_spd_solve(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "spdSolve");
  SpdSolveParams p;
  p.n = dim(o, "n");
  bind_f32(o, "a", p.a, p.a_length);
  p.inverse = !o.has("b");
  if (!p.inverse) {
    bind_f32(o, "b", p.b, p.b_length);
    p.r = dim(o, "r");
  }
  bind_f32(o, "out", p.out, p.out_length);
  p.block = o.integer("block", 0, 4096, true, 0);
  parse_call(o, p, p.n, max_threads);
  return queue_nn(o, "spdSolve", p, &validate_spd_solve, Kernel);
}

template <void (*Kernel)(const ElementwiseParams&)>
Napi::Value queue_elementwise(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "elementwise");
  ElementwiseParams p;
  const std::string op = o.string("op");
  if (op == "axpby") p.op = ElementwiseOp::Axpby;
  else if (op == "mul") p.op = ElementwiseOp::Mul;
  else o.range_error("op must be 'axpby' or 'mul', got '" + op + "'");
  bind_f32(o, "x", p.x, p.x_length);
  p.length = p.x_length;
  bind_optional_f32(o, "y", p.length, "x.length", p.y, p.y_length);
  if (p.op == ElementwiseOp::Mul && p.y_length < 0) o.type_error("y must be a Float32Array for op 'mul'");
  p.alpha = o.number("alpha", 1, true);
  p.beta = o.number("beta", 1, true);
  bind_f32(o, "out", p.out, p.out_length);
  parse_call(o, p, p.length, max_threads);
  return queue_nn(o, "elementwise", p, &validate_elementwise, Kernel);
}

// ------------------------------------------------------------------ softmaxOutputLayer (native module only)
// softmaxOutputLayer({ rows, items, dim, hidden, table, targets: Int32Array, weights?, gradScale?, loss,
//                      gradHidden, gradTable })                     one call, all rows
template <void (*Kernel)(const SoftmaxOutputLayerParams&)>
Napi::Value queue_softmax_output_layer(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "softmaxOutputLayer");
  SoftmaxOutputLayerParams p;
  p.rows = dim(o, "rows");
  p.items = dim(o, "items");
  p.dim = dim(o, "dim");
  bind_f32(o, "hidden", p.hidden, p.hidden_length);
  bind_f32(o, "table", p.table, p.table_length);
  IndexCopy targets = copy_indices(o.typed("targets", napi_int32_array, "an Int32Array"));
  p.targets = targets->data();
  p.targets_length = static_cast<int64_t>(targets->size());
  bind_optional_f32(o, "weights", p.rows, "rows", p.weights, p.weights_length);
  p.grad_scale = static_cast<float>(o.number("gradScale", 1.0, true));
  bind_f32(o, "loss", p.loss, p.loss_length);
  bind_f32(o, "gradHidden", p.grad_hidden, p.grad_hidden_length);
  bind_f32(o, "gradTable", p.grad_table, p.grad_table_length);
  parse_call(o, p, p.rows, max_threads);
  return queue_nn(o, "softmaxOutputLayer", p, &validate_softmax_output_layer, Kernel, {targets});
}

}  // namespace addon
}  // namespace affinity

// The nn kernels that both modules export (affinity_native over affinity::, affinity_cuda over
// affinity::cuda::), as X(JS name, the queue_* function above, the kernel's name in its namespace).
// An addon expands the list twice: once with its own binding macro, defining nn_<kernel>(info) that
// queues its kernel, and once with AFFINITY_NN_EXPORT inside its Init.
#define AFFINITY_NN_KERNELS(X) \
  X(biasActivation, queue_bias_activation, bias_activation) \
  X(activationBackward, queue_activation_backward, activation_backward) \
  X(columnSums, queue_column_sums, column_sums) \
  X(layerNorm, queue_layer_norm, layer_norm) \
  X(layerNormBackward, queue_layer_norm_backward, layer_norm_backward) \
  X(layerNormParamGrad, queue_layer_norm_param_grad, layer_norm_param_grad) \
  X(maskedSoftmax, queue_masked_softmax, masked_softmax) \
  X(softmaxBackward, queue_softmax_backward, softmax_backward) \
  X(softmaxCrossEntropy, queue_softmax_cross_entropy, softmax_cross_entropy) \
  X(sigmoidCrossEntropy, queue_sigmoid_cross_entropy, sigmoid_cross_entropy) \
  X(embeddingGather, queue_embedding_gather, embedding_gather) \
  X(segmentSum, queue_segment_sum, segment_sum) \
  X(dropout, queue_dropout, dropout) \
  X(adamUpdate, queue_adam_update, adam_update) \
  X(spdSolve, queue_spd_solve, spd_solve) \
  X(elementwise, queue_elementwise, elementwise)

/** exports[JS name] = nn_<kernel>, the addon's binding (used inside Init, where env and exports are). */
#define AFFINITY_NN_EXPORT(js_name, queue, kernel) exports.Set(#js_name, Napi::Function::New(env, nn_##kernel, #js_name));
