// gemm binding (affinity_native.node; a standalone function, not yet a TS kernel). JS signature
// (one options object, as every kernel; helpers in kernel_args.h; contract in affinity/gemm.h):
//   gemm({
//     transA?: 'N'|'T' (default 'N'), transB?: 'N'|'T', m, n, k, batch? (default 1),
//     alpha? (default 1), beta? (default 0: c is not read),
//     a: Float32Array, lda, strideA?, b: Float32Array, ldb, strideB?, c: Float32Array, ldc, strideC?,
//     rowStart, rowEnd (flat rows of the batch·m rows of C), threads?, cancel?: Int32Array|null
//   }) → Promise<void>
//   strides default to 0 and are required when batch > 1 (0 = one matrix shared by every item;
//   C's items must not overlap). Every length, leading dimension and stride is checked by the
//   core's validate_gemm, and c must not share memory with a or b, on the JS thread before the
//   worker is queued: a bad call throws a JS TypeError/RangeError naming the value.
#pragma once

#include <napi.h>

#include <string>

#include "affinity/gemm.h"
#include "kernel_args.h"

namespace affinity {
namespace addon {

inline Transpose parse_transpose(ObjectArgs& o, const char* name) {
  if (!o.has(name)) return Transpose::N;
  const std::string t = o.string(name);
  if (t == "N" || t == "n") return Transpose::N;
  if (t == "T" || t == "t") return Transpose::T;
  o.range_error(std::string(name) + " must be 'N' or 'T', got '" + t + "'");
}

inline GemmParams parse_gemm(ObjectArgs& o, int max_threads) {
  GemmParams p;
  p.trans_a = parse_transpose(o, "transA");
  p.trans_b = parse_transpose(o, "transB");
  p.m = o.integer("m", 0, kGemmMaxDim);
  p.n = o.integer("n", 0, kGemmMaxDim);
  p.k = o.integer("k", 0, kGemmMaxDim);
  p.batch = o.integer("batch", 0, kGemmMaxDim, true, 1);
  p.alpha = static_cast<float>(o.number("alpha", 1.0, true));
  p.beta = static_cast<float>(o.number("beta", 0.0, true));
  const auto a = o.typed("a", napi_float32_array, "a Float32Array");
  p.lda = o.integer("lda", 0, kGemmMaxDim);
  p.stride_a = o.integer("strideA", 0, kGemmMaxDim, true, 0);
  const auto b = o.typed("b", napi_float32_array, "a Float32Array");
  p.ldb = o.integer("ldb", 0, kGemmMaxDim);
  p.stride_b = o.integer("strideB", 0, kGemmMaxDim, true, 0);
  const auto c = o.typed("c", napi_float32_array, "a Float32Array");
  p.ldc = o.integer("ldc", 0, kGemmMaxDim);
  p.stride_c = o.integer("strideC", 0, kGemmMaxDim, true, 0);
  p.row_start = o.integer("rowStart", 0, int64_t(1) << 53);
  p.row_end = o.integer("rowEnd", 0, int64_t(1) << 53);
  p.threads = o.threads(max_threads);
  if (p.batch > 1 && !o.has("strideC")) o.type_error("strideC is required when batch > 1");
  // the kernel reads a and b while it writes c
  o.expect_disjoint({"c"});
  p.a = static_cast<const float*>(a.data);
  p.a_length = a.length;
  p.b = static_cast<const float*>(b.data);
  p.b_length = b.length;
  p.c = static_cast<float*>(c.data);
  p.c_length = c.length;
  const std::string problem = validate_gemm(p);
  if (!problem.empty()) o.range_error(problem);
  return p;
}

/** Validates the call, then runs Kernel on a pool thread; the Promise settles when it is done. */
template <void (*Kernel)(const GemmParams&)>
Napi::Value queue_gemm(const Napi::CallbackInfo& info, int max_threads) {
  ObjectArgs o(info, "gemm");
  const GemmParams p = parse_gemm(o, max_threads);
  const int32_t* cancel = o.cancel_flag();
  const bool on_calling_thread = o.on_calling_thread();
  return queue_kernel(o.env(), "gemm", [p]() { Kernel(p); }, o.take_refs(), cancel, on_calling_thread);
}

}  // namespace addon
}  // namespace affinity
