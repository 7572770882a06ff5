// Test support shared by the core and CUDA tests: a naive float64 dense_score_topk (every
// score, full sort), seeded data, a comparison with the tolerance documented in
// dense_score_topk.h, and a tiny check/report harness.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "affinity/dense_score_topk.h"

namespace affinity_test {

inline int g_failures = 0;
inline int g_checks = 0;

#define CHECK(cond, ...)                                                   \
  do {                                                                     \
    ++::affinity_test::g_checks;                                           \
    if (!(cond)) {                                                         \
      ++::affinity_test::g_failures;                                       \
      std::fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                   \
      std::fprintf(stderr, "\n");                                          \
    }                                                                      \
  } while (0)

struct Problem {
  int64_t q_rows = 0, k_rows = 0, dim = 0, k = 1;
  affinity::Metric metric = affinity::Metric::Dot;
  std::vector<float> queries, keys;
  bool has_exclude = false;
  std::vector<int32_t> indptr, indices;
  bool exclude_self = false;
  bool self_product = false;  // keys are the queries (same buffer)

  const float* keys_ptr() const { return self_product ? queries.data() : keys.data(); }
  int64_t k_out() const { return affinity::dense_score_topk_k_out(k, k_rows); }

  affinity::DenseScoreTopKParams params(int32_t* ids, float* scores, int64_t r0, int64_t r1) const {
    affinity::DenseScoreTopKParams p;
    p.queries = queries.data();
    p.q_rows = q_rows;
    p.keys = keys_ptr();
    p.k_rows = k_rows;
    p.dim = dim;
    p.k = k;
    p.metric = metric;
    if (has_exclude) {
      p.exclude_indptr = indptr.data();
      p.exclude_indices = indices.data();
      p.exclude_indices_length = static_cast<int64_t>(indices.size());
    }
    p.exclude_self = exclude_self;
    p.row_start = r0;
    p.row_end = r1;
    p.out_ids = ids;
    p.out_scores = scores;
    p.out_length = q_rows * k_out();
    return p;
  }
};

/** The SIMD levels this CPU runs (scalar first). */
inline std::vector<affinity::Simd> simd_levels() {
  std::vector<affinity::Simd> out{affinity::Simd::Scalar};
  if (affinity::simd_supported(affinity::Simd::Avx2)) out.push_back(affinity::Simd::Avx2);
  if (affinity::simd_supported(affinity::Simd::Avx512)) out.push_back(affinity::Simd::Avx512);
  return out;
}

/** Entries uniform in [-1, 1), or quantised to {-1, 0, 1} (exact products, many ties). */
inline std::vector<float> random_matrix(int64_t rows, int64_t cols, uint32_t seed, bool quantised = false) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> m(static_cast<size_t>(rows * cols));
  for (float& x : m) x = quantised ? std::round(u(g)) : u(g);
  return m;
}

/** Exclusion CSR: about a third of rows empty, others up to `max` keys, unsorted, with duplicates. */
inline void random_exclude(Problem& p, int max, uint32_t seed) {
  std::mt19937 g(seed);
  p.has_exclude = true;
  p.indptr.assign(1, 0);
  p.indices.clear();
  for (int64_t r = 0; r < p.q_rows; r++) {
    if (g() % 3 != 0 && p.k_rows > 0) {
      const int n = static_cast<int>(g() % (max + 1));
      for (int t = 0; t < n; t++) p.indices.push_back(static_cast<int32_t>(g() % p.k_rows));
    }
    p.indptr.push_back(static_cast<int32_t>(p.indices.size()));
  }
}

/** float64 score as the TS reference computes it. */
inline double exact_score(const Problem& p, int64_t r, int64_t j) {
  const float* q = p.queries.data() + r * p.dim;
  const float* x = p.keys_ptr() + j * p.dim;
  double s = 0, nq = 0, nk = 0;
  for (int64_t f = 0; f < p.dim; f++) {
    s += static_cast<double>(q[f]) * x[f];
    nq += static_cast<double>(q[f]) * q[f];
    nk += static_cast<double>(x[f]) * x[f];
  }
  if (p.metric == affinity::Metric::Cosine) {
    const double den = std::sqrt(nq) * std::sqrt(nk);
    s = den > 0 ? s / den : 0;
  }
  return s;
}

