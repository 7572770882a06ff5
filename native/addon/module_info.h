// What both .node files export next to their kernels:
//   version  the affinity package version the module was built for (package.json's, passed in by
//            CMakeLists.txt as AFFINITY_PACKAGE_VERSION). src/backends/native refuses a module
//            whose version differs from the package it is loaded by, so a stale build is never
//            called with another version's arguments.
//   limits   the constants the TypeScript side needs (largest index, thread count, ...), frozen;
//            they are defined in C++ only and read from here, never restated in TS.
#pragma once

#include <napi.h>

#include "kernel_args.h"

#ifndef AFFINITY_PACKAGE_VERSION
#error "AFFINITY_PACKAGE_VERSION must be defined (CMakeLists.txt sets it from package.json)"
#endif

namespace affinity {
namespace addon {

/** The limits every module shares; a module adds its own before export_module_info(). */
inline Napi::Object base_limits(Napi::Env env) {
  Napi::Object limits = Napi::Object::New(env);
  limits.Set("maxIndex", static_cast<double>(kMaxIndex));
  return limits;
}

inline void export_module_info(Napi::Object exports, Napi::Object limits) {
  exports.Set("version", AFFINITY_PACKAGE_VERSION);
  limits.Freeze();
  exports.Set("limits", limits);
}

}  // namespace addon
}  // namespace affinity
