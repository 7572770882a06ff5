// affinity_cuda.node: the Node binding of native/cuda, a separate module so that a machine
// without a CUDA driver never affects affinity_native.node (cudart is linked statically; the
// driver is looked up only when probe() or a kernel runs).
//   probe() → { available, reason, driverVersion, runtimeVersion, deviceCount, device?, name?,
//               computeCapability?, memoryBytes? }
//   denseScoreTopK(...) → Promise<void>   (same signature and validation as affinity_native)
#include <napi.h>

#include <string>

#include "affinity/cuda_dense_score_topk.h"
#include "dense_worker.h"

namespace {

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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("denseScoreTopK", Napi::Function::New(env, DenseScoreTopK, "denseScoreTopK"));
  return exports;
}

}  // namespace

NODE_API_MODULE(affinity_cuda, Init)
