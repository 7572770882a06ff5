// bpr_epoch: the reference's steps, line for line, with xoshiro128** ported exactly.
// Compiled with -ffp-contract=off (CMakeLists.txt).
#include "affinity/bpr_epoch.h"
#include "affinity/index_range.h"

#include <cmath>
#include <stdexcept>

#include "bpr_sampling.h"

namespace affinity {
namespace {

/** Whether col is among the sorted indices[lo, hi): the check of a sampled negative (the Hogwild steps have their own, hogwild.cpp). */
inline bool has_entry(const int32_t* indices, int64_t lo, int64_t hi, int32_t col) {
  hi--;
  while (lo <= hi) {
    const int64_t mid = (lo + hi) >> 1;
    const int32_t v = indices[mid];
    if (v == col) return true;
    if (v < col) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

using detail::draw_index;
using detail::next;

inline double ld(const float* a, int64_t i) { return static_cast<double>(a[i]); }

}  // namespace

std::string validate_bpr_epoch(const BprEpochParams& p, int threads) {
  if (p.factors < 1) return "factors must be a positive integer, got " + std::to_string(p.factors);
  if (p.users < 0 || p.items < 0) return "negative sizes";
  if (p.steps < 0) return "negative step count";
  if (!p.indptr || !p.rng) return "indptr/rng are null";
  if ((p.users > 0 && !p.x) || (p.items > 0 && !p.y)) return "factor arrays are null";
  if (p.indptr[0] != 0) return "userItems.indptr[0] is " + std::to_string(p.indptr[0]) + ", expected 0";
  for (int64_t u = 0; u < p.users; u++)
    if (p.indptr[u + 1] < p.indptr[u]) return "userItems.indptr decreases at row " + std::to_string(u);
  const int64_t nz = p.indptr[p.users];
  if (nz == 0) return "no interactions to sample from";
  if (nz > p.indices_length) return "userItems.indices has length " + std::to_string(p.indices_length) + ", indptr needs nnz = " + std::to_string(nz);
  if (p.entry_user_length != nz) return "entryUser has length " + std::to_string(p.entry_user_length) + ", expected nnz " + std::to_string(nz);
  // a parallel pass first; the serial walk only to name the first bad value
  if (!all_in_range(p.indices, nz, p.items, threads) || !all_in_range(p.entry_user, nz, p.users, threads)) {
    for (int64_t q = 0; q < nz; q++) {
      if (p.indices[q] < 0 || p.indices[q] >= p.items) return "item index " + std::to_string(p.indices[q]) + " out of range";
      if (p.entry_user[q] < 0 || p.entry_user[q] >= p.users) return "entryUser " + std::to_string(p.entry_user[q]) + " out of range";
    }
  }
  if (p.verify_negative) {
    if (!p.seen_indptr) return "verifyNegative needs seen";
    if (p.seen_indptr[0] != 0) return "seen.indptr[0] is " + std::to_string(p.seen_indptr[0]) + ", expected 0";
    for (int64_t u = 0; u < p.users; u++)
      if (p.seen_indptr[u + 1] < p.seen_indptr[u]) return "seen.indptr decreases at row " + std::to_string(u);
    if (p.seen_indptr[p.users] > p.seen_indices_length) return "seen.indices is shorter than its nnz";
  }
  if (p.cdf) {
    if (p.cdf_length != p.items) return "negativeCdf has length " + std::to_string(p.cdf_length) + ", expected items " + std::to_string(p.items);
  } else if (p.popularity) {
    if (p.popularity_length == 0) return "popularityItems is empty";
    if (!all_in_range(p.popularity, p.popularity_length, p.items, threads)) return "popularityItems index out of range";
  }
  const int u = static_cast<int>(p.update);
  if (u < 0 || u > 2) return "unknown update";
  return "";
}

BprEpochResult bpr_epoch(const BprEpochParams& p) {
  const std::string problem = validate_bpr_epoch(p);
  if (!problem.empty()) throw std::invalid_argument("bprEpoch: " + problem);
  return bpr_epoch_validated(p);
}

BprEpochResult bpr_epoch_validated(const BprEpochParams& p) {
  const int64_t F = p.factors, D = F + 1;
  const int64_t nz = p.indptr[p.users];
  const int32_t* indices = p.indices;
  const int32_t* pop = p.popularity ? p.popularity : p.indices;
  const int64_t npop = p.popularity ? p.popularity_length : nz;
  const double lr = p.learning_rate, reg = p.regularization;
  const int64_t nItems = p.items;
  float* X = p.x;
  float* Y = p.y;
  uint32_t s[4] = {p.rng[0], p.rng[1], p.rng[2], p.rng[3]};
  double correct = 0, skipped = 0, lossSum = 0;
  for (int64_t t = 0; t < p.steps; t++) {
    const int64_t liked = draw_index(s, nz);
    const int64_t i = indices[liked];
    const int64_t u = p.entry_user[liked];
    int64_t j;
    if (p.cdf) {
      const double x = static_cast<double>(next(s)) / 4294967296.0;
      int64_t lo = 0, hi = nItems - 1;
      while (lo < hi) {
        const int64_t mid = (lo + hi) >> 1;
        if (p.cdf[mid] > x) hi = mid;
        else lo = mid + 1;
      }
      j = lo;
    } else {
      j = pop[draw_index(s, npop)];
    }
    if (p.verify_negative && has_entry(p.seen_indices, p.seen_indptr[u], p.seen_indptr[u + 1], static_cast<int32_t>(j))) { skipped++; continue; }
    if (j == i) { skipped++; continue; }
    const int64_t uo = u * D, io = i * D, jo = j * D;
    double score = 0;
    for (int64_t k = 0; k < D; k++) score += ld(X, uo + k) * (ld(Y, io + k) - ld(Y, jo + k));
    const double z = 1 / (1 + std::exp(score));
    if (z < 0.5) correct++;
    lossSum += score > 0 ? std::log1p(std::exp(-score)) : -score + std::log1p(std::exp(score));
    if (p.update == BprUpdate::All) {
      for (int64_t k = 0; k < F; k++) {
        const double xu = ld(X, uo + k), yi = ld(Y, io + k), yjk = ld(Y, jo + k);
        X[uo + k] = static_cast<float>(xu + lr * (z * (yi - yjk) - reg * xu));
        Y[io + k] = static_cast<float>(yi + lr * (z * xu - reg * yi));
        Y[jo + k] = static_cast<float>(yjk + lr * (-z * xu - reg * yjk));
      }
      Y[io + F] = static_cast<float>(ld(Y, io + F) + lr * (z - reg * ld(Y, io + F)));
      Y[jo + F] = static_cast<float>(ld(Y, jo + F) + lr * (-z - reg * ld(Y, jo + F)));
    } else if (p.update == BprUpdate::Users) {
      for (int64_t k = 0; k < F; k++) {
        const double xu = ld(X, uo + k);
        X[uo + k] = static_cast<float>(xu + lr * (z * (ld(Y, io + k) - ld(Y, jo + k)) - reg * xu));
      }
    } else {
      for (int64_t k = 0; k < F; k++) {
        const double yi = ld(Y, io + k);
        Y[io + k] = static_cast<float>(yi + lr * (z * ld(X, uo + k) - reg * yi));
      }
      Y[io + F] = static_cast<float>(ld(Y, io + F) + lr * (z - reg * ld(Y, io + F)));
    }
  }
  for (int k = 0; k < 4; k++) p.rng[k] = s[k];
  BprEpochResult r;
  r.correct = correct;
  r.skipped = skipped;
  r.loss_sum = lossSum;
  return r;
}

}  // namespace affinity
