// sparseSimilarityTopK binding. JS signature (one options object):
//   sparseSimilarityTopK({
//     rows, cols, indptr: Int32Array(rows+1), indices: Int32Array(≥ nnz),
//     values: Float64Array|Float32Array(≥ nnz)   X' (the reference's prepared values),
//     rowNorm?: Float64Array(rows)                ‖X'[r]‖ (cosine; computed when absent),
//     metric: 'cosine'|'cosine-common'|'adjusted-cosine'|'pearson'|'pearson-baseline'|'msd'|'jaccard'|'dot',
//     k (≥ 1; k_out = min(k, rows)), shrinkage, minSupport (effective values), minSimilarity?,
//     excludeSelf, rowStart, rowEnd, outIds: Int32Array(≥ rows·k_out), outScores: Float32Array(same),
//     threads?, path? (0 auto, 1 general only, 2 blocked only — tests)
//   }) → Promise<void>
// Everything is checked here (types, lengths) and by the core's validate (indptr monotone,
// indices in [0, cols), row range) before the worker is queued.
#pragma once

#include <napi.h>

#include <limits>
#include <string>

#include "affinity/sparse_similarity_topk.h"
#include "kernel_args.h"

namespace affinity {
namespace addon {

/** SimilarityMetric values are 0 .. kSimilarityMetricCount-1. */
constexpr int kSimilarityMetricCount = 8;
static_assert(static_cast<int>(SimilarityMetric::Dot) == kSimilarityMetricCount - 1, "a metric was added: name it below");

/** The metric's name in the JS API (src/kernels/sparseSimilarityTopK.ts), indexed by its enum value. */
inline const char* similarity_metric_name(SimilarityMetric m) {
  static const char* names[kSimilarityMetricCount] = {"cosine", "cosine-common", "adjusted-cosine", "pearson",
                                                      "pearson-baseline", "msd", "jaccard", "dot"};
  const int i = static_cast<int>(m);
  return i >= 0 && i < kSimilarityMetricCount ? names[i] : "unknown";
}

/**
 * Reads and checks the options object into the core's params (the buffers stay referenced by
 * `o` until take_refs()). `unsupported` lets a backend refuse options it lacks (a metric): it
 * returns "" to accept, else the reason. `max_threads` ≤ 1: threads is accepted and ignored.
 */
inline SparseSimilarityTopKParams parse_sparse_similarity_topk(ObjectArgs& o, int max_threads,
                                                              std::string (*unsupported)(const SparseSimilarityTopKParams&) = nullptr) {
  SparseSimilarityTopKParams p;
  p.rows = o.integer("rows", 0, kMaxIndex);
  p.cols = o.integer("cols", 0, kMaxIndex);
  const auto indptr = o.typed("indptr", napi_int32_array, "an Int32Array");
  const auto indices = o.typed("indices", napi_int32_array, "an Int32Array");
  const auto values = o.typed("values", napi_float64_array, "a Float64Array or Float32Array", false, napi_float32_array);
  const auto norm = o.typed("rowNorm", napi_float64_array, "a Float64Array or null", true);
  const std::string metric = o.string("metric");
  int mi = -1;
  for (int i = 0; i < kSimilarityMetricCount; i++)
    if (metric == similarity_metric_name(static_cast<SimilarityMetric>(i))) mi = i;
  if (mi < 0) o.range_error("unknown metric '" + metric + "'");
  p.metric = static_cast<SimilarityMetric>(mi);
  if (unsupported) {
    const std::string why = unsupported(p);
    if (!why.empty()) o.range_error("metric '" + metric + "': " + why);
  }
  p.k = o.integer("k", 1, kMaxIndex);
  p.shrinkage = o.number("shrinkage", 0, true);
  if (p.shrinkage < 0) o.range_error("shrinkage must be non-negative");
  p.min_support = o.number("minSupport", 1, true);
  if (p.min_support < 0) o.range_error("minSupport must be non-negative");
  p.min_similarity = o.number("minSimilarity", -std::numeric_limits<double>::infinity(), true, true);
  p.exclude_self = o.boolean("excludeSelf", true);
  p.row_start = o.integer("rowStart", 0, kMaxIndex);
  p.row_end = o.integer("rowEnd", 0, kMaxIndex);
  const auto out_ids = o.typed("outIds", napi_int32_array, "an Int32Array");
  const auto out_scores = o.typed("outScores", napi_float32_array, "a Float32Array");
  p.threads = o.threads(max_threads);
  p.path = static_cast<int>(o.integer("path", 0, 2, true, 0));

  o.expect_length("indptr", indptr, p.rows + 1, "rows+1");
  if (norm.data || norm.length) o.expect_length("rowNorm", norm, p.rows, "rows");
  if (p.row_end > p.rows) o.range_error("rowEnd " + std::to_string(p.row_end) + " is past rows " + std::to_string(p.rows));
  if (p.row_start > p.row_end) o.range_error("rowStart " + std::to_string(p.row_start) + " is past rowEnd " + std::to_string(p.row_end));
  const int64_t k_out = sparse_similarity_topk_k_out(p.k, p.rows);
  o.expect_min_length("outIds", out_ids, p.rows * k_out, "rows*min(k, rows)");
  o.expect_min_length("outScores", out_scores, p.rows * k_out, "rows*min(k, rows)");
  o.expect_disjoint({"outIds", "outScores"});

  p.indptr = o.own_indices(indptr);
  p.indices = o.own_indices(indices);
  p.indices_length = indices.length;
  if (values.type == napi_float64_array) p.values_f64 = static_cast<const double*>(values.data);
  else p.values_f32 = static_cast<const float*>(values.data);
  p.values_length = values.length;
  // a zero-length values array has a null data pointer: give the core a valid one
  static const double kNoValues = 0;
  if (!p.values_f64 && !p.values_f32) p.values_f64 = &kNoValues;
  static const int32_t kNoIndices = 0;
  if (!p.indices) p.indices = &kNoIndices;
  p.row_norm = static_cast<const double*>(norm.data);
  p.row_norm_length = norm.length;
  if (!p.row_norm && norm.length == 0 && o.has("rowNorm") && p.rows == 0) p.row_norm = nullptr;
  p.out_ids = static_cast<int32_t*>(out_ids.data);
  p.out_scores = static_cast<float*>(out_scores.data);
  p.out_length = std::min(out_ids.length, out_scores.length);
  if (!p.indptr) o.range_error("indptr is empty");
  // the CSR itself (indptr[0] = 0, non-decreasing, nnz within indices/values, indices in [0, cols))
  const std::string problem = validate_sparse_similarity_topk(p);
  if (!problem.empty()) o.range_error(problem);
  return p;
}

/** Validates the call, then runs Kernel on a pool thread; the Promise settles when it is done. */
template <void (*Kernel)(const SparseSimilarityTopKParams&)>
Napi::Value queue_sparse_similarity_topk(const Napi::CallbackInfo& info, int max_threads,
                                         std::string (*unsupported)(const SparseSimilarityTopKParams&) = nullptr) {
  ObjectArgs o(info, "sparseSimilarityTopK");
  const SparseSimilarityTopKParams p = parse_sparse_similarity_topk(o, max_threads, unsupported);
  const int32_t* cancel = o.cancel_flag();
  return queue_kernel(o.env(), "sparseSimilarityTopK", [p]() { Kernel(p); }, o.take_refs(), cancel);
}

}  // namespace addon
}  // namespace affinity
