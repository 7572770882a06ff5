// gemm: Goto/BLIS-style blocked SGEMM (row-major, batched, row ranges).
//
// Plan of one call (items = the batch items that the row range touches):
//   0. many small products each with its own B (items ≥ 2·threads, one item's packed B ≤ 1 MB:
//      attention's per-head products): each task is one whole item — its thread packs the item's
//      B into its own scratch, then its rows of A block by block, while they are in L2 (step 3's
//      loops); otherwise:
//   1. the items are taken in chunks whose packed op(B) fits kPackBudget floats (one item whose
//      B does not fit is cut into column ranges); a shared B (stride_b = 0) is packed once
//   2. per chunk, threads pack op(B) into slivers of NR columns over the whole K,
//        bp[s·NR·K + p·NR + j] = op(B)[p, s·NR + j]      (zero past N)
//   3. then take blocks of C (item, MC rows, NC columns) from the pool. Per block: op(A)'s MC rows
//      are packed into the thread's scratch as slivers of MR rows over the whole K,
//        ap[s·MR·K + p·MR + i] = op(A)[row0 + s·MR + i, p]   (zero past the block's rows)
//      (kept when the thread's next block has the same rows), then for every K slice of KC,
//      every B sliver (its KC×NR slice stays in L1) and every A sliver (streamed from L2), one
//      micro-kernel call updates an MR × NR tile of C: C = α·Σ_p a·b + β·C on the first slice
//      (β = 0: C not read), C += α·Σ_p a·b on the others. The micro-kernel prefetches its C tile
//      before the products: with a short K (64) the write-allocate misses of C are otherwise
//      not hidden. With AVX-512, the packings that transpose (A stored M × K, B stored N × K)
//      go through 16 × 16 register transposes.
//      A C of ≥ 16 MB with β = 0 whose pages are already in memory (a reused output; the output
//      layer's is 106 MB) is written with streaming stores instead: each block is computed into
//      the thread's buffer (in L2), then copied to C a whole 64-byte line at a time without the
//      line being read from memory first (stream_rows). A fresh output keeps ordinary stores: its
//      pages are zeroed into the cache by the page faults that the first stores take.
// The cancellation flag is checked by the pool before every pack task and every block.
#include "affinity/gemm.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <vector>

#include "output_pages.h"
#include "thread_pool.h"

#if AFFINITY_X86
#include <immintrin.h>
#endif

namespace affinity {
namespace {

// ---------------------------------------------------------------- micro-kernels
// a: kc × MR packed (a[p·MR + i]), b: kc × NR packed (b[p·NR + j]); C tile at c with leading
// dimension ldc, of which only mv ≤ MR rows and nv ≤ NR columns are real.
// load_c false: C = α·acc (C not read); true: C = α·acc + β·C.
using MicroFn = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta,
                         bool load_c, int mv, int nv);

struct Kernel {
  int mr;
  int nr;
  MicroFn fn;
};

/** Writes an MR × NR accumulator tile (row stride NR) into the real mv × nv part of C. */
inline void store_edge(const float* acc, int nr, float* c, int64_t ldc, float alpha, float beta, bool load_c, int mv,
                       int nv) {
  for (int i = 0; i < mv; i++) {
    float* ci = c + i * ldc;
    const float* ai = acc + i * nr;
    if (load_c) {
      for (int j = 0; j < nv; j++) ci[j] = alpha * ai[j] + beta * ci[j];
    } else {
      for (int j = 0; j < nv; j++) ci[j] = alpha * ai[j];
    }
  }
}

// Portable 4 × 8. With GCC/Clang 4-float vector extensions (SSE2 on x86-64, NEON on arm64):
// 8 accumulators + 2 B vectors + 1 broadcast fit the 16 registers of either.
constexpr int kScalarMR = 4, kScalarNR = 8;

void micro_scalar(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta,
                  bool load_c, int mv, int nv) {
  alignas(16) float acc[kScalarMR * kScalarNR];
#if defined(__GNUC__)
  typedef float v4 __attribute__((vector_size(16)));
  v4 c0[kScalarMR], c1[kScalarMR];
  for (int i = 0; i < kScalarMR; i++) { c0[i] = v4{0, 0, 0, 0}; c1[i] = v4{0, 0, 0, 0}; }
  for (int64_t p = 0; p < kc; p++) {
    v4 b0, b1;
    std::memcpy(&b0, b + p * kScalarNR, sizeof b0);
    std::memcpy(&b1, b + p * kScalarNR + 4, sizeof b1);
    const float* ap = a + p * kScalarMR;
    for (int i = 0; i < kScalarMR; i++) {
      const v4 ai = v4{ap[i], ap[i], ap[i], ap[i]};
      c0[i] += ai * b0;
      c1[i] += ai * b1;
    }
  }
  for (int i = 0; i < kScalarMR; i++) {
    std::memcpy(acc + i * kScalarNR, &c0[i], sizeof(v4));
    std::memcpy(acc + i * kScalarNR + 4, &c1[i], sizeof(v4));
  }
#else
  for (int x = 0; x < kScalarMR * kScalarNR; x++) acc[x] = 0.0f;
  for (int64_t p = 0; p < kc; p++)
    for (int i = 0; i < kScalarMR; i++)
      for (int j = 0; j < kScalarNR; j++) acc[i * kScalarNR + j] += a[p * kScalarMR + i] * b[p * kScalarNR + j];
#endif
  store_edge(acc, kScalarNR, c, ldc, alpha, beta, load_c, mv, nv);
}

#if AFFINITY_X86
// AVX2 + FMA 6 × 16: 12 accumulators + 2 B vectors + 1 broadcast = 15 of the 16 ymm registers.
constexpr int kAvx2MR = 6, kAvx2NR = 16;

__attribute__((target("avx2,fma"))) void micro_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                                    float alpha, float beta, bool load_c, int mv, int nv) {
  for (int i = 0; i < mv; i++) {  // the C tile's lines, fetched while the products are summed
    __builtin_prefetch(c + i * ldc, 1, 3);
    __builtin_prefetch(c + i * ldc + nv - 1, 1, 3);
  }
  __m256 c0[kAvx2MR], c1[kAvx2MR];
#pragma GCC unroll 6
  for (int i = 0; i < kAvx2MR; i++) { c0[i] = _mm256_setzero_ps(); c1[i] = _mm256_setzero_ps(); }
  for (int64_t p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_loadu_ps(b + p * kAvx2NR);
    const __m256 b1 = _mm256_loadu_ps(b + p * kAvx2NR + 8);
    const float* ap = a + p * kAvx2MR;
#pragma GCC unroll 6
    for (int i = 0; i < kAvx2MR; i++) {
      const __m256 ai = _mm256_broadcast_ss(ap + i);
      c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
    }
  }
  const __m256 va = _mm256_set1_ps(alpha);
  if (mv == kAvx2MR && nv == kAvx2NR) {
    const __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (int i = 0; i < kAvx2MR; i++) {
      float* ci = c + i * ldc;
      __m256 r0 = _mm256_mul_ps(c0[i], va), r1 = _mm256_mul_ps(c1[i], va);
      if (load_c) {
        r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), r0);
        r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), r1);
      }
      _mm256_storeu_ps(ci, r0);
      _mm256_storeu_ps(ci + 8, r1);
    }
    return;
  }
  alignas(32) float acc[kAvx2MR * kAvx2NR];
