// The neural-network kernels of affinity/nn.h on a CUDA GPU, except spdSolve (spd_solve.cu).
// Contract, numerics and errors: affinity/cuda_nn.h; formulas: src/kernels/nn/*.ts.
//
// Every call: validate (the CPU core's validate_*) → upload what the row range reads (through
// pinned staging) → launch on one stream → copy back exactly the range's output rows. The
// kernels are deliberately plain (one thread per element, or one block per row with float64 block
// reductions): every formula is the reference's, written once more in float64.
//
//   elementwise kernels (grid-stride loops, 256 threads):  biasActivation, activationBackward,
//       sigmoidCrossEntropy, embeddingGather, dropout, adamUpdate, elementwise
//   one block per row (32–256 threads, float64 block sums/maxima in a fixed order):
//       layerNorm, layerNormBackward, maskedSoftmax, softmaxBackward, softmaxCrossEntropy,
//       segmentSum (a block per group, a thread per column, entries in order)
//   column reductions in two passes (per chunk of rows: float64 partial sums of 32 columns × 8
//       row lanes; then the chunks added in order): columnSums, layerNormParamGrad
#include "affinity/cuda_nn.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda_common.cuh"
#include "nn_call.cuh"

namespace affinity {
namespace cuda {
namespace {

constexpr int kThreads = 256;  // elementwise kernels; the widest row kernels

template <class P>
void validate_or_throw(const char* kernel, const P& p, std::string (*validate)(const P&)) {
  const std::string problem = validate(p);
  if (!problem.empty()) throw std::invalid_argument(std::string(kernel) + ": " + problem);
}

/** Threads of a row kernel's block for rows of `cols` elements: a multiple of 32 in [32, 256]. */
int row_threads(int64_t cols) {
  return static_cast<int>(std::min<int64_t>(kThreads, std::max<int64_t>(32, (cols + 31) / 32 * 32)));
}

/** Blocks of a row kernel (one block per row, a grid-stride loop beyond 65536 rows). */
unsigned row_blocks(int64_t rows) { return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(rows, 65536))); }

/**
 * The launch of one kernel of a call: throws Cancelled if the call was cancelled, queues
 * kernel<<<grid, block>>>(args...) on the call's stream and checks the launch, naming `what`.
 */
template <class... Params, class... Args>
void launch(GpuCall& call, const char* what, unsigned grid, int block, void (*kernel)(Params...), Args... args) {
  throw_if_cancelled();
  kernel<<<grid, block, 0, call.stream()>>>(args...);
  call.launched(what);
}

/** launch() of a row kernel over `rows` rows of `cols` elements (row_blocks, row_threads). */
template <class... Params, class... Args>
void launch_rows(GpuCall& call, const char* what, int64_t rows, int64_t cols, void (*kernel)(Params...), Args... args) {
  launch(call, what, row_blocks(rows), row_threads(cols), kernel, args...);
}

/** launch() of an element kernel over n elements (blocks_for(n, kThreads) blocks of kThreads). */
template <class... Params, class... Args>
void launch_elements(GpuCall& call, const char* what, int64_t n, void (*kernel)(Params...), Args... args) {
  launch(call, what, blocks_for(n, kThreads), kThreads, kernel, args...);
}

// ------------------------------------------------------------------ device helpers

__device__ __forceinline__ int64_t first_index() { return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int64_t grid_stride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }
__device__ __forceinline__ int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/**
 * The sum (Max: the maximum, NaN ignored) of v over the block, returned to every thread. Every
 * thread of the block must call it; blockDim.x is a multiple of 32 (≤ 1024); red holds 33
 * doubles of shared memory. The order of the additions is fixed by the block size alone.
 */
template <bool Max>
__device__ double block_reduce(double v, double* red) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  for (int o = 16; o > 0; o >>= 1) {
    const double w = __shfl_down_sync(0xffffffffu, v, o);
    if constexpr (Max) v = fmax(v, w);
    else v += w;
  }
  __syncthreads();  // red may still be read from the previous call
  if (lane == 0) red[warp] = v;
  __syncthreads();
  if (warp == 0) {
    double s = lane < warps ? red[lane] : (Max ? -INFINITY : 0.0);
    for (int o = 16; o > 0; o >>= 1) {
      const double w = __shfl_down_sync(0xffffffffu, s, o);
      if constexpr (Max) s = fmax(s, w);
      else s += w;
    }
    if (lane == 0) red[32] = s;
  }
  __syncthreads();
  return red[32];
}

// ------------------------------------------------------------------ activations (activation.ts)
constexpr double kGeluC = 0.79788456080286535588;  // √(2/π)
constexpr double kGeluA = 0.044715;

