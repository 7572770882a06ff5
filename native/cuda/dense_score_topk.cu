// dense_score_topk on a CUDA GPU.
//
// Per call: keys → device once (cosine: each row divided by its float64 norm, zero rows stay
// zero, as on the CPU). Then query blocks of QB rows, QB chosen so that the block's score matrix
// (QB × K floats) and scratch fit a memory budget:
//   1. queries of the block → device (through pinned host memory); cosine: normalise
//   2. S = Q_blk · Kᵀ with a shared-memory tiled GEMM (64×64 tiles, 4×4 per thread, float32
//      accumulation with fmaf over f ascending, like the CPU tiles)
//   3. excluded keys and (excludeSelf) the query's own key are set to NaN in S; NaN is "not a
//      candidate" (NaN scores are never kept anyway)
//   4. one thread block per row selects the k_out best: every candidate gets a unique 64-bit key
//        key(j, s) = ord(s)·2^32 + (2^32 − 1 − j)
//      (ord: the float's bits made order-preserving as unsigned), so a larger key means a higher
//      score, or an equal score and a LOWER id — exactly the reference's order. A radix select
//      (8 passes of 8 bits) finds the k_out-th largest key T; the keys ≥ T are gathered, sorted
//      descending (bitonic) and decoded into ids/scores, padded with -1/-inf.
//   5. results → host (pinned) → the caller's arrays at row·k_out.
#include "affinity/cuda_dense_score_topk.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

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

// ------------------------------------------------------------------ kernels

constexpr int kTile = 64;  // BM = BN
constexpr int kTileK = 16;  // BK
constexpr int kGemmThreads = 256;  // 16 × 16 threads, 4 × 4 outputs each

/** C[i, j] = Σ_f A[i, f]·B[j, f] for i < m, j < n (A: m×d, B: n×d, row-major; C row stride ldc). */
__global__ void __launch_bounds__(kGemmThreads) gemm_nt(const float* __restrict__ A, int m, const float* __restrict__ B, int n,
                                                        int d, float* __restrict__ C, size_t ldc) {
  // [f][i], padded by 4 floats: rows stay 16-byte aligned for float4 reads
  __shared__ __align__(16) float As[kTileK][kTile + 4];
  __shared__ __align__(16) float Bs[kTileK][kTile + 4];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int row0 = blockIdx.y * kTile, col0 = blockIdx.x * kTile;
  float acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; i++)
#pragma unroll
    for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;

  for (int f0 = 0; f0 < d; f0 += kTileK) {
    // 64 rows × 16 features per operand; 16 consecutive threads read 16 consecutive floats of a row
    for (int t = threadIdx.x; t < kTile * kTileK; t += kGemmThreads) {
      const int i = t / kTileK, f = t % kTileK;
      const int gf = f0 + f;
      const int ga = row0 + i, gb = col0 + i;
      As[f][i] = (ga < m && gf < d) ? A[static_cast<size_t>(ga) * d + gf] : 0.0f;
      Bs[f][i] = (gb < n && gf < d) ? B[static_cast<size_t>(gb) * d + gf] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int f = 0; f < kTileK; f++) {
      const float4 a = *reinterpret_cast<const float4*>(&As[f][ty * 4]);
      const float4 b = *reinterpret_cast<const float4*>(&Bs[f][tx * 4]);
      const float av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
      for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; i++) {
    const int r = row0 + ty * 4 + i;
    if (r >= m) continue;
#pragma unroll
    for (int j = 0; j < 4; j++) {
      const int c = col0 + tx * 4 + j;
      if (c < n) C[static_cast<size_t>(r) * ldc + c] = acc[i][j];
    }
  }
}

/** x[r, :] *= 1/‖x[r, :]‖ (float64 norm), zero rows unchanged. One warp per row. */
__global__ void normalize_rows(float* x, int rows, int d) {
  const int warp = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  if (warp >= rows) return;
  float* row = x + static_cast<size_t>(warp) * d;
  double s = 0;
  for (int f = lane; f < d; f += 32) s += static_cast<double>(row[f]) * row[f];
  for (int o = 16; o > 0; o >>= 1) s += __shfl_down_sync(0xffffffffu, s, o);
  s = __shfl_sync(0xffffffffu, s, 0);
  const double inv = s > 0 ? 1.0 / sqrt(s) : 0.0;
  for (int f = lane; f < d; f += 32) row[f] = static_cast<float>(row[f] * inv);
}

/** Marks excluded keys (and the query's own key when self_base ≥ 0) with NaN. One warp per row. */
__global__ void mark_excluded(float* S, size_t lds, int rows, int k_rows, const int32_t* __restrict__ indptr,
                              const int32_t* __restrict__ indices, long long self_base) {
  const int row = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  if (row >= rows) return;
  const float nan = __int_as_float(0x7fc00000);
  float* s = S + static_cast<size_t>(row) * lds;
  if (indptr) {
    for (int e = indptr[row] + lane; e < indptr[row + 1]; e += 32) s[indices[e]] = nan;
  }
  if (lane == 0 && self_base >= 0) {
    const long long j = self_base + row;
    if (j < k_rows) s[j] = nan;
  }
}

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

