// ctest: native/core als_half_step against a direct float64 port of the TypeScript reference
// (src/kernels/alsHalfStep.ts), for every SIMD level this CPU supports: implicit/explicit,
// cg/cholesky, odd factor counts, empty rows, negative and unit confidences, row ranges,
// threads, a non-positive-definite system, validation. Needs no Node.
//
// Tolerance: |native − reference| ≤ 1e-4·max(1, |reference|) per factor (both compute in
// float64; only the summation order differs, then both round to float32).
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "affinity/als_half_step.h"
#include "affinity/platform.h"
#include "reference.h"

using namespace affinity;
using namespace affinity_test;

namespace {

struct Als {
  int64_t rows = 0, cols = 0, f = 0;
  std::vector<int32_t> indptr, indices;
  std::vector<float> data, y, init;
  std::vector<double> gram;
  bool implicit = true, cg = true;
  int64_t steps = 3;
  double lambda = 0.1;

  AlsHalfStepParams params(float* out, int64_t r0, int64_t r1) const {
    AlsHalfStepParams p;
    p.implicit = implicit; p.cg = cg; p.cg_steps = steps;
    p.rows = rows; p.cols = cols; p.factors = f;
    p.indptr = indptr.data(); p.indices = indices.data(); p.indices_length = static_cast<int64_t>(indices.size());
    p.data = data.data(); p.data_length = static_cast<int64_t>(data.size());
    p.other = y.data(); p.other_length = static_cast<int64_t>(y.size());
    p.gram = implicit ? gram.data() : nullptr; p.gram_length = implicit ? static_cast<int64_t>(gram.size()) : 0;
    p.regularization = lambda;
    p.out = out; p.out_length = rows * f;
    p.row_start = r0; p.row_end = r1;
    return p;
  }
};

Als make(int64_t rows, int64_t cols, int64_t f, double density, uint32_t seed, bool implicit, bool cg) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u01(0, 1);
  Als a;
  a.rows = rows; a.cols = cols; a.f = f; a.implicit = implicit; a.cg = cg;
  a.indptr.push_back(0);
  for (int64_t r = 0; r < rows; r++) {
    if (r % 7 != 3) {  // every 7th row empty
      for (int64_t c = 0; c < cols; c++) {
        if (u01(rng) >= density) continue;
        a.indices.push_back(static_cast<int32_t>(c));
        double v;
        if (implicit) {
          const double t = u01(rng);
          v = t < 0.1 ? -(1 + 4 * u01(rng)) : t < 0.2 ? 1.0 : 1 + 9 * u01(rng);  // negative, unit, positive
        } else {
          v = 1 + std::floor(u01(rng) * 5);
        }
        a.data.push_back(static_cast<float>(v));
      }
    }
    a.indptr.push_back(static_cast<int32_t>(a.indices.size()));
  }
  a.y.resize(static_cast<size_t>(cols * f));
  for (auto& v : a.y) v = static_cast<float>((u01(rng) - 0.5) * 0.6);
  a.init.resize(static_cast<size_t>(rows * f));
  for (auto& v : a.init) v = static_cast<float>((u01(rng) - 0.5) * 0.2);
  a.gram.assign(static_cast<size_t>(f * f), 0.0);
  for (int64_t r = 0; r < cols; r++)
    for (int64_t i = 0; i < f; i++)
      for (int64_t j = 0; j < f; j++) a.gram[i * f + j] += static_cast<double>(a.y[r * f + i]) * a.y[r * f + j];
  return a;
}

