// denseScoreTopK binding, shared by affinity_native.node and affinity_cuda.node. JS signature
// (one options object, as every kernel; helpers in kernel_args.h):
//   denseScoreTopK({
//     queries: Float32Array(qRows·dim), qRows, keys: Float32Array(kRows·dim), kRows, dim,
//     k (≥ 1; k_out = min(k, kRows)), metric: 'dot'|'cosine',
//     excludeIndptr?: Int32Array(qRows+1)|null, excludeIndices?: Int32Array|null (both or neither),
//     excludeSelf? (default false), rowStart, rowEnd,
//     outIds: Int32Array(≥ qRows·k_out), outScores: Float32Array(same),
//     threads?, cancel?: Int32Array|null
//   }) → Promise<void>
//   cancel: element 0 set to non-zero by the caller stops the call between row blocks
//   (affinity/cancel.h); the Promise then rejects with "denseScoreTopK: cancelled".
// Types and lengths are checked here, the exclusion CSR (monotone, indices in [0, kRows)) by the
// core's validate, all on the JS thread before the worker is queued: a bad call throws a JS
// TypeError/RangeError and never reaches a kernel.
#pragma once

#include <napi.h>

#include <algorithm>
#include <string>

#include "affinity/dense_score_topk.h"
#include "kernel_args.h"

namespace affinity {
namespace addon {

/**
 * Reads and checks the options object into the core's params (the buffers stay referenced by
 * `o` until take_refs()). `max_threads` ≤ 1: threads is accepted and ignored.
 */
inline DenseScoreTopKParams parse_dense_score_topk(ObjectArgs& o, int max_threads) {
  DenseScoreTopKParams p;
  const auto queries = o.typed("queries", napi_float32_array, "a Float32Array");
  p.q_rows = o.integer("qRows", 0, kMaxIndex);
  const auto keys = o.typed("keys", napi_float32_array, "a Float32Array");
  p.k_rows = o.integer("kRows", 0, kMaxIndex);
  p.dim = o.integer("dim", 0, kMaxIndex);
  p.k = o.integer("k", 1, kMaxIndex);
  const std::string metric = o.string("metric");
  if (metric == "dot") p.metric = Metric::Dot;
  else if (metric == "cosine") p.metric = Metric::Cosine;
  else o.range_error("unknown metric '" + metric + "' (dot|cosine)");
  const auto indptr = o.typed("excludeIndptr", napi_int32_array, "an Int32Array or null", true);
  const auto indices = o.typed("excludeIndices", napi_int32_array, "an Int32Array or null", true);
  p.exclude_self = o.boolean("excludeSelf", false);
  p.row_start = o.integer("rowStart", 0, kMaxIndex);
  p.row_end = o.integer("rowEnd", 0, kMaxIndex);
  const auto out_ids = o.typed("outIds", napi_int32_array, "an Int32Array");
  const auto out_scores = o.typed("outScores", napi_float32_array, "a Float32Array");
  p.threads = o.threads(max_threads);

  o.expect_length("queries", queries, p.q_rows * p.dim, "qRows*dim");
  o.expect_length("keys", keys, p.k_rows * p.dim, "kRows*dim");
  if (p.row_end > p.q_rows) o.range_error("rowEnd " + std::to_string(p.row_end) + " is past qRows " + std::to_string(p.q_rows));
  if (p.row_start > p.row_end) o.range_error("rowStart " + std::to_string(p.row_start) + " is past rowEnd " + std::to_string(p.row_end));
  const int64_t k_out = dense_score_topk_k_out(p.k, p.k_rows);
  o.expect_min_length("outIds", out_ids, p.q_rows * k_out, "qRows*min(k, kRows)");
  o.expect_min_length("outScores", out_scores, p.q_rows * k_out, "qRows*min(k, kRows)");
  const bool has_exclude = o.has("excludeIndptr");
  if (has_exclude != o.has("excludeIndices")) o.type_error("excludeIndptr and excludeIndices must both be Int32Arrays or both be null");
  if (has_exclude) {
    o.expect_length("excludeIndptr", indptr, p.q_rows + 1, "qRows+1");
    p.exclude_indptr = o.own_indices(indptr);
    p.exclude_indices = o.own_indices(indices);
    p.exclude_indices_length = indices.length;
  }
  // the kernel reads the inputs while it writes the outputs
  o.expect_disjoint({"outIds", "outScores"});

  p.queries = static_cast<const float*>(queries.data);
  p.keys = static_cast<const float*>(keys.data);
  p.out_ids = static_cast<int32_t*>(out_ids.data);
  p.out_scores = static_cast<float*>(out_scores.data);
  p.out_length = std::min(out_ids.length, out_scores.length);
  // the rest (exclusion CSR monotone, indices in [0, kRows), ...) is the core's own check
  const std::string problem = validate_dense_score_topk(p);
  if (!problem.empty()) o.range_error(problem);
  return p;
}

/** Validates the call, then runs Kernel on a pool thread; the Promise settles when it is done. */
template <void (*Kernel)(const DenseScoreTopKParams&)>
Napi::Value queue_dense_score_topk(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "denseScoreTopK");
  const DenseScoreTopKParams p = parse_dense_score_topk(o, max_threads);
  const int32_t* cancel = o.cancel_flag();
  return queue_kernel(o.env(), "denseScoreTopK", [p]() { Kernel(p); }, o.take_refs(), cancel);
}

}  // namespace addon
}  // namespace affinity
