// ctest: native/cuda sparse_similarity_topk and als_half_step against simple CPU references
// written here (float64, the formulas of src/kernels/sparseSimilarityTopK.ts and
// src/kernels/alsHalfStep.ts). Exits 77 (ctest SKIP_RETURN_CODE) where there is no CUDA
// driver/device, printing why.
//   test_cuda_kernels [sparse|als]   (no argument: both)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "affinity/cuda_dense_score_topk.h"
#include "affinity/cuda_kernels.h"
#include "reference.h"
#include "sparse_reference.h"

using namespace affinity;
using namespace affinity_test;

namespace {

const SimilarityKernel on_gpu = [](SparseSimilarityTopKParams& p) { cuda::sparse_similarity_topk(p); };

void test_sparse() {
  const std::vector<SimilarityShape> shapes = {{60, 40, 0.2, true, 7, 0},   {33, 90, 0.1, false, 0, 0}, {120, 25, 0.35, true, 11, 0},
                                               {5, 3, 0.6, true, 0, 0},
                                               {700, 60, 0.05, true, 0, 2} /* wide transpose columns: the whole-block path */,
                                               {400, 30, 0.1, false, 5, 1}};
  check_similarity_options(on_gpu, shapes, {SimilarityMetric::Dot, SimilarityMetric::Cosine, SimilarityMetric::Jaccard}, "");
  // k_out above the shared-memory sort (4096): the global scratch sort; rows checked on a slice
  {
    const Csr m = random_csr(5000, 40, 0.1, 99, true, 0, 1);
    SimOptions o;
    o.metric = SimilarityMetric::Dot;
    o.k = 4500;
    check_similarity(on_gpu, m, o, 0, 40, true, "global sort");
  }
  // unsupported metric: refused, nothing written
  {
    const Csr m = random_csr(10, 5, 0.5, 5, true);
    std::vector<int32_t> ids(10 * 3, -7);
    std::vector<float> sc(ids.size(), 7.0f);
    SparseSimilarityTopKParams p = params_for(m, 3, ids, sc);
    p.metric = SimilarityMetric::Pearson;
    bool threw = false;
    try {
      cuda::sparse_similarity_topk(p);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    CHECK(threw && std::all_of(ids.begin(), ids.end(), [](int32_t x) { return x == -7; }), "pearson must be refused");
  }
}

// ------------------------------------------------------------------ ALS

struct Als {
  Csr m;  // data = confidences / ratings
  int64_t f = 0;
  std::vector<float> Y, data, X0;
  std::vector<double> gram;
};

Als random_als(int64_t rows, int64_t cols, int64_t f, double density, uint32_t seed, bool implicit, int empty_every, int dense_cols = 0) {
  Als a;
  a.m = random_csr(rows, cols, density, seed, true, empty_every, dense_cols);
  a.f = f;
  std::mt19937 g(seed + 17);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  a.data.resize(a.m.values.size());
  for (size_t i = 0; i < a.data.size(); i++) {
    double c = a.m.values[i];
    if (implicit) {
      c = 1 + 4 * c;  // confidence 1 + α·r
      const unsigned pick = g() % 10;
      if (pick == 0) c = -c;  // observed with p = 0
      else if (pick == 1) c = 1;  // weight 0 in A
    }
    a.data[i] = static_cast<float>(c);
  }
  a.Y.resize(static_cast<size_t>(cols * f));
  for (float& y : a.Y) y = u(g);
  a.X0.resize(static_cast<size_t>(rows * f));
  for (float& x : a.X0) x = u(g);
  a.gram.assign(static_cast<size_t>(f * f), 0.0);
  for (int64_t r = 0; r < cols; r++)
    for (int64_t i = 0; i < f; i++)
      for (int64_t j = 0; j < f; j++) a.gram[i * f + j] += static_cast<double>(a.Y[r * f + i]) * a.Y[r * f + j];
  return a;
}

/** The reference's CG (src/kernels/alsHalfStep.ts), float64. */
void ref_als(const Als& a, bool implicit, double lambda, int steps, int64_t r0, int64_t r1, std::vector<float>& X) {
  const int64_t f = a.f;
  std::vector<double> x(f), r(f), p(f), ap(f);
  for (int64_t u = r0; u < r1; u++) {
    const int32_t start = a.m.indptr[u], end = a.m.indptr[u + 1];
    float* xo = X.data() + u * f;
    if (start == end) {
      std::fill(xo, xo + f, 0.0f);
      continue;
    }
    const double ridge = implicit ? lambda : lambda * (end - start);
    auto mul = [&](const std::vector<double>& v, std::vector<double>& o) {
      for (int64_t i = 0; i < f; i++) {
        double s = ridge * v[i];
        if (implicit)
          for (int64_t j = 0; j < f; j++) s += a.gram[i * f + j] * v[j];
        o[i] = s;
      }
      for (int32_t q = start; q < end; q++) {
        const float* y = a.Y.data() + static_cast<int64_t>(a.m.indices[q]) * f;
        const double c = a.data[q];
        const double w = implicit ? std::fabs(c) - 1 : 1;
        if (w == 0) continue;
        double s = 0;
        for (int64_t k = 0; k < f; k++) s += y[k] * v[k];
        s *= w;
        for (int64_t k = 0; k < f; k++) o[k] += s * y[k];
      }
    };
    for (int64_t k = 0; k < f; k++) x[k] = xo[k];
    mul(x, r);
    for (int64_t k = 0; k < f; k++) r[k] = -r[k];
    for (int32_t q = start; q < end; q++) {
      const float* y = a.Y.data() + static_cast<int64_t>(a.m.indices[q]) * f;
      const double c = a.data[q];
      if (!implicit || c > 0)
        for (int64_t k = 0; k < f; k++) r[k] += c * y[k];
    }
    double rsold = 0;
    for (int64_t k = 0; k < f; k++) {
      p[k] = r[k];
      rsold += r[k] * r[k];
    }
    if (rsold < 1e-20) continue;
    for (int it = 0; it < steps; it++) {
      mul(p, ap);
      double pap = 0;
      for (int64_t k = 0; k < f; k++) pap += p[k] * ap[k];
      if (!(pap > 0)) break;
      const double alpha = rsold / pap;
      double rsnew = 0;
      for (int64_t k = 0; k < f; k++) {
        x[k] += alpha * p[k];
        r[k] -= alpha * ap[k];
        rsnew += r[k] * r[k];
      }
      if (rsnew < 1e-20) break;
      const double beta = rsnew / rsold;
      for (int64_t k = 0; k < f; k++) p[k] = r[k] + beta * p[k];
      rsold = rsnew;
    }
    for (int64_t k = 0; k < f; k++) xo[k] = static_cast<float>(x[k]);
  }
}

AlsHalfStepParams als_params(const Als& a, bool implicit, double lambda, int steps, int64_t r0, int64_t r1, std::vector<float>& out) {
  AlsHalfStepParams p;
  p.implicit = implicit;
  p.cg = true;
  p.cg_steps = steps;
  p.rows = a.m.rows;
  p.cols = a.m.cols;
  p.factors = a.f;
  p.indptr = a.m.indptr.data();
  static const int32_t kNoIndex = 0;
  static const float kNoData = 0;
  p.indices = a.m.indices.empty() ? &kNoIndex : a.m.indices.data();
  p.indices_length = static_cast<int64_t>(a.m.indices.size());
  p.data = a.data.empty() ? &kNoData : a.data.data();
  p.data_length = static_cast<int64_t>(a.data.size());
  p.other = a.Y.data();
  p.other_length = static_cast<int64_t>(a.Y.size());
  p.gram = a.gram.data();
  p.gram_length = static_cast<int64_t>(a.gram.size());
  p.regularization = lambda;
  p.out = out.data();
  p.out_length = static_cast<int64_t>(out.size());
  p.row_start = r0;
  p.row_end = r1;
  return p;
}

void check_als(const Als& a, bool implicit, double lambda, int steps, int64_t r0, int64_t r1, const std::string& what) {
  std::vector<float> got = a.X0, want = a.X0;
  cuda::als_half_step(als_params(a, implicit, lambda, steps, r0, r1, got));
  ref_als(a, implicit, lambda, steps, r0, r1, want);
  const std::string label = what + " " + std::to_string(a.m.rows) + "x" + std::to_string(a.m.cols) + " f=" + std::to_string(a.f) +
                            (implicit ? " implicit" : " explicit") + " steps=" + std::to_string(steps);
  int bad = 0;
  for (size_t i = 0; i < got.size() && bad < 5; i++) {
    const int64_t row = static_cast<int64_t>(i) / a.f;
    if (row < r0 || row >= r1) {
      if (got[i] != a.X0[i]) {
        bad++;
        CHECK(false, "%s: row %lld outside the range changed", label.c_str(), (long long)row);
      }
      continue;
    }
    const bool ok = std::fabs(static_cast<double>(got[i]) - want[i]) <= 1e-4 * std::max(1.0, std::fabs(static_cast<double>(want[i])));
    if (!ok) bad++;
    CHECK(ok, "%s: row %lld factor %lld: %.9g vs %.9g", label.c_str(), (long long)row, (long long)(i % a.f), got[i], want[i]);
  }
}

void test_als() {
  uint32_t seed = 200;
  const int64_t fs[] = {1, 8, 33, 64, 200};
  for (int64_t f : fs) {
    for (bool implicit : {true, false}) {
      const Als a = random_als(90, 70, f, 0.1, seed++, implicit, 9);
      const double lambda = implicit ? 0.1 : 0.05;
      check_als(a, implicit, lambda, 3, 0, a.m.rows, "cg");
      check_als(a, implicit, lambda, 1, 10, 50, "range");
      check_als(a, implicit, lambda, 8, 0, a.m.rows, "more steps");
    }
  }
  // rows with more entries than one chunk of staged dots (256): several chunks per product
  const Als wide = random_als(20, 900, 48, 0.5, 7, true, 0, 10);
  check_als(wide, true, 0.2, 3, 0, wide.m.rows, "wide rows");
  // refused: cholesky, too many factors
  std::vector<float> out = wide.X0;
  AlsHalfStepParams p = als_params(wide, true, 0.1, 3, 0, wide.m.rows, out);
  p.cg = false;
  bool threw = false;
  try {
    cuda::als_half_step(p);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw && out == wide.X0, "cholesky must be refused without writing");
  CHECK(!cuda::als_half_step_unsupported(p).empty(), "cholesky reported unsupported");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "all";
  if (which != "all" && which != "sparse" && which != "als") {
    std::fprintf(stderr, "usage: test_cuda_kernels [sparse|als]\n");
    return 2;
  }
  const cuda::Probe pr = cuda::probe();
  if (!pr.available) {
    std::printf("SKIP cuda: %s\n", pr.reason.c_str());
    return 77;
  }
  std::printf("cuda: %s, driver %d, runtime %d\n", pr.reason.c_str(), pr.driver_version, pr.runtime_version);
  try {
    if (which != "als") test_sparse();
    if (which != "sparse") test_als();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FAIL: %s\n", e.what());
    return 1;
  }
  return report(("test_cuda_kernels " + which).c_str());
}