/** The TypeScript reference, line for line in float64. Returns the failing row or -1. */
int64_t reference(const Als& a, std::vector<float>& X, int64_t r0, int64_t r1) {
  const int64_t f = a.f;
  std::vector<double> A(f * f), b(f), x(f), r(f), p(f), Ap(f);
  for (int64_t u = r0; u < r1; u++) {
    const int64_t start = a.indptr[u], end = a.indptr[u + 1];
    if (start == end) { for (int64_t k = 0; k < f; k++) X[u * f + k] = 0; continue; }
    const double ridge = a.implicit ? a.lambda : a.lambda * (end - start);
    auto mulA = [&](const std::vector<double>& v, std::vector<double>& o) {
      for (int64_t i = 0; i < f; i++) {
        double s = ridge * v[i];
        if (a.implicit) for (int64_t j = 0; j < f; j++) s += a.gram[i * f + j] * v[j];
        o[i] = s;
      }
      for (int64_t q = start; q < end; q++) {
        const float* y = &a.y[a.indices[q] * f];
        const double c = a.data[q];
        const double w = a.implicit ? std::fabs(c) - 1 : 1;
        if (w == 0) continue;
        double s = 0;
        for (int64_t k = 0; k < f; k++) s += y[k] * v[k];
        s *= w;
        for (int64_t k = 0; k < f; k++) o[k] += s * y[k];
      }
    };
    if (!a.cg) {
      for (int64_t i = 0; i < f * f; i++) A[i] = a.implicit ? a.gram[i] : 0;
      for (int64_t k = 0; k < f; k++) A[k * f + k] += ridge;
      std::fill(b.begin(), b.end(), 0.0);
      for (int64_t q = start; q < end; q++) {
        const float* y = &a.y[a.indices[q] * f];
        double c = a.data[q], w;
        if (a.implicit) { if (c > 0) { for (int64_t k = 0; k < f; k++) b[k] += c * y[k]; } else c = -c; w = c - 1; }
        else { for (int64_t k = 0; k < f; k++) b[k] += c * y[k]; w = 1; }
        if (w == 0) continue;
        for (int64_t i = 0; i < f; i++)
          for (int64_t j = 0; j <= i; j++) A[i * f + j] += w * y[i] * y[j];
      }
      for (int64_t j = 0; j < f; j++) {
        double s = A[j * f + j];
        for (int64_t k = 0; k < j; k++) s -= A[j * f + k] * A[j * f + k];
        if (!(s > 0)) return u;
        const double d = std::sqrt(s);
        A[j * f + j] = d;
        for (int64_t i = j + 1; i < f; i++) {
          double t = A[i * f + j];
          for (int64_t k = 0; k < j; k++) t -= A[i * f + k] * A[j * f + k];
          A[i * f + j] = t / d;
        }
      }
      for (int64_t i = 0; i < f; i++) { double t = b[i]; for (int64_t k = 0; k < i; k++) t -= A[i * f + k] * b[k]; b[i] = t / A[i * f + i]; }
      for (int64_t i = f - 1; i >= 0; i--) { double t = b[i]; for (int64_t k = i + 1; k < f; k++) t -= A[k * f + i] * b[k]; b[i] = t / A[i * f + i]; }
      for (int64_t k = 0; k < f; k++) X[u * f + k] = static_cast<float>(b[k]);
      continue;
    }
    for (int64_t k = 0; k < f; k++) x[k] = X[u * f + k];
    mulA(x, r);
    for (int64_t k = 0; k < f; k++) r[k] = -r[k];
    for (int64_t q = start; q < end; q++) {
      const float* y = &a.y[a.indices[q] * f];
      const double c = a.data[q];
      if (!a.implicit || c > 0) for (int64_t k = 0; k < f; k++) r[k] += c * y[k];
    }
    double rsold = 0;
    for (int64_t k = 0; k < f; k++) { p[k] = r[k]; rsold += r[k] * r[k]; }
    if (rsold < 1e-20) continue;
    for (int64_t it = 0; it < a.steps; it++) {
      mulA(p, Ap);
      double pAp = 0;
      for (int64_t k = 0; k < f; k++) pAp += p[k] * Ap[k];
      if (!(pAp > 0)) break;
      const double alpha = rsold / pAp;
      double rsnew = 0;
      for (int64_t k = 0; k < f; k++) { x[k] += alpha * p[k]; r[k] -= alpha * Ap[k]; rsnew += r[k] * r[k]; }
      if (rsnew < 1e-20) break;
      const double beta = rsnew / rsold;
      for (int64_t k = 0; k < f; k++) p[k] = r[k] + beta * p[k];
      rsold = rsnew;
    }
    for (int64_t k = 0; k < f; k++) X[u * f + k] = static_cast<float>(x[k]);
  }
  return -1;
}

