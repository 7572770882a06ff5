// ctest: native/cuda dense_score_topk against the naive float64 implementation. Exits 77
// (ctest SKIP_RETURN_CODE) where there is no CUDA driver/device.
#include <cstdio>
#include <limits>
#include <stdexcept>

#include "affinity/cuda_dense_score_topk.h"
#include "reference.h"

using namespace affinity;
using namespace affinity_test;

namespace {

struct Result {
  std::vector<int32_t> ids;
  std::vector<float> scores;
};

Result run(const Problem& p, int64_t r0, int64_t r1) {
  Result res;
  res.ids.assign(static_cast<size_t>(p.q_rows * p.k_out()), -7);
  res.scores.assign(res.ids.size(), 7.0f);
  cuda::dense_score_topk(p.params(res.ids.data(), res.scores.data(), r0, r1));
  return res;
}
Result run(const Problem& p) { return run(p, 0, p.q_rows); }

Problem make(int64_t q, int64_t n, int64_t d, int64_t k, Metric m, uint32_t seed, bool quantised = false) {
  Problem p;
  p.q_rows = q; p.k_rows = n; p.dim = d; p.k = k; p.metric = m;
  p.queries = random_matrix(q, d, seed, quantised);
  p.keys = random_matrix(n, d, seed + 1000, quantised);
  return p;
}

std::string label(const char* what, const Problem& p) {
  return std::string(what) + " " + std::to_string(p.q_rows) + "x" + std::to_string(p.k_rows) + "x" + std::to_string(p.dim) +
         " k=" + std::to_string(p.k) + (p.metric == Metric::Cosine ? " cosine" : " dot");
}

void test_random() {
  // includes: d not a multiple of the 16-wide GEMM step, K < k, partial 64×64 tiles, k_out above the
  // shared-memory sort limit (4096 → the global scratch sort), several GEMM blocks
  const int64_t shapes[][4] = {{37, 53, 5, 7}, {64, 100, 16, 10}, {20, 300, 67, 20}, {10, 4, 9, 8}, {1, 1, 1, 1},
                               {250, 170, 33, 5}, {12, 1000, 64, 50}, {9, 40, 1, 3}, {5, 7, 0, 3}, {200, 33, 129, 40},
                               {3, 6000, 12, 5000}, {700, 2000, 48, 100}};
  uint32_t seed = 1;
  for (const auto& sh : shapes) {
    for (Metric m : {Metric::Dot, Metric::Cosine}) {
      Problem p = make(sh[0], sh[1], sh[2], sh[3], m, seed++);
      Result r = run(p);
      compare_rows(p, r.ids.data(), r.scores.data(), 0, p.q_rows, false, label("plain", p));
      random_exclude(p, 12, seed++);
      r = run(p);
      compare_rows(p, r.ids.data(), r.scores.data(), 0, p.q_rows, false, label("exclude", p));
    }
    Problem p = make(sh[0], sh[0], sh[2], sh[3], Metric::Cosine, seed++);
    p.self_product = true;
    p.exclude_self = true;
    random_exclude(p, 4, seed++);
    Result r = run(p);
    compare_rows(p, r.ids.data(), r.scores.data(), 0, p.q_rows, false, label("self", p));
  }
}

void test_ties_and_edges() {
  Problem p;
  p.q_rows = 50; p.k_rows = 50; p.dim = 3; p.k = 7;
  p.queries.assign(150, 1.0f);
  p.keys.assign(150, 1.0f);
  p.exclude_self = true;
  Result r = run(p);
  const int32_t want3[] = {0, 1, 2, 4, 5, 6, 7};
  for (int j = 0; j < 7; j++) CHECK(r.ids[3 * 7 + j] == want3[j] && r.scores[3 * 7 + j] == 3.0f, "tie slot %d: %d", j, r.ids[3 * 7 + j]);

  Problem t = make(150, 400, 6, 25, Metric::Dot, 77, true);
  random_exclude(t, 30, 78);
  r = run(t);
  compare_rows(t, r.ids.data(), r.scores.data(), 0, t.q_rows, true, label("quantised", t));

  Problem z = make(20, 40, 10, 40, Metric::Cosine, 21);
  for (int q : {0, 7, 19}) std::fill(z.queries.begin() + q * 10, z.queries.begin() + q * 10 + 10, 0.0f);
  for (int j : {0, 3, 39}) std::fill(z.keys.begin() + j * 10, z.keys.begin() + j * 10 + 10, 0.0f);
  r = run(z);
  compare_rows(z, r.ids.data(), r.scores.data(), 0, 20, false, label("zero rows", z));

  Problem n = make(5, 30, 4, 30, Metric::Dot, 41);
  n.keys[2 * 4 + 1] = std::numeric_limits<float>::quiet_NaN();
  r = run(n);
  compare_rows(n, r.ids.data(), r.scores.data(), 0, 5, false, label("nan", n));

  Problem g = make(300, 300, 20, 6, Metric::Dot, 31);
  g.exclude_self = true;
  g.keys = g.queries;
  r = run(g, 110, 230);
  for (int64_t i = 0; i < 110 * 6; i++) CHECK(r.ids[i] == -7, "row before the range written");
  for (int64_t i = 230 * 6; i < 300 * 6; i++) CHECK(r.ids[i] == -7, "row after the range written");
  compare_rows(g, r.ids.data(), r.scores.data(), 110, 230, false, label("range", g));

  bool threw = false;
  try {
    Problem bad = make(4, 6, 3, 2, Metric::Dot, 1);
    std::vector<int32_t> ids(8);
    std::vector<float> sc(8);
    DenseScoreTopKParams prm = bad.params(ids.data(), sc.data(), 0, 5);
    cuda::dense_score_topk(prm);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw, "row_end > q_rows must be refused");
}

}  // namespace

int main() {
  const cuda::Probe pr = cuda::probe();
  if (!pr.available) {
    std::printf("SKIP cuda: %s\n", pr.reason.c_str());
    return 77;
  }
  std::printf("cuda: %s, driver %d, runtime %d\n", pr.reason.c_str(), pr.driver_version, pr.runtime_version);
  try {
    test_random();
    test_ties_and_edges();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FAIL: %s\n", e.what());
    return 1;
  }
  return report("test_cuda_core");
}
