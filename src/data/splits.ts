/**
 * Train/test splits of an interaction table. Every split is a partition of the interaction
 * positions (each interaction lands in exactly one side), both sides share x's id maps (so
 * indices stay comparable), and each side keeps the input order. Random splits are seeded.
 */
import { interactionCount, subset, type Interactions } from './interactions.js';
import { Rng } from './random.js';

export interface Split {
  train: Interactions;
  test: Interactions;
}

function checkRatio(ratio: number): void {
  if (!(ratio > 0 && ratio < 1)) throw new RangeError(`ratio (the test fraction) must be in (0, 1), got ${ratio}`);
}

function checkSeed(seed: number): void {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
}

/** Split by a mask: isTest[p] = 1 puts position p in test. Both sides in input order. */
export function splitByMask(x: Interactions, isTest: Uint8Array): Split {
  const n = interactionCount(x);
  if (isTest.length !== n) throw new RangeError(`mask has ${isTest.length} entries, expected ${n}`);
  let nt = 0;
  for (let p = 0; p < n; p++) nt += isTest[p];
  const tr = new Int32Array(n - nt), te = new Int32Array(nt);
  for (let p = 0, a = 0, b = 0; p < n; p++) {
    if (isTest[p]) te[b++] = p;
    else tr[a++] = p;
  }
  return { train: subset(x, tr), test: subset(x, te) };
}

/** Positions grouped by user: positions of user u are order[start[u] .. start[u+1]), ascending. */
export function groupByUser(x: Interactions): { start: Int32Array; order: Int32Array } {
  const n = interactionCount(x), U = x.users.size;
  const start = new Int32Array(U + 1);
  for (let p = 0; p < n; p++) start[x.user[p] + 1]++;
  for (let u = 0; u < U; u++) start[u + 1] += start[u];
  const cursor = start.slice(0, U);
  const order = new Int32Array(n);
  for (let p = 0; p < n; p++) order[cursor[x.user[p]]++] = p;
  return { start, order };
}

/** A random `ratio` of all interactions (rounded) goes to test. */
export function randomHoldout(x: Interactions, o: { ratio: number; seed: number }): Split {
  checkRatio(o.ratio);
  checkSeed(o.seed);
  const n = interactionCount(x);
  const rng = new Rng(o.seed);
  const perm = new Int32Array(n);
  for (let p = 0; p < n; p++) perm[p] = p;
  rng.shuffle(perm);
  const nt = Math.round(n * o.ratio);
  const mask = new Uint8Array(n);
  for (let k = 0; k < nt; k++) mask[perm[k]] = 1;
  return splitByMask(x, mask);
}

/**
 * Per user, a random `ratio` of that user's interactions (rounded), or `leaveK` of them, goes to
 * test; every user keeps at least one interaction in train (a user with one interaction stays
 * wholly in train).
 */
export function perUserHoldout(x: Interactions, o: { ratio?: number; leaveK?: number; seed: number }): Split {
  if ((o.ratio === undefined) === (o.leaveK === undefined)) throw new RangeError('perUserHoldout needs exactly one of ratio or leaveK');
  if (o.ratio !== undefined) checkRatio(o.ratio);
  if (o.leaveK !== undefined && !(Number.isInteger(o.leaveK) && o.leaveK >= 1)) throw new RangeError(`leaveK must be an integer ≥ 1, got ${o.leaveK}`);
  checkSeed(o.seed);
  const rng = new Rng(o.seed);
  const { start, order } = groupByUser(x);
  const mask = new Uint8Array(interactionCount(x));
  for (let u = 0; u < x.users.size; u++) {
    const a = start[u], c = start[u + 1] - a;
    if (c < 2) continue;
    const want = o.leaveK !== undefined ? o.leaveK : Math.round(c * o.ratio!);
    const k = Math.min(want, c - 1);
    // partial Fisher–Yates over the user's slice: the first k picked go to test
    for (let j = 0; j < k; j++) {
      const r = j + rng.int(c - j);
      const t = order[a + j]; order[a + j] = order[a + r]; order[a + r] = t;
      mask[order[a + j]] = 1;
    }
  }
  return splitByMask(x, mask);
}

/**
 * By time: the latest `ratio` of interactions (rounded) go to test, overall or (perUser) per user,
 * where every user keeps at least one interaction in train. Ties in time are broken by input
 * position (later position = later). Needs timestamps.
 */
export function temporalSplit(x: Interactions, o: { ratio: number; perUser?: boolean }): Split {
  checkRatio(o.ratio);
  const ts = x.timestamp;
  if (!ts) throw new RangeError('temporalSplit needs timestamps, and these interactions have none');
  const n = interactionCount(x);
  const byTime = (a: number, b: number): number => ts[a] - ts[b] || a - b;
  const mask = new Uint8Array(n);
  if (!o.perUser) {
    const order = new Int32Array(n);
    for (let p = 0; p < n; p++) order[p] = p;
    order.sort(byTime);
    const nt = Math.round(n * o.ratio);
    for (let k = n - nt; k < n; k++) mask[order[k]] = 1;
  } else {
    const { start, order } = groupByUser(x);
    for (let u = 0; u < x.users.size; u++) {
      const a = start[u], b = start[u + 1], c = b - a;
      if (c < 2) continue;
      const slice = order.subarray(a, b);
      slice.sort(byTime);
      const k = Math.min(Math.round(c * o.ratio), c - 1);
      for (let j = c - k; j < c; j++) mask[slice[j]] = 1;
    }
  }
  return splitByMask(x, mask);
}

/**
 * k-fold cross-validation, Surprise style: shuffle the interactions once, cut them into `folds`
 * contiguous folds whose sizes differ by at most one (the first n % folds are one larger);
 * fold f tests on its part and trains on the rest. Every interaction is in exactly one test fold.
 */
export function kFold(x: Interactions, o: { folds: number; seed: number }): Split[] {
  const n = interactionCount(x);
  if (!(Number.isInteger(o.folds) && o.folds >= 2)) throw new RangeError(`folds must be an integer ≥ 2, got ${o.folds}`);
  if (o.folds > n) throw new RangeError(`folds (${o.folds}) exceeds the number of interactions (${n})`);
  checkSeed(o.seed);
  const rng = new Rng(o.seed);
  const perm = new Int32Array(n);
  for (let p = 0; p < n; p++) perm[p] = p;
  rng.shuffle(perm);
  const out: Split[] = [];
  let stop = 0;
  for (let f = 0; f < o.folds; f++) {
    const begin = stop;
    stop += Math.floor(n / o.folds) + (f < n % o.folds ? 1 : 0);
    const mask = new Uint8Array(n);
    for (let k = begin; k < stop; k++) mask[perm[k]] = 1;
    out.push(splitByMask(x, mask));
  }
  return out;
}
