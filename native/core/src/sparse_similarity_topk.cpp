// sparse_similarity_topk: Gustavson row-by-row accumulation (general path) and a blocked SIMD
// variant for dot/cosine, both with a fused bounded top-k per row. See the header for the plan.
#include "affinity/sparse_similarity_topk.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "thread_pool.h"
#include "affinity/platform.h"  // AFFINITY_X86
#include "topk_rows.h"

#if AFFINITY_X86
#include <immintrin.h>
#endif

namespace affinity {
namespace {

using detail::RowState;

enum class Acc { Dot, Common, Pearson, Msd, Count };

Acc acc_kind(SimilarityMetric m) {
  switch (m) {
    case SimilarityMetric::Dot:
    case SimilarityMetric::Cosine: return Acc::Dot;
    case SimilarityMetric::CosineCommon:
    case SimilarityMetric::AdjustedCosine:
    case SimilarityMetric::PearsonBaseline: return Acc::Common;
    case SimilarityMetric::Pearson: return Acc::Pearson;
    case SimilarityMetric::Msd: return Acc::Msd;
    case SimilarityMetric::Jaccard: return Acc::Count;
  }
  return Acc::Dot;
}

/** 64-byte aligned, zero-initialised array of T (one allocation, never resized). */
template <class T>
class Aligned {
 public:
  Aligned() = default;
  explicit Aligned(size_t n) {
    const size_t bytes = std::max<size_t>(64, (n * sizeof(T) + 63) & ~size_t(63));
    p_ = static_cast<T*>(::operator new(bytes, std::align_val_t(64)));
    std::memset(static_cast<void*>(p_), 0, bytes);
  }
  ~Aligned() { if (p_) ::operator delete(p_, std::align_val_t(64)); }
  Aligned(Aligned&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  Aligned& operator=(Aligned&& o) noexcept {
    if (this != &o) { this->~Aligned(); p_ = o.p_; o.p_ = nullptr; }
    return *this;
  }
  Aligned(const Aligned&) = delete;
  Aligned& operator=(const Aligned&) = delete;
  T* data() const { return p_; }

 private:
  T* p_ = nullptr;
};

/** X' (values of type V) and its transpose: row c lists the rows b storing column c, ascending. */
template <class V>
struct Data {
  const SparseSimilarityTopKParams* p = nullptr;
  const V* x = nullptr;  // row values (the caller's array or `own`)
  std::vector<V> own;
  std::vector<int64_t> tptr;  // cols+1
  std::vector<int32_t> tidx;
  std::vector<V> tval;
  std::vector<double> norm;  // ‖X'[r]‖ (cosine), from row_norm or computed
  std::vector<double> count;  // stored entries per row (jaccard)
};

/** Fills d; with `transpose` false only tptr (the column counts) of the transpose. */
template <class V>
void build_data(const SparseSimilarityTopKParams& p, Data<V>& d, bool transpose = true) {
  d.p = &p;
  const int64_t nnz = p.indptr[p.rows];
  if constexpr (std::is_same<V, float>::value) {
    if (p.values_f32) d.x = p.values_f32;
    else {
      d.own.resize(static_cast<size_t>(nnz));
      for (int64_t q = 0; q < nnz; q++) d.own[q] = static_cast<float>(p.values_f64[q]);
      d.x = d.own.data();
    }
  } else {
    if (p.values_f64) d.x = p.values_f64;
    else {
      d.own.resize(static_cast<size_t>(nnz));
      for (int64_t q = 0; q < nnz; q++) d.own[q] = static_cast<double>(p.values_f32[q]);
      d.x = d.own.data();
    }
  }
  d.tptr.assign(static_cast<size_t>(p.cols + 1), 0);
  for (int64_t q = 0; q < nnz; q++) d.tptr[p.indices[q] + 1]++;
  for (int64_t c = 0; c < p.cols; c++) d.tptr[c + 1] += d.tptr[c];
  if (transpose) {
    d.tidx.resize(static_cast<size_t>(nnz));
    d.tval.resize(static_cast<size_t>(nnz));
    std::vector<int64_t> cursor(d.tptr.begin(), d.tptr.end() - 1);
    for (int64_t r = 0; r < p.rows; r++) {
      for (int64_t q = p.indptr[r]; q < p.indptr[r + 1]; q++) {
        const int64_t t = cursor[p.indices[q]]++;
        d.tidx[t] = static_cast<int32_t>(r);
        d.tval[t] = d.x[q];
      }
    }
  }
  if (p.metric == SimilarityMetric::Cosine) {
    d.norm.resize(static_cast<size_t>(p.rows));
    if (p.row_norm) {
      std::copy(p.row_norm, p.row_norm + p.rows, d.norm.begin());
    } else {
      // as the reference: √Σ v² in float64 of the (float64) values
      for (int64_t r = 0; r < p.rows; r++) {
        double s = 0;
        for (int64_t q = p.indptr[r]; q < p.indptr[r + 1]; q++) {
          const double v = p.values_f64 ? p.values_f64[q] : static_cast<double>(p.values_f32[q]);
          s += v * v;
        }
        d.norm[r] = std::sqrt(s);
      }
    }
  }
  if (p.metric == SimilarityMetric::Jaccard) {
    d.count.resize(static_cast<size_t>(p.rows));
    for (int64_t r = 0; r < p.rows; r++) d.count[r] = static_cast<double>(p.indptr[r + 1] - p.indptr[r]);
  }
}

// ---------------------------------------------------------------- general path (float64 sums)

struct GeneralScratch {
  std::vector<double> n, sxy, sxx, syy, sx, sy;
  std::vector<int32_t> touched;
  std::vector<float> hs;
  std::vector<int32_t> hi;
};

void init_general(GeneralScratch& s, int64_t rows, Acc acc, int32_t k_out) {
  s.n.assign(static_cast<size_t>(rows), 0.0);
  s.touched.resize(static_cast<size_t>(rows));
  if (acc != Acc::Count) s.sxy.assign(static_cast<size_t>(rows), 0.0);
  if (acc == Acc::Common || acc == Acc::Pearson) {
    s.sxx.assign(static_cast<size_t>(rows), 0.0);
    s.syy.assign(static_cast<size_t>(rows), 0.0);
  }
  if (acc == Acc::Pearson) {
    s.sx.assign(static_cast<size_t>(rows), 0.0);
    s.sy.assign(static_cast<size_t>(rows), 0.0);
  }
  s.hs.resize(static_cast<size_t>(k_out));
  s.hi.resize(static_cast<size_t>(k_out));
}

/** The reference's RowSimilarity.score(): NaN when filtered out. */
struct Scorer {
  SimilarityMetric metric;
  double shrink, min_support, min_sim;
  const double* norm;
  const double* count;

