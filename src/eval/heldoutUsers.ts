/**
 * The held-out-users protocol of Liang et al. 2018 (Mult-VAE; "strong generalization"): a random
 * set of users is held out of training; each held-out user's interactions are split at random
 * into a fold-in part (80 %) and a test part (20 %); a model is fitted on the other users only,
 * then ranks items for each held-out user from their fold-in part alone, and is scored on their
 * test part.
 *
 *   held-out users: `users` of them (a count ≥ 1, or a fraction of the users when < 1), drawn
 *                   (seeded) among the users with ≥ 2 interactions
 *   items:          a held-out user's interactions with an item no training user interacted
 *                   with are dropped before the split (the paper's code keeps only the held-out
 *                   users' items in `unique_sid`, the training users' items): such an item cannot
 *                   be learned, so it would only count as relevant while no model can rank it.
 *                   They go to neither side; `dropped` counts them
 *   per held-out user with n interactions left: ⌊testRatio·n⌋ random interactions to test when
 *                   n ≥ 5 (the paper's code; a user with fewer keeps all as fold-in and has no
 *                   test side), at least 1 for 2 ≤ n < 5 so small data keeps a test side, none
 *                   for n < 2
 *
 * The split's `train` is every interaction but the test and dropped ones (training users +
 * fold-in parts),
 * so every model can be scored: a model that ranks histories (HistoryRecommender: EASE,
 * Mult-VAE) is fitted on `heldout.train` (training users only) and ranks each held-out user's
 * fold-in history — the paper's protocol; any other model is fitted on `train`, the fold-in
 * parts included (weak generalization, as matrix factorization needs a user's own factors), and
 * recommends as usual. evaluate() says which in SplitInfo.foldIn.
 */
import { interactionCount, subset, type Interactions } from '../data/interactions.js';
import { Rng } from '../data/random.js';
import { groupByUser, type Split } from '../data/splits.js';
import { csrFromTriplets, type Csr } from '../data/matrix.js';
import type { RunContext } from '../engine/context.js';
import type { Model } from '../models/types.js';
import type { HistoryRecommender } from '../models/history.js';

export interface HeldoutUsers {
  /** the held-out users (sorted) */
  users: Int32Array;
  /** their fold-in interactions */
  foldIn: Interactions;
  /** the training users' interactions only: what a history-ranking model is fitted on */
  train: Interactions;
  /** held-out users' interactions dropped because no training user has the item (neither side) */
  dropped: number;
}

export interface HeldoutUsersOptions {
  /** a count ≥ 1, or a fraction of the users in (0, 1) */
  users: number;
  /** share of each held-out user's interactions to test (default 0.2) */
  testRatio?: number;
  seed: number;
}

