// ctest: native/core hogwild (parallel bprEpoch, sgdEpoch 'svd') against the sequential kernels: one
// thread repeats itself run to run and, for 'svd', follows the sequential pass within float32 rounding;
// several threads train as well as one (the same loss after some epochs within a few per cent); the update
// modes touch only their side; validation rejects what the sequential kernels reject. Needs no Node.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "affinity/hogwild.h"
#include "reference.h"

using namespace affinity;
using namespace affinity_test;

namespace {

/** Two clusters of users who like their cluster's items: BPR can learn them. */
struct BprProblem {
  int64_t users, items, factors;
  std::vector<int32_t> indptr, indices, entry_user;
  std::vector<float> x, y;
  uint32_t rng[4] = {1, 2, 3, 4};

  BprProblem(int64_t u, int64_t i, int64_t f, uint32_t seed) : users(u), items(i), factors(f) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> u01(0, 1);
    indptr.push_back(0);
    for (int64_t r = 0; r < users; r++) {
      for (int64_t c = 0; c < items; c++) {
        const bool same = (r % 2) == (c % 2);
        if (u01(g) < (same ? 0.3f : 0.03f)) {
          indices.push_back(static_cast<int32_t>(c));
          entry_user.push_back(static_cast<int32_t>(r));
        }
      }
      indptr.push_back(static_cast<int32_t>(indices.size()));
    }
    const int64_t D = f + 1;
    x.resize(static_cast<size_t>(users * D));
    y.resize(static_cast<size_t>(items * D));
    for (auto& v : x) v = (u01(g) - 0.5f) / static_cast<float>(f);
    for (auto& v : y) v = (u01(g) - 0.5f) / static_cast<float>(f);
    for (int64_t r = 0; r < users; r++) x[static_cast<size_t>(r * D + f)] = 1;
  }

  BprEpochParams params() {
    BprEpochParams p;
    p.users = users; p.items = items; p.factors = factors;
    p.indptr = indptr.data(); p.indices = indices.data(); p.indices_length = static_cast<int64_t>(indices.size());
    p.entry_user = entry_user.data(); p.entry_user_length = static_cast<int64_t>(entry_user.size());
    p.seen_indptr = indptr.data(); p.seen_indices = indices.data(); p.seen_indices_length = p.indices_length;
    p.x = x.data(); p.y = y.data();
    p.learning_rate = 0.05; p.regularization = 0.01; p.verify_negative = true;
    p.rng = rng;
    p.steps = static_cast<int64_t>(indices.size());
    return p;
  }
};

double bpr_loss_after(BprProblem pr, int epochs, int threads, Simd simd, bool parallel) {
  double last = 0;
  for (int e = 0; e < epochs; e++) {
    BprEpochParams p = pr.params();
    const BprEpochResult r = parallel ? bpr_epoch_hogwild(p, threads, simd) : bpr_epoch(p);
    last = r.loss_sum / (static_cast<double>(p.steps) - r.skipped);
  }
  return last;
}

void test_bpr() {
  const BprProblem base(300, 120, 16, 7);
  for (Simd simd : simd_levels()) {
    const double seq = bpr_loss_after(base, 15, 1, simd, false);
    const double one = bpr_loss_after(base, 15, 1, simd, true);
    const double two = bpr_loss_after(base, 15, 2, simd, true);
    const double four = bpr_loss_after(base, 15, 4, simd, true);
    const double start = bpr_loss_after(base, 1, 1, simd, false);
    CHECK(seq < 0.8 * start, "%s: sequential BPR learns (%g → %g)", simd_name(simd), start, seq);
    for (const double v : {one, two, four})
      CHECK(std::fabs(v - seq) <= 0.05 * seq, "%s: Hogwild loss after 15 epochs %g vs sequential %g", simd_name(simd), v, seq);
    CHECK(bpr_loss_after(base, 3, 1, simd, true) == bpr_loss_after(base, 3, 1, simd, true), "%s: one thread repeats itself", simd_name(simd));
  }
  // the update modes touch only their side; the caller's rng advances
  for (BprUpdate mode : {BprUpdate::Users, BprUpdate::Positive}) {
    BprProblem pr(50, 30, 8, 3);
    const std::vector<float> x0 = pr.x, y0 = pr.y;
    const uint32_t r0 = pr.rng[0];
    BprEpochParams p = pr.params();
    p.update = mode;
    bpr_epoch_hogwild(p, 2);
    CHECK(mode == BprUpdate::Users ? (pr.y == y0 && pr.x != x0) : (pr.x == x0 && pr.y != y0), "update mode %d touched the other side", static_cast<int>(mode));
    CHECK(pr.rng[0] != r0, "the rng state advances");
  }
  // validation as the sequential kernel's; nothing touched
  BprProblem pr(20, 10, 4, 5);
  std::vector<int32_t> bad = pr.indices;
  bad[3] = 99;
  BprEpochParams p = pr.params();
  p.indices = bad.data();
  const std::vector<float> x0 = pr.x;
  bool threw = false;
  try { bpr_epoch_hogwild(p, 2); } catch (const std::invalid_argument&) { threw = true; }
  CHECK(threw && pr.x == x0, "an item index out of range is rejected before any step");
}