void compare(const std::vector<float>& got, const std::vector<float>& want, const std::string& label) {
  int bad = 0;
  for (size_t i = 0; i < want.size(); i++) {
    const double tol = 1e-4 * std::max(1.0, std::fabs(static_cast<double>(want[i])));
    const bool ok = std::fabs(static_cast<double>(got[i]) - want[i]) <= tol;
    if (!ok && bad++ < 3) CHECK(ok, "%s: element %zu native %.9g reference %.9g", label.c_str(), i, got[i], want[i]);
  }
  CHECK(bad == 0, "%s: %d elements out of tolerance", label.c_str(), bad);
}

void test_random() {
  const int64_t shapes[][3] = {{40, 30, 1}, {37, 50, 5}, {30, 60, 16}, {25, 80, 33}, {20, 120, 64}, {8, 40, 70}};
  uint32_t seed = 1;
  for (const auto& s : shapes) {
    for (bool implicit : {true, false}) {
      for (bool cg : {true, false}) {
        Als a = make(s[0], s[1], s[2], 0.3, seed++, implicit, cg);
        a.lambda = implicit ? 0.1 : 0.05;
        std::vector<float> want = a.init;
        CHECK(reference(a, want, 0, a.rows) == -1, "reference failed");
        for (Simd simd : simd_levels()) {
          for (int threads : {1, 2, 3}) {
            std::vector<float> got = a.init;
            AlsHalfStepParams p = a.params(got.data(), 0, a.rows);
            p.simd = simd;
            p.threads = threads;
            if (threads == 3) p.gather_max_entries = 6;  // long rows read Y directly in every pass
            als_half_step(p);
            compare(got, want, std::string(implicit ? "implicit " : "explicit ") + (cg ? "cg " : "cholesky ") + std::to_string(s[0]) +
                                   "x" + std::to_string(s[1]) + " f=" + std::to_string(s[2]) + " " + simd_name(simd) +
                                   " threads=" + std::to_string(threads));
          }
        }
      }
    }
  }
}

void test_row_range_and_steps() {
  Als a = make(50, 40, 12, 0.4, 99, true, true);
  a.steps = 7;
  std::vector<float> want = a.init;
  reference(a, want, 10, 33);
  for (Simd simd : simd_levels()) {
    std::vector<float> got = a.init;
    AlsHalfStepParams p = a.params(got.data(), 10, 33);
    p.simd = simd;
    p.threads = 2;
    als_half_step(p);
    compare(got, want, std::string("rows [10, 33) cg 7 steps ") + simd_name(simd));
    bool untouched = true;
    for (int64_t i = 0; i < 10 * a.f; i++) untouched = untouched && got[i] == a.init[i];
    for (int64_t i = 33 * a.f; i < a.rows * a.f; i++) untouched = untouched && got[i] == a.init[i];
    CHECK(untouched, "rows outside the range were written (%s)", simd_name(simd));
  }
}

void test_not_positive_definite() {
  // explicit, λ = 0, f larger than every row's entry count: A = Σ y yᵀ is singular
  Als a = make(12, 30, 20, 0.2, 5, false, false);
  a.lambda = 0;
  std::vector<float> want = a.init;
  const int64_t ref_row = reference(a, want, 0, a.rows);
  CHECK(ref_row >= 0, "the reference should fail");
  for (Simd simd : simd_levels()) {
    std::vector<float> got = a.init;
    AlsHalfStepParams p = a.params(got.data(), 0, a.rows);
    p.simd = simd;
    p.threads = 2;
    bool threw = false;
    try {
      als_half_step(p);
    } catch (const AlsNotPositiveDefinite& e) {
      threw = e.row == ref_row && std::string(e.what()).find("increase regularization (now 0)") != std::string::npos;
      if (!threw) std::fprintf(stderr, "row %lld vs %lld: %s\n", static_cast<long long>(e.row), static_cast<long long>(ref_row), e.what());
    }
    CHECK(threw, "not positive definite must throw for row %lld (%s)", static_cast<long long>(ref_row), simd_name(simd));
  }
}

