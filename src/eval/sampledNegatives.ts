/**
 * The sampled ranking metric of the neural-recommender papers (He et al. 2017, NeuMF; Kang &
 * McAuley 2018, SASRec): per test user u,
 *
 *   negatives(u) = N items drawn uniformly without replacement from the catalogue minus every
 *                  item u interacted with (training and test side)
 *   list(u)      = the model's ranking of test(u) ∪ negatives(u) (recommend with that candidate
 *                  list, training items filtered as in the full ranking; under heldout-users, a
 *                  model that ranks histories ranks them from u's fold-in items, as the full
 *                  ranking does: sampledListsBy with heldoutUsers.ts's historyRanker)
 *
 * and every ranking metric is computed on that short list (HR@10 / NDCG@10 in the papers).
 * Krichene & Rendle 2020 show sampled metrics can rank models differently from the full ranking,
 * so evaluate() reports them only beside the full-ranking figures, under keys `sampled:<metric>`.
 *
 * Seeded: users are visited in increasing index, each drawing from one generator, so the same
 * split and seed give the same negatives for every model. A user with fewer than N
 * non-interacted items gets all of them (counted in `short`).
 */
import type { Interactions } from '../data/interactions.js';
import { Rng } from '../data/random.js';
import type { RunContext } from '../engine/context.js';
import type { Model } from '../models/types.js';

export interface SampledNegatives {
  /** per test user, its negatives (ascending item index) */
  byUser: Map<number, Int32Array>;
  n: number;
  /** test users with fewer than n non-interacted items (they got all of them) */
  short: number;
}

/** Key of the sampled form of a metric key. */
export function sampledKey(metricKey: string): string {
  return `sampled:${metricKey}`;
}

export function sampleNegatives(train: Interactions, test: Interactions, n: number, seed: number): SampledNegatives {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`sampled negatives: N must be an integer ≥ 1, got ${n}`);
  if (!Number.isFinite(seed)) throw new RangeError(`sampled negatives: seed must be a finite number, got ${seed}`);
  const nItems = Math.max(train.items.size, test.items.size);
  const history = new Map<number, Set<number>>();
  for (let t = 0; t < test.user.length; t++) {
    const u = test.user[t];
    if (!history.has(u)) history.set(u, new Set());
    history.get(u)!.add(test.item[t]);
  }
  for (let t = 0; t < train.user.length; t++) history.get(train.user[t])?.add(train.item[t]);
  const rng = new Rng((seed ^ 0x2545f491) >>> 0);
  const users = [...history.keys()].sort((a, b) => a - b);
  const byUser = new Map<number, Int32Array>();
  const pool = new Int32Array(nItems);
  let short = 0;
  for (const u of users) {
    const seen = history.get(u)!;
    let m = 0;
    for (let i = 0; i < nItems; i++) if (!seen.has(i)) pool[m++] = i;
    const take = Math.min(n, m);
    if (take < n) short++;
    // partial Fisher–Yates: the first `take` of a uniform permutation of the pool
    for (let j = 0; j < take; j++) {
      const r = j + rng.int(m - j);
      const v = pool[j]; pool[j] = pool[r]; pool[r] = v;
    }
    byUser.set(u, pool.slice(0, take).sort());
  }
  return { byUser, n, short };
}

/** Ranks the candidate items for a user, best first (at most the candidates). */
export type CandidateRanker = (user: number, candidates: Int32Array) => ArrayLike<number>;

/** The model's lists over each test user's test items and negatives (see the module comment). */
export function sampledLists(model: Model, negatives: SampledNegatives, test: Interactions, ctx: RunContext = {}): { top(user: number): ArrayLike<number> } {
  return sampledListsBy((u, items) => model.recommend(u, items.length, { ...ctx, items, filterSeen: true }).ids, negatives, test);
}

/**
 * The lists over each test user's test items and negatives, ranked by `rank` (e.g. a
 * history-ranking model from the user's fold-in items, heldoutUsers.ts's historyRanker).
 */
export function sampledListsBy(rank: CandidateRanker, negatives: SampledNegatives, test: Interactions): { top(user: number): ArrayLike<number> } {
  const testItems = new Map<number, number[]>();
  for (let t = 0; t < test.user.length; t++) {
    const u = test.user[t];
    if (!testItems.has(u)) testItems.set(u, []);
    testItems.get(u)!.push(test.item[t]);
  }
  const cache = new Map<number, ArrayLike<number>>();
  return {
    top(u) {
      let l = cache.get(u);
      if (!l) {
        const candidates = new Set<number>(testItems.get(u) ?? []);
        for (const i of negatives.byUser.get(u) ?? []) candidates.add(i);
        const items = Int32Array.from([...candidates].sort((a, b) => a - b));
        l = items.length ? rank(u, items) : new Int32Array(0);
        cache.set(u, l);
      }
      return l;
    },
  };
}