/** σ(z), from e^{−|z|} on both sides (never overflows). */
__device__ double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + exp(-z));
  const double e = exp(z);
  return e / (1.0 + e);
}

__device__ double act_value(Activation a, double z) {
  switch (a) {
    case Activation::Identity: return z;
    case Activation::Relu: return z > 0 ? z : 0.0;
    case Activation::Sigmoid: return sigmoid(z);
    case Activation::Tanh: return tanh(z);
    case Activation::Gelu: return 0.5 * z * (1.0 + tanh(kGeluC * (z + kGeluA * z * z * z)));
  }
  return 0.0;
}

__device__ double act_derivative(Activation a, double z) {
  switch (a) {
    case Activation::Identity: return 1.0;
    case Activation::Relu: return z > 0 ? 1.0 : 0.0;
    case Activation::Sigmoid: {
      const double s = sigmoid(z);
      return s * (1.0 - s);
    }
    case Activation::Tanh: {
      const double t = tanh(z);
      return 1.0 - t * t;
    }
    case Activation::Gelu: {
      const double t = tanh(kGeluC * (z + kGeluA * z * z * z));
      return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * kGeluC * (1.0 + 3.0 * kGeluA * z * z);
    }
  }
  return 0.0;
}

/** out_i = act(x_i + bias_{i mod cols}), or with grad_out: grad_out_i·act'(x_i + bias_{i mod cols}). */
__global__ void __launch_bounds__(kThreads) bias_activation_elements(const float* __restrict__ x, const float* __restrict__ bias,
                                                                     int64_t cols, int64_t n, Activation act,
                                                                     const float* __restrict__ grad_out, float* __restrict__ out) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const double z = static_cast<double>(x[i]) + (bias ? static_cast<double>(bias[i % cols]) : 0.0);
    out[i] = static_cast<float>(grad_out ? static_cast<double>(grad_out[i]) * act_derivative(act, z) : act_value(act, z));
  }
}

/** Both activation kernels: x (and grad_out) rows of the range, bias whole. */
void run_bias_activation(const char* name, const BiasActivationParams& p, const float* grad_out) {
  const int64_t o = p.row_start * p.cols, n = (p.row_end - p.row_start) * p.cols;
  if (n == 0) return;
  GpuCall call(name);
  const float* x = call.upload(p.x + o, n);
  const float* bias = p.bias ? call.upload(p.bias, p.cols) : nullptr;
  const float* dy = grad_out ? call.upload(grad_out + o, n) : nullptr;
  float* out = call.alloc<float>(n);
  launch_elements(call, name, n, bias_activation_elements, x, bias, p.cols, n, p.activation, dy, out);
  call.download(p.out + o, out, n);
}

// ------------------------------------------------------------------ column reductions
constexpr int kColumnTile = 32, kColumnLanes = 8;
constexpr int64_t kChunkRows = 1024;

/** The terms of a column reduction: x_rj (dy null: columnSums), or dy_rj·(x_rj − μ_r)·rstd_r and dy_rj. */
struct ColumnTerms {
  const float* x;
  const float* dy;
  const float* mean;
  const float* rstd;
  int64_t rows, cols;
};

/**
 * Chunk blockIdx.y (rows [chunk·chunk_rows, +chunk_rows)) × column jj of the w columns from c0:
 * the float64 sums of its terms into partial0/partial1[chunk·w + jj]. Each of the 8 row lanes
 * sums every 8th row; the lane sums are added in lane order.
 */
