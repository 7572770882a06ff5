// Hogwild bprEpoch and sgdEpoch 'svd' (affinity/hogwild.h): threads of the core's pool, each running the
// step loops of hogwild_steps.inc, compiled three times (portable, AVX2+FMA, AVX-512F) as als_half_step.cpp
// does; the wide copies run only after detect_simd() has seen the CPU support them.
#include "affinity/hogwild.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <utility>
#include <stdexcept>
#include <string>
#include <vector>

#include "affinity/huge_pages.h"
#include "bpr_sampling.h"
#include "isa_variant.h"
#include "thread_pool.h"

#if AFFINITY_X86
#include <immintrin.h>
#endif

namespace affinity {
namespace detail {
namespace hogwild {

/**
 * The seen rows (the negatives' check, verifyNegative) cut into chunks of 16 entries aligned to
 * 64-byte lines of the seen array, with each row's chunk keys: the row's first entry in every chunk
 * it touches. A negative j is in row u only if it is in the chunk of u's last key ≤ j, so the check
 * reads the row's keys (nnz/16 + users of them in all: a few MB, mostly in cache) and one line of
 * the row, where a binary search over the row reads ≈ log2(row length) entries on as many lines.
 */
struct SeenChunks {
  const int32_t* indptr = nullptr;     // seen_indptr
  const int32_t* key_start = nullptr;  // users + 1: row u's keys are keys[key_start[u], key_start[u + 1])
  const int32_t* keys = nullptr;
  int64_t phase = 0;  // chunk k is seen positions [16k − phase, 16k − phase + 16): line-aligned
  /** The chunk that holds seen position q. */
  int64_t chunk_of(int64_t q) const { return (q + phase) >> 4; }
};

using BprStepsFn = void (*)(const BprEpochParams&, const SeenChunks&, uint32_t*, int64_t, double*, double*, double*);

/**
 * The item side of the SVD epoch as the threads work on it: row i is qi's row and then bi[i], padded
 * to a whole number of 64-byte lines (stride a multiple of 16 floats, rows line-aligned). Under a
 * Zipf skew a few items take a large share of the steps (the top one about 9 % at Zipf 1 over
 * 27k items), so with bi a separate array the hottest items' biases share a line, and two threads
 * updating different hot items fight over it (false sharing), as they do over the line two
 * unaligned neighbouring rows share. With the bias in its own row, a step's item writes go to its
 * item's own lines only; what two threads still share is a row they both update (Hogwild's
 * true sharing).
 */
struct ItemRows {
  float* rows;
  int64_t stride;  // floats
};

using SvdStepsFn = double (*)(const SgdEpochParams&, ItemRows, int64_t, int64_t);

#define AFFINITY_ISA_SOURCE "hogwild_steps.inc"
#include "isa_copies.inc"
#undef AFFINITY_ISA_SOURCE

/** Builds and owns a SeenChunks of a seen CSR (the keys split over `threads`). */
class SeenIndex {
 public:
  SeenIndex() = default;
  SeenIndex(const int32_t* indptr, const int32_t* indices, int64_t users, int threads) {
    sc_.indptr = indptr;
    sc_.phase = static_cast<int64_t>((reinterpret_cast<uintptr_t>(indices) / sizeof(int32_t)) & 15);
    key_start_.resize(static_cast<size_t>(users + 1));
    int64_t total = 0;
    for (int64_t u = 0; u < users; u++) {
      key_start_[static_cast<size_t>(u)] = static_cast<int32_t>(total);
      const int64_t a = indptr[u], b = indptr[u + 1];
      if (b > a) total += sc_.chunk_of(b - 1) - sc_.chunk_of(a) + 1;
    }
    key_start_[static_cast<size_t>(users)] = static_cast<int32_t>(total);
    keys_ = HugePageBuffer(static_cast<size_t>(total + 16) * sizeof(int32_t));  // + 16: the steps fetch a row's first 16 keys
    int32_t* k = keys_.as<int32_t>();
    std::fill(k + total, k + total + 16, 0);
    parallel_for(threads, threads, [&](int64_t part, int) {
      for (int64_t u = users * part / threads, end = users * (part + 1) / threads; u < end; u++) {
        const int64_t a = indptr[u], b = indptr[u + 1];
        if (b == a) continue;
        int32_t* out = k + key_start_[static_cast<size_t>(u)];
        *out++ = indices[a];
        for (int64_t c = sc_.chunk_of(a) + 1, last = sc_.chunk_of(b - 1); c <= last; c++) *out++ = indices[(c << 4) - sc_.phase];
      }
    });
    sc_.key_start = key_start_.data();
    sc_.keys = k;
  }
  SeenChunks chunks() const { return sc_; }