  double operator()(int64_t a, int64_t b, double n, double sxy, double sxx, double syy, double sx, double sy) const {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (n < min_support || n == 0) return nan;
    double s = 0;
    switch (metric) {
      case SimilarityMetric::Dot: s = sxy; break;
      case SimilarityMetric::Cosine: {
        const double den = norm[a] * norm[b];
        s = den > 0 ? sxy / den : 0;
        break;
      }
      case SimilarityMetric::CosineCommon:
      case SimilarityMetric::AdjustedCosine:
      case SimilarityMetric::PearsonBaseline: {
        const double den = std::sqrt(sxx * syy);
        s = den > 0 ? sxy / den : 0;
        break;
      }
      case SimilarityMetric::Pearson: {
        const double vx = n * sxx - sx * sx, vy = n * syy - sy * sy;
        const double den = std::sqrt(vx * vy);
        s = vx > 0 && vy > 0 && den > 0 ? (n * sxy - sx * sy) / den : 0;
        if (s > 1) s = 1;
        else if (s < -1) s = -1;
        break;
      }
      case SimilarityMetric::Msd: s = 1 / (sxy / n + 1); break;
      case SimilarityMetric::Jaccard: s = n / (count[a] + count[b] - n); break;
    }
    if (metric == SimilarityMetric::PearsonBaseline) s *= (n - 1) / (n - 1 + shrink);
    else if (shrink > 0) s *= n / (n + shrink);
    if (s < min_sim) return nan;
    return s;
  }
};

template <class V>
void general_row(const Data<V>& d, Acc acc, const Scorer& score, int64_t a, int32_t k_out, GeneralScratch& s) {
  const SparseSimilarityTopKParams& p = *d.p;
  double* n = s.n.data();
  double* sxy = s.sxy.data();
  double* sxx = s.sxx.data();
  double* syy = s.syy.data();
  double* sx = s.sx.data();
  double* sy = s.sy.data();
  int32_t* touched = s.touched.data();
  int64_t count = 0;
  const int64_t* tptr = d.tptr.data();
  const int32_t* tidx = d.tidx.data();
  const V* tval = d.tval.data();
  for (int64_t q = p.indptr[a]; q < p.indptr[a + 1]; q++) {
    const int32_t c = p.indices[q];
    const double x = static_cast<double>(d.x[q]);
    const int64_t te = tptr[c + 1];
    switch (acc) {
      case Acc::Dot:
        for (int64_t t = tptr[c]; t < te; t++) {
          const int32_t b = tidx[t];
          if (n[b] == 0) touched[count++] = b;
          n[b] += 1;
          sxy[b] += x * static_cast<double>(tval[t]);
        }
        break;
      case Acc::Common:
        for (int64_t t = tptr[c]; t < te; t++) {
          const int32_t b = tidx[t];
          const double y = static_cast<double>(tval[t]);
          if (n[b] == 0) touched[count++] = b;
          n[b] += 1;
          sxy[b] += x * y; sxx[b] += x * x; syy[b] += y * y;
        }
        break;
      case Acc::Pearson:
        for (int64_t t = tptr[c]; t < te; t++) {
          const int32_t b = tidx[t];
          const double y = static_cast<double>(tval[t]);
          if (n[b] == 0) touched[count++] = b;
          n[b] += 1;
          sxy[b] += x * y; sxx[b] += x * x; syy[b] += y * y; sx[b] += x; sy[b] += y;
        }
        break;
      case Acc::Msd:
        for (int64_t t = tptr[c]; t < te; t++) {
          const int32_t b = tidx[t];
          const double dd = x - static_cast<double>(tval[t]);
          if (n[b] == 0) touched[count++] = b;
          n[b] += 1;
          sxy[b] += dd * dd;
        }
        break;
      case Acc::Count:
        for (int64_t t = tptr[c]; t < te; t++) {
          const int32_t b = tidx[t];
          if (n[b] == 0) touched[count++] = b;
          n[b] += 1;
        }
        break;
    }
  }
  RowState r;
  r.thr = std::numeric_limits<float>::quiet_NaN();
  r.size = 0;
  r.self = p.exclude_self ? static_cast<int32_t>(a) : -1;
  r.ex = r.ex_end = nullptr;
  r.hs = s.hs.data();
  r.hi = s.hi.data();
  const bool has_xy = acc != Acc::Count, has_sq = acc == Acc::Common || acc == Acc::Pearson, has_s = acc == Acc::Pearson;
  for (int64_t i = 0; i < count; i++) {
    const int32_t b = touched[i];
    const double v = score(a, b, n[b], has_xy ? sxy[b] : 0, has_sq ? sxx[b] : 0, has_sq ? syy[b] : 0, has_s ? sx[b] : 0,
                           has_s ? sy[b] : 0);
    // consider() drops NaN (filtered) and the row itself; 0 is never kept (as the reference)
    if (v != 0 && k_out > 0) detail::consider(r, b, static_cast<float>(v), k_out);
    n[b] = 0;
    if (has_xy) sxy[b] = 0;
    if (has_sq) { sxx[b] = 0; syy[b] = 0; }
    if (has_s) { sx[b] = 0; sy[b] = 0; }
  }
  const int64_t o = a * k_out;
  detail::drain(r, k_out, p.out_ids + o, p.out_scores + o);
}

// ---------------------------------------------------------------- blocked path (dot / cosine)
//
// A block of up to B rows (lane l = block row l) is processed against the transpose in tiles of
// `tile` rows b at a time, so that the tile's accumulators (tile × B float32, lane-interleaved:
// acc[(b−b0)·B + l]) stay in L2 while the block's column union is walked: for every column c in
// the union, with xv = the block rows' values at c (0 where a row lacks c), every transpose
// entry (b, y) of c inside the tile does acc[b] += y·xv — one SIMD multiply-add for B rows.
// Each column's entries per tile are found through `split` (computed once per call: the first
// transpose position of column c at or past tile boundary k). After a tile, one vectorised pass
// scores its b (s = acc·scale[l]·col_scale[b]) and offers those passing the lane's threshold to
// the lane's heap — b ascending, so equal scores resolve to the lower id — and zeroes acc.

struct BlockScratch {
  Aligned<float> acc;  // tile × B
  Aligned<float> xmat;  // cols × B: the block's values by column (zero between blocks)
  std::vector<uint64_t> bits;  // columns present in the block (clear between blocks)
  std::vector<int32_t> ucols;  // the block's column union, ascending
  Aligned<float> uxv;  // union × B: xv of each union column
  std::vector<RowState> rs;
  // symmetric path: cursor[c] = first transpose position of column c with rank ≥ the thread's
  // last block (blocks reach a thread in ascending order, so it only moves forward), and the
  // union's starts for the block's own tile
  std::vector<int64_t> cursor;
  int64_t cursor_rank = 0;
  std::vector<int64_t> first;
  std::vector<float> hs;
  std::vector<int32_t> hi;
  alignas(64) float thr[16];
  alignas(64) float scale[16];
};

struct BlockCall {
  int64_t rows;
  const int64_t* split;  // (tiles+1) × cols
  int64_t cols;
  int64_t tiles;
  int64_t tile;  // rows b per tile
  const int32_t* tidx;
  const float* tval;
  const float* col_scale;  // per row b: 1/‖b‖ (cosine) or 1 (dot)
  float min_sim;
  int32_t k_out;
};

// The walk over the union is bound by the latency of the transpose reads (each column's segment
// starts at an unpredictable address), so the kernels prefetch the split entries kSplitAhead
// columns ahead and the segment starts kSegmentAhead columns ahead (7.3 → 4.8 s on the 138k ×
// 27k item cosine, 2 threads). `first`, when set, overrides the segment starts of this tile (the
// symmetric path starts each column at its first row of rank ≥ the block's). always_inline: with
// plain `inline`, GCC 12 -O3 emitted none of the prefetches in the target("avx512f") kernels.
constexpr int64_t kSegmentAhead = 8, kSplitAhead = 16;

__attribute__((always_inline)) inline void prefetch_union(const BlockCall& c, const int32_t* ucols, const int64_t* first, int64_t nu,
                                                          int64_t u, const int64_t* spk) {
  if (u + kSplitAhead < nu) {
    if (!first) __builtin_prefetch(spk + ucols[u + kSplitAhead]);
    __builtin_prefetch(spk + c.cols + ucols[u + kSplitAhead]);
  }
  if (u + kSegmentAhead < nu) {
    const int64_t t = first ? first[u + kSegmentAhead] : spk[ucols[u + kSegmentAhead]];
    __builtin_prefetch(c.tidx + t);
    __builtin_prefetch(c.tval + t);
    __builtin_prefetch(c.tidx + t + 16);
    __builtin_prefetch(c.tval + t + 16);
  }
}

template <int B>
void accumulate_portable(const BlockCall& c, const int32_t* ucols, const float* uxv, const int64_t* first, int64_t nu, int64_t k,
                         float* acc) {
  const int64_t b0 = k * c.tile;
  const int64_t* spk = c.split + k * c.cols;
  for (int64_t u = 0; u < nu; u++) {
    prefetch_union(c, ucols, first, nu, u, spk);
    const int64_t* sp = spk + ucols[u];
    const float* xv = uxv + u * B;
    for (int64_t t = first ? first[u] : sp[0], te = sp[c.cols]; t < te; t++) {
      float* a = acc + (c.tidx[t] - b0) * B;
      const float y = c.tval[t];
      for (int l = 0; l < B; l++) a[l] += y * xv[l];
    }
  }
}

template <int B>
void select_portable(const BlockCall& c, BlockScratch& s, int lanes, float* acc, int64_t k) {
  const int64_t b0 = k * c.tile, b1 = std::min(c.rows, b0 + c.tile);
  for (int64_t b = b0; b < b1; b++) {
    float* a = acc + (b - b0) * B;
    bool any = false;
    for (int l = 0; l < B; l++) any |= a[l] != 0.0f;
    if (!any) continue;
    const float cs = c.col_scale[b];
    for (int l = 0; l < lanes; l++) {
      const float v = a[l];
      if (v == 0.0f) continue;
      const float sc = v * s.scale[l] * cs;
      if (sc == 0.0f || sc < c.min_sim) continue;
      RowState& r = s.rs[l];
      if (!(sc <= r.thr)) detail::consider(r, static_cast<int32_t>(b), sc, c.k_out);
    }
    for (int l = 0; l < B; l++) a[l] = 0.0f;
  }
}

#if AFFINITY_X86
__attribute__((target("avx512f"))) void accumulate_avx512(const BlockCall& c, const int32_t* ucols, const float* uxv, const int64_t* first,
                                                         int64_t nu, int64_t k, float* acc) {
  constexpr int B = 16;
  float* base = acc - k * c.tile * B;  // base + b·B = acc + (b − b0)·B
  const int32_t* ti = c.tidx;
  const float* tv = c.tval;
  const int64_t* spk = c.split + k * c.cols;
  for (int64_t u = 0; u < nu; u++) {
    prefetch_union(c, ucols, first, nu, u, spk);
    const int64_t* sp = spk + ucols[u];
    int64_t t = first ? first[u] : sp[0];
    const int64_t te = sp[c.cols];
    const __m512 xv = _mm512_load_ps(uxv + u * B);
    for (; t + 4 <= te; t += 4) {
      float* a0 = base + static_cast<int64_t>(ti[t]) * B;
      float* a1 = base + static_cast<int64_t>(ti[t + 1]) * B;
      float* a2 = base + static_cast<int64_t>(ti[t + 2]) * B;
      float* a3 = base + static_cast<int64_t>(ti[t + 3]) * B;
      _mm512_store_ps(a0, _mm512_fmadd_ps(_mm512_set1_ps(tv[t]), xv, _mm512_load_ps(a0)));
      _mm512_store_ps(a1, _mm512_fmadd_ps(_mm512_set1_ps(tv[t + 1]), xv, _mm512_load_ps(a1)));
      _mm512_store_ps(a2, _mm512_fmadd_ps(_mm512_set1_ps(tv[t + 2]), xv, _mm512_load_ps(a2)));
      _mm512_store_ps(a3, _mm512_fmadd_ps(_mm512_set1_ps(tv[t + 3]), xv, _mm512_load_ps(a3)));
    }
    for (; t < te; t++) {
      float* a0 = base + static_cast<int64_t>(ti[t]) * B;
      _mm512_store_ps(a0, _mm512_fmadd_ps(_mm512_set1_ps(tv[t]), xv, _mm512_load_ps(a0)));
    }
  }
}

__attribute__((target("avx512f"))) void select_avx512(const BlockCall& c, BlockScratch& s, int lanes, float* acc, int64_t k) {
  constexpr int B = 16;
  const int64_t b0 = k * c.tile, b1 = std::min(c.rows, b0 + c.tile);
  const __m512 zero = _mm512_setzero_ps();
  const __m512 scale = _mm512_load_ps(s.scale);
  const __m512 minsim = _mm512_set1_ps(c.min_sim);
  const __mmask16 valid = static_cast<__mmask16>(lanes >= 16 ? 0xffffu : ((1u << lanes) - 1u));
  __m512 thr = _mm512_load_ps(s.thr);
  for (int64_t b = b0; b < b1; b++) {
    float* a = acc + (b - b0) * B;
    const __m512 v = _mm512_load_ps(a);
    __mmask16 m = _mm512_cmp_ps_mask(v, zero, _CMP_NEQ_UQ);
    if (!m) continue;
    _mm512_store_ps(a, zero);
    const __m512 sc = _mm512_mul_ps(_mm512_mul_ps(v, scale), _mm512_set1_ps(c.col_scale[b]));
    m &= valid;
    m &= _mm512_cmp_ps_mask(sc, zero, _CMP_NEQ_UQ);
    m &= _mm512_cmp_ps_mask(sc, thr, _CMP_NLE_UQ);  // !(s <= thr): everything while thr is NaN
    m &= _mm512_cmp_ps_mask(sc, minsim, _CMP_NLT_UQ);  // !(s < min_sim)
    if (!m) continue;
    alignas(64) float sv[B];
    _mm512_store_ps(sv, sc);
    unsigned mm = m;
    do {
      const int l = __builtin_ctz(mm);
      mm &= mm - 1;
      detail::consider(s.rs[l], static_cast<int32_t>(b), sv[l], c.k_out);
      s.thr[l] = s.rs[l].thr;
    } while (mm);
    thr = _mm512_load_ps(s.thr);
  }
}

__attribute__((target("avx2,fma"))) void accumulate_avx2(const BlockCall& c, const int32_t* ucols, const float* uxv, const int64_t* first,
                                                         int64_t nu, int64_t k, float* acc) {
  constexpr int B = 8;
  float* base = acc - k * c.tile * B;  // base + b·B = acc + (b − b0)·B
  const int32_t* ti = c.tidx;
  const float* tv = c.tval;
  const int64_t* spk = c.split + k * c.cols;
  for (int64_t u = 0; u < nu; u++) {
    prefetch_union(c, ucols, first, nu, u, spk);
    const int64_t* sp = spk + ucols[u];
    int64_t t = first ? first[u] : sp[0];
    const int64_t te = sp[c.cols];
    const __m256 xv = _mm256_load_ps(uxv + u * B);
    for (; t + 4 <= te; t += 4) {
      float* a0 = base + static_cast<int64_t>(ti[t]) * B;
      float* a1 = base + static_cast<int64_t>(ti[t + 1]) * B;
      float* a2 = base + static_cast<int64_t>(ti[t + 2]) * B;
      float* a3 = base + static_cast<int64_t>(ti[t + 3]) * B;
      _mm256_store_ps(a0, _mm256_fmadd_ps(_mm256_set1_ps(tv[t]), xv, _mm256_load_ps(a0)));
      _mm256_store_ps(a1, _mm256_fmadd_ps(_mm256_set1_ps(tv[t + 1]), xv, _mm256_load_ps(a1)));
      _mm256_store_ps(a2, _mm256_fmadd_ps(_mm256_set1_ps(tv[t + 2]), xv, _mm256_load_ps(a2)));
      _mm256_store_ps(a3, _mm256_fmadd_ps(_mm256_set1_ps(tv[t + 3]), xv, _mm256_load_ps(a3)));
    }
    for (; t < te; t++) {
      float* a0 = base + static_cast<int64_t>(ti[t]) * B;
      _mm256_store_ps(a0, _mm256_fmadd_ps(_mm256_set1_ps(tv[t]), xv, _mm256_load_ps(a0)));
    }
  }
}

__attribute__((target("avx2,fma"))) void select_avx2(const BlockCall& c, BlockScratch& s, int lanes, float* acc, int64_t k) {
  constexpr int B = 8;
  const int64_t b0 = k * c.tile, b1 = std::min(c.rows, b0 + c.tile);
  const __m256 zero = _mm256_setzero_ps();
  const __m256 scale = _mm256_load_ps(s.scale);
  const __m256 minsim = _mm256_set1_ps(c.min_sim);
  const unsigned valid = lanes >= 8 ? 0xffu : ((1u << lanes) - 1u);
  __m256 thr = _mm256_load_ps(s.thr);
  for (int64_t b = b0; b < b1; b++) {
    float* a = acc + (b - b0) * B;
    const __m256 v = _mm256_load_ps(a);
    unsigned m = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_NEQ_UQ)));
    if (!m) continue;
    _mm256_store_ps(a, zero);
    const __m256 sc = _mm256_mul_ps(_mm256_mul_ps(v, scale), _mm256_set1_ps(c.col_scale[b]));
    m &= valid;
    m &= static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(sc, zero, _CMP_NEQ_UQ)));
    m &= static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(sc, thr, _CMP_NLE_UQ)));
    m &= static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(sc, minsim, _CMP_NLT_UQ)));
    if (!m) continue;
    alignas(32) float sv[B];
    _mm256_store_ps(sv, sc);
    do {
      const int l = __builtin_ctz(m);
      m &= m - 1;
      detail::consider(s.rs[l], static_cast<int32_t>(b), sv[l], c.k_out);
      s.thr[l] = s.rs[l].thr;
    } while (m);
    thr = _mm256_load_ps(s.thr);
  }
}
#endif

