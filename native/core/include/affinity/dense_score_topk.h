// affinity native core: dense scoring with fused top-k selection.
// Plain C++17, no Node. The contract is src/kernels/denseScoreTopK.ts (the reference):
//
//   dot:    score(q, j) = Σ_f Q[q,f]·K[j,f]
//   cosine: score(q, j) = Σ_f Q[q,f]·K[j,f] / (‖Q[q]‖·‖K[j]‖), and 0 where either norm is 0
//
// For every query row q in [row_start, row_end) the k_out = min(k, k_rows) best keys are
// written best first to out_ids/out_scores at offset q·k_out (absolute row, not row-row_start).
// Order: higher score first, equal scores by LOWER key id. NaN scores are never kept. Keys
// listed in row q of the exclusion CSR are skipped, and key q when exclude_self is set.
// Slots left over (fewer candidates than k_out) get id -1 and score -INFINITY.
//
// Precision: products are accumulated in float32 (the reference uses float64). For a dot
// product the rounding error is bounded by about d·2^-24·Σ_f|Q[q,f]·K[j,f]|; cosine scores are
// dot products of vectors pre-normalised in float64 and rounded to float32, so their error is
// about d·2^-24 in absolute terms. With entries of order 1 the scores agree with the reference
// within 1e-4·max(1, |reference|); where two reference scores lie closer than that, the order
// of their ids may differ from the reference's.
#pragma once

#include <cstdint>
#include <string>

#include "affinity/platform.h"  // Simd

namespace affinity {

enum class Metric : int { Dot = 0, Cosine = 1 };

struct DenseScoreTopKParams {
  const float* queries = nullptr;  // q_rows × dim, row-major
  int64_t q_rows = 0;
  const float* keys = nullptr;  // k_rows × dim, row-major
  int64_t k_rows = 0;
  int64_t dim = 0;
  int64_t k = 0;  // requested; k_out = min(k, k_rows) slots per row are written
  Metric metric = Metric::Dot;
  // Optional exclusion CSR over query rows: keys exclude_indices[exclude_indptr[q] ..
  // exclude_indptr[q+1]) are skipped for query q. Both null, or both set with an indptr of
  // length q_rows+1. Indices need not be sorted; duplicates are allowed.
  const int32_t* exclude_indptr = nullptr;
  const int32_t* exclude_indices = nullptr;
  int64_t exclude_indices_length = 0;  // length of the exclude_indices array (for validation)
  bool exclude_self = false;  // skip key q for query q
  int64_t row_start = 0, row_end = 0;
  int32_t* out_ids = nullptr;  // ≥ q_rows·k_out entries
  float* out_scores = nullptr;  // ≥ q_rows·k_out entries
  int64_t out_length = -1;  // length of the shorter out array; -1 = trust the caller
  int threads = 1;  // worker count including the calling thread
  Simd simd = Simd::Auto;
};

/** min(k, k_rows), the number of slots written per row. */
inline int64_t dense_score_topk_k_out(int64_t k, int64_t k_rows) { return k < k_rows ? k : k_rows; }

/**
 * Checks shapes, ranges and the exclusion CSR (O(q_rows + nnz)). Returns "" when the call is
 * valid, else a message naming the first problem. dense_score_topk() calls it too.
 */
std::string validate_dense_score_topk(const DenseScoreTopKParams& p);

/**
 * Runs the kernel. Throws std::invalid_argument when validation fails and std::bad_alloc when
 * scratch memory cannot be had; never touches out_* in either case.
 * Thread-safe: several calls may run at once (they share the worker pool).
 */
void dense_score_topk(const DenseScoreTopKParams& p);

}  // namespace affinity
