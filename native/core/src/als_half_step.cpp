// als_half_step: per-row CG / Cholesky solves of the ALS normal equations, threaded over rows.
// The row solvers live in als_rows.inc, compiled three times (portable, AVX2+FMA, AVX-512F)
// under `#pragma GCC target`; the library itself stays baseline x86-64 and the wide copies
// run only after detect_simd() has seen the CPU support them (as tiles.cpp does).
#include "affinity/als_half_step.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <vector>

#include "affinity/platform.h"  // AFFINITY_X86
#include "isa_variant.h"
#include "thread_pool.h"

#if AFFINITY_X86
#include <immintrin.h>
#endif

namespace affinity {

namespace detail {
namespace als {

/** What every row solve reads (shared, read-only except out). */
struct RowCtx {
  bool implicit, cg;
  int64_t steps;
  int64_t f, fp;  // factors, padded to a multiple of 16
  const int32_t* indptr;
  const int32_t* indices;
  const float* data;
  const float* y;
  const double* gp;  // YᵀY padded to fp × fp (zeros outside f × f); null for explicit
  double lambda;
  float* out;
  int64_t gather_rows;  // rows with at most this many entries get their y's gathered (AVX-512/AVX2 CG)
  double* row_loss;  // null, or rows: the objective's row terms at the starting factors
  bool solve;
};

using SolveRowsFn = int64_t (*)(const RowCtx&, int64_t, int64_t, double*, float*);
using GramRowsFn = void (*)(const float*, int64_t, int64_t, int64_t, int64_t, double*, double*);

#define AFFINITY_ISA_SOURCE "als_rows.inc"
#include "isa_copies.inc"
#undef AFFINITY_ISA_SOURCE

GramRowsFn gram_for(Simd s) { return AFFINITY_ISA_VARIANT(s, gram_rows); }

SolveRowsFn solver_for(Simd s) { return AFFINITY_ISA_VARIANT(s, solve_rows); }

}  // namespace als
}  // namespace detail

namespace {

/** A number as JavaScript's String(x) writes it (shortest round-trip digits, its exponent rules). */
std::string js_number(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x == 0) return "0";
  std::string sign = x < 0 ? "-" : "";
  const double a = std::fabs(x);
  char buf[64];
  for (int prec = 1; prec <= 17; prec++) {
    std::snprintf(buf, sizeof buf, "%.*e", prec - 1, a);
    if (std::strtod(buf, nullptr) == a) break;
  }
  // buf = d[.ddd]e±XX
  const std::string s(buf);
  const size_t epos = s.find('e');
  std::string digits;
  for (size_t i = 0; i < epos; i++)
    if (s[i] != '.') digits += s[i];
  const int n = std::atoi(s.c_str() + epos + 1) + 1;  // position of the decimal point
  const int k = static_cast<int>(digits.size());
  if (k <= n && n <= 21) return sign + digits + std::string(static_cast<size_t>(n - k), '0');
  if (0 < n && n <= 21) return sign + digits.substr(0, static_cast<size_t>(n)) + "." + digits.substr(static_cast<size_t>(n));
  if (-6 < n && n <= 0) return sign + "0." + std::string(static_cast<size_t>(-n), '0') + digits;
  const int e = n - 1;
  return sign + digits.substr(0, 1) + (k > 1 ? "." + digits.substr(1) : "") + "e" + (e >= 0 ? "+" : "-") + std::to_string(std::abs(e));
}

}  // namespace

AlsNotPositiveDefinite::AlsNotPositiveDefinite(int64_t r, double lambda)
    : std::range_error("alsHalfStep: the system of row " + std::to_string(r) +
                       " is not positive definite; increase regularization (now " + js_number(lambda) + ")"),
      row(r) {}

