// CSR from triplets and CSR transpose (affinity/csr_build.h): counting sorts split over threads.
#include "affinity/csr_build.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "affinity/platform.h"
#include "thread_pool.h"


namespace affinity {
namespace {

constexpr int64_t kMaxEntries = 2147483647;  // int32 indptr
constexpr int kMaxCsrThreads = 16;           // each thread holds a histogram of rows + cols counters

[[noreturn]] void changed(const char* what) {
  throw std::runtime_error(std::string(what) + ": the index arrays changed during the call");
}

/** Contiguous shares of [0, n): share t is [n·t/T, n·(t+1)/T). */
inline int64_t share_start(int64_t n, int64_t t, int64_t T) { return n * t / T; }

/**
 * Turns per-thread counts (counts[t·B + b], T threads × B buckets) into per-thread start cursors in
 * place: bucket b's range starts at start[b]; inside it thread 0's entries come first, then thread
 * 1's... start has B + 1 entries (start[B] = total). `ends` gets, for every (t, b), where that
 * thread's range of the bucket ends (its cursor's value once the scatter is done).
 */
void prefix_cursors(uint32_t* counts, int64_t T, int64_t B, int64_t* start, std::vector<uint32_t>* ends) {
  uint32_t acc = 0;
  ends->resize(static_cast<size_t>(T * B));
  for (int64_t b = 0; b < B; b++) {
    start[b] = acc;
    for (int64_t t = 0; t < T; t++) {
      const uint32_t k = counts[t * B + b];
      counts[t * B + b] = acc;
      acc += k;
      (*ends)[static_cast<size_t>(t * B + b)] = acc;
    }
  }
  start[B] = acc;
}

bool cursors_reached(const uint32_t* cursors, const std::vector<uint32_t>& ends) {
  for (size_t k = 0; k < ends.size(); k++)
    if (cursors[k] != ends[k]) return false;
  return true;
}

/** One entry of a block being sorted: its output row within the block, its column, and its value. */
template <class V>
struct Entry {
  uint32_t row, col;
  V value;
};

/** The triplets of csr_from_triplets, thread t reading positions [n·t/T, n·(t+1)/T). */
template <class V>
struct TripletSource {
  const CsrFromTripletsParams& p;
  int64_t T;
  int64_t begin(int64_t t) const { return share_start(p.n, t, T); }
  /** f(position, row, col, value) → false to stop */
  template <class F>
  void each(int64_t t, F&& f) const {
    const int32_t* r = p.row;
    const int32_t* c = p.col;
    for (int64_t i = begin(t), end = begin(t + 1); i < end; i++) {
      V v;
      if constexpr (std::is_same<V, float>::value) v = p.value32[i];
      else v = p.value64[i];
      if (!f(i, static_cast<uint32_t>(r[i]), static_cast<uint32_t>(c[i]), v)) return;
    }
  }
};

/** The entries of csr_transpose's input as triplets (column, row, value), thread t reading whole rows [rowFrom[t], rowFrom[t + 1]). */
struct TransposeSource {
  const CsrTransposeParams& p;
  std::vector<int64_t> rowFrom;
  int64_t begin(int64_t t) const { return p.indptr[rowFrom[static_cast<size_t>(t)]]; }
  template <class F>
  void each(int64_t t, F&& f) const {
    for (int64_t r = rowFrom[static_cast<size_t>(t)], r1 = rowFrom[static_cast<size_t>(t + 1)]; r < r1; r++)
      for (int64_t k = p.indptr[r], end = p.indptr[r + 1]; k < end; k++)
        if (!f(k, static_cast<uint32_t>(p.indices[k]), static_cast<uint32_t>(r), p.data[k])) return;
  }
};

/**
 * Entries per row block on average: a block's entries, its column-sorted copy and its histograms
 * stay in a core's cache while step 3 sorts it.
 */
constexpr int64_t kBlockEntries = 65536;
/** At most 2^16 rows per block: an entry's row within its block travels between steps 2 and 3 as a uint16_t. */
constexpr int kMaxBlockShift = 16;

/**
 * The build shared by both: entries (row < R, col < C) from `src`, in input order, sorted stably by
 * (row, col) into indptr/indices/data, duplicates merged when `merge`; returns nnz, or −1 with
 * *bad_position set (the first entry in input order with an index out of range; nothing written).
 *
 * 1. Every thread counts the entries of its share per row block (2^shift rows, about kBlockEntries
 *    entries on average), checking their indices; prefix sums give each (block, thread) its range.
 *    Before merging, block b's entries occupy exactly [blockStart[b], blockStart[b + 1]) of the
 *    output, so that range is where they wait for step 3.
 * 2. Every thread scatters its share's entries into their blocks' ranges (stable; a few hundred
 *    write streams, not one per row or column as a plain counting sort has): the column into
 *    `indices`, the value into `data` (float64 values into a float64 side array instead: their
 *    sums are formed from the float64 values), the row within the block into a uint16 side array.
 *    No n-entry buffer of whole entries: the output has to be written (and its pages faulted in)
 *    anyway, so only the side arrays (2 bytes an entry for float32 values) are extra memory.
 * 3. Block by block (the blocks shared out dynamically): the block's range is read into the
 *    thread's own cache-sized buffer, sorted by column on the way (a counting sort, unless
 *    `cols_sorted`: they already are in column order within each row); then by row (a counting
 *    sort) back into the same range of the output, and duplicates merged.
 * 4. Merged duplicates leave gaps: the blocks move down (in order); indptr from the rows' counts.
 */
template <class V, class Source>
int64_t blocked_build(const Source& src, int64_t T, int64_t n, int64_t R, int64_t C, bool cols_sorted, bool merge,
                      int32_t* indptr, int32_t* indices, float* data, int64_t* bad_position, const char* what) {
  constexpr bool kFloat = std::is_same<V, float>::value;
  const uint32_t urows = static_cast<uint32_t>(R), ucols = static_cast<uint32_t>(C);
  int shift = 0;
  while (shift < kMaxBlockShift && (int64_t{2} << shift) * n <= R * kBlockEntries) shift++;
  const int64_t B = (R + (int64_t{1} << shift) - 1) >> shift;
  const uint32_t rowMask = (uint32_t{1} << shift) - 1;
  // 1. count per block, checking every index first
  std::vector<uint32_t> cursor(static_cast<size_t>(T * B), 0);
  std::vector<int64_t> firstBad(static_cast<size_t>(T), -1);
  parallel_for(T, static_cast<int>(T), [&](int64_t t, int) {
    uint32_t* count = cursor.data() + t * B;
    src.each(t, [&](int64_t i, uint32_t r, uint32_t c, V) {
      if (r >= urows || c >= ucols) {
        firstBad[static_cast<size_t>(t)] = i;
        return false;
      }
      count[r >> shift]++;
      return true;
    });
  });
  for (int64_t t = 0; t < T; t++) {
    if (firstBad[static_cast<size_t>(t)] >= 0) {
      *bad_position = firstBad[static_cast<size_t>(t)];
      return -1;
    }
  }
  std::vector<int64_t> blockStart(static_cast<size_t>(B + 1));
  std::vector<uint32_t> ends;
  prefix_cursors(cursor.data(), T, B, blockStart.data(), &ends);
  // 2. scatter into the blocks' ranges, checking again (the arrays are the caller's)
  std::unique_ptr<uint16_t[]> rowInBlockMemory(new uint16_t[static_cast<size_t>(n)]);
  uint16_t* const rowInBlock = rowInBlockMemory.get();
  // float64 values wait in a side array (float32 ones in `data`)
  std::unique_ptr<V[]> wideMemory(kFloat ? nullptr : new V[static_cast<size_t>(n)]);
  V* values;
  if constexpr (kFloat) values = data;
  else values = wideMemory.get();
  std::vector<char> ok(static_cast<size_t>(T), 1);
  parallel_for(T, static_cast<int>(T), [&](int64_t t, int) {
    uint32_t* cur = cursor.data() + t * B;
    src.each(t, [&](int64_t, uint32_t r, uint32_t c, V v) {
      if (r >= urows || c >= ucols || cur[r >> shift] >= static_cast<uint32_t>(n)) {
        ok[static_cast<size_t>(t)] = 0;
        return false;
      }
      const uint32_t q = cur[r >> shift]++;
      indices[q] = static_cast<int32_t>(c);
      values[q] = v;
      rowInBlock[q] = static_cast<uint16_t>(r & rowMask);
      return true;
    });
  });
  // (the output then holds partial content: the caller discards it with the error)
  if (std::find(ok.begin(), ok.end(), 0) != ok.end() || !cursors_reached(cursor.data(), ends)) changed(what);
  cursor = std::vector<uint32_t>();
  // 3. each block sorted in cache and written back to its range
  std::vector<int32_t> rowNnz(static_cast<size_t>(R));
  std::vector<int64_t> blockNnz(static_cast<size_t>(B));
  int64_t largest = 0;
  for (int64_t b = 0; b < B; b++) largest = std::max(largest, blockStart[static_cast<size_t>(b + 1)] - blockStart[static_cast<size_t>(b)]);
  const int64_t rowsPerBlock = int64_t{1} << shift;
  const int workers = static_cast<int>(std::min<int64_t>(T, B));
  // each participant's buffers (parallel_for's slot), grown to the largest block it meets
  struct Buffers {
    std::vector<Entry<V>> byCol, byRow;
    std::vector<uint32_t> colCount, rowCount;
  };
  std::vector<Buffers> buffers(static_cast<size_t>(workers));
  auto fit = [&](std::vector<Entry<V>>& v, int64_t m) {
    if (static_cast<int64_t>(v.size()) < m) v.resize(static_cast<size_t>(std::min(largest, std::max<int64_t>(m, 2 * static_cast<int64_t>(v.size())))));
  };
  parallel_for(B, workers, [&](int64_t b, int slot) {
    Buffers& buf = buffers[static_cast<size_t>(slot)];
    const int64_t s = blockStart[static_cast<size_t>(b)], m = blockStart[static_cast<size_t>(b + 1)] - s;
    const int64_t r0 = b << shift, rows = std::min<int64_t>(rowsPerBlock, R - r0);
    if (m == 0) {
      std::fill(rowNnz.begin() + r0, rowNnz.begin() + r0 + rows, 0);
      blockNnz[static_cast<size_t>(b)] = 0;
      return;
    }
    // the block's entries (row within the block, column, value) from its range, into byCol in
    // column order (stable), and the rows' counts: the range is free to be overwritten after this
    const int32_t* inCol = indices + s;
    const V* inVal = values + s;
    const uint16_t* inRow = rowInBlock + s;
    fit(buf.byCol, m);
    Entry<V>* byCol = buf.byCol.data();
    std::vector<uint32_t>& rowCount = buf.rowCount;
    rowCount.assign(static_cast<size_t>(rows + 1), 0);
    if (!cols_sorted && C <= 4 * m) {
      // a stable counting sort by column
      std::vector<uint32_t>& count = buf.colCount;
      count.assign(static_cast<size_t>(C + 1), 0);
      for (int64_t k = 0; k < m; k++) {
        count[static_cast<uint32_t>(inCol[k]) + 1]++;
        rowCount[inRow[k] + 1u]++;
      }
      for (int64_t c = 0; c < C; c++) count[static_cast<size_t>(c + 1)] += count[static_cast<size_t>(c)];
      for (int64_t k = 0; k < m; k++) byCol[count[static_cast<uint32_t>(inCol[k])]++] = Entry<V>{inRow[k], static_cast<uint32_t>(inCol[k]), inVal[k]};
    } else {
      for (int64_t k = 0; k < m; k++) {
        byCol[k] = Entry<V>{inRow[k], static_cast<uint32_t>(inCol[k]), inVal[k]};
        rowCount[inRow[k] + 1u]++;
      }
      // far more columns than entries (zeroing a histogram of them would cost more than sorting)
      if (!cols_sorted) std::stable_sort(byCol, byCol + m, [](const Entry<V>& x, const Entry<V>& y) { return x.col < y.col; });
    }
    for (int64_t r = 0; r < rows; r++) rowCount[static_cast<size_t>(r + 1)] += rowCount[static_cast<size_t>(r)];
    // by row, back into the block's range of the output
    int32_t* outCol = indices + s;
    float* outVal = data + s;
    if (kFloat || !merge) {
      for (int64_t k = 0; k < m; k++) {
        const uint32_t q = rowCount[byCol[k].row]++;
        outCol[q] = static_cast<int32_t>(byCol[k].col);
        outVal[q] = static_cast<float>(byCol[k].value);
      }
      // now rowCount[r] is row r's end
      if (!merge) {
        for (int64_t r = 0; r < rows; r++) rowNnz[static_cast<size_t>(r0 + r)] = static_cast<int32_t>(rowCount[static_cast<size_t>(r)] - (r == 0 ? 0 : rowCount[static_cast<size_t>(r - 1)]));
        blockNnz[static_cast<size_t>(b)] = m;
        return;
      }
      // float32 values: what was written is the input's values, so duplicates (adjacent, in input
      // order) are merged in place (writes at w ≤ k, behind the reads):
      // sum = float(double(sum) + v), JavaScript's `Float32Array[i] += v`
      int64_t w = 0, k = 0;
      for (int64_t r = 0; r < rows; r++) {
        const int64_t first = w, end = rowCount[static_cast<size_t>(r)];
        for (; k < end; k++) {
          const int32_t c = outCol[k];
          if (w > first && outCol[w - 1] == c) outVal[w - 1] = static_cast<float>(static_cast<double>(outVal[w - 1]) + static_cast<double>(outVal[k]));
          else {
            outCol[w] = c;
            outVal[w] = outVal[k];
            w++;
          }
        }
        rowNnz[static_cast<size_t>(r0 + r)] = static_cast<int32_t>(w - first);
      }
      blockNnz[static_cast<size_t>(b)] = w;
      return;
    }
    // float64 values, merging: the row-sorted entries go through a buffer (byRow) and are merged
    // into the output, summing the float64 values
    fit(buf.byRow, m);
    Entry<V>* byRow = buf.byRow.data();
    std::vector<uint32_t>& starts = rowCount;
    for (int64_t k = 0; k < m; k++) byRow[starts[byCol[k].row]++] = byCol[k];
    // now starts[r] is row r's end; merge duplicates (adjacent, in input order) in float32:
    // sum = float(double(sum) + v), JavaScript's `Float32Array[i] += v`
    int64_t w = 0, k = 0;
    for (int64_t r = 0; r < rows; r++) {
      const int64_t first = w, end = starts[static_cast<size_t>(r)];
      for (; k < end; k++) {
        const Entry<V>& x = byRow[k];
        if (w > first && outCol[w - 1] == static_cast<int32_t>(x.col)) outVal[w - 1] = static_cast<float>(static_cast<double>(outVal[w - 1]) + static_cast<double>(x.value));
        else {
          outCol[w] = static_cast<int32_t>(x.col);
          outVal[w] = static_cast<float>(x.value);
          w++;
        }
      }
      rowNnz[static_cast<size_t>(r0 + r)] = static_cast<int32_t>(w - first);
    }
    blockNnz[static_cast<size_t>(b)] = w;
  });
  // 4. close the gaps merging left (blocks in order: each moves down, never past its predecessor's new end)
  int64_t w = 0;
  for (int64_t b = 0; b < B; b++) {
    const int64_t s = blockStart[static_cast<size_t>(b)], m = blockNnz[static_cast<size_t>(b)];
    if (w != s && m > 0) {
      std::memmove(indices + w, indices + s, static_cast<size_t>(m) * sizeof(int32_t));
      std::memmove(data + w, data + s, static_cast<size_t>(m) * sizeof(float));
    }
    w += m;
  }
  int64_t acc = 0;
  for (int64_t r = 0; r < R; r++) {
    indptr[r] = static_cast<int32_t>(acc);
    acc += rowNnz[static_cast<size_t>(r)];
  }
  indptr[R] = static_cast<int32_t>(acc);
  return w;
}

template <class V>
int64_t build(const CsrFromTripletsParams& p, int threads, BadTriplet* bad) {
  const int64_t T = std::max<int64_t>(1, std::min<int64_t>({static_cast<int64_t>(threads), kMaxCsrThreads, p.n}));
  int64_t pos = -1;
  const int64_t nnz = blocked_build<V>(TripletSource<V>{p, T}, T, p.n, p.rows, p.cols, false, true, p.indptr, p.indices, p.data, &pos, "csrFromTriplets");
  if (nnz < 0) {
    const bool rowOk = p.row[pos] >= 0 && p.row[pos] < p.rows;
    bad->position = pos;
    bad->column = rowOk;
    bad->value = rowOk ? p.col[pos] : p.row[pos];
  }
  return nnz;
}

}  // namespace

std::string validate_csr_from_triplets(const CsrFromTripletsParams& p) {
  if (p.rows < 0 || p.rows > kMaxEntries || p.cols < 0 || p.cols > kMaxEntries) return "rows and cols must be in [0, 2^31 - 1]";
  if (p.n < 0 || p.n > kMaxEntries) return "the triplet count must be in [0, 2^31 - 1]";
  if ((p.value32 == nullptr) == (p.value64 == nullptr) && p.n > 0) return "exactly one of value32 / value64 must be given";
  if (p.n > 0 && (!p.row || !p.col || !p.indices || !p.data)) return "missing triplet or output arrays";
  if (!p.indptr) return "missing indptr";
  return "";
}

int64_t csr_from_triplets(const CsrFromTripletsParams& p, int threads, BadTriplet* bad) {
  const std::string problem = validate_csr_from_triplets(p);
  if (!problem.empty()) throw std::invalid_argument("csrFromTriplets: " + problem);
  if (p.n == 0) {
    std::fill(p.indptr, p.indptr + p.rows + 1, 0);
    return 0;
  }
  return p.value32 ? build<float>(p, threads, bad) : build<double>(p, threads, bad);
}

std::string validate_csr_transpose(const CsrTransposeParams& p) {
  if (p.rows < 0 || p.rows > kMaxEntries || p.cols < 0 || p.cols > kMaxEntries) return "rows and cols must be in [0, 2^31 - 1]";
  if (!p.indptr || !p.out_indptr) return "missing indptr";
  if (p.indptr[0] != 0) return "indptr[0] is " + std::to_string(p.indptr[0]) + ", expected 0";
  for (int64_t r = 0; r < p.rows; r++)
    if (p.indptr[r + 1] < p.indptr[r]) return "indptr decreases at row " + std::to_string(r);
  const int64_t nnz = p.indptr[p.rows];
  if (p.indices_length < nnz || p.data_length < nnz) return "indices/data shorter than nnz " + std::to_string(nnz);
  if (p.out_length < nnz) return "the output arrays are shorter than nnz " + std::to_string(nnz);
  if (nnz > 0 && (!p.indices || !p.data || !p.out_indices || !p.out_data)) return "missing indices or data";
  return "";
}

bool csr_transpose(const CsrTransposeParams& p, int threads, int64_t* bad_position) {
  const std::string problem = validate_csr_transpose(p);
  if (!problem.empty()) throw std::invalid_argument("transpose: " + problem);
  const int64_t R = p.rows, nnz = p.indptr[R];
  const int64_t T = std::max<int64_t>(1, std::min<int64_t>({static_cast<int64_t>(threads), kMaxCsrThreads, std::max<int64_t>(1, nnz)}));
  // thread t reads whole rows, from the first whose entries start at or after nnz·t/T
  TransposeSource src{p, std::vector<int64_t>(static_cast<size_t>(T + 1))};
  for (int64_t t = 0; t <= T; t++)
    src.rowFrom[static_cast<size_t>(t)] = t == T ? R : std::lower_bound(p.indptr, p.indptr + R, static_cast<int32_t>(share_start(nnz, t, T))) - p.indptr;
  if (nnz == 0) {
    std::fill(p.out_indptr, p.out_indptr + p.cols + 1, 0);
    return true;
  }
  // output rows are the input's columns; the entries come in input-row order, which is output-column order
  return blocked_build<float>(src, T, nnz, p.cols, R, true, false, p.out_indptr, p.out_indices, p.out_data, bad_position, "transpose") >= 0;
}

}  // namespace affinity