__global__ void __launch_bounds__(kColumnTile * kColumnLanes) column_partials(ColumnTerms t, int64_t c0, int64_t w, int64_t chunk_rows,
                                                                              double* __restrict__ partial0, double* __restrict__ partial1) {
  __shared__ double s0[kColumnLanes][kColumnTile], s1[kColumnLanes][kColumnTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t jj = static_cast<int64_t>(blockIdx.x) * kColumnTile + tx, chunk = blockIdx.y;
  const int64_t r_begin = chunk * chunk_rows, r_end = min64(t.rows, r_begin + chunk_rows);
  double a = 0, b = 0;
  if (jj < w) {
    const int64_t j = c0 + jj;
    for (int64_t r = r_begin + ty; r < r_end; r += kColumnLanes) {
      const double xv = t.x[r * t.cols + j];
      if (t.dy) {
        const double g = t.dy[r * t.cols + j];
        a += g * (xv - static_cast<double>(t.mean[r])) * static_cast<double>(t.rstd[r]);
        b += g;
      } else {
        a += xv;
      }
    }
  }
  s0[ty][tx] = a;
  s1[ty][tx] = b;
  __syncthreads();
  if (ty == 0 && jj < w) {
    double sa = 0, sb = 0;
    for (int k = 0; k < kColumnLanes; k++) {
      sa += s0[k][tx];
      sb += s1[k][tx];
    }
    partial0[chunk * w + jj] = sa;
    if (partial1) partial1[chunk * w + jj] = sb;
  }
}

/** out[jj] = Σ_chunk partial[chunk·w + jj], chunks in order, rounded once. */
__global__ void __launch_bounds__(kThreads) column_totals(const double* __restrict__ partial, int64_t chunks, int64_t w, float* __restrict__ out) {
  for (int64_t jj = first_index(); jj < w; jj += grid_stride()) {
    double s = 0;
    for (int64_t c = 0; c < chunks; c++) s += partial[c * w + jj];
    out[jj] = static_cast<float>(s);
  }
}

/** Columns [c0, c0 + w) of the reduction into out0 (and out1 for the dy sums), host arrays of w. */
void column_reduce(GpuCall& call, const ColumnTerms& t, int64_t c0, int64_t w, float* out0, float* out1) {
  // at most 65535 chunks (gridDim.y); rows = 0 is one empty chunk, so the sums are written as 0
  const int64_t chunk_rows = std::max<int64_t>(kChunkRows, (t.rows + 65534) / 65535);
  const int64_t chunks = std::max<int64_t>(1, (t.rows + chunk_rows - 1) / chunk_rows);
  double* p0 = call.alloc<double>(chunks * w);
  double* p1 = out1 ? call.alloc<double>(chunks * w) : nullptr;
  float* d0 = call.alloc<float>(w);
  float* d1 = out1 ? call.alloc<float>(w) : nullptr;
  throw_if_cancelled();
  const dim3 block(kColumnTile, kColumnLanes);
  const dim3 grid(static_cast<unsigned>((w + kColumnTile - 1) / kColumnTile), static_cast<unsigned>(chunks));
  column_partials<<<grid, block, 0, call.stream()>>>(t, c0, w, chunk_rows, p0, p1);
  call.launched("column_partials");
  column_totals<<<blocks_for(w, kThreads), kThreads, 0, call.stream()>>>(p0, chunks, w, d0);
  call.launched("column_totals");
  if (out1) {
    column_totals<<<blocks_for(w, kThreads), kThreads, 0, call.stream()>>>(p1, chunks, w, d1);
    call.launched("column_totals");
  }
  call.download(out0, d0, w);
  if (out1) call.download(out1, d1, w);
}

// ------------------------------------------------------------------ layer norm (layerNorm.ts)
/** Row r: μ, σ² (biased) in float64; mean, rstd stored as float32; y from the stored values. */
__global__ void __launch_bounds__(kThreads) layer_norm_rows(const float* __restrict__ x, const float* __restrict__ gamma,
                                                            const float* __restrict__ beta, int64_t rows, int64_t cols, double eps,
                                                            float* __restrict__ y, float* __restrict__ mean, float* __restrict__ rstd) {
  __shared__ double red[33];
  const double n = static_cast<double>(cols);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    double s = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += xr[j];
    s = block_reduce<false>(s, red);
    const double mu = cols > 0 ? s / n : 0.0;
    double q = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const double d = xr[j] - mu;
      q += d * d;
    }
    q = block_reduce<false>(q, red);
    const float m32 = static_cast<float>(mu), rs32 = static_cast<float>(1.0 / sqrt((cols > 0 ? q / n : 0.0) + eps));
    if (threadIdx.x == 0) {
      mean[r] = m32;
      rstd[r] = rs32;
    }
    const double m = m32, rs = rs32;
    float* yr = y + r * cols;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      yr[j] = static_cast<float>(static_cast<double>(gamma[j]) * ((xr[j] - m) * rs) + static_cast<double>(beta[j]));
  }
}

/** Row r: g = dy·γ; dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), x̂ = (x − μ)·rstd. */
__global__ void __launch_bounds__(kThreads) layer_norm_backward_rows(const float* __restrict__ x, const float* __restrict__ gamma,
                                                                     const float* __restrict__ mean, const float* __restrict__ rstd,
                                                                     const float* __restrict__ dy, int64_t rows, int64_t cols,
                                                                     float* __restrict__ dx) {
  __shared__ double red[33];
  const double n = static_cast<double>(cols);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    const float* gr = dy + r * cols;
    const double m = mean[r], rs = rstd[r];
    double sg = 0, sgx = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const double g = static_cast<double>(gr[j]) * gamma[j];
      sg += g;
      sgx += g * (xr[j] - m) * rs;
    }
    sg = block_reduce<false>(sg, red);
    sgx = block_reduce<false>(sgx, red);
    const double mg = cols > 0 ? sg / n : 0.0, mgx = cols > 0 ? sgx / n : 0.0;
    float* o = dx + r * cols;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const double xhat = (xr[j] - m) * rs;
      o[j] = static_cast<float>(rs * (static_cast<double>(gr[j]) * gamma[j] - mg - xhat * mgx));
    }
  }
}

