// affinity native core: pairwise similarity of the rows of a sparse matrix with a fused top-k.
// Plain C++17, no Node. The contract is src/kernels/sparseSimilarityTopK.ts (the reference);
// the caller passes X' — the values after the reference's weighting and centring (tfidf, bm25,
// adjusted-cosine / pearson-baseline centring), which the TypeScript side computes with
// prepareSparseSimilarity() — so this kernel does the accumulation, the scoring and the top-k:
//
//   for every row a in [row_start, row_end): walk a's stored columns c and the rows b storing c
//   (the transpose, built here), accumulate the metric's sums over the co-raters C(a,b), score
//   every b with n = |C(a,b)| > 0, keep the k_out = min(k, rows) best with a non-zero score.
//
// Metrics, options and their order are the reference's (see its header): dot, cosine (full-row
// norms, `row_norm` or computed here in float64), cosine-common / adjusted-cosine /
// pearson-baseline (co-rated norms), pearson, msd, jaccard; min_support, shrinkage (already
// defaulted by the caller: pearson-baseline uses (n−1)/(n−1+shrinkage) and a support of at
// least 2), min_similarity, exclude_self. Order: higher score first, equal scores by LOWER row
// id; pairs whose score is 0 or NaN, or filtered out, are not kept; unused slots get id −1 and
// score −INFINITY. Rows are written at their absolute offset r·k_out.
//
// Two paths:
//   * general (every metric): row by row (Gustavson / SMMP), float64 accumulators in dense
//     per-thread scratch of length rows with a touched list, float64 scores;
//   * blocked (dot and cosine without shrinkage or a minimum support > 1, the common item-item
//     case): rows sorted by work (Σ_c df(c)), taken B at a time (B = 16 with AVX-512, 8
//     otherwise); the union of their columns is walked once, each transpose entry updating the
//     B rows' accumulators with one SIMD multiply-add (rows × B float32 accumulators, lane l =
//     block row l), then one vectorised pass scores and selects. Blocks with too little work
//     for a dense pass over `rows` go to the general path. A call over every row uses the
//     symmetric variant: block j walks only rows b ranked at or after it (each column starting
//     at its first such row) and offers each pair to both rows' heaps. The walk is bound by the
//     latency of the transpose reads, so the columns ahead are prefetched.
// Threads take blocks (heaviest first) and general-path row chunks from an atomic counter
// (dynamic scheduling: with Zipf data row costs differ by orders of magnitude).
//
// Precision: the general path accumulates in float64 (scores agree with the reference's to
// float32 rounding). The blocked path accumulates Σxy in float32: exact for integer-valued data
// up to 2^24 (binary implicit data), otherwise a relative error of about √n·2^-24 typically and
// n·2^-24 at worst, n the support; scores agree with the reference within 1e-4·max(1, |s|) for
// supports up to ~10^3 with arbitrary values (and for any support with integer values). Where
// two reference scores lie closer than that, their order may differ from the reference's.
#pragma once

#include <cstdint>
#include <string>

#include "affinity/platform.h"  // Simd

namespace affinity {

enum class SimilarityMetric : int {
  Cosine = 0,
  CosineCommon = 1,
  AdjustedCosine = 2,
  Pearson = 3,
  PearsonBaseline = 4,
  Msd = 5,
  Jaccard = 6,
  Dot = 7,
};

struct SparseSimilarityTopKParams {
  int64_t rows = 0;  // entities compared
  int64_t cols = 0;  // co-raters
  const int32_t* indptr = nullptr;  // rows+1, indptr[0] = 0, non-decreasing
  const int32_t* indices = nullptr;  // column of each stored entry, in [0, cols)
  int64_t indices_length = 0;  // length of the indices (and values) arrays, ≥ indptr[rows]
  // X' values aligned with indices: exactly one of the two is set
  const float* values_f32 = nullptr;
  const double* values_f64 = nullptr;
  int64_t values_length = 0;
  // ‖X'[r]‖ per row (cosine); null → computed here in float64 from the values
  const double* row_norm = nullptr;
  int64_t row_norm_length = 0;
  SimilarityMetric metric = SimilarityMetric::Cosine;
  double shrinkage = 0;  // ≥ 0, the effective value (pearson-baseline: 100 unless given)
  double min_support = 1;  // the effective value (pearson-baseline: at least 2)
  double min_similarity = -1.0 / 0.0;  // pairs with s < this are dropped
  bool exclude_self = true;
  int64_t k = 0;  // requested; k_out = min(k, rows) slots per row
  int64_t row_start = 0, row_end = 0;
  int32_t* out_ids = nullptr;  // ≥ rows·k_out entries
  float* out_scores = nullptr;
  int64_t out_length = -1;  // length of the shorter out array; -1 = trust the caller
  int threads = 1;
  Simd simd = Simd::Auto;
  // 0 = automatic; else force: 1 = general path only, 2 = blocked path for every block (tests)
  int path = 0;
};

inline int64_t sparse_similarity_topk_k_out(int64_t k, int64_t rows) { return k < rows ? k : rows; }

/** Checks shapes, the CSR (O(rows + nnz)) and options. "" when valid, else the first problem. */
std::string validate_sparse_similarity_topk(const SparseSimilarityTopKParams& p);

/**
 * Runs the kernel. Throws std::invalid_argument when validation fails and std::bad_alloc when
 * scratch memory cannot be had; never touches out_* in either case. Thread-safe.
 */
void sparse_similarity_topk(const SparseSimilarityTopKParams& p);

}  // namespace affinity
