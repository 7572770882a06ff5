// Test support for sparse_similarity_topk (core and CUDA): random CSR data, a naive float64
// reference for dot, cosine and jaccard (the formulas of src/kernels/sparseSimilarityTopK.ts),
// and a comparison with the tolerance documented in sparse_similarity_topk.h.
#pragma once

#include <functional>

#include "affinity/sparse_similarity_topk.h"
#include "reference.h"

namespace affinity_test {

// ------------------------------------------------------------------ data

struct Csr {
  int64_t rows = 0, cols = 0;
  std::vector<int32_t> indptr, indices;
  std::vector<double> values;
};

/** Random CSR: each cell stored with probability `density`; every `empty_every`-th row empty;
 *  columns in `dense_cols` stored in every row (wide transpose columns). Values: integer ratings
 *  1..5 or reals in [-1, 1). */
inline Csr random_csr(int64_t rows, int64_t cols, double density, uint32_t seed, bool ratings, int empty_every = 0, int dense_cols = 0) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Csr m;
  m.rows = rows;
  m.cols = cols;
  m.indptr.push_back(0);
  for (int64_t r = 0; r < rows; r++) {
    const bool empty = empty_every > 0 && r % empty_every == empty_every - 1;
    for (int64_t c = 0; c < cols && !empty; c++) {
      if (c < dense_cols || u(g) < density) {
        m.indices.push_back(static_cast<int32_t>(c));
        m.values.push_back(ratings ? std::floor(u(g) * 5) + 1 : u(g) * 2 - 1);
      }
    }
    m.indptr.push_back(static_cast<int32_t>(m.indices.size()));
  }
  return m;
}

// ------------------------------------------------------------------ sparse similarity

struct SimOptions {
  affinity::SimilarityMetric metric = affinity::SimilarityMetric::Cosine;
  int64_t k = 7;
  double shrinkage = 0, min_support = 1, min_similarity = -std::numeric_limits<double>::infinity();
  bool exclude_self = true;
  bool f32 = false;  // pass the values as float32
  bool pass_norm = true;  // pass row_norm (else the kernel computes it)
};

/** Every score of row a (NaN = not a candidate), the reference's formulas in float64. */
inline std::vector<double> ref_row(const Csr& m, const SimOptions& o, const std::vector<double>& vals, const std::vector<double>& norm, int64_t a) {
  std::vector<double> sxy(m.rows, 0), n(m.rows, 0);
  for (int32_t q = m.indptr[a]; q < m.indptr[a + 1]; q++) {
    const int32_t c = m.indices[q];
    for (int64_t b = 0; b < m.rows; b++)
      for (int32_t t = m.indptr[b]; t < m.indptr[b + 1]; t++)
        if (m.indices[t] == c) {
          sxy[b] += vals[q] * vals[t];
          n[b] += 1;
        }
  }
  std::vector<double> s(m.rows, std::nan(""));
  for (int64_t b = 0; b < m.rows; b++) {
    if (o.exclude_self && b == a) continue;
    if (n[b] == 0 || n[b] < o.min_support) continue;
    double v;
    if (o.metric == affinity::SimilarityMetric::Dot) v = sxy[b];
    else if (o.metric == affinity::SimilarityMetric::Cosine) {
      const double den = norm[a] * norm[b];
      v = den > 0 ? sxy[b] / den : 0;
    } else {
      v = n[b] / ((m.indptr[a + 1] - m.indptr[a]) + (m.indptr[b + 1] - m.indptr[b]) - n[b]);
    }
    if (o.shrinkage > 0) v *= n[b] / (n[b] + o.shrinkage);
    if (v < o.min_similarity || v == 0) continue;
    s[b] = v;
  }
  return s;
}

inline const char* metric_name(affinity::SimilarityMetric m) {
  return m == affinity::SimilarityMetric::Dot ? "dot" : m == affinity::SimilarityMetric::Cosine ? "cosine" : "jaccard";
}

