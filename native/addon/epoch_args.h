// sgdEpoch and bprEpoch bindings (one options object each; both mutate the parameter arrays in
// place on a libuv pool thread, so the caller must not touch them until the Promise settles).
//
//   sgdEpoch({
//     algorithm: 'svd'|'svdpp'|'nmf', factors,
//     user: Int32Array(n), item: Int32Array(n), rating: Float32Array(n), weight?: Float32Array(n),
//     order: Int32Array, globalMean, biased,
//     lr: {bu, bi, pu, qi, yj}, reg: {bu, bi, pu, qi, yj},
//     bu: Float32Array(users), bi: Float32Array(items), pu: Float32Array(users·F), qi: Float32Array(items·F),
//     yj?: Float32Array(items·F), nIndptr?: Int32Array(users+1), nIndices?: Int32Array   (svdpp: N(u)),
//     update: 'all'|'users', rowStart, rowEnd, out: Float64Array(≥ 2)   ([sse, count] are added),
//     parallel?: boolean ('svd' only: Hogwild over `threads`, affinity/hogwild.h), threads?
//   }) → Promise<void>
//
//   bprEpoch({
//     factors, users, items, indptr: Int32Array(users+1), indices: Int32Array, entryUser: Int32Array(nnz),
//     seenIndptr?: Int32Array(users+1), seenIndices?: Int32Array   (verifyNegative; default userItems),
//     popularityItems?: Int32Array, negativeCdf?: Float64Array(items)   (negatives 'table'),
//     userFactors: Float32Array(users·(F+1)), itemFactors: Float32Array(items·(F+1)),
//     learningRate, regularization, verifyNegative, update: 'all'|'users'|'positive',
//     rng: Uint32Array(4), steps, out: Float64Array(≥ 3)   ([correct, skipped, lossSum] are added),
//     parallel?: boolean (Hogwild over `threads`, affinity/hogwild.h), threads?
//   }) → Promise<void>
//
// Types and lengths here; every index the pass can read by the core's validate; all on the JS
// thread before the worker is queued.
#pragma once

#include <napi.h>

#include <string>

#include "affinity/bpr_epoch.h"
#include "affinity/hogwild.h"
#include "affinity/sgd_epoch.h"
#include "kernel_args.h"

namespace affinity {
namespace addon {

inline SgdRates sgd_rates(ObjectArgs& o, const Napi::CallbackInfo& info, const char* name) {
  Napi::Value v = info[0].As<Napi::Object>().Get(name);
  if (!v.IsObject()) o.type_error(std::string(name) + " must be an object {bu, bi, pu, qi, yj}");
  Napi::Object r = v.As<Napi::Object>();
  auto get = [&](const char* k, bool required) {
    Napi::Value x = r.Get(k);
    if (x.IsUndefined() && !required) return 0.0;
    if (!x.IsNumber()) o.type_error(std::string(name) + "." + k + " must be a number");
    const double d = x.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d)) o.range_error(std::string(name) + "." + k + " must be finite");
    return d;
  };
  SgdRates s;
  s.bu = get("bu", true);
  s.bi = get("bi", true);
  s.pu = get("pu", true);
  s.qi = get("qi", true);
  s.yj = get("yj", false);
  return s;
}