std::string validate_als_half_step(const AlsHalfStepParams& p) {
  constexpr int64_t kMaxIndex = std::numeric_limits<int32_t>::max();
  if (p.rows < 0 || p.rows > kMaxIndex) return "rows must be in [0, 2^31-1], got " + std::to_string(p.rows);
  if (p.cols < 0 || p.cols > kMaxIndex) return "cols must be in [0, 2^31-1], got " + std::to_string(p.cols);
  if (p.factors < 1 || p.factors > 65536) return "factors must be in [1, 65536], got " + std::to_string(p.factors);
  if (p.cg && p.cg_steps < 1) return "cgSteps must be a positive integer, got " + std::to_string(p.cg_steps);
  if (!(p.regularization >= 0) || !std::isfinite(p.regularization)) return "regularization must be a finite number ≥ 0";
  if (p.row_start < 0 || p.row_start > p.row_end || p.row_end > p.rows)
    return "row range [" + std::to_string(p.row_start) + ", " + std::to_string(p.row_end) + ") is not inside [0, " +
           std::to_string(p.rows) + "]";
  if (!p.indptr) return "indptr is null";
  if (p.other_length != p.cols * p.factors)
    return "other has length " + std::to_string(p.other_length) + ", expected cols*factors = " + std::to_string(p.cols * p.factors);
  if (p.cols * p.factors > 0 && !p.other) return "other is null";
  if (p.out_length != p.rows * p.factors)
    return "out has length " + std::to_string(p.out_length) + ", expected rows*factors = " + std::to_string(p.rows * p.factors);
  if (p.rows * p.factors > 0 && !p.out) return "out is null";
  if (!p.solve && !p.row_loss) return "solve: false evaluates the loss only, so it needs rowLoss";
  if (p.row_loss && p.row_loss_length != p.rows)
    return "rowLoss has length " + std::to_string(p.row_loss_length) + ", expected rows = " + std::to_string(p.rows);
  if (p.implicit && p.gram) {
    if (p.gram_length != p.factors * p.factors)
      return "gram has length " + std::to_string(p.gram_length) + ", expected factors² = " + std::to_string(p.factors * p.factors);
  }
  if (p.indptr[0] != 0) return "indptr[0] is " + std::to_string(p.indptr[0]) + ", expected 0";
  for (int64_t r = 0; r < p.rows; r++)
    if (p.indptr[r + 1] < p.indptr[r]) return "indptr decreases at row " + std::to_string(r);
  const int64_t nnz = p.indptr[p.rows];
  if (nnz > p.indices_length || nnz > p.data_length)
    return "indices/data have length " + std::to_string(std::min(p.indices_length, p.data_length)) + ", indptr needs nnz = " +
           std::to_string(nnz);
  if (nnz > 0 && (!p.indices || !p.data)) return "indices/data are null";
  for (int64_t q = 0; q < nnz; q++) {
    const int32_t c = p.indices[q];
    if (c < 0 || c >= p.cols)
      return "column index " + std::to_string(c) + " at " + std::to_string(q) + " out of range [0, " + std::to_string(p.cols) + ")";
  }
  return "";
}

