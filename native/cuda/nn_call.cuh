// One GPU call of a neural-network kernel (native/cuda/nn_kernels.cu, spd_solve.cu): the chosen
// device, a non-blocking stream, one pinned staging buffer for the host ↔ device copies and every
// device buffer the call allocates, all released when the call ends (normally or by an
// exception). Included once per translation unit after cuda_common.cuh (anonymous namespace).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "affinity/cancel.h"
#include "cuda_common.cuh"

namespace affinity {
namespace cuda {
namespace {

/** Throws Cancelled when the calling thread's cancellation flag (affinity/cancel.h) is set. */
void throw_if_cancelled() {
  if (cancel_flag_set(current_cancel_flag())) throw Cancelled();
}

class GpuCall {
 public:
  explicit GpuCall(const char* kernel)
      : malloc_what_(std::string("cudaMalloc (") + kernel + ")"), sync_what_(std::string("kernels of ") + kernel) {}
  GpuCall(const GpuCall&) = delete;
  GpuCall& operator=(const GpuCall&) = delete;

  cudaStream_t stream() const { return stream_.s; }

  /** `count` elements of device memory, uninitialised, freed with the call. */
  template <class T>
  T* alloc(int64_t count) {
    DevicePtr<char> p = device_alloc<char>(static_cast<size_t>(count) * sizeof(T), malloc_what_.c_str());
    T* raw = reinterpret_cast<T*>(p.get());
    buffers_.push_back(std::move(p));
    return raw;
  }

  /** A device copy of host[0, count). */
  template <class T>
  T* upload(const T* host, int64_t count) {
    T* d = alloc<T>(count);
    if (count > 0) cuda::upload(d, host, static_cast<size_t>(count) * sizeof(T), stage(), kStageBytes, stream_.s);
    return d;
  }

  /** Waits for the launched kernels (naming the first failure), then copies device[0, count) to host. */
  template <class T>
  void download(T* host, const T* device, int64_t count) {
    finish();
    if (count > 0) cuda::download(host, device, static_cast<size_t>(count) * sizeof(T), stage(), kStageBytes, stream_.s);
  }

  /** After a launch: a bad configuration is reported here, naming the kernel. */
  void launched(const char* what) const { check(cudaGetLastError(), what); }

  /** Waits for everything queued on the stream. */
  void finish() const { check(cudaStreamSynchronize(stream_.s), sync_what_.c_str()); }

 private:
  static constexpr size_t kStageBytes = size_t(4) << 20;

  void* stage() {
    if (!stage_) stage_ = pinned_alloc<char>(kStageBytes, "cudaMallocHost (staging)");
    return stage_.get();
  }

  /** Makes the chosen device current before the stream is created on it. */
  struct DeviceChoice {
    DeviceChoice() { check(cudaSetDevice(chosen_device()), "cudaSetDevice"); }
  };

  std::string malloc_what_, sync_what_;
  DeviceChoice device_;  // before stream_: members are built in this order
  Stream stream_;
  PinnedPtr<char> stage_;
  std::vector<DevicePtr<char>> buffers_;
};

/** Blocks for a grid-stride loop over n items of `threads` each (at least 1, at most 65536 blocks). */
unsigned blocks_for(int64_t n, int threads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(b, 65536)));
}

}  // namespace
}  // namespace cuda
}  // namespace affinity
