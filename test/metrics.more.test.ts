import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  aucAtK, averageOverUsers, averagePrecisionAtK, f1AtK, hitRateAtK, hitsAtK, ndcgGradedAtK, reciprocalRankAtK,
} from '../src/eval/rankingMetrics.js';
import {
  catalogueCoverage, intraListDiversity, novelty, popularityBias, popularityPercentiles, summarizeBeyondAccuracy, itemPopularity, activeUsers,
} from '../src/eval/beyondAccuracy.js';
import { fromTriplets } from '../src/data/interactions.js';

const close = (a: number, b: number, eps = 1e-9, msg?: string): void => assert.ok(Math.abs(a - b) <= eps, msg ?? `${a} ≠ ${b}`);

// The running example: list 5,3,9,1,7 (best first), relevant {3, 7, 8}.
// rank: 1:5 ✗  2:3 ✓  3:9 ✗  4:1 ✗  5:7 ✓   → hits@5 = 2, |rel| = 3
const REC = [5, 3, 9, 1, 7];
const REL = new Set([3, 7, 8]);

test('hit rate', () => {
  assert.is(hitsAtK(REC, REL, 5), 2);
  assert.is(hitRateAtK(REC, REL, 5), 1);
  assert.is(hitRateAtK(REC, REL, 1), 0); // only item 5
  assert.is(hitRateAtK(REC, REL, 2), 1); // 3 at rank 2
});

test('F1: P = 2/5, R = 2/3 → 2PR/(P+R) = (8/15)/(16/15) = 0.5', () => {
  close(f1AtK(REC, REL, 5), 0.5);
  // k = 2: hits 1, P = 1/2, R = 1/3 → 2·(1/6)/(5/6) = 0.4
  close(f1AtK(REC, REL, 2), 0.4);
  assert.is(f1AtK(REC, REL, 1), 0);
});

test('AP / MAP: (P@2 + P@5)/min(3,5) = (1/2 + 2/5)/3 = 0.3', () => {
  close(averagePrecisionAtK(REC, REL, 5), 0.3);
  // k = 2: (1/2)/min(3,2) = 0.25
  close(averagePrecisionAtK(REC, REL, 2), 0.25);
  // a perfect list within its length: [3,7] with k = 2 → (1 + 1)/2 = 1
  close(averagePrecisionAtK([3, 7], REL, 2), 1);
});

test('MRR: first hit at rank 2 → 1/2', () => {
  close(reciprocalRankAtK(REC, REL, 5), 0.5);
  assert.is(reciprocalRankAtK(REC, REL, 1), 0);
  close(reciprocalRankAtK([7, 1], REL, 2), 1);
});

test('NDCG binary (Set) and graded (Map)', () => {
  // binary: DCG = 1/log2(3) + 1/log2(6) = 0.630930 + 0.386853 = 1.017783
  //         IDCG = 1 + 1/log2(3) + 1/log2(4) = 2.130930 → 0.477624
  close(ndcgGradedAtK(REC, REL, 5), (1 / Math.log2(3) + 1 / Math.log2(6)) / (1 + 1 / Math.log2(3) + 0.5));
  close(ndcgGradedAtK(REC, REL, 5), 0.477624, 1e-6);
  // graded gains 3→5, 7→3, 8→4; exponential G = 2^g − 1: 31, 7, 15
  //   DCG = 31/log2(3) + 7/log2(6) = 19.558821 + 2.707968 = 22.266792
  //   IDCG (gains 5,4,3) = 31/1 + 15/log2(3) + 7/2 = 31 + 9.463946 + 3.5 = 43.963946 → 0.506478
  const graded = new Map([[3, 5], [7, 3], [8, 4]]);
  close(ndcgGradedAtK(REC, graded, 5), 0.506478, 1e-6);
  // linear G = g: DCG = 5/log2(3) + 3/log2(6) = 3.154649 + 1.160558 = 4.315207
  //   IDCG = 5 + 4/log2(3) + 3/2 = 9.023719 → 0.478207
  close(ndcgGradedAtK(REC, graded, 5, 'linear'), 0.478207, 1e-6);
  // a Map with gain 1 everywhere equals the Set case
  close(ndcgGradedAtK(REC, new Map([[3, 1], [7, 1], [8, 1]]), 5), ndcgGradedAtK(REC, REL, 5));
  // perfect ordering scores 1
  close(ndcgGradedAtK([3, 8, 7], graded, 3), 1);
});

