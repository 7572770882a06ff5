// Per-query-row state of the fused top-k: a bounded min-heap (worst kept entry at the root)
// plus the filters a candidate must pass (NaN, self, exclusion list).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace affinity {
namespace detail {

struct RowState {
  // Score a candidate must beat to be looked at: NaN while the heap is not full (the SIMD
  // filter is `!(score <= thr)`, true for every score when thr is NaN), then the worst kept
  // score. Keys arrive in ascending id order, so a candidate equal to the worst kept score
  // has a higher id than it and loses the tie: the strict comparison is exact.
  float thr;
  int32_t size;  // entries in the heap
  int32_t self;  // key id to skip (the query row) or -1
  const int32_t* ex;  // cursor into this row's sorted exclusion list
  const int32_t* ex_end;
  float* hs;  // heap scores [k_out]
  int32_t* hi;  // heap ids [k_out]
};

// a is worse than b: lower score, or equal score and higher id (the reference's order)
inline bool worse(float sa, int32_t ia, float sb, int32_t ib) { return sa < sb || (sa == sb && ia > ib); }

inline void sift_down(float* hs, int32_t* hi, int32_t i, int32_t n) {
  for (;;) {
    const int32_t l = 2 * i + 1, r = l + 1;
    int32_t m = i;
    if (l < n && worse(hs[l], hi[l], hs[m], hi[m])) m = l;
    if (r < n && worse(hs[r], hi[r], hs[m], hi[m])) m = r;
    if (m == i) return;
    const float ts = hs[i]; hs[i] = hs[m]; hs[m] = ts;
    const int32_t ti = hi[i]; hi[i] = hi[m]; hi[m] = ti;
    i = m;
  }
}

/**
 * Offers key j with score s to the row. Candidates of one row must come in ascending j
 * (the exclusion cursor only moves forward).
 */
inline void consider(RowState& r, int32_t j, float s, int32_t k_out) {
  if (s != s) return;  // NaN is never kept
  if (j == r.self) return;
  while (r.ex < r.ex_end && *r.ex < j) ++r.ex;
  if (r.ex < r.ex_end && *r.ex == j) return;
  float* hs = r.hs;
  int32_t* hi = r.hi;
  if (r.size < k_out) {
    int32_t i = r.size++;
    hs[i] = s; hi[i] = j;
    while (i > 0) {  // sift up
      const int32_t parent = (i - 1) >> 1;
      if (!worse(hs[i], hi[i], hs[parent], hi[parent])) break;
      const float ts = hs[i]; hs[i] = hs[parent]; hs[parent] = ts;
      const int32_t ti = hi[i]; hi[i] = hi[parent]; hi[parent] = ti;
      i = parent;
    }
    if (r.size == k_out) r.thr = hs[0];
    return;
  }
  if (!(s > hs[0] || (s == hs[0] && j < hi[0]))) return;
  hs[0] = s; hi[0] = j;
  sift_down(hs, hi, 0, r.size);
  r.thr = hs[0];
}

/** Writes the row best first (heap-sort: the worst goes to the end), pads with -1/-inf. */
inline void drain(RowState& r, int32_t k_out, int32_t* ids, float* scores) {
  const int32_t n = r.size;
  for (int32_t end = n - 1; end > 0; end--) {
    const float ts = r.hs[0]; r.hs[0] = r.hs[end]; r.hs[end] = ts;
    const int32_t ti = r.hi[0]; r.hi[0] = r.hi[end]; r.hi[end] = ti;
    sift_down(r.hs, r.hi, 0, end);
  }
  for (int32_t i = 0; i < n; i++) { ids[i] = r.hi[i]; scores[i] = r.hs[i]; }
  for (int32_t i = n; i < k_out; i++) { ids[i] = -1; scores[i] = -std::numeric_limits<float>::infinity(); }
  r.size = 0;
}

}  // namespace detail
}  // namespace affinity
