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
#include "cuda_common.cuh"

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