#pragma GCC unroll 6
  for (int i = 0; i < kAvx2MR; i++) {
    _mm256_store_ps(acc + i * kAvx2NR, c0[i]);
    _mm256_store_ps(acc + i * kAvx2NR + 8, c1[i]);
  }
  store_edge(acc, kAvx2NR, c, ldc, alpha, beta, load_c, mv, nv);
}

// AVX-512F 12 × 32: 24 accumulators + 2 B vectors + 1 broadcast = 27 of the 32 zmm registers;
// per p, 2 loads and 12 broadcasts feed 24 FMAs. Edge tiles use masked loads/stores (masked-off
// lanes are not accessed).
constexpr int kAvx512MR = 12, kAvx512NR = 32;

__attribute__((target("avx512f"))) void micro_avx512(int64_t kc, const float* a, const float* b, float* c,
                                                     int64_t ldc, float alpha, float beta, bool load_c, int mv,
                                                     int nv) {
  // the C tile's lines (a row of NR floats spans 2 or 3 of them) are fetched while the products
  // are summed: for a short K the stores would otherwise wait for each line (write-allocate)
  for (int i = 0; i < mv; i++) {
    __builtin_prefetch(c + i * ldc, 1, 3);
    __builtin_prefetch(c + i * ldc + 16, 1, 3);
    __builtin_prefetch(c + i * ldc + nv - 1, 1, 3);
  }
  __m512 c0[kAvx512MR], c1[kAvx512MR];
#pragma GCC unroll 12
  for (int i = 0; i < kAvx512MR; i++) { c0[i] = _mm512_setzero_ps(); c1[i] = _mm512_setzero_ps(); }
  for (int64_t p = 0; p < kc; p++) {
    const __m512 b0 = _mm512_loadu_ps(b + p * kAvx512NR);
    const __m512 b1 = _mm512_loadu_ps(b + p * kAvx512NR + 16);
    const float* ap = a + p * kAvx512MR;
#pragma GCC unroll 12
    for (int i = 0; i < kAvx512MR; i++) {
      const __m512 ai = _mm512_set1_ps(ap[i]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  const __mmask16 m0 = nv >= 16 ? __mmask16(0xffff) : __mmask16((1u << nv) - 1u);
  const __mmask16 m1 = nv >= 32 ? __mmask16(0xffff) : nv <= 16 ? __mmask16(0) : __mmask16((1u << (nv - 16)) - 1u);
#pragma GCC unroll 12
  for (int i = 0; i < kAvx512MR; i++) {
    if (i >= mv) break;
    float* ci = c + i * ldc;
    __m512 r0 = _mm512_mul_ps(c0[i], va), r1 = _mm512_mul_ps(c1[i], va);
    if (load_c) {
      r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, ci), r0);
      r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, ci + 16), r1);
    }
    _mm512_mask_storeu_ps(ci, m0, r0);
    _mm512_mask_storeu_ps(ci + 16, m1, r1);
  }
}
#endif