// ------------------------------------------------------------------ softmax (softmax.ts)
struct SoftmaxMask {
  const uint8_t* key_valid;  // sequences × cols, or null
  int64_t sequences;
  int64_t queries;
  bool causal;
};

/**
 * Row r of the range (absolute row row0 + r: query i of block e): p_j = exp(s·x_j − m)/Σ over the
 * unmasked keys, 0 on masked keys; a row whose sum is not > 0 (every key masked, or a NaN/±inf
 * score) is all zeros, as the reference.
 */
__global__ void __launch_bounds__(kThreads) masked_softmax_rows(const float* __restrict__ scores, int64_t rows, int64_t cols, int64_t row0,
                                                                double scale, SoftmaxMask mask, float* __restrict__ out) {
  __shared__ double red[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t ra = row0 + r, block = ra / mask.queries, i = ra - block * mask.queries;
    const int64_t last = mask.causal ? min64(cols, i + 1) : cols;  // keys [0, last) pass the causal mask
    const uint8_t* valid = mask.key_valid ? mask.key_valid + (block % mask.sequences) * cols : nullptr;
    const float* xr = scores + r * cols;
    double mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < last; j += blockDim.x)
      if (!valid || valid[j] != 0) mx = fmax(mx, scale * xr[j]);
    mx = block_reduce<true>(mx, red);
    double sum = 0;
    for (int64_t j = threadIdx.x; j < last; j += blockDim.x)
      if (!valid || valid[j] != 0) sum += exp(scale * xr[j] - mx);
    sum = block_reduce<false>(sum, red);
    float* o = out + r * cols;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const bool on = j < last && (!valid || valid[j] != 0);
      o[j] = on && sum > 0 ? static_cast<float>(exp(scale * xr[j] - mx) / sum) : 0.0f;
    }
  }
}

/** dx_j = s·p_j·(dp_j − Σ_k dp_k·p_k). */
__global__ void __launch_bounds__(kThreads) softmax_backward_rows(const float* __restrict__ probs, const float* __restrict__ dp, int64_t rows,
                                                                  int64_t cols, double scale, float* __restrict__ dx) {
  __shared__ double red[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* pr = probs + r * cols;
    const float* gr = dp + r * cols;
    double dot = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) dot += static_cast<double>(gr[j]) * pr[j];
    dot = block_reduce<false>(dot, red);
    float* o = dx + r * cols;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) o[j] = static_cast<float>(scale * pr[j] * (gr[j] - dot));
  }
}

// ------------------------------------------------------------------ losses (losses.ts)
/**
 * Row r: lse = max + log Σ e^{z − max}; targets: loss = lse − z_t, grad = s·(e^{z − lse} − onehot(t))
 * (t = −1: loss 0, grad 0); weights: loss = Σ w·(lse − z), grad = s·((Σ w)·e^{z − lse} − w).
 */
__global__ void __launch_bounds__(kThreads) softmax_cross_entropy_rows(const float* __restrict__ z, const int32_t* __restrict__ targets,
                                                                       const float* __restrict__ weights, int64_t rows, int64_t cols,
                                                                       double s, float* __restrict__ loss, float* __restrict__ grad) {
  __shared__ double red[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* zr = z + r * cols;
    float* g = grad + r * cols;
    const int32_t t = targets ? targets[r] : 0;
    if ((targets && t < 0) || cols == 0) {  // an ignored row (the branch is the same for the whole block)
      if (threadIdx.x == 0) loss[r] = 0.0f;
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) g[j] = 0.0f;
      continue;
    }
    double mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) mx = fmax(mx, static_cast<double>(zr[j]));
    mx = block_reduce<true>(mx, red);
    double sum = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += exp(zr[j] - mx);
    sum = block_reduce<false>(sum, red);
    const double lse = mx + log(sum);
    if (targets) {
      if (threadIdx.x == 0) loss[r] = static_cast<float>(lse - zr[t]);
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) g[j] = static_cast<float>(s * (exp(zr[j] - lse) - (j == t ? 1.0 : 0.0)));
    } else {
      const float* w = weights + r * cols;
      double total = 0, l = 0;
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
        const double wj = w[j];
        total += wj;
        l += wj * (lse - zr[j]);
      }
      total = block_reduce<false>(total, red);
      l = block_reduce<false>(l, red);
      if (threadIdx.x == 0) loss[r] = static_cast<float>(l);
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) g[j] = static_cast<float>(s * (total * exp(zr[j] - lse) - w[j]));
    }
  }
}

