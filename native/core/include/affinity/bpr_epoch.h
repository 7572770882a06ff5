// affinity native core: BPR-Opt SGD steps (bprEpoch). Plain C++17, no Node.
// The contract is src/kernels/bprEpoch.ts (the reference): each step draws a positive (u, i)
// uniformly from the stored entries and a negative j by popularity or from a CDF table, with
// the reference's xoshiro128** stream (src/data/xoshiro128.ts, ported exactly), so a run
// draws exactly the reference's samples in the reference's order and skips the same steps.
//
// Arithmetic: the reference's float64 expressions on the float32 factors, in its order (no FMA
// contraction: compiled with -ffp-contract=off). The one difference: exp and log1p are the C
// library's, where the reference uses the JavaScript engine's (fdlibm-derived); the two may
// differ in the last bit, so z = 1/(1+e^x) can differ by an ulp and factors by float32
// rounding — the results agree with the reference within 1e-5·max(1, |v|) (not always bit for
// bit), the draws and the skipped count exactly. Sequential; deterministic.
#pragma once

#include <cstdint>
#include <string>

namespace affinity {

enum class BprUpdate : int { All = 0, Users = 1, Positive = 2 };

struct BprEpochParams {
  int64_t users = 0, items = 0, factors = 0;  // factor rows have D = factors + 1 columns
  const int32_t* indptr = nullptr;  // userItems, users+1
  const int32_t* indices = nullptr;  // ≥ nnz, in [0, items)
  int64_t indices_length = 0;
  const int32_t* entry_user = nullptr;  // nnz, in [0, users)
  int64_t entry_user_length = 0;
  const int32_t* seen_indptr = nullptr;  // verify_negative: users+1 (sorted rows)
  const int32_t* seen_indices = nullptr;
  int64_t seen_indices_length = 0;
  const int32_t* popularity = nullptr;  // negatives by popularity: item of every interaction (null = indices[0..nnz))
  int64_t popularity_length = 0;
  const double* cdf = nullptr;  // negatives 'table': items entries (null = popularity)
  int64_t cdf_length = 0;
  float* x = nullptr;  // users × D
  float* y = nullptr;  // items × D
  double learning_rate = 0, regularization = 0;
  bool verify_negative = false;
  BprUpdate update = BprUpdate::All;
  uint32_t* rng = nullptr;  // xoshiro128** state (4 words), advanced in place
  int64_t steps = 0;
};

struct BprEpochResult {
  double correct = 0, skipped = 0, loss_sum = 0;
};

/**
 * Checks shapes and every index the steps may read (O(users + nnz + popularity)). "" when valid.
 * The index arrays are scanned by up to `threads` threads of the core's pool.
 */
std::string validate_bpr_epoch(const BprEpochParams& p, int threads = 1);

/** Runs the steps. Throws std::invalid_argument when validation fails (nothing touched). */
BprEpochResult bpr_epoch(const BprEpochParams& p);

/** bpr_epoch without its validation, for a caller that has just had validate_bpr_epoch(p) return "" (the addon). */
BprEpochResult bpr_epoch_validated(const BprEpochParams& p);

}  // namespace affinity
