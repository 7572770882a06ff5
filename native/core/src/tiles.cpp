// The three tile implementations. This file is compiled for the baseline ISA; the x86 tiles
// carry __attribute__((target(...))) so that the library loads on any x86-64 and the wide
// code only runs after detect_simd() has seen the CPU support it.
#include "tiles.h"

#if AFFINITY_X86
#include <immintrin.h>
#endif

namespace affinity {
namespace detail {
namespace {

// ---------------------------------------------------------------- portable (any CPU)
// 4 × 8 tile. With GCC/Clang, 4-float vector extensions (SSE2 on x86-64, NEON on arm64):
// 8 accumulators + 2 key vectors + 1 broadcast fit the 16 registers of either. Elsewhere plain
// loops over the same tile.
constexpr int kScalarMR = 4, kScalarNR = 8;

void tile_scalar(const float* a, const float* b, int64_t d, RowState* rows, int rows_valid, int32_t j0,
                 int cols_valid, int32_t k_out) {
  float c[kScalarMR][kScalarNR];
#if defined(__GNUC__)
  typedef float v4 __attribute__((vector_size(16)));
  v4 c0[kScalarMR], c1[kScalarMR];
  for (int i = 0; i < kScalarMR; i++) { c0[i] = v4{0, 0, 0, 0}; c1[i] = v4{0, 0, 0, 0}; }
  for (int64_t f = 0; f < d; f++) {
    v4 b0, b1;
    __builtin_memcpy(&b0, b + f * kScalarNR, sizeof b0);  // unaligned-safe loads
    __builtin_memcpy(&b1, b + f * kScalarNR + 4, sizeof b1);
    const float* af = a + f * kScalarMR;
    for (int i = 0; i < kScalarMR; i++) {
      const v4 ai = v4{af[i], af[i], af[i], af[i]};
      c0[i] += ai * b0;
      c1[i] += ai * b1;
    }
  }
  for (int i = 0; i < kScalarMR; i++) {
    __builtin_memcpy(&c[i][0], &c0[i], sizeof(v4));
    __builtin_memcpy(&c[i][4], &c1[i], sizeof(v4));
  }
#else
  for (int i = 0; i < kScalarMR; i++)
    for (int jj = 0; jj < kScalarNR; jj++) c[i][jj] = 0.0f;
  for (int64_t f = 0; f < d; f++) {
    const float* bf = b + f * kScalarNR;
    const float* af = a + f * kScalarMR;
    for (int i = 0; i < kScalarMR; i++)
      for (int jj = 0; jj < kScalarNR; jj++) c[i][jj] += af[i] * bf[jj];
  }
#endif
  for (int i = 0; i < rows_valid; i++) {
    RowState& r = rows[i];
    for (int jj = 0; jj < cols_valid; jj++) {
      // thr is re-read after every offer: it rises as the heap fills
      if (!(c[i][jj] <= r.thr)) consider(r, j0 + jj, c[i][jj], k_out);
    }
  }
}

#if AFFINITY_X86
// ---------------------------------------------------------------- AVX2 + FMA: 6 × 16
// 12 accumulators + 2 key vectors + 1 broadcast = 15 of the 16 ymm registers.
constexpr int kAvx2MR = 6, kAvx2NR = 16;

__attribute__((target("avx2,fma"))) void tile_avx2(const float* a, const float* b, int64_t d, RowState* rows,
                                                   int rows_valid, int32_t j0, int cols_valid, int32_t k_out) {
  __m256 c0[kAvx2MR], c1[kAvx2MR];
#pragma GCC unroll 6
  for (int i = 0; i < kAvx2MR; i++) { c0[i] = _mm256_setzero_ps(); c1[i] = _mm256_setzero_ps(); }
  for (int64_t f = 0; f < d; f++) {
    const __m256 b0 = _mm256_loadu_ps(b + f * kAvx2NR);
    const __m256 b1 = _mm256_loadu_ps(b + f * kAvx2NR + 8);
    const float* af = a + f * kAvx2MR;
#pragma GCC unroll 6
    for (int i = 0; i < kAvx2MR; i++) {
      const __m256 ai = _mm256_broadcast_ss(af + i);
      c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
    }
  }
  const uint32_t colmask = cols_valid >= kAvx2NR ? 0xffffu : ((1u << cols_valid) - 1u);
#pragma GCC unroll 6
  for (int i = 0; i < kAvx2MR; i++) {
    if (i >= rows_valid) break;
    const __m256 t = _mm256_set1_ps(rows[i].thr);
    // !(score <= thr): passes everything while thr is NaN, then only scores above thr (and NaN,
    // which consider() drops)
    uint32_t m = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(c0[i], t, _CMP_NLE_UQ))) |
                 (static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(c1[i], t, _CMP_NLE_UQ))) << 8);
    m &= colmask;
    if (m) {
      alignas(32) float s[kAvx2NR];
      _mm256_store_ps(s, c0[i]);
      _mm256_store_ps(s + 8, c1[i]);
      do {
        const int jj = __builtin_ctz(m);
        m &= m - 1;
        consider(rows[i], j0 + jj, s[jj], k_out);
      } while (m);
    }
  }
}

