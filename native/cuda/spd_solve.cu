// spdSolve on the GPU through cuSOLVER (affinity/cuda_nn.h; formula: src/kernels/nn/spdSolve.ts).
// Built into affinity_cuda_core always; AFFINITY_HAVE_CUSOLVER (set by CMake when CUDA::cusolver
// is found) decides whether it can run.
//
//   A (n × n, row-major, lower triangle read) → float64, on the host. A row-major lower triangle
//   is the upper triangle of the same buffer read column-major, and A is symmetric, so the
//   buffer goes to cusolverDnDpotrf as it is with CUBLAS_FILL_MODE_UPPER (A = UᵀU, U = Lᵀ).
//   B (n × r row-major; the identity for the inverse) → float64 column-major (n × r), solved in
//   place by cusolverDnDpotrs, → out (row-major), each element rounded once.
// Factor and solve are float64 throughout, as the reference. A matrix with a NaN or an infinity
// in its lower triangle, or one that potrf reports not positive definite, goes to the CPU core's
// spd_solve (into scratch, so out is untouched when it throws), which throws the native backend's
// error naming the pivot.
#include "affinity/cuda_nn.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "affinity/platform.h"

#if AFFINITY_HAVE_CUSOLVER
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include "cuda_common.cuh"
#include "nn_call.cuh"
#endif

namespace affinity {
namespace cuda {

#if AFFINITY_HAVE_CUSOLVER
namespace {

/**
 * The CPU core on the same call, into scratch: for a matrix that is not positive definite it
 * throws std::domain_error naming the pivot (out untouched); should its float32 factorization
 * accept a borderline matrix, its solution is copied to out.
 */
void solve_on_cpu(const SpdSolveParams& p) {
  SpdSolveParams q = p;
  std::vector<float> scratch(static_cast<size_t>(p.n * (p.inverse ? p.n : p.r)));
  q.out = scratch.data();
  q.out_length = static_cast<int64_t>(scratch.size());
  q.threads = hardware_threads();
  q.simd = Simd::Auto;
  affinity::spd_solve(q);
  std::copy(scratch.begin(), scratch.end(), p.out);
}

/** True when an element of A's lower triangle is NaN or infinite (a pivot then is not finite). */
bool lower_triangle_not_finite(const float* a, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j <= i; j++)
      if (!std::isfinite(a[i * n + j])) return true;
  return false;
}

void check(cusolverStatus_t s, const char* what) {
  if (s != CUSOLVER_STATUS_SUCCESS) throw std::runtime_error(std::string("cuSOLVER ") + what + ": status " + std::to_string(static_cast<int>(s)));
}

/**
 * The calling thread's cuSOLVER handle for `device`, created on first use. Never destroyed: a
 * handle destroyed at exit may outlive the CUDA context it belongs to.
 */
cusolverDnHandle_t solver_for(int device) {
  thread_local cusolverDnHandle_t h = nullptr;
  thread_local int h_device = -1;
  if (!h || h_device != device) {
    cusolverDnHandle_t fresh = nullptr;
    check(cusolverDnCreate(&fresh), "cusolverDnCreate");
    h = fresh;  // a handle of another device is leaked (rare: AFFINITY_CUDA_DEVICE changed)
    h_device = device;
  }
  return h;
}

}  // namespace

bool spd_solve_built_with_cusolver() { return true; }

void spd_solve(const SpdSolveParams& p) {
  const std::string problem = validate_spd_solve(p);
  if (!problem.empty()) throw std::invalid_argument("spdSolve: " + problem);
  const std::string unsupported = spd_solve_unsupported(p);
  if (!unsupported.empty()) throw std::invalid_argument("spdSolve: " + unsupported);
  const int64_t n = p.n, r = p.inverse ? n : p.r;
  if (n == 0) return;
  if (lower_triangle_not_finite(p.a, n)) {
    solve_on_cpu(p);
    return;
  }
  std::vector<double> a(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j <= i; j++) a[static_cast<size_t>(i * n + j)] = p.a[i * n + j];
  std::vector<double> b(static_cast<size_t>(n * r));  // column-major: b[c·n + i] = B[i, c]
  for (int64_t i = 0; i < n; i++)
    for (int64_t c = 0; c < r; c++) b[static_cast<size_t>(c * n + i)] = p.inverse ? (i == c ? 1.0 : 0.0) : static_cast<double>(p.b[i * r + c]);

  GpuCall call("spdSolve");
  const cusolverDnHandle_t h = solver_for(chosen_device());
  check(cusolverDnSetStream(h, call.stream()), "cusolverDnSetStream");
  const int ni = static_cast<int>(n);
  double* d_a = call.upload(a.data(), n * n);
  double* d_b = r > 0 ? call.upload(b.data(), n * r) : nullptr;
  int* d_info = call.alloc<int>(1);
  int lwork = 0;
  check(cusolverDnDpotrf_bufferSize(h, CUBLAS_FILL_MODE_UPPER, ni, d_a, ni, &lwork), "cusolverDnDpotrf_bufferSize");
  double* work = call.alloc<double>(std::max(1, lwork));
  throw_if_cancelled();
  check(cusolverDnDpotrf(h, CUBLAS_FILL_MODE_UPPER, ni, d_a, ni, work, lwork, d_info), "cusolverDnDpotrf");
  int info = 0;
  call.download(&info, d_info, 1);
  if (info < 0) throw std::runtime_error("cuSOLVER cusolverDnDpotrf: parameter " + std::to_string(-info) + " is wrong");
  if (info > 0) {  // the leading minor of order info is not positive definite: the CPU core names the pivot
    solve_on_cpu(p);
    return;
  }
  if (r == 0) return;
  throw_if_cancelled();
  check(cusolverDnDpotrs(h, CUBLAS_FILL_MODE_UPPER, ni, static_cast<int>(r), d_a, ni, d_b, ni, d_info), "cusolverDnDpotrs");
  call.download(&info, d_info, 1);
  if (info != 0) throw std::runtime_error("cuSOLVER cusolverDnDpotrs: parameter " + std::to_string(-info) + " is wrong");
  call.download(b.data(), d_b, n * r);
  for (int64_t i = 0; i < n; i++)
    for (int64_t c = 0; c < r; c++) p.out[i * r + c] = static_cast<float>(b[static_cast<size_t>(c * n + i)]);
}

#else  // built without cuSOLVER

bool spd_solve_built_with_cusolver() { return false; }

void spd_solve(const SpdSolveParams& p) {
  const std::string problem = validate_spd_solve(p);
  if (!problem.empty()) throw std::invalid_argument("spdSolve: " + problem);
  throw std::invalid_argument("spdSolve: " + spd_solve_unsupported(p));
}

#endif

std::string spd_solve_unsupported(const SpdSolveParams& p) {
  if (!spd_solve_built_with_cusolver()) return "this CUDA module was built without cuSOLVER";
  if (p.n > kMaxSpdSolveN)
    return "n = " + std::to_string(p.n) + " exceeds the CUDA kernel's " + std::to_string(kMaxSpdSolveN) + " (cuSOLVER's 32-bit API)";
  return "";
}

}  // namespace cuda
}  // namespace affinity
