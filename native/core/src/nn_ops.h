// The inner loops of the neural-network kernels (affinity/nn.h), one table per instruction set.
// nn_simd.cpp compiles the same body (nn_kernels.inc) three times — portable, AVX2+FMA and
// AVX-512 — and nn.cpp picks a table at run time, cuts the rows into blocks and runs them on
// the thread pool. Each function fills rows [r0, r1) of its kernel (already validated).
#pragma once

#include <cstdint>

#include "affinity/nn.h"
#include "affinity/platform.h"

namespace affinity {
namespace detail {

struct NnOps {
  void (*bias_activation)(const BiasActivationParams& p, int64_t r0, int64_t r1);
  void (*activation_backward)(const ActivationBackwardParams& p, int64_t r0, int64_t r1);
  void (*layer_norm)(const LayerNormParams& p, int64_t r0, int64_t r1);
  void (*layer_norm_backward)(const LayerNormBackwardParams& p, int64_t r0, int64_t r1);
  void (*masked_softmax)(const MaskedSoftmaxParams& p, int64_t r0, int64_t r1);
  void (*softmax_backward)(const SoftmaxBackwardParams& p, int64_t r0, int64_t r1);
  void (*softmax_cross_entropy)(const SoftmaxCrossEntropyParams& p, int64_t r0, int64_t r1);
  void (*sigmoid_cross_entropy)(const SigmoidCrossEntropyParams& p, int64_t i0, int64_t i1);
  /** acc[j − c0] += x[r, j] (float64) for rows [r0, r1), columns [c0, c1) of a rows × cols x */
  void (*column_sums)(const float* x, int64_t cols, int64_t r0, int64_t r1, int64_t c0, int64_t c1, double* acc);
  /** dg[j − c0] += dy·x̂, db[j − c0] += dy (float64) for rows [r0, r1), columns [c0, c1) */
  void (*layer_norm_param_grad)(const LayerNormParamGradParams& p, int64_t r0, int64_t r1, int64_t c0, int64_t c1,
                                double* dg, double* db);
  /** groups [g0, g1); acc: dim doubles of scratch */
  void (*segment_sum)(const SegmentSumParams& p, int64_t g0, int64_t g1, double* acc);
  void (*dropout)(const DropoutParams& p, int64_t i0, int64_t i1);
  void (*adam_update)(const AdamUpdateParams& p, int64_t r0, int64_t r1);
  void (*elementwise)(const ElementwiseParams& p, int64_t i0, int64_t i1);
};

const NnOps& nn_ops_scalar();
#if AFFINITY_X86
const NnOps& nn_ops_avx2();
const NnOps& nn_ops_avx512();
#endif

/** The table for `s` (Auto or a level the CPU lacks: the best it has). */
const NnOps& nn_ops(Simd s);

}  // namespace detail
}  // namespace affinity