void test_message_numbers() {
  // the message prints λ as JavaScript does: `increase regularization (now ${lambda})`
  const std::pair<double, const char*> cases[] = {{0, "0"}, {0.01, "0.01"}, {1e-8, "1e-8"}, {0.00001, "0.00001"}, {1e-7, "1e-7"},
                                                   {2.5, "2.5"}, {100, "100"}, {1e21, "1e+21"}, {1.5e300, "1.5e+300"}, {0.1 + 0.2, "0.30000000000000004"}};
  for (const auto& [v, want] : cases) {
    const std::string msg = AlsNotPositiveDefinite(3, v).what();
    const std::string tail = std::string("(now ") + want + ")";
    CHECK(msg.size() >= tail.size() && msg.compare(msg.size() - tail.size(), tail.size(), tail) == 0, "%s should end with %s", msg.c_str(), tail.c_str());
  }
}

void test_validation() {
  Als a = make(10, 8, 4, 0.5, 7, true, true);
  std::vector<float> out = a.init;
  auto expect_invalid = [&](AlsHalfStepParams p, const char* what) {
    bool threw = false;
    try { als_half_step(p); } catch (const std::invalid_argument&) { threw = true; }
    CHECK(threw, "%s must be rejected", what);
    CHECK(out == a.init, "%s: out touched", what);
  };
  AlsHalfStepParams p = a.params(out.data(), 0, a.rows);
  { auto q = p; q.other_length -= 1; expect_invalid(q, "short other"); }
  { auto q = p; q.gram_length = 3; expect_invalid(q, "short gram"); }
  { auto q = p; q.out_length -= 1; expect_invalid(q, "short out"); }
  { auto q = p; q.factors = 0; q.other_length = 0; q.out_length = 0; q.gram_length = 0; expect_invalid(q, "factors 0"); }
  { auto q = p; q.row_end = a.rows + 1; expect_invalid(q, "row range"); }
  { auto q = p; q.cg_steps = 0; expect_invalid(q, "cgSteps 0"); }
  { auto q = p; q.regularization = -1; expect_invalid(q, "negative λ"); }
  { auto q = p; q.indices_length = 0; expect_invalid(q, "short indices"); }
  std::vector<int32_t> bad = a.indices;
  bad[bad.size() / 2] = static_cast<int32_t>(a.cols);
  { auto q = p; q.indices = bad.data(); expect_invalid(q, "index out of range"); }
  std::vector<int32_t> ptr = a.indptr;
  std::swap(ptr[3], ptr[4]);
  if (ptr[3] != ptr[4]) { auto q = p; q.indptr = ptr.data(); expect_invalid(q, "decreasing indptr"); }
  // an empty range and zero rows are fine
  { auto q = p; q.row_start = q.row_end = 4; als_half_step(q); CHECK(out == a.init, "empty range wrote"); }
}

/** The objective's terms of rows [r0, r1) at X (src/kernels/alsHalfStep.ts, `loss`), float64, row by row. */
std::vector<double> reference_loss(const Als& a, const std::vector<float>& X) {
  std::vector<double> out(static_cast<size_t>(a.rows));
  const int64_t f = a.f;
  for (int64_t u = 0; u < a.rows; u++) {
    const int64_t n = a.indptr[u + 1] - a.indptr[u];
    const double ridge = a.implicit ? a.lambda : a.lambda * static_cast<double>(n);
    double t = 0, norm = 0;
    for (int64_t k = 0; k < f; k++) norm += static_cast<double>(X[u * f + k]) * X[u * f + k];
    if (a.implicit)
      for (int64_t i = 0; i < f; i++) {
        double s = 0;
        for (int64_t j = 0; j < f; j++) s += a.gram[i * f + j] * X[u * f + j];
        t += s * X[u * f + i];
      }
    t += ridge * norm;
    for (int64_t q = a.indptr[u]; q < a.indptr[u + 1]; q++) {
      double s = 0;
      for (int64_t k = 0; k < f; k++) s += static_cast<double>(X[u * f + k]) * a.y[a.indices[q] * f + k];
      const double c = a.data[q];
      if (a.implicit) {
        const double av = c > 0 ? c : 0;
        t += av - 2 * av * s + (std::fabs(c) - 1) * s * s;
      } else {
        t += (c - s) * (c - s);
      }
    }
    out[static_cast<size_t>(u)] = t;
  }
  return out;
}