void als_half_step(const AlsHalfStepParams& p) {
  const std::string problem = validate_als_half_step(p);
  if (!problem.empty()) throw std::invalid_argument("alsHalfStep: " + problem);
  const int64_t n = p.row_end - p.row_start;
  if (n == 0) return;
  Simd simd = p.simd == Simd::Auto ? detect_simd() : p.simd;
  if (!simd_supported(simd)) simd = detect_simd();

  const int64_t f = p.factors, fp = (f + 15) / 16 * 16;
  std::vector<double> gp;
  detail::als::RowCtx c{};
  c.implicit = p.implicit;
  c.cg = p.cg;
  c.steps = p.cg_steps;
  c.f = f;
  c.fp = fp;
  c.indptr = p.indptr;
  c.indices = p.indices;
  c.data = p.data;
  c.y = p.other;
  c.lambda = p.regularization;
  c.out = p.out;
  c.row_loss = p.row_loss;
  c.solve = p.solve;
  const int threads = std::max(1, std::min(p.threads, kMaxThreads));
  if (p.implicit) {
    gp.assign(static_cast<size_t>(fp * fp), 0.0);
    if (p.gram) {
      for (int64_t i = 0; i < f; i++)
        for (int64_t j = 0; j < f; j++) gp[i * fp + j] = p.gram[i * f + j];
    } else {
      // YᵀY of `other` here, threaded: each participant sums a part of the rows, the parts are added
      const detail::als::GramRowsFn gram_rows = detail::als::gram_for(simd);
      const int64_t m = p.cols;
      const int parts = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, m / 256)));
      std::vector<double> sums(static_cast<size_t>(parts) * static_cast<size_t>(fp * fp + fp), 0.0);
      parallel_for(parts, parts, [&](int64_t t, int) {
        double* g = sums.data() + t * (fp * fp + fp);
        gram_rows(p.other, f, fp, m * t / parts, m * (t + 1) / parts, g, g + fp * fp);
      });
      for (int t = 0; t < parts; t++) {
        const double* g = sums.data() + static_cast<int64_t>(t) * (fp * fp + fp);
        for (int64_t i = 0; i < f; i++)
          for (int64_t j = 0; j <= i; j++) gp[i * fp + j] += g[i * fp + j];
      }
      for (int64_t i = 0; i < f; i++)
        for (int64_t j = 0; j < i; j++) gp[j * fp + i] = gp[i * fp + j];
    }
    c.gp = gp.data();
  }

  // tasks of about equal work: entries (one pass of 2f flops each per CG step) + a per-row cost
  // (the f² Gram product / the f³ factorisation, in entry units)
  const int64_t row_cost = p.cg ? (p.implicit ? f / 2 + 4 : 4) : f * f / 6 + 4;
  const int64_t nnz = static_cast<int64_t>(p.indptr[p.row_end]) - p.indptr[p.row_start];
  const int64_t total = nnz + n * row_cost;
  const int64_t per_task = std::max<int64_t>(1, total / (static_cast<int64_t>(threads) * 64));
  std::vector<int64_t> bounds{p.row_start};
  int64_t acc = 0;
  for (int64_t u = p.row_start; u < p.row_end; u++) {
    acc += (p.indptr[u + 1] - p.indptr[u]) + row_cost;
    if (acc >= per_task) { bounds.push_back(u + 1); acc = 0; }
  }
  if (bounds.back() != p.row_end) bounds.push_back(p.row_end);
  const int64_t tasks = static_cast<int64_t>(bounds.size()) - 1;

  // per-thread scratch: 4 vectors + the Cholesky matrix, 64-byte aligned
  const int64_t per_slot = (4 * fp + (p.cg ? 0 : fp * fp) + 7) / 8 * 8;
  const int slots = static_cast<int>(std::min<int64_t>(threads, tasks));
  std::vector<double> scratch_store(static_cast<size_t>(per_slot * slots + 8));
  double* scratch = scratch_store.data();
  while (reinterpret_cast<uintptr_t>(scratch) % 64) scratch++;
  // AVX-512 / AVX2 CG: the residual pass gathers a row's y vectors (≤ 4 MiB of them) into a per-thread
  // buffer, so the cg_steps product passes stream contiguous, cached memory instead of
  // re-gathering rows of Y
  std::vector<float> gather_store;
  float* gather = nullptr;
  c.gather_rows = 0;
  if (p.cg && (simd == Simd::Avx512 || simd == Simd::Avx2) && fp <= 64) {
    int64_t longest = 0;
    for (int64_t u = p.row_start; u < p.row_end; u++) longest = std::max<int64_t>(longest, p.indptr[u + 1] - p.indptr[u]);
    c.gather_rows = std::min<int64_t>(longest, p.gather_max_entries >= 0 ? p.gather_max_entries : (int64_t{4} << 20) / (fp * 4));
    if (c.gather_rows > 0) {
      gather_store.resize(static_cast<size_t>(c.gather_rows * fp * slots + 16));
      gather = gather_store.data();
      while (reinterpret_cast<uintptr_t>(gather) % 64) gather++;
    }
  }

  const detail::als::SolveRowsFn solve = detail::als::solver_for(simd);
  std::atomic<int64_t> failed{std::numeric_limits<int64_t>::max()};
  parallel_for(tasks, slots, [&](int64_t t, int slot) {
    const int64_t bad = solve(c, bounds[t], bounds[t + 1], scratch + per_slot * slot,
                              gather ? gather + c.gather_rows * fp * slot : nullptr);
    if (bad >= 0) {
      int64_t cur = failed.load(std::memory_order_relaxed);
      while (bad < cur && !failed.compare_exchange_weak(cur, bad, std::memory_order_relaxed)) {}
    }
  });
  const int64_t bad = failed.load();
  if (bad != std::numeric_limits<int64_t>::max()) throw AlsNotPositiveDefinite(bad, p.regularization);
}

}  // namespace affinity