Kernel kernel_for(Simd s) {
#if AFFINITY_X86
  if (s == Simd::Avx512) return {kAvx512MR, kAvx512NR, &micro_avx512};
  if (s == Simd::Avx2) return {kAvx2MR, kAvx2NR, &micro_avx2};
#endif
  (void)s;
  return {kScalarMR, kScalarNR, &micro_scalar};
}

// ---------------------------------------------------------------- blocking
constexpr int64_t kKC = 256;  // K slice: a KC × NR B sliver (32 KB with NR = 32) stays in L1
constexpr int kMCSlivers = 8;  // MC = 8·MR rows per block (AVX-512: 96 rows, 96 KB of A per K slice)
constexpr int64_t kNCMax = 1024;  // columns per block at most
constexpr int64_t kPackBudget = int64_t(2) << 20;  // floats of packed B per chunk (8 MB)
constexpr int kPackSlivers = 16;  // B slivers per pack task
constexpr int64_t kItemPackMax = int64_t(256) << 10;  // floats of one item's packed B for per-item tasks (1 MB)
// C of at least this many floats (16 MB, more than the L2 caches hold) with β = 0: blocks of C go
// through a per-thread buffer and are streamed to C (see stream_rows)
constexpr int64_t kStreamMinFloats = int64_t(4) << 20;
constexpr int64_t kStagedLd = kNCMax + 16;  // a staged block's row stride: not a multiple of 4 KB (cache sets)

/** 64-byte aligned float buffer. */
class AlignedFloats {
 public:
  AlignedFloats() = default;
  explicit AlignedFloats(size_t n) {
    const size_t bytes = std::max<size_t>(64, (n * sizeof(float) + 63) & ~size_t(63));
    p_ = static_cast<float*>(::operator new(bytes, std::align_val_t(64)));
  }
  ~AlignedFloats() { if (p_) ::operator delete(p_, std::align_val_t(64)); }
  AlignedFloats(AlignedFloats&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  AlignedFloats& operator=(AlignedFloats&& o) noexcept {
    if (this != &o) { this->~AlignedFloats(); p_ = o.p_; o.p_ = nullptr; }
    return *this;
  }
  AlignedFloats(const AlignedFloats&) = delete;
  AlignedFloats& operator=(const AlignedFloats&) = delete;
  float* data() const { return p_; }

 private:
  float* p_ = nullptr;
};

#if AFFINITY_X86
// GCC 12's AVX-512 shuffle intrinsics pass _mm512_undefined_ps() as the unused merge source, which
// it then reports as uninitialized (GCC bug 105593, fixed in 12.3/13)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// ---------------------------------------------------------------- AVX-512 packing by 16 × 16 transposes
// The two packings that transpose (A stored M × K read as rows of op(A) into MR-row slivers; B
// stored N × K read as columns of op(B) into NR-column slivers) load 16 stored rows × 16
// elements, transpose them in registers (64 shuffles) and store 16 packed rows: a quarter of a
// cycle per element instead of one scalar strided store each.

/** r[c] := column c of the 16 × 16 block whose rows are r[0..15]. */
__attribute__((target("avx512f"))) inline void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; i++) {  // per 128-bit lane: pairs of rows interleaved
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int g = 0; g < 4; g++) {  // u[4g + m], lane L = column 4L + m of rows 4g..4g+3
    u[4 * g + 0] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int m = 0; m < 4; m++) {  // a 4 × 4 transpose of 128-bit lanes: r[4L + m], lane g = u[4g + m], lane L
    const __m512 v0 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x88), v1 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xDD);
    const __m512 v2 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x88), v3 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xDD);
    r[m] = _mm512_shuffle_f32x4(v0, v2, 0x88);
    r[8 + m] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
    r[4 + m] = _mm512_shuffle_f32x4(v1, v3, 0x88);
    r[12 + m] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
  }
}

/**
 * dst[q·ld_dst + i] = src[i·ld_src + q] for i < rows (≤ 16; 0 for i in [rows, width)) and
 * q < K: `width` (≤ 16) floats per packed row, starting at dst.
 */