 private:
  SeenChunks sc_;
  std::vector<int32_t> key_start_;
  HugePageBuffer keys_;
};

Simd resolve(Simd s) {
  if (s == Simd::Auto || !simd_supported(s)) return detect_simd();
  return s;
}

BprStepsFn bpr_for(Simd s) { return AFFINITY_ISA_VARIANT(s, bpr_steps); }

SvdStepsFn svd_for(Simd s) { return AFFINITY_ISA_VARIANT(s, svd_steps); }

using SeenContainsFn = void (*)(const SeenChunks&, const int32_t*, const int64_t*, const int32_t*, int64_t, uint8_t*);
SeenContainsFn seen_contains_for(Simd s) { return AFFINITY_ISA_VARIANT(s, seen_contains); }

/** splitmix64 (Steele, Lea & Flood 2014): seeds the threads' streams. */
inline uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/**
 * A factor table the threads update at random rows: for the epoch, a copy on huge pages
 * (affinity/huge_pages.h), copied back when the epoch ends (also when it throws); a table under
 * HugePageBuffer::kHugePageMin bytes is used in place (its pages fit the TLB anyway). The caller's
 * table is the kernel's output, which nothing else reads while the call runs. The copies in and
 * out are made by the epoch's threads, a slice each (load / store): copying (and first touching,
 * which zeroes the fresh pages) 66 MB of SVD factors serially was a tenth of a second of serial
 * time around a parallel epoch.
 */
class WorkingTable {
 public:
  /** `written`: whether the epoch updates the table (else it is not copied back). */
  WorkingTable(float* table, int64_t count, bool written)
      : caller_(table), bytes_(static_cast<size_t>(count) * sizeof(float)), written_(written), table_(table) {
    if (!table || bytes_ < HugePageBuffer::kHugePageMin) return;
    copy_ = HugePageBuffer(bytes_);
    table_ = copy_.as<float>();
  }
  ~WorkingTable() {
    if (loaded_ && !stored_ && written_) std::memcpy(caller_, table_, bytes_);  // the epoch threw
  }
  WorkingTable(const WorkingTable&) = delete;
  WorkingTable& operator=(const WorkingTable&) = delete;
  float* get() const { return table_; }
  /** Copies slice k of n of the caller's table in (every slice must be loaded before the steps). */
  void load(int64_t k, int64_t n) {
    if (table_ == caller_) return;
    const auto [a, b] = slice(k, n);
    std::memcpy(reinterpret_cast<char*>(table_) + a, reinterpret_cast<const char*>(caller_) + a, b - a);
  }
  /** Copies slice k of n back (after the steps). */
  void store(int64_t k, int64_t n) {
    if (table_ == caller_ || !written_) return;
    const auto [a, b] = slice(k, n);
    std::memcpy(reinterpret_cast<char*>(caller_) + a, reinterpret_cast<const char*>(table_) + a, b - a);
  }
  /** Loads the tables over n threads. */
  static void load_all(std::initializer_list<WorkingTable*> tables, int n) {
    parallel_for(n, n, [&](int64_t k, int) {
      for (WorkingTable* t : tables) t->load(k, n);
    });
    for (WorkingTable* t : tables) t->loaded_ = true;
  }
  /** Stores the tables back over n threads. */
  static void store_all(std::initializer_list<WorkingTable*> tables, int n) {
    parallel_for(n, n, [&](int64_t k, int) {
      for (WorkingTable* t : tables) t->store(k, n);
    });
    for (WorkingTable* t : tables) t->stored_ = true;
  }