struct BlockKernels {
  int lanes;  // B
  void (*accumulate)(const BlockCall&, const int32_t*, const float*, const int64_t*, int64_t, int64_t, float*);
  void (*select)(const BlockCall&, BlockScratch&, int, float*, int64_t);
};

BlockKernels block_kernels(Simd simd) {
#if AFFINITY_X86
  if (simd == Simd::Avx512) return {16, accumulate_avx512, select_avx512};
  if (simd == Simd::Avx2) return {8, accumulate_avx2, select_avx2};
#endif
  (void)simd;
  return {8, accumulate_portable<8>, select_portable<8>};
}

/** Runs one block: block_rows[0..lanes) (lanes ≤ B) through the blocked path. */
void run_block(const SparseSimilarityTopKParams& p, const Data<float>& d, const BlockKernels& kern, const BlockCall& call,
               const int32_t* block_rows, int lanes, BlockScratch& s) {
  const int B = kern.lanes;
  float* xmat = s.xmat.data();
  uint64_t* bits = s.bits.data();
  for (int l = 0; l < lanes; l++) {
    const int32_t a = block_rows[l];
    for (int64_t q = p.indptr[a]; q < p.indptr[a + 1]; q++) {
      const int32_t c = p.indices[q];
      xmat[static_cast<int64_t>(c) * B + l] += d.x[q];  // += : duplicate (a, c) entries add up as in the reference's sums
      bits[c >> 6] |= uint64_t(1) << (c & 63);
    }
    RowState& r = s.rs[l];
    r.thr = std::numeric_limits<float>::quiet_NaN();
    r.size = 0;
    r.self = p.exclude_self ? a : -1;
    r.ex = r.ex_end = nullptr;
    r.hs = s.hs.data() + static_cast<size_t>(l) * call.k_out;
    r.hi = s.hi.data() + static_cast<size_t>(l) * call.k_out;
    s.thr[l] = r.thr;
    s.scale[l] = d.norm.empty() ? 1.0f : (d.norm[a] > 0 ? static_cast<float>(1.0 / d.norm[a]) : 0.0f);
  }
  for (int l = lanes; l < 16; l++) { s.thr[l] = std::numeric_limits<float>::quiet_NaN(); s.scale[l] = 0.0f; }
  // the union, ascending, with its xv vectors (xmat and bits left zero for the next block)
  int64_t nu = 0;
  int32_t* ucols = s.ucols.data();
  float* uxv = s.uxv.data();
  const int64_t words = static_cast<int64_t>(s.bits.size());
  for (int64_t w = 0; w < words; w++) {
    uint64_t m = bits[w];
    if (!m) continue;
    bits[w] = 0;
    do {
      const int64_t c = w * 64 + __builtin_ctzll(m);
      m &= m - 1;
      ucols[nu] = static_cast<int32_t>(c);
      std::memcpy(uxv + nu * B, xmat + c * B, sizeof(float) * B);
      std::memset(xmat + c * B, 0, sizeof(float) * B);
      nu++;
    } while (m);
  }
  for (int64_t k = 0; k < call.tiles; k++) {
    kern.accumulate(call, ucols, uxv, nullptr, nu, k, s.acc.data());
    kern.select(call, s, lanes, s.acc.data(), k);
  }
  for (int l = 0; l < lanes; l++) {
    const int64_t o = static_cast<int64_t>(block_rows[l]) * call.k_out;
    detail::drain(s.rs[l], call.k_out, p.out_ids + o, p.out_scores + o);
  }
}