struct SvdProblem {
  int64_t users = 400, items = 150, factors = 24;
  std::vector<int32_t> user, item, order;
  std::vector<float> rating, bu, bi, pu, qi;

  explicit SvdProblem(uint32_t seed) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> u01(0, 1);
    for (int64_t u = 0; u < users; u++)
      for (int64_t i = 0; i < items; i++)
        if (u01(g) < 0.2f) {
          user.push_back(static_cast<int32_t>(u));
          item.push_back(static_cast<int32_t>(i));
          rating.push_back(static_cast<float>(1 + ((u * 7 + i * 3) % 5)));
        }
    order.resize(user.size());
    for (size_t k = 0; k < order.size(); k++) order[k] = static_cast<int32_t>(k);
    std::shuffle(order.begin(), order.end(), g);
    bu.assign(static_cast<size_t>(users), 0);
    bi.assign(static_cast<size_t>(items), 0);
    pu.resize(static_cast<size_t>(users * factors));
    qi.resize(static_cast<size_t>(items * factors));
    std::normal_distribution<float> n01(0, 0.1f);
    for (auto& v : pu) v = n01(g);
    for (auto& v : qi) v = n01(g);
  }

  SgdEpochParams params() {
    SgdEpochParams p;
    p.algorithm = SgdAlgorithm::Svd;
    p.factors = factors;
    p.examples = static_cast<int64_t>(user.size());
    p.user = user.data(); p.item = item.data(); p.rating = rating.data();
    p.order = order.data(); p.order_length = static_cast<int64_t>(order.size());
    p.global_mean = 3; p.biased = true;
    p.lr = {0.005, 0.005, 0.005, 0.005, 0};
    p.reg = {0.02, 0.02, 0.02, 0.02, 0};
    p.users = users; p.items = items;
    p.bu = bu.data(); p.bi = bi.data(); p.pu = pu.data(); p.qi = qi.data();
    p.row_start = 0; p.row_end = static_cast<int64_t>(order.size());
    return p;
  }
};

/**
 * The Hogwild kernel draws popularity negatives from an alias table, the sequential one reads a
 * random position of the popularity array: the same distribution. With nothing learned (learning
 * rate 0) the share of steps skipped (the negative is among the user's items) depends on that
 * distribution only, and must agree within sampling error.
 */
void test_bpr_negative_distribution() {
  // every user has items 0..9 and every fifth of the rest; popular items are those 0..9, so the
  // skipped share is far from what a uniform (or otherwise wrong) negative draw would give
  BprProblem pr(300, 120, 4, 11);
  pr.indptr.assign(1, 0);
  pr.indices.clear();
  pr.entry_user.clear();
  for (int32_t u = 0; u < 300; u++) {
    for (int32_t c = 0; c < 120; c++)
      if (c < 10 || (u + c) % 5 == 0) {
        pr.indices.push_back(c);
        pr.entry_user.push_back(u);
      }
    pr.indptr.push_back(static_cast<int32_t>(pr.indices.size()));
  }
  std::vector<int32_t> pop;  // item c listed (c % 7 + 1)² times, 0..9 forty times more
  for (int32_t c = 0; c < 120; c++)
    for (int k = 0; k < (c % 7 + 1) * (c % 7 + 1) * (c < 10 ? 40 : 1); k++) pop.push_back(c);
  for (const bool explicit_pop : {false, true}) {
    BprEpochParams p = pr.params();
    p.learning_rate = 0;
    p.steps = 400000;
    if (explicit_pop) {
      p.popularity = pop.data();
      p.popularity_length = static_cast<int64_t>(pop.size());
    }
    const double n = static_cast<double>(p.steps);
    const double seq = bpr_epoch(p).skipped / n, two = bpr_epoch_hogwild(p, 2).skipped / n;
    const double se = std::sqrt(2 * seq * (1 - seq) / n);  // of the difference of two shares
    CHECK(std::fabs(two - seq) <= 5 * se, "%s: skipped share %g (Hogwild) vs %g (sequential), 5 s.e. = %g",
          explicit_pop ? "popularityItems" : "userItems popularity", two, seq, 5 * se);
  }
}