__attribute__((target("avx512f"))) void pack_transposed_avx512(const float* src, int64_t ld_src, int rows, int64_t K,
                                                              float* dst, int64_t ld_dst, int width) {
  const __mmask16 wmask = static_cast<__mmask16>((1u << width) - 1u);
  __m512 r[16];
  for (int64_t q = 0; q < K; q += 16) {
    const int cols = static_cast<int>(std::min<int64_t>(16, K - q));
    const __mmask16 cmask = static_cast<__mmask16>((1u << cols) - 1u);
    for (int i = 0; i < 16; i++)
      r[i] = i < rows ? _mm512_maskz_loadu_ps(cmask, src + i * ld_src + q) : _mm512_setzero_ps();
    transpose16(r);
    for (int c = 0; c < cols; c++) _mm512_mask_storeu_ps(dst + (q + c) * ld_dst, wmask, r[c]);
  }
}
#pragma GCC diagnostic pop
#endif

#if AFFINITY_X86
/**
 * dst[i·ldd + j] = src[i·lds + j] for i < rows, j < cols: streaming (non-temporal) stores for the
 * whole 64-byte lines of each row of dst, ordinary masked stores for the partial lines at its
 * ends. A streaming store writes a whole line without reading it from memory first (an ordinary
 * store to a line not in cache reads it: twice the memory traffic). The sfence makes the stores
 * visible before the caller's task is reported done (they are weakly ordered).
 */
__attribute__((target("avx512f"))) void stream_rows(const float* src, int64_t lds, float* dst, int64_t ldd, int64_t rows,
                                                   int64_t cols) {
  for (int64_t i = 0; i < rows; i++) {
    const float* s = src + i * lds;
    float* d = dst + i * ldd;
    // floats until d reaches a line boundary (float arrays are 4-byte aligned)
    const int64_t head = std::min<int64_t>(cols, ((64 - (reinterpret_cast<uintptr_t>(d) & 63)) & 63) / sizeof(float));
    if (head) {
      const __mmask16 m = static_cast<__mmask16>((1u << head) - 1u);
      _mm512_mask_storeu_ps(d, m, _mm512_maskz_loadu_ps(m, s));
    }
    int64_t j = head;
    for (; j + 16 <= cols; j += 16) _mm512_stream_ps(d + j, _mm512_loadu_ps(s + j));
    if (j < cols) {
      const __mmask16 m = static_cast<__mmask16>((1u << (cols - j)) - 1u);
      _mm512_mask_storeu_ps(d + j, m, _mm512_maskz_loadu_ps(m, s + j));
    }
  }
  _mm_sfence();
}
#endif

// op(A)'s rows [row0, row0 + rows) of item `item`, all K, into slivers of mr rows (zero-padded).
void pack_a(const GemmParams& p, Simd simd, int mr, int64_t item, int64_t row0, int64_t rows, float* ap) {
  const int64_t K = p.k;
  const float* a = p.a + item * p.stride_a;
  const int64_t slivers = (rows + mr - 1) / mr;
  if (p.trans_a == Transpose::T) {
    // op(A)[i, q] = a[q·lda + i]: for each q, the block's `rows` floats are one contiguous run,
    // dealt out to the slivers. q outermost: each stored row of A (often a page or more apart, e.g.
    // the output layer's Gᵀ with lda = items) is visited once per block, not once per sliver; the
    // run kPrefetchRows rows ahead is prefetched (the hardware prefetchers do not follow a stride
    // of pages, and each run is a few cache lines: without it every line is a full miss).
    constexpr int64_t kPrefetchRows = 8;
    for (int64_t q = 0; q < K; q++) {
      const float* src = a + q * p.lda + row0;
      if (q + kPrefetchRows < K) {
        const char* ahead = reinterpret_cast<const char*>(src + kPrefetchRows * p.lda);
        for (int64_t byte = 0; byte < rows * static_cast<int64_t>(sizeof(float)) + 63; byte += 64) __builtin_prefetch(ahead + byte);
      }
      for (int64_t s = 0; s < slivers; s++) {
        float* dst = ap + s * mr * K + q * mr;
        const int valid = static_cast<int>(std::min<int64_t>(mr, rows - s * mr));
        int i = 0;
        for (; i < valid; i++) dst[i] = src[s * mr + i];
        for (; i < mr; i++) dst[i] = 0.0f;
      }
    }
    return;
  }
  for (int64_t s = 0; s < slivers; s++) {
    float* out = ap + s * mr * K;
    const int64_t i0 = row0 + s * mr;
    const int valid = static_cast<int>(std::min<int64_t>(mr, row0 + rows - i0));
#if AFFINITY_X86
    if (simd == Simd::Avx512 && p.trans_a == Transpose::N && mr <= 16) {
      pack_transposed_avx512(a + i0 * p.lda, p.lda, valid, K, out, mr, mr);
      continue;
    }
#endif
    (void)simd;
    // op(A)[i, p] = a[i·lda + p]: rows read sequentially, written with stride mr
    for (int i = 0; i < valid; i++) {
      const float* src = a + (i0 + i) * p.lda;
      for (int64_t q = 0; q < K; q++) out[q * mr + i] = src[q];
    }
    for (int i = valid; i < mr; i++)
      for (int64_t q = 0; q < K; q++) out[q * mr + i] = 0.0f;
  }
}

