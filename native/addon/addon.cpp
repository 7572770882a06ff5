// affinity_native.node: the thin Node binding of native/core. Every kernel takes one options
// object (checked with kernel_args.h):
//   probe() → { simd: 'avx512'|'avx2'|'scalar', threads }
//   denseScoreTopK({...}) → Promise<void>   (dense_args.h)
//   sparseSimilarityTopK({...}) → Promise<void>   (sparse_similarity_args.h)
//   alsHalfStep({...}) → Promise<void>   (als_args.h)
//   sgdEpoch({...}), bprEpoch({...}) → Promise<void>   (epoch_args.h)
//   gemm({...}) → Promise<void>   (gemm_args.h; standalone, not registered as a TS kernel yet)
//   biasActivation, activationBackward, columnSums, layerNorm, layerNormBackward, layerNormParamGrad,
//   maskedSoftmax, softmaxBackward, softmaxCrossEntropy, sigmoidCrossEntropy, embeddingGather,
//   segmentSum, dropout, adamUpdate, spdSolve, elementwise ({...}) → Promise<void>   (nn_args.h)
//   version: string, limits: { maxIndex, maxThreads }   (module_info.h)
// Arguments are validated on the JS thread; the kernel runs in a Napi::AsyncWorker (a libuv
// pool thread, which fans out to the core's own thread pool), off the event loop.
#include <napi.h>

#include "affinity/platform.h"
#include "als_args.h"
#include "dense_args.h"
#include "epoch_args.h"
#include "gemm_args.h"
#include "module_info.h"
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
#define AFFINITY_NN_BINDING(Name, queue, kernel) \
  Napi::Value Name(const Napi::CallbackInfo& info) { return affinity::addon::queue<&affinity::kernel>(info, kMaxThreads); }
AFFINITY_NN_BINDING(BiasActivation, queue_bias_activation, bias_activation)
AFFINITY_NN_BINDING(ActivationBackward, queue_activation_backward, activation_backward)
AFFINITY_NN_BINDING(ColumnSums, queue_column_sums, column_sums)
AFFINITY_NN_BINDING(LayerNorm, queue_layer_norm, layer_norm)
AFFINITY_NN_BINDING(LayerNormBackward, queue_layer_norm_backward, layer_norm_backward)
AFFINITY_NN_BINDING(LayerNormParamGrad, queue_layer_norm_param_grad, layer_norm_param_grad)
AFFINITY_NN_BINDING(MaskedSoftmax, queue_masked_softmax, masked_softmax)
AFFINITY_NN_BINDING(SoftmaxBackward, queue_softmax_backward, softmax_backward)
AFFINITY_NN_BINDING(SoftmaxCrossEntropy, queue_softmax_cross_entropy, softmax_cross_entropy)
AFFINITY_NN_BINDING(SigmoidCrossEntropy, queue_sigmoid_cross_entropy, sigmoid_cross_entropy)
AFFINITY_NN_BINDING(EmbeddingGather, queue_embedding_gather, embedding_gather)
AFFINITY_NN_BINDING(SegmentSum, queue_segment_sum, segment_sum)
AFFINITY_NN_BINDING(Dropout, queue_dropout, dropout)
AFFINITY_NN_BINDING(AdamUpdate, queue_adam_update, adam_update)
AFFINITY_NN_BINDING(SpdSolve, queue_spd_solve, spd_solve)
AFFINITY_NN_BINDING(Elementwise, queue_elementwise, elementwise)
#undef AFFINITY_NN_BINDING

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("denseScoreTopK", Napi::Function::New(env, DenseScoreTopK, "denseScoreTopK"));
  exports.Set("sparseSimilarityTopK", Napi::Function::New(env, SparseSimilarityTopK, "sparseSimilarityTopK"));
  exports.Set("alsHalfStep", Napi::Function::New(env, AlsHalfStep, "alsHalfStep"));
  exports.Set("sgdEpoch", Napi::Function::New(env, SgdEpoch, "sgdEpoch"));
  exports.Set("bprEpoch", Napi::Function::New(env, BprEpoch, "bprEpoch"));
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
  Napi::Object limits = affinity::addon::base_limits(env);
  limits.Set("maxThreads", kMaxThreads);
  affinity::addon::export_module_info(exports, limits);
  return exports;
}

}  // namespace

NODE_API_MODULE(affinity_native, Init)