test('AUC within the list and against a catalogue', () => {
  // listed negatives 5, 9, 1 (N = 3); item 3 is above 9 and 1 → 2 pairs; 7 above none; 8 unlisted → 0
  // AUC = 2 / (R·N) = 2/9
  close(aucAtK(REC, REL, 5), 2 / 9);
  // catalogue of 10 items: N = 7 (4 unlisted negatives)
  // 3: 2 listed + 4 unlisted = 6; 7: 0 + 4 = 4; 8 (unlisted): ½·4 = 2 → 12 / (3·7) = 4/7
  close(aucAtK(REC, REL, 5, 10), 12 / 21);
  // everything relevant ranked first → 1
  close(aucAtK([3, 7, 8, 1, 2], REL, 5), 1);
  close(aucAtK([1, 2, 3], REL, 3), 0); // relevant 3 after both negatives, 7 and 8 unlisted
});

test('bad input: k ≤ 0, non-integer k, empty relevant sets', () => {
  for (const f of [hitRateAtK, f1AtK, averagePrecisionAtK, reciprocalRankAtK, ndcgGradedAtK, aucAtK]) {
    assert.throws(() => f(REC, REL, 0), /k must be a positive integer/);
    assert.throws(() => f(REC, REL, -3), /k must be a positive integer/);
    assert.throws(() => f(REC, REL, 2.5), /k must be a positive integer/);
    assert.throws(() => f(REC, new Set(), 5), /relevant set is empty/);
    assert.throws(() => f(REC, new Map([[1, 0]]), 5), /relevant set is empty/);
  }
});

test('padding ids (-1) and repeats are skipped', () => {
  assert.is(hitsAtK([3, 3, -1, 7], REL, 2), 2); // usable top 2 = 3, 7
});

test('averages exclude users without test items and count them', () => {
  const lists = new Map<number, number[]>([[0, [1, 2]], [1, [3, 4]], [2, [5]]]);
  const rel = new Map<number, Set<number>>([[0, new Set([2])], [1, new Set()], [3, new Set([9])]]);
  // user 0: RR = 1/2; user 1: excluded (empty); user 2: excluded (no entry); user 3: no list → 0
  const r = averageOverUsers(lists, rel, reciprocalRankAtK, 2);
  assert.is(r.users, 2);
  assert.is(r.excluded, 2);
  close(r.mean, 0.25);
});

test('catalogue coverage: {0,1,2} of 5 items = 0.6', () => {
  close(catalogueCoverage([[0, 1], [1, 2]], 5), 0.6);
  close(catalogueCoverage([[0, 1], [1, 2]], 5, 1), 0.4); // top-1: {0, 1}
  assert.throws(() => catalogueCoverage([[0]], 0), /nItems/);
});

test('intra-list diversity: sims 1, 0, 0.5 → 1 − 0.5 = 0.5', () => {
  const S: Record<string, number> = { '0,1': 1, '0,2': 0, '1,2': 0.5 };
  const sim = (a: number, b: number): number => S[`${Math.min(a, b)},${Math.max(a, b)}`];
  close(intraListDiversity([0, 1, 2], sim), 0.5);
  close(intraListDiversity([0, 1, 2], sim, 2), 0); // only pair (0,1), sim 1
  assert.throws(() => intraListDiversity([0], sim), /at least 2/);
});

