// affinity native core: single-precision general matrix multiply, batched with strides.
// Plain C++17, no Node. Row-major throughout:
//
//   for every batch item b in [0, batch):
//     C_b = α·op(A_b)·op(B_b) + β·C_b        op(A_b): M × K, op(B_b): K × N, C_b: M × N
//
//   op(A_b)[i,p] = a[b·stride_a + i·lda + p]   (trans_a = N: A_b stored M × K, lda ≥ K)
//                = a[b·stride_a + p·lda + i]   (trans_a = T: A_b stored K × M, lda ≥ M)
//   op(B_b)[p,j] = b[b·stride_b + p·ldb + j]   (trans_b = N: B_b stored K × N, ldb ≥ N)
//                = b[b·stride_b + j·ldb + p]   (trans_b = T: B_b stored N × K, ldb ≥ K)
//   C_b[i,j]     = c[b·stride_c + i·ldc + j]   (ldc ≥ N)
//
// Only the rows [row_start, row_end) of the flattened batch·M rows of C are computed (flat row
// r is row r mod M of item r / M), so a caller can split one product into several calls, and
// nothing else of C is read or written. β = 0: C is not read (it may hold NaN). α = 0 or K = 0:
// A and B are not read and C = β·C (BLAS semantics; 0 where β = 0). stride_a or stride_b may be
// 0 (one matrix shared by every item); the items of C must not overlap (see validate_gemm).
//
// Precision: products accumulated in float32 in ascending p within blocks of KC, the block sums
// added to C in float32 after scaling by α. The error of C[i,j] is bounded by about
// (K + 2)·2^-24·(|α|·Σ_p |op(A)[i,p]·op(B)[p,j]| + |β·C[i,j]|).
// SIMD: AVX-512F (12 × 32 register tile), AVX2+FMA (6 × 16) or portable code (4 × 8), chosen
// at run time (detect_simd(), or p.simd). Operands are packed into MR-row / NR-column slivers
// (Goto/BLIS style); threads share the packed panels and take blocks of C dynamically from the
// core's thread pool; under a CancelScope the call stops between blocks (throws Cancelled).
#pragma once

#include <cstdint>
#include <string>

#include "affinity/platform.h"  // Simd

namespace affinity {

enum class Transpose : int { N = 0, T = 1 };

struct GemmParams {
  Transpose trans_a = Transpose::N, trans_b = Transpose::N;
  int64_t m = 0, n = 0, k = 0;
  int64_t batch = 1;
  float alpha = 1.0f, beta = 0.0f;
  const float* a = nullptr;
  int64_t lda = 0, stride_a = 0;
  int64_t a_length = -1;  // elements readable from a; -1 = trust the caller
  const float* b = nullptr;
  int64_t ldb = 0, stride_b = 0;
  int64_t b_length = -1;
  float* c = nullptr;
  int64_t ldc = 0, stride_c = 0;
  int64_t c_length = -1;
  int64_t row_start = 0, row_end = 0;  // flat rows of C, within [0, batch·M]
  int threads = 1;  // worker count including the calling thread
  Simd simd = Simd::Auto;
};

/** Largest M, N, K, batch, leading dimension or stride taken (every index then fits in int64). */
constexpr int64_t kGemmMaxDim = 2147483647;

/**
 * Elements a buffer must hold for `batch` items of rows × cols with leading dimension ld and
 * item stride `stride`: (batch−1)·stride + (rows−1)·ld + cols, or 0 when any of batch, rows,
 * cols is 0. Arguments must be in [0, kGemmMaxDim].
 */
int64_t gemm_span(int64_t batch, int64_t stride, int64_t rows, int64_t ld, int64_t cols);

/**
 * Checks transposes, sizes (each in [0, kGemmMaxDim]), leading dimensions, strides, the row
 * range, null pointers, buffer lengths (when given, ≥ 0) against the spans the call reads and
 * writes, that the items of C do not overlap one another (batch > 1: stride_c ≥ (M−1)·ldc + N,
 * or interleaved items: stride_c ≥ N and ldc ≥ (batch−1)·stride_c + N), and that C's span does
 * not overlap A's or B's. Returns "" when valid, else a message naming the first offending
 * value. gemm() calls it too.
 */
std::string validate_gemm(const GemmParams& p);

/**
 * Runs the product. Throws std::invalid_argument when validation fails and std::bad_alloc when
 * the packing buffers cannot be had (C untouched in both cases), Cancelled when cancelled
 * (C partly written). Thread-safe: several calls may run at once (they share the worker pool).
 */
void gemm(const GemmParams& p);

}  // namespace affinity