// ---------------------------------------------------------------- symmetric blocked path
//
// dot and cosine are symmetric: s(a, b) = s(b, a). When one call covers every row, rows are
// relabelled by rank (heaviest first) and block j (ranks [jB, jB+B)) accumulates only the rows b
// of rank ≥ jB; every pair is scored once and offered to both rows' heaps — the lane's own row
// and, for b past the block, row b's. Heaps are per thread (rows × k_out each) and merged at the
// end, so no locks. The light rows at the end of the order then find almost nothing left to
// walk: the work drops from Σ_c df(c)² towards half of it, and most of what remains is done 16
// rows at a time. Candidates reach a heap in no particular id order, so the pre-filters are
// non-strict (`!(s < thr)`) and consider() settles equal scores by the lower id exactly.

struct SymCall {
  const BlockCall* call;
  const int32_t* orig;  // rank → row id
  int64_t j0;  // first rank of the block
  int lanes;
};

template <int B>
void select_sym_portable(const SymCall& y, BlockScratch& s, RowState* heaps, float* acc, int64_t k) {
  const BlockCall& c = *y.call;
  const int64_t b0 = k * c.tile, b1 = std::min(c.rows, b0 + c.tile);
  const int64_t bend = y.j0 + y.lanes;
  for (int64_t b = b0; b < b1; b++) {
    float* a = acc + (b - b0) * B;
    if (b >= y.j0) {
      const float cs = c.col_scale[b];
      RowState& rb = heaps[b];
      const int32_t ib = y.orig[b];
      for (int l = 0; l < y.lanes; l++) {
        const float v = a[l];
        if (v == 0.0f) continue;
        const float sc = v * s.scale[l] * cs;
        if (sc != sc || sc == 0.0f || sc < c.min_sim) continue;
        RowState& ra = heaps[y.j0 + l];
        if (!(sc < ra.thr)) detail::consider(ra, ib, sc, c.k_out);
        if (b >= bend && !(sc < rb.thr)) detail::consider(rb, y.orig[y.j0 + l], sc, c.k_out);
      }
    }
    for (int l = 0; l < B; l++) a[l] = 0.0f;
  }
}

