import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fromTriplets, type Interactions } from '../src/data/interactions.js';
import { splitByMask } from '../src/data/splits.js';
import { generateInteractions } from '../src/data/synthetic.js';
import { bucketOf, coldStartBuckets, evaluateColdStart, historyLengths, removeUsersProtocol, runColdStartProtocol } from '../src/eval/coldStart.js';
import { Popularity } from '../src/models/content/index.js';

const close = (a: number | null, b: number, eps = 1e-9): void => assert.ok(a !== null && Math.abs(a - b) <= eps, `${a} ≠ ${b}`);

/** train = rows without the test flag, test = rows with it; one shared id map. */
function split(rows: Array<[string, string, number, boolean]>): { train: Interactions; test: Interactions } {
  const x = fromTriplets(rows.map(([u, i, r]) => [u, i, r]));
  return splitByMask(x, Uint8Array.from(rows.map((r) => (r[3] ? 1 : 0))));
}

test('bucket boundaries 0 | 1–5 | 6–20 | 21–50 | >50', () => {
  assert.equal([0, 1, 5, 6, 20, 21, 50, 51, 1000].map(bucketOf), ['0', '1-5', '1-5', '6-20', '6-20', '21-50', '21-50', '>50', '>50']);
  assert.throws(() => bucketOf(-1), /≥ 0/);
});

test('coldStartBuckets groups test users by training history length', () => {
  // u0: 0 training items, u1: 3, u2: 7, u3: 25, u4: 60; every user has one test item 'T'
  const rows: Array<[string, string, number, boolean]> = [];
  const counts: Record<string, number> = { u0: 0, u1: 3, u2: 7, u3: 25, u4: 60 };
  for (const [u, n] of Object.entries(counts)) {
    for (let j = 0; j < n; j++) rows.push([u, `i${j}`, 4, false]);
    rows.push([u, 'T', 5, true]);
  }
  rows.push(['u1', 'i0', 3, false]); // a repeated pair counts once
  const { train, test } = split(rows);
  const len = historyLengths(train);
  assert.equal(Array.from(len), [0, 3, 7, 25, 60]);
  const b = coldStartBuckets(train, test);
  assert.equal(b.map((x) => x.bucket), ['0', '1-5', '6-20', '21-50', '>50']);
  assert.equal(b.map((x) => x.members), [[0], [1], [2], [3], [4]]);
  // items: T has no training users → bucket '0'
  const bi = coldStartBuckets(train, test, { by: 'item' });
  assert.equal(bi[0].members, [train.items.index('T')]);
  assert.throws(() => coldStartBuckets(train, fromTriplets([['u', 'i']])), /share their id maps/);
});

