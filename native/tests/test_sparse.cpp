// ctest: native/core sparse_similarity_topk (dot, cosine, jaccard) against the naive float64
// reference of sparse_reference.h, on every path (automatic with its symmetric variant, general,
// blocked), every SIMD level this CPU supports, one and two threads, accumulator tiles smaller
// than the row count, and its argument validation. The other metrics are checked against the
// TypeScript reference by test/native.kernels.test.ts. Needs no Node.
#include <cstdlib>
#include <stdexcept>

#include "affinity/sparse_similarity_topk.h"
#include "reference.h"
#include "sparse_reference.h"

using namespace affinity;
using namespace affinity_test;

namespace {

SimilarityKernel on_cpu(Simd simd, int threads, int path) {
  return [=](SparseSimilarityTopKParams& p) {
    p.simd = simd;
    p.threads = threads;
    p.path = path;
    sparse_similarity_topk(p);
  };
}

std::string variant(Simd simd, int threads, int path) {
  return std::string(simd_name(simd)) + " t" + std::to_string(threads) + " path" + std::to_string(path);
}

void test_options() {
  struct Shape {
    int64_t rows, cols;
    double density;
    bool ratings;
    int empty_every, dense_cols;
  };
  const Shape shapes[] = {{60, 40, 0.2, true, 7, 0}, {33, 90, 0.1, false, 0, 0}, {120, 25, 0.35, true, 11, 0}, {5, 3, 0.6, true, 0, 0},
                          {300, 60, 0.05, true, 0, 2}, {200, 30, 0.1, false, 5, 1}};
  uint32_t seed = 1;
  for (const Shape& sh : shapes) {
    const Csr m = random_csr(sh.rows, sh.cols, sh.density, seed++, sh.ratings, sh.empty_every, sh.dense_cols);
    for (SimilarityMetric metric : {SimilarityMetric::Dot, SimilarityMetric::Cosine, SimilarityMetric::Jaccard}) {
      // integer data: every sum is exact in float32 → identical ids (ties by lower id) for dot and jaccard
      const bool exact = sh.ratings && metric != SimilarityMetric::Cosine;
      SimOptions base;
      base.metric = metric;
      SimOptions all = base;
      all.k = m.rows + 5;
      SimOptions sup = base;
      sup.shrinkage = 10;
      sup.min_support = 2;
      SimOptions mins = base;
      mins.min_similarity = metric == SimilarityMetric::Dot ? 1.0 : 0.2;
      mins.exclude_self = false;
      SimOptions f32 = base;
      f32.f32 = true;
      f32.pass_norm = false;
      for (int path : {0, 1, 2}) {
        if (path == 2 && metric == SimilarityMetric::Jaccard) continue;
        const SimilarityKernel run = on_cpu(Simd::Auto, 2, path);
        const std::string p = " path" + std::to_string(path);
        check_similarity(run, m, base, 0, m.rows, exact, "base" + p);
        check_similarity(run, m, all, 0, m.rows, exact, "k>rows" + p);
        check_similarity(run, m, sup, 0, m.rows, false, "shrink+support" + p);
        check_similarity(run, m, mins, m.rows / 3, m.rows - m.rows / 4, exact, "minSim+self" + p);
        check_similarity(run, m, f32, 1, m.rows, exact, "f32+norms here" + p);
      }
    }
  }
}

void test_simd_threads_tiles() {
  // Zipf-like column popularity over 700 rows: rows of very different work, several blocks per thread
  const Csr m = random_csr(700, 120, 0.04, 77, true, 13, 3);
  for (SimilarityMetric metric : {SimilarityMetric::Dot, SimilarityMetric::Cosine}) {
    SimOptions o;
    o.metric = metric;
    o.k = 9;
    const bool exact = metric == SimilarityMetric::Dot;
    for (Simd simd : simd_levels())
      for (int threads : {1, 2})
        for (int path : {0, 2}) check_similarity(on_cpu(simd, threads, path), m, o, 0, m.rows, exact, variant(simd, threads, path));
    // accumulator tiles of 64 rows: blocks start inside a tile (the symmetric path walks each column
    // from the block's own rank) and the walk crosses many tiles
    setenv("AFFINITY_SIM_TILE", "64", 1);
    for (Simd simd : simd_levels())
      for (int threads : {1, 2}) {
        check_similarity(on_cpu(simd, threads, 0), m, o, 0, m.rows, exact, "tile 64 " + variant(simd, threads, 0));
        check_similarity(on_cpu(simd, threads, 0), m, o, 100, 600, exact, "tile 64 range " + variant(simd, threads, 0));
      }
    unsetenv("AFFINITY_SIM_TILE");
  }
}

void test_validation() {
  const Csr m = random_csr(10, 6, 0.5, 5, true);
  std::vector<int32_t> ids(10 * 3, -7);
  std::vector<float> scores(ids.size(), 7.0f);
  std::vector<int32_t> bad_indices = m.indices;
  std::vector<int32_t> bad_indptr = m.indptr;
  auto params = [&]() { return params_for(m, 3, ids, scores); };
  auto refused = [&](SparseSimilarityTopKParams p, const char* what) {
    bool threw = false;
    try {
      sparse_similarity_topk(p);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    CHECK(threw, "%s must be refused", what);
    CHECK(std::all_of(ids.begin(), ids.end(), [](int32_t x) { return x == -7; }), "%s: output written", what);
  };
  SparseSimilarityTopKParams p = params();
  bad_indices[3] = static_cast<int32_t>(m.cols);
  p.indices = bad_indices.data();
  refused(p, "column index out of range");
  p = params();
  bad_indptr[4] = bad_indptr[3] - 1;
  p.indptr = bad_indptr.data();
  refused(p, "decreasing indptr");
  p = params();
  p.indices_length = p.values_length = m.indptr[m.rows] - 1;
  refused(p, "short indices/values");
  p = params();
  p.k = 0;
  refused(p, "k = 0");
  p = params();
  p.out_length = 10 * 3 - 1;
  refused(p, "short output");
  p = params();
  p.row_start = 4;
  p.row_end = 11;
  refused(p, "row range past the end");
  p = params();
  p.values_f32 = reinterpret_cast<const float*>(m.values.data());
  refused(p, "both value arrays");
}

}  // namespace

int main() {
  test_options();
  test_simd_threads_tiles();
  test_validation();
  return report("test_sparse");
}
