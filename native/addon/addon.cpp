// affinity_native.node: the thin Node binding of native/core. Every kernel takes one options
// object (checked with kernel_args.h):
//   probe() → { simd: 'avx512'|'avx2'|'scalar', threads }
//   denseScoreTopK({...}) → Promise<void>   (dense_args.h)
//   sparseSimilarityTopK({...}) → Promise<void>   (sparse_similarity_args.h)
//   alsHalfStep({...}) → Promise<void>   (als_args.h)
//   sgdEpoch({...}), bprEpoch({...}) → Promise<void>   (epoch_args.h)
//   gemm({...}) → Promise<void>   (gemm_args.h; standalone, not registered as a TS kernel yet)
//   new DelimitedReader({...})   (delimited_reader_args.h; the fast path of src/data/readers.ts)
//   snappyUncompress(input, output) → bytes   (snappy_args.h; the Parquet reader's SNAPPY codec)
//   int32InRange(values, limit) → boolean   (index_range_args.h; synchronous, src/kernels/indexRange.ts)
//   csrFromTriplets({...}) → nnz, transposeCsr({...})   (csr_args.h; synchronous, src/data/nativeCsr.ts)
//   biasActivation, activationBackward, columnSums, layerNorm, layerNormBackward, layerNormParamGrad,
//   maskedSoftmax, softmaxBackward, softmaxCrossEntropy, sigmoidCrossEntropy, embeddingGather,
//   segmentSum, dropout, adamUpdate, spdSolve, elementwise ({...}) → Promise<void>   (nn_args.h)
//   version: string, limits: { maxIndex, maxThreads }   (module_info.h)
// Arguments are validated on the JS thread; the kernel runs in a Napi::AsyncWorker (a libuv
// pool thread, which fans out to the core's own thread pool), off the event loop.
#include <napi.h>

#include "affinity/platform.h"
#include "als_args.h"
#include "csr_args.h"
#include "delimited_reader_args.h"
#include "dense_args.h"
#include "epoch_args.h"
#include "gemm_args.h"
#include "index_range_args.h"
#include "module_info.h"
#include "snappy_args.h"
#include "nn_args.h"
#include "sparse_similarity_args.h"

namespace {

using affinity::kMaxThreads;

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("simd", affinity::simd_name(affinity::detect_simd()));
  o.Set("threads", affinity::hardware_threads());
  return o;
}

Napi::Value DenseScoreTopK(const Napi::CallbackInfo& info) {
  return affinity::addon::queue_dense_score_topk<&affinity::dense_score_topk>(info, kMaxThreads);
}

Napi::Value SparseSimilarityTopK(const Napi::CallbackInfo& info) {
  return affinity::addon::queue_sparse_similarity_topk<&affinity::sparse_similarity_topk>(info, kMaxThreads);
}

Napi::Value AlsHalfStep(const Napi::CallbackInfo& info) {
  return affinity::addon::queue_als_half_step<&affinity::als_half_step>(info, kMaxThreads);
}

Napi::Value SgdEpoch(const Napi::CallbackInfo& info) { return affinity::addon::queue_sgd_epoch(info); }

Napi::Value BprEpoch(const Napi::CallbackInfo& info) { return affinity::addon::queue_bpr_epoch(info); }

Napi::Value Gemm(const Napi::CallbackInfo& info) { return affinity::addon::queue_gemm<&affinity::gemm>(info, kMaxThreads); }

// the neural-network kernels (nn_args.h)
#define AFFINITY_NN_BINDING(js_name, queue, kernel) \
  Napi::Value nn_##kernel(const Napi::CallbackInfo& info) { return affinity::addon::queue<&affinity::kernel>(info, kMaxThreads); }
AFFINITY_NN_KERNELS(AFFINITY_NN_BINDING)
#undef AFFINITY_NN_BINDING

// the fused full-softmax output layer: the native module only (a CUDA module lacks it; the TS side then uses the separate kernels)
Napi::Value SoftmaxOutputLayer(const Napi::CallbackInfo& info) {
  return affinity::addon::queue_softmax_output_layer<&affinity::softmax_output_layer>(info, kMaxThreads);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("denseScoreTopK", Napi::Function::New(env, DenseScoreTopK, "denseScoreTopK"));
  exports.Set("sparseSimilarityTopK", Napi::Function::New(env, SparseSimilarityTopK, "sparseSimilarityTopK"));
  exports.Set("alsHalfStep", Napi::Function::New(env, AlsHalfStep, "alsHalfStep"));
  exports.Set("sgdEpoch", Napi::Function::New(env, SgdEpoch, "sgdEpoch"));
  exports.Set("bprEpoch", Napi::Function::New(env, BprEpoch, "bprEpoch"));
  exports.Set("gemm", Napi::Function::New(env, Gemm, "gemm"));
  exports.Set("DelimitedReader", affinity::addon::DelimitedReaderWrap::Define(env));
  exports.Set("csrFromTriplets", Napi::Function::New(env, affinity::addon::CsrFromTriplets, "csrFromTriplets"));
  exports.Set("transposeCsr", Napi::Function::New(env, affinity::addon::TransposeCsr, "transposeCsr"));
  exports.Set("int32InRange", Napi::Function::New(env, affinity::addon::Int32InRange, "int32InRange"));
  exports.Set("snappyUncompress", Napi::Function::New(env, affinity::addon::SnappyUncompress, "snappyUncompress"));
  AFFINITY_NN_KERNELS(AFFINITY_NN_EXPORT)
  exports.Set("softmaxOutputLayer", Napi::Function::New(env, SoftmaxOutputLayer, "softmaxOutputLayer"));
  Napi::Object limits = affinity::addon::base_limits(env);
  limits.Set("maxThreads", kMaxThreads);
  affinity::addon::export_module_info(exports, limits);
  return exports;
}

}  // namespace

NODE_API_MODULE(affinity_native, Init)