#if AFFINITY_X86
__attribute__((target("avx512f"))) void select_sym_avx512(const SymCall& y, BlockScratch& s, RowState* heaps, float* acc, int64_t k) {
  constexpr int B = 16;
  const BlockCall& c = *y.call;
  const int64_t b0 = k * c.tile, b1 = std::min(c.rows, b0 + c.tile);
  const int64_t bend = y.j0 + y.lanes;
  const __m512 zero = _mm512_setzero_ps();
  const __m512 scale = _mm512_load_ps(s.scale);
  const __m512 minsim = _mm512_set1_ps(c.min_sim);
  const __mmask16 valid = static_cast<__mmask16>(y.lanes >= 16 ? 0xffffu : ((1u << y.lanes) - 1u));
  alignas(64) float thr[16];
  for (int l = 0; l < 16; l++) thr[l] = l < y.lanes ? heaps[y.j0 + l].thr : 0.0f;
  __m512 vthr = _mm512_load_ps(thr);
  int64_t b = b0;
  for (; b < std::min(b1, y.j0); b++) _mm512_store_ps(acc + (b - b0) * B, zero);
  for (; b < b1; b++) {
    float* a = acc + (b - b0) * B;
    const __m512 v = _mm512_load_ps(a);
    __mmask16 m = _mm512_cmp_ps_mask(v, zero, _CMP_NEQ_OQ);
    if (!m) continue;
    _mm512_store_ps(a, zero);
    const __m512 sc = _mm512_mul_ps(_mm512_mul_ps(v, scale), _mm512_set1_ps(c.col_scale[b]));
    m &= valid;
    m &= _mm512_cmp_ps_mask(sc, zero, _CMP_NEQ_OQ);  // also drops NaN
    m &= _mm512_cmp_ps_mask(sc, minsim, _CMP_NLT_UQ);  // !(s < min_sim)
    if (!m) continue;
    const __mmask16 ma = m & _mm512_cmp_ps_mask(sc, vthr, _CMP_NLT_UQ);  // !(s < thr): lanes' heaps
    __mmask16 mb = 0;
    RowState& rb = heaps[b];
    if (b >= bend) mb = m & _mm512_cmp_ps_mask(sc, _mm512_set1_ps(rb.thr), _CMP_NLT_UQ);  // row b's heap
    if (!(ma | mb)) continue;
    alignas(64) float sv[B];
    _mm512_store_ps(sv, sc);
    const int32_t ib = y.orig[b];
    unsigned mm = ma;
    bool changed = false;
    while (mm) {
      const int l = __builtin_ctz(mm);
      mm &= mm - 1;
      RowState& ra = heaps[y.j0 + l];
      detail::consider(ra, ib, sv[l], c.k_out);
      thr[l] = ra.thr;
      changed = true;
    }
    if (changed) vthr = _mm512_load_ps(thr);
    mm = mb;
    while (mm) {
      const int l = __builtin_ctz(mm);
      mm &= mm - 1;
      if (!(sv[l] < rb.thr)) detail::consider(rb, y.orig[y.j0 + l], sv[l], c.k_out);
    }
  }
}
#endif

