// als_half_step (solver cg) on a CUDA GPU, as implicit's GPU least_squares_cg.
//
// Per call: the CSR (indptr, indices, data), the other side's factors Y (cols × f, float32),
// YᵀY (implicit, float64) and the warm-start rows out[row_start, row_end) → device once, through
// pinned memory. One kernel launch, one thread block per row u, T = max(64, ⌈f/32⌉·32) threads,
// thread k owning factor k:
//   r = b − A·x,  b = Σ_{c>0} c·y_i (implicit) | Σ r_ui·y_i (explicit);  p = r
//   cg_steps times: Ap = A·p; α = rᵀr / pᵀAp; x += αp; r −= αAp; β = r'ᵀr' / rᵀr; p = r + βp
// with A·v = (YᵀY + λI)v + Σ_i (|c_i| − 1)(y_i·v) y_i (explicit: λ·n_u·v + Σ_i (y_i·v) y_i).
// The per-entry dots y_i·v are computed a chunk of kChunk entries at a time, one warp per entry
// (shuffle reduction), into shared memory; every thread then adds its factor's share of the chunk,
// so a row costs two barriers per chunk rather than one reduction per entry.
// x, r, p, Ap live in shared memory in float64; scalar products are block reductions in float64;
// the reference's early exits (rᵀr < 1e-20 before or during the steps, pᵀAp ≤ 0) are kept.
// Rows without entries get 0. The rows are copied back to out when the kernel has finished.
#include "affinity/cuda_kernels.h"
#include "affinity/cuda_dense_score_topk.h"
#include "cuda_common.cuh"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace affinity {
namespace cuda {
namespace {

constexpr int kChunk = 256;  // entries whose dots are staged in shared memory at a time

/** Σ of v over the block (every thread gets the sum). `red` holds ≥ 33 doubles. */
__device__ double block_sum(double v, double* red) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  __syncthreads();  // red may still be read from the previous call
  if (lane == 0) red[warp] = v;
  __syncthreads();
  if (warp == 0) {
    double s = lane < warps ? red[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) s += __shfl_down_sync(0xffffffffu, s, o);
    if (lane == 0) red[32] = s;
  }
  __syncthreads();
  return red[32];
}

struct Row {
  const int32_t* indices;
  const float* data;
  int start, end;
};

/**
 * out_k = A·v for this thread's factor k (v in shared memory, all f of it). Every thread of the
 * block must call it (it synchronises); threads with k ≥ f return 0.
 */
__device__ double mul_a(const Row& row, const double* v, int f, const float* __restrict__ Y, const double* __restrict__ gram,
                        double ridge, bool implicit, double* dots) {
  const int k = threadIdx.x, lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  double o = 0;
  if (k < f) {
    o = ridge * v[k];
    // gram is symmetric: column k read as row k, so that the threads read consecutive addresses
    if (implicit)
      for (int j = 0; j < f; j++) o += gram[static_cast<size_t>(j) * f + k] * v[j];
  }
  for (int cs = row.start; cs < row.end; cs += kChunk) {
    const int cn = min(kChunk, row.end - cs);
    for (int e = warp; e < cn; e += warps) {
      const int q = cs + e;
      double w = 1;
      if (implicit) {
        const double c = row.data[q];
        w = (c < 0 ? -c : c) - 1;
      }
      double s = 0;
      if (w != 0) {
        const float* y = Y + static_cast<size_t>(row.indices[q]) * f;
        for (int j = lane; j < f; j += 32) s += static_cast<double>(y[j]) * v[j];
        for (int off = 16; off > 0; off >>= 1) s += __shfl_down_sync(0xffffffffu, s, off);
      }
      if (lane == 0) dots[e] = w * s;
    }
    __syncthreads();
    if (k < f) {
      for (int e = 0; e < cn; e++) {
        const double d = dots[e];
        if (d != 0) o += d * static_cast<double>(Y[static_cast<size_t>(row.indices[cs + e]) * f + k]);
      }
    }
    __syncthreads();  // dots is rewritten by the next chunk
  }
  return o;
}

/** One block per row u = row0 + blockIdx.x; X holds rows [row0, row0 + gridDim.x) (row-major, f each). */
__global__ void __launch_bounds__(1024) als_cg_rows(const int32_t* __restrict__ indptr, const int32_t* __restrict__ indices, const float* __restrict__ data,
                            const float* __restrict__ Y, const double* __restrict__ gram, int f, double lambda, bool implicit,
                            int steps, long long row0, float* X) {
  extern __shared__ double sh[];
  double* x = sh;
  double* r = sh + f;
  double* p = sh + 2 * f;
  double* dots = sh + 3 * f;  // kChunk
  double* red = dots + kChunk;  // 33
  const long long u = row0 + blockIdx.x;
  float* xo = X + static_cast<size_t>(blockIdx.x) * f;
  const int k = threadIdx.x;
  const Row row{indices, data, indptr[u], indptr[u + 1]};
  if (row.start == row.end) {
    if (k < f) xo[k] = 0.0f;
    return;
  }
  const double ridge = implicit ? lambda : lambda * static_cast<double>(row.end - row.start);
  if (k < f) x[k] = xo[k];
  __syncthreads();

  // r = b − A x
  double rk = -mul_a(row, x, f, Y, gram, ridge, implicit, dots);
  if (k < f) {
    for (int q = row.start; q < row.end; q++) {
      const double c = data[q];
      if (!implicit || c > 0) rk += c * static_cast<double>(Y[static_cast<size_t>(indices[q]) * f + k]);
    }
    r[k] = rk;
    p[k] = rk;
  }
  double rsold = block_sum(k < f ? rk * rk : 0.0, red);  // its barriers also publish r and p
  if (rsold < 1e-20) return;  // out keeps the start values, as the reference
  for (int it = 0; it < steps; it++) {
    const double apk = mul_a(row, p, f, Y, gram, ridge, implicit, dots);
    const double pap = block_sum(k < f ? p[k] * apk : 0.0, red);
    if (!(pap > 0)) break;
    const double alpha = rsold / pap;
    double rn = 0;
    if (k < f) {
      x[k] += alpha * p[k];
      r[k] -= alpha * apk;
      rn = r[k] * r[k];
    }
    const double rsnew = block_sum(rn, red);
    if (rsnew < 1e-20) break;
    const double beta = rsnew / rsold;
    if (k < f) p[k] = r[k] + beta * p[k];
    __syncthreads();  // p is read by every thread in the next mul_a
    rsold = rsnew;
  }
  if (k < f) xo[k] = static_cast<float>(x[k]);
}

}  // namespace

