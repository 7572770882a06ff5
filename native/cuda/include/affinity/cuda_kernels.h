// affinity CUDA core: the sparse and factorization kernels on the GPU, with the CPU cores' own
// parameter structs (affinity/sparse_similarity_topk.h, affinity/als_half_step.h) and
// contracts (src/kernels/sparseSimilarityTopK.ts, src/kernels/alsHalfStep.ts). Plain C++
// header: callers need no CUDA headers. probe() is in affinity/cuda_dense_score_topk.h.
//
// What runs here (anything else throws std::invalid_argument naming what is unsupported, so a
// caller can fall back to the CPU):
//   sparse_similarity_topk   metrics dot, cosine, jaccard; any k (k_out ≤ 4096 sorts in shared
//                            memory, larger in global scratch); shrinkage, min_support,
//                            min_similarity, exclude_self as the reference.
//   als_half_step            solver cg only (implicit and explicit), factors ≤ 1024.
#pragma once

#include <cstdint>
#include <string>

#include "affinity/als_half_step.h"
#include "affinity/sparse_similarity_topk.h"

namespace affinity {
namespace cuda {

/** Largest factor count als_half_step takes (one thread per factor, one block per row). */
constexpr int64_t kMaxAlsFactors = 1024;

/** "" when the CUDA kernel handles this metric, else why not. */
std::string sparse_similarity_topk_unsupported(const SparseSimilarityTopKParams& p);

/**
 * sparseSimilarityTopK on the GPU. Rows [row_start, row_end) are taken in blocks of R rows; for
 * each block the products with every row are accumulated (a sparse × sparse product against the
 * transpose, float32 atomics) into a dense R × rows matrix on the device, scored in place (NaN
 * = not a candidate: no co-rater, filtered, score 0, self), and the k_out best of every row are
 * selected (ties by lower id). R is chosen so that the block fits about half the free device
 * memory (at most 2 GiB).
 *
 * Precision: Σxy (and the counts) accumulate in float32 in an unspecified order: exact for
 * integer-valued data up to 2^24, otherwise a relative error of about √n·2^-24 (n the support);
 * cosine divides by the float64 row norms (row_norm, or computed on the host in float64).
 * params.threads, simd and path are ignored.
 *
 * Throws std::invalid_argument when validation fails or the metric is not supported (nothing
 * written), std::runtime_error on a CUDA error (rows of earlier blocks may be written).
 */
void sparse_similarity_topk(const SparseSimilarityTopKParams& p);

/** "" when the CUDA kernel handles these options (solver cg, factors ≤ kMaxAlsFactors), else why not. */
std::string als_half_step_unsupported(const AlsHalfStepParams& p);


/**
 * alsHalfStep (solver cg) on the GPU, as implicit's GPU least_squares_cg: one thread block per
 * row, one thread per factor, cg_steps conjugate-gradient steps warm-started from out's row,
 * A·p = (YᵀY + λI)p + Σ (|c|−1)(y_i·p) y_i (explicit: λ·n_u·p + Σ (y_i·p) y_i), A never formed.
 * Vectors and reductions in float64 (Y read as float32), as the reference; only the summation
 * order differs. Rows without entries get 0. params.threads and simd are ignored.
 *
 * Throws std::invalid_argument when validation fails or the options are not supported (nothing
 * written), std::runtime_error on a CUDA error (nothing written either: the rows are copied back
 * only after the kernel finished).
 */
void als_half_step(const AlsHalfStepParams& p);

}  // namespace cuda
}  // namespace affinity
