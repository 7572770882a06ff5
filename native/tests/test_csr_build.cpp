// ctest: native/core csr_from_triplets and csr_transpose against a naive reference (a stable sort of
// the triplets by (row, column), duplicates summed in input order as float(double(sum) + v)), on 1,
// 2, 3 and 5 threads: random triplets with and without duplicates, float32 and float64 values,
// empty input, one row, every triplet the same pair, rows and columns with no entries, row blocks
// at their 2^16-row cap, and bad indices (the first one in input order reported, nothing
// written). test/native.csr.test.ts checks the addon against the TypeScript reference
// (src/data/matrix.ts). No Node.
#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "affinity/csr_build.h"
#include "reference.h"

using namespace affinity;
using namespace affinity_test;

namespace {

struct Triplets {
  int64_t rows = 0, cols = 0;
  std::vector<int32_t> r, c;
  std::vector<float> v32;
  std::vector<double> v64;
};

struct Csr {
  std::vector<int32_t> indptr, indices;
  std::vector<float> data;
};

template <class V>
Csr naive(const Triplets& t, const std::vector<V>& v) {
  const size_t n = t.r.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return t.r[a] != t.r[b] ? t.r[a] < t.r[b] : t.c[a] < t.c[b]; });
  Csr out;
  out.indptr.assign(static_cast<size_t>(t.rows + 1), 0);
  size_t k = 0;
  for (int64_t row = 0; row < t.rows; row++) {
    out.indptr[static_cast<size_t>(row)] = static_cast<int32_t>(out.indices.size());
    const size_t first = out.indices.size();
    for (; k < n && t.r[order[k]] == row; k++) {
      const size_t i = order[k];
      if (out.indices.size() > first && out.indices.back() == t.c[i]) out.data.back() = static_cast<float>(static_cast<double>(out.data.back()) + static_cast<double>(v[i]));
      else {
        out.indices.push_back(t.c[i]);
        out.data.push_back(static_cast<float>(v[i]));
      }
    }
  }
  out.indptr[static_cast<size_t>(t.rows)] = static_cast<int32_t>(out.indices.size());
  return out;
}

bool same_bits(const std::vector<float>& a, const float* b, size_t n) { return n == a.size() && (n == 0 || std::memcmp(a.data(), b, n * 4) == 0); }

void check_build(const Triplets& t, bool f64, int threads, const char* label) {
  const Csr want = f64 ? naive(t, t.v64) : naive(t, t.v32);
  const size_t n = t.r.size();
  std::vector<int32_t> indptr(static_cast<size_t>(t.rows + 1), -7), indices(n + 1, -7);
  std::vector<float> data(n + 1, -7.0f);
  CsrFromTripletsParams p;
  p.rows = t.rows;
  p.cols = t.cols;
  p.n = static_cast<int64_t>(n);
  p.row = t.r.data();
  p.col = t.c.data();
  if (f64) p.value64 = t.v64.data();
  else p.value32 = t.v32.data();
  p.indptr = indptr.data();
  p.indices = indices.data();
  p.data = data.data();
  BadTriplet bad;
  const int64_t nnz = csr_from_triplets(p, threads, &bad);
  CHECK(nnz == static_cast<int64_t>(want.indices.size()), "%s (%d threads, %s): nnz %lld, expected %zu", label, threads, f64 ? "f64" : "f32", static_cast<long long>(nnz), want.indices.size());
  if (nnz != static_cast<int64_t>(want.indices.size())) return;
  CHECK(indptr == want.indptr, "%s (%d threads): indptr differs", label, threads);
  CHECK(std::equal(want.indices.begin(), want.indices.end(), indices.begin()), "%s (%d threads): indices differ", label, threads);
  CHECK(same_bits(want.data, data.data(), static_cast<size_t>(nnz)), "%s (%d threads): data differ", label, threads);
  CHECK(indices[n] == -7 && data[n] == -7.0f, "%s (%d threads): wrote past n", label, threads);

  // its transpose against a naive one (a stable sort by column of the row-ordered entries)
  Triplets back;
  back.rows = t.cols;
  back.cols = t.rows;
  for (int64_t row = 0; row < t.rows; row++)
    for (int32_t k = want.indptr[static_cast<size_t>(row)]; k < want.indptr[static_cast<size_t>(row + 1)]; k++) {
      back.r.push_back(want.indices[static_cast<size_t>(k)]);
      back.c.push_back(static_cast<int32_t>(row));
      back.v32.push_back(want.data[static_cast<size_t>(k)]);
    }
  const Csr wantT = naive(back, back.v32);  // no duplicates left: only the order matters
  std::vector<int32_t> tIndptr(static_cast<size_t>(t.cols + 1), -7), tIndices(static_cast<size_t>(nnz) + 1, -7);
  std::vector<float> tData(static_cast<size_t>(nnz) + 1, -7.0f);
  CsrTransposeParams q;
  q.rows = t.rows;
  q.cols = t.cols;
  q.indptr = indptr.data();
  q.indices = indices.data();
  q.indices_length = static_cast<int64_t>(indices.size());
  q.data = data.data();
  q.data_length = static_cast<int64_t>(data.size());
  q.out_indptr = tIndptr.data();
  q.out_indices = tIndices.data();
  q.out_data = tData.data();
  q.out_length = nnz;
  int64_t badPos = -1;
  CHECK(csr_transpose(q, threads, &badPos), "%s (%d threads): transpose refused", label, threads);
  CHECK(tIndptr == wantT.indptr, "%s (%d threads): transpose indptr differs", label, threads);
  CHECK(std::equal(wantT.indices.begin(), wantT.indices.end(), tIndices.begin()), "%s (%d threads): transpose indices differ", label, threads);
  CHECK(same_bits(wantT.data, tData.data(), static_cast<size_t>(nnz)), "%s (%d threads): transpose data differ", label, threads);
  CHECK(tIndices[static_cast<size_t>(nnz)] == -7, "%s (%d threads): transpose wrote past nnz", label, threads);
}

