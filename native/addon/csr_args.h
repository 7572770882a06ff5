// The CSR builders (affinity/csr_build.h), synchronous (buildCsr and transposeCsr are synchronous calls in
// src/data/csrBuild.ts; the kernel fans out to the core's pool, the calling thread taking part):
//
//   csrFromTriplets({ rows, cols, row: Int32Array(n), col: Int32Array(n),
//                     value: Float32Array(n) | Float64Array(n),
//                     indptr: Int32Array(rows + 1), indices: Int32Array(n), data: Float32Array(n),
//                     threads? }) → nnz
//       A row or column index out of range throws the RangeError the reference throws
//       ("row index 7 out of range [0, 5)", for the first such triplet in input order), with
//       nothing written.
//   transposeCsr({ rows, cols, indptr: Int32Array(rows + 1), indices: Int32Array(≥ nnz),
//                  data: Float32Array(≥ nnz), outIndptr: Int32Array(cols + 1),
//                  outIndices: Int32Array(nnz), outData: Float32Array(nnz), threads? }) → undefined
//       A malformed indptr or a column index out of range throws a RangeError naming it.
//
// Every array's type and length is checked here; outputs must not overlap any input. The index
// values are checked by the kernel's counting pass before any of them addresses memory, and
// again as the scatter pass reads them (see csr_build.h); indptr, which the transpose reads
// before and during the kernel, is copied first (ObjectArgs::own_indices).
#pragma once

#include <napi.h>

#include <stdexcept>
#include <string>

#include "affinity/csr_build.h"
#include "kernel_args.h"

namespace affinity {
namespace addon {

inline Napi::Value CsrFromTriplets(const Napi::CallbackInfo& info) {
  ObjectArgs a(info, "csrFromTriplets");
  CsrFromTripletsParams p;
  p.rows = a.integer("rows", 0, kMaxIndex);
  p.cols = a.integer("cols", 0, kMaxIndex);
  const auto row = a.typed("row", napi_int32_array, "an Int32Array");
  const auto col = a.typed("col", napi_int32_array, "an Int32Array");
  const auto value = a.typed("value", napi_float32_array, "a Float32Array or Float64Array", false, napi_float64_array);
  p.n = row.length;
  a.expect_length("col", col, p.n, "row.length");
  a.expect_length("value", value, p.n, "row.length");
  const auto indptr = a.typed("indptr", napi_int32_array, "an Int32Array");
  const auto indices = a.typed("indices", napi_int32_array, "an Int32Array");
  const auto data = a.typed("data", napi_float32_array, "a Float32Array");
  a.expect_length("indptr", indptr, p.rows + 1, "rows + 1");
  a.expect_length("indices", indices, p.n, "row.length");
  a.expect_length("data", data, p.n, "row.length");
  a.expect_disjoint({"indptr", "indices", "data"});
  const int threads = a.threads(kMaxThreads);
  p.row = static_cast<const int32_t*>(row.data);
  p.col = static_cast<const int32_t*>(col.data);
  if (value.type == napi_float32_array) p.value32 = static_cast<const float*>(value.data);
  else p.value64 = static_cast<const double*>(value.data);
  p.indptr = static_cast<int32_t*>(indptr.data);
  p.indices = static_cast<int32_t*>(indices.data);
  p.data = static_cast<float*>(data.data);
  BadTriplet bad;
  int64_t nnz;
  try {
    nnz = csr_from_triplets(p, threads, &bad);
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(a.env(), e.what());
  }
  if (nnz < 0) {
    const std::string which = bad.column ? "column" : "row";
    const int64_t limit = bad.column ? p.cols : p.rows;
    // the reference's words (src/data/matrix.ts), without the kernel's prefix
    throw Napi::RangeError::New(a.env(), which + " index " + std::to_string(bad.value) + " out of range [0, " + std::to_string(limit) + ")");
  }
  return Napi::Number::New(a.env(), static_cast<double>(nnz));
}

inline Napi::Value TransposeCsr(const Napi::CallbackInfo& info) {
  ObjectArgs a(info, "transposeCsr");
  CsrTransposeParams p;
  p.rows = a.integer("rows", 0, kMaxIndex - 1);
  p.cols = a.integer("cols", 0, kMaxIndex - 1);
  const auto indptr = a.typed("indptr", napi_int32_array, "an Int32Array");
  const auto indices = a.typed("indices", napi_int32_array, "an Int32Array");
  const auto data = a.typed("data", napi_float32_array, "a Float32Array");
  const auto outIndptr = a.typed("outIndptr", napi_int32_array, "an Int32Array");
  const auto outIndices = a.typed("outIndices", napi_int32_array, "an Int32Array");
  const auto outData = a.typed("outData", napi_float32_array, "a Float32Array");
  a.expect_length("indptr", indptr, p.rows + 1, "rows + 1");
  a.expect_length("outIndptr", outIndptr, p.cols + 1, "cols + 1");
  a.expect_length("outData", outData, outIndices.length, "outIndices.length");
  a.expect_disjoint({"outIndptr", "outIndices", "outData"});
  const int threads = a.threads(kMaxThreads);
  p.indptr = a.own_indices(indptr);
  p.indices = static_cast<const int32_t*>(indices.data);
  p.indices_length = indices.length;
  p.data = static_cast<const float*>(data.data);
  p.data_length = data.length;
  p.out_indptr = static_cast<int32_t*>(outIndptr.data);
  p.out_indices = static_cast<int32_t*>(outIndices.data);
  p.out_data = static_cast<float*>(outData.data);
  p.out_length = outIndices.length;
  const std::string problem = validate_csr_transpose(p);
  if (!problem.empty()) a.range_error(problem);
  const int64_t nnz = p.indptr[p.rows];
  if (outIndices.length != nnz) a.range_error("outIndices has length " + std::to_string(outIndices.length) + ", expected nnz = " + std::to_string(nnz));
  int64_t bad = -1;
  bool done;
  try {
    done = csr_transpose(p, threads, &bad);
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(a.env(), e.what());
  }
  if (!done)
    a.range_error("column index " + std::to_string(p.indices[bad]) + " at position " + std::to_string(bad) + " out of range [0, " + std::to_string(p.cols) + ")");
  return a.env().Undefined();
}

}  // namespace addon
}  // namespace affinity
