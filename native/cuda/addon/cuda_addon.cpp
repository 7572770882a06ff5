// affinity_cuda.node: the Node binding of native/cuda, a separate module so that a machine
// without a CUDA driver never affects affinity_native.node (cudart is linked statically; the
// driver is looked up only when probe() or a kernel runs). Every kernel takes the options object
// of affinity_native's, parsed and checked by the same code (native/addon):
//   probe() → { available, reason, driverVersion, runtimeVersion, deviceCount, device?, name?,
//               computeCapability?, memoryBytes? }
//   denseScoreTopK({...}) → Promise<void>         (dense_args.h; threads is ignored)
//   sparseSimilarityTopK({...}) → Promise<void>   (sparse_similarity_args.h; the metrics of
//       limits.similarityMetrics only — any other is refused with a RangeError; threads and path
//       are ignored)
//   alsHalfStep({...}) → Promise<void>            (als_args.h; the solvers of limits.alsSolvers,
//       up to limits.maxAlsFactors factors — else a RangeError; threads is ignored)
//   gemm({...}) → Promise<void>                   (gemm_args.h; cuBLAS — where limits.gemm is
//       false the module was built without it and every call rejects; threads is ignored)
//   biasActivation, activationBackward, columnSums, layerNorm, layerNormBackward,
//   layerNormParamGrad, maskedSoftmax, softmaxBackward, softmaxCrossEntropy, sigmoidCrossEntropy,
//   embeddingGather, segmentSum, dropout, adamUpdate, spdSolve, elementwise ({...}) → Promise<void>
//       (nn_args.h, the native addon's options objects; affinity/cuda_nn.h; threads is ignored).
//       spdSolve runs on cuSOLVER up to limits.maxSpdSolveN; where limits.spdSolve is false (built
//       without cuSOLVER) every call rejects.
//   version: string, limits: { maxIndex, maxAlsFactors, alsSolvers, similarityMetrics,
//       minComputeCapability, gemm, spdSolve, maxSpdSolveN }   (module_info.h)
// Every buffer's type and length, the CSR (monotone indptr, indices in range) and the row range
// are checked on the JS thread, before a worker is queued; a bad call throws a JS
// TypeError/RangeError and never reaches a kernel.
#include <napi.h>

#include <string>

#include "affinity/cuda_dense_score_topk.h"
#include "affinity/cuda_gemm.h"
#include "affinity/cuda_kernels.h"
#include "affinity/cuda_nn.h"
#include "als_args.h"
#include "dense_args.h"
#include "gemm_args.h"
#include "kernel_args.h"
#include "module_info.h"
#include "nn_args.h"
#include "sparse_similarity_args.h"

namespace {

namespace addon = affinity::addon;
namespace cuda = affinity::cuda;

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const cuda::Probe p = cuda::probe();
  Napi::Object o = Napi::Object::New(env);
  o.Set("available", p.available);
  o.Set("reason", p.reason);
  o.Set("driverVersion", p.driver_version);
  o.Set("runtimeVersion", p.runtime_version);
  o.Set("deviceCount", p.device_count);
  if (!p.device_name.empty()) {
    o.Set("device", p.device);
    o.Set("name", p.device_name);
    o.Set("computeCapability", std::to_string(p.cc_major) + "." + std::to_string(p.cc_minor));
    o.Set("memoryBytes", static_cast<double>(p.total_memory));
  }
  return o;
}

// max_threads 1: the GPU kernels take no CPU thread count (threads is checked, then ignored)
Napi::Value DenseScoreTopK(const Napi::CallbackInfo& info) {
  return addon::queue_dense_score_topk<&cuda::dense_score_topk>(info, 1);
}

Napi::Value SparseSimilarityTopK(const Napi::CallbackInfo& info) {
  return addon::queue_sparse_similarity_topk<&cuda::sparse_similarity_topk>(info, 1, &cuda::sparse_similarity_topk_unsupported);
}

Napi::Value AlsHalfStep(const Napi::CallbackInfo& info) {
  return addon::queue_als_half_step<&cuda::als_half_step>(info, 1, &cuda::als_half_step_unsupported);
}

Napi::Value Gemm(const Napi::CallbackInfo& info) { return addon::queue_gemm<&cuda::gemm>(info, 1); }

// the neural-network kernels (nn_args.h, the native addon's parsing and validation; affinity/cuda_nn.h)
#define AFFINITY_CUDA_NN_BINDING(Name, queue, kernel) \
  Napi::Value Name(const Napi::CallbackInfo& info) { return addon::queue<&cuda::kernel>(info, 1); }