void check_all(const Triplets& t, const char* label) {
  for (int threads : {1, 2, 3, 5})
    for (bool f64 : {false, true}) check_build(t, f64, threads, label);
}

Triplets random_triplets(std::mt19937& g, int64_t rows, int64_t cols, size_t n) {
  Triplets t;
  t.rows = rows;
  t.cols = cols;
  std::uniform_int_distribution<int32_t> ru(0, static_cast<int32_t>(rows - 1)), cu(0, static_cast<int32_t>(cols - 1));
  std::normal_distribution<double> value(0, 3);
  for (size_t i = 0; i < n; i++) {
    t.r.push_back(ru(g));
    t.c.push_back(cu(g));
    const double x = value(g) * 1.000000123;  // not a float32: float64 sums round differently
    t.v64.push_back(x);
    t.v32.push_back(static_cast<float>(x));
  }
  return t;
}

void test_valid() {
  std::mt19937 g(11);
  check_all(Triplets{3, 4, {}, {}, {}, {}}, "empty");
  check_all(Triplets{0, 0, {}, {}, {}, {}}, "0 x 0");
  check_all(random_triplets(g, 1, 50, 200), "one row");
  check_all(random_triplets(g, 40, 1, 200), "one column");
  Triplets same = random_triplets(g, 5, 5, 300);
  for (auto& r : same.r) r = 3;
  for (auto& c : same.c) c = 2;
  check_all(same, "all duplicates");
  check_all(random_triplets(g, 200, 30, 2000), "random, many duplicates");
  check_all(random_triplets(g, 5000, 4000, 3000), "random, rows and columns with no entries");
  check_all(random_triplets(g, 300, 700, 50000), "random, larger");
  check_all(random_triplets(g, 20000, 500, 400000), "random, many row blocks");
  check_all(random_triplets(g, 1000, 1000000, 20000), "far more columns than entries (the sorting path)");
  // blocks at their cap of 2^16 rows (a row's place in its block is a uint16), entries on the
  // blocks' first and last rows, and duplicates there
  Triplets tall = random_triplets(g, 300000, 40, 3000);
  const int32_t edges[] = {0, 65535, 65536, 131071, 131072, 299999};
  for (size_t i = 0; i < 600; i++) {
    tall.r[i * 5] = edges[i % 6];
    tall.c[i * 5] = static_cast<int32_t>(i % 3);
  }
  check_all(tall, "far more rows than entries (blocks of 2^16 rows)");
  Triplets skewed = random_triplets(g, 30000, 300, 300000);
  for (size_t i = 0; i < skewed.r.size(); i += 2) skewed.r[i] = 17;  // half of them in one row
  check_all(skewed, "one heavy row among many blocks");
  // sorted input, and input in reverse order
  Triplets sorted = random_triplets(g, 100, 100, 5000);
  std::vector<size_t> order(sorted.r.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return sorted.r[a] != sorted.r[b] ? sorted.r[a] > sorted.r[b] : sorted.c[a] > sorted.c[b]; });
  Triplets rev = sorted;
  for (size_t k = 0; k < order.size(); k++) {
    rev.r[k] = sorted.r[order[k]];
    rev.c[k] = sorted.c[order[k]];
    rev.v32[k] = sorted.v32[order[k]];
    rev.v64[k] = sorted.v64[order[k]];
  }
  check_all(rev, "reverse-sorted");
}