/** Whether the symmetric path's per-thread heaps (rows × k_out each) stay within 1 GiB. */
bool symmetric_heaps_fit(int64_t rows, int32_t k_out, int threads) {
  return rows * static_cast<int64_t>(k_out) * 8 * threads <= (int64_t(1) << 30);
}

/**
 * The symmetric path for a call over all rows (see above). `order` lists the rows heaviest
 * first; `d` needs only its norms and tptr.
 */
void run_symmetric(const SparseSimilarityTopKParams& p, const Data<float>& d, Simd simd, const std::vector<int32_t>& order,
                   int32_t k_out, int threads, float min_sim) {
  const int64_t rows = p.rows, cols = p.cols;
  int B = 8;
  void (*accumulate)(const BlockCall&, const int32_t*, const float*, const int64_t*, int64_t, int64_t, float*) =
      accumulate_portable<8>;
  void (*select)(const SymCall&, BlockScratch&, RowState*, float*, int64_t) = select_sym_portable<8>;
#if AFFINITY_X86
  if (simd == Simd::Avx512) { B = 16; accumulate = accumulate_avx512; select = select_sym_avx512; }
  else if (simd == Simd::Avx2) { accumulate = accumulate_avx2; }
#endif
  (void)simd;
  // relabelled transpose: entries of column c by ascending rank
  std::vector<int32_t> rank(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; i++) rank[order[i]] = static_cast<int32_t>(i);
  const int64_t nnz = p.indptr[rows];
  std::vector<int32_t> tidx(static_cast<size_t>(nnz));
  std::vector<float> tval(static_cast<size_t>(nnz));
  {
    std::vector<int64_t> cursor(d.tptr.begin(), d.tptr.end() - 1);
    for (int64_t i = 0; i < rows; i++) {
      const int32_t a = order[i];
      for (int64_t q = p.indptr[a]; q < p.indptr[a + 1]; q++) {
        const int64_t t = cursor[p.indices[q]]++;
        tidx[t] = static_cast<int32_t>(i);
        tval[t] = d.x[q];
      }
    }
  }
  std::vector<float> col_scale(static_cast<size_t>(rows), 1.0f);
  if (!d.norm.empty())
    for (int64_t i = 0; i < rows; i++) {
      const double n = d.norm[order[i]];
      col_scale[i] = n > 0 ? static_cast<float>(1.0 / n) : 0.0f;
    }
  int64_t tile = std::max<int64_t>(64, (int64_t(256) << 10) / (4 * B));
  if (const char* env = std::getenv("AFFINITY_SIM_TILE")) tile = std::max<int64_t>(64, std::atoll(env));
  tile = std::min<int64_t>(tile, std::max<int64_t>(1, rows));
  const int64_t tiles = (rows + tile - 1) / tile;
  std::vector<int64_t> split(static_cast<size_t>(cols * (tiles + 1)));
  for (int64_t c = 0; c < cols; c++) {
    int64_t t = d.tptr[c];
    const int64_t te = d.tptr[c + 1];
    for (int64_t k = 0; k < tiles; k++) {
      while (t < te && tidx[t] < k * tile) t++;
      split[k * cols + c] = t;
    }
    split[tiles * cols + c] = te;
  }
  BlockCall call{rows, split.data(), cols, tiles, tile, tidx.data(), tval.data(), col_scale.data(), min_sim, k_out};
  const int64_t nblocks = (rows + B - 1) / B;
  threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, nblocks)));
  // per-thread heaps, indexed by rank
  struct Heaps {
    std::vector<RowState> rs;
    std::vector<float> hs;
    std::vector<int32_t> hi;
  };
  std::vector<Heaps> heaps(static_cast<size_t>(threads));
  for (auto& h : heaps) {
    h.rs.resize(static_cast<size_t>(rows));
    h.hs.resize(static_cast<size_t>(rows) * k_out);
    h.hi.resize(static_cast<size_t>(rows) * k_out);
    for (int64_t i = 0; i < rows; i++) {
      RowState& r = h.rs[i];
      r.thr = std::numeric_limits<float>::quiet_NaN();
      r.size = 0;
      r.self = p.exclude_self ? order[i] : -1;
      r.ex = r.ex_end = nullptr;
      r.hs = h.hs.data() + i * k_out;
      r.hi = h.hi.data() + i * k_out;
    }
  }
  std::vector<BlockScratch> scratch(static_cast<size_t>(threads));
  for (auto& s : scratch) {
    s.acc = Aligned<float>(static_cast<size_t>(tile) * B);
    s.xmat = Aligned<float>(static_cast<size_t>(cols) * B);
    s.bits.assign(static_cast<size_t>((cols + 63) / 64), 0);
    s.ucols.resize(static_cast<size_t>(cols));
    s.uxv = Aligned<float>(static_cast<size_t>(cols) * B);
    s.cursor.assign(d.tptr.begin(), d.tptr.end() - 1);
    s.first.resize(static_cast<size_t>(cols));
  }
  parallel_for(nblocks, threads, [&](int64_t blk, int slot) {
    BlockScratch& s = scratch[slot];
    const int64_t j0 = blk * B;
    const int lanes = static_cast<int>(std::min<int64_t>(B, rows - j0));
    float* xmat = s.xmat.data();
    uint64_t* bits = s.bits.data();
    for (int l = 0; l < lanes; l++) {
      const int32_t a = order[j0 + l];
      for (int64_t q = p.indptr[a]; q < p.indptr[a + 1]; q++) {
        const int32_t c = p.indices[q];
        xmat[static_cast<int64_t>(c) * B + l] += d.x[q];
        bits[c >> 6] |= uint64_t(1) << (c & 63);
      }
      s.scale[l] = d.norm.empty() ? 1.0f : col_scale[j0 + l];
    }
    for (int l = lanes; l < 16; l++) s.scale[l] = 0.0f;
    int64_t nu = 0;
    int32_t* ucols = s.ucols.data();
    float* uxv = s.uxv.data();
    const int64_t words = static_cast<int64_t>(s.bits.size());
    for (int64_t w = 0; w < words; w++) {
      uint64_t m = bits[w];
      if (!m) continue;
      bits[w] = 0;
      do {
        const int64_t c = w * 64 + __builtin_ctzll(m);
        m &= m - 1;
        ucols[nu] = static_cast<int32_t>(c);
        std::memcpy(uxv + nu * B, xmat + c * B, sizeof(float) * B);
        std::memset(xmat + c * B, 0, sizeof(float) * B);
        nu++;
      } while (m);
    }
    // each union column starts at its first row of rank ≥ j0 (rows below were scored by earlier blocks)
    if (j0 < s.cursor_rank) s.cursor.assign(d.tptr.begin(), d.tptr.end() - 1);  // not expected: blocks arrive in order
    s.cursor_rank = j0;
    int64_t* cursor = s.cursor.data();
    int64_t* first = s.first.data();
    for (int64_t u = 0; u < nu; u++) {
      if (u + kSplitAhead < nu) __builtin_prefetch(cursor + ucols[u + kSplitAhead]);
      if (u + kSegmentAhead < nu) __builtin_prefetch(tidx.data() + cursor[ucols[u + kSegmentAhead]]);
      const int32_t c = ucols[u];
      int64_t t = cursor[c];
      const int64_t te = d.tptr[c + 1];
      while (t < te && tidx[t] < j0) t++;
      cursor[c] = t;
      first[u] = t;
    }
    const SymCall y{&call, order.data(), j0, lanes};
    for (int64_t k = j0 / tile; k < tiles; k++) {
      accumulate(call, ucols, uxv, k == j0 / tile ? first : nullptr, nu, k, s.acc.data());
      select(y, s, heaps[slot].rs.data(), s.acc.data(), k);
    }
  });
  // merge the threads' heaps into the output, row by row
  parallel_for((rows + 255) / 256, threads, [&](int64_t t, int) {
    for (int64_t i = t * 256; i < std::min(rows, (t + 1) * 256); i++) {
      RowState& r0 = heaps[0].rs[i];
      for (int h = 1; h < threads; h++) {
        const RowState& r = heaps[h].rs[i];
        for (int32_t e = 0; e < r.size; e++) detail::consider(r0, r.hi[e], r.hs[e], k_out);
      }
      const int64_t o = static_cast<int64_t>(order[i]) * k_out;
      detail::drain(r0, k_out, p.out_ids + o, p.out_scores + o);
    }
  });
}

