// ctest: native/core gemm against a float64 reference (tolerance and sentinels: gemm_reference.h).
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "affinity/cancel.h"
#include "affinity/gemm.h"
#include "gemm_reference.h"
#include "reference.h"

using namespace affinity;
using namespace affinity_test;

namespace {

bool run_case(const Case& cs) {
  Setup s = build(cs);
  const std::string what = describe(cs);
  try {
    gemm(s.p);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "  %s: threw %s\n", what.c_str(), e.what());
    CHECK(false, "%s", what.c_str());
    return false;
  }
  const bool ok = verify(s, what);
  CHECK(ok, "%s", what.c_str());
  return ok;
}

const Transpose kOps[2] = {Transpose::N, Transpose::T};

void test_edge_sizes() {
  // each dimension 1..40 with the others fixed (not multiples of any tile), every op, every SIMD
  // level, 1 and 2 threads; β alternates between 0 (C = NaN) and 0.5
  int failures = 0;
  for (Simd simd : simd_levels())
    for (Transpose ta : kOps)
      for (Transpose tb : kOps)
        for (int threads : {1, 2})
          for (int64_t v = 1; v <= 40; v++) {
            for (int dim = 0; dim < 3; dim++) {
              Case c;
              c.ta = ta;
              c.tb = tb;
              c.simd = simd;
              c.threads = threads;
              c.m = dim == 0 ? v : 13;
              c.n = dim == 1 ? v : 37;
              c.k = dim == 2 ? v : 9;
              c.beta = (v + dim) % 2 ? 0.5f : 0.0f;
              c.alpha = 1.25f;
              c.seed = static_cast<uint32_t>(v * 7 + dim);
              if (!run_case(c) && ++failures > 5) return;
            }
          }
}

void test_tiny_and_empty() {
  for (Simd simd : simd_levels())
    for (Transpose ta : kOps)
      for (Transpose tb : kOps) {
        Case c;
        c.ta = ta;
        c.tb = tb;
        c.simd = simd;
        run_case(c);  // 1×1×1
        c.beta = 2.0f;
        run_case(c);
        Case z = c;
        z.m = 0;  // no rows
        run_case(z);
        z = c;
        z.n = 0;
        run_case(z);
        z = c;
        z.batch = 0;
        run_case(z);
        z = c;
        z.m = 7;
        z.n = 5;
        z.k = 0;  // C = β·C
        z.beta = 0.0f;
        run_case(z);
        z.beta = -1.5f;
        z.threads = 2;
        run_case(z);
        z = c;
        z.m = 9;
        z.n = 40;
        z.k = 20;
        z.alpha = 0.0f;  // A, B not read: C = β·C
        z.beta = 0.25f;
        run_case(z);
        z.row_start = z.row_end = 4;  // empty row range
        run_case(z);
      }
}

void test_random_shapes() {
  // shapes crossing the K slice (256), the column block (1024), several row blocks; leading
  // dimension pads, item gaps, α/β, batches
  struct Shape { int64_t m, n, k, batch; };
  const Shape shapes[] = {{100, 70, 300, 1}, {37, 1100, 20, 1}, {200, 64, 520, 1}, {25, 33, 17, 5}, {130, 97, 257, 2}};
  uint32_t seed = 100;
  for (Simd simd : simd_levels())
    for (Transpose ta : kOps)
      for (Transpose tb : kOps)
        for (const Shape& sh : shapes)
          for (int threads : {1, 2}) {
            Case c;
            c.ta = ta;
            c.tb = tb;
            c.simd = simd;
            c.threads = threads;
            c.m = sh.m;
            c.n = sh.n;
            c.k = sh.k;
            c.batch = sh.batch;
            c.seed = seed++;
            c.alpha = seed % 3 == 0 ? -0.75f : 1.0f;
            c.beta = seed % 2 ? 0.0f : 1.5f;
            c.pad_a = seed % 5;
            c.pad_b = (seed / 2) % 4;
            c.pad_c = (seed / 3) % 3;
            c.gap_a = seed % 7;
            c.gap_b = seed % 3;
            c.gap_c = seed % 4;
            run_case(c);
          }
}

