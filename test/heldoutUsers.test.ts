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
import type { Interactions } from '../src/data/interactions.js';
import { heldoutUsersSplit } from '../src/eval/heldoutUsers.js';
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

test('recall-capped@k = hits / min(k, |relevant|)', () => {
  assert.is(cappedRecallAtK([1, 2, 3], new Set([1, 2, 3, 4, 5, 6]), 3), 1);
  assert.is(cappedRecallAtK([1, 9, 3], new Set([1, 3]), 3), 1);
  assert.is(cappedRecallAtK([9, 8, 1], new Set([1, 3]), 3), 0.5);
  assert.throws(() => cappedRecallAtK([1], new Set(), 3), /relevant set is empty/);
});

test.after(() => engine.close());
test.run();