/** Without gram (implicit), the kernel computes YᵀY itself: the same solves within the usual tolerance. */
void test_own_gram() {
  for (int64_t f : {7, 16, 64}) {
    Als a = make(60, 900, f, 0.05, 77 + static_cast<uint32_t>(f), true, true);
    std::vector<float> want = a.init;
    CHECK(reference(a, want, 0, a.rows) == -1, "reference failed");
    for (Simd simd : simd_levels()) {
      for (int threads : {1, 2}) {
        std::vector<float> got = a.init;
        AlsHalfStepParams p = a.params(got.data(), 0, a.rows);
        p.gram = nullptr;
        p.gram_length = 0;
        p.simd = simd;
        p.threads = threads;
        als_half_step(p);
        compare(got, want, std::string("own gram f=") + std::to_string(f) + " " + simd_name(simd) + " threads=" + std::to_string(threads));
      }
    }
  }
}

void test_row_loss() {
  uint32_t seed = 300;
  for (int64_t f : {5, 16, 33, 64}) {
    for (bool implicit : {true, false}) {
      for (bool cg : {true, false}) {
        Als a = make(30, 70, f, 0.3, seed++, implicit, cg);
        const std::vector<double> want = reference_loss(a, a.init);
        for (Simd simd : simd_levels()) {
          for (bool solve : {true, false}) {
            std::vector<float> got = a.init, plain = a.init;
            std::vector<double> loss(static_cast<size_t>(a.rows), -1);
            AlsHalfStepParams p = a.params(got.data(), 0, a.rows);
            p.simd = simd;
            p.threads = 2;
            p.row_loss = loss.data();
            p.row_loss_length = a.rows;
            p.solve = solve;
            als_half_step(p);
            AlsHalfStepParams q = a.params(plain.data(), 0, a.rows);
            q.simd = simd;
            q.threads = 2;
            als_half_step(q);
            const std::string label = std::string(implicit ? "implicit " : "explicit ") + (cg ? "cg" : "cholesky") + " f=" + std::to_string(f) + " " +
                                      simd_name(simd) + (solve ? "" : " solve=false");
            int bad = 0;
            for (int64_t u = 0; u < a.rows; u++)
              if (!(std::fabs(loss[u] - want[u]) <= 1e-9 * std::max(1.0, std::fabs(want[u])))) bad++;
            CHECK(bad == 0, "%s: %d rows' loss terms differ from the reference", label.c_str(), bad);
            CHECK(solve ? got == plain : got == a.init, "%s: %s", label.c_str(), solve ? "the loss changed the step" : "solve=false wrote factors");
          }
        }
      }
    }
  }
  Als a = make(10, 8, 4, 0.5, 7, true, true);
  std::vector<float> out = a.init;
  AlsHalfStepParams p = a.params(out.data(), 0, a.rows);
  p.solve = false;
  bool threw = false;
  try { als_half_step(p); } catch (const std::invalid_argument&) { threw = true; }
  CHECK(threw, "solve=false without row_loss must be rejected");
}

}  // namespace

int main() {
  std::printf("detected simd: %s, hardware threads: %d\n", simd_name(detect_simd()), hardware_threads());
  test_random();
  test_row_range_and_steps();
  test_not_positive_definite();
  test_validation();
  test_message_numbers();
  test_row_loss();
  test_own_gram();
  return report("test_als");
}