void test_batches_and_layouts() {
  for (Simd simd : simd_levels())
    for (Transpose ta : kOps)
      for (Transpose tb : kOps)
        for (int threads : {1, 2}) {
          Case c;
          c.ta = ta;
          c.tb = tb;
          c.simd = simd;
          c.threads = threads;
          c.m = 23;
          c.n = 41;
          c.k = 19;
          c.batch = 6;
          c.beta = 0.5f;
          c.seed = 7;
          Case x = c;
          x.shared_b = true;  // one B for every item (weights)
          run_case(x);
          x = c;
          x.shared_a = true;
          x.beta = 0.0f;
          run_case(x);
          x = c;
          x.interleaved_c = true;  // heads side by side: stride_c = n, ldc = batch·n
          run_case(x);
          x.gap_c = 3;
          x.pad_c = 2;
          run_case(x);
          // attention-like: 12 items of 30×30 = (30×8)·(8×30)
          x = c;
          x.m = 30;
          x.n = 30;
          x.k = 8;
          x.batch = 12;
          x.beta = 0.0f;
          run_case(x);
        }
  // packed-B chunking: items whose B exceeds the budget together (40 × 256×256 floats > 2M), and
  // one item whose B alone does (256 × 8300), shared and not
  for (Simd simd : simd_levels()) {
    Case c;
    c.simd = simd;
    c.threads = 2;
    c.m = 5;
    c.n = 256;
    c.k = 256;
    c.batch = 40;
    c.beta = 1.0f;
    c.seed = 11;
    run_case(c);
    c.tb = Transpose::T;
    c.row_start = 7;
    c.row_end = 40 * 5 - 3;
    run_case(c);
    Case w;
    w.simd = simd;
    w.threads = 2;
    w.m = 3;
    w.n = 8300;
    w.k = 256;
    w.batch = 2;
    w.seed = 12;
    run_case(w);
    w.shared_b = true;
    w.beta = -1.0f;
    run_case(w);
  }
}

void test_row_ranges() {
  // a product split into calls by flat rows equals the whole (and each call writes only its rows)
  for (Simd simd : simd_levels())
    for (int threads : {1, 2})
      for (Transpose ta : kOps) {
        Case c;
        c.ta = ta;
        c.tb = Transpose::T;
        c.simd = simd;
        c.threads = threads;
        c.m = 29;
        c.n = 35;
        c.k = 40;
        c.batch = 4;
        c.beta = 0.0f;
        c.seed = 21;
        // single ranges: inside one item, across items, the tail
        for (auto r : {std::pair<int64_t, int64_t>{3, 17}, {20, 75}, {0, 1}, {115, 116}, {58, 116}}) {
          Case x = c;
          x.row_start = r.first;
          x.row_end = r.second;
          run_case(x);
        }
        // consecutive calls on one buffer
        Setup s = build(c);
        const int64_t cuts[] = {0, 11, 29, 30, 77, 116};
        for (int t = 0; t + 1 < 6; t++) {
          GemmParams q = s.p;
          q.row_start = cuts[t];
          q.row_end = cuts[t + 1];
          gemm(q);
        }
        CHECK(verify(s, "split calls " + describe(c)), "split calls");
      }
}

void test_streamed_output() {
  // C of at least 4M floats with β = 0 in memory that is already written (the sentinels): with
  // AVX-512, blocks are staged and streamed to C (stream_rows). Rows not 64-byte aligned (odd
  // leading dimension), a row range that starts and ends inside items, K over one slice (256),
  // a batch with a shared B; nothing outside the rows may change
  struct Shape { int64_t m, n, k, batch, pad_c, row_start, row_end; };
  const Shape shapes[] = {{1100, 3900, 24, 1, 1, 0, -1},
                          {1100, 3900, 9, 1, 3, 7, 1093},
                          {1030, 4100, 260, 1, 0, 0, -1},
                          {700, 3000, 16, 3, 5, 650, 2050}};
  uint32_t seed = 400;
  for (Simd simd : simd_levels()) {
    if (simd == Simd::Scalar) continue;
    for (const Shape& sh : shapes)
      for (int threads : {1, 2}) {
        if (sh.k > 256 && (threads == 1 || simd != detect_simd())) continue;  // its reference is slow: once
        Case c;
        c.ta = seed % 2 ? Transpose::T : Transpose::N;
        c.tb = seed % 3 ? Transpose::N : Transpose::T;
        c.simd = simd;
        c.threads = threads;
        c.m = sh.m;
        c.n = sh.n;
        c.k = sh.k;
        c.batch = sh.batch;
        c.shared_b = sh.batch > 1;
        c.pad_c = sh.pad_c;
        c.row_start = sh.row_start;
        c.row_end = sh.row_end;
        c.alpha = 0.75f;
        c.seed = seed++;
        run_case(c);
      }
  }
}