test('evaluateColdStart per bucket, hand-checked with popularity', async () => {
  // training popularity: a 3, b 1, c 1, d 0 (item index order a, b, c, d... by first appearance)
  // u0 is new; u1 has a, b; u2 has a; u3 has a, c; u5 has b and a low-rated test item
  const { train, test } = split([
    ['u1', 'a', 5, false], ['u1', 'b', 4, false], ['u2', 'a', 4, false], ['u3', 'a', 3, false], ['u3', 'c', 5, false], ['u5', 'b', 4, false],
    ['u0', 'a', 5, true], ['u0', 'd', 5, true], ['u1', 'c', 5, true], ['u2', 'd', 5, true], ['u5', 'c', 2, true],
  ]);
  const m = new Popularity();
  await m.fit(train);
  const r = evaluateColdStart(m, train, test, { k: 2, minRating: 4 });
  assert.is(r.k, 2);
  const row = (b: string) => r.coldStart.find((x) => x.bucket === b)!;
  // u0 (bucket 0): list [a, b] (b before c on the tie), relevant {a, d}: P = 1/2, R = 1/2, HR 1, MRR 1
  assert.is(row('0').users, 1);
  close(row('0').mean.precision, 0.5); close(row('0').mean.recall, 0.5); close(row('0').mean.hitRate, 1); close(row('0').mean.mrr, 1);
  // bucket 1-5: u1 list [c, d] vs {c} → R 1, MRR 1;  u2 list [b, c] vs {d} → R 0, MRR 0;  u5: only a rating-2 item → excluded
  assert.is(row('1-5').users, 2);
  assert.is(row('1-5').excluded, 1);
  close(row('1-5').mean.recall, 0.5); close(row('1-5').mean.mrr, 0.5); close(row('1-5').mean.precision, 0.25);
  // F1: u1 P = 1/2, R = 1 → 2/3; u2 0 → mean 1/3
  close(row('1-5').mean.f1, 1 / 3);
  assert.is(row('>50').users, 0);
  assert.is(row('>50').mean.recall, null);
  // JSON shape
  const json = JSON.parse(JSON.stringify(r));
  assert.equal(Object.keys(json.coldStart[0]), ['bucket', 'users', 'excluded', 'mean']);
  // by item: d (0 training users) is found by nobody; a and c (1-5 users) are found by u0 and u1
  const ri = evaluateColdStart(m, train, test, { k: 2, minRating: 4, by: 'item', metrics: ['recall', 'hitRate'] });
  const irow = (b: string) => ri.coldStart.find((x) => x.bucket === b)!;
  assert.is(irow('0').users, 2); // u0 and u2 have d
  close(irow('0').mean.recall, 0);
  assert.is(irow('1-5').users, 2); // u0 (a) and u1 (c)
  close(irow('1-5').mean.hitRate, 1);
  assert.throws(() => evaluateColdStart(m, train, test, { k: 0 }), /k must be a positive integer/);
  assert.throws(() => evaluateColdStart(m, train, test, { metrics: ['bogus' as never] }), /unknown cold-start metric/);
});

test('removeUsersProtocol: 10% of users entirely in test, seeded', () => {
  const x = generateInteractions({ users: 200, items: 100, interactions: 4000, seed: 3 });
  const s = removeUsersProtocol(x, { fraction: 0.1, seed: 9 });
  const active = new Set(x.user).size;
  assert.is(s.removedUsers.length, Math.round(active * 0.1));
  const removed = new Set(s.removedUsers);
  // no removed user in train; every interaction of a removed user in test; nothing else in test
  for (const u of s.train.user) assert.not.ok(removed.has(u));
  let expected = 0;
  for (const u of x.user) if (removed.has(u)) expected++;
  assert.is(s.test.user.length, expected);
  for (const u of s.test.user) assert.ok(removed.has(u));
  assert.is(s.train.user.length + s.test.user.length, x.user.length);
  // reproducible, and the seed matters
  assert.equal(Array.from(removeUsersProtocol(x, { seed: 9 }).removedUsers), Array.from(s.removedUsers));
  assert.not.equal(Array.from(removeUsersProtocol(x, { seed: 10 }).removedUsers), Array.from(s.removedUsers));
  // warm hold-out: the other users keep ≥ 1 training interaction and lose some to test
  const w = removeUsersProtocol(x, { seed: 9, warmRatio: 0.2 });
  assert.ok(w.test.user.length > expected);
  const trainUsers = new Set(w.train.user);
  for (const u of new Set(x.user)) if (!removed.has(u)) assert.ok(trainUsers.has(u));
  assert.throws(() => removeUsersProtocol(x, { fraction: 0, seed: 1 }), /fraction must be in \(0, 1\)/);
  assert.throws(() => removeUsersProtocol(fromTriplets([['u', 'i']]), { seed: 1 }), /rounds to 0 users/);
});

test('runColdStartProtocol: new users land in bucket 0', async () => {
  const x = generateInteractions({ users: 150, items: 80, interactions: 3000, seed: 5 });
  const r = await runColdStartProtocol(new Popularity(), x, { seed: 1, warmRatio: 0.2, k: 5 });
  assert.is(r.coldStart[0].bucket, '0');
  assert.is(r.coldStart[0].users + r.coldStart[0].excluded, r.removedUsers);
  assert.ok(r.coldStart[0].mean.recall! >= 0);
});

test.run();
