// sparse_similarity_topk on a CUDA GPU (metrics dot, cosine, jaccard).
//
// Per call, on the host: X' as float32 (the caller's prepared values), its transpose (CSC,
// counting sort), the float64 row norms (cosine: the caller's, or computed from X'); all of it →
// device once, through pinned memory. Then blocks of R rows a ∈ [r0, r0 + R):
//   1. acc (R × rows float32) and, where the metric or options need the support n, cnt
//      (R × rows uint32) are zeroed
//   2. accumulate: one thread block per row a; every stored entry (a, c, x) walks the transpose's
//      column c (the rows b storing c) and adds x·y into acc[a, b] (and 1 into cnt[a, b]) with
//      atomics — a warp per entry for columns with fewer than kWideColumn entries, the whole block
//      per entry for wider ones (popular columns)
//   3. score in place: acc[a, b] ← the similarity as the reference computes it (minSupport,
//      metric, shrinkage, minSimilarity), or NaN when the pair is no candidate: b = a under
//      excludeSelf, no co-rater, filtered, or a score of exactly 0 (the reference keeps only
//      non-zero scores)
//   4. select_topk (cuda_common.cuh): the k_out best of every row, ties by lower id, padded
//      with -1 / -inf — the same selection as dense_score_topk
//   5. ids/scores → host (pinned) → the caller's arrays at row·k_out
// Without minSupport > 1, shrinkage or jaccard the support is not needed: a pair without
// co-raters has acc = 0 and a score of 0, which is not kept, exactly as a pair never touched.
#include "affinity/cuda_kernels.h"
#include "cuda_common.cuh"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace affinity {
namespace cuda {
namespace {

constexpr int kAccumulateThreads = 256;
constexpr int kWideColumn = 256;  // columns with at least this many entries are walked by the whole block

enum : int { kDot = 0, kCosine = 1, kJaccard = 2 };

/** acc[i, b] += Σ x·y over the co-rated columns of row a = row0 + i (cnt[i, b] += 1 per pair). */
__global__ void __launch_bounds__(kAccumulateThreads)
    accumulate_rows(const int32_t* __restrict__ indptr, const int32_t* __restrict__ indices, const float* __restrict__ vals,
                    const int32_t* __restrict__ tindptr, const int32_t* __restrict__ tindices, const float* __restrict__ tvals,
                    long long row0, long long rows, float* acc, unsigned int* cnt, bool sums) {
  const long long a = row0 + blockIdx.x;
  float* acc_row = acc + static_cast<size_t>(blockIdx.x) * static_cast<size_t>(rows);
  unsigned int* cnt_row = cnt ? cnt + static_cast<size_t>(blockIdx.x) * static_cast<size_t>(rows) : nullptr;
  const int start = indptr[a], end = indptr[a + 1];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  // narrow columns: one warp per stored entry of row a
  for (int q = start + warp; q < end; q += warps) {
    const int c = indices[q];
    const int t0 = tindptr[c], t1 = tindptr[c + 1];
    if (t1 - t0 >= kWideColumn) continue;
    const float x = vals[q];
    for (int t = t0 + lane; t < t1; t += 32) {
      const int b = tindices[t];
      if (sums) atomicAdd(acc_row + b, x * tvals[t]);
      if (cnt_row) atomicAdd(cnt_row + b, 1u);
    }
  }
  // wide columns: the whole block per entry
  for (int q = start; q < end; q++) {
    const int c = indices[q];
    const int t0 = tindptr[c], t1 = tindptr[c + 1];
    if (t1 - t0 < kWideColumn) continue;
    const float x = vals[q];
    for (int t = t0 + static_cast<int>(threadIdx.x); t < t1; t += blockDim.x) {
      const int b = tindices[t];
      if (sums) atomicAdd(acc_row + b, x * tvals[t]);
      if (cnt_row) atomicAdd(cnt_row + b, 1u);
    }
  }
}

/** acc[i, b] → score of (row0 + i, b), or NaN when the pair is not a candidate. */
__global__ void score_pairs(float* S, const unsigned int* __restrict__ cnt, int m, long long rows, long long row0, int metric,
                            const double* __restrict__ norm, const int32_t* __restrict__ indptr, double shrinkage,
                            double min_support, double min_similarity, bool exclude_self) {
  const float nan = __int_as_float(0x7fc00000);
  const size_t total = static_cast<size_t>(m) * static_cast<size_t>(rows);
  for (size_t idx = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const long long i = static_cast<long long>(idx / static_cast<size_t>(rows));
    const long long b = static_cast<long long>(idx % static_cast<size_t>(rows));
    const long long a = row0 + i;
    const float sum = S[idx];
    if (exclude_self && a == b) { S[idx] = nan; continue; }
    double n;
    if (cnt) {
      n = static_cast<double>(cnt[idx]);
      if (n == 0 || n < min_support) { S[idx] = nan; continue; }
    } else {
      // support not tracked (dot/cosine, min_support ≤ 1, no shrinkage): a zero sum scores 0 and is never kept
      if (sum == 0.0f) { S[idx] = nan; continue; }
      n = 1;
    }
    double s;
    if (metric == kDot) {
      s = static_cast<double>(sum);
    } else if (metric == kCosine) {
      const double den = norm[a] * norm[b];
      s = den > 0 ? static_cast<double>(sum) / den : 0.0;
    } else {
      const double ca = static_cast<double>(indptr[a + 1] - indptr[a]), cb = static_cast<double>(indptr[b + 1] - indptr[b]);
      s = n / (ca + cb - n);
    }
    if (shrinkage > 0) s *= n / (n + shrinkage);
    // NaN compares false here and stays NaN: never kept
    if (s < min_similarity || s == 0.0) { S[idx] = nan; continue; }
    S[idx] = static_cast<float>(s);
  }
}

}  // namespace

std::string sparse_similarity_topk_unsupported(const SparseSimilarityTopKParams& p) {
  switch (p.metric) {
    case SimilarityMetric::Dot:
    case SimilarityMetric::Cosine:
    case SimilarityMetric::Jaccard:
      return "";
    default:
      return "this metric is not implemented on CUDA (dot, cosine and jaccard are); use the CPU backend";
  }
}

void sparse_similarity_topk(const SparseSimilarityTopKParams& p) {
  const std::string problem = validate_sparse_similarity_topk(p);
  if (!problem.empty()) throw std::invalid_argument("sparseSimilarityTopK: " + problem);
  const std::string unsupported = sparse_similarity_topk_unsupported(p);
  if (!unsupported.empty()) throw std::invalid_argument("sparseSimilarityTopK: " + unsupported);
  const int64_t rows = p.rows;
  const int64_t range = p.row_end - p.row_start;
  const int k_out = static_cast<int>(sparse_similarity_topk_k_out(p.k, rows));
  if (range <= 0 || k_out <= 0) return;
  if (rows > std::numeric_limits<int>::max()) throw std::invalid_argument("sparseSimilarityTopK: too many rows for the CUDA kernel");

  const int metric = p.metric == SimilarityMetric::Dot ? kDot : p.metric == SimilarityMetric::Cosine ? kCosine : kJaccard;
  const bool need_count = metric == kJaccard || p.shrinkage > 0 || p.min_support > 1;
  const bool need_sum = metric != kJaccard;

  // ---- host: X' as float32, the transpose, the norms
  const int64_t nnz = p.indptr[rows];
  const int64_t cols = p.cols;
  std::vector<float> vals(static_cast<size_t>(nnz));
  for (int64_t q = 0; q < nnz; q++) vals[q] = p.values_f64 ? static_cast<float>(p.values_f64[q]) : p.values_f32[q];
  std::vector<int32_t> tindptr(static_cast<size_t>(cols) + 1, 0), tindices(static_cast<size_t>(nnz));
  std::vector<float> tvals(static_cast<size_t>(nnz));
  for (int64_t q = 0; q < nnz; q++) tindptr[static_cast<size_t>(p.indices[q]) + 1]++;
  for (int64_t c = 0; c < cols; c++) tindptr[c + 1] += tindptr[c];
  {
    std::vector<int32_t> cursor(tindptr.begin(), tindptr.end() - 1);
    for (int64_t r = 0; r < rows; r++) {
      for (int32_t q = p.indptr[r]; q < p.indptr[r + 1]; q++) {
        const int32_t t = cursor[p.indices[q]]++;
        tindices[t] = static_cast<int32_t>(r);
        tvals[t] = vals[q];
      }
    }
  }
  std::vector<double> norm;
  if (metric == kCosine) {
    norm.resize(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; r++) {
      if (p.row_norm) {
        norm[r] = p.row_norm[r];
        continue;
      }
      double s = 0;
      for (int32_t q = p.indptr[r]; q < p.indptr[r + 1]; q++) {
        const double v = p.values_f64 ? p.values_f64[q] : static_cast<double>(p.values_f32[q]);
        s += v * v;
      }
      norm[r] = std::sqrt(s);
    }
  }

  check(cudaSetDevice(chosen_device()), "cudaSetDevice");
  Stream stream;
  const cudaStream_t st = stream.s;
  const int P = next_pow2(k_out);
  const bool shared_sort = P <= kSharedSortMax;

  // ---- block size: R rows of accumulators within ~1/2 of free memory (at most 2 GiB), after the inputs
  size_t free_bytes = 0, total_bytes = 0;
  check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
  const size_t input_bytes = static_cast<size_t>(rows + 1 + cols + 1) * 4 + static_cast<size_t>(nnz) * 16 + norm.size() * 8;
  size_t budget = std::min<size_t>(free_bytes / 2, size_t(2) << 30);
  budget = budget > input_bytes ? budget - input_bytes : 0;
  const size_t per_row = static_cast<size_t>(rows) * (4 + (need_count ? 4 : 0)) + static_cast<size_t>(k_out) * 8 +
                         (shared_sort ? 0 : static_cast<size_t>(P) * 8);
  int64_t rb = static_cast<int64_t>(std::max<size_t>(1, budget / per_row));
  rb = std::min<int64_t>({rb, 8192, range});
  const int64_t blocks = (range + rb - 1) / rb;

  // ---- device buffers
  auto d_indptr = device_alloc<int32_t>(static_cast<size_t>(rows) + 1, "cudaMalloc (indptr)");
  auto d_indices = device_alloc<int32_t>(static_cast<size_t>(nnz), "cudaMalloc (indices)");
  auto d_vals = device_alloc<float>(static_cast<size_t>(nnz), "cudaMalloc (values)");
  auto d_tindptr = device_alloc<int32_t>(static_cast<size_t>(cols) + 1, "cudaMalloc (transpose indptr)");
  auto d_tindices = device_alloc<int32_t>(static_cast<size_t>(nnz), "cudaMalloc (transpose indices)");
  auto d_tvals = device_alloc<float>(static_cast<size_t>(nnz), "cudaMalloc (transpose values)");
  DevicePtr<double> d_norm;
  if (metric == kCosine) d_norm = device_alloc<double>(static_cast<size_t>(rows), "cudaMalloc (row norms)");
  auto d_acc = device_alloc<float>(static_cast<size_t>(rb) * static_cast<size_t>(rows), "cudaMalloc (accumulators)");
  DevicePtr<unsigned int> d_cnt;
  if (need_count) d_cnt = device_alloc<unsigned int>(static_cast<size_t>(rb) * static_cast<size_t>(rows), "cudaMalloc (supports)");
  auto d_ids = device_alloc<int32_t>(static_cast<size_t>(rb) * k_out, "cudaMalloc (ids)");
  auto d_scores = device_alloc<float>(static_cast<size_t>(rb) * k_out, "cudaMalloc (top scores)");
  DevicePtr<uint64_t> d_sort;
  if (!shared_sort) d_sort = device_alloc<uint64_t>(static_cast<size_t>(rb) * P, "cudaMalloc (sort scratch)");
  const size_t stage_bytes = std::max<size_t>(size_t(4) << 20, static_cast<size_t>(rb) * k_out * sizeof(float));
  auto stage = pinned_alloc<char>(stage_bytes, "cudaMallocHost (staging)");

  upload(d_indptr.get(), p.indptr, (static_cast<size_t>(rows) + 1) * 4, stage.get(), stage_bytes, st);
  upload(d_indices.get(), p.indices, static_cast<size_t>(nnz) * 4, stage.get(), stage_bytes, st);
  upload(d_vals.get(), vals.data(), static_cast<size_t>(nnz) * 4, stage.get(), stage_bytes, st);
  upload(d_tindptr.get(), tindptr.data(), (static_cast<size_t>(cols) + 1) * 4, stage.get(), stage_bytes, st);
  upload(d_tindices.get(), tindices.data(), static_cast<size_t>(nnz) * 4, stage.get(), stage_bytes, st);
  upload(d_tvals.get(), tvals.data(), static_cast<size_t>(nnz) * 4, stage.get(), stage_bytes, st);
  if (d_norm) upload(d_norm.get(), norm.data(), norm.size() * 8, stage.get(), stage_bytes, st);

  int sms = 0;
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, chosen_device()), "cudaDeviceGetAttribute");
  for (int64_t blk = 0; blk < blocks; blk++) {
    const int64_t r0 = p.row_start + blk * rb;
    const int m = static_cast<int>(std::min<int64_t>(rb, p.row_end - r0));
    const size_t cells = static_cast<size_t>(m) * static_cast<size_t>(rows);
    check(cudaMemsetAsync(d_acc.get(), 0, cells * sizeof(float), st), "cudaMemset (accumulators)");
    if (need_count) check(cudaMemsetAsync(d_cnt.get(), 0, cells * sizeof(unsigned int), st), "cudaMemset (supports)");
    accumulate_rows<<<m, kAccumulateThreads, 0, st>>>(d_indptr.get(), d_indices.get(), d_vals.get(), d_tindptr.get(), d_tindices.get(),
                                                      d_tvals.get(), static_cast<long long>(r0), static_cast<long long>(rows), d_acc.get(),
                                                      d_cnt.get(), need_sum);
    check(cudaGetLastError(), "accumulate_rows");
    const size_t want_blocks = (cells + 255) / 256;
    const unsigned grid = static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(want_blocks, static_cast<size_t>(std::max(1, sms)) * 32)));
    score_pairs<<<grid, 256, 0, st>>>(d_acc.get(), d_cnt.get(), m, static_cast<long long>(rows), static_cast<long long>(r0), metric,
                                      d_norm.get(), d_indptr.get(), p.shrinkage, p.min_support, p.min_similarity, p.exclude_self);
    check(cudaGetLastError(), "score_pairs");
    const size_t shmem = shared_sort ? static_cast<size_t>(P) * sizeof(uint64_t) : 0;
    select_topk<<<m, kSelectThreads, shmem, st>>>(d_acc.get(), static_cast<size_t>(rows), static_cast<int>(rows), k_out, P,
                                                  shared_sort ? nullptr : d_sort.get(), d_ids.get(), d_scores.get());
    check(cudaGetLastError(), "select_topk");
    const size_t n_out = static_cast<size_t>(m) * k_out;
    download(p.out_ids + r0 * k_out, d_ids.get(), n_out * sizeof(int32_t), stage.get(), stage_bytes, st);
    download(p.out_scores + r0 * k_out, d_scores.get(), n_out * sizeof(float), stage.get(), stage_bytes, st);
  }
}

}  // namespace cuda
}  // namespace affinity
