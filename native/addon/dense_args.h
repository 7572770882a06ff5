// Argument checking for denseScoreTopK, shared by affinity_native.node and affinity_cuda.node.
// Every buffer's type, length and bounds is checked here, on the JS thread, before a worker is
// queued; a bad call throws a JS TypeError/RangeError and never reaches a kernel.
//
// JS signature:
//   denseScoreTopK(queries: Float32Array, qRows, keys: Float32Array, kRows, dim, k,
//                  metric: 'dot'|'cosine', excludeIndptr: Int32Array|null, excludeIndices: Int32Array|null,
//                  excludeSelf: boolean, rowStart, rowEnd, outIds: Int32Array, outScores: Float32Array,
//                  threads?: number, cancel?: Int32Array|null) → Promise<void>
//   cancel: element 0 set to non-zero by the caller stops the call between row blocks
//   (affinity/cancel.h); the Promise then rejects with "denseScoreTopK: cancelled".
#pragma once

#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "affinity/dense_score_topk.h"

namespace affinity {
namespace addon {

/** A validated call: kernel parameters plus references that keep the typed arrays alive. */
struct DenseCall {
  DenseScoreTopKParams params;
  std::vector<Napi::ObjectReference> refs;
  const int32_t* cancel = nullptr;  // the caller's cancellation flag (affinity/cancel.h), kept alive by refs
};

[[noreturn]] inline void throw_type(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, "denseScoreTopK: " + msg);
}
[[noreturn]] inline void throw_range(Napi::Env env, const std::string& msg) {
  throw Napi::RangeError::New(env, "denseScoreTopK: " + msg);
}

/** An integer argument in [lo, hi]. */
inline int64_t int_arg(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t lo, int64_t hi) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || !info[i].IsNumber()) throw_type(env, std::string(name) + " must be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v) || std::floor(v) != v) throw_range(env, std::string(name) + " must be an integer, got " + std::to_string(v));
  if (v < static_cast<double>(lo) || v > static_cast<double>(hi))
    throw_range(env, std::string(name) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                         std::to_string(static_cast<int64_t>(v)));
  return static_cast<int64_t>(v);
}

struct ArrayView {
  void* data = nullptr;
  int64_t length = 0;  // elements
  int64_t bytes = 0;
};

/** A typed array argument of the given element type; null/undefined allowed when `optional`. */
inline ArrayView typed_arg(const Napi::CallbackInfo& info, size_t i, const char* name, napi_typedarray_type type,
                           const char* type_name, bool optional, DenseCall& call) {
  Napi::Env env = info.Env();
  ArrayView v;
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) {
    if (optional) return v;
    throw_type(env, std::string(name) + " must be " + type_name);
  }
  if (!info[i].IsTypedArray()) throw_type(env, std::string(name) + " must be " + type_name);
  Napi::TypedArray ta = info[i].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != type) throw_type(env, std::string(name) + " must be " + type_name);
  // Data() of a SharedArrayBuffer-backed view works the same; a detached buffer reads as length 0
  v.length = static_cast<int64_t>(ta.ElementLength());
  v.bytes = static_cast<int64_t>(ta.ByteLength());
  if (type == napi_float32_array) v.data = ta.As<Napi::Float32Array>().Data();
  else v.data = ta.As<Napi::Int32Array>().Data();
  call.refs.push_back(Napi::Persistent(ta.As<Napi::Object>()));
  return v;
}

inline bool overlaps(const ArrayView& a, const ArrayView& b) {
  if (!a.data || !b.data || a.bytes == 0 || b.bytes == 0) return false;
  const auto a0 = reinterpret_cast<uintptr_t>(a.data), b0 = reinterpret_cast<uintptr_t>(b.data);
  return a0 < b0 + static_cast<uintptr_t>(b.bytes) && b0 < a0 + static_cast<uintptr_t>(a.bytes);
}