// op(B)'s slivers [s0, s1) of item `item`, counted from column col0 (sliver s = columns
// col0 + s·nr ...; real columns end at col_end), all K, into bp (sliver s at bp + s·nr·K).
void pack_b(const GemmParams& p, Simd simd, int nr, int64_t item, int64_t col0, int64_t col_end, int64_t s0,
            int64_t s1, float* bp) {
  const int64_t K = p.k;
  const float* b = p.b + item * p.stride_b;
  for (int64_t s = s0; s < s1; s++) {
    float* out = bp + s * nr * K;
    const int64_t j0 = col0 + s * nr;
    const int valid = static_cast<int>(std::min<int64_t>(nr, col_end - j0));
#if AFFINITY_X86
    if (simd == Simd::Avx512 && p.trans_b == Transpose::T && nr % 16 == 0) {
      for (int h = 0; h < nr; h += 16)  // 16 columns of the sliver at a time
        pack_transposed_avx512(b + (j0 + h) * p.ldb, p.ldb, std::max(0, std::min(16, valid - h)), K, out + h, nr, 16);
      continue;
    }
#endif
    (void)simd;
    if (p.trans_b == Transpose::N) {
      // op(B)[p, j] = b[p·ldb + j]: each p is a contiguous run of nr floats
      for (int64_t q = 0; q < K; q++) {
        const float* src = b + q * p.ldb + j0;
        float* dst = out + q * nr;
        int j = 0;
        for (; j < valid; j++) dst[j] = src[j];
        for (; j < nr; j++) dst[j] = 0.0f;
      }
    } else {
      // op(B)[p, j] = b[j·ldb + p]
      for (int j = 0; j < valid; j++) {
        const float* src = b + (j0 + j) * p.ldb;
        for (int64_t q = 0; q < K; q++) out[q * nr + j] = src[q];
      }
      for (int j = valid; j < nr; j++)
        for (int64_t q = 0; q < K; q++) out[q * nr + j] = 0.0f;
    }
  }
}

/** C = β·C (0 where β = 0, C not read) on rows [r0, r1) of item `item`. */
void scale_rows(const GemmParams& p, int64_t item, int64_t r0, int64_t r1) {
  for (int64_t i = r0; i < r1; i++) {
    float* ci = p.c + item * p.stride_c + i * p.ldc;
    if (p.beta == 0.0f) {
      for (int64_t j = 0; j < p.n; j++) ci[j] = 0.0f;
    } else {
      for (int64_t j = 0; j < p.n; j++) ci[j] *= p.beta;
    }
  }
}

struct Block {
  int64_t item;  // batch item
  int64_t chunk_item;  // its index within the chunk's packed B (0 when B is shared)
  int64_t row0, rows;  // rows of op(A)/C within the item
  int64_t col0, cols;  // columns of C, col0 relative to the chunk's first column
};

struct Scratch {
  AlignedFloats ap;
  AlignedFloats staged;  // a block of C on its way to C, when C is streamed
  int64_t item = -1, row0 = -1, rows = -1;  // what ap holds
};

/**
 * One block of C: `rows` × `cols` at cb, from op(A)'s rows packed in ap (slivers of MR over all K)
 * and the packed B slivers from bsl0 (NR columns over all K each). For every K slice of KC, every
 * B sliver (its KC × NR slice stays in L1) and every A sliver (streamed from L2), one micro-kernel
 * call updates an MR × NR tile: C = α·Σ a·b + β·C on the first slice (β = 0: C not read), C += α·Σ a·b after.
 */
void multiply_block(const GemmParams& p, const Kernel& kern, const float* ap, const float* bsl0, float* cb, int64_t ldc,
                    int64_t rows, int64_t cols) {
  const int mr = kern.mr, nr = kern.nr;
  const int64_t K = p.k, sliver_floats = nr * K;
  const int64_t a_slivers = (rows + mr - 1) / mr, b_slivers = (cols + nr - 1) / nr;
  for (int64_t pc = 0; pc < K; pc += kKC) {
    const int64_t kc = std::min(kKC, K - pc);
    const bool first = pc == 0;
    const float beta = first ? p.beta : 1.0f;
    const bool load_c = !first || p.beta != 0.0f;
    for (int64_t js = 0; js < b_slivers; js++) {
      const float* bsl = bsl0 + js * sliver_floats + pc * nr;
      const int nv = static_cast<int>(std::min<int64_t>(nr, cols - js * nr));
      for (int64_t is = 0; is < a_slivers; is++) {
        const int mv = static_cast<int>(std::min<int64_t>(mr, rows - is * mr));
        kern.fn(kc, ap + is * mr * K + pc * mr, bsl, cb + is * mr * ldc + js * nr, ldc, p.alpha, beta, load_c, mv, nv);
      }
    }
  }
}

// ---------------------------------------------------------------- checked sizes
constexpr int64_t kOverflow = std::numeric_limits<int64_t>::max();

