// affinity native core: one pass of Surprise's SGD updates (sgdEpoch). Plain C++17, no Node.
// The contract is src/kernels/sgdEpoch.ts (the reference): 'svd', 'svdpp' (with the lazily
// composed y_j update) and 'nmf' over the examples order[row_start..row_end), mutating the
// parameters in place. Sequential by nature (one call, one thread); deterministic.
//
// Bit for bit the reference (as the WASM port): parameters are float32, every update is
// computed in float64 from the float32 values with the reference's expressions in the
// reference's order (no FMA contraction: this file is compiled with -ffp-contract=off) and
// stored rounded to float32; dot products are summed sequentially in float64.
#pragma once

#include <cstdint>
#include <string>

namespace affinity {

enum class SgdAlgorithm : int { Svd = 0, Svdpp = 1, Nmf = 2 };

/** Learning rates or regularisation terms, per parameter group. */
struct SgdRates {
  double bu = 0, bi = 0, pu = 0, qi = 0, yj = 0;
};

struct SgdEpochParams {
  SgdAlgorithm algorithm = SgdAlgorithm::Svd;
  int64_t factors = 0;  // F ≥ 1
  int64_t examples = 0;  // length of user/item/rating (and weight)
  const int32_t* user = nullptr;
  const int32_t* item = nullptr;
  const float* rating = nullptr;
  const float* weight = nullptr;  // optional (svd/svdpp)
  const int32_t* order = nullptr;  // positions into the examples, in visiting order
  int64_t order_length = 0;
  double global_mean = 0;
  bool biased = true;
  SgdRates lr, reg;
  int64_t users = 0, items = 0;
  float* bu = nullptr;  // users
  float* bi = nullptr;  // items
  float* pu = nullptr;  // users × F
  float* qi = nullptr;  // items × F
  float* yj = nullptr;  // items × F (svdpp)
  const int32_t* n_indptr = nullptr;  // svdpp: N(u), users+1
  const int32_t* n_indices = nullptr;  // in [0, items)
  int64_t n_indices_length = 0;
  bool update_items = true;  // false: update 'users' (item-side parameters fixed)
  int64_t row_start = 0, row_end = 0;  // range of `order`
};

/**
 * Checks shapes and every index the pass reads (O(examples visited + nnz of N)). "" when valid.
 * The index arrays are scanned by up to `threads` threads of the core's pool.
 */
std::string validate_sgd_epoch(const SgdEpochParams& p, int threads = 1);

/**
 * Runs the pass; returns Σ e² (each e before its example's update, unweighted). Throws
 * std::invalid_argument when validation fails (parameters untouched), std::bad_alloc.
 */
double sgd_epoch(const SgdEpochParams& p);

/**
 * sgd_epoch without its validation, for a caller that has just had validate_sgd_epoch(p) return ""
 * on these very arrays (the addon validates before it queues the call): on a 20M-example epoch a
 * second pass is a serial second or so.
 */
double sgd_epoch_validated(const SgdEpochParams& p);

}  // namespace affinity
