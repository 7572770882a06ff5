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
  const std::vector<SimilarityShape> shapes = {{60, 40, 0.2, true, 7, 0}, {33, 90, 0.1, false, 0, 0}, {120, 25, 0.35, true, 11, 0},
                                               {5, 3, 0.6, true, 0, 0},   {300, 60, 0.05, true, 0, 2}, {200, 30, 0.1, false, 5, 1}};
  const std::vector<SimilarityMetric> all = {SimilarityMetric::Dot, SimilarityMetric::Cosine, SimilarityMetric::Jaccard};
  for (int path : {0, 1, 2})  // the blocked path (2) runs dot and cosine only
    check_similarity_options(on_cpu(Simd::Auto, 2, path), shapes, path == 2 ? std::vector<SimilarityMetric>(all.begin(), all.end() - 1) : all,
                             " path" + std::to_string(path));
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
