// The neural-network kernels' inner loops (nn_kernels.inc) compiled three times: portable code
// (any CPU, arm64 included), AVX2+FMA and AVX-512, each inside its own namespace and, for the x86
// levels, under a target pragma — this file is compiled for the baseline ISA, and a wide level
// only runs after detect_simd() has seen the CPU support it. Every header is included before the
// pragmas, so no inline function or template of a header is compiled for a wider ISA (which
// could otherwise be the copy the linker keeps for baseline code).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "nn_ops.h"

#if AFFINITY_X86
#include <immintrin.h>
#endif

namespace affinity {
namespace detail {

// ------------------------------------------------------------------ portable: one lane
namespace nn_portable {
namespace {

struct V {
  using F = float;
  using M = bool;
  static constexpr int W = 1;
  static M first(int c) { return c >= 1; }
  static F load(const float* p) { return *p; }
  static F load(const float* p, int c) { return c >= 1 ? *p : 0.0f; }
  static void store(float* p, F x, int c = 1) {
    if (c >= 1) *p = x;
  }
  static F set1(float v) { return v; }
  static F zero() { return 0.0f; }
  static F add(F a, F b) { return a + b; }
  static F sub(F a, F b) { return a - b; }
  static F mul(F a, F b) { return a * b; }
  static F div(F a, F b) { return a / b; }
  static F fma(F a, F b, F c) { return a * b + c; }
  // x86 semantics (maxps/minps): the second operand when either is NaN
  static F max(F a, F b) { return a > b ? a : b; }
  static F min(F a, F b) { return a < b ? a : b; }
  static F abs(F a) { return std::fabs(a); }
  static M gt(F a, F b) { return a > b; }
  static M ge(F a, F b) { return a >= b; }
  static M lt(F a, F b) { return a < b; }
  static M isnan(F a) { return a != a; }
  static M mand(M a, M b) { return a && b; }
  static M bytes(const uint8_t* p, int c) { return c >= 1 && *p != 0; }
  static F select(M m, F a, F b) { return m ? a : b; }
  static float hsum(F a) { return a; }
  static float hmax(F a) { return a; }
  static F round(F a) { return std::nearbyint(a); }
  static F pow2i(F n) {
    const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
  static F frexp(F x, F* e) {
    uint32_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    *e = static_cast<float>(static_cast<int32_t>((bits >> 23) & 0xFFu) - 126);
    bits = (bits & 0x807FFFFFu) | 0x3F000000u;
    float m;
    std::memcpy(&m, &bits, sizeof m);
    return m;
  }
};

#include "nn_kernels.inc"

}  // namespace
}  // namespace nn_portable

const NnOps& nn_ops_scalar() { return nn_portable::kTable; }

#if AFFINITY_X86
// ------------------------------------------------------------------ AVX2 + FMA: 8 lanes
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace nn_avx2 {
namespace {

struct V {
  using F = __m256;
  using M = __m256;  // all-ones lanes
  static constexpr int W = 8;
  static M first(int c) {
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
  }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static F load(const float* p, int c) {
    return c >= W ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, _mm256_castps_si256(first(c)));
  }
  static void store(float* p, F x, int c = W) {
    if (c >= W) _mm256_storeu_ps(p, x);
    else _mm256_maskstore_ps(p, _mm256_castps_si256(first(c)), x);
  }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static F zero() { return _mm256_setzero_ps(); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static F abs(F a) { return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF))); }
  static M gt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M ge(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static M lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M isnan(F a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  static M mand(M a, M b) { return _mm256_and_ps(a, b); }
  static M bytes(const uint8_t* p, int c) {
    uint8_t buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::memcpy(buf, p, static_cast<size_t>(c < W ? c : W));  // never past the mask's end
    const __m256i w = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(buf)));
    const __m256 zero_lanes = _mm256_castsi256_ps(_mm256_cmpeq_epi32(w, _mm256_setzero_si256()));
    return _mm256_andnot_ps(zero_lanes, first(c));
  }
  static F select(M m, F a, F b) { return _mm256_blendv_ps(b, a, m); }
  static float hsum(F a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  static float hmax(F a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  static F round(F a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static F pow2i(F n) {
    const __m256i i = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(i, 23));
  }
  static F frexp(F x, F* e) {
    const __m256i bits = _mm256_castps_si256(x);
    const __m256i ex = _mm256_sub_epi32(_mm256_and_si256(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(0xFF)),
                                        _mm256_set1_epi32(126));
    *e = _mm256_cvtepi32_ps(ex);
    const __m256i mant = _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(static_cast<int>(0x807FFFFFu))),
                                         _mm256_set1_epi32(0x3F000000));
    return _mm256_castsi256_ps(mant);
  }
};

#include "nn_kernels.inc"

}  // namespace
}  // namespace nn_avx2
#pragma GCC pop_options