/** loss = w·(max(z, 0) − z·y + log(1 + e^{−|z|})), grad = s·w·(σ(z) − y); weights null: w = 1. */
__global__ void __launch_bounds__(kThreads) sigmoid_cross_entropy_elements(const float* __restrict__ z, const float* __restrict__ y,
                                                                           const float* __restrict__ weights, int64_t n, double s,
                                                                           float* __restrict__ loss, float* __restrict__ grad) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const double zi = z[i], yi = y[i], wi = weights ? static_cast<double>(weights[i]) : 1.0;
    const double e = exp(-fabs(zi));
    const double sig = zi >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    loss[i] = static_cast<float>(wi * ((zi > 0 ? zi : 0.0) - zi * yi + log1p(e)));
    grad[i] = static_cast<float>(s * wi * (sig - yi));
  }
}

// ------------------------------------------------------------------ embeddings (embedding.ts)
/** out[r·dim + j] = table[ids[r]·dim + j] (ids[r] = −1: 0) for the n = ids × dim elements. */
__global__ void __launch_bounds__(kThreads) gather_rows(const float* __restrict__ table, const int32_t* __restrict__ ids, int64_t dim,
                                                        int64_t n, float* __restrict__ out) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const int64_t r = i / dim, j = i - r * dim;
    const int32_t id = ids[r];
    out[i] = id < 0 ? 0.0f : table[static_cast<int64_t>(id) * dim + j];
  }
}

/** Group g (a block), column j (a thread): Σ_q w_q·src[positions[q]·dim + j] over the group's entries in order. */
__global__ void __launch_bounds__(kThreads) segment_sum_groups(const float* __restrict__ src, const int32_t* __restrict__ offsets,
                                                               const int32_t* __restrict__ positions, const float* __restrict__ weights,
                                                               int64_t groups, int64_t dim, float* __restrict__ out) {
  for (int64_t g = blockIdx.x; g < groups; g += gridDim.x) {
    const int32_t q0 = offsets[g], q1 = offsets[g + 1];
    for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) {
      double acc = 0;
      for (int32_t q = q0; q < q1; q++) {
        const int32_t row = positions[q];
        if (row < 0) continue;
        acc += (weights ? static_cast<double>(weights[q]) : 1.0) * static_cast<double>(src[static_cast<int64_t>(row) * dim + j]);
      }
      out[g * dim + j] = static_cast<float>(acc);
    }
  }
}

// ------------------------------------------------------------------ dropout (dropout.ts)
/** MurmurHash3's 32-bit finalizer (affinity::fmix32, on the device). */
__device__ __forceinline__ uint32_t fmix32_device(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return h;
}

/** Element i of the range (counter first + i, mod 2³²): kept when fmix32(key ^ fmix32(counter)) ≥ threshold. */
__global__ void __launch_bounds__(kThreads) dropout_elements(const float* __restrict__ x, int64_t n, uint32_t first, uint32_t key,
                                                             uint32_t threshold, double scale, float* __restrict__ out) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const uint32_t u = fmix32_device(key ^ fmix32_device(first + static_cast<uint32_t>(i)));
    // the product in float64 rounded once (no contraction: __dmul_rn), as the reference
    out[i] = u >= threshold ? __double2float_rn(__dmul_rn(static_cast<double>(x[i]), scale)) : 0.0f;
  }
}

// ------------------------------------------------------------------ Adam (adam.ts)
struct AdamConstants {
  double lr, beta1, beta2, eps, weight_decay, grad_scale, c1, c2;  // c1 = 1 − β1^t, c2 = 1 − β2^t
  bool decoupled;
};

/** One Adam/AdamW step of n elements in float64 (params, m, v updated in place). */
__global__ void __launch_bounds__(kThreads) adam_elements(float* __restrict__ params, const float* __restrict__ grads, float* __restrict__ m,
                                                          float* __restrict__ v, int64_t n, AdamConstants k) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    double theta = params[i];
    double g = k.grad_scale * static_cast<double>(grads[i]);
    if (!k.decoupled) g += k.weight_decay * theta;
    const double mi = k.beta1 * m[i] + (1.0 - k.beta1) * g, vi = k.beta2 * v[i] + (1.0 - k.beta2) * g * g;
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
    if (k.decoupled) theta -= k.lr * k.weight_decay * theta;
    params[i] = static_cast<float>(theta - (k.lr * (mi / k.c1)) / (sqrt(vi / k.c2) + k.eps));
  }
}

