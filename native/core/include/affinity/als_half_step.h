// affinity native core: one half of an alternating-least-squares sweep.
// Plain C++17, no Node. The contract is src/kernels/alsHalfStep.ts (the reference): with the
// other side's factors Y (cols × f) fixed, solve the factor row x_u of every row u in
// [row_start, row_end) of the CSR matrix (rows × cols) and write it into out (rows × f) in place.
//
//   implicit (Hu, Koren & Volinsky): data = confidence c_ui (negative = observed with p = 0,
//     confidence |c|), gram = YᵀY passed in,
//       A = YᵀY + λI + Σ_i (|c_ui| − 1) y_i y_iᵀ,   b = Σ_{i, c_ui>0} c_ui y_i
//   explicit (ALS-WR): data = rating r_ui,
//       A = Σ_i y_i y_iᵀ + λ·n_u·I,                 b = Σ_i r_ui y_i
//   solver cholesky: float64 A built on its lower triangle, float64 Cholesky, x = A⁻¹b;
//     a row whose A is not positive definite makes the call throw AlsNotPositiveDefinite
//     (the smallest such row of the range; other rows may have been written)
//   solver cg: cg_steps conjugate-gradient steps warm-started from out's row (implicit's
//     least_squares_cg); A·p = (YᵀY + λI)p + Σ_i (|c_ui| − 1)(y_i·p) y_i, A never formed.
//   Rows without entries get x_u = 0.
//   row_loss (optional): the objective's row terms before the step, see the struct.
//
// Precision: cholesky, and CG in the portable code and for f > 64: float64 arithmetic
// throughout (Y widened from float32, as the reference reads it), only the summation order
// differs from the reference. CG with AVX-512/AVX2 and f ≤ 64: the residual pass r = b − A·x (whose
// terms cancel near the solution) in float64; the cg_steps product passes A·p compute y·p in
// float32 with float64 scalars and sum (w·(y·p))·y in float32 over blocks of 16 entries added to
// float64 sums; (YᵀY)p, the CG scalars and vectors stay float64. Measured against the reference
// on ML-100k (f = 64, λ = 0.1, 10 half steps): max |native − reference| / max(1, |reference|)
// = 4e-6 with c = 1 + r, 2e-5 with c = 1 + 40r; tests allow 1e-4.
// SIMD: AVX-512F, AVX2+FMA or portable code, chosen at run time (detect_simd(), or p.simd).
// Threads: rows are cut into tasks of about equal work (entries + a per-row cost) taken
// dynamically by the core's thread pool.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "affinity/platform.h"  // Simd

namespace affinity {

struct AlsHalfStepParams {
  bool implicit = true;  // false: explicit ALS-WR
  bool cg = true;  // false: cholesky
  int64_t cg_steps = 3;  // ≥ 1 (solver cg)
  int64_t rows = 0;  // rows of the matrix (and of out)
  int64_t cols = 0;  // columns of the matrix = rows of other
  int64_t factors = 0;  // f ≥ 1
  const int32_t* indptr = nullptr;  // rows+1, indptr[0] = 0, non-decreasing
  const int32_t* indices = nullptr;  // in [0, cols)
  int64_t indices_length = 0;
  const float* data = nullptr;  // confidence (implicit) or rating (explicit), aligned with indices
  int64_t data_length = 0;
  const float* other = nullptr;  // cols × f, row-major
  int64_t other_length = 0;
  const double* gram = nullptr;  // f × f (implicit; ignored for explicit); null: computed here from other (threaded, float64)
  int64_t gram_length = 0;
  double regularization = 0;  // λ ≥ 0
  float* out = nullptr;  // rows × f; CG reads its rows as the start values
  int64_t out_length = 0;
  int64_t row_start = 0, row_end = 0;
  int threads = 1;
  Simd simd = Simd::Auto;
  // tests: rows with more entries than this are not gathered (AVX-512 CG); -1 = automatic (4 MiB)
  int64_t gather_max_entries = -1;
  // optional (rows): each row's terms of the objective at its factors before the step,
  //   x_uᵀ(YᵀY)x_u + ridge·‖x_u‖² + Σ_i ℓ(c_ui, x_u·y_i)   (src/kernels/alsHalfStep.ts, `loss`);
  // CG takes every x_u·y_i from its residual pass, Cholesky makes one extra pass over the row
  double* row_loss = nullptr;
  int64_t row_loss_length = 0;
  bool solve = true;  // false: only row_loss (needs it); out is left as it is
};

/** Thrown by als_half_step when a row's system is not positive definite (cholesky). */
class AlsNotPositiveDefinite : public std::range_error {
 public:
  AlsNotPositiveDefinite(int64_t row, double lambda);
  int64_t row;
};

/** Checks shapes, the CSR (O(rows + nnz)) and options. "" when valid, else the first problem. */
std::string validate_als_half_step(const AlsHalfStepParams& p);

/**
 * Runs the kernel. Throws std::invalid_argument when validation fails (out untouched),
 * AlsNotPositiveDefinite as above, std::bad_alloc when scratch memory cannot be had.
 * Thread-safe.
 */
void als_half_step(const AlsHalfStepParams& p);

}  // namespace affinity