/** Params for m (float64 values), k, all rows, writing into ids/scores; the other options at their defaults. */
inline affinity::SparseSimilarityTopKParams params_for(const Csr& m, int64_t k, std::vector<int32_t>& ids, std::vector<float>& scores) {
  static const int32_t kNone = 0;
  affinity::SparseSimilarityTopKParams p;
  p.rows = m.rows;
  p.cols = m.cols;
  p.indptr = m.indptr.data();
  p.indices = m.indices.empty() ? &kNone : m.indices.data();
  p.indices_length = static_cast<int64_t>(m.indices.size());
  p.values_f64 = m.values.data();
  p.values_length = static_cast<int64_t>(m.values.size());
  p.k = k;
  p.row_end = m.rows;
  p.out_ids = ids.data();
  p.out_scores = scores.data();
  p.out_length = static_cast<int64_t>(std::min(ids.size(), scores.size()));
  return p;
}

/** A sparse_similarity_topk implementation under test; it may set further fields (simd, threads, path). */
using SimilarityKernel = std::function<void(affinity::SparseSimilarityTopKParams&)>;

/** Runs `kernel` on rows [r0, r1) and compares with the reference; `exact`: ids and scores identical. */
inline void check_similarity(const SimilarityKernel& kernel, const Csr& m, const SimOptions& o, int64_t r0, int64_t r1, bool exact,
                             const std::string& what) {
  const int64_t k_out = affinity::sparse_similarity_topk_k_out(o.k, m.rows);
  std::vector<float> vals32(m.values.begin(), m.values.end());
  // what the kernel sees (float32 values when f32), so that the reference uses the same inputs
  std::vector<double> vals(m.values.size());
  for (size_t i = 0; i < vals.size(); i++) vals[i] = o.f32 ? static_cast<double>(vals32[i]) : m.values[i];
  std::vector<double> norm(m.rows, 0);
  for (int64_t r = 0; r < m.rows; r++) {
    double s = 0;
    for (int32_t q = m.indptr[r]; q < m.indptr[r + 1]; q++) s += vals[q] * vals[q];
    norm[r] = std::sqrt(s);
  }
  std::vector<int32_t> ids(static_cast<size_t>(m.rows * k_out), -7);
  std::vector<float> scores(ids.size(), 7.0f);
  affinity::SparseSimilarityTopKParams p = params_for(m, o.k, ids, scores);
  if (o.f32) {
    p.values_f64 = nullptr;
    p.values_f32 = vals32.data();
  }
  if (o.pass_norm) {
    p.row_norm = norm.data();
    p.row_norm_length = m.rows;
  }
  p.metric = o.metric;
  p.shrinkage = o.shrinkage;
  p.min_support = o.min_support;
  p.min_similarity = o.min_similarity;
  p.exclude_self = o.exclude_self;
  p.row_start = r0;
  p.row_end = r1;
  kernel(p);

  const std::string label = what + " " + std::to_string(m.rows) + "x" + std::to_string(m.cols) + " " + metric_name(o.metric) +
                            " k=" + std::to_string(o.k) + (o.f32 ? " f32" : "") + " [" + std::to_string(r0) + "," + std::to_string(r1) + ")";
  const int before = g_failures;
  for (int64_t r = 0; r < m.rows && g_failures - before < 5; r++) {
    if (r < r0 || r >= r1) {
      for (int64_t s = 0; s < k_out; s++) CHECK(ids[r * k_out + s] == -7, "%s: row %lld outside the range written", label.c_str(), (long long)r);
      continue;
    }
    const std::vector<double> all = ref_row(m, o, vals, norm, r);
    std::vector<std::pair<int32_t, double>> want;
    for (int64_t b = 0; b < m.rows; b++)
      if (!std::isnan(all[b])) want.emplace_back(static_cast<int32_t>(b), all[b]);
    std::sort(want.begin(), want.end(), [](const auto& x, const auto& y) { return x.second > y.second || (x.second == y.second && x.first < y.first); });
    if (static_cast<int64_t>(want.size()) > k_out) want.resize(static_cast<size_t>(k_out));
    std::vector<char> seen(m.rows, 0);
    for (int64_t s = 0; s < k_out; s++) {
      const int32_t gid = ids[r * k_out + s];
      const float gs = scores[r * k_out + s];
      if (s >= static_cast<int64_t>(want.size())) {
        CHECK(gid == -1 && gs == -std::numeric_limits<float>::infinity(), "%s row %lld slot %lld: want padding, got (%d, %g)", label.c_str(),
              (long long)r, (long long)s, gid, gs);
        continue;
      }
      const int32_t wid = want[s].first;
      const double ws = want[s].second;
      const bool ok_id = gid >= 0 && gid < m.rows && !std::isnan(all[gid]) && !seen[gid];
      CHECK(ok_id, "%s row %lld slot %lld: bad id %d", label.c_str(), (long long)r, (long long)s, gid);
      if (!ok_id) continue;
      seen[gid] = 1;
      CHECK(std::fabs(gs - ws) <= tolerance(ws), "%s row %lld slot %lld: score %.9g vs %.9g", label.c_str(), (long long)r, (long long)s, gs, ws);
      if (exact) {
        CHECK(gid == wid && gs == static_cast<float>(ws), "%s row %lld slot %lld: got (%d, %.9g) want (%d, %.9g)", label.c_str(), (long long)r,
              (long long)s, gid, gs, wid, ws);
      } else if (gid != wid) {
        CHECK(std::fabs(all[gid] - ws) <= tolerance(ws), "%s row %lld slot %lld: id %d (%.9g) vs %d (%.9g) is no tie", label.c_str(),
              (long long)r, (long long)s, gid, all[gid], wid, ws);
      }
    }
  }
}