void test_bad_indices() {
  std::mt19937 g(5);
  for (int threads : {1, 2, 3}) {
    Triplets t = random_triplets(g, 10, 10, 1000);
    t.c[700] = 10;      // column out of range
    t.r[900] = -1;      // a later bad row
    t.r[700] = 9;
    std::vector<int32_t> indptr(11, -7), indices(1000, -7);
    std::vector<float> data(1000, -7.0f);
    CsrFromTripletsParams p;
    p.rows = 10;
    p.cols = 10;
    p.n = 1000;
    p.row = t.r.data();
    p.col = t.c.data();
    p.value32 = t.v32.data();
    p.indptr = indptr.data();
    p.indices = indices.data();
    p.data = data.data();
    BadTriplet bad;
    CHECK(csr_from_triplets(p, threads, &bad) == -1, "bad column: not refused");
    CHECK(bad.position == 700 && bad.column && bad.value == 10, "bad column: got position %lld column %d value %lld", static_cast<long long>(bad.position), bad.column, static_cast<long long>(bad.value));
    CHECK(std::all_of(indptr.begin(), indptr.end(), [](int32_t x) { return x == -7; }), "bad column: indptr written");
    CHECK(std::all_of(indices.begin(), indices.end(), [](int32_t x) { return x == -7; }) && std::all_of(data.begin(), data.end(), [](float x) { return x == -7.0f; }), "bad column: indices or data written");
    t.c[700] = 3;
    t.r[700] = 12;  // now both a bad row and (at 900) a bad row: the first reported
    t.c[650] = -5;
    t.r[650] = -2;  // row and column both bad: the row is named
    CHECK(csr_from_triplets(p, threads, &bad) == -1, "bad row: not refused");
    CHECK(bad.position == 650 && !bad.column && bad.value == -2, "bad row: got position %lld column %d value %lld", static_cast<long long>(bad.position), bad.column, static_cast<long long>(bad.value));
  }
  // transpose: a bad column index, and a malformed indptr
  std::vector<int32_t> indptr = {0, 2, 3}, indices = {0, 4, 1};
  std::vector<float> data = {1, 2, 3};
  std::vector<int32_t> outIndptr(4), outIndices(3);
  std::vector<float> outData(3);
  CsrTransposeParams q;
  q.rows = 2;
  q.cols = 3;
  q.indptr = indptr.data();
  q.indices = indices.data();
  q.indices_length = 3;
  q.data = data.data();
  q.data_length = 3;
  q.out_indptr = outIndptr.data();
  q.out_indices = outIndices.data();
  q.out_data = outData.data();
  q.out_length = 3;
  int64_t pos = -1;
  CHECK(!csr_transpose(q, 2, &pos) && pos == 1, "transpose bad column: position %lld", static_cast<long long>(pos));
  indices[1] = 2;
  indptr[1] = 4;
  CHECK(!validate_csr_transpose(q).empty(), "transpose: a decreasing indptr accepted");
  indptr[1] = 2;
  indptr[2] = 5;
  CHECK(!validate_csr_transpose(q).empty(), "transpose: nnz past indices accepted");
}

}  // namespace

int main() {
  test_valid();
  test_bad_indices();
  return report("test_csr_build");
}