/** Parses and validates a denseScoreTopK call; throws a JS TypeError/RangeError on the first problem. */
inline DenseCall parse_dense_call(const Napi::CallbackInfo& info, int max_threads) {
  Napi::Env env = info.Env();
  constexpr int64_t kMax = 2147483647;  // ids are int32
  DenseCall call;
  DenseScoreTopKParams& p = call.params;

  const ArrayView queries = typed_arg(info, 0, "queries", napi_float32_array, "a Float32Array", false, call);
  p.q_rows = int_arg(info, 1, "qRows", 0, kMax);
  const ArrayView keys = typed_arg(info, 2, "keys", napi_float32_array, "a Float32Array", false, call);
  p.k_rows = int_arg(info, 3, "kRows", 0, kMax);
  p.dim = int_arg(info, 4, "dim", 0, kMax);
  p.k = int_arg(info, 5, "k", 1, kMax);
  if (info.Length() <= 6 || !info[6].IsString()) throw_type(env, "metric must be 'dot' or 'cosine'");
  const std::string metric = info[6].As<Napi::String>().Utf8Value();
  if (metric == "dot") p.metric = Metric::Dot;
  else if (metric == "cosine") p.metric = Metric::Cosine;
  else throw_range(env, "unknown metric '" + metric + "' (dot|cosine)");
  const ArrayView indptr = typed_arg(info, 7, "excludeIndptr", napi_int32_array, "an Int32Array or null", true, call);
  const ArrayView indices = typed_arg(info, 8, "excludeIndices", napi_int32_array, "an Int32Array or null", true, call);
  if (info.Length() <= 9 || !info[9].IsBoolean()) throw_type(env, "excludeSelf must be a boolean");
  p.exclude_self = info[9].As<Napi::Boolean>().Value();
  p.row_start = int_arg(info, 10, "rowStart", 0, kMax);
  p.row_end = int_arg(info, 11, "rowEnd", 0, kMax);
  const ArrayView out_ids = typed_arg(info, 12, "outIds", napi_int32_array, "an Int32Array", false, call);
  const ArrayView out_scores = typed_arg(info, 13, "outScores", napi_float32_array, "a Float32Array", false, call);
  if (info.Length() > 14 && !info[14].IsUndefined()) p.threads = static_cast<int>(int_arg(info, 14, "threads", 1, max_threads));
  else p.threads = hardware_threads();
  const ArrayView cancel = typed_arg(info, 15, "cancel", napi_int32_array, "an Int32Array (cancellation flag) or null", true, call);
  if (info.Length() > 15 && info[15].IsTypedArray() && cancel.length < 1) throw_range(env, "cancel must have at least one element");
  call.cancel = static_cast<const int32_t*>(cancel.data);

  if (queries.length != p.q_rows * p.dim)
    throw_range(env, "queries has length " + std::to_string(queries.length) + ", expected qRows*dim = " +
                         std::to_string(p.q_rows * p.dim));
  if (keys.length != p.k_rows * p.dim)
    throw_range(env, "keys has length " + std::to_string(keys.length) + ", expected kRows*dim = " + std::to_string(p.k_rows * p.dim));
  if (p.row_end > p.q_rows) throw_range(env, "rowEnd " + std::to_string(p.row_end) + " is past qRows " + std::to_string(p.q_rows));
  if (p.row_start > p.row_end)
    throw_range(env, "rowStart " + std::to_string(p.row_start) + " is past rowEnd " + std::to_string(p.row_end));
  const int64_t k_out = dense_score_topk_k_out(p.k, p.k_rows);
  const int64_t need = p.q_rows * k_out;
  if (out_ids.length < need)
    throw_range(env, "outIds has length " + std::to_string(out_ids.length) + ", needs qRows*min(k, kRows) = " + std::to_string(need));
  if (out_scores.length < need)
    throw_range(env, "outScores has length " + std::to_string(out_scores.length) + ", needs qRows*min(k, kRows) = " +
                         std::to_string(need));
  const bool has_exclude = !(info[7].IsNull() || info[7].IsUndefined());
  if (has_exclude == (info[8].IsNull() || info[8].IsUndefined()))
    throw_type(env, "excludeIndptr and excludeIndices must both be Int32Arrays or both be null");
  if (has_exclude) {
    if (indptr.length != p.q_rows + 1)
      throw_range(env, "excludeIndptr has length " + std::to_string(indptr.length) + ", expected qRows+1 = " +
                           std::to_string(p.q_rows + 1));
    p.exclude_indptr = static_cast<const int32_t*>(indptr.data);
    p.exclude_indices = static_cast<const int32_t*>(indices.data);
    p.exclude_indices_length = indices.length;
  }
  // outputs must not share memory with an input or with each other (the kernel reads inputs
  // while it writes outputs)
  const ArrayView* inputs[] = {&queries, &keys, &indptr, &indices};
  const char* input_names[] = {"queries", "keys", "excludeIndptr", "excludeIndices"};
  for (int i = 0; i < 4; i++) {
    if (overlaps(out_ids, *inputs[i])) throw_range(env, std::string("outIds overlaps ") + input_names[i]);
    if (overlaps(out_scores, *inputs[i])) throw_range(env, std::string("outScores overlaps ") + input_names[i]);
  }
  if (overlaps(out_ids, out_scores)) throw_range(env, "outIds and outScores overlap");

  p.queries = static_cast<const float*>(queries.data);
  p.keys = static_cast<const float*>(keys.data);
  p.out_ids = static_cast<int32_t*>(out_ids.data);
  p.out_scores = static_cast<float*>(out_scores.data);
  p.out_length = std::min(out_ids.length, out_scores.length);
  // the rest (exclusion CSR monotone, indices in [0, kRows), ...) is the core's own check
  const std::string problem = validate_dense_score_topk(p);
  if (!problem.empty()) throw_range(env, problem);
  return call;
}

}  // namespace addon
}  // namespace affinity