/** A random_csr shape. */
struct SimilarityShape {
  int64_t rows, cols;
  double density;
  bool ratings;
  int empty_every, dense_cols;
};

/**
 * For each shape (seeds 1, 2, ...) and metric: `kernel` against the reference with default
 * options, k ≥ rows, k = 300, shrinkage with a minimum support, a minimum similarity with the
 * row itself kept (on a row range), and float32 values with the norms computed by the kernel.
 */
inline void check_similarity_options(const SimilarityKernel& kernel, const std::vector<SimilarityShape>& shapes,
                                     const std::vector<affinity::SimilarityMetric>& metrics, const std::string& tag) {
  uint32_t seed = 1;
  for (const SimilarityShape& sh : shapes) {
    const Csr m = random_csr(sh.rows, sh.cols, sh.density, seed++, sh.ratings, sh.empty_every, sh.dense_cols);
    for (affinity::SimilarityMetric metric : metrics) {
      // integer data: every sum is exact in float32 → identical ids (ties by lower id) for dot and jaccard
      const bool exact = sh.ratings && metric != affinity::SimilarityMetric::Cosine;
      SimOptions base;
      base.metric = metric;
      check_similarity(kernel, m, base, 0, m.rows, exact, "base" + tag);
      SimOptions all = base;
      all.k = m.rows + 5;
      check_similarity(kernel, m, all, 0, m.rows, exact, "k>rows" + tag);
      SimOptions big = base;
      big.k = 300;
      check_similarity(kernel, m, big, 0, m.rows, exact, "k=300" + tag);
      SimOptions sup = base;
      sup.shrinkage = 10;
      sup.min_support = 2;
      check_similarity(kernel, m, sup, 0, m.rows, false, "shrink+support" + tag);
      SimOptions mins = base;
      mins.min_similarity = metric == affinity::SimilarityMetric::Dot ? 1.0 : 0.2;
      mins.exclude_self = false;
      check_similarity(kernel, m, mins, m.rows / 3, m.rows - m.rows / 4, exact, "minSim+self" + tag);
      SimOptions f32 = base;
      f32.f32 = true;
      f32.pass_norm = false;
      check_similarity(kernel, m, f32, 1, m.rows, exact, "f32+norms here" + tag);
    }
  }
}

}  // namespace affinity_test