// ------------------------------------------------------------------ elementwise (elementwise.ts)
/** axpby: α·x + β·y (y null: α·x); mul: α·x·y — float64 without contraction, rounded once. */
__global__ void __launch_bounds__(kThreads) elementwise_elements(ElementwiseOp op, const float* __restrict__ x, const float* __restrict__ y,
                                                                 int64_t n, double alpha, double beta, float* __restrict__ out) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const double xv = x[i];
    double r;
    if (op == ElementwiseOp::Mul) r = __dmul_rn(__dmul_rn(alpha, xv), static_cast<double>(y[i]));
    else if (y) r = __dadd_rn(__dmul_rn(alpha, xv), __dmul_rn(beta, static_cast<double>(y[i])));
    else r = __dmul_rn(alpha, xv);
    out[i] = __double2float_rn(r);
  }
}

}  // namespace

// ================================================================== the kernels (affinity/cuda_nn.h)

void bias_activation(const BiasActivationParams& p) {
  validate_or_throw("biasActivation", p, &validate_bias_activation);
  run_bias_activation("biasActivation", p, nullptr);
}

void activation_backward(const ActivationBackwardParams& p) {
  validate_or_throw("activationBackward", p, &validate_activation_backward);
  run_bias_activation("activationBackward", p, p.grad_out);
}

void column_sums(const ColumnSumsParams& p) {
  validate_or_throw("columnSums", p, &validate_column_sums);
  const int64_t c0 = p.row_start, w = p.row_end - p.row_start;  // this kernel's rows are columns
  if (w == 0) return;
  GpuCall call("columnSums");
  const ColumnTerms t{call.upload(p.x, p.rows * p.cols), nullptr, nullptr, nullptr, p.rows, p.cols};
  column_reduce(call, t, c0, w, p.out + c0, nullptr);
}

void layer_norm(const LayerNormParams& p) {
  validate_or_throw("layerNorm", p, &validate_layer_norm);
  const int64_t r0 = p.row_start, rows = p.row_end - p.row_start, n = rows * p.cols;
  if (rows == 0) return;
  GpuCall call("layerNorm");
  const float* x = call.upload(p.x + r0 * p.cols, n);
  const float* gamma = call.upload(p.gamma, p.cols);
  const float* beta = call.upload(p.beta, p.cols);
  float* y = call.alloc<float>(n);
  float* mean = call.alloc<float>(rows);
  float* rstd = call.alloc<float>(rows);
  launch_rows(call, "layer_norm_rows", rows, p.cols, layer_norm_rows, x, gamma, beta, rows, p.cols, p.eps, y, mean, rstd);
  call.download(p.y + r0 * p.cols, y, n);
  call.download(p.mean + r0, mean, rows);
  call.download(p.rstd + r0, rstd, rows);
}

void layer_norm_backward(const LayerNormBackwardParams& p) {
  validate_or_throw("layerNormBackward", p, &validate_layer_norm_backward);
  const int64_t r0 = p.row_start, rows = p.row_end - p.row_start, n = rows * p.cols;
  if (n == 0) return;
  GpuCall call("layerNormBackward");
  const float* x = call.upload(p.x + r0 * p.cols, n);
  const float* gamma = call.upload(p.gamma, p.cols);
  const float* mean = call.upload(p.mean + r0, rows);
  const float* rstd = call.upload(p.rstd + r0, rows);
  const float* dy = call.upload(p.grad_out + r0 * p.cols, n);
  float* dx = call.alloc<float>(n);
  launch_rows(call, "layer_norm_backward_rows", rows, p.cols, layer_norm_backward_rows, x, gamma, mean, rstd, dy, rows, p.cols, dx);
  call.download(p.out + r0 * p.cols, dx, n);
}

void layer_norm_param_grad(const LayerNormParamGradParams& p) {
  validate_or_throw("layerNormParamGrad", p, &validate_layer_norm_param_grad);
  const int64_t c0 = p.row_start, w = p.row_end - p.row_start;  // this kernel's rows are columns
  if (w == 0) return;
  GpuCall call("layerNormParamGrad");
  const int64_t n = p.rows * p.cols;
  const ColumnTerms t{call.upload(p.x, n), call.upload(p.grad_out, n), call.upload(p.mean, p.rows), call.upload(p.rstd, p.rows), p.rows,
                      p.cols};
  column_reduce(call, t, c0, w, p.grad_gamma + c0, p.grad_beta + c0);
}

void masked_softmax(const MaskedSoftmaxParams& p) {
  validate_or_throw("maskedSoftmax", p, &validate_masked_softmax);
  const int64_t r0 = p.row_start, rows = p.row_end - p.row_start, n = rows * p.cols;
  if (n == 0) return;
  GpuCall call("maskedSoftmax");
  const float* scores = call.upload(p.scores + r0 * p.cols, n);
  SoftmaxMask mask{nullptr, 1, p.queries, p.causal};
  if (p.has_key_valid) {  // cols > 0 here; validate checked the length is a positive multiple of cols
    mask.key_valid = call.upload(p.key_valid, p.key_valid_length);
    mask.sequences = p.key_valid_length / p.cols;
  }
  float* out = call.alloc<float>(n);
  launch_rows(call, "masked_softmax_rows", rows, p.cols, masked_softmax_rows, scores, rows, p.cols, r0, p.scale, mask, out);
  call.download(p.out + r0 * p.cols, out, n);
}

