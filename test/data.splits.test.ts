import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateInteractions, kFold, perUserHoldout, randomHoldout, temporalSplit, fromTriplets, type Interactions, type Split } from '../src/data/index.js';

// a small dataset whose interactions are identifiable by (user, item): no duplicate pairs
const X = generateInteractions({ users: 300, items: 200, interactions: 6000, seed: 7 });
const N = X.user.length;

/** key of each interaction (pairs are unique in X) */
function keys(x: Interactions): string[] {
  const out: string[] = [];
  for (let p = 0; p < x.user.length; p++) out.push(`${x.user[p]}:${x.item[p]}:${x.rating[p]}:${x.timestamp?.[p]}`);
  return out;
}

/** train ∩ test = ∅, train ∪ test = all, id maps shared. */
function assertPartition(s: Split, x: Interactions): void {
  assert.is(s.train.users, x.users);
  assert.is(s.test.items, x.items);
  const a = keys(s.train), b = keys(s.test);
  assert.is(a.length + b.length, x.user.length);
  const all = new Set(keys(x));
  const seen = new Set<string>();
  for (const k of [...a, ...b]) {
    assert.ok(all.has(k), `unknown interaction ${k}`);
    assert.not.ok(seen.has(k), `interaction ${k} in both sides`);
    seen.add(k);
  }
  assert.is(seen.size, all.size);
}

test('randomHoldout: partition, size, seeded', () => {
  const s = randomHoldout(X, { ratio: 0.2, seed: 1 });
  assertPartition(s, X);
  assert.is(s.test.user.length, Math.round(N * 0.2));
  assert.equal(keys(randomHoldout(X, { ratio: 0.2, seed: 1 }).test), keys(s.test));
  assert.not.equal(keys(randomHoldout(X, { ratio: 0.2, seed: 2 }).test), keys(s.test));
  assert.throws(() => randomHoldout(X, { ratio: 1, seed: 1 }), /ratio/);
});

test('perUserHoldout: ratio and leaveK per user, single-interaction users stay in train', () => {
  const x = fromTriplets([['a', '1', 1], ['a', '2', 2], ['a', '3', 3], ['a', '4', 4], ['b', '1', 5], ['c', '1', 1], ['c', '2', 2]]);
  const s = perUserHoldout(x, { leaveK: 1, seed: 3 });
  assertPartition(s, x);
  const testUsers = Array.from(s.test.user).map((u) => x.users.external(u)).sort();
  assert.equal(testUsers, ['a', 'c']);
  const s3 = perUserHoldout(x, { leaveK: 3, seed: 3 });
  // a has 4 → 3 in test; c has 2 → at most 1; b has 1 → none
  const count = (sp: Split, u: string): number => Array.from(sp.test.user).filter((k) => x.users.external(k) === u).length;
  assert.is(count(s3, 'a'), 3);
  assert.is(count(s3, 'c'), 1);
  assert.is(count(s3, 'b'), 0);

  const r = perUserHoldout(X, { ratio: 0.25, seed: 9 });
  assertPartition(r, X);
  const per = new Int32Array(X.users.size), perTest = new Int32Array(X.users.size);
  for (const u of X.user) per[u]++;
  for (const u of r.test.user) perTest[u]++;
  for (let u = 0; u < X.users.size; u++) {
    if (per[u] < 2) assert.is(perTest[u], 0);
    else assert.is(perTest[u], Math.min(Math.round(per[u] * 0.25), per[u] - 1));
  }
  assert.equal(keys(perUserHoldout(X, { ratio: 0.25, seed: 9 }).test), keys(r.test));
  assert.not.equal(keys(perUserHoldout(X, { ratio: 0.25, seed: 10 }).test), keys(r.test));
  assert.throws(() => perUserHoldout(X, { ratio: 0.2, leaveK: 1, seed: 1 }), /exactly one/);
});

test('temporalSplit: global and per user, by timestamp', () => {
  const s = temporalSplit(X, { ratio: 0.1 });
  assertPartition(s, X);
  assert.is(s.test.user.length, Math.round(N * 0.1));
  let maxTrain = -Infinity, minTest = Infinity;
  for (const t of s.train.timestamp!) maxTrain = Math.max(maxTrain, t);
  for (const t of s.test.timestamp!) minTest = Math.min(minTest, t);
  assert.ok(maxTrain <= minTest);

  const p = temporalSplit(X, { ratio: 0.2, perUser: true });
  assertPartition(p, X);
  const lastTrain = new Float64Array(X.users.size).fill(-Infinity), firstTest = new Float64Array(X.users.size).fill(Infinity);
  for (let k = 0; k < p.train.user.length; k++) lastTrain[p.train.user[k]] = Math.max(lastTrain[p.train.user[k]], p.train.timestamp![k]);
  for (let k = 0; k < p.test.user.length; k++) firstTest[p.test.user[k]] = Math.min(firstTest[p.test.user[k]], p.test.timestamp![k]);
  for (let u = 0; u < X.users.size; u++) {
    assert.ok(lastTrain[u] > -Infinity, 'every user keeps train data');
    assert.ok(lastTrain[u] <= firstTest[u]);
  }
  assert.throws(() => temporalSplit(fromTriplets([['a', 'b', 1]]), { ratio: 0.5 }), /timestamps/);
});

test('kFold: each interaction in exactly one test fold, sizes differ by ≤ 1, seeded', () => {
  for (const folds of [2, 5, 7]) {
    const f = kFold(X, { folds, seed: 11 });
    assert.is(f.length, folds);
    const count = new Map<string, number>();
    const sizes: number[] = [];
    for (const s of f) {
      assertPartition(s, X);
      sizes.push(s.test.user.length);
      for (const k of keys(s.test)) count.set(k, (count.get(k) ?? 0) + 1);
    }
    assert.is(count.size, N);
    for (const c of count.values()) assert.is(c, 1);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
    assert.is(sizes.reduce((a, b) => a + b, 0), N);
  }
  assert.equal(keys(kFold(X, { folds: 3, seed: 1 })[2].test), keys(kFold(X, { folds: 3, seed: 1 })[2].test));
  assert.not.equal(keys(kFold(X, { folds: 3, seed: 1 })[0].test), keys(kFold(X, { folds: 3, seed: 2 })[0].test));
  assert.throws(() => kFold(X, { folds: 1, seed: 1 }), /folds/);
});

test.run();
