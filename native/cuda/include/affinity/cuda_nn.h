// affinity CUDA core: the neural-network kernels of affinity/nn.h on the GPU, with the CPU core's
// own parameter structs, validate functions and contracts (formulas: src/kernels/nn/*.ts). Plain
// C++ header: callers need no CUDA headers. probe() is in affinity/cuda_dense_score_topk.h.
//
// Every function:
//   1. validates its params with the CPU core's validate_* (same messages; std::invalid_argument
//      "<kernel>: <message>", nothing written) before any device work;
//   2. returns at once for an empty row range (the device is not touched);
//   3. copies the inputs the row range reads to the device through pinned staging memory, runs
//      its kernels on one stream, and copies back exactly the output rows of the range (every
//      element of them written; nothing outside them, as the CPU core);
//   4. reads the call's cancellation flag (affinity/cancel.h) before launching, and throws
//      Cancelled when it is set (nothing written then);
//   5. throws std::runtime_error naming the CUDA call on a CUDA error (nothing written unless the
//      error came while the outputs were being copied back).
// params.threads and params.simd are ignored.
//
// Numerics: float32 inputs are widened to float64 on the device, every formula (exp, log1p, tanh,
// the sums) is evaluated in float64 and each output rounded once to float32, so the results are
// within an ulp or two of the float64 references of native/tests/nn_reference.h (closer than the
// CPU core's float32 polynomials). Sums over many rows (column sums, the layer-norm parameter
// gradients) are per-chunk float64 partial sums added in a fixed order: results are the same run
// to run. dropout's masks are bit-identical to the reference's (the same fmix32 counter hash on
// the device), and so are its kept values (x·(1/(1 − rate)) in float64, rounded once).
// elementwise is float64 arithmetic rounded once, without fused multiply-adds, as the reference.
//
// spdSolve: cuSOLVER (cusolverDnDpotrf/Dpotrs in float64 on a float64 copy of A) where the toolkit
// has it; see spd_solve_unsupported(). A matrix cuSOLVER finds not positive definite (or with a
// NaN or infinity in its lower triangle) is handed to the CPU core's spd_solve, which throws the
// native backend's std::domain_error naming the pivot ("spdSolve: the matrix is not positive
// definite (pivot j is d)"); should its float32 factorization accept a borderline matrix, its
// solution is the result.
#pragma once

#include <cstdint>
#include <string>

#include "affinity/nn.h"

namespace affinity {
namespace cuda {

void bias_activation(const BiasActivationParams& p);
void activation_backward(const ActivationBackwardParams& p);
void column_sums(const ColumnSumsParams& p);
void layer_norm(const LayerNormParams& p);
void layer_norm_backward(const LayerNormBackwardParams& p);
void layer_norm_param_grad(const LayerNormParamGradParams& p);
void masked_softmax(const MaskedSoftmaxParams& p);
void softmax_backward(const SoftmaxBackwardParams& p);
void softmax_cross_entropy(const SoftmaxCrossEntropyParams& p);
void sigmoid_cross_entropy(const SigmoidCrossEntropyParams& p);
void embedding_gather(const EmbeddingGatherParams& p);
void segment_sum(const SegmentSumParams& p);
void dropout(const DropoutParams& p);
/** In place: params, m and v of the range's rows (dense) or of rows row_ids[range] (lazy). */
void adam_update(const AdamUpdateParams& p);
void elementwise(const ElementwiseParams& p);

/** True when this module was built with cuSOLVER (spd_solve can run where a device is present). */
bool spd_solve_built_with_cusolver();

/** Largest n spd_solve takes (cuSOLVER's 32-bit API: n·n must fit an int). */
constexpr int64_t kMaxSpdSolveN = 46340;

/** "" when spd_solve runs this call on the GPU (built with cuSOLVER, n ≤ kMaxSpdSolveN), else why not. */
std::string spd_solve_unsupported(const SpdSolveParams& p);

/**
 * spdSolve on the GPU (see the header comment). Throws std::invalid_argument when validation
 * fails or spd_solve_unsupported() refuses the call (nothing written), std::domain_error for a
 * matrix that is not positive definite (nothing written).
 */
void spd_solve(const SpdSolveParams& p);

}  // namespace cuda
}  // namespace affinity