inline std::set<int32_t> excluded(const Problem& p, int64_t r) {
  std::set<int32_t> s;
  if (p.has_exclude)
    for (int32_t e = p.indptr[r]; e < p.indptr[r + 1]; e++) s.insert(p.indices[e]);
  if (p.exclude_self) s.insert(static_cast<int32_t>(r));
  return s;
}

/** Naive top-k of row r: every score in float64, sorted by (score desc, id asc), NaN dropped. */
inline std::vector<std::pair<int32_t, double>> naive_row(const Problem& p, int64_t r) {
  const std::set<int32_t> skip = excluded(p, r);
  std::vector<std::pair<int32_t, double>> all;
  for (int64_t j = 0; j < p.k_rows; j++) {
    if (skip.count(static_cast<int32_t>(j))) continue;
    const double s = exact_score(p, r, j);
    if (std::isnan(s)) continue;
    all.emplace_back(static_cast<int32_t>(j), s);
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); });
  if (static_cast<int64_t>(all.size()) > p.k_out()) all.resize(static_cast<size_t>(p.k_out()));
  return all;
}

inline double tolerance(double ref) { return 1e-4 * std::max(1.0, std::fabs(ref)); }

/**
 * Checks rows [r0, r1) of ids/scores against the naive result. Scores within tolerance; ids
 * equal unless the two ids' exact scores are within tolerance (a near tie); `exact` demands
 * equal ids and scores. Returns the number of failed checks.
 */
inline int compare_rows(const Problem& p, const int32_t* ids, const float* scores, int64_t r0, int64_t r1, bool exact,
                        const std::string& label) {
  const int before = g_failures;
  const int64_t k = p.k_out();
  for (int64_t r = r0; r < r1 && g_failures - before < 5; r++) {
    const auto want = naive_row(p, r);
    const std::set<int32_t> skip = excluded(p, r);
    std::set<int32_t> seen;
    for (int64_t s = 0; s < k; s++) {
      const int32_t gid = ids[r * k + s];
      const float gs = scores[r * k + s];
      if (s >= static_cast<int64_t>(want.size())) {
        CHECK(gid == -1 && gs == -std::numeric_limits<float>::infinity(), "%s row %lld slot %lld: want padding, got (%d, %g)",
              label.c_str(), (long long)r, (long long)s, gid, gs);
        continue;
      }
      const int32_t wid = want[s].first;
      const double ws = want[s].second;
      CHECK(gid >= 0 && gid < p.k_rows && !skip.count(gid) && !seen.count(gid), "%s row %lld slot %lld: bad id %d", label.c_str(),
            (long long)r, (long long)s, gid);
      seen.insert(gid);
      CHECK(std::fabs(gs - ws) <= tolerance(ws), "%s row %lld slot %lld: score %.9g vs %.9g", label.c_str(), (long long)r,
            (long long)s, gs, ws);
      if (exact) {
        CHECK(gid == wid && static_cast<double>(gs) == ws, "%s row %lld slot %lld: got (%d, %g) want (%d, %g)", label.c_str(),
              (long long)r, (long long)s, gid, gs, wid, ws);
      } else if (gid != wid && gid >= 0 && gid < p.k_rows) {
        const double alt = exact_score(p, r, gid);
        CHECK(std::fabs(alt - ws) <= tolerance(ws), "%s row %lld slot %lld: id %d (exact %.9g) vs %d (%.9g) is no tie",
              label.c_str(), (long long)r, (long long)s, gid, alt, wid, ws);
      }
    }
  }
  return g_failures - before;
}

inline int report(const char* name) {
  std::printf("%s: %d checks, %d failed\n", name, g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}

}  // namespace affinity_test
