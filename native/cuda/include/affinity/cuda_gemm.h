// affinity CUDA core: gemm on the GPU through cuBLAS, with the CPU core's parameters and contract
// (affinity/gemm.h: row-major, op N/T, batched with strides, flat row range, β = 0 never reads
// C). Plain C++ header: callers need no CUDA headers. probe() is in affinity/cuda_dense_score_topk.h.
//
// Row-major on a column-major BLAS: a row-major M × N matrix with leading dimension ld is the
// column-major N × M matrix with the same ld, so C = op(A)·op(B) is computed as
//   Cᵀ = op(B)ᵀ·op(A)ᵀ   (cublasSgemmStridedBatched(opB, opA, N, rows, K, B, ldb, A, lda, C, ldc)).
// The flat row range is cut into at most three strided-batched calls (the tail of a first item,
// whole items, the head of a last item), in chunks of items that fit about half the free device
// memory. Only the operand spans those rows read are copied; C's rows go up (β ≠ 0) and come
// back as 2-D copies of exactly its elements, so gaps between rows and items are not written.
// Math mode CUBLAS_DEFAULT_MATH: float32 inputs and accumulation, no TF32 tensor cores.
#pragma once

#include <string>

#include "affinity/gemm.h"

namespace affinity {
namespace cuda {

/** True when this module was built with cuBLAS (gemm can run where a device is present). */
bool gemm_built_with_cublas();

/**
 * The product on the GPU (params.threads and simd are ignored; K = 0 or α = 0 runs on the CPU
 * core, which reads neither A nor B). Throws std::invalid_argument when validation fails or the
 * module was built without cuBLAS (nothing written), std::runtime_error on a CUDA or cuBLAS error
 * (rows of earlier chunks may be written).
 */
void gemm(const GemmParams& params);

}  // namespace cuda
}  // namespace affinity