template <class V>
void run_general(const SparseSimilarityTopKParams& p, const Data<V>& d, const std::vector<int32_t>& rows_list, int32_t k_out,
                 int threads) {
  const Acc acc = acc_kind(p.metric);
  const Scorer score{p.metric, p.shrinkage, p.min_support, p.min_similarity, d.norm.empty() ? nullptr : d.norm.data(),
                     d.count.empty() ? nullptr : d.count.data()};
  constexpr int64_t kChunk = 32;
  const int64_t n = static_cast<int64_t>(rows_list.size());
  const int64_t tasks = (n + kChunk - 1) / kChunk;
  threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, tasks)));
  std::vector<GeneralScratch> scratch(static_cast<size_t>(threads));
  for (auto& s : scratch) init_general(s, p.rows, acc, k_out);
  parallel_for(tasks, threads, [&](int64_t t, int slot) {
    for (int64_t i = t * kChunk; i < std::min(n, (t + 1) * kChunk); i++) general_row(d, acc, score, rows_list[i], k_out, scratch[slot]);
  });
}

}  // namespace

std::string validate_sparse_similarity_topk(const SparseSimilarityTopKParams& p) {
  constexpr int64_t kMaxIndex = std::numeric_limits<int32_t>::max();
  if (p.rows < 0 || p.rows > kMaxIndex) return "rows must be in [0, 2^31-1], got " + std::to_string(p.rows);
  if (p.cols < 0 || p.cols > kMaxIndex) return "cols must be in [0, 2^31-1], got " + std::to_string(p.cols);
  if (p.k <= 0) return "k must be a positive integer, got " + std::to_string(p.k);
  if (static_cast<int>(p.metric) < 0 || static_cast<int>(p.metric) > 7) return "unknown metric";
  if (p.row_start < 0 || p.row_start > p.row_end || p.row_end > p.rows)
    return "row range [" + std::to_string(p.row_start) + ", " + std::to_string(p.row_end) + ") is not inside [0, " +
           std::to_string(p.rows) + ")";
  if (!p.indptr) return "indptr is null";
  if ((p.values_f32 == nullptr) == (p.values_f64 == nullptr)) return "exactly one of values_f32 / values_f64 must be set";
  if (!(p.shrinkage >= 0) || !std::isfinite(p.shrinkage)) return "shrinkage must be a non-negative number";
  if (!(p.min_support >= 0) || !std::isfinite(p.min_support)) return "minSupport must be a non-negative number";
  if (std::isnan(p.min_similarity)) return "minSimilarity is NaN";
  if (p.indptr[0] != 0) return "indptr[0] is " + std::to_string(p.indptr[0]) + ", expected 0";
  for (int64_t r = 0; r < p.rows; r++)
    if (p.indptr[r + 1] < p.indptr[r]) return "indptr decreases at row " + std::to_string(r);
  const int64_t nnz = p.indptr[p.rows];
  if (nnz > p.indices_length || nnz > p.values_length)
    return "indices/values have length " + std::to_string(std::min(p.indices_length, p.values_length)) + ", indptr needs nnz = " +
           std::to_string(nnz);
  if (nnz > 0 && !p.indices) return "indices is null";
  for (int64_t q = 0; q < nnz; q++) {
    const int32_t c = p.indices[q];
    if (c < 0 || c >= p.cols)
      return "column index " + std::to_string(c) + " at position " + std::to_string(q) + " is out of range [0, " +
             std::to_string(p.cols) + ")";
  }
  if (p.row_norm && p.row_norm_length != p.rows)
    return "rowNorm has length " + std::to_string(p.row_norm_length) + ", expected rows = " + std::to_string(p.rows);
  const int64_t k_out = sparse_similarity_topk_k_out(p.k, p.rows);
  if (p.row_end > p.row_start && k_out > 0 && (!p.out_ids || !p.out_scores)) return "output arrays are null";
  if (p.out_length >= 0 && p.out_length < p.rows * k_out)
    return "output arrays hold " + std::to_string(p.out_length) + " entries, need rows*k_out = " + std::to_string(p.rows * k_out);
  return "";
}

