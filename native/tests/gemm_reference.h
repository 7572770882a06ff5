// Test support for gemm (native/tests/test_gemm.cpp, native/cuda/tests/test_cuda_gemm.cpp): a
// case description, buffers with sentinels around every computed element, and a check against a
// float64 reference.
//
// Tolerance: |C − C_ref| ≤ 2·(K + 2)·2^-24·(|α|·Σ_p |op(A)[i,p]·op(B)[p,j]| + |β·C0[i,j]|) + 1e-30,
// twice the bound stated in affinity/gemm.h. Every element of the C buffer that is not an
// element of a computed row (gaps of ldc and strides, rows outside the range) holds a sentinel
// that must be left bit for bit. β = 0 cases fill C with NaN first (it must not be read).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "affinity/gemm.h"

namespace affinity_test {

using affinity::GemmParams;
using affinity::Simd;
using affinity::Transpose;
using affinity::gemm_span;
using affinity::simd_name;

struct Case {
  Transpose ta = Transpose::N, tb = Transpose::N;
  int64_t m = 1, n = 1, k = 1, batch = 1;
  float alpha = 1.0f, beta = 0.0f;
  int64_t pad_a = 0, pad_b = 0, pad_c = 0;  // extra leading-dimension elements
  int64_t gap_a = 0, gap_b = 0, gap_c = 0;  // extra elements between items
  bool shared_a = false, shared_b = false;  // stride 0
  bool interleaved_c = false;  // items side by side in each row: stride_c = n (+gap), ldc = batch·stride_c
  int64_t row_start = 0, row_end = -1;  // -1: batch·m
  int threads = 1;
  Simd simd = Simd::Auto;
  uint32_t seed = 1;
};

inline std::string describe(const Case& c) {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "%c%c m=%lld n=%lld k=%lld batch=%lld alpha=%g beta=%g pads=%lld,%lld,%lld gaps=%lld,%lld,%lld%s%s%s "
                "rows=[%lld,%lld) threads=%d %s",
                c.ta == Transpose::N ? 'N' : 'T', c.tb == Transpose::N ? 'N' : 'T', (long long)c.m, (long long)c.n,
                (long long)c.k, (long long)c.batch, c.alpha, c.beta, (long long)c.pad_a, (long long)c.pad_b,
                (long long)c.pad_c, (long long)c.gap_a, (long long)c.gap_b, (long long)c.gap_c,
                c.shared_a ? " sharedA" : "", c.shared_b ? " sharedB" : "", c.interleaved_c ? " interleavedC" : "",
                (long long)c.row_start, (long long)c.row_end, c.threads, simd_name(c.simd));
  return buf;
}

struct Setup {
  GemmParams p;
  std::vector<float> a, b, c, c0;
};

inline std::vector<float> random_floats(int64_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = u(g);
  return v;
}

inline constexpr float kSentinel = -12345.5f;

