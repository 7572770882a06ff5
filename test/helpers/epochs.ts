/**
 * SGD and BPR problems shared by the backends' conformance tests (wasm, native): random
 * (user, item, rating) triplets, the args objects with seeded initial factors, and a deep copy
 * of the arrays an epoch mutates.
 */
import { csrFromTriplets, type Csr } from '../../src/data/matrix.js';
import type { SgdEpochArgs } from '../../src/kernels/sgdEpoch.js';
import type { BprEpochArgs } from '../../src/kernels/bprEpoch.js';
import { xoshiroState } from '../../src/data/xoshiro128.js';
import { mulberry32 } from './random.js';

/** Deep copy of the typed arrays an SGD/BPR call mutates (args objects share everything else). */
export function cloneTyped<T extends object>(a: T): T {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) o[k] = ArrayBuffer.isView(v) ? (v as Float32Array).slice() : v;
  return o as T;
}

export interface SgdProblem { nu: number; ni: number; user: Int32Array; item: Int32Array; rating: Float32Array; weight: Float32Array; seen: Csr }

export function sgdProblem(nu: number, ni: number, n: number, seed: number): SgdProblem {
  const rnd = mulberry32(seed);
  const pairs = new Set<number>();
  while (pairs.size < n) pairs.add(Math.floor(rnd() * nu) * ni + Math.floor(rnd() * ni));
  const list = [...pairs];
  const user = Int32Array.from(list, (p) => Math.floor(p / ni)), item = Int32Array.from(list, (p) => p % ni);
  const rating = Float32Array.from(list, () => 1 + Math.floor(rnd() * 5));
  const weight = Float32Array.from(list, () => 0.5 + rnd());
  const seen = csrFromTriplets(nu, ni, user, item, new Array(n).fill(1));
  return { nu, ni, user, item, rating, weight, seen };
}

export function sgdArgs(p: SgdProblem, algorithm: SgdEpochArgs['algorithm'], F: number, seed: number, extra: Partial<SgdEpochArgs> = {}): SgdEpochArgs {
  const rnd = mulberry32(seed);
  const init = (len: number, pos: boolean) => Float32Array.from({ length: len }, () => (pos ? rnd() : rnd() - 0.5) * 0.3);
  const nmf = algorithm === 'nmf';
  const n = p.user.length;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); const t = order[i]; order[i] = order[j]; order[j] = t; }
  if (algorithm === 'svdpp') order.sort((x, y) => p.user[x] - p.user[y] || x - y); // grouped by user, as the model visits
  return {
    algorithm, factors: F, user: p.user, item: p.item, rating: p.rating, order, globalMean: 3.1, biased: !nmf,
    lr: { bu: 0.005, bi: 0.006, pu: 0.007, qi: 0.008, yj: 0.004 }, reg: { bu: 0.02, bi: 0.03, pu: 0.04, qi: 0.05, yj: 0.06 },
    bu: init(p.nu, false), bi: init(p.ni, false), pu: init(p.nu * F, nmf), qi: init(p.ni * F, nmf),
    yj: algorithm === 'svdpp' ? init(p.ni * F, false) : undefined, implicitItems: algorithm === 'svdpp' ? p.seen : undefined,
    ...extra,
  };
}

export function bprArgs(nu: number, ni: number, n: number, F: number, seed: number, extra: Partial<BprEpochArgs> = {}): BprEpochArgs {
  const p = sgdProblem(nu, ni, n, seed);
  const rnd = mulberry32(seed + 1);
  const D = F + 1;
  const userFactors = Float32Array.from({ length: nu * D }, (_, i) => (i % D === F ? 1 : (rnd() - 0.5) * 0.2));
  const itemFactors = Float32Array.from({ length: ni * D }, (_, i) => (i % D === F ? 0 : (rnd() - 0.5) * 0.2));
  const entryUser = new Int32Array(p.seen.indptr[nu]);
  for (let u = 0; u < nu; u++) entryUser.fill(u, p.seen.indptr[u], p.seen.indptr[u + 1]);
  return {
    userItems: p.seen, entryUser, userFactors, itemFactors, factors: F, learningRate: 0.05, regularization: 0.01,
    verifyNegative: true, negatives: 'popularity', samples: n, rng: xoshiroState(seed), ...extra,
  };
}
