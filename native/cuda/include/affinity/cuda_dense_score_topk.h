// affinity CUDA core: dense_score_topk on the GPU, same contract and parameters as the CPU core
// (affinity/dense_score_topk.h). Plain C++ header: callers need no CUDA headers.
#pragma once

#include <string>

#include "affinity/dense_score_topk.h"

namespace affinity {
namespace cuda {

struct Probe {
  bool available = false;
  std::string reason;  // why (not): "no CUDA driver", "no CUDA device", compute capability too low, ...
  int driver_version = 0;  // e.g. 13000 for 13.0; 0 when no driver
  int runtime_version = 0;
  int device_count = 0;
  int device = -1;  // the device used (AFFINITY_CUDA_DEVICE, default 0)
  std::string device_name;
  int cc_major = 0, cc_minor = 0;
  size_t total_memory = 0;  // bytes
};

/** Lowest compute capability the module is built for (its PTX JIT-compiles for newer GPUs). */
constexpr int kMinComputeCapability = 80;

/** What is there: driver, devices, the chosen device's compute capability. Never throws. */
Probe probe();

/**
 * The kernel on the GPU (params.threads and params.simd are ignored). Throws
 * std::invalid_argument when validation fails, std::runtime_error on a CUDA error (the message
 * names the call). Rows are written block by block, so after a CUDA error some rows of the range
 * may already hold their results; nothing is written when validation fails.
 */
void dense_score_topk(const DenseScoreTopKParams& params);

}  // namespace cuda
}  // namespace affinity