inline Setup build(const Case& cs) {
  Setup s;
  GemmParams& p = s.p;
  p.trans_a = cs.ta;
  p.trans_b = cs.tb;
  p.m = cs.m;
  p.n = cs.n;
  p.k = cs.k;
  p.batch = cs.batch;
  p.alpha = cs.alpha;
  p.beta = cs.beta;
  const bool ta = cs.ta == Transpose::T, tb = cs.tb == Transpose::T;
  const int64_t a_rows = ta ? cs.k : cs.m, a_cols = ta ? cs.m : cs.k;
  const int64_t b_rows = tb ? cs.n : cs.k, b_cols = tb ? cs.k : cs.n;
  p.lda = a_cols + cs.pad_a;
  p.ldb = b_cols + cs.pad_b;
  p.stride_a = cs.shared_a ? 0 : a_rows * p.lda + cs.gap_a;
  p.stride_b = cs.shared_b ? 0 : b_rows * p.ldb + cs.gap_b;
  if (cs.interleaved_c) {
    p.stride_c = cs.n + cs.gap_c;
    p.ldc = cs.batch * p.stride_c + cs.pad_c;
  } else {
    p.ldc = cs.n + cs.pad_c;
    p.stride_c = cs.m * p.ldc + cs.gap_c;
  }
  p.row_start = cs.row_start;
  p.row_end = cs.row_end < 0 ? cs.batch * cs.m : cs.row_end;
  p.threads = cs.threads;
  p.simd = cs.simd;
  const int64_t la = gemm_span(cs.batch, p.stride_a, a_rows, p.lda, a_cols);
  const int64_t lb = gemm_span(cs.batch, p.stride_b, b_rows, p.ldb, b_cols);
  // C: one extra row's worth after the last item, all sentinel
  const int64_t lc = gemm_span(cs.batch, p.stride_c, cs.m, p.ldc, cs.n) + p.ldc + 3;
  s.a = random_floats(la, cs.seed * 3 + 1);
  s.b = random_floats(lb, cs.seed * 3 + 2);
  s.c.assign(static_cast<size_t>(lc), kSentinel);
  const std::vector<float> init = random_floats(lc, cs.seed * 3 + 3);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t it = 0; it < cs.batch; it++)
    for (int64_t i = 0; i < cs.m; i++)
      for (int64_t j = 0; j < cs.n; j++) {
        const size_t o = static_cast<size_t>(it * p.stride_c + i * p.ldc + j);
        s.c[o] = cs.beta == 0.0f ? nan : init[o];
      }
  s.c0 = s.c;
  p.a = s.a.data();
  p.a_length = static_cast<int64_t>(s.a.size());
  p.b = s.b.data();
  p.b_length = static_cast<int64_t>(s.b.size());
  p.c = s.c.data();
  p.c_length = static_cast<int64_t>(s.c.size());
  return s;
}

/** Checks s.c after the call against the float64 reference and the untouched sentinel/initial values. */
inline bool verify(const Setup& s, const std::string& what) {
  const GemmParams& p = s.p;
  const bool ta = p.trans_a == Transpose::T, tb = p.trans_b == Transpose::T;
  std::vector<char> computed(s.c.size(), 0);
  bool ok = true;
  double worst = 0;
  for (int64_t f = p.row_start; f < p.row_end; f++) {
    const int64_t it = f / p.m, i = f % p.m;
    const float* a = s.a.data() + it * p.stride_a;
    const float* b = s.b.data() + it * p.stride_b;
    for (int64_t j = 0; j < p.n; j++) {
      double sum = 0, mag = 0;
      if (p.alpha != 0.0f) {
        for (int64_t q = 0; q < p.k; q++) {
          const double x = ta ? a[q * p.lda + i] : a[i * p.lda + q];
          const double y = tb ? b[j * p.ldb + q] : b[q * p.ldb + j];
          sum += x * y;
          mag += std::fabs(x * y);
        }
      }
      const size_t o = static_cast<size_t>(it * p.stride_c + i * p.ldc + j);
      computed[o] = 1;
      double ref = static_cast<double>(p.alpha) * sum;
      double bound = std::fabs(static_cast<double>(p.alpha)) * mag;
      if (p.beta != 0.0f) {
        ref += static_cast<double>(p.beta) * s.c0[o];
        bound += std::fabs(static_cast<double>(p.beta) * s.c0[o]);
      }
      const double tol = 2.0 * (static_cast<double>(p.k) + 2.0) * std::ldexp(1.0, -24) * bound + 1e-30;
      const double err = std::fabs(static_cast<double>(s.c[o]) - ref);
      if (!(err <= tol)) {
        if (ok)
          std::fprintf(stderr, "  %s: C[item %lld, %lld, %lld] = %.9g, reference %.9g (tolerance %.3g)\n", what.c_str(),
                       (long long)it, (long long)i, (long long)j, s.c[o], ref, tol);
        ok = false;
      }
      if (bound > 0) worst = std::max(worst, err / bound);
    }
  }
  size_t touched = 0;
  for (size_t o = 0; o < s.c.size(); o++)
    if (!computed[o] && std::memcmp(&s.c[o], &s.c0[o], sizeof(float)) != 0) touched++;
  if (touched) {
    std::fprintf(stderr, "  %s: %zu elements outside the computed rows were written\n", what.c_str(), touched);
    ok = false;
  }
  return ok;
}

}  // namespace affinity_test
