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
#define AFFINITY_CUDA_NN_BINDING(js_name, queue, kernel) \
  Napi::Value nn_##kernel(const Napi::CallbackInfo& info) { return addon::queue<&cuda::kernel>(info, 1); }
AFFINITY_NN_KERNELS(AFFINITY_CUDA_NN_BINDING)
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
  AFFINITY_NN_KERNELS(AFFINITY_NN_EXPORT)
  addon::export_module_info(exports, cuda_limits(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(affinity_cuda, Init)
