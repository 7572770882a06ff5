/**
 * The heldout-users protocol (src/eval/heldoutUsers.ts): held-out users are disjoint from the
 * training users and drawn by seed; each one's interactions are exactly fold-in ∪ test with
 * ⌊0.2·n⌋ to test; parse/format; evaluate() fits history-ranking models without the held-out
 * users and ranks them from their fold-in items, and other models with the fold-in items in
 * training; recall-capped@k divides by min(k, |relevant|).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../src/engine/engine.js';
import { generateInteractions } from '../src/data/synthetic.js';
import { fromTriplets, interactionCount as interactionCountOf, type Interactions } from '../src/data/interactions.js';
import { heldoutUsersSplit } from '../src/eval/heldoutUsers.js';
import { sampleNegatives } from '../src/eval/sampledNegatives.js';
import { evaluate, formatProtocol, makeSplits, parseProtocol } from '../src/eval/evaluate.js';
import { cappedRecallAtK } from '../src/eval/rankingMetrics.js';
import { ndcgAtK } from '../src/eval/metrics.js';
import { EASE } from '../src/models/ease.js';
import { allModels } from '../src/models/registry.js';

const engine = new Engine({ threads: 1, backend: 'js' });
const x = generateInteractions({ users: 60, items: 40, interactions: 900, seed: 8 });

function pairs(d: Interactions, user?: number): string[] {
  const out: string[] = [];
  for (let p = 0; p < d.user.length; p++) if (user === undefined || d.user[p] === user) out.push(`${d.user[p]}:${d.item[p]}:${d.rating[p]}`);
  return out.sort();
}

test('held-out users are disjoint from training users; fold-in ∪ test is each one\'s data; ⌊0.2·n⌋ to test', () => {
  const s = heldoutUsersSplit(x, { users: 10, seed: 1 });
  assert.is(s.heldout.users.length, 10);
  assert.is(s.heldout.dropped, 0, 'every item of x has training users');
  const held = new Set(s.heldout.users);
  for (let p = 0; p < s.heldout.train.user.length; p++) assert.not.ok(held.has(s.heldout.train.user[p]));
  for (let p = 0; p < s.test.user.length; p++) assert.ok(held.has(s.test.user[p]));
  for (let p = 0; p < s.heldout.foldIn.user.length; p++) assert.ok(held.has(s.heldout.foldIn.user[p]));
  // train = training users + fold-in; everything is in exactly one of train and test
  assert.equal(pairs(s.train), [...pairs(s.heldout.train), ...pairs(s.heldout.foldIn)].sort());
  assert.equal([...pairs(s.train), ...pairs(s.test)].sort(), pairs(x));
  for (const u of s.heldout.users) {
    const n = pairs(x, u).length, nt = pairs(s.test, u).length;
    assert.is(nt, n >= 5 ? Math.floor(0.2 * n) : Math.max(1, Math.floor(0.2 * n)));
    assert.equal([...pairs(s.heldout.foldIn, u), ...pairs(s.test, u)].sort(), pairs(x, u));
  }
});

test('a held-out user\'s interactions with items no training user has are dropped (Liang et al.\'s unique_sid), counted, on neither side', async () => {
  // x plus, for users 0..29, one item only they have ('solo'), and an item users 0 and 1 share
  const rows: Array<[string, string, number]> = [];
  for (let p = 0; p < x.user.length; p++) rows.push([`u${x.user[p]}`, `i${x.item[p]}`, x.rating[p]]);
  for (let u = 0; u < 30; u++) rows.push([`u${u}`, `solo${u}`, 5]);
  rows.push(['u0', 'pair', 4], ['u1', 'pair', 4]);
  const d = fromTriplets(rows);
  const label = (i: number) => String(d.items.external(i));
  for (const seed of [1, 2, 3]) {
    const s = heldoutUsersSplit(d, { users: 20, seed });
    const held = new Set(s.heldout.users);
    const trained = new Set<number>();
    for (let p = 0; p < s.heldout.train.user.length; p++) trained.add(s.heldout.train.item[p]);
    let expectDropped = 0;
    for (let p = 0; p < d.user.length; p++) if (held.has(d.user[p]) && !trained.has(d.item[p])) expectDropped++;
    const soloHeld = s.heldout.users.filter((u) => Number(String(d.users.external(u)).slice(1)) < 30).length;
    assert.ok(expectDropped >= soloHeld && soloHeld > 0, `seed ${seed}: ${soloHeld} held-out users with a solo item`);
    assert.is(s.heldout.dropped, expectDropped);
    // fold-in and test items are all training users' items; nothing else is lost
    for (const part of [s.heldout.foldIn, s.test]) for (let p = 0; p < part.user.length; p++) assert.ok(trained.has(part.item[p]), `seed ${seed}: ${label(part.item[p])} reached a held-out side`);
    assert.is(interactionCountOf(s.train) + interactionCountOf(s.test) + s.heldout.dropped, d.user.length);
    for (const u of s.heldout.users) {
      let n = 0;
      for (let p = 0; p < d.user.length; p++) if (d.user[p] === u && trained.has(d.item[p])) n++;
      const nt = pairs(s.test, u).length;
      assert.is(nt, n >= 5 ? Math.floor(0.2 * n) : n >= 2 ? Math.max(1, Math.floor(0.2 * n)) : 0);
      assert.is(pairs(s.heldout.foldIn, u).length + nt, n);
    }
  }
  const protocol = parseProtocol('heldout-users:20');
  const r = await evaluate({ data: d, protocol, seed: 1, metrics: ['ndcg@10'], models: allModels, engine, modelName: 'popularity' });
  assert.is(r.splits[0].heldoutDropped, heldoutUsersSplit(d, { users: 20, seed: 1 }).heldout.dropped);
});

test('the split is seeded: same seed, same split; another seed, other users; a fraction counts users', () => {
  const a = heldoutUsersSplit(x, { users: 10, seed: 1 }), b = heldoutUsersSplit(x, { users: 10, seed: 1 }), c = heldoutUsersSplit(x, { users: 10, seed: 2 });
  assert.equal(Array.from(a.heldout.users), Array.from(b.heldout.users));
  assert.equal(pairs(a.test), pairs(b.test));
  assert.not.equal(Array.from(a.heldout.users), Array.from(c.heldout.users));
  assert.is(heldoutUsersSplit(x, { users: 0.25, seed: 1 }).heldout.users.length, 15);
  assert.is(heldoutUsersSplit(x, { users: 10, testRatio: 0.5, seed: 1 }).heldout.users.length, 10);
});

test('parse, format and bad arguments', () => {
  assert.equal(parseProtocol('heldout-users:100'), { kind: 'heldout-users', users: 100, testRatio: 0.2 });
  assert.equal(parseProtocol('heldout-users:0.1:0.3'), { kind: 'heldout-users', users: 0.1, testRatio: 0.3 });
  assert.is(formatProtocol({ kind: 'heldout-users', users: 100, testRatio: 0.2 }), 'heldout-users:100');
  assert.is(formatProtocol({ kind: 'heldout-users', users: 0.1, testRatio: 0.3 }), 'heldout-users:0.1:0.3');
  assert.throws(() => parseProtocol('heldout-users:'), /held-out users must be a count ≥ 1 or a fraction/);
  assert.throws(() => parseProtocol('heldout-users:2.5'), /held-out users must be a count ≥ 1 or a fraction/);
  assert.throws(() => parseProtocol('heldout-users:10:1.5'), /test ratio must be in \(0, 1\)/);
  assert.throws(() => parseProtocol('heldout-users:10:0.2:9'), /use heldout-users:USERS/);
  assert.throws(() => makeSplits(x, { kind: 'heldout-users', users: 60, testRatio: 0.2 }, 0), /leave no training user/);
  assert.is(makeSplits(x, parseProtocol('heldout-users:5'), 0, 3).length, 3);
});

test('evaluate: history-ranking models fit without the held-out users, others with their fold-in items', async () => {
  const splits = makeSplits(x, parseProtocol('heldout-users:12'), 4);
  const common = { data: x, protocol: parseProtocol('heldout-users:12'), seed: 4, splits, metrics: ['ndcg@10', 'recall-capped@5', 'auc'], models: allModels, engine };
  const ease = await evaluate({ ...common, modelName: 'ease', params: { lambda: 5 } });
  const pop = await evaluate({ ...common, modelName: 'popularity' });
  assert.is(ease.splits[0].foldIn, 'history');
  assert.is(pop.splits[0].foldIn, 'fit');
  assert.is(ease.usersEvaluated, 12);
  assert.is(pop.usersEvaluated, 12);
  for (const r of [ease, pop]) for (const k of ['ndcg@10', 'recall-capped@5', 'auc']) assert.ok(r.mean[k] >= 0 && r.mean[k] <= 1, `${r.model} ${k} ${r.mean[k]}`);
  // the same model ranked directly from the fold-in histories gives the same NDCG
  const s = splits[0];
  const model = new EASE({ lambda: 5 });
  await model.fit(s.heldout!.train, { engine });
  let sum = 0;
  for (const u of s.heldout!.users) {
    const items: number[] = [], relevant = new Set<number>();
    for (let p = 0; p < s.heldout!.foldIn.user.length; p++) if (s.heldout!.foldIn.user[p] === u) items.push(s.heldout!.foldIn.item[p]);
    for (let p = 0; p < s.test.user.length; p++) if (s.test.user[p] === u) relevant.add(s.test.item[p]);
    sum += ndcgAtK(model.recommendForHistory({ items }, 10, { engine }).ids, relevant, 10);
  }
  assert.ok(Math.abs(ease.mean['ndcg@10'] - sum / 12) < 1e-12, `${ease.mean['ndcg@10']} vs ${sum / 12}`);
});

test('sampled metrics: a history-ranking model ranks each held-out user\'s test items and negatives from the fold-in items', async () => {
  const protocol = parseProtocol('heldout-users:12');
  const splits = makeSplits(x, protocol, 4);
  const r = await evaluate({ data: x, protocol, seed: 4, splits, metrics: ['hit@5', 'ndcg@5'], models: allModels, engine, modelName: 'ease', params: { lambda: 5 }, sampledNegatives: 8 });
  assert.is(r.splits[0].foldIn, 'history');
  // by hand: EASE fitted on the training users, each held-out user's candidates (test ∪ 8 negatives) ranked from the fold-in items
  const s = splits[0], h = s.heldout!;
  const negatives = sampleNegatives(s.train, s.test, 8, s.seed);
  const model = new EASE({ lambda: 5 });
  await model.fit(h.train, { engine });
  let hits = 0, ndcg = 0;
  for (const u of h.users) {
    const items: number[] = [], relevant = new Set<number>();
    for (let p = 0; p < h.foldIn.user.length; p++) if (h.foldIn.user[p] === u) items.push(h.foldIn.item[p]);
    for (let p = 0; p < s.test.user.length; p++) if (s.test.user[p] === u) relevant.add(s.test.item[p]);
    const candidates = Int32Array.from(new Set([...relevant, ...negatives.byUser.get(u)!])).sort();
    const list = model.recommendForHistory({ items }, candidates.length, { engine, items: candidates }).ids;
    assert.is(list.length, candidates.length);
    hits += Array.from(list.slice(0, 5)).some((i) => relevant.has(i)) ? 1 : 0;
    ndcg += ndcgAtK(list, relevant, 5);
  }
  assert.ok(hits > 0, 'the synthetic data gives some hits');
  assert.ok(Math.abs(r.mean['sampled:hit@5'] - hits / 12) < 1e-12, `${r.mean['sampled:hit@5']} vs ${hits / 12}`);
  assert.ok(Math.abs(r.mean['sampled:ndcg@5'] - ndcg / 12) < 1e-12, `${r.mean['sampled:ndcg@5']} vs ${ndcg / 12}`);
});

test('recall-capped@k = hits / min(k, |relevant|)', () => {
  assert.is(cappedRecallAtK([1, 2, 3], new Set([1, 2, 3, 4, 5, 6]), 3), 1);
  assert.is(cappedRecallAtK([1, 9, 3], new Set([1, 3]), 3), 1);
  assert.is(cappedRecallAtK([9, 8, 1], new Set([1, 3]), 3), 0.5);
  assert.throws(() => cappedRecallAtK([1], new Set(), 3), /relevant set is empty/);
});

test.after(() => engine.close());
test.run();