std::string als_half_step_unsupported(const AlsHalfStepParams& p) {
  if (!p.cg) return "solver 'cholesky' is not implemented on CUDA (solver 'cg' is); use the CPU backend";
  if (p.row_loss || !p.solve) return "the loss terms (loss: true) are not computed on CUDA; use the CPU backend";
  if (p.implicit && !p.gram) return "mode implicit needs gram = gramian(other) on CUDA";
  if (p.factors > kMaxAlsFactors)
    return std::to_string(p.factors) + " factors exceed the CUDA kernel's " + std::to_string(kMaxAlsFactors);
  return "";
}

void als_half_step(const AlsHalfStepParams& p) {
  const std::string problem = validate_als_half_step(p);  // the CPU core's checks
  if (!problem.empty()) throw std::invalid_argument("alsHalfStep: " + problem);
  const std::string unsupported = als_half_step_unsupported(p);
  if (!unsupported.empty()) throw std::invalid_argument("alsHalfStep: " + unsupported);
  const int64_t range = p.row_end - p.row_start;
  if (range == 0) return;
  if (range > 0x7fffffffLL) throw std::invalid_argument("alsHalfStep: row range too large for one CUDA grid");
  const int f = static_cast<int>(p.factors);
  const int64_t q0 = p.indptr[p.row_start], q1 = p.indptr[p.row_end];
  const int64_t nnz = q1 - q0;

  check(cudaSetDevice(chosen_device()), "cudaSetDevice");
  Stream stream;
  const cudaStream_t st = stream.s;

  // the range's slice of the CSR, indptr made relative to its first entry
  std::vector<int32_t> indptr(static_cast<size_t>(range) + 1);
  for (int64_t i = 0; i <= range; i++) indptr[i] = static_cast<int32_t>(p.indptr[p.row_start + i] - q0);
  const size_t y_count = static_cast<size_t>(p.cols) * f;
  const size_t x_count = static_cast<size_t>(range) * f;

  auto d_indptr = device_alloc<int32_t>(indptr.size(), "cudaMalloc (indptr)");
  auto d_indices = device_alloc<int32_t>(static_cast<size_t>(nnz), "cudaMalloc (indices)");
  auto d_data = device_alloc<float>(static_cast<size_t>(nnz), "cudaMalloc (data)");
  auto d_y = device_alloc<float>(y_count, "cudaMalloc (other factors)");
  DevicePtr<double> d_gram;
  if (p.implicit) d_gram = device_alloc<double>(static_cast<size_t>(f) * f, "cudaMalloc (gram)");
  auto d_x = device_alloc<float>(x_count, "cudaMalloc (factors)");
  const size_t stage_bytes = size_t(4) << 20;
  auto stage = pinned_alloc<char>(stage_bytes, "cudaMallocHost (staging)");

  upload(d_indptr.get(), indptr.data(), indptr.size() * 4, stage.get(), stage_bytes, st);
  if (nnz > 0) {
    upload(d_indices.get(), p.indices + q0, static_cast<size_t>(nnz) * 4, stage.get(), stage_bytes, st);
    upload(d_data.get(), p.data + q0, static_cast<size_t>(nnz) * 4, stage.get(), stage_bytes, st);
  }
  if (y_count > 0) upload(d_y.get(), p.other, y_count * 4, stage.get(), stage_bytes, st);
  if (p.implicit) upload(d_gram.get(), p.gram, static_cast<size_t>(f) * f * 8, stage.get(), stage_bytes, st);
  upload(d_x.get(), p.out + p.row_start * f, x_count * 4, stage.get(), stage_bytes, st);

  const int threads = std::max(64, (f + 31) / 32 * 32);
  const size_t shmem = (static_cast<size_t>(3) * f + kChunk + 33) * sizeof(double);
  if (shmem > 48 * 1024)
    check(cudaFuncSetAttribute(als_cg_rows, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shmem)), "cudaFuncSetAttribute");
  als_cg_rows<<<static_cast<unsigned>(range), threads, shmem, st>>>(d_indptr.get(), d_indices.get(), d_data.get(), d_y.get(), d_gram.get(), f,
                                                                    p.regularization, p.implicit, static_cast<int>(std::min<int64_t>(p.cg_steps, 1 << 30)),
                                                                    0LL, d_x.get());
  check(cudaGetLastError(), "als_cg_rows");
  check(cudaStreamSynchronize(st), "als_cg_rows");
  download(p.out + p.row_start * f, d_x.get(), x_count * 4, stage.get(), stage_bytes, st);
}

}  // namespace cuda
}  // namespace affinity
