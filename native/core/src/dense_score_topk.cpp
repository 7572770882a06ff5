// dense_score_topk: blocked GEMM-style scoring with a fused per-row top-k.
//
// Plan of one call:
//   1. pack the keys once into panels of NR keys, transposed (b[f·NR + jj] = K[j0+jj, f]),
//      zero-padded; cosine keys are divided by their float64 norm first (zero rows stay zero,
//      so their scores are exactly 0, as in the reference)
//   2. split [row_start, row_end) into blocks of MB query rows; threads take blocks from an
//      atomic counter. Per block: pack the rows into groups of MR (cosine: normalised), then
//      for each key panel (ascending) and each group, one tile computes MR×NR scores in
//      registers and offers those above the row's threshold to the row's heap
//   3. drain each row's heap best first into the output
// Memory beyond the inputs and outputs: the packed keys (≈ K·d floats) and, per thread, one
// packed query block (MB·d floats) and MB heaps of k_out entries. The Q×K score matrix is
// never formed.
#include "affinity/dense_score_topk.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <vector>

#include "thread_pool.h"
#include "tiles.h"
#include "topk_rows.h"

namespace affinity {
namespace {

using detail::RowState;
using detail::TileKind;

/** 64-byte aligned float buffer (one allocation, never resized). */
class AlignedFloats {
 public:
  AlignedFloats() = default;
  explicit AlignedFloats(size_t n) : n_(n) {
    const size_t bytes = std::max<size_t>(64, (n * sizeof(float) + 63) & ~size_t(63));
    p_ = static_cast<float*>(::operator new(bytes, std::align_val_t(64)));
  }
  ~AlignedFloats() { if (p_) ::operator delete(p_, std::align_val_t(64)); }
  AlignedFloats(AlignedFloats&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr; o.n_ = 0; }
  AlignedFloats& operator=(AlignedFloats&& o) noexcept {
    if (this != &o) { this->~AlignedFloats(); p_ = o.p_; n_ = o.n_; o.p_ = nullptr; o.n_ = 0; }
    return *this;
  }
  AlignedFloats(const AlignedFloats&) = delete;
  AlignedFloats& operator=(const AlignedFloats&) = delete;
  float* data() const { return p_; }