test('novelty: pop (8, 2, 1, 0) of 8 users', () => {
  const pop = [8, 2, 1, 0];
  // [0,1]: (−log2(8/8) − log2(2/8))/2 = (0 + 2)/2 = 1
  close(novelty([0, 1], pop, 8), 1);
  // [2,3]: −log2(1/8) = 3, item 3 (pop 0) clamped to 1 → 3; mean 3
  close(novelty([2, 3], pop, 8), 3);
});

test('popularity percentiles and bias: pop (0, 1, 1, 5)', () => {
  // item 0: 0 below → 0; items 1,2: 1 below + ½·1 tie → 1.5/3 = 50; item 3: 3 below → 100
  const pct = popularityPercentiles([0, 1, 1, 5]);
  assert.equal(Array.from(pct), [0, 50, 50, 100]);
  close(popularityBias([3, 1], pct), 75);
  close(popularityBias([3, 1], pct, 1), 100);
});

test('summary over users from training popularity', () => {
  // items a (3 users), b (1 user), c (no one); 3 active users
  const train = fromTriplets([['u1', 'a'], ['u2', 'a'], ['u3', 'a'], ['u1', 'b']], true);
  train.items.add('c');
  const pop = itemPopularity(train);
  assert.equal(Array.from(pop), [3, 1, 0]);
  assert.is(activeUsers(train), 3);
  const lists = new Map<number, number[]>([[0, [2]], [1, [0, 1]], [2, []]]);
  const r = summarizeBeyondAccuracy(lists, { k: 2, nItems: 3, popularity: pop, nUsers: 3, similarity: () => 0 });
  assert.is(r.users, 2);
  assert.is(r.emptyLists, 1);
  assert.is(r.diversityExcluded, 1);
  close(r.coverage, 1);
  close(r.diversity!, 1);
  // novelty: user0 [c] → log2(3) = 1.584963; user1 [a, b] → (0 + log2 3)/2 = 0.792481; mean 1.188722
  close(r.novelty, (Math.log2(3) + Math.log2(3) / 2) / 2);
  // percentiles: c 0, b 50, a 100 → user0 0, user1 75 → 37.5
  close(r.popularityBias, 37.5);
});



test('capped-precision@k is implicit\'s precision_at_k: Σ hits / Σ min(k, |held-out|) over users; precision@k divides by k', async () => {
  const { parseMetrics, scoreLists } = await import('../src/eval/evaluate.js');
  const { cappedPrecisionAtK } = await import('../src/eval/metrics.js');
  // user 0 holds out {1, 2} and gets [1, 5, 2, 7]: 2 hits, min(4, 2) = 2
  // user 1 holds out {3, 4, 5, 6, 7, 8} and gets [3, 9, 10, 11]: 1 hit, min(4, 6) = 4
  const heldOut = fromTriplets([[0, 1, 1], [0, 2, 1], ...[3, 4, 5, 6, 7, 8].map((i): [number, number, number] => [1, i, 1])]);
  const lists: Record<number, number[]> = { 0: [1, 5, 2, 7], 1: [3, 9, 10, 11] };
  // items outside the held-out set get indices past the map's (never relevant)
  const top = (u: number): number[] => lists[Number(heldOut.users.external(u))].map((i) => heldOut.items.index(i) ?? 100 + i);
  const r = scoreLists({ top }, heldOut, parseMetrics(['precision@4', 'capped-precision@4', 'implicit-precision@4']));
  close(r.values['precision@4'], (2 / 4 + 1 / 4) / 2);       // 0.375: the mean of per-user hits/k
  close(r.values['capped-precision@4'], (2 + 1) / (2 + 4));   // 0.5: a ratio of sums, not the mean 0.625 of 1 and 1/4
  close(r.values['implicit-precision@4'], 0.5, 1e-12, 'the alias is the same metric');
  // per user
  close(cappedPrecisionAtK([1, 5, 2, 7], new Set([1, 2]), 4), 1);
  close(cappedPrecisionAtK([3, 9, 10, 11], new Set([3, 4, 5, 6, 7, 8]), 4), 0.25);
});
test.run();