AFFINITY_CUDA_NN_BINDING(BiasActivation, queue_bias_activation, bias_activation)
AFFINITY_CUDA_NN_BINDING(ActivationBackward, queue_activation_backward, activation_backward)
AFFINITY_CUDA_NN_BINDING(ColumnSums, queue_column_sums, column_sums)
AFFINITY_CUDA_NN_BINDING(LayerNorm, queue_layer_norm, layer_norm)
AFFINITY_CUDA_NN_BINDING(LayerNormBackward, queue_layer_norm_backward, layer_norm_backward)
AFFINITY_CUDA_NN_BINDING(LayerNormParamGrad, queue_layer_norm_param_grad, layer_norm_param_grad)
AFFINITY_CUDA_NN_BINDING(MaskedSoftmax, queue_masked_softmax, masked_softmax)
AFFINITY_CUDA_NN_BINDING(SoftmaxBackward, queue_softmax_backward, softmax_backward)
AFFINITY_CUDA_NN_BINDING(SoftmaxCrossEntropy, queue_softmax_cross_entropy, softmax_cross_entropy)
AFFINITY_CUDA_NN_BINDING(SigmoidCrossEntropy, queue_sigmoid_cross_entropy, sigmoid_cross_entropy)
AFFINITY_CUDA_NN_BINDING(EmbeddingGather, queue_embedding_gather, embedding_gather)
AFFINITY_CUDA_NN_BINDING(SegmentSum, queue_segment_sum, segment_sum)
AFFINITY_CUDA_NN_BINDING(Dropout, queue_dropout, dropout)
AFFINITY_CUDA_NN_BINDING(AdamUpdate, queue_adam_update, adam_update)
AFFINITY_CUDA_NN_BINDING(SpdSolve, queue_spd_solve, spd_solve)
AFFINITY_CUDA_NN_BINDING(Elementwise, queue_elementwise, elementwise)
#undef AFFINITY_CUDA_NN_BINDING

/**
 * The CUDA kernels' limits. The metric and solver lists are read off the *_unsupported()
 * functions the kernels refuse calls with, so the list and the refusal cannot disagree.
 */
Napi::Object cuda_limits(Napi::Env env) {
  Napi::Object limits = addon::base_limits(env);
  limits.Set("maxAlsFactors", static_cast<double>(cuda::kMaxAlsFactors));
  limits.Set("minComputeCapability", cuda::kMinComputeCapability);
  Napi::Array metrics = Napi::Array::New(env);
  for (int i = 0; i < addon::kSimilarityMetricCount; i++) {
    affinity::SparseSimilarityTopKParams p;
    p.metric = static_cast<affinity::SimilarityMetric>(i);
    if (cuda::sparse_similarity_topk_unsupported(p).empty()) metrics.Set(metrics.Length(), addon::similarity_metric_name(p.metric));
  }
  limits.Set("similarityMetrics", metrics);
  Napi::Array solvers = Napi::Array::New(env);
  for (const bool cg : {false, true}) {
    affinity::AlsHalfStepParams p;
    p.cg = cg;
    p.factors = 1;
    if (cuda::als_half_step_unsupported(p).empty()) solvers.Set(solvers.Length(), cg ? "cg" : "cholesky");
  }
  limits.Set("alsSolvers", solvers);
  // gemm needs cuBLAS, spdSolve cuSOLVER: false where the module was built without them
  limits.Set("gemm", cuda::gemm_built_with_cublas());
  limits.Set("spdSolve", cuda::spd_solve_built_with_cusolver());
  limits.Set("maxSpdSolveN", static_cast<double>(cuda::kMaxSpdSolveN));
  return limits;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("denseScoreTopK", Napi::Function::New(env, DenseScoreTopK, "denseScoreTopK"));
  exports.Set("sparseSimilarityTopK", Napi::Function::New(env, SparseSimilarityTopK, "sparseSimilarityTopK"));
  exports.Set("alsHalfStep", Napi::Function::New(env, AlsHalfStep, "alsHalfStep"));
  exports.Set("gemm", Napi::Function::New(env, Gemm, "gemm"));
  exports.Set("biasActivation", Napi::Function::New(env, BiasActivation, "biasActivation"));
  exports.Set("activationBackward", Napi::Function::New(env, ActivationBackward, "activationBackward"));
  exports.Set("columnSums", Napi::Function::New(env, ColumnSums, "columnSums"));
  exports.Set("layerNorm", Napi::Function::New(env, LayerNorm, "layerNorm"));
  exports.Set("layerNormBackward", Napi::Function::New(env, LayerNormBackward, "layerNormBackward"));
  exports.Set("layerNormParamGrad", Napi::Function::New(env, LayerNormParamGrad, "layerNormParamGrad"));
  exports.Set("maskedSoftmax", Napi::Function::New(env, MaskedSoftmax, "maskedSoftmax"));
  exports.Set("softmaxBackward", Napi::Function::New(env, SoftmaxBackward, "softmaxBackward"));
  exports.Set("softmaxCrossEntropy", Napi::Function::New(env, SoftmaxCrossEntropy, "softmaxCrossEntropy"));
  exports.Set("sigmoidCrossEntropy", Napi::Function::New(env, SigmoidCrossEntropy, "sigmoidCrossEntropy"));
  exports.Set("embeddingGather", Napi::Function::New(env, EmbeddingGather, "embeddingGather"));
  exports.Set("segmentSum", Napi::Function::New(env, SegmentSum, "segmentSum"));
  exports.Set("dropout", Napi::Function::New(env, Dropout, "dropout"));
  exports.Set("adamUpdate", Napi::Function::New(env, AdamUpdate, "adamUpdate"));
  exports.Set("spdSolve", Napi::Function::New(env, SpdSolve, "spdSolve"));
  exports.Set("elementwise", Napi::Function::New(env, Elementwise, "elementwise"));
  addon::export_module_info(exports, cuda_limits(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(affinity_cuda, Init)