 private:
  float* p_ = nullptr;
  size_t n_ = 0;
};

/** 1/‖x‖ computed in float64 (as the reference does), or 0 when ‖x‖ = 0. */
double inverse_norm(const float* x, int64_t d) {
  double s = 0;
  for (int64_t f = 0; f < d; f++) s += static_cast<double>(x[f]) * static_cast<double>(x[f]);
  return s > 0 ? 1.0 / std::sqrt(s) : 0.0;
}

struct Call {
  const DenseScoreTopKParams* p;
  TileKind tile;
  int64_t d;
  int32_t k_out;
  bool cosine;
  int mb;  // query rows per block (a multiple of tile.mr)
  int64_t panels;
  const float* kp;  // packed keys
  const int32_t* ex_base;  // exclusion indices, sorted within rows; row q's list starts at
  int64_t ex_offset;       // ex_base + (exclude_indptr[q] - ex_offset)
};

struct Scratch {
  AlignedFloats qp;
  std::vector<RowState> rows;
  std::vector<float> hs;
  std::vector<int32_t> hi;
};

void pack_key_panels(const DenseScoreTopKParams& p, int nr, bool cosine, int64_t panel0, int64_t panel1,
                     float* kp) {
  const int64_t d = p.dim;
  for (int64_t pn = panel0; pn < panel1; pn++) {
    float* out = kp + pn * d * nr;
    for (int jj = 0; jj < nr; jj++) {
      const int64_t j = pn * nr + jj;
      if (j >= p.k_rows) {
        for (int64_t f = 0; f < d; f++) out[f * nr + jj] = 0.0f;
        continue;
      }
      const float* x = p.keys + j * d;
      if (cosine) {
        const double inv = inverse_norm(x, d);
        for (int64_t f = 0; f < d; f++) out[f * nr + jj] = static_cast<float>(x[f] * inv);
      } else {
        for (int64_t f = 0; f < d; f++) out[f * nr + jj] = x[f];
      }
    }
  }
}

void run_block(const Call& c, int64_t block, Scratch& s) {
  const DenseScoreTopKParams& p = *c.p;
  const int64_t d = c.d;
  const int mr = c.tile.mr, nr = c.tile.nr;
  const int64_t row0 = p.row_start + block * c.mb;
  const int nrows = static_cast<int>(std::min<int64_t>(c.mb, p.row_end - row0));
  const int groups = (nrows + mr - 1) / mr;
  const float nan = std::numeric_limits<float>::quiet_NaN();

  // rows: empty heaps, thresholds NaN (= take anything), exclusion cursors
  for (int i = 0; i < nrows; i++) {
    const int64_t q = row0 + i;
    RowState& r = s.rows[i];
    r.thr = nan;
    r.size = 0;
    r.self = p.exclude_self ? static_cast<int32_t>(q) : -1;
    if (c.ex_base) {
      r.ex = c.ex_base + (p.exclude_indptr[q] - c.ex_offset);
      r.ex_end = c.ex_base + (p.exclude_indptr[q + 1] - c.ex_offset);
    } else {
      r.ex = r.ex_end = nullptr;
    }
    r.hs = s.hs.data() + static_cast<size_t>(i) * c.k_out;
    r.hi = s.hi.data() + static_cast<size_t>(i) * c.k_out;
  }

  // pack the block's query rows: qp[(g·d + f)·MR + i] = Q[row0 + g·MR + i, f], zero rows past the end
  float* qp = s.qp.data();
  for (int g = 0; g < groups; g++) {
    float* grp = qp + static_cast<int64_t>(g) * d * mr;
    for (int i = 0; i < mr; i++) {
      const int li = g * mr + i;
      if (li >= nrows) {
        for (int64_t f = 0; f < d; f++) grp[f * mr + i] = 0.0f;
        continue;
      }
      const float* x = p.queries + (row0 + li) * d;
      if (c.cosine) {
        const double inv = inverse_norm(x, d);
        for (int64_t f = 0; f < d; f++) grp[f * mr + i] = static_cast<float>(x[f] * inv);
      } else {
        for (int64_t f = 0; f < d; f++) grp[f * mr + i] = x[f];
      }
    }
  }

  // panels ascending, so each row sees its candidates in ascending key id (ties, exclusion cursor)
  for (int64_t pn = 0; pn < c.panels; pn++) {
    const float* b = c.kp + pn * d * nr;
    const int32_t j0 = static_cast<int32_t>(pn * nr);
    const int cols = static_cast<int>(std::min<int64_t>(nr, p.k_rows - j0));
    for (int g = 0; g < groups; g++) {
      c.tile.fn(qp + static_cast<int64_t>(g) * d * mr, b, d, s.rows.data() + g * mr, std::min(mr, nrows - g * mr), j0,
                cols, c.k_out);
    }
  }

  for (int i = 0; i < nrows; i++) {
    const int64_t o = (row0 + i) * c.k_out;
    detail::drain(s.rows[i], c.k_out, p.out_ids + o, p.out_scores + o);
  }
}

TileKind tile_for(Simd s) {
#if AFFINITY_X86
  if (s == Simd::Avx512) return detail::avx512_tile();
  if (s == Simd::Avx2) return detail::avx2_tile();
#endif
  (void)s;
  return detail::scalar_tile();
}

}  // namespace

std::string validate_dense_score_topk(const DenseScoreTopKParams& p) {
  constexpr int64_t kMaxIndex = std::numeric_limits<int32_t>::max();
  if (p.q_rows < 0 || p.q_rows > kMaxIndex) return "q_rows must be in [0, 2^31-1], got " + std::to_string(p.q_rows);
  if (p.k_rows < 0 || p.k_rows > kMaxIndex) return "k_rows must be in [0, 2^31-1], got " + std::to_string(p.k_rows);
  if (p.dim < 0 || p.dim > kMaxIndex) return "dim must be in [0, 2^31-1], got " + std::to_string(p.dim);
  if (p.k <= 0) return "k must be a positive integer, got " + std::to_string(p.k);
  if (p.metric != Metric::Dot && p.metric != Metric::Cosine) return "metric must be dot or cosine";
  if (p.row_start < 0 || p.row_start > p.row_end || p.row_end > p.q_rows)
    return "row range [" + std::to_string(p.row_start) + ", " + std::to_string(p.row_end) + ") is not inside [0, " +
           std::to_string(p.q_rows) + ")";
  if (p.q_rows * p.dim > 0 && !p.queries) return "queries is null";
  if (p.k_rows * p.dim > 0 && !p.keys) return "keys is null";
  const int64_t k_out = dense_score_topk_k_out(p.k, p.k_rows);
  if (p.row_end > p.row_start && k_out > 0 && (!p.out_ids || !p.out_scores)) return "output arrays are null";
  if (p.out_length >= 0 && p.out_length < p.q_rows * k_out)
    return "output arrays hold " + std::to_string(p.out_length) + " entries, need q_rows*k_out = " +
           std::to_string(p.q_rows * k_out);
  if (!p.exclude_indptr && p.exclude_indices) return "exclude indices given without indptr";
  if (p.exclude_indptr && !p.exclude_indices && p.exclude_indices_length > 0) return "exclude indptr given without indices";
  if (p.exclude_indices_length < 0) return "exclude indices length is negative";
  if (p.exclude_indptr) {
    const int32_t* ip = p.exclude_indptr;
    if (ip[0] < 0) return "exclude indptr[0] is negative";
    for (int64_t r = 0; r < p.q_rows; r++)
      if (ip[r + 1] < ip[r]) return "exclude indptr decreases at row " + std::to_string(r);
    if (ip[p.q_rows] > p.exclude_indices_length)
      return "exclude indices has length " + std::to_string(p.exclude_indices_length) + ", indptr needs " +
             std::to_string(ip[p.q_rows]);
    for (int64_t e = ip[0]; e < ip[p.q_rows]; e++) {
      const int32_t j = p.exclude_indices[e];
      if (j < 0 || j >= p.k_rows)
        return "exclude index " + std::to_string(j) + " at position " + std::to_string(e) + " is out of range [0, " +
               std::to_string(p.k_rows) + ")";
    }
  }
  return "";
}

void dense_score_topk(const DenseScoreTopKParams& p) {
  const std::string problem = validate_dense_score_topk(p);
  if (!problem.empty()) throw std::invalid_argument("dense_score_topk: " + problem);
  const int64_t rows = p.row_end - p.row_start;
  const int32_t k_out = static_cast<int32_t>(dense_score_topk_k_out(p.k, p.k_rows));
  if (rows == 0 || k_out == 0) return;

  Simd simd = p.simd == Simd::Auto ? detect_simd() : p.simd;
  if (!simd_supported(simd)) simd = detect_simd();

  Call c{};
  c.p = &p;
  c.tile = tile_for(simd);
  c.d = p.dim;
  c.k_out = k_out;
  c.cosine = p.metric == Metric::Cosine;
  // MB: 8 groups of MR rows by default (~96 rows: the block's packed queries, 96·d floats, stay
  // in L1/L2 while every key panel passes over them); fewer when the heaps would exceed ~8 MB.
  const int mr = c.tile.mr;
  int groups = 8;
  const int64_t heap_bytes_per_row = static_cast<int64_t>(k_out) * 8;
  while (groups > 1 && static_cast<int64_t>(groups) * mr * heap_bytes_per_row > (int64_t(8) << 20)) groups /= 2;
  c.mb = groups * mr;
  const int nr = c.tile.nr;
  c.panels = (p.k_rows + nr - 1) / nr;

  const int64_t blocks = (rows + c.mb - 1) / c.mb;
  int threads = std::max(1, std::min(p.threads, kMaxThreads));
  threads = static_cast<int>(std::min<int64_t>(threads, blocks));

  // all allocations happen here, before any output is written
  AlignedFloats kp(static_cast<size_t>(c.panels) * nr * static_cast<size_t>(c.d));
  c.kp = kp.data();
  std::vector<int32_t> sorted_ex;
  c.ex_base = nullptr;
  c.ex_offset = 0;
  if (p.exclude_indptr && p.exclude_indices) {
    // the exclusion cursor needs each row's list ascending; copy and sort only if some row is not
    const int32_t* ip = p.exclude_indptr;
    bool sorted = true;
    for (int64_t q = p.row_start; q < p.row_end && sorted; q++)
      for (int64_t e = ip[q] + 1; e < ip[q + 1]; e++)
        if (p.exclude_indices[e - 1] > p.exclude_indices[e]) { sorted = false; break; }
    if (sorted) {
      c.ex_base = p.exclude_indices;
    } else {
      const int64_t lo = ip[p.row_start], hi = ip[p.row_end];
      sorted_ex.assign(p.exclude_indices + lo, p.exclude_indices + hi);
      for (int64_t q = p.row_start; q < p.row_end; q++) std::sort(sorted_ex.begin() + (ip[q] - lo), sorted_ex.begin() + (ip[q + 1] - lo));
      c.ex_base = sorted_ex.data();
      c.ex_offset = lo;
    }
  }
  std::vector<Scratch> scratch(threads);
  for (Scratch& s : scratch) {
    s.qp = AlignedFloats(static_cast<size_t>(c.mb) * static_cast<size_t>(c.d));
    s.rows.resize(c.mb);
    s.hs.resize(static_cast<size_t>(c.mb) * k_out);
    s.hi.resize(static_cast<size_t>(c.mb) * k_out);
  }

  // 1. pack keys (parallel over chunks of panels)
  constexpr int64_t kPanelsPerTask = 64;
  const int64_t pack_tasks = (c.panels + kPanelsPerTask - 1) / kPanelsPerTask;
  float* kpw = kp.data();
  parallel_for(pack_tasks, threads, [&](int64_t t, int) {
    pack_key_panels(p, nr, c.cosine, t * kPanelsPerTask, std::min(c.panels, (t + 1) * kPanelsPerTask), kpw);
  });
  // 2-3. score, select, drain (parallel over query blocks)
  parallel_for(blocks, threads, [&](int64_t block, int slot) { run_block(c, block, scratch[slot]); });
}

}  // namespace affinity
