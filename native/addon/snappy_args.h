// snappyUncompress(input: Uint8Array, output: Uint8Array) → bytes written (synchronous): native/core's
// Snappy decoder (affinity/snappy.h), the SNAPPY codec src/data/parquet.ts gives hyparquet. Both
// arguments are checked to be Uint8Arrays; a malformed stream throws a RangeError saying why.
#pragma once

#include <napi.h>

#include <string>

#include "affinity/snappy.h"

namespace affinity {
namespace addon {

inline Napi::Value SnappyUncompress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto bytes = [&](size_t k, const char* what) {
    if (info.Length() <= k || !info[k].IsTypedArray() || info[k].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw Napi::TypeError::New(env, std::string("snappyUncompress: ") + what + " must be a Uint8Array");
    return info[k].As<Napi::Uint8Array>();
  };
  Napi::Uint8Array in = bytes(0, "input"), out = bytes(1, "output");
  std::string error;
  const int64_t n = snappy_uncompress(in.Data(), in.ElementLength(), out.Data(), out.ElementLength(), &error);
  if (n < 0) throw Napi::RangeError::New(env, "snappyUncompress: corrupt Snappy data (" + error + ")");
  return Napi::Number::New(env, static_cast<double>(n));
}

}  // namespace addon
}  // namespace affinity