void test_svd() {
  for (Simd simd : simd_levels()) {
    SvdProblem a(11), b(11), c(11);
    double sa = 0, sb = 0, sc = 0;
    for (int e = 0; e < 10; e++) {
      sa = sgd_epoch(a.params());
      sb = sgd_epoch_hogwild(b.params(), 1, simd);
      sc = sgd_epoch_hogwild(c.params(), 2, simd);
    }
    // one thread: the sequential pass in float32 instead of float64
    double worst = 0;
    for (size_t k = 0; k < a.pu.size(); k++) worst = std::max(worst, static_cast<double>(std::fabs(a.pu[k] - b.pu[k])));
    CHECK(worst < 1e-4, "%s: one Hogwild thread follows the sequential pass (max |Δp| %g)", simd_name(simd), worst);
    CHECK(std::fabs(sb - sa) <= 1e-4 * sa, "%s: sse %g vs sequential %g", simd_name(simd), sb, sa);
    CHECK(std::fabs(sc - sa) <= 0.02 * sa, "%s: two threads' sse %g vs sequential %g", simd_name(simd), sc, sa);
  }
  SvdProblem s(3);
  SgdEpochParams p = s.params();
  p.algorithm = SgdAlgorithm::Svdpp;
  bool threw = false;
  try { sgd_epoch_hogwild(p, 2); } catch (const std::invalid_argument& e) { threw = std::strstr(e.what(), "only 'svd'") != nullptr; }
  CHECK(threw, "svdpp has no parallel form");
}

}  // namespace

/**
 * The steps' seen-row check (chunk keys, hogwild_seen_contains) against a plain search, at every
 * SIMD level: rows of every length around the chunk and key-window sizes (0, 1, 15–17, 255–257,
 * 4097 entries: more than 16 keys takes the halving), every alignment of the seen array (the
 * chunks are aligned to its 64-byte lines), and queries below, between, on and above the entries.
 */
void test_seen_check() {
  std::mt19937 g(5);
  const std::vector<int64_t> lengths = {0, 1, 2, 15, 16, 17, 31, 32, 33, 255, 256, 257, 300, 4097, 0, 5};
  const int32_t items = 20000;
  std::vector<int32_t> indptr{0}, rows;
  for (int64_t len : lengths) {
    std::vector<int32_t> all(static_cast<size_t>(items));
    for (int32_t c = 0; c < items; c++) all[static_cast<size_t>(c)] = c;
    std::shuffle(all.begin(), all.end(), g);
    std::vector<int32_t> row(all.begin() + 1, all.begin() + 1 + len);  // never item all[0]
    std::sort(row.begin(), row.end());
    rows.insert(rows.end(), row.begin(), row.end());
    indptr.push_back(static_cast<int32_t>(rows.size()));
  }
  const int64_t users = static_cast<int64_t>(lengths.size());
  std::vector<int64_t> qu;
  std::vector<int32_t> qc;
  for (int64_t u = 0; u < users; u++) {
    for (int32_t c : {0, 1, items - 2, items - 1}) {
      qu.push_back(u);
      qc.push_back(c);
    }
    for (int64_t k = indptr[static_cast<size_t>(u)]; k < indptr[static_cast<size_t>(u + 1)]; k++) {
      for (int32_t d : {-1, 0, 1}) {  // the entries and their neighbours
        qu.push_back(u);
        qc.push_back(std::clamp(rows[static_cast<size_t>(k)] + d, 0, items - 1));
      }
    }
    std::uniform_int_distribution<int32_t> any(0, items - 1);
    for (int k = 0; k < 200; k++) {
      qu.push_back(u);
      qc.push_back(any(g));
    }
  }
  const int64_t n = static_cast<int64_t>(qu.size());
  int64_t wrong = 0, present = 0;
  for (Simd simd : simd_levels()) {
    for (int offset = 0; offset < 16; offset++) {
      // the seen array at every position relative to a 64-byte line
      std::vector<int32_t> storage(rows.size() + 32);
      int32_t* aligned = reinterpret_cast<int32_t*>((reinterpret_cast<uintptr_t>(storage.data()) + 63) & ~static_cast<uintptr_t>(63));
      int32_t* seen = aligned + offset;
      std::copy(rows.begin(), rows.end(), seen);
      std::vector<uint8_t> out(static_cast<size_t>(n), 2);
      detail::hogwild_seen_contains(indptr.data(), seen, users, qu.data(), qc.data(), n, simd, out.data());
      for (int64_t q = 0; q < n; q++) {
        const int64_t u = qu[static_cast<size_t>(q)];
        const bool expect = std::binary_search(rows.begin() + indptr[static_cast<size_t>(u)], rows.begin() + indptr[static_cast<size_t>(u + 1)], qc[static_cast<size_t>(q)]);
        present += expect;
        if (out[static_cast<size_t>(q)] != (expect ? 1 : 0)) wrong++;
      }
    }
  }
  CHECK(wrong == 0, "seen check: %lld wrong answers of %lld", static_cast<long long>(wrong), static_cast<long long>(n * 16 * static_cast<int64_t>(simd_levels().size())));
  CHECK(present > 0 && present < n * 16 * static_cast<int64_t>(simd_levels().size()), "seen check: queries both in and not in the rows (%lld in)", static_cast<long long>(present));
}

int main() {
  test_bpr();
  test_bpr_negative_distribution();
  test_seen_check();
  test_svd();
  return report("test_hogwild");
}