// ---------------------------------------------------------------- AVX-512F: 12 × 32
// 24 accumulators + 2 key vectors + 1 broadcast = 27 of the 32 zmm registers; per f, 2 loads
// feed 24 FMAs.
constexpr int kAvx512MR = 12, kAvx512NR = 32;

__attribute__((target("avx512f"))) void tile_avx512(const float* a, const float* b, int64_t d, RowState* rows,
                                                    int rows_valid, int32_t j0, int cols_valid, int32_t k_out) {
  __m512 c0[kAvx512MR], c1[kAvx512MR];
#pragma GCC unroll 12
  for (int i = 0; i < kAvx512MR; i++) { c0[i] = _mm512_setzero_ps(); c1[i] = _mm512_setzero_ps(); }
  for (int64_t f = 0; f < d; f++) {
    const __m512 b0 = _mm512_loadu_ps(b + f * kAvx512NR);
    const __m512 b1 = _mm512_loadu_ps(b + f * kAvx512NR + 16);
    const float* af = a + f * kAvx512MR;
#pragma GCC unroll 12
    for (int i = 0; i < kAvx512MR; i++) {
      const __m512 ai = _mm512_set1_ps(af[i]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
  }
  const uint32_t colmask = cols_valid >= kAvx512NR ? 0xffffffffu : ((1u << cols_valid) - 1u);
#pragma GCC unroll 12
  for (int i = 0; i < kAvx512MR; i++) {
    if (i >= rows_valid) break;
    const __m512 t = _mm512_set1_ps(rows[i].thr);
    uint32_t m = static_cast<uint32_t>(_mm512_cmp_ps_mask(c0[i], t, _CMP_NLE_UQ)) |
                 (static_cast<uint32_t>(_mm512_cmp_ps_mask(c1[i], t, _CMP_NLE_UQ)) << 16);
    m &= colmask;
    if (m) {
      alignas(64) float s[kAvx512NR];
      _mm512_store_ps(s, c0[i]);
      _mm512_store_ps(s + 16, c1[i]);
      do {
        const int jj = __builtin_ctz(m);
        m &= m - 1;
        consider(rows[i], j0 + jj, s[jj], k_out);
      } while (m);
    }
  }
}
#endif

}  // namespace

TileKind scalar_tile() { return {kScalarMR, kScalarNR, &tile_scalar}; }
#if AFFINITY_X86
TileKind avx2_tile() { return {kAvx2MR, kAvx2NR, &tile_avx2}; }
TileKind avx512_tile() { return {kAvx512MR, kAvx512NR, &tile_avx512}; }
#endif

}  // namespace detail
}  // namespace affinity
