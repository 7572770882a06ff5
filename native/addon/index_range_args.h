// int32InRange(values: Int32Array, limit: number) → boolean (synchronous): whether every value lies in
// [0, limit), scanned by the core's pool on all hardware threads, the calling thread taking part
// (affinity/index_range.h). The kernels' JS validation (src/kernels/indexRange.ts) uses it for large
// arrays in a process where this addon loads. `values` must be an Int32Array and `limit` a finite
// number ≥ 0 (a TypeError / RangeError otherwise).
#pragma once

#include <napi.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "affinity/index_range.h"
#include "affinity/platform.h"

namespace affinity {
namespace addon {

inline Napi::Value Int32InRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(env, "int32InRange: values must be an Int32Array");
  if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(env, "int32InRange: limit must be a number");
  const double limit = info[1].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(limit) || limit < 0) throw Napi::RangeError::New(env, "int32InRange: limit must be a finite number ≥ 0, got " + std::to_string(limit));
  Napi::Int32Array values = info[0].As<Napi::Int32Array>();
  // v < limit ⇔ v < ⌈limit⌉ for an integer v; beyond 2^31 every int32 is below it
  const int64_t bound = static_cast<int64_t>(std::ceil(std::min(limit, 4294967296.0)));
  const bool ok = all_in_range(values.Data(), static_cast<int64_t>(values.ElementLength()), bound, hardware_threads());
  return Napi::Boolean::New(env, ok);
}

}  // namespace addon
}  // namespace affinity