 private:
  /** Byte range of slice k of n, cut at 2 MB pages. */
  std::pair<size_t, size_t> slice(int64_t k, int64_t n) const {
    const size_t pages = (bytes_ + HugePageBuffer::kHugePage - 1) / HugePageBuffer::kHugePage;
    const size_t a = std::min(bytes_, pages * static_cast<size_t>(k) / static_cast<size_t>(n) * HugePageBuffer::kHugePage);
    const size_t b = std::min(bytes_, pages * static_cast<size_t>(k + 1) / static_cast<size_t>(n) * HugePageBuffer::kHugePage);
    return {a, b};
  }
  float* caller_;
  size_t bytes_;
  bool written_;
  float* table_;
  HugePageBuffer copy_;
  bool loaded_ = false, stored_ = false;
};

}  // namespace hogwild
}  // namespace detail

BprEpochResult bpr_epoch_hogwild(const BprEpochParams& p, int threads, Simd simd) {
  const std::string problem = validate_bpr_epoch(p, threads);
  if (!problem.empty()) throw std::invalid_argument("bprEpoch: " + problem);
  return bpr_epoch_hogwild_validated(p, threads, simd);
}

BprEpochResult bpr_epoch_hogwild_validated(const BprEpochParams& p, int threads, Simd simd) {
  namespace hw = detail::hogwild;
  const int n = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({static_cast<int64_t>(threads), static_cast<int64_t>(kMaxThreads), std::max<int64_t>(1, p.steps)})));
  // the threads' streams: splitmix64 of the caller's state and the thread's number
  std::vector<uint32_t> states(static_cast<size_t>(4 * n));
  const uint64_t base = (static_cast<uint64_t>(p.rng[0]) | static_cast<uint64_t>(p.rng[1]) << 32) ^
                        ((static_cast<uint64_t>(p.rng[2]) | static_cast<uint64_t>(p.rng[3]) << 32) * 0x9e3779b97f4a7c15ULL);
  for (int k = 0; k < n; k++) {
    uint64_t x = base + static_cast<uint64_t>(k) * 0xd1b54a32d192ed03ULL;
    const uint64_t a = hw::splitmix64(x), b = hw::splitmix64(x);
    uint32_t* s = &states[static_cast<size_t>(4 * k)];
    s[0] = static_cast<uint32_t>(a);
    s[1] = static_cast<uint32_t>(a >> 32);
    s[2] = static_cast<uint32_t>(b);
    s[3] = static_cast<uint32_t>(b >> 32);
    if ((s[0] | s[1] | s[2] | s[3]) == 0) s[0] = 1;
  }
  for (int k = 0; k < 4; k++) detail::next(p.rng);  // the next call seeds other streams
  const hw::BprStepsFn steps = hw::bpr_for(hw::resolve(simd));
  std::vector<double> sums(static_cast<size_t>(3 * n), 0.0);
  hw::SeenIndex seen_index;
  if (p.verify_negative) seen_index = hw::SeenIndex(p.seen_indptr, p.seen_indices, p.users, n);
  const hw::SeenChunks sc = seen_index.chunks();
  {
    hw::WorkingTable x(p.x, p.users * (p.factors + 1), p.update != BprUpdate::Positive);
    hw::WorkingTable y(p.y, p.items * (p.factors + 1), p.update != BprUpdate::Users);
    hw::WorkingTable::load_all({&x, &y}, n);
    BprEpochParams q = p;
    q.x = x.get();
    q.y = y.get();
    parallel_for(n, n, [&](int64_t k, int) {
      const int64_t share = q.steps / n + (k < q.steps % n ? 1 : 0);
      double* r = &sums[static_cast<size_t>(3 * k)];
      steps(q, sc, &states[static_cast<size_t>(4 * k)], share, r, r + 1, r + 2);
    });
    hw::WorkingTable::store_all({&x, &y}, n);
  }
  BprEpochResult out;
  for (int k = 0; k < n; k++) {
    out.correct += sums[static_cast<size_t>(3 * k)];
    out.skipped += sums[static_cast<size_t>(3 * k + 1)];
    out.loss_sum += sums[static_cast<size_t>(3 * k + 2)];
  }
  return out;
}