export function heldoutUsersSplit(x: Interactions, o: HeldoutUsersOptions): Split & { heldout: HeldoutUsers } {
  const ratio = o.testRatio ?? 0.2;
  if (!(ratio > 0 && ratio < 1)) throw new RangeError(`heldout-users: the test ratio must be in (0, 1), got ${ratio}`);
  if (!(o.users > 0) || (o.users >= 1 && !Number.isInteger(o.users))) throw new RangeError(`heldout-users: users must be a count ≥ 1 or a fraction in (0, 1), got ${o.users}`);
  if (!Number.isFinite(o.seed)) throw new RangeError(`seed must be a finite number, got ${o.seed}`);
  const { start, order } = groupByUser(x);
  const U = x.users.size;
  const eligible: number[] = [];
  for (let u = 0; u < U; u++) if (start[u + 1] - start[u] >= 2) eligible.push(u);
  const count = o.users < 1 ? Math.round(o.users * eligible.length) : o.users;
  if (count < 1) throw new RangeError(`heldout-users: ${o.users} of ${eligible.length} users with ≥ 2 interactions holds out no user`);
  if (count >= eligible.length) throw new RangeError(`heldout-users: ${count} held-out users leave no training user (${eligible.length} users have ≥ 2 interactions)`);
  const rng = new Rng(o.seed);
  rng.shuffle(eligible);
  const users = Int32Array.from(eligible.slice(0, count)).sort();
  const isHeld = new Uint8Array(U);
  for (const u of users) isHeld[u] = 1;
  // the training users' items (Liang et al.'s unique_sid)
  const trainedItem = new Uint8Array(x.items.size);
  for (let p = 0; p < x.user.length; p++) if (!isHeld[x.user[p]]) trainedItem[x.item[p]] = 1;
  // per interaction: 0 training side (training user or fold-in), TEST, or DROP
  const TEST = 1, DROP = 2;
  const fate = new Uint8Array(interactionCount(x));
  let dropped = 0;
  for (const u of users) {
    const pos: number[] = [];
    for (const p of order.subarray(start[u], start[u + 1])) {
      if (trainedItem[x.item[p]]) pos.push(p);
      else { fate[p] = DROP; dropped++; }
    }
    const n = pos.length;
    const nt = n >= 5 ? Math.floor(ratio * n) : n >= 2 ? Math.max(1, Math.floor(ratio * n)) : 0;
    rng.shuffle(pos);
    for (let t = 0; t < nt; t++) fate[pos[t]] = TEST;
  }
  const trainPos: number[] = [], testPos: number[] = [], foldPos: number[] = [], onlyPos: number[] = [];
  for (let p = 0; p < fate.length; p++) {
    if (fate[p] === DROP) continue;
    if (fate[p] === TEST) { testPos.push(p); continue; }
    trainPos.push(p);
    (isHeld[x.user[p]] ? foldPos : onlyPos).push(p);
  }
  return {
    train: subset(x, trainPos), test: subset(x, testPos),
    heldout: { users, foldIn: subset(x, foldPos), train: subset(x, onlyPos), dropped },
  };
}

/**
 * The held-out users' fold-in histories as rows of a Csr (row t = users[t]; values = the ratings;
 * columns ascending; a repeated (user, item) pair merged by summing, as Trainset merges training
 * pairs, so a fold-in row looks like a training user's row).
 */
function foldInRows(h: HeldoutUsers, nItems: number): Csr {
  const f = h.foldIn, rowOf = new Map<number, number>();
  h.users.forEach((u, t) => rowOf.set(u, t));
  return csrFromTriplets(h.users.length, nItems, Int32Array.from(f.user, (u) => rowOf.get(u)!), f.item, f.rating);
}

/**
 * The held-out users' lists from their fold-in histories (recommendForHistoryBatch through the
 * engine), `k` long (every item when `full`); users outside the held-out set get none.
 */
export async function historyLists(model: Model & HistoryRecommender, h: HeldoutUsers, nItems: number, k: number, full: boolean, ctx: RunContext): Promise<{ top: Map<number, Int32Array>; full?: Map<number, Int32Array> }> {
  const rows = foldInRows(h, nItems);
  const rank = async (kk: number): Promise<Map<number, Int32Array>> => {
    const lists = await model.recommendForHistoryBatch(rows, kk, { ...ctx, filterSeen: true });
    return new Map(Array.from(h.users, (u, t) => [u, lists[t].ids]));
  };
  return { top: await rank(k), ...(full ? { full: await rank(Math.max(1, nItems)) } : {}) };
}

/**
 * A held-out user's ranking of given candidate items from their fold-in history
 * (recommendForHistory on the calling thread, the history's items filtered): what the sampled
 * metrics rank under this protocol (sampledNegatives.ts). Users outside the held-out set get none.
 */
export function historyRanker(model: Model & HistoryRecommender, h: HeldoutUsers, nItems: number, ctx: RunContext): (user: number, candidates: Int32Array) => Int32Array {
  const rows = foldInRows(h, nItems), rowOf = new Map<number, number>();
  h.users.forEach((u, t) => rowOf.set(u, t));
  return (u, candidates) => {
    const t = rowOf.get(u);
    if (t === undefined || candidates.length === 0) return new Int32Array(0);
    const a = rows.indptr[t], b = rows.indptr[t + 1];
    const history = { items: rows.indices.subarray(a, b), values: rows.data.subarray(a, b) };
    return model.recommendForHistory(history, candidates.length, { ...ctx, items: candidates, filterSeen: true }).ids;
  };
}
