// The AsyncWorker both addons use: runs a validated denseScoreTopK call on a libuv pool thread
// (off the event loop) and settles a Promise on the JS thread.
#pragma once

#include <napi.h>

#include <exception>
#include <new>
#include <utility>

#include "affinity/cancel.h"
#include "dense_args.h"

namespace affinity {
namespace addon {

template <void (*Kernel)(const DenseScoreTopKParams&)>
class DenseScoreTopKWorker : public Napi::AsyncWorker {
 public:
  DenseScoreTopKWorker(Napi::Env env, DenseCall call)
      : Napi::AsyncWorker(env, "affinity.denseScoreTopK"), deferred_(Napi::Promise::Deferred::New(env)), call_(std::move(call)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  // worker thread: touches no JS value; call_.refs keep the typed arrays (and their memory) alive
  void Execute() override {
    try {
      CancelScope scope(call_.cancel);
      Kernel(call_.params);
    } catch (const Cancelled&) {
      SetError("denseScoreTopK: cancelled");
    } catch (const std::bad_alloc&) {
      SetError("denseScoreTopK: out of memory for the kernel's scratch buffers");
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("denseScoreTopK: unknown native error");
    }
  }

  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  DenseCall call_;  // its references are released on the JS thread, with the worker
};

/** Validates the arguments (throwing TypeError/RangeError synchronously), queues the kernel, returns its Promise. */
template <void (*Kernel)(const DenseScoreTopKParams&)>
Napi::Value queue_dense_score_topk(const Napi::CallbackInfo& info, int max_threads) {
  DenseCall call = parse_dense_call(info, max_threads);
  auto* worker = new DenseScoreTopKWorker<Kernel>(info.Env(), std::move(call));
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // deletes itself after OnOK/OnError
  return promise;
}

}  // namespace addon
}  // namespace affinity
