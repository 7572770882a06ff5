/**
 * Leave-the-last-out by time (Kang & McAuley 2018, He et al. 2017): per user, interactions in
 * time order (ties in time broken by input position, later position = later), then
 *
 *   test        = the user's last K interactions
 *   validation  = the K interactions before them (a subset of train)
 *   train       = every interaction but the test ones (the validation ones included)
 *
 * A user needs K + 1 interactions to have a test side (at least one stays in train) and 2K + 1
 * to have a validation side as well (at least one training target left once it is held out).
 * Users with fewer keep all their interactions in train (no test), or get a test side but no
 * validation; both are counted. The validation interactions stay in train: models that take a
 * validation set (FitOptions.validation) hold them out of their training targets and stop early
 * on their ranking, and every other model trains on them — the test side is what all models are
 * scored on. Deterministic: no seed.
 */
import { interactionCount, subset, type Interactions } from './interactions.js';
import { groupByUser, splitByMask, type Split } from './splits.js';

export interface LeaveLastSplit extends Split {
  /** each user's K interactions before the test ones (also in train) */
  validation: Interactions;
  /** users with ≤ K interactions: wholly in train, no test side */
  usersWithoutTest: number;
  /** users with K + 1 … 2K interactions: a test side but no validation side */
  usersWithoutValidation: number;
}

export function leaveLastSplit(x: Interactions, o: { k: number }): LeaveLastSplit {
  const k = o.k;
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`leave-last: K must be an integer ≥ 1, got ${k}`);
  const ts = x.timestamp;
  if (!ts) throw new RangeError('leave-last needs timestamps, and these interactions have none');
  const { start, order } = groupByUser(x);
  const isTest = new Uint8Array(interactionCount(x));
  const validation: number[] = [];
  const byTime = (a: number, b: number): number => ts[a] - ts[b] || a - b;
  let usersWithoutTest = 0, usersWithoutValidation = 0;
  for (let u = 0; u < x.users.size; u++) {
    const a = start[u], b = start[u + 1], c = b - a;
    if (c === 0) continue;
    if (c <= k) { usersWithoutTest++; continue; }
    const slice = order.subarray(a, b);
    slice.sort(byTime);
    for (let j = c - k; j < c; j++) isTest[slice[j]] = 1;
    if (c <= 2 * k) { usersWithoutValidation++; continue; }
    for (let j = c - 2 * k; j < c - k; j++) validation.push(slice[j]);
  }
  const { train, test } = splitByMask(x, isTest);
  validation.sort((p, q) => p - q);
  return { train, test, validation: subset(x, validation), usersWithoutTest, usersWithoutValidation };
}