void softmax_backward(const SoftmaxBackwardParams& p) {
  validate_or_throw("softmaxBackward", p, &validate_softmax_backward);
  const int64_t r0 = p.row_start, rows = p.row_end - p.row_start, n = rows * p.cols;
  if (n == 0) return;
  GpuCall call("softmaxBackward");
  const float* probs = call.upload(p.probs + r0 * p.cols, n);
  const float* dp = call.upload(p.grad_probs + r0 * p.cols, n);
  float* dx = call.alloc<float>(n);
  launch_rows(call, "softmax_backward_rows", rows, p.cols, softmax_backward_rows, probs, dp, rows, p.cols, p.scale, dx);
  call.download(p.out + r0 * p.cols, dx, n);
}

void softmax_cross_entropy(const SoftmaxCrossEntropyParams& p) {
  validate_or_throw("softmaxCrossEntropy", p, &validate_softmax_cross_entropy);
  const int64_t r0 = p.row_start, rows = p.row_end - p.row_start, n = rows * p.cols;
  if (rows == 0) return;
  GpuCall call("softmaxCrossEntropy");
  const float* z = call.upload(p.logits + r0 * p.cols, n);
  const int32_t* targets = p.use_targets ? call.upload(p.targets + r0, rows) : nullptr;
  const float* weights = p.use_targets ? nullptr : call.upload(p.target_weights + r0 * p.cols, n);
  float* loss = call.alloc<float>(rows);
  float* grad = call.alloc<float>(n);
  launch_rows(call, "softmax_cross_entropy_rows", rows, p.cols, softmax_cross_entropy_rows, z, targets, weights, rows, p.cols, p.grad_scale,
              loss, grad);
  call.download(p.loss + r0, loss, rows);
  call.download(p.grad + r0 * p.cols, grad, n);
}

void sigmoid_cross_entropy(const SigmoidCrossEntropyParams& p) {
  validate_or_throw("sigmoidCrossEntropy", p, &validate_sigmoid_cross_entropy);
  const int64_t i0 = p.row_start, n = p.row_end - p.row_start;  // rows are elements
  if (n == 0) return;
  GpuCall call("sigmoidCrossEntropy");
  const float* z = call.upload(p.logits + i0, n);
  const float* y = call.upload(p.targets + i0, n);
  const float* w = p.weights ? call.upload(p.weights + i0, n) : nullptr;
  float* loss = call.alloc<float>(n);
  float* grad = call.alloc<float>(n);
  launch_elements(call, "sigmoid_cross_entropy_elements", n, sigmoid_cross_entropy_elements, z, y, w, n, p.grad_scale, loss, grad);
  call.download(p.loss + i0, loss, n);
  call.download(p.grad + i0, grad, n);
}

void embedding_gather(const EmbeddingGatherParams& p) {
  validate_or_throw("embeddingGather", p, &validate_embedding_gather);
  const int64_t r0 = p.row_start, rows = p.row_end - p.row_start, n = rows * p.dim;  // rows are ids
  if (n == 0) return;
  GpuCall call("embeddingGather");
  const float* table = call.upload(p.table, p.vocab * p.dim);
  const int32_t* ids = call.upload(p.ids + r0, rows);
  float* out = call.alloc<float>(n);
  launch_elements(call, "gather_rows", n, gather_rows, table, ids, p.dim, n, out);
  call.download(p.out + r0 * p.dim, out, n);
}

void segment_sum(const SegmentSumParams& p) {
  validate_or_throw("segmentSum", p, &validate_segment_sum);
  const int64_t g0 = p.row_start, groups = p.row_end - p.row_start, n = groups * p.dim;  // rows are groups
  if (n == 0) return;
  // the range's entries [offsets[g0], offsets[g1]), offsets made relative to the first
  const int32_t q0 = p.offsets[g0], q1 = p.offsets[p.row_end];
  std::vector<int32_t> offsets(static_cast<size_t>(groups) + 1);
  for (int64_t g = 0; g <= groups; g++) offsets[static_cast<size_t>(g)] = p.offsets[g0 + g] - q0;
  GpuCall call("segmentSum");
  const float* src = call.upload(p.src, p.rows * p.dim);
  const int32_t* d_offsets = call.upload(offsets.data(), groups + 1);
  const int32_t* positions = call.upload(p.positions + q0, q1 - q0);
  const float* weights = p.weights ? call.upload(p.weights + q0, q1 - q0) : nullptr;
  float* out = call.alloc<float>(n);
  launch_rows(call, "segment_sum_groups", groups, p.dim, segment_sum_groups, src, d_offsets, positions, weights, groups, p.dim, out);
  call.download(p.out + g0 * p.dim, out, n);
}

