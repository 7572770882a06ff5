// gemm on the GPU via cuBLAS (see affinity/cuda_gemm.h). Built into affinity_cuda_core always;
// AFFINITY_HAVE_CUBLAS (set by CMake when CUDA::cublas is found) decides whether it can run.
#include "affinity/cuda_gemm.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#if AFFINITY_HAVE_CUBLAS
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdlib>
#include <memory>
#endif

namespace affinity {
namespace cuda {

#if AFFINITY_HAVE_CUBLAS
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("CUDA ") + what + ": " + cudaGetErrorString(e));
}
void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) throw std::runtime_error(std::string("cuBLAS ") + what + ": " + cublasGetStatusString(s));
}

struct DeviceFree {
  void operator()(void* p) const { if (p) cudaFree(p); }
};
using DeviceFloats = std::unique_ptr<float, DeviceFree>;

DeviceFloats device_floats(int64_t n, const char* what) {
  void* p = nullptr;
  check(cudaMalloc(&p, static_cast<size_t>(std::max<int64_t>(1, n)) * sizeof(float)), what);
  return DeviceFloats(static_cast<float*>(p));
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

/**
 * The calling thread's cuBLAS handle for `device`, created on first use. Never destroyed: a
 * handle destroyed at exit may outlive the CUDA context it belongs to.
 */
cublasHandle_t handle_for(int device) {
  thread_local cublasHandle_t h = nullptr;
  thread_local int h_device = -1;
  if (!h || h_device != device) {
    cublasHandle_t fresh = nullptr;
    check(cublasCreate(&fresh), "cublasCreate");
    check(cublasSetMathMode(fresh, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    h = fresh;  // a handle of another device is leaked (rare: AFFINITY_CUDA_DEVICE changed)
    h_device = device;
  }
  return h;
}

cublasOperation_t op(Transpose t) { return t == Transpose::T ? CUBLAS_OP_T : CUBLAS_OP_N; }

/** items [item0, item0 + items) × rows [row0, row0 + rows) of each: one strided-batched call (chunked). */
void run_segment(const GemmParams& p, cublasHandle_t h, cudaStream_t st, int64_t item0, int64_t items, int64_t row0,
                 int64_t rows) {
  const bool ta = p.trans_a == Transpose::T, tb = p.trans_b == Transpose::T;
  const int64_t K = p.k, N = p.n;
  // the segment's operands on the host: A from row row0 of op(A) (a column offset when stored K × M)
  const float* a0 = p.a + item0 * p.stride_a + (ta ? row0 : row0 * p.lda);
  const float* b0 = p.b + item0 * p.stride_b;
  float* c0 = p.c + item0 * p.stride_c + row0 * p.ldc;
  const auto spans = [&](int64_t n_items, int64_t& sa, int64_t& sb, int64_t& sc) {
    sa = ta ? gemm_span(n_items, p.stride_a, K, p.lda, rows) : gemm_span(n_items, p.stride_a, rows, p.lda, K);
    sb = tb ? gemm_span(n_items, p.stride_b, N, p.ldb, K) : gemm_span(n_items, p.stride_b, K, p.ldb, N);
    sc = gemm_span(n_items, p.stride_c, rows, p.ldc, N);
  };
  // items per chunk: the three spans within about half the free memory (at most 4 GiB)
  size_t free_bytes = 0, total_bytes = 0;
  check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
  const int64_t budget = static_cast<int64_t>(std::min<size_t>(free_bytes / 2, size_t(4) << 30) / sizeof(float));
  int64_t per = items;
  for (;;) {
    int64_t sa, sb, sc;
    spans(per, sa, sb, sc);
    if (per == 1 || sa + sb + sc <= budget) break;
    per = (per + 1) / 2;
  }
  int64_t sa, sb, sc;
  spans(per, sa, sb, sc);
  DeviceFloats da = device_floats(sa, "cudaMalloc (a)"), db = device_floats(sb, "cudaMalloc (b)"),
               dc = device_floats(sc, "cudaMalloc (c)");
  const size_t c_pitch = static_cast<size_t>(p.ldc) * sizeof(float), c_width = static_cast<size_t>(N) * sizeof(float);
  for (int64_t first = 0; first < items; first += per) {
    const int64_t n_items = std::min(per, items - first);
    int64_t ca, cb, cc;
    spans(n_items, ca, cb, cc);
    const float* ha = a0 + first * p.stride_a;
    const float* hb = b0 + first * p.stride_b;
    float* hc = c0 + first * p.stride_c;
    check(cudaMemcpyAsync(da.get(), ha, static_cast<size_t>(ca) * sizeof(float), cudaMemcpyHostToDevice, st), "cudaMemcpy (a)");
    check(cudaMemcpyAsync(db.get(), hb, static_cast<size_t>(cb) * sizeof(float), cudaMemcpyHostToDevice, st), "cudaMemcpy (b)");
    if (p.beta != 0.0f) {
      for (int64_t it = 0; it < n_items; it++)
        check(cudaMemcpy2DAsync(dc.get() + it * p.stride_c, c_pitch, hc + it * p.stride_c, c_pitch, c_width,
                                static_cast<size_t>(rows), cudaMemcpyHostToDevice, st),
              "cudaMemcpy2D (c)");
    }
    check(cublasSetStream(h, st), "cublasSetStream");
    // column-major view: Cᵀ (N × rows) = op(B)ᵀ (N × K) · op(A)ᵀ (K × rows); leading dimensions
    // of 0 (only where the matrix has no columns) raised to 1, as cuBLAS requires
    const float alpha = p.alpha, beta = p.beta;
    check(cublasSgemmStridedBatched(h, op(p.trans_b), op(p.trans_a), static_cast<int>(N), static_cast<int>(rows),
                                    static_cast<int>(K), &alpha, db.get(), static_cast<int>(std::max<int64_t>(1, p.ldb)),
                                    static_cast<long long>(p.stride_b), da.get(),
                                    static_cast<int>(std::max<int64_t>(1, p.lda)), static_cast<long long>(p.stride_a),
                                    &beta, dc.get(), static_cast<int>(std::max<int64_t>(1, p.ldc)),
                                    static_cast<long long>(p.stride_c), static_cast<int>(n_items)),
          "cublasSgemmStridedBatched");
    for (int64_t it = 0; it < n_items; it++)
      check(cudaMemcpy2DAsync(hc + it * p.stride_c, c_pitch, dc.get() + it * p.stride_c, c_pitch, c_width,
                              static_cast<size_t>(rows), cudaMemcpyDeviceToHost, st),
            "cudaMemcpy2D (c back)");
    check(cudaStreamSynchronize(st), "cudaStreamSynchronize");
  }
}

}  // namespace

bool gemm_built_with_cublas() { return true; }

void gemm(const GemmParams& p) {
  const std::string problem = validate_gemm(p);
  if (!problem.empty()) throw std::invalid_argument("gemm: " + problem);
  if (p.row_end == p.row_start || p.n == 0) return;
  if (p.k == 0 || p.alpha == 0.0f) {
    affinity::gemm(p);  // C = β·C: neither A nor B is read
    return;
  }
  const int device = chosen_device();
  check(cudaSetDevice(device), "cudaSetDevice");
  const cublasHandle_t h = handle_for(device);
  Stream stream;
  const int64_t M = p.m;
  int64_t f = p.row_start;
  // head: the rest of a partly covered first item (or the whole range when it lies in one item)
  if (f % M != 0 || p.row_end - f < M) {
    const int64_t item = f / M, r0 = f % M, r1 = std::min(M, p.row_end - item * M);
    run_segment(p, h, stream.s, item, 1, r0, r1 - r0);
    f = item * M + r1;
  }
  // whole items
  const int64_t whole = (p.row_end - f) / M;
  if (whole > 0) {
    run_segment(p, h, stream.s, f / M, whole, 0, M);
    f += whole * M;
  }
  // tail: the first rows of a last item
  if (f < p.row_end) run_segment(p, h, stream.s, f / M, 1, 0, p.row_end - f);
}

#else  // built without cuBLAS

bool gemm_built_with_cublas() { return false; }

void gemm(const GemmParams& p) {
  const std::string problem = validate_gemm(p);
  if (!problem.empty()) throw std::invalid_argument("gemm: " + problem);
  throw std::invalid_argument("gemm: this CUDA module was built without cuBLAS");
}

#endif

}  // namespace cuda
}  // namespace affinity