Probe probe() {
  Probe p;
  cudaRuntimeGetVersion(&p.runtime_version);
  if (cudaDriverGetVersion(&p.driver_version) != cudaSuccess || p.driver_version == 0) {
    p.reason = "no CUDA driver";
    return p;
  }
  const cudaError_t e = cudaGetDeviceCount(&p.device_count);
  if (e == cudaErrorNoDevice || (e == cudaSuccess && p.device_count == 0)) {
    p.reason = "no CUDA device";
    p.device_count = 0;
    return p;
  }
  if (e == cudaErrorInsufficientDriver) {
    p.reason = "CUDA driver " + std::to_string(p.driver_version / 1000) + "." + std::to_string(p.driver_version % 1000 / 10) +
               " is older than the runtime " + std::to_string(p.runtime_version / 1000) + "." +
               std::to_string(p.runtime_version % 1000 / 10);
    return p;
  }
  if (e != cudaSuccess) {
    p.reason = std::string("CUDA error: ") + cudaGetErrorString(e);
    return p;
  }
  p.device = chosen_device();
  if (p.device < 0 || p.device >= p.device_count) {
    p.reason = "AFFINITY_CUDA_DEVICE=" + std::to_string(p.device) + " but there are " + std::to_string(p.device_count) + " devices";
    return p;
  }
  cudaDeviceProp prop;
  const cudaError_t pe = cudaGetDeviceProperties(&prop, p.device);
  if (pe != cudaSuccess) {
    p.reason = std::string("CUDA error: ") + cudaGetErrorString(pe);
    return p;
  }
  p.device_name = prop.name;
  p.cc_major = prop.major;
  p.cc_minor = prop.minor;
  p.total_memory = prop.totalGlobalMem;
  const std::string cc = std::to_string(prop.major) + "." + std::to_string(prop.minor);
  if (prop.major * 10 + prop.minor < kMinComputeCapability) {
    p.reason = p.device_name + " has compute capability " + cc + "; this build needs ≥ 8.0";
    return p;
  }
  p.available = true;
  p.reason = p.device_name + " (compute capability " + cc + ", " + std::to_string(prop.totalGlobalMem >> 20) + " MiB)";
  return p;
}