void sparse_similarity_topk(const SparseSimilarityTopKParams& p) {
  const std::string problem = validate_sparse_similarity_topk(p);
  if (!problem.empty()) throw std::invalid_argument("sparse_similarity_topk: " + problem);
  const int64_t nrows = p.row_end - p.row_start;
  const int32_t k_out = static_cast<int32_t>(sparse_similarity_topk_k_out(p.k, p.rows));
  if (nrows == 0 || k_out == 0) return;
  const int threads = std::max(1, std::min(p.threads, kMaxThreads));

  const bool blockable = (p.metric == SimilarityMetric::Dot || p.metric == SimilarityMetric::Cosine) && p.shrinkage == 0 &&
                         p.min_support <= 1 && p.path != 1;
  if (!blockable) {
    Data<double> d;
    build_data(p, d);
    std::vector<int32_t> list(static_cast<size_t>(nrows));
    std::iota(list.begin(), list.end(), static_cast<int32_t>(p.row_start));
    run_general(p, d, list, k_out, threads);
    return;
  }

  Simd simd = p.simd == Simd::Auto ? detect_simd() : p.simd;
  if (!simd_supported(simd)) simd = detect_simd();
  const BlockKernels kern = block_kernels(simd);
  const int B = kern.lanes;

  // dot and cosine over every row: the symmetric path (it builds its own relabelled transpose)
  const bool symmetric = p.path == 0 && p.row_start == 0 && p.row_end == p.rows &&
                         symmetric_heaps_fit(p.rows, k_out, threads) && !std::getenv("AFFINITY_SIM_NO_SYMMETRIC");
  Data<float> d;
  build_data(p, d, !symmetric);
  // work of row a: Σ_{c ∈ a} df(c); rows sorted by it, heaviest first
  std::vector<int64_t> work(static_cast<size_t>(nrows));
  for (int64_t i = 0; i < nrows; i++) {
    const int64_t a = p.row_start + i;
    int64_t w = 0;
    for (int64_t q = p.indptr[a]; q < p.indptr[a + 1]; q++) w += d.tptr[p.indices[q] + 1] - d.tptr[p.indices[q]];
    work[i] = w;
  }
  std::vector<int32_t> order(static_cast<size_t>(nrows));
  std::iota(order.begin(), order.end(), static_cast<int32_t>(p.row_start));
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t x, int32_t y) { return work[x - p.row_start] > work[y - p.row_start]; });
  // min_similarity as a float (beyond float's range: ±infinity)
  const double fmax = std::numeric_limits<float>::max();
  const float min_sim = p.min_similarity < -fmax   ? -std::numeric_limits<float>::infinity()
                        : p.min_similarity > fmax ? std::numeric_limits<float>::infinity()
                                                  : static_cast<float>(p.min_similarity);
  if (symmetric) {
    run_symmetric(p, d, simd, order, k_out, threads, min_sim);
    return;
  }
  // blocks of B rows whose walk outweighs the dense pass over `rows` accumulators go blocked;
  // the rest (light rows) row by row
  int64_t nblocks = 0;
  if (p.path == 2) {
    nblocks = (nrows + B - 1) / B;
  } else {
    for (int64_t i = 0; i < nrows; i += B) {
      int64_t w = 0;
      for (int64_t j = i; j < std::min(nrows, i + B); j++) w += work[order[j] - p.row_start];
      if (w < p.rows) break;
      nblocks++;
    }
  }
  const int64_t blocked_rows = std::min(nrows, nblocks * B);
  std::vector<int32_t> light(order.begin() + blocked_rows, order.end());

  if (nblocks > 0) {
    std::vector<float> col_scale(static_cast<size_t>(p.rows), 1.0f);
    if (!d.norm.empty())
      for (int64_t b = 0; b < p.rows; b++) col_scale[b] = d.norm[b] > 0 ? static_cast<float>(1.0 / d.norm[b]) : 0.0f;
    // tiles of rows b whose accumulators (tile × B floats) fit in L2 with room to spare
    int64_t tile = std::max<int64_t>(64, (int64_t(256) << 10) / (4 * B));
    if (const char* env = std::getenv("AFFINITY_SIM_TILE")) tile = std::max<int64_t>(64, std::atoll(env));
    tile = std::min<int64_t>(tile, std::max<int64_t>(1, p.rows));
    const int64_t tiles = (p.rows + tile - 1) / tile;
    // split[k·cols + c]: first transpose position of column c with b ≥ k·tile (tile-major, so
    // a pass over a block's ascending column union reads it in order)
    std::vector<int64_t> split(static_cast<size_t>(p.cols * (tiles + 1)));
    for (int64_t c = 0; c < p.cols; c++) {
      int64_t t = d.tptr[c];
      const int64_t te = d.tptr[c + 1];
      for (int64_t k = 0; k < tiles; k++) {
        const int64_t b0 = k * tile;
        while (t < te && d.tidx[t] < b0) t++;
        split[k * p.cols + c] = t;
      }
      split[tiles * p.cols + c] = te;
    }
    BlockCall call{p.rows, split.data(), p.cols, tiles, tile, d.tidx.data(), d.tval.data(), col_scale.data(), min_sim, k_out};
    const int bt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, nblocks)));
    std::vector<BlockScratch> scratch(static_cast<size_t>(bt));
    for (auto& s : scratch) {
      s.acc = Aligned<float>(static_cast<size_t>(tile) * B);
      s.xmat = Aligned<float>(static_cast<size_t>(p.cols) * B);
      s.bits.assign(static_cast<size_t>((p.cols + 63) / 64), 0);
      s.ucols.resize(static_cast<size_t>(p.cols));
      s.uxv = Aligned<float>(static_cast<size_t>(p.cols) * B);
      s.rs.resize(static_cast<size_t>(B));
      s.hs.resize(static_cast<size_t>(B) * k_out);
      s.hi.resize(static_cast<size_t>(B) * k_out);
    }
    parallel_for(nblocks, bt, [&](int64_t blk, int slot) {
      const int64_t i0 = blk * B;
      const int lanes = static_cast<int>(std::min<int64_t>(B, nrows - i0));
      run_block(p, d, kern, call, order.data() + i0, lanes, scratch[slot]);
    });
  }
  if (!light.empty()) run_general(p, d, light, k_out, threads);
}

}  // namespace affinity
