// ctest: native/core dense_score_topk against a naive float64 implementation, for every SIMD
// level this CPU supports, plus ties, exclusion, edge cases, validation, concurrency and the
// thread pool. Needs no Node.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include "affinity/cancel.h"
#include "affinity/dense_score_topk.h"
#include "affinity/huge_pages.h"
#include "affinity/index_range.h"
#include "affinity/platform.h"
#include "reference.h"
#include "thread_pool.h"

using namespace affinity;
using namespace affinity_test;

namespace {

const float kInf = std::numeric_limits<float>::infinity();

/** Runs rows [r0, r1) into fresh outputs pre-filled with a sentinel; returns them. */
struct Result {
  std::vector<int32_t> ids;
  std::vector<float> scores;
};
Result run(const Problem& p, Simd simd, int threads, int64_t r0, int64_t r1) {
  Result res;
  res.ids.assign(static_cast<size_t>(p.q_rows * p.k_out()), -7);
  res.scores.assign(res.ids.size(), 7.0f);
  DenseScoreTopKParams prm = p.params(res.ids.data(), res.scores.data(), r0, r1);
  prm.simd = simd;
  prm.threads = threads;
  dense_score_topk(prm);
  return res;
}
Result run(const Problem& p, Simd simd, int threads = 2) { return run(p, simd, threads, 0, p.q_rows); }

Problem make(int64_t q, int64_t n, int64_t d, int64_t k, Metric m, uint32_t seed, bool quantised = false) {
  Problem p;
  p.q_rows = q; p.k_rows = n; p.dim = d; p.k = k; p.metric = m;
  p.queries = random_matrix(q, d, seed, quantised);
  p.keys = random_matrix(n, d, seed + 1000, quantised);
  return p;
}

std::string name(const char* what, const Problem& p, Simd s) {
  return std::string(what) + " " + std::to_string(p.q_rows) + "x" + std::to_string(p.k_rows) + "x" + std::to_string(p.dim) +
         " k=" + std::to_string(p.k) + (p.metric == Metric::Cosine ? " cosine " : " dot ") + simd_name(s);
}

void test_random_shapes() {
  // d not a multiple of 8/16, K < k, K not a multiple of any panel width, several query blocks
  const int64_t shapes[][4] = {{37, 53, 5, 7}, {64, 100, 16, 10}, {20, 300, 67, 20}, {10, 4, 9, 8}, {1, 1, 1, 1},
                               {250, 170, 33, 5}, {12, 1000, 64, 50}, {9, 40, 1, 3}, {5, 7, 0, 3}, {200, 33, 129, 40},
                               {97, 97, 8, 96}};
  uint32_t seed = 1;
  for (Simd s : simd_levels()) {
    for (const auto& sh : shapes) {
      for (Metric m : {Metric::Dot, Metric::Cosine}) {
        Problem p = make(sh[0], sh[1], sh[2], sh[3], m, seed++);
        Result r = run(p, s, 2);
        compare_rows(p, r.ids.data(), r.scores.data(), 0, p.q_rows, false, name("plain", p, s));
        random_exclude(p, 12, seed++);
        r = run(p, s, 3);
        compare_rows(p, r.ids.data(), r.scores.data(), 0, p.q_rows, false, name("exclude", p, s));
      }
      // self-product with excludeSelf
      Problem p = make(sh[0], sh[0], sh[2], sh[3], Metric::Cosine, seed++);
      p.self_product = true;
      p.exclude_self = true;
      random_exclude(p, 4, seed++);
      Result r = run(p, s, 1);
      compare_rows(p, r.ids.data(), r.scores.data(), 0, p.q_rows, false, name("self", p, s));
    }
  }
}

void test_exact_ties() {
  for (Simd s : simd_levels()) {
    // all scores equal → ids 0, 1, 2, ... (lower id first); with excludeSelf the row's own id is skipped
    Problem p;
    p.q_rows = 50; p.k_rows = 50; p.dim = 3; p.k = 7;
    p.queries.assign(150, 1.0f);
    p.keys.assign(150, 1.0f);
    Result r = run(p, s);
    for (int64_t q = 0; q < p.q_rows; q++)
      for (int j = 0; j < 7; j++) CHECK(r.ids[q * 7 + j] == j && r.scores[q * 7 + j] == 3.0f, "equal scores row %lld slot %d: %d", (long long)q, j, r.ids[q * 7 + j]);
    p.exclude_self = true;
    r = run(p, s);
    const int32_t want3[] = {0, 1, 2, 4, 5, 6, 7};
    for (int j = 0; j < 7; j++) CHECK(r.ids[3 * 7 + j] == want3[j], "excludeSelf tie slot %d: %d", j, r.ids[3 * 7 + j]);
    // {-1, 0, 1} entries: integer scores, exact in float32 → ids must equal the naive ones exactly
    for (Metric m : {Metric::Dot}) {
      Problem t = make(150, 400, 6, 25, m, 77, true);
      random_exclude(t, 30, 78);
      r = run(t, s, 2);
      compare_rows(t, r.ids.data(), r.scores.data(), 0, t.q_rows, true, name("quantised", t, s));
    }
  }
}

void test_zero_rows_nan_padding() {
  for (Simd s : simd_levels()) {
    Problem p = make(20, 40, 10, 40, Metric::Cosine, 21);
    for (int r : {0, 7, 19}) std::fill(p.queries.begin() + r * 10, p.queries.begin() + r * 10 + 10, 0.0f);
    for (int j : {0, 3, 39}) std::fill(p.keys.begin() + j * 10, p.keys.begin() + j * 10 + 10, 0.0f);
    Result r = run(p, s);
    compare_rows(p, r.ids.data(), r.scores.data(), 0, 20, false, name("zero rows", p, s));
    for (int j = 0; j < 40; j++) CHECK(r.scores[7 * 40 + j] == 0.0f && r.ids[7 * 40 + j] == j, "zero query row slot %d: (%d, %g)", j, r.ids[7 * 40 + j], r.scores[7 * 40 + j]);

    // NaN scores never kept: keys 2 and 17 contain NaN
    Problem n = make(5, 30, 4, 30, Metric::Dot, 41);
    n.keys[2 * 4 + 1] = std::numeric_limits<float>::quiet_NaN();
    n.keys[17 * 4] = std::numeric_limits<float>::quiet_NaN();
    r = run(n, s);
    compare_rows(n, r.ids.data(), r.scores.data(), 0, 5, false, name("nan", n, s));
    for (int q = 0; q < 5; q++) {
      for (int j = 0; j < 30; j++) CHECK(r.ids[q * 30 + j] != 2 && r.ids[q * 30 + j] != 17, "NaN key kept");
      CHECK(r.ids[q * 30 + 28] == -1 && r.scores[q * 30 + 29] == -kInf, "NaN row not padded");
    }

    // every key excluded but two → 3 padded slots
    Problem e = make(4, 10, 3, 5, Metric::Dot, 51);
    e.has_exclude = true;
    e.indptr = {0, 8, 8, 8, 8};
    e.indices = {7, 6, 5, 4, 3, 2, 1, 0};  // unsorted on purpose
    r = run(e, s);
    compare_rows(e, r.ids.data(), r.scores.data(), 0, 4, false, name("padded", e, s));
    for (int j = 2; j < 5; j++) CHECK(r.ids[j] == -1 && r.scores[j] == -kInf, "padding slot %d", j);
    CHECK((r.ids[0] == 8 || r.ids[0] == 9) && (r.ids[1] == 8 || r.ids[1] == 9), "row 0 keeps keys 8, 9");

    // -inf and +inf scores (overflowing products) are ordinary values
    Problem big = make(2, 6, 1, 6, Metric::Dot, 61);
    big.queries = {3e38f, -3e38f};
    big.keys = {3e38f, -3e38f, 1.0f, 0.0f, 2.0f, -1.0f};
    r = run(big, s);
    CHECK(r.ids[0] == 0 && r.scores[0] == kInf, "row 0 best is +inf from key 0: (%d, %g)", r.ids[0], r.scores[0]);
    CHECK(r.ids[5] == 1 && r.scores[5] == -kInf, "row 0 worst is -inf from key 1: (%d, %g)", r.ids[5], r.scores[5]);
  }
}

void test_row_ranges_and_threads() {
  for (Simd s : simd_levels()) {
    Problem p = make(300, 200, 20, 6, Metric::Dot, 31);
    p.keys = p.queries;
    p.k_rows = 300;
    p.exclude_self = true;
    for (int threads : {1, 2, 3, 8}) {
      Result r = run(p, s, threads, 110, 230);
      for (int64_t i = 0; i < 110 * 6; i++) CHECK(r.ids[i] == -7, "row before the range written");
      for (int64_t i = 230 * 6; i < 300 * 6; i++) CHECK(r.ids[i] == -7, "row after the range written");
      compare_rows(p, r.ids.data(), r.scores.data(), 110, 230, false, name("range", p, s));
    }
    // results do not depend on the thread count (each row is computed by one thread, same order)
    Result a = run(p, s, 1), b = run(p, s, 4);
    CHECK(a.ids == b.ids && a.scores == b.scores, "thread count changed the result");
    // empty range: nothing written
    Result e = run(p, s, 2, 50, 50);
    bool untouched = true;
    for (int32_t id : e.ids) untouched = untouched && id == -7;
    CHECK(untouched, "empty range wrote output");
  }
  // K = 0 → k_out = 0, nothing to write; Q = 0 is fine
  Problem z = make(3, 0, 4, 5, Metric::Dot, 91);
  Result r = run(z, Simd::Auto);
  CHECK(r.ids.empty(), "k_out must be 0");
  Problem q0 = make(0, 5, 4, 5, Metric::Dot, 92);
  r = run(q0, Simd::Auto);
  CHECK(r.ids.empty(), "no rows");
}

void test_validation() {
  Problem p = make(4, 6, 3, 2, Metric::Dot, 1);
  std::vector<int32_t> ids(8, -7);
  std::vector<float> scores(8, 7.0f);
  auto expect_invalid = [&](DenseScoreTopKParams prm, const char* what) {
    CHECK(!validate_dense_score_topk(prm).empty(), "validate accepted: %s", what);
    bool threw = false;
    try {
      dense_score_topk(prm);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    CHECK(threw, "no invalid_argument: %s", what);
  };
  DenseScoreTopKParams ok = p.params(ids.data(), scores.data(), 0, 4);
  CHECK(validate_dense_score_topk(ok).empty(), "valid call refused: %s", validate_dense_score_topk(ok).c_str());
  DenseScoreTopKParams b = ok; b.k = 0; expect_invalid(b, "k = 0");
  b = ok; b.row_end = 5; expect_invalid(b, "row_end > q_rows");
  b = ok; b.row_start = 3; b.row_end = 2; expect_invalid(b, "row_start > row_end");
  b = ok; b.row_start = -1; expect_invalid(b, "row_start < 0");
  b = ok; b.out_length = 7; expect_invalid(b, "short outputs");
  b = ok; b.dim = -1; expect_invalid(b, "negative dim");
  b = ok; b.k_rows = int64_t(1) << 31; expect_invalid(b, "k_rows beyond int32");
  b = ok; b.metric = static_cast<Metric>(5); expect_invalid(b, "bad metric");
  b = ok; b.queries = nullptr; expect_invalid(b, "null queries");
  std::vector<int32_t> ip = {0, 1, 1, 1, 1}, ix = {6};
  b = ok; b.exclude_indptr = ip.data(); b.exclude_indices = ix.data(); b.exclude_indices_length = 1;
  expect_invalid(b, "exclude index = k_rows");
  ix = {-1}; expect_invalid(b, "negative exclude index");
  std::vector<int32_t> ip2 = {0, 2, 1, 2, 2}, ix2 = {0, 1};
  b = ok; b.exclude_indptr = ip2.data(); b.exclude_indices = ix2.data(); b.exclude_indices_length = 2;
  expect_invalid(b, "decreasing indptr");
  std::vector<int32_t> ip3 = {0, 1, 2, 3, 4};
  b.exclude_indptr = ip3.data(); expect_invalid(b, "indptr beyond indices");
  b = ok; b.exclude_indices = ix2.data(); b.exclude_indices_length = 2; expect_invalid(b, "indices without indptr");
  bool untouched = true;
  for (size_t i = 0; i < ids.size(); i++) untouched = untouched && ids[i] == -7 && scores[i] == 7.0f;
  CHECK(untouched, "a refused call wrote output");
}

void test_concurrent_calls() {
  // several callers at once share the pool; each must get its own correct result
  std::vector<Problem> ps;
  for (int i = 0; i < 6; i++) {
    ps.push_back(make(120 + 17 * i, 500 + 31 * i, 24 + i, 5 + i, i % 2 ? Metric::Cosine : Metric::Dot, 100 + i));
    random_exclude(ps.back(), 8, 200 + i);
  }
  std::vector<Result> rs(ps.size());
  std::vector<std::thread> callers;
  for (size_t i = 0; i < ps.size(); i++)
    callers.emplace_back([&, i] { for (int rep = 0; rep < 3; rep++) rs[i] = run(ps[i], Simd::Auto, 1 + static_cast<int>(i % 3)); });
  for (auto& t : callers) t.join();
  for (size_t i = 0; i < ps.size(); i++)
    compare_rows(ps[i], rs[i].ids.data(), rs[i].scores.data(), 0, ps[i].q_rows, false, "concurrent " + std::to_string(i));
}

void test_thread_pool() {
  for (int threads : {1, 2, 5}) {
    std::vector<std::atomic<int>> hits(1000);
    std::atomic<int> bad_slot{0};
    parallel_for(1000, threads, [&](int64_t t, int slot) {
      hits[static_cast<size_t>(t)].fetch_add(1);
      if (slot < 0 || slot >= threads) bad_slot.fetch_add(1);
    });
    bool once = true;
    for (auto& h : hits) once = once && h.load() == 1;
    CHECK(once, "parallel_for(%d threads) ran a task other than once", threads);
    CHECK(bad_slot.load() == 0, "slot out of range");
  }
  bool threw = false;
  try {
    parallel_for(50, 3, [](int64_t t, int) { if (t == 17) throw std::runtime_error("task 17"); });
  } catch (const std::runtime_error& e) {
    threw = std::string(e.what()) == "task 17";
  }
  CHECK(threw, "parallel_for must rethrow a task's exception");
}

void test_cancellation() {
  // a flag set by task 5 (as another thread would): later tasks are skipped, the call throws Cancelled
  for (int threads : {1, 2}) {
    int32_t flag = 0;
    std::atomic<int64_t> ran{0};
    bool cancelled = false;
    {
      CancelScope scope(&flag);
      try {
        parallel_for(100000, threads, [&](int64_t t, int) {
          ran.fetch_add(1);
          if (t == 5) __atomic_store_n(&flag, 1, __ATOMIC_RELAXED);
        });
      } catch (const Cancelled&) {
        cancelled = true;
      }
    }
    CHECK(cancelled, "parallel_for(%d threads) under a set flag must throw Cancelled", threads);
    CHECK(ran.load() < 100000, "parallel_for(%d threads) ran all %lld tasks after the flag was set", threads, (long long)ran.load());
    CHECK(current_cancel_flag() == nullptr, "the scope must restore the previous flag");
  }
  // a kernel called under a set flag stops before writing its output
  Problem p = make(300, 400, 32, 10, Metric::Dot, 91);
  std::vector<int32_t> ids(static_cast<size_t>(p.q_rows * p.k_out()), -7);
  std::vector<float> scores(ids.size(), 7.0f);
  int32_t flag = 1;
  bool cancelled = false;
  try {
    CancelScope scope(&flag);
    DenseScoreTopKParams prm = p.params(ids.data(), scores.data(), 0, p.q_rows);
    prm.threads = 2;
    dense_score_topk(prm);
  } catch (const Cancelled&) {
    cancelled = true;
  }
  CHECK(cancelled, "dense_score_topk under a set flag must throw Cancelled");
  CHECK(std::all_of(ids.begin(), ids.end(), [](int32_t x) { return x == -7; }), "a cancelled dense_score_topk wrote output");
  // no scope, or a clear flag: unaffected
  flag = 0;
  {
    CancelScope scope(&flag);
    const Result r = run(p, Simd::Auto);
    compare_rows(p, r.ids.data(), r.scores.data(), 0, p.q_rows, false, "clear cancel flag");
  }
}

/** all_in_range (the epochs' index check) on 1–3 threads against a plain loop; copy_to_huge_pages copies exactly. */
void test_index_range_and_copies() {
  const int64_t n = (int64_t{1} << 20) + 4099;  // above the parallel threshold, not a multiple of the parts
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; k++) v[static_cast<size_t>(k)] = static_cast<int32_t>((k * 2654435761LL) % 27000);
  for (int threads : {1, 2, 3}) {
    CHECK(all_in_range(v.data(), n, 27000, threads), "all in range, %d threads", threads);
    CHECK(!all_in_range(v.data(), n, 26999, threads) || *std::max_element(v.begin(), v.end()) < 26999, "limit below the largest value, %d threads", threads);
    CHECK(all_in_range(v.data(), 0, 0, threads), "empty, %d threads", threads);
    for (int64_t at : {int64_t{0}, n / 2, n - 1}) {
      for (int32_t bad : {-1, 27000, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()}) {
        const int32_t keep = v[static_cast<size_t>(at)];
        v[static_cast<size_t>(at)] = bad;
        CHECK(!all_in_range(v.data(), n, 27000, threads), "%d at %lld found, %d threads", bad, static_cast<long long>(at), threads);
        v[static_cast<size_t>(at)] = keep;
      }
    }
  }
  for (size_t bytes : {size_t{0}, size_t{1000}, HugePageBuffer::kHugePageMin + 12345}) {
    std::vector<char> src(bytes);
    for (size_t k = 0; k < bytes; k++) src[k] = static_cast<char>(k * 31 + 7);
    for (int threads : {1, 2, 3}) {
      const HugePageBuffer copy = copy_to_huge_pages(src.data(), bytes, threads);
      CHECK(copy.size() == bytes && (bytes == 0 || std::memcmp(copy.data(), src.data(), bytes) == 0), "copy of %zu bytes on %d threads", bytes, threads);
    }
  }
}

}  // namespace

int main() {
  std::printf("detected simd: %s, hardware threads: %d\n", simd_name(detect_simd()), hardware_threads());
  test_random_shapes();
  test_exact_ties();
  test_zero_rows_nan_padding();
  test_row_ranges_and_threads();
  test_validation();
  test_concurrent_calls();
  test_thread_pool();
  test_cancellation();
  test_index_range_and_copies();
  return report("test_core");
}