void dense_score_topk(const DenseScoreTopKParams& p) {
  const std::string problem = validate_dense_score_topk(p);
  if (!problem.empty()) throw std::invalid_argument("dense_score_topk: " + problem);
  const int64_t rows = p.row_end - p.row_start;
  const int k_out = static_cast<int>(dense_score_topk_k_out(p.k, p.k_rows));
  if (rows == 0 || k_out == 0) return;
  if (p.dim > std::numeric_limits<int>::max() / 2) throw std::invalid_argument("dense_score_topk: dim too large for the CUDA kernel");

  check(cudaSetDevice(chosen_device()), "cudaSetDevice");
  Stream stream;
  const cudaStream_t st = stream.s;
  const int K = static_cast<int>(p.k_rows), d = static_cast<int>(p.dim);
  const bool cosine = p.metric == Metric::Cosine;
  const int P = next_pow2(k_out);
  const bool shared_sort = P <= kSharedSortMax;

  // block size: the score matrix (QB·K floats) and per-row scratch within ~1/2 of free memory
  // (at most 2 GiB), after the keys
  size_t free_bytes = 0, total_bytes = 0;
  check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
  const size_t key_bytes = static_cast<size_t>(K) * d * sizeof(float);
  size_t budget = std::min<size_t>(free_bytes / 2, size_t(2) << 30);
  budget = budget > key_bytes ? budget - key_bytes : 0;
  const size_t per_row = static_cast<size_t>(K) * sizeof(float) + static_cast<size_t>(d) * sizeof(float) +
                         static_cast<size_t>(k_out) * 8 + (shared_sort ? 0 : static_cast<size_t>(P) * 8);
  int64_t qb = static_cast<int64_t>(std::max<size_t>(1, budget / per_row));
  qb = std::min<int64_t>({qb, 8192, rows});
  if (qb > 64) qb -= qb % 64;
  const int64_t blocks = (rows + qb - 1) / qb;

  // exclusion slices: the largest block's nnz sizes the device buffer
  int64_t max_nnz = 0;
  if (p.exclude_indptr && p.exclude_indices) {
    for (int64_t b = 0; b < blocks; b++) {
      const int64_t r0 = p.row_start + b * qb, r1 = std::min(p.row_end, r0 + qb);
      max_nnz = std::max<int64_t>(max_nnz, p.exclude_indptr[r1] - p.exclude_indptr[r0]);
    }
  }
  const bool has_exclude = max_nnz > 0;

  auto d_keys = device_alloc<float>(static_cast<size_t>(K) * d, "cudaMalloc (keys)");
  auto d_q = device_alloc<float>(static_cast<size_t>(qb) * d, "cudaMalloc (queries)");
  auto d_s = device_alloc<float>(static_cast<size_t>(qb) * K, "cudaMalloc (scores)");
  auto d_ids = device_alloc<int32_t>(static_cast<size_t>(qb) * k_out, "cudaMalloc (ids)");
  auto d_scores = device_alloc<float>(static_cast<size_t>(qb) * k_out, "cudaMalloc (top scores)");
  DevicePtr<uint64_t> d_sort;
  if (!shared_sort) d_sort = device_alloc<uint64_t>(static_cast<size_t>(qb) * P, "cudaMalloc (sort scratch)");
  DevicePtr<int32_t> d_indptr, d_indices;
  if (has_exclude) {
    d_indptr = device_alloc<int32_t>(static_cast<size_t>(qb) + 1, "cudaMalloc (exclude indptr)");
    d_indices = device_alloc<int32_t>(static_cast<size_t>(max_nnz), "cudaMalloc (exclude indices)");
  }
  const size_t stage_bytes = std::max<size_t>({size_t(4) << 20, static_cast<size_t>(qb) * d * sizeof(float),
                                               static_cast<size_t>(qb) * k_out * sizeof(float)});
  auto stage = pinned_alloc<char>(stage_bytes, "cudaMallocHost (staging)");
  std::vector<int32_t> rel_indptr(has_exclude ? static_cast<size_t>(qb) + 1 : 0);

  upload(d_keys.get(), p.keys, key_bytes, stage.get(), stage_bytes, st);
  if (cosine && K > 0) {
    normalize_rows<<<(K + 7) / 8, 256, 0, st>>>(d_keys.get(), K, d);
    check(cudaGetLastError(), "normalize_rows (keys)");
  }

  for (int64_t b = 0; b < blocks; b++) {
    const int64_t r0 = p.row_start + b * qb;
    const int m = static_cast<int>(std::min<int64_t>(qb, p.row_end - r0));
    upload(d_q.get(), p.queries + r0 * d, static_cast<size_t>(m) * d * sizeof(float), stage.get(), stage_bytes, st);
    if (cosine) {
      normalize_rows<<<(m + 7) / 8, 256, 0, st>>>(d_q.get(), m, d);
      check(cudaGetLastError(), "normalize_rows (queries)");
    }
    const dim3 grid(static_cast<unsigned>((K + kTile - 1) / kTile), static_cast<unsigned>((m + kTile - 1) / kTile));
    gemm_nt<<<grid, kGemmThreads, 0, st>>>(d_q.get(), m, d_keys.get(), K, d, d_s.get(), static_cast<size_t>(K));
    check(cudaGetLastError(), "gemm_nt");

    const int32_t* indptr_dev = nullptr;
    if (has_exclude) {
      const int32_t base = p.exclude_indptr[r0];
      for (int i = 0; i <= m; i++) rel_indptr[i] = p.exclude_indptr[r0 + i] - base;
      const size_t nnz = static_cast<size_t>(rel_indptr[m]);
      upload(d_indptr.get(), rel_indptr.data(), static_cast<size_t>(m + 1) * sizeof(int32_t), stage.get(), stage_bytes, st);
      if (nnz > 0) upload(d_indices.get(), p.exclude_indices + base, nnz * sizeof(int32_t), stage.get(), stage_bytes, st);
      indptr_dev = d_indptr.get();
    }
    if (indptr_dev || p.exclude_self) {
      mark_excluded<<<(m + 7) / 8, 256, 0, st>>>(d_s.get(), static_cast<size_t>(K), m, K, indptr_dev, d_indices.get(),
                                                  p.exclude_self ? static_cast<long long>(r0) : -1LL);
      check(cudaGetLastError(), "mark_excluded");
    }

    const size_t shmem = shared_sort ? static_cast<size_t>(P) * sizeof(uint64_t) : 0;
    select_topk<<<m, kSelectThreads, shmem, st>>>(d_s.get(), static_cast<size_t>(K), K, k_out, P,
                                                  shared_sort ? nullptr : d_sort.get(), d_ids.get(), d_scores.get());
    check(cudaGetLastError(), "select_topk");

    const size_t n_out = static_cast<size_t>(m) * k_out;
    download(p.out_ids + r0 * k_out, d_ids.get(), n_out * sizeof(int32_t), stage.get(), stage_bytes, st);
    download(p.out_scores + r0 * k_out, d_scores.get(), n_out * sizeof(float), stage.get(), stage_bytes, st);
  }
}

}  // namespace cuda
}  // namespace affinity