inline Napi::Value queue_sgd_epoch(const Napi::CallbackInfo& info) {
  ObjectArgs o(info, "sgdEpoch");
  SgdEpochParams p;
  const std::string alg = o.string("algorithm");
  if (alg == "svd") p.algorithm = SgdAlgorithm::Svd;
  else if (alg == "svdpp") p.algorithm = SgdAlgorithm::Svdpp;
  else if (alg == "nmf") p.algorithm = SgdAlgorithm::Nmf;
  else o.range_error("unknown algorithm '" + alg + "' (svd|svdpp|nmf)");
  const bool svdpp = p.algorithm == SgdAlgorithm::Svdpp;
  p.factors = o.integer("factors", 1, 1 << 20);
  const auto user = o.typed("user", napi_int32_array, "an Int32Array");
  const auto item = o.typed("item", napi_int32_array, "an Int32Array");
  const auto rating = o.typed("rating", napi_float32_array, "a Float32Array");
  const auto weight = o.typed("weight", napi_float32_array, "a Float32Array or undefined", true);
  const auto order = o.typed("order", napi_int32_array, "an Int32Array");
  p.global_mean = o.number("globalMean", 0, true);
  p.biased = o.boolean("biased", true);
  p.lr = sgd_rates(o, info, "lr");
  p.reg = sgd_rates(o, info, "reg");
  const auto bu = o.typed("bu", napi_float32_array, "a Float32Array");
  const auto bi = o.typed("bi", napi_float32_array, "a Float32Array");
  const auto pu = o.typed("pu", napi_float32_array, "a Float32Array");
  const auto qi = o.typed("qi", napi_float32_array, "a Float32Array");
  const auto yj = o.typed("yj", napi_float32_array, "a Float32Array", !svdpp);
  const auto nIndptr = o.typed("nIndptr", napi_int32_array, "an Int32Array", !svdpp);
  const auto nIndices = o.typed("nIndices", napi_int32_array, "an Int32Array", !svdpp);
  std::string update = o.has("update") ? o.string("update") : std::string("all");
  if (update != "all" && update != "users") o.range_error("unknown update '" + update + "' (all|users)");
  p.update_items = update == "all";
  p.row_start = o.integer("rowStart", 0, kMaxIndex);
  p.row_end = o.integer("rowEnd", 0, kMaxIndex);
  const auto out = o.typed("out", napi_float64_array, "a Float64Array");
  const bool parallel = o.boolean("parallel", false);
  const int threads = o.threads(kMaxThreads);
  if (parallel && p.algorithm != SgdAlgorithm::Svd) o.range_error("parallel (Hogwild) is implemented for algorithm 'svd' only, got '" + alg + "'");

  p.examples = user.length;
  p.users = bu.length;
  p.items = bi.length;
  o.expect_length("item", item, p.examples, "user.length");
  o.expect_length("rating", rating, p.examples, "user.length");
  if (weight.present()) o.expect_length("weight", weight, p.examples, "user.length");
  o.expect_length("pu", pu, p.users * p.factors, "bu.length*factors");
  o.expect_length("qi", qi, p.items * p.factors, "bi.length*factors");
  if (svdpp) {
    o.expect_length("yj", yj, p.items * p.factors, "bi.length*factors");
    o.expect_length("nIndptr", nIndptr, p.users + 1, "bu.length+1");
  }
  o.expect_min_length("out", out, 2, "2");
  if (p.row_end > order.length) o.range_error("rowEnd " + std::to_string(p.row_end) + " is past order.length " + std::to_string(order.length));
  if (p.row_start > p.row_end) o.range_error("rowStart " + std::to_string(p.row_start) + " is past rowEnd " + std::to_string(p.row_end));
  o.expect_disjoint({"bu", "bi", "pu", "qi", "yj", "out"});

  p.user = o.own_indices(user, threads);
  p.item = o.own_indices(item, threads);
  p.rating = static_cast<const float*>(rating.data);
  p.weight = static_cast<const float*>(weight.data);
  p.order = o.own_indices(order, threads);
  p.order_length = order.length;
  p.bu = static_cast<float*>(bu.data);
  p.bi = static_cast<float*>(bi.data);
  p.pu = static_cast<float*>(pu.data);
  p.qi = static_cast<float*>(qi.data);
  p.yj = static_cast<float*>(yj.data);
  p.n_indptr = o.own_indices(nIndptr);
  p.n_indices = o.own_indices(nIndices);
  p.n_indices_length = nIndices.length;
  static const int32_t kNone = 0;
  if (svdpp && !p.n_indices) p.n_indices = &kNone;
  const std::string problem = validate_sgd_epoch(p, threads);
  if (!problem.empty()) o.range_error(problem);
  double* res = static_cast<double*>(out.data);
  return queue_kernel(o.env(), "sgdEpoch", [p, res, parallel, threads]() {
    const double sse = parallel ? sgd_epoch_hogwild_validated(p, threads) : sgd_epoch_validated(p);
    res[0] += sse;
    res[1] += static_cast<double>(p.row_end - p.row_start);
  }, o.take_refs());
}