const NnOps& nn_ops_avx2() { return nn_avx2::kTable; }

// ------------------------------------------------------------------ AVX-512F: 16 lanes
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
// GCC 12's AVX-512 intrinsics pass _mm512_undefined_ps() as the unused merge source, which it
// then reports as uninitialized (GCC bug 105593, fixed in 12.3/13): not a problem of this code
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
namespace nn_avx512 {
namespace {

struct V {
  using F = __m512;
  using M = __mmask16;
  static constexpr int W = 16;
  static M first(int c) { return c >= W ? static_cast<M>(0xFFFF) : static_cast<M>((1u << c) - 1u); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static F load(const float* p, int c) { return c >= W ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(first(c), p); }
  static void store(float* p, F x, int c = W) {
    if (c >= W) _mm512_storeu_ps(p, x);
    else _mm512_mask_storeu_ps(p, first(c), x);
  }
  static F set1(float v) { return _mm512_set1_ps(v); }
  static F zero() { return _mm512_setzero_ps(); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static F abs(F a) { return _mm512_abs_ps(a); }
  static M gt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M ge(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static M lt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M isnan(F a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
  static M mand(M a, M b) { return static_cast<M>(a & b); }
  static M bytes(const uint8_t* p, int c) {
    uint8_t buf[16] = {0};
    std::memcpy(buf, p, static_cast<size_t>(c < W ? c : W));  // never past the mask's end
    const __m512i w = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(buf)));
    return static_cast<M>(_mm512_test_epi32_mask(w, w) & first(c));
  }
  static F select(M m, F a, F b) { return _mm512_mask_blend_ps(m, b, a); }
  // (not _mm512_reduce_*_ps: GCC 12 warns inside them, -Wmaybe-uninitialized)
  static float hsum(F a) {
    F t = _mm512_add_ps(a, _mm512_shuffle_f32x4(a, a, _MM_SHUFFLE(1, 0, 3, 2)));
    t = _mm512_add_ps(t, _mm512_shuffle_f32x4(t, t, _MM_SHUFFLE(2, 3, 0, 1)));
    __m128 s = _mm512_castps512_ps128(t);
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  static float hmax(F a) {
    F t = _mm512_max_ps(a, _mm512_shuffle_f32x4(a, a, _MM_SHUFFLE(1, 0, 3, 2)));
    t = _mm512_max_ps(t, _mm512_shuffle_f32x4(t, t, _MM_SHUFFLE(2, 3, 0, 1)));
    __m128 s = _mm512_castps512_ps128(t);
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  static F round(F a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static F pow2i(F n) {
    const __m512i i = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(i, 23));
  }
  static F frexp(F x, F* e) {
    const __m512i bits = _mm512_castps_si512(x);
    const __m512i ex = _mm512_sub_epi32(_mm512_and_si512(_mm512_srli_epi32(bits, 23), _mm512_set1_epi32(0xFF)),
                                        _mm512_set1_epi32(126));
    *e = _mm512_cvtepi32_ps(ex);
    const __m512i mant = _mm512_or_si512(_mm512_and_si512(bits, _mm512_set1_epi32(static_cast<int>(0x807FFFFFu))),
                                         _mm512_set1_epi32(0x3F000000));
    return _mm512_castsi512_ps(mant);
  }
};

#include "nn_kernels.inc"

}  // namespace
}  // namespace nn_avx512
#pragma GCC diagnostic pop
#pragma GCC pop_options

const NnOps& nn_ops_avx512() { return nn_avx512::kTable; }
#endif

const NnOps& nn_ops(Simd s) {
  if (s == Simd::Auto || !simd_supported(s)) s = detect_simd();
#if AFFINITY_X86
  if (s == Simd::Avx512) return nn_ops_avx512();
  if (s == Simd::Avx2) return nn_ops_avx2();
#endif
  return nn_ops_scalar();
}

}  // namespace detail
}  // namespace affinity
