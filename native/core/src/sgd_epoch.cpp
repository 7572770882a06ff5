// sgd_epoch: the reference's three passes, line for line in float64 on float32 parameters.
// Compiled with -ffp-contract=off (CMakeLists.txt): a fused multiply-add would round once
// where the reference rounds twice.
#include "affinity/sgd_epoch.h"

#include <cmath>
#include <stdexcept>
#include <vector>

#include "affinity/index_range.h"

namespace affinity {
namespace {

inline double ld(const float* a, int64_t i) { return static_cast<double>(a[i]); }

double svd_pass(const SgdEpochParams& a) {
  const int64_t F = a.factors;
  const bool biased = a.biased;
  const double mu = biased ? a.global_mean : 0;
  const double lrBu = a.lr.bu, lrBi = a.lr.bi, lrPu = a.lr.pu, lrQi = a.lr.qi;
  const double regBu = a.reg.bu, regBi = a.reg.bi, regPu = a.reg.pu, regQi = a.reg.qi;
  const bool items = a.update_items;
  float* bu = a.bu;
  float* bi = a.bi;
  float* pu = a.pu;
  float* qi = a.qi;
  double sse = 0;
  for (int64_t t = a.row_start; t < a.row_end; t++) {
    const int64_t pos = a.order[t];
    const int64_t u = a.user[pos], i = a.item[pos];
    const int64_t uo = u * F, io = i * F;
    double dot = 0;
    for (int64_t f = 0; f < F; f++) dot += ld(qi, io + f) * ld(pu, uo + f);
    const double err = biased ? ld(a.rating, pos) - (mu + ld(bu, u) + ld(bi, i) + dot) : ld(a.rating, pos) - dot;
    sse += err * err;
    const double e = a.weight ? err * ld(a.weight, pos) : err;
    if (biased) {
      bu[u] = static_cast<float>(ld(bu, u) + lrBu * (e - regBu * ld(bu, u)));
      if (items) bi[i] = static_cast<float>(ld(bi, i) + lrBi * (e - regBi * ld(bi, i)));
    }
    if (items) {
      for (int64_t f = 0; f < F; f++) {
        const double puf = ld(pu, uo + f), qif = ld(qi, io + f);
        pu[uo + f] = static_cast<float>(puf + lrPu * (e * qif - regPu * puf));
        qi[io + f] = static_cast<float>(qif + lrQi * (e * puf - regQi * qif));
      }
    } else {
      for (int64_t f = 0; f < F; f++) {
        const double puf = ld(pu, uo + f);
        pu[uo + f] = static_cast<float>(puf + lrPu * (e * ld(qi, io + f) - regPu * puf));
      }
    }
  }
  return sse;
}

double svdpp_pass(const SgdEpochParams& a) {
  const int64_t F = a.factors;
  float* bu = a.bu;
  float* bi = a.bi;
  float* pu = a.pu;
  float* qi = a.qi;
  float* yj = a.yj;
  const int32_t* indptr = a.n_indptr;
  const int32_t* indices = a.n_indices;
  const double mu = a.global_mean;
  const double lrBu = a.lr.bu, lrBi = a.lr.bi, lrPu = a.lr.pu, lrQi = a.lr.qi, lrYj = a.lr.yj;
  const double regBu = a.reg.bu, regBi = a.reg.bi, regPu = a.reg.pu, regQi = a.reg.qi, regYj = a.reg.yj;
  const bool items = a.update_items;
  const double d = 1 - lrYj * regYj;
  std::vector<double> imp(static_cast<size_t>(F)), B(static_cast<size_t>(F));
  double A = 1;
  int64_t cur = -1, nStart = 0, nEnd = 0;
  double s = 0;
  double sse = 0;

  auto flush = [&]() {
    if (cur < 0 || !items || nEnd == nStart) return;
    for (int64_t q = nStart; q < nEnd; q++) {
      const int64_t jo = static_cast<int64_t>(indices[q]) * F;
      for (int64_t f = 0; f < F; f++) yj[jo + f] = static_cast<float>(A * ld(yj, jo + f) + B[f]);
    }
  };

  for (int64_t t = a.row_start; t < a.row_end; t++) {
    const int64_t pos = a.order[t];
    const int64_t u = a.user[pos], i = a.item[pos];
    if (u != cur) {
      flush();
      cur = u;
      nStart = indptr[u];
      nEnd = indptr[u + 1];
      const int64_t n = nEnd - nStart;
      s = n > 0 ? 1 / std::sqrt(static_cast<double>(n)) : 0;
      for (int64_t f = 0; f < F; f++) imp[f] = 0;
      for (int64_t q = nStart; q < nEnd; q++) {
        const int64_t jo = static_cast<int64_t>(indices[q]) * F;
        for (int64_t f = 0; f < F; f++) imp[f] += ld(yj, jo + f);
      }
      for (int64_t f = 0; f < F; f++) imp[f] *= s;
      A = 1;
      for (int64_t f = 0; f < F; f++) B[f] = 0;
    }
    const int64_t uo = u * F, io = i * F;
    double dot = 0;
    for (int64_t f = 0; f < F; f++) dot += ld(qi, io + f) * (ld(pu, uo + f) + imp[f]);
    const double err = ld(a.rating, pos) - (mu + ld(bu, u) + ld(bi, i) + dot);
    sse += err * err;
    const double e = a.weight ? err * ld(a.weight, pos) : err;
    bu[u] = static_cast<float>(ld(bu, u) + lrBu * (e - regBu * ld(bu, u)));
    if (items) bi[i] = static_cast<float>(ld(bi, i) + lrBi * (e - regBi * ld(bi, i)));
    if (items) {
      const bool hasY = nEnd > nStart;
      const double ys = lrYj * e * s;
      for (int64_t f = 0; f < F; f++) {
        const double puf = ld(pu, uo + f), qif = ld(qi, io + f), impf = imp[f];
        pu[uo + f] = static_cast<float>(puf + lrPu * (e * qif - regPu * puf));
        qi[io + f] = static_cast<float>(qif + lrQi * (e * (puf + impf) - regQi * qif));
        if (hasY) {
          B[f] = d * B[f] + ys * qif;
          imp[f] = d * impf + lrYj * e * qif;
        }
      }
      if (hasY) A *= d;
    } else {
      for (int64_t f = 0; f < F; f++) {
        const double puf = ld(pu, uo + f);
        pu[uo + f] = static_cast<float>(puf + lrPu * (e * ld(qi, io + f) - regPu * puf));
      }
    }
  }
  flush();
  return sse;
}

double nmf_pass(const SgdEpochParams& a) {
  const int64_t F = a.factors;
  float* bu = a.bu;
  float* bi = a.bi;
  float* pu = a.pu;
  float* qi = a.qi;
  const bool biased = a.biased;
  const double mu = biased ? a.global_mean : 0;
  const bool items = a.update_items;
  const int64_t nu = a.users, ni = a.items;
  std::vector<double> userNum(static_cast<size_t>(nu * F)), userDen(static_cast<size_t>(nu * F)), userN(static_cast<size_t>(nu));
  std::vector<double> itemNum(items ? static_cast<size_t>(ni * F) : 0), itemDen(items ? static_cast<size_t>(ni * F) : 0);
  std::vector<double> itemN(static_cast<size_t>(ni));
  double sse = 0;
  for (int64_t t = a.row_start; t < a.row_end; t++) {
    const int64_t pos = a.order[t];
    const int64_t u = a.user[pos], i = a.item[pos];
    const double r = ld(a.rating, pos);
    const int64_t uo = u * F, io = i * F;
    double dot = 0;
    for (int64_t f = 0; f < F; f++) dot += ld(qi, io + f) * ld(pu, uo + f);
    const double est = biased ? mu + ld(bu, u) + ld(bi, i) + dot : dot;
    const double err = r - est;
    sse += err * err;
    if (biased) {
      bu[u] = static_cast<float>(ld(bu, u) + a.lr.bu * (err - a.reg.bu * ld(bu, u)));
      if (items) bi[i] = static_cast<float>(ld(bi, i) + a.lr.bi * (err - a.reg.bi * ld(bi, i)));
    }
    for (int64_t f = 0; f < F; f++) {
      const double q = ld(qi, io + f);
      userNum[uo + f] += q * r;
      userDen[uo + f] += q * est;
    }
    if (items) {
      for (int64_t f = 0; f < F; f++) {
        const double p = ld(pu, uo + f);
        itemNum[io + f] += p * r;
        itemDen[io + f] += p * est;
      }
    }
    userN[u]++;
    itemN[i]++;
  }
  const double regPu = a.reg.pu, regQi = a.reg.qi;
  for (int64_t u = 0; u < nu; u++) {
    const double n = userN[u];
    if (n == 0) continue;
    for (int64_t f = 0, o = u * F; f < F; f++) {
      const double p = ld(pu, o + f);
      if (p != 0) pu[o + f] = static_cast<float>(p * (userNum[o + f] / (userDen[o + f] + n * regPu * p)));
    }
  }
  if (items) {
    for (int64_t i = 0; i < ni; i++) {
      const double n = itemN[i];
      if (n == 0) continue;
      for (int64_t f = 0, o = i * F; f < F; f++) {
        const double q = ld(qi, o + f);
        if (q != 0) qi[o + f] = static_cast<float>(q * (itemNum[o + f] / (itemDen[o + f] + n * regQi * q)));
      }
    }
  }
  return sse;
}

/** The message for the first step of order[row_start, row_end) that reads an index out of range; "" if none. */
std::string first_bad_example(const SgdEpochParams& p) {
  for (int64_t t = p.row_start; t < p.row_end; t++) {
    const int64_t pos = p.order[t];
    if (pos < 0 || pos >= p.examples)
      return "order[" + std::to_string(t) + "] = " + std::to_string(pos) + " out of range [0, " + std::to_string(p.examples) + ")";
    const int64_t u = p.user[pos], i = p.item[pos];
    if (u < 0 || u >= p.users)
      return "user index " + std::to_string(u) + " at position " + std::to_string(pos) + " out of range [0, " + std::to_string(p.users) + ")";
    if (i < 0 || i >= p.items)
      return "item index " + std::to_string(i) + " at position " + std::to_string(pos) + " out of range [0, " + std::to_string(p.items) + ")";
  }
  return "";
}

/**
 * Whether every index the pass reads is surely in range, checked in sequential passes: order over
 * the range, and user/item over all the examples. Walking user/item in the order's (shuffled)
 * sequence instead costs a cache miss per read (on a 20M-example epoch about a second, serial,
 * which took a third off the Hogwild epoch's scaling). A range under an eighth of the examples is
 * not worth the whole pass: false, and the caller walks it. False is "not sure", not "bad".
 */
bool examples_in_range(const SgdEpochParams& p, int threads) {
  const int64_t len = p.row_end - p.row_start;
  if (len == 0) return true;
  if (len < p.examples / 8) return false;
  return all_in_range(p.order + p.row_start, len, p.examples, threads) && all_in_range(p.user, p.examples, p.users, threads) &&
         all_in_range(p.item, p.examples, p.items, threads);
}

}  // namespace

std::string validate_sgd_epoch(const SgdEpochParams& p, int threads) {
  const int a = static_cast<int>(p.algorithm);
  if (a < 0 || a > 2) return "unknown algorithm";
  if (p.factors < 1) return "factors must be a positive integer, got " + std::to_string(p.factors);
  if (p.users < 0 || p.items < 0 || p.examples < 0) return "negative sizes";
  if (p.row_start < 0 || p.row_start > p.row_end || p.row_end > p.order_length)
    return "range [" + std::to_string(p.row_start) + ", " + std::to_string(p.row_end) + ") is not inside [0, " +
           std::to_string(p.order_length) + "]";
  if (p.row_end > p.row_start && (!p.order || !p.user || !p.item || !p.rating)) return "example arrays are null";
  if ((p.users > 0 && (!p.bu || !p.pu)) || (p.items > 0 && (!p.bi || !p.qi))) return "parameter arrays are null";
  if (!examples_in_range(p, threads)) {
    // some index is out of range (or the range is short): walk the steps in order to report the
    // first one a step would read; an index no step reads is not an error
    if (const std::string bad = first_bad_example(p); !bad.empty()) return bad;
  }
  if (p.algorithm == SgdAlgorithm::Svdpp) {
    if (!p.yj && p.items > 0) return "svdpp needs yj";
    if (!p.n_indptr) return "svdpp needs implicitItems (N(u))";
    if (p.n_indptr[0] != 0) return "implicitItems.indptr[0] is " + std::to_string(p.n_indptr[0]) + ", expected 0";
    for (int64_t u = 0; u < p.users; u++)
      if (p.n_indptr[u + 1] < p.n_indptr[u]) return "implicitItems.indptr decreases at row " + std::to_string(u);
    const int64_t nnz = p.n_indptr[p.users];
    if (nnz > p.n_indices_length)
      return "implicitItems.indices has length " + std::to_string(p.n_indices_length) + ", indptr needs nnz = " + std::to_string(nnz);
    for (int64_t q = 0; q < nnz; q++)
      if (p.n_indices[q] < 0 || p.n_indices[q] >= p.items)
        return "implicitItems index " + std::to_string(p.n_indices[q]) + " out of range [0, " + std::to_string(p.items) + ")";
  }
  return "";
}

double sgd_epoch(const SgdEpochParams& p) {
  const std::string problem = validate_sgd_epoch(p);
  if (!problem.empty()) throw std::invalid_argument("sgdEpoch: " + problem);
  return sgd_epoch_validated(p);
}

double sgd_epoch_validated(const SgdEpochParams& p) {
  switch (p.algorithm) {
    case SgdAlgorithm::Svd: return svd_pass(p);
    case SgdAlgorithm::Svdpp: return svdpp_pass(p);
    case SgdAlgorithm::Nmf: return nmf_pass(p);
  }
  return 0;
}

}  // namespace affinity