/** x·y, or kOverflow when it exceeds 2^62 (x, y ≥ 0). */
int64_t mul_sat(int64_t x, int64_t y) {
  if (x == 0 || y == 0) return 0;
  constexpr int64_t lim = int64_t(1) << 62;
  if (x > lim / y) return kOverflow;
  return x * y;
}
int64_t add_sat(int64_t x, int64_t y) {
  if (x == kOverflow || y == kOverflow) return kOverflow;
  return x + y;  // both ≤ 2^62
}

std::string str(int64_t v) { return std::to_string(v); }

}  // namespace

int64_t gemm_span(int64_t batch, int64_t stride, int64_t rows, int64_t ld, int64_t cols) {
  if (batch <= 0 || rows <= 0 || cols <= 0) return 0;
  return add_sat(add_sat(mul_sat(batch - 1, stride), mul_sat(rows - 1, ld)), cols);
}

std::string validate_gemm(const GemmParams& p) {
  if (p.trans_a != Transpose::N && p.trans_a != Transpose::T) return "trans_a must be N or T";
  if (p.trans_b != Transpose::N && p.trans_b != Transpose::T) return "trans_b must be N or T";
  const struct { const char* name; int64_t v; } dims[] = {
      {"m", p.m},     {"n", p.n},         {"k", p.k},         {"batch", p.batch},       {"lda", p.lda},
      {"ldb", p.ldb}, {"ldc", p.ldc},     {"stride_a", p.stride_a}, {"stride_b", p.stride_b}, {"stride_c", p.stride_c}};
  for (const auto& d : dims)
    if (d.v < 0 || d.v > kGemmMaxDim) return std::string(d.name) + " must be in [0, 2^31-1], got " + str(d.v);
  const bool ta = p.trans_a == Transpose::T, tb = p.trans_b == Transpose::T;
  // stored shapes: A is M × K (N) or K × M (T); B is K × N (N) or N × K (T)
  const int64_t a_rows = ta ? p.k : p.m, a_cols = ta ? p.m : p.k;
  const int64_t b_rows = tb ? p.n : p.k, b_cols = tb ? p.k : p.n;
  if (p.lda < a_cols)
    return std::string("lda must be >= ") + (ta ? "m (trans_a = T)" : "k (trans_a = N)") + " = " + str(a_cols) + ", got " + str(p.lda);
  if (p.ldb < b_cols)
    return std::string("ldb must be >= ") + (tb ? "k (trans_b = T)" : "n (trans_b = N)") + " = " + str(b_cols) + ", got " + str(p.ldb);
  if (p.ldc < p.n) return "ldc must be >= n = " + str(p.n) + ", got " + str(p.ldc);
  const int64_t flat_rows = mul_sat(p.batch, p.m);
  if (p.row_start < 0 || p.row_start > p.row_end || p.row_end > flat_rows)
    return "row range [" + str(p.row_start) + ", " + str(p.row_end) + ") is not inside [0, batch*m = " + str(flat_rows) + ")";
  // C's items must not overlap (rows of different items are written by different threads/calls)
  if (p.batch > 1 && p.m > 0 && p.n > 0) {
    const int64_t item_span = gemm_span(1, 0, p.m, p.ldc, p.n);
    const bool sequential = p.stride_c >= item_span;
    const bool interleaved = p.stride_c >= p.n && (p.m == 1 || p.ldc >= add_sat(mul_sat(p.batch - 1, p.stride_c), p.n));
    if (!sequential && !interleaved)
      return "stride_c = " + str(p.stride_c) + " makes the items of C overlap (need stride_c >= (m-1)*ldc + n = " +
             str(item_span) + ", or stride_c >= n and ldc >= (batch-1)*stride_c + n)";
  }
  const int64_t span_a = gemm_span(p.batch, p.stride_a, a_rows, p.lda, a_cols);
  const int64_t span_b = gemm_span(p.batch, p.stride_b, b_rows, p.ldb, b_cols);
  const int64_t span_c = gemm_span(p.batch, p.stride_c, p.m, p.ldc, p.n);
  if (span_a == kOverflow || span_b == kOverflow || span_c == kOverflow) return "strides and sizes exceed 2^62 elements";
  if (span_a > 0 && !p.a) return "a is null";
  if (span_b > 0 && !p.b) return "b is null";
  if (span_c > 0 && !p.c) return "c is null";
  if (p.a_length >= 0 && p.a_length < span_a)
    return "a has length " + str(p.a_length) + ", needs (batch-1)*stride_a + (rows-1)*lda + cols = " + str(span_a);
  if (p.b_length >= 0 && p.b_length < span_b)
    return "b has length " + str(p.b_length) + ", needs (batch-1)*stride_b + (rows-1)*ldb + cols = " + str(span_b);
  if (p.c_length >= 0 && p.c_length < span_c)
    return "c has length " + str(p.c_length) + ", needs (batch-1)*stride_c + (m-1)*ldc + n = " + str(span_c);
  const auto overlaps = [](const void* x, int64_t nx, const void* y, int64_t ny) {
    if (nx <= 0 || ny <= 0) return false;
    const uintptr_t x0 = reinterpret_cast<uintptr_t>(x), y0 = reinterpret_cast<uintptr_t>(y);
    return x0 < y0 + static_cast<uintptr_t>(ny) * sizeof(float) && y0 < x0 + static_cast<uintptr_t>(nx) * sizeof(float);
  };
  if (overlaps(p.c, span_c, p.a, span_a)) return "c overlaps a";
  if (overlaps(p.c, span_c, p.b, span_b)) return "c overlaps b";
  return "";
}