void dropout(const DropoutParams& p) {
  validate_or_throw("dropout", p, &validate_dropout);
  const int64_t i0 = p.row_start, n = p.row_end - p.row_start;  // rows are elements
  if (n == 0) return;
  // as the CPU core: threshold ⌊rate·2³²⌋ (capped at 2³² − 1), counter (offset + i) mod 2³²
  const uint32_t key = fmix32(p.seed ^ 0x9E3779B9u);
  const double t = std::floor(p.rate * 4294967296.0);
  const uint32_t threshold = t >= 4294967295.0 ? 0xFFFFFFFFu : static_cast<uint32_t>(t);
  const double scale = 1.0 / (1.0 - p.rate);
  const uint32_t first = p.offset + static_cast<uint32_t>(i0);
  GpuCall call("dropout");
  const float* x = call.upload(p.x + i0, n);
  float* out = call.alloc<float>(n);
  launch_elements(call, "dropout_elements", n, dropout_elements, x, n, first, key, threshold, scale, out);
  call.download(p.out + i0, out, n);
}

void adam_update(const AdamUpdateParams& p) {
  validate_or_throw("adamUpdate", p, &validate_adam_update);
  const int64_t r0 = p.row_start, rows = p.row_end - p.row_start, dim = p.dim, n = rows * dim;
  if (n == 0) return;
  const AdamConstants k{p.lr,
                        p.beta1,
                        p.beta2,
                        p.eps,
                        p.weight_decay,
                        p.grad_scale,
                        1.0 - std::pow(p.beta1, static_cast<double>(p.step)),
                        1.0 - std::pow(p.beta2, static_cast<double>(p.step)),
                        p.decoupled};
  // dense: the range's elements are contiguous. lazy: rows row_ids[r0 .. r1) of params, m and v
  // are gathered here into contiguous copies and scattered back after the step, so that no other
  // row is written.
  std::vector<float> hp, hm, hv;
  float* params = p.params + r0 * dim;
  float* m = p.m + r0 * dim;
  float* v = p.v + r0 * dim;
  if (p.lazy) {
    hp.resize(static_cast<size_t>(n));
    hm.resize(static_cast<size_t>(n));
    hv.resize(static_cast<size_t>(n));
    for (int64_t r = 0; r < rows; r++) {
      const int64_t from = static_cast<int64_t>(p.row_ids[r0 + r]) * dim, to = r * dim;
      std::copy(p.params + from, p.params + from + dim, hp.begin() + to);
      std::copy(p.m + from, p.m + from + dim, hm.begin() + to);
      std::copy(p.v + from, p.v + from + dim, hv.begin() + to);
    }
    params = hp.data();
    m = hm.data();
    v = hv.data();
  }
  GpuCall call("adamUpdate");
  float* d_params = call.upload(params, n);
  float* d_m = call.upload(m, n);
  float* d_v = call.upload(v, n);
  const float* d_grads = call.upload(p.grads + r0 * dim, n);  // grads row r is the range's row r (dense and lazy)
  launch_elements(call, "adam_elements", n, adam_elements, d_params, d_grads, d_m, d_v, n, k);
  call.download(params, d_params, n);
  call.download(m, d_m, n);
  call.download(v, d_v, n);
  if (p.lazy) {
    for (int64_t r = 0; r < rows; r++) {
      const int64_t to = static_cast<int64_t>(p.row_ids[r0 + r]) * dim, from = r * dim;
      std::copy(hp.begin() + from, hp.begin() + from + dim, p.params + to);
      std::copy(hm.begin() + from, hm.begin() + from + dim, p.m + to);
      std::copy(hv.begin() + from, hv.begin() + from + dim, p.v + to);
    }
  }
}

void elementwise(const ElementwiseParams& p) {
  validate_or_throw("elementwise", p, &validate_elementwise);
  const int64_t i0 = p.row_start, n = p.row_end - p.row_start;  // rows are elements
  if (n == 0) return;
  GpuCall call("elementwise");
  const float* x = call.upload(p.x + i0, n);
  const float* y = p.y ? call.upload(p.y + i0, n) : nullptr;
  float* out = call.alloc<float>(n);
  launch_elements(call, "elementwise_elements", n, elementwise_elements, p.op, x, y, n, p.alpha, p.beta, out);
  call.download(p.out + i0, out, n);
}

}  // namespace cuda
}  // namespace affinity
