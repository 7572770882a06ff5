// spdSolve (affinity/nn.h): blocked Cholesky on the gemm core.
//
// Factor (right-looking, blocks of nb columns; W row-major n × n, lower triangle, zeros above):
//   for each diagonal block k:  L_kk = chol(W_kk) and L_kk⁻¹, both in float64 (pivots named here)
//                               P = W[below, k] · L_kk⁻ᵀ                      (gemm, N·T)
//                               W[below, below] −= P·Pᵀ on the lower triangle (gemm per strip of
//                               nb rows: strip [i0, i1) updates its columns [k1, i1))
// Solve with B (X in out):      forward  X_k = L_kk⁻¹·(X_k − L[k, <k]·X[<k])     (gemm)
//                               backward X_k = L_kk⁻ᵀ·(X_k − L[>k, k]ᵀ·X[>k])    (gemm, T·N)
// Inverse (no B; W is out):     W = L⁻¹ in place (LAPACK trtri's blocked lower variant, last
//                               block first: W[>j, j] = −L⁻¹[>j, >j]·L[>j, j]·L_jj⁻¹), then
//                               W = L⁻ᵀ·L⁻¹ in place (lauum: block row i becomes
//                               W[≥i, i]ᵀ·W[≥i, ≤i], first block first), then the upper
//                               triangle is copied from the lower.
// Flops: n³/3 (factor) + 2n²r (solve), or n³ in all for the inverse; nearly all in gemm.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "affinity/cancel.h"
#include "affinity/gemm.h"
#include "affinity/nn.h"
#include "nn_validate.h"
#include "thread_pool.h"

