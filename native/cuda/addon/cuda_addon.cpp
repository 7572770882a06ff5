// affinity_cuda.node: the Node binding of native/cuda, a separate module so that a machine
// without a CUDA driver never affects affinity_native.node (cudart is linked statically; the
// driver is looked up only when probe() or a kernel runs).
//   probe() → { available, reason, driverVersion, runtimeVersion, deviceCount, device?, name?,
//               computeCapability?, memoryBytes? }
//   denseScoreTopK(...) → Promise<void>         (same signature and validation as affinity_native)
//   sparseSimilarityTopK({...}) → Promise<void>  (the options object of affinity_native's
//       sparseSimilarityTopK, native/addon/sparse_similarity_args.h; metrics dot, cosine and
//       jaccard only — any other is refused with a RangeError; threads and path are ignored)
//   alsHalfStep({...}) → Promise<void>
//       { mode: 'implicit'|'explicit', solver: 'cg' (cholesky is refused), cgSteps? (default 3),
//         rows, cols, factors (1..1024), indptr: Int32Array(rows+1), indices: Int32Array(≥ nnz),
//         data: Float32Array(≥ nnz), other: Float32Array(cols·factors),
//         gram: Float64Array(factors²) (implicit), regularization ≥ 0, rowStart, rowEnd,
//         out: Float32Array(≥ rows·factors) — read as the CG start, rows [rowStart, rowEnd) written }
// Every buffer's type and length, the CSR (monotone indptr, indices in range) and the row range
// are checked here, on the JS thread, before a worker is queued; a bad call throws a JS
// TypeError/RangeError and never reaches a kernel.
#include <napi.h>

#include <limits>
#include <string>

#include "affinity/cuda_dense_score_topk.h"
#include "affinity/cuda_kernels.h"
#include "dense_worker.h"
#include "kernel_args.h"
#include "als_args.h"
#include "sparse_similarity_args.h"

namespace {

using affinity::addon::ObjectArgs;

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const affinity::cuda::Probe p = affinity::cuda::probe();
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

Napi::Value DenseScoreTopK(const Napi::CallbackInfo& info) {
  return affinity::addon::queue_dense_score_topk<&affinity::cuda::dense_score_topk>(info, 256);
}

Napi::Value SparseSimilarityTopK(const Napi::CallbackInfo& info) {
  // the native addon's parsing and checks; threads and path are accepted and ignored (max_threads 1)
  return affinity::addon::queue_sparse_similarity_topk<&affinity::cuda::sparse_similarity_topk>(
      info, 1, &affinity::cuda::sparse_similarity_topk_unsupported);
}

Napi::Value AlsHalfStep(const Napi::CallbackInfo& info) {
  // the native addon's parsing and checks, then the CUDA kernel's limits (solver cg, factors ≤ 1024)
  return affinity::addon::queue_als_half_step<&affinity::cuda::als_half_step>(info, 1, &affinity::cuda::als_half_step_unsupported);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("denseScoreTopK", Napi::Function::New(env, DenseScoreTopK, "denseScoreTopK"));
  exports.Set("sparseSimilarityTopK", Napi::Function::New(env, SparseSimilarityTopK, "sparseSimilarityTopK"));
  exports.Set("alsHalfStep", Napi::Function::New(env, AlsHalfStep, "alsHalfStep"));
  return exports;
}

}  // namespace

NODE_API_MODULE(affinity_cuda, Init)