double sgd_epoch_hogwild(const SgdEpochParams& p, int threads, Simd simd) {
  if (p.algorithm != SgdAlgorithm::Svd) throw std::invalid_argument("sgdEpoch: only 'svd' has a parallel (Hogwild) form");
  const std::string problem = validate_sgd_epoch(p, threads);
  if (!problem.empty()) throw std::invalid_argument("sgdEpoch: " + problem);
  return sgd_epoch_hogwild_validated(p, threads, simd);
}

double sgd_epoch_hogwild_validated(const SgdEpochParams& p, int threads, Simd simd) {
  namespace hw = detail::hogwild;
  if (p.algorithm != SgdAlgorithm::Svd) throw std::invalid_argument("sgdEpoch: only 'svd' has a parallel (Hogwild) form");
  const int64_t len = p.row_end - p.row_start;
  const int n = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({static_cast<int64_t>(threads), static_cast<int64_t>(kMaxThreads), std::max<int64_t>(1, len)})));
  const hw::SvdStepsFn steps = hw::svd_for(hw::resolve(simd));
  std::vector<double> sse;
  const int64_t F = p.factors, stride = (F + 1 + 15) / 16 * 16;
  // the item rows (hw::ItemRows), line-aligned: on huge pages when large
  HugePageBuffer rows_buffer(static_cast<size_t>(p.items * stride) * sizeof(float) + 64);
  const hw::ItemRows items{reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(rows_buffer.data()) + 63) & ~static_cast<uintptr_t>(63)), stride};
  const auto item_slice = [&](int64_t k) { return std::pair<int64_t, int64_t>{p.items * k / n, p.items * (k + 1) / n}; };
  {
    hw::WorkingTable pu(p.pu, p.users * F, true);
    hw::WorkingTable::load_all({&pu}, n);
    parallel_for(n, n, [&](int64_t k, int) {
      const auto [a, b] = item_slice(k);
      for (int64_t i = a; i < b; i++) {
        float* row = items.rows + i * stride;
        std::memcpy(row, p.qi + i * F, static_cast<size_t>(F) * sizeof(float));
        row[F] = p.bi[i];
        for (int64_t c = F + 1; c < stride; c++) row[c] = 0;
      }
    });
    SgdEpochParams q = p;
    q.pu = pu.get();
    // several parts per thread, handed out as threads come free: a thread slowed by anything else
    // on the machine then takes fewer of them instead of keeping the other waiting at the end
    // (one part with one thread: the same single pass, and the same Σ e², as before)
    const int64_t parts = n == 1 ? 1 : std::min<int64_t>(8 * n, len);
    sse.assign(static_cast<size_t>(parts), 0.0);
    parallel_for(parts, n, [&](int64_t k, int) {
      const int64_t t0 = q.row_start + len * k / parts, t1 = q.row_start + len * (k + 1) / parts;
      sse[static_cast<size_t>(k)] = steps(q, items, t0, t1);
    });
    hw::WorkingTable::store_all({&pu}, n);
  }
  // the item side back (it is written only with update 'all'; a throw above leaves qi and bi as they were)
  if (p.update_items) {
    parallel_for(n, n, [&](int64_t k, int) {
      const auto [a, b] = item_slice(k);
      for (int64_t i = a; i < b; i++) {
        const float* row = items.rows + i * stride;
        std::memcpy(p.qi + i * F, row, static_cast<size_t>(F) * sizeof(float));
        p.bi[i] = row[F];
      }
    });
  }
  double total = 0;
  for (double s : sse) total += s;
  return total;
}

namespace detail {

void hogwild_seen_contains(const int32_t* indptr, const int32_t* indices, int64_t users, const int64_t* u, const int32_t* col, int64_t n, Simd simd, uint8_t* out) {
  const hogwild::SeenIndex index(indptr, indices, users, 1);
  hogwild::seen_contains_for(hogwild::resolve(simd))(index.chunks(), indices, u, col, n, out);
}

}  // namespace detail
}  // namespace affinity