namespace affinity {

using namespace detail::nnv;

namespace {

constexpr int64_t kDefaultBlock = 256;

struct Ctx {
  int64_t n;
  float* w;  // n × n, leading dimension n
  int threads;
  Simd simd;
};

void check_cancel() {
  if (cancel_flag_set(current_cancel_flag())) throw Cancelled();
}

/** C = α·op(A)·op(B) + β·C on the gemm core (one matrix; C must not overlap A or B). */
void mm(const Ctx& cx, Transpose ta, Transpose tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
        int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  GemmParams g;
  g.trans_a = ta;
  g.trans_b = tb;
  g.m = m;
  g.n = n;
  g.k = k;
  g.alpha = alpha;
  g.beta = beta;
  g.a = a;
  g.lda = lda;
  g.b = b;
  g.ldb = ldb;
  g.c = c;
  g.ldc = ldc;
  g.row_start = 0;
  g.row_end = m;
  g.threads = cx.threads;
  g.simd = cx.simd;
  gemm(g);
}

/** dst[i·ldd + j] = src[i·lds + j] for rows × cols, rows in parallel. */
void copy_block(const Ctx& cx, int64_t rows, int64_t cols, const float* src, int64_t lds, float* dst, int64_t ldd) {
  if (rows == 0 || cols == 0) return;
  const int64_t grain = std::max<int64_t>(1, 16384 / cols);
  parallel_for((rows + grain - 1) / grain, cx.threads, [&](int64_t t, int) {
    const int64_t r1 = std::min(rows, (t + 1) * grain);
    for (int64_t i = t * grain; i < r1; i++) std::memcpy(dst + i * ldd, src + i * lds, static_cast<size_t>(cols) * sizeof(float));
  });
}

// y[i] += a·x[i] for i < n, in float64: the inner loop of the diagonal blocks' factorization and
// inversion, compiled for each instruction set (the loop vectorizes without reassociation)
using AxpyFn = void (*)(int64_t n, double a, const double* x, double* y);

void axpy_portable(int64_t n, double a, const double* x, double* y) {
  for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}
#if AFFINITY_X86
__attribute__((target("avx2,fma"))) void axpy_avx2(int64_t n, double a, const double* x, double* y) {
  for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}
__attribute__((target("avx512f"))) void axpy_avx512(int64_t n, double a, const double* x, double* y) {
  for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}
#endif

AxpyFn axpy_for(Simd s) {
  if (s == Simd::Auto || !simd_supported(s)) s = detect_simd();
#if AFFINITY_X86
  if (s == Simd::Avx512) return &axpy_avx512;
  if (s == Simd::Avx2) return &axpy_avx2;
#endif
  return &axpy_portable;
}

/**
 * The diagonal block at (k0, k0), kb × kb: factored in float64 (throws on a pivot that is not
 * > 0 and finite), written back as L_kk with zeros above the diagonal, and L_kk⁻¹ (float64,
 * then float32, zeros above) stored in inv (kb × kb, leading dimension kb). Both in column-major
 * order, right-looking, so that the inner loops are axpys down a column:
 *   factor, for each column j:  L_jj = √(A_jj) (the pivot), L_ij /= L_jj, then for k > j:
 *                               column k −= L_kj·column j (rows ≥ k)
 *   inverse, for each column j of X = L⁻¹: x = e_j; for k ≥ j: x_k /= L_kk, x_{>k} −= x_k·L_{>k,k}
 */
void factor_diagonal_block(const Ctx& cx, int64_t k0, int64_t kb, float* inv) {
  const int64_t n = cx.n;
  float* w = cx.w;
  const AxpyFn axpy = axpy_for(cx.simd);
  std::vector<double> d(static_cast<size_t>(kb * kb), 0.0), x(static_cast<size_t>(kb * kb), 0.0);  // d[j·kb + i] = L_ij
  for (int64_t i = 0; i < kb; i++)
    for (int64_t j = 0; j <= i; j++) d[j * kb + i] = w[(k0 + i) * n + k0 + j];
  for (int64_t j = 0; j < kb; j++) {
    double* cj = d.data() + j * kb;
    const double s = cj[j];  // A_jj − Σ_{l<j} L_jl², the pivot
    if (!(s > 0) || !std::isfinite(s))
      throw std::domain_error("spdSolve: the matrix is not positive definite (pivot " + str(k0 + j) + " is " + num(s) + ")");
    const double ljj = std::sqrt(s);
    cj[j] = ljj;
    for (int64_t i = j + 1; i < kb; i++) cj[i] /= ljj;
    for (int64_t k = j + 1; k < kb; k++) axpy(kb - k, -cj[k], cj + k, d.data() + k * kb + k);
  }
  for (int64_t j = 0; j < kb; j++) {
    double* xj = x.data() + j * kb;
    xj[j] = 1.0;
    for (int64_t k = j; k < kb; k++) {
      const double* ck = d.data() + k * kb;
      xj[k] /= ck[k];
      if (xj[k] != 0.0) axpy(kb - k - 1, -xj[k], ck + k + 1, xj + k + 1);
    }
  }
  for (int64_t i = 0; i < kb; i++)
    for (int64_t j = 0; j < kb; j++) {
      w[(k0 + i) * n + k0 + j] = j <= i ? static_cast<float>(d[j * kb + i]) : 0.0f;
      inv[i * kb + j] = j <= i ? static_cast<float>(x[j * kb + i]) : 0.0f;
    }
}

/** Factors W in place (see the top of the file); inv receives each diagonal block's L⁻¹ (block b at b·nb²). */
void cholesky(const Ctx& cx, int64_t nb, float* inv) {
  const int64_t n = cx.n;
  float* w = cx.w;
  std::vector<float> panel;
  for (int64_t k0 = 0, blk = 0; k0 < n; k0 += nb, blk++) {
    check_cancel();
    const int64_t kb = std::min(nb, n - k0), k1 = k0 + kb, m = n - k1;
    float* inv_k = inv + blk * nb * nb;
    factor_diagonal_block(cx, k0, kb, inv_k);
    if (m == 0) break;
    // P = W[k1:n, k0:k1]·L_kk⁻ᵀ, then back into W
    panel.resize(static_cast<size_t>(m * kb));
    mm(cx, Transpose::N, Transpose::T, m, kb, kb, 1.0f, w + k1 * n + k0, n, inv_k, kb, 0.0f, panel.data(), kb);
    copy_block(cx, m, kb, panel.data(), kb, w + k1 * n + k0, n);
    // W[i0:i1, k1:i1] −= P[i0−k1 : i1−k1]·P[0 : i1−k1]ᵀ per strip; a strip's spill above the
    // diagonal lands in its own future diagonal block, which is rewritten when it is factored
    for (int64_t i0 = k1; i0 < n; i0 += nb) {
      const int64_t i1 = std::min(n, i0 + nb);
      mm(cx, Transpose::N, Transpose::T, i1 - i0, i1 - k1, kb, -1.0f, panel.data() + (i0 - k1) * kb, kb, panel.data(), kb,
         1.0f, w + i0 * n + k1, n);
    }
  }
}

/** X (n × r, in out) = A⁻¹·X by the factor in W and the diagonal blocks' inverses. */
void solve(const Ctx& cx, int64_t nb, const float* inv, float* x, int64_t r) {
  const int64_t n = cx.n;
  const float* w = cx.w;
  std::vector<float> tmp(static_cast<size_t>(std::min(nb, n) * r));
  const int64_t blocks = (n + nb - 1) / nb;
  for (int64_t blk = 0; blk < blocks; blk++) {  // forward: L·Y = X
    check_cancel();
    const int64_t k0 = blk * nb, kb = std::min(nb, n - k0);
    if (k0 > 0) mm(cx, Transpose::N, Transpose::N, kb, r, k0, -1.0f, w + k0 * n, n, x, r, 1.0f, x + k0 * r, r);
    mm(cx, Transpose::N, Transpose::N, kb, r, kb, 1.0f, inv + blk * nb * nb, kb, x + k0 * r, r, 0.0f, tmp.data(), r);
    copy_block(cx, kb, r, tmp.data(), r, x + k0 * r, r);
  }
  for (int64_t blk = blocks - 1; blk >= 0; blk--) {  // backward: Lᵀ·X = Y
    check_cancel();
    const int64_t k0 = blk * nb, kb = std::min(nb, n - k0), k1 = k0 + kb;
    if (k1 < n) mm(cx, Transpose::T, Transpose::N, kb, r, n - k1, -1.0f, w + k1 * n + k0, n, x + k1 * r, r, 1.0f, x + k0 * r, r);
    mm(cx, Transpose::T, Transpose::N, kb, r, kb, 1.0f, inv + blk * nb * nb, kb, x + k0 * r, r, 0.0f, tmp.data(), r);
    copy_block(cx, kb, r, tmp.data(), r, x + k0 * r, r);
  }
}

/** W = L⁻¹ in place (lower, zeros above), last block first. */
void invert_lower(const Ctx& cx, int64_t nb, const float* inv) {
  const int64_t n = cx.n;
  float* w = cx.w;
  std::vector<float> p, t;
  const int64_t blocks = (n + nb - 1) / nb;
  for (int64_t blk = blocks - 1; blk >= 0; blk--) {
    check_cancel();
    const int64_t j0 = blk * nb, jb = std::min(nb, n - j0), j1 = j0 + jb, m = n - j1;
    const float* inv_j = inv + blk * nb * nb;
    if (m > 0) {
      // T = −L⁻¹[j1:n, j1:n]·L[j1:n, j0:j1]: L⁻¹ is lower, so strip [i0, i1) needs columns [j1, i1) only
      p.resize(static_cast<size_t>(m * jb));
      t.resize(static_cast<size_t>(m * jb));
      copy_block(cx, m, jb, w + j1 * n + j0, n, p.data(), jb);
      for (int64_t i0 = j1; i0 < n; i0 += nb) {
        const int64_t i1 = std::min(n, i0 + nb);
        mm(cx, Transpose::N, Transpose::N, i1 - i0, jb, i1 - j1, -1.0f, w + i0 * n + j1, n, p.data(), jb, 0.0f,
           t.data() + (i0 - j1) * jb, jb);
      }
      // W[j1:n, j0:j1] = T·L_jj⁻¹
      mm(cx, Transpose::N, Transpose::N, m, jb, jb, 1.0f, t.data(), jb, inv_j, jb, 0.0f, w + j1 * n + j0, n);
    }
    copy_block(cx, jb, jb, inv_j, jb, w + j0 * n + j0, n);
  }
}

/** W = Wᵀ·W in place for a lower-triangular W (zeros above); the result's lower triangle, first block first. */
void lower_transpose_product(const Ctx& cx, int64_t nb) {
  const int64_t n = cx.n;
  float* w = cx.w;
  std::vector<float> t;
  for (int64_t i0 = 0; i0 < n; i0 += nb) {
    check_cancel();
    const int64_t ib = std::min(nb, n - i0), i1 = i0 + ib;
    // T (ib × i1) = W[i0:n, i0:i1]ᵀ·W[i0:n, 0:i1]: rows below i0 of W are still L⁻¹
    t.resize(static_cast<size_t>(ib * i1));
    mm(cx, Transpose::T, Transpose::N, ib, i1, n - i0, 1.0f, w + i0 * n + i0, n, w + i0 * n, n, 0.0f, t.data(), i1);
    for (int64_t i = 0; i < ib; i++) std::memcpy(w + (i0 + i) * n, t.data() + i * i1, static_cast<size_t>(i0 + i + 1) * sizeof(float));
  }
}

/** The upper triangle of W from its lower triangle, in tiles. */
void symmetrize(const Ctx& cx) {
  const int64_t n = cx.n, tile = 64, tiles = (n + tile - 1) / tile;
  float* w = cx.w;
  parallel_for(tiles, cx.threads, [&](int64_t ti, int) {
    const int64_t i0 = ti * tile, i1 = std::min(n, i0 + tile);
    for (int64_t j0 = 0; j0 <= i0; j0 += tile) {
      const int64_t j1 = std::min(n, j0 + tile);
      for (int64_t i = i0; i < i1; i++)
        for (int64_t j = j0; j < std::min(j1, i); j++) w[j * n + i] = w[i * n + j];
    }
  });
}

}  // namespace

std::string validate_spd_solve(const SpdSolveParams& p) {
  AFF_CHECK(dims({{"n", p.n}, {"block", p.block}}));
  if (!p.inverse) AFF_CHECK(dims({{"r", p.r}}));
  const int64_t size = p.n * p.n, cols = p.inverse ? p.n : p.r;
  AFF_CHECK(buffer("a", p.a, p.a_length, size, "n*n"));
  if (!p.inverse) AFF_CHECK(buffer("b", p.b, p.b_length, p.n * p.r, "n*r"));
  AFF_CHECK(buffer("out", p.out, p.out_length, p.n * cols, p.inverse ? "n*n" : "n*r"));
  if (p.row_start != 0 || p.row_end != p.n)
    return "solves all " + str(p.n) + " rows in one call, got rows [" + str(p.row_start) + ", " + str(p.row_end) + ")";
  return disjoint({{"out", p.out, p.n * cols}}, {{"a", p.a, size}, {"b", p.b, p.inverse ? 0 : p.n * p.r}});
}

void spd_solve(const SpdSolveParams& p) {
  const std::string problem = validate_spd_solve(p);
  if (!problem.empty()) throw std::invalid_argument("spdSolve: " + problem);
  const int64_t n = p.n;
  if (n == 0) return;
  const int64_t nb = std::min(n, p.block > 0 ? p.block : kDefaultBlock);
  const int threads = std::max(1, std::min(p.threads, kMaxThreads));
  // the factor: in out for the inverse, else in scratch (allocated before anything is written)
  std::unique_ptr<float[]> scratch;
  if (!p.inverse) scratch.reset(new float[static_cast<size_t>(n * n)]);
  std::vector<float> inv(static_cast<size_t>(((n + nb - 1) / nb) * nb * nb));
  const Ctx cx{n, p.inverse ? p.out : scratch.get(), threads, p.simd};
  // W = lower triangle of A, zeros above
  const int64_t grain = std::max<int64_t>(1, 16384 / n);
  parallel_for((n + grain - 1) / grain, threads, [&](int64_t t, int) {
    const int64_t r1 = std::min(n, (t + 1) * grain);
    for (int64_t i = t * grain; i < r1; i++) {
      std::memcpy(cx.w + i * n, p.a + i * n, static_cast<size_t>(i + 1) * sizeof(float));
      std::fill(cx.w + i * n + i + 1, cx.w + (i + 1) * n, 0.0f);
    }
  });
  cholesky(cx, nb, inv.data());
  if (p.inverse) {
    invert_lower(cx, nb, inv.data());
    lower_transpose_product(cx, nb);
    symmetrize(cx);
  } else if (p.r > 0) {
    copy_block(cx, n, p.r, p.b, p.r, p.out, p.r);
    solve(cx, nb, inv.data(), p.out, p.r);
  }
}

}  // namespace affinity