inline Napi::Value queue_bpr_epoch(const Napi::CallbackInfo& info) {
  ObjectArgs o(info, "bprEpoch");
  BprEpochParams p;
  p.factors = o.integer("factors", 1, 1 << 20);
  p.users = o.integer("users", 0, kMaxIndex);
  p.items = o.integer("items", 0, kMaxIndex);
  const auto indptr = o.typed("indptr", napi_int32_array, "an Int32Array");
  const auto indices = o.typed("indices", napi_int32_array, "an Int32Array");
  const auto entryUser = o.typed("entryUser", napi_int32_array, "an Int32Array");
  const auto seenIndptr = o.typed("seenIndptr", napi_int32_array, "an Int32Array or null", true);
  const auto seenIndices = o.typed("seenIndices", napi_int32_array, "an Int32Array or null", true);
  const auto pop = o.typed("popularityItems", napi_int32_array, "an Int32Array or null", true);
  const auto cdf = o.typed("negativeCdf", napi_float64_array, "a Float64Array or null", true);
  const auto x = o.typed("userFactors", napi_float32_array, "a Float32Array");
  const auto y = o.typed("itemFactors", napi_float32_array, "a Float32Array");
  p.learning_rate = o.number("learningRate", 0, false);
  p.regularization = o.number("regularization", 0, false);
  p.verify_negative = o.boolean("verifyNegative", false);
  const std::string update = o.has("update") ? o.string("update") : std::string("all");
  if (update == "all") p.update = BprUpdate::All;
  else if (update == "users") p.update = BprUpdate::Users;
  else if (update == "positive") p.update = BprUpdate::Positive;
  else o.range_error("unknown update '" + update + "' (all|users|positive)");
  const auto rng = o.typed("rng", napi_uint32_array, "a Uint32Array(4)");
  p.steps = o.integer("steps", 0, int64_t{1} << 52);
  const auto out = o.typed("out", napi_float64_array, "a Float64Array");
  const bool parallel = o.boolean("parallel", false);
  const int threads = o.threads(kMaxThreads);

  const int64_t D = p.factors + 1;
  o.expect_length("indptr", indptr, p.users + 1, "users+1");
  o.expect_length("userFactors", x, p.users * D, "users*(factors+1)");
  o.expect_length("itemFactors", y, p.items * D, "items*(factors+1)");
  o.expect_length("rng", rng, 4, "4");
  o.expect_min_length("out", out, 3, "3");
  const bool has_seen = o.has("seenIndptr");
  if (has_seen != o.has("seenIndices")) o.type_error("seenIndptr and seenIndices must both be Int32Arrays or both be null");
  if (has_seen) o.expect_length("seenIndptr", seenIndptr, p.users + 1, "users+1");
  if (o.has("popularityItems") && pop.length == 0) o.range_error("popularityItems is empty");
  if (cdf.present()) o.expect_length("negativeCdf", cdf, p.items, "items");
  o.expect_disjoint({"userFactors", "itemFactors", "rng", "out"});

  p.indptr = o.own_indices(indptr);
  p.indices = o.own_indices(indices, threads);
  p.indices_length = indices.length;
  p.entry_user = o.own_indices(entryUser, threads);
  p.entry_user_length = entryUser.length;
  if (has_seen) {
    p.seen_indptr = o.own_indices(seenIndptr);
    p.seen_indices = o.own_indices(seenIndices, threads);
    p.seen_indices_length = seenIndices.length;
  } else {
    p.seen_indptr = p.indptr;
    p.seen_indices = p.indices;
    p.seen_indices_length = p.indices_length;
  }
  static const int32_t kNone = 0;
  if (!p.seen_indices) p.seen_indices = &kNone;
  if (pop.present()) {
    p.popularity = o.own_indices(pop, threads);
    p.popularity_length = pop.length;
  }
  if (cdf.present()) {
    p.cdf = static_cast<const double*>(cdf.data);
    p.cdf_length = cdf.length;
  }
  p.x = static_cast<float*>(x.data);
  p.y = static_cast<float*>(y.data);
  p.rng = static_cast<uint32_t*>(rng.data);
  if (!p.indptr) o.range_error("indptr is empty");
  const std::string problem = validate_bpr_epoch(p, threads);
  if (!problem.empty()) o.range_error(problem);
  double* res = static_cast<double*>(out.data);
  return queue_kernel(o.env(), "bprEpoch", [p, res, parallel, threads]() {
    const BprEpochResult r = parallel ? bpr_epoch_hogwild_validated(p, threads) : bpr_epoch_validated(p);
    res[0] += r.correct;
    res[1] += r.skipped;
    res[2] += r.loss_sum;
  }, o.take_refs());
}

}  // namespace addon
}  // namespace affinity