void gemm(const GemmParams& p) {
  const std::string problem = validate_gemm(p);
  if (!problem.empty()) throw std::invalid_argument("gemm: " + problem);
  if (p.row_end == p.row_start || p.n == 0) return;
  const int64_t M = p.m, N = p.n, K = p.k;
  const int64_t item_first = p.row_start / M, item_last = (p.row_end - 1) / M;  // inclusive
  const auto item_rows = [&](int64_t item, int64_t& r0, int64_t& r1) {
    r0 = std::max<int64_t>(0, p.row_start - item * M);
    r1 = std::min<int64_t>(M, p.row_end - item * M);
  };
  int threads = std::max(1, std::min(p.threads, kMaxThreads));

  if (K == 0 || p.alpha == 0.0f) {
    // C = β·C without reading A or B; tasks of about 64k elements
    const int64_t rows_per_task = std::max<int64_t>(1, (int64_t(1) << 16) / N);
    const int64_t tasks = (p.row_end - p.row_start + rows_per_task - 1) / rows_per_task;
    parallel_for(tasks, threads, [&](int64_t t, int) {
      const int64_t f0 = p.row_start + t * rows_per_task, f1 = std::min(p.row_end, f0 + rows_per_task);
      for (int64_t f = f0; f < f1;) {
        const int64_t item = f / M, r0 = f - item * M, r1 = std::min(M, r0 + (f1 - f));
        scale_rows(p, item, r0, r1);
        f += r1 - r0;
      }
    });
    return;
  }

  Simd simd = p.simd == Simd::Auto ? detect_simd() : p.simd;
  if (!simd_supported(simd)) simd = detect_simd();
  const Kernel kern = kernel_for(simd);
  const int mr = kern.mr, nr = kern.nr;
  const int64_t mc = int64_t(kMCSlivers) * mr;

  const bool shared_b = p.stride_b == 0;
  const int64_t sliver_floats = nr * K;
  const int64_t all_slivers = (N + nr - 1) / nr;
  const int64_t items = item_last - item_first + 1;

  // many small products, each with its own B (attention's Q·Kᵀ per head and sequence): whole
  // items per task, each thread packing its item's B into its own scratch and using it while it
  // is in L2 (no shared packing pass, no barrier between items)
  if (!shared_b && items >= 2 * threads && all_slivers * sliver_floats <= kItemPackMax) {
    std::vector<AlignedFloats> bps(static_cast<size_t>(threads)), aps(static_cast<size_t>(threads));
    for (int t = 0; t < threads; t++) {
      bps[t] = AlignedFloats(static_cast<size_t>(all_slivers * sliver_floats));
      aps[t] = AlignedFloats(static_cast<size_t>(mc * K));
    }
    parallel_for(items, threads, [&](int64_t t, int slot) {
      const int64_t item = item_first + t;
      int64_t r0, r1;
      item_rows(item, r0, r1);
      float* bpi = bps[slot].data();
      float* ap = aps[slot].data();
      pack_b(p, simd, nr, item, 0, N, 0, all_slivers, bpi);
      for (int64_t i = r0; i < r1; i += mc) {
        const int64_t rows = std::min(mc, r1 - i);
        pack_a(p, simd, mr, item, i, rows, ap);
        multiply_block(p, kern, ap, bpi, p.c + item * p.stride_c + i * p.ldc, p.ldc, rows, N);
      }
    });
    return;
  }

  // otherwise: chunks of items × columns whose packed B fits the budget, packed by all threads
  int64_t chunk_cols = N, chunk_items = 1;
  if (mul_sat(all_slivers, sliver_floats) > kPackBudget) {
    chunk_cols = std::max<int64_t>(1, kPackBudget / sliver_floats) * nr;  // items one at a time, cut in columns
  } else if (shared_b) {
    chunk_items = item_last - item_first + 1;
  } else {
    chunk_items = std::max<int64_t>(1, kPackBudget / (all_slivers * sliver_floats));
  }
  const int64_t chunk_slivers = (std::min(chunk_cols, N) + nr - 1) / nr;
  const int64_t packed_items = shared_b ? 1 : std::min(chunk_items, item_last - item_first + 1);

  // NC: columns of a C block, a multiple of NR of about equal blocks of at most kNCMax
  const auto nc_for = [&](int64_t cols) {
    const int64_t nblocks = (cols + kNCMax - 1) / kNCMax;
    const int64_t per = (cols + nblocks - 1) / nblocks;
    return (per + nr - 1) / nr * nr;
  };

  // every allocation before C is touched
  AlignedFloats bp(static_cast<size_t>(packed_items * chunk_slivers * sliver_floats));
  threads = static_cast<int>(std::min<int64_t>(threads, kMaxThreads));
  std::vector<Scratch> scratch(threads);
  // a C larger than the caches, written and not read (β = 0), already in memory (a reused
  // output): each block is computed in the thread's buffer (it stays in L2; rows of kStagedLd >
  // nc floats) and then streamed to C. A fresh output is not: its pages are faulted in (and zeroed,
  // into the cache) by the first stores, which ordinary stores then hit; page_resident tells them
  // apart by the page in the middle of this call's rows of C.
  bool stream = false;
#if AFFINITY_X86
  if (simd == Simd::Avx512 && p.beta == 0.0f && mul_sat(p.row_end - p.row_start, N) >= kStreamMinFloats) {
    const int64_t mid = (p.row_start + p.row_end) / 2;
    stream = page_resident(p.c + (mid / M) * p.stride_c + (mid % M) * p.ldc);
  }
#endif
  for (Scratch& s : scratch) {
    s.ap = AlignedFloats(static_cast<size_t>(mc * K));
    if (stream) s.staged = AlignedFloats(static_cast<size_t>(mc * kStagedLd));
  }
  std::vector<Block> blocks;

  for (int64_t c_item = item_first; c_item <= item_last; c_item += chunk_items) {
    const int64_t c_item_end = std::min(item_last + 1, c_item + chunk_items);
    for (int64_t col0 = 0; col0 < N; col0 += chunk_cols) {
      const int64_t col_end = std::min(N, col0 + chunk_cols);
      const int64_t slivers = (col_end - col0 + nr - 1) / nr;
      const int64_t items_to_pack = shared_b ? 1 : c_item_end - c_item;
      // 2. pack B (a shared B uncut in columns only once: it is the same for every item)
      if (!(shared_b && chunk_cols >= N) || c_item == item_first) {
        const int64_t groups = (slivers + kPackSlivers - 1) / kPackSlivers;
        parallel_for(items_to_pack * groups, threads, [&](int64_t t, int) {
          const int64_t li = t / groups, g = t % groups;
          pack_b(p, simd, nr, c_item + li, col0, col_end, g * kPackSlivers, std::min(slivers, (g + 1) * kPackSlivers),
                 bp.data() + li * chunk_slivers * sliver_floats);
        });
      }
      // 3. blocks of C; narrower column blocks when there would be fewer than 4 per thread
      blocks.clear();
      int64_t nc = nc_for(col_end - col0);
      if (threads > 1) {
        int64_t row_blocks = 0;
        for (int64_t item = c_item; item < c_item_end; item++) {
          int64_t r0, r1;
          item_rows(item, r0, r1);
          row_blocks += (r1 - r0 + mc - 1) / mc;
        }
        const int64_t want_cols = (4 * threads + row_blocks - 1) / row_blocks;
        const int64_t col_blocks = (col_end - col0 + nc - 1) / nc;
        if (col_blocks < want_cols) nc = std::max<int64_t>(nr, ((col_end - col0 + want_cols - 1) / want_cols + nr - 1) / nr * nr);
      }
      for (int64_t item = c_item; item < c_item_end; item++) {
        int64_t r0, r1;
        item_rows(item, r0, r1);
        for (int64_t i = r0; i < r1; i += mc)
          for (int64_t j = 0; j < col_end - col0; j += nc)
            blocks.push_back({item, shared_b ? 0 : item - c_item, i, std::min(mc, r1 - i), j, std::min(nc, col_end - col0 - j)});
      }
      parallel_for(static_cast<int64_t>(blocks.size()), threads, [&](int64_t t, int slot) {
        const Block& blk = blocks[t];
        Scratch& s = scratch[slot];
        if (s.item != blk.item || s.row0 != blk.row0 || s.rows != blk.rows) {
          pack_a(p, simd, mr, blk.item, blk.row0, blk.rows, s.ap.data());
          s.item = blk.item;
          s.row0 = blk.row0;
          s.rows = blk.rows;
        }
        const float* bpi = bp.data() + blk.chunk_item * chunk_slivers * sliver_floats;
        const float* bsl = bpi + (blk.col0 / nr) * sliver_floats;
        float* cb = p.c + blk.item * p.stride_c + blk.row0 * p.ldc + col0 + blk.col0;
#if AFFINITY_X86
        if (stream) {
          multiply_block(p, kern, s.ap.data(), bsl, s.staged.data(), kStagedLd, blk.rows, blk.cols);
          stream_rows(s.staged.data(), kStagedLd, cb, p.ldc, blk.rows, blk.cols);
          return;
        }
#endif
        multiply_block(p, kern, s.ap.data(), bsl, cb, p.ldc, blk.rows, blk.cols);
      });
    }
  }
}

}  // namespace affinity
