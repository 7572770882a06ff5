// alsHalfStep binding. JS signature (one options object):
//   alsHalfStep({
//     mode: 'implicit'|'explicit', solver: 'cholesky'|'cg', cgSteps? (≥ 1, default 3),
//     rows, cols, factors (≥ 1),
//     indptr: Int32Array(rows+1), indices: Int32Array(≥ nnz), data: Float32Array(≥ nnz),
//     other: Float32Array(cols·factors), gram: Float64Array(factors²) (implicit; null: computed from other),
//     regularization (≥ 0), out: Float32Array(rows·factors) (CG's start values, solved in place),
//     rowStart, rowEnd, threads?,
//     rowLoss?: Float64Array(rows) (each row's objective terms before the step), solve? (false: rowLoss only)
//   }) → Promise<void>
// Types and lengths are checked here, the CSR (indptr monotone, indices in [0, cols)) by the
// core's validate, all on the JS thread before the worker is queued. A row whose system is not
// positive definite (cholesky) rejects the Promise with the reference's message.
#pragma once

#include <napi.h>

#include <string>

#include "affinity/als_half_step.h"
#include "kernel_args.h"

namespace affinity {
namespace addon {

/**
 * Reads and checks the options object into the core's params (the buffers stay referenced by
 * `o` until take_refs()). `unsupported` lets a backend refuse options it lacks (a solver, a
 * factor count): it returns "" to accept, else the reason. `max_threads` ≤ 1: threads is
 * accepted and ignored.
 */
inline AlsHalfStepParams parse_als_half_step(ObjectArgs& o, int max_threads,
                                             std::string (*unsupported)(const AlsHalfStepParams&) = nullptr) {
  AlsHalfStepParams p;
  const std::string mode = o.string("mode");
  if (mode == "implicit") p.implicit = true;
  else if (mode == "explicit") p.implicit = false;
  else o.range_error("unknown mode '" + mode + "' (implicit|explicit)");
  const std::string solver = o.string("solver");
  if (solver == "cg") p.cg = true;
  else if (solver == "cholesky") p.cg = false;
  else o.range_error("unknown solver '" + solver + "' (cholesky|cg)");
  p.cg_steps = o.integer("cgSteps", 1, 1 << 20, true, 3);
  p.rows = o.integer("rows", 0, kMaxIndex);
  p.cols = o.integer("cols", 0, kMaxIndex);
  p.factors = o.integer("factors", 1, 65536);
  const auto indptr = o.typed("indptr", napi_int32_array, "an Int32Array");
  const auto indices = o.typed("indices", napi_int32_array, "an Int32Array");
  const auto data = o.typed("data", napi_float32_array, "a Float32Array");
  const auto other = o.typed("other", napi_float32_array, "a Float32Array");
  const auto gram = o.typed("gram", napi_float64_array, "a Float64Array or null (implicit: computed from other when absent)", true);
  p.regularization = o.number("regularization", 0, false);
  if (p.regularization < 0) o.range_error("regularization must be ≥ 0, got " + std::to_string(p.regularization));
  const auto out = o.typed("out", napi_float32_array, "a Float32Array");
  p.row_start = o.integer("rowStart", 0, kMaxIndex);
  p.row_end = o.integer("rowEnd", 0, kMaxIndex);
  p.threads = o.threads(max_threads);
  const auto rowLoss = o.typed("rowLoss", napi_float64_array, "a Float64Array or null", true);
  p.solve = o.boolean("solve", true);
  if (rowLoss.present()) o.expect_length("rowLoss", rowLoss, p.rows, "rows");

  o.expect_length("indptr", indptr, p.rows + 1, "rows+1");
  o.expect_length("other", other, p.cols * p.factors, "cols*factors");
  o.expect_length("out", out, p.rows * p.factors, "rows*factors");
  if (p.implicit && gram.present()) o.expect_length("gram", gram, p.factors * p.factors, "factors²");
  if (p.row_end > p.rows) o.range_error("rowEnd " + std::to_string(p.row_end) + " is past rows " + std::to_string(p.rows));
  if (p.row_start > p.row_end) o.range_error("rowStart " + std::to_string(p.row_start) + " is past rowEnd " + std::to_string(p.row_end));
  o.expect_disjoint({"out", "rowLoss"});

  p.indptr = o.own_indices(indptr);
  p.indices = o.own_indices(indices);
  p.indices_length = indices.length;
  p.data = static_cast<const float*>(data.data);
  p.data_length = data.length;
  p.other = static_cast<const float*>(other.data);
  p.other_length = other.length;
  p.gram = p.implicit && gram.present() ? static_cast<const double*>(gram.data) : nullptr;
  p.gram_length = p.implicit && gram.present() ? gram.length : 0;
  p.out = static_cast<float*>(out.data);
  p.out_length = out.length;
  p.row_loss = static_cast<double*>(rowLoss.data);
  p.row_loss_length = rowLoss.present() ? rowLoss.length : 0;
  // zero-length arrays have null data pointers: give the core valid ones
  static const int32_t kNoIndices = 0;
  static const float kNoData = 0;
  if (!p.indices) p.indices = &kNoIndices;
  if (!p.data) p.data = &kNoData;
  if (!p.indptr) o.range_error("indptr is empty");
  const std::string problem = validate_als_half_step(p);
  if (!problem.empty()) o.range_error(problem);
  if (unsupported) {
    const std::string why = unsupported(p);
    if (!why.empty()) o.range_error(why);
  }
  return p;
}

/** Validates the call, then runs Kernel on a pool thread; the Promise settles when it is done. */
template <void (*Kernel)(const AlsHalfStepParams&)>
Napi::Value queue_als_half_step(const Napi::CallbackInfo& info, int max_threads,
                                std::string (*unsupported)(const AlsHalfStepParams&) = nullptr) {
  ObjectArgs o(info, "alsHalfStep");
  const AlsHalfStepParams p = parse_als_half_step(o, max_threads, unsupported);
  const int32_t* cancel = o.cancel_flag();
  return queue_kernel(o.env(), "alsHalfStep", [p]() { Kernel(p); }, o.take_refs(), cancel);
}

}  // namespace addon
}  // namespace affinity