bool throws_with(GemmParams p, const char* needle) {
  try {
    gemm(p);
  } catch (const std::invalid_argument& e) {
    if (std::strstr(e.what(), needle)) return true;
    std::fprintf(stderr, "  message '%s' does not name '%s'\n", e.what(), needle);
    return false;
  }
  return false;
}

void test_validation() {
  Case c;
  c.m = 4;
  c.n = 6;
  c.k = 5;
  c.batch = 3;
  c.beta = 1.0f;
  Setup s = build(c);
  const GemmParams ok = s.p;
  CHECK(validate_gemm(ok).empty(), "valid call refused: %s", validate_gemm(ok).c_str());
  GemmParams p = ok;
  p.m = -1;
  CHECK(throws_with(p, "m must be"), "negative m");
  p = ok;
  p.k = int64_t(1) << 40;
  CHECK(throws_with(p, "k must be"), "huge k");
  p = ok;
  p.lda = 4;
  CHECK(throws_with(p, "lda must be >= k"), "lda < k");
  p = ok;
  p.trans_a = Transpose::T;  // A is then K × M, lda ≥ M = 4: 5 is fine, but the span grows
  p.lda = 3;
  CHECK(throws_with(p, "lda must be >= m"), "lda < m (T)");
  p = ok;
  p.ldb = 5;
  CHECK(throws_with(p, "ldb must be >= n"), "ldb < n");
  p = ok;
  p.trans_b = Transpose::T;
  p.ldb = 4;
  CHECK(throws_with(p, "ldb must be >= k"), "ldb < k (T)");
  p = ok;
  p.ldc = 5;
  CHECK(throws_with(p, "ldc must be >= n"), "ldc < n");
  p = ok;
  p.row_end = 13;
  CHECK(throws_with(p, "row range"), "row_end past batch*m");
  p = ok;
  p.row_start = 5;
  p.row_end = 4;
  CHECK(throws_with(p, "row range"), "row_start > row_end");
  p = ok;
  p.a_length -= 1;
  CHECK(throws_with(p, "a has length"), "short a");
  p = ok;
  p.b_length = 10;
  CHECK(throws_with(p, "b has length"), "short b");
  p = ok;
  p.c_length = 3;
  CHECK(throws_with(p, "c has length"), "short c");
  p = ok;
  p.stride_c = 10;  // items of C overlap
  CHECK(throws_with(p, "stride_c = 10"), "overlapping C items");
  p = ok;
  p.a = nullptr;
  CHECK(throws_with(p, "a is null"), "null a");
  p = ok;
  p.b = reinterpret_cast<const float*>(p.c) + 2;  // B inside C
  p.b_length = -1;
  CHECK(throws_with(p, "c overlaps b"), "aliasing");
  p = ok;
  p.trans_a = static_cast<Transpose>(5);
  CHECK(throws_with(p, "trans_a"), "bad transpose");
  CHECK(std::memcmp(s.c.data(), s.c0.data(), s.c.size() * sizeof(float)) == 0, "a refused call wrote C");
  // stride 0 for A and B is allowed (shared operand)
  p = ok;
  p.stride_a = 0;
  p.stride_b = 0;
  CHECK(validate_gemm(p).empty(), "shared operands refused: %s", validate_gemm(p).c_str());
  CHECK(gemm_span(0, 5, 5, 5, 5) == 0 && gemm_span(2, 10, 3, 4, 2) == 20, "gemm_span");
}

void test_cancellation() {
  Case c;
  c.m = 300;
  c.n = 300;
  c.k = 64;
  c.beta = 1.0f;
  for (int threads : {1, 2}) {
    c.threads = threads;
    Setup s = build(c);
    int32_t flag = 1;
    bool cancelled = false;
    try {
      CancelScope scope(&flag);
      gemm(s.p);
    } catch (const Cancelled&) {
      cancelled = true;
    }
    CHECK(cancelled, "gemm under a set flag must throw Cancelled (%d threads)", threads);
    CHECK(std::memcmp(s.c.data(), s.c0.data(), s.c.size() * sizeof(float)) == 0, "a call cancelled before it began wrote C");
  }
}

}  // namespace

int main() {
  std::printf("detected simd: %s, hardware threads: %d\n", simd_name(detect_simd()), hardware_threads());
  test_validation();
  test_tiny_and_empty();
  test_edge_sizes();
  test_random_shapes();
  test_batches_and_layouts();
  test_row_ranges();
  test_streamed_output();
  test_cancellation();
  return report("test_gemm");
}
