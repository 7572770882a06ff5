// Shared by the CUDA kernels of native/cuda (each .cu includes it once; everything is in an
// anonymous namespace, so every translation unit gets its own copy — no relocatable device code):
//   * errors and RAII: check(), device/pinned allocations, a non-blocking stream, the chosen device
//   * the top-k selection of a dense score matrix (NaN = no candidate), ties by lower id
//   * staged host ↔ device copies through pinned memory
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

namespace affinity {
namespace cuda {
namespace {

// ------------------------------------------------------------------ errors and RAII

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("CUDA ") + what + ": " + cudaGetErrorString(e));
}

struct DeviceFree {
  void operator()(void* p) const { if (p) cudaFree(p); }
};
struct HostFree {
  void operator()(void* p) const { if (p) cudaFreeHost(p); }
};
template <class T>
using DevicePtr = std::unique_ptr<T, DeviceFree>;
template <class T>
using PinnedPtr = std::unique_ptr<T, HostFree>;

template <class T>
DevicePtr<T> device_alloc(size_t count, const char* what) {
  void* p = nullptr;
  check(cudaMalloc(&p, std::max<size_t>(1, count) * sizeof(T)), what);
  return DevicePtr<T>(static_cast<T*>(p));
}
template <class T>
PinnedPtr<T> pinned_alloc(size_t count, const char* what) {
  void* p = nullptr;
  check(cudaMallocHost(&p, std::max<size_t>(1, count) * sizeof(T)), what);
  return PinnedPtr<T>(static_cast<T*>(p));
}

struct Stream {
  cudaStream_t s = nullptr;
  Stream() { check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate"); }
  ~Stream() { if (s) cudaStreamDestroy(s); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
};

int chosen_device() {
  const char* env = std::getenv("AFFINITY_CUDA_DEVICE");
  return env ? std::atoi(env) : 0;
}

// ------------------------------------------------------------------ top-k selection

/** Order-preserving unsigned image of a non-NaN float (−0 and +0 map together, as they compare equal). */
__device__ __forceinline__ uint32_t ord_of(float s) {
  if (s == 0.0f) s = 0.0f;
  const uint32_t u = __float_as_uint(s);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ __forceinline__ float float_of(uint32_t o) {
  const uint32_t u = (o & 0x80000000u) ? (o & 0x7fffffffu) : ~o;
  return __uint_as_float(u);
}
/** Candidate key; 0 is never a key (ord 0 would be a NaN), so 0 pads the sort buffer. */
__device__ __forceinline__ uint64_t key_of(int j, float s) {
  return (static_cast<uint64_t>(ord_of(s)) << 32) | static_cast<uint32_t>(0xffffffffu - static_cast<uint32_t>(j));
}

constexpr int kSelectThreads = 256;
constexpr int kSharedSortMax = 4096;  // sort buffers up to 4096 keys (32 KB) live in shared memory

/**
 * One block per row: the k_out best candidates of S[row, 0..n) (NaN = no candidate), best first.
 * buf: P = 2^⌈log2 k_out⌉ keys, in shared memory (dynamic) or in scratch + row·P.
 */
__global__ void __launch_bounds__(kSelectThreads) select_topk(const float* __restrict__ S, size_t lds, int n, int k_out,
                                                              int P, uint64_t* scratch, int32_t* __restrict__ out_ids,
                                                              float* __restrict__ out_scores) {
  extern __shared__ uint64_t shared_buf[];
  __shared__ unsigned int hist[256];
  __shared__ unsigned long long prefix_sh, mask_sh;
  __shared__ int remaining_sh;
  __shared__ unsigned int count_sh;
  const int row = blockIdx.x, tid = threadIdx.x;
  const float* s = S + static_cast<size_t>(row) * lds;
  uint64_t* buf = scratch ? scratch + static_cast<size_t>(row) * P : shared_buf;

  if (tid == 0) count_sh = 0;
  __syncthreads();
  unsigned int mine = 0;
  for (int j = tid; j < n; j += kSelectThreads) mine += isnan(s[j]) ? 0u : 1u;
  atomicAdd(&count_sh, mine);
  __syncthreads();
  const int candidates = static_cast<int>(count_sh);
  const int take = min(candidates, k_out);
  __syncthreads();  // everyone has read count_sh before it is reused below

  // radix select: the take-th largest key T (keys are unique, so exactly `take` keys are ≥ T)
  uint64_t threshold = 1;  // every real key is ≥ 1
  if (candidates > k_out) {
    if (tid == 0) { prefix_sh = 0; mask_sh = 0; remaining_sh = k_out; }
    __syncthreads();
    for (int shift = 56; shift >= 0; shift -= 8) {
      for (int b = tid; b < 256; b += kSelectThreads) hist[b] = 0;
      __syncthreads();
      const uint64_t prefix = prefix_sh, mask = mask_sh;
      for (int j = tid; j < n; j += kSelectThreads) {
        const float v = s[j];
        if (isnan(v)) continue;
        const uint64_t key = key_of(j, v);
        if ((key & mask) == prefix) atomicAdd(&hist[(key >> shift) & 255u], 1u);
      }
      __syncthreads();
      if (tid == 0) {
        // walk bins from the top until the remaining count is reached
        int remaining = remaining_sh;
        int b = 255;
        for (; b > 0; b--) {
          if (static_cast<int>(hist[b]) >= remaining) break;
          remaining -= static_cast<int>(hist[b]);
        }
        remaining_sh = remaining;
        prefix_sh = prefix | (static_cast<uint64_t>(b) << shift);
        mask_sh = mask | (static_cast<uint64_t>(255u) << shift);
      }
      __syncthreads();
    }
    threshold = prefix_sh;
  }

  // gather keys ≥ T (any order), pad with 0
  if (tid == 0) count_sh = 0;
  __syncthreads();
  for (int j = tid; j < n; j += kSelectThreads) {
    const float v = s[j];
    if (isnan(v)) continue;
    const uint64_t key = key_of(j, v);
    if (key >= threshold) {
      const unsigned int pos = atomicAdd(&count_sh, 1u);
      if (pos < static_cast<unsigned int>(P)) buf[pos] = key;
    }
  }
  __syncthreads();
  for (int i = take + tid; i < P; i += kSelectThreads) buf[i] = 0;
  __syncthreads();

  // bitonic sort, descending
  for (int size = 2; size <= P; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int i = tid; i < P / 2; i += kSelectThreads) {
        const int lo = 2 * stride * (i / stride) + (i % stride), hi = lo + stride;
        const bool desc = (lo & size) == 0;
        const uint64_t a = buf[lo], b = buf[hi];
        if (desc ? a < b : a > b) { buf[lo] = b; buf[hi] = a; }
      }
      __syncthreads();
    }
  }

  int32_t* ids = out_ids + static_cast<size_t>(row) * k_out;
  float* scores = out_scores + static_cast<size_t>(row) * k_out;
  for (int i = tid; i < k_out; i += kSelectThreads) {
    if (i < take) {
      const uint64_t key = buf[i];
      ids[i] = static_cast<int32_t>(0xffffffffu - static_cast<uint32_t>(key & 0xffffffffu));
      scores[i] = float_of(static_cast<uint32_t>(key >> 32));
    } else {
      ids[i] = -1;
      scores[i] = -INFINITY;
    }
  }
}

// ------------------------------------------------------------------ host side

/** Copies host → device through the pinned staging buffer (chunks of `stage_bytes`). */
void upload(void* dst, const void* src, size_t bytes, void* stage, size_t stage_bytes, cudaStream_t st) {
  for (size_t off = 0; off < bytes; off += stage_bytes) {
    const size_t n = std::min(stage_bytes, bytes - off);
    std::memcpy(stage, static_cast<const char*>(src) + off, n);
    check(cudaMemcpyAsync(static_cast<char*>(dst) + off, stage, n, cudaMemcpyHostToDevice, st), "cudaMemcpy (upload)");
    check(cudaStreamSynchronize(st), "cudaStreamSynchronize (upload)");
  }
}

void download(void* dst, const void* src, size_t bytes, void* stage, size_t stage_bytes, cudaStream_t st) {
  for (size_t off = 0; off < bytes; off += stage_bytes) {
    const size_t n = std::min(stage_bytes, bytes - off);
    check(cudaMemcpyAsync(stage, static_cast<const char*>(src) + off, n, cudaMemcpyDeviceToHost, st), "cudaMemcpy (download)");
    check(cudaStreamSynchronize(st), "cudaStreamSynchronize (download)");
    std::memcpy(static_cast<char*>(dst) + off, stage, n);
  }
}

int next_pow2(int x) {
  int p = 1;
  while (p < x) p <<= 1;
  return p;
}

}  // namespace
}  // namespace cuda
}  // namespace affinity
