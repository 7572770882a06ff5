// affinity native core: the parallel (Hogwild) forms of bprEpoch and sgdEpoch 'svd'. Plain C++17, no Node.
//
// Hogwild (Recht, Ré, Wright & Niu 2011): the SGD steps of one epoch are spread over threads that
// update the shared factors without locks. With sparse data two threads rarely touch the same row
// at once, and a lost update costs a little convergence, never correctness of the method; implicit
// (bpr_update) and LightFM train this way. What the threads compute:
//
//   bpr_epoch_hogwild  the steps of bpr_epoch (affinity/bpr_epoch.h: the same sampling of the
//                      positive and the negative, the same skips, the same update of every
//                      mode), `steps` split over the threads, each drawing from its own
//                      xoshiro128** stream seeded from the caller's state (splitmix64 of the
//                      state and the thread's number), which is then advanced by four draws;
//   sgd_epoch_hogwild  the 'svd' pass of sgd_epoch (affinity/sgd_epoch.h) over order[row_start,
//                      row_end), cut into 8 contiguous parts per thread that the threads take as
//                      they come free (the order is shuffled, so each part is a random sample of
//                      the examples); one thread makes one pass.
//
// Arithmetic in float32 with SIMD (AVX-512/AVX2 chosen at run time; bias and loss terms in
// float64), where the sequential kernels reproduce the reference's float64 expressions bit for
// bit. The steps are memory-latency bound (a step reads a random entry, a random user row, two
// item rows and a look into the user's seen row, in arrays much larger than the caches), so
// the step loops are software-pipelined: each step's draws are made several steps ahead and its
// memory fetched in stages (hogwild_steps.inc). The seen check goes through the row's chunk keys
// (hogwild.cpp's SeenChunks, built per epoch: the row's first entry on every 64-byte line of the
// seen array it touches) to the one line the negative can be on, without branches; a binary
// search over the row read a line and mispredicted a branch at nearly every probe. And the
// factor tables are worked on in copies on huge pages (affinity/huge_pages.h; the addon's copies of
// the index arrays are on huge pages too), which take the TLB misses, a quarter of the time on a
// 20M-entry matrix under virtualization, out of the steps. With one thread the result is
// reproducible run to run (the same stream, the same order); with more it depends on the
// interleaving. Validation is the sequential kernels' (validate_bpr_epoch, validate_sgd_epoch).
#pragma once

#include <cstdint>

#include "affinity/bpr_epoch.h"
#include "affinity/platform.h"
#include "affinity/sgd_epoch.h"

namespace affinity {

/** Throws std::invalid_argument when validation fails (nothing touched). */
BprEpochResult bpr_epoch_hogwild(const BprEpochParams& p, int threads, Simd simd = Simd::Auto);

/** 'svd' only (svdpp and nmf have no parallel form here). Returns Σ e² as sgd_epoch does. */
double sgd_epoch_hogwild(const SgdEpochParams& p, int threads, Simd simd = Simd::Auto);

/**
 * The two without their validation, for a caller that has just had validate_bpr_epoch /
 * validate_sgd_epoch return "" on these very arrays (the addon validates before it queues the
 * call): a second pass would be serial time in an epoch whose steps run in parallel.
 */
BprEpochResult bpr_epoch_hogwild_validated(const BprEpochParams& p, int threads, Simd simd = Simd::Auto);
double sgd_epoch_hogwild_validated(const SgdEpochParams& p, int threads, Simd simd = Simd::Auto);

namespace detail {
/**
 * For tests: the Hogwild BPR steps' seen-row check (row chunk keys, hogwild.cpp's SeenChunks; the
 * SIMD level's code) for the queries (u[q], col[q]), q < n: out[q] = 1 when col is in row u of the
 * CSR (indptr, indices; rows sorted), else 0. Not validated: every u[q] must be < users.
 */
void hogwild_seen_contains(const int32_t* indptr, const int32_t* indices, int64_t users, const int64_t* u, const int32_t* col, int64_t n, Simd simd, uint8_t* out);
}  // namespace detail
}  // namespace affinity
