/**
 * The leave-last protocol and sampled negatives: the split by timestamp (ties by input position),
 * validation beside test, users with too few interactions counted; the protocol's text form; the
 * validation set reaching fit; sampled negatives never interacted with, distinct, seeded; the
 * sampled metrics beside the full-ranking ones (library and CLI), and the errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromTriplets, type Interactions } from '../src/data/interactions.js';
import { leaveLastSplit } from '../src/data/leaveLast.js';
import { evaluate, formatProtocol, isSeeded, makeSplits, parseProtocol } from '../src/eval/evaluate.js';
import { sampleNegatives } from '../src/eval/sampledNegatives.js';
import { allModels } from '../src/models/registry.js';
import type { FitOptions, Model, ModelFactory } from '../src/models/types.js';
import { mulberry32 } from './helpers/random.js';

/** Rows (user, item, timestamp) → implicit interactions with timestamps, in the given order. */
function timed(rows: Array<[string, string, number]>): Interactions {
  return fromTriplets(rows.map(([u, i, t]) => [u, i, 1, t]), true);
}

function pairs(x: Interactions): string[] {
  return Array.from(x.user, (u, t) => `${x.users.external(u)}:${x.items.external(x.item[t])}`).sort();
}

test('leave-last:1 — the latest interaction to test, the one before to validation (also in train); ties by input position', () => {
  const x = timed([
    ['a', 'i1', 30], ['a', 'i2', 10], ['a', 'i3', 20], ['a', 'i4', 5],
    ['b', 'i1', 7], ['b', 'i2', 7], ['b', 'i3', 7], // a tie: input order decides, i3 is the latest
    ['c', 'i5', 1], ['c', 'i6', 2], // two interactions: a test item, no validation
    ['d', 'i7', 4], // one: no test
  ]);
  const s = leaveLastSplit(x, { k: 1 });
  assert.equal(pairs(s.test), ['a:i1', 'b:i3', 'c:i6']);
  assert.equal(pairs(s.validation), ['a:i3', 'b:i2']);
  assert.equal(pairs(s.train), ['a:i2', 'a:i3', 'a:i4', 'b:i1', 'b:i2', 'c:i5', 'd:i7']);
  assert.is(s.usersWithoutTest, 1);
  assert.is(s.usersWithoutValidation, 1);
  assert.ok(s.train.users === x.users && s.validation.items === x.items, 'the sides share the id maps');
  const two = leaveLastSplit(x, { k: 2 });
  // K = 2: a test side needs 3 interactions, a validation side 5
  assert.equal(pairs(two.test), ['a:i1', 'a:i3', 'b:i2', 'b:i3']);
  assert.equal(pairs(two.validation), []);
  assert.is(two.usersWithoutTest, 2);
  assert.is(two.usersWithoutValidation, 2);
  const five = leaveLastSplit(timed([['e', 'i1', 1], ['e', 'i2', 2], ['e', 'i3', 3], ['e', 'i4', 4], ['e', 'i5', 5]]), { k: 2 });
  assert.equal(pairs(five.test), ['e:i4', 'e:i5']);
  assert.equal(pairs(five.validation), ['e:i2', 'e:i3']);
  assert.equal(pairs(five.train), ['e:i1', 'e:i2', 'e:i3']);
  assert.throws(() => leaveLastSplit(fromTriplets([['a', 'i', 1]]), { k: 1 }), /needs timestamps/);
  assert.throws(() => leaveLastSplit(x, { k: 0 }), /K must be an integer ≥ 1/);
});

test('leave-last in the protocol layer: text form, deterministic, validation handed to fit', async () => {
  assert.equal(parseProtocol('leave-last:1'), { kind: 'leave-last', k: 1 });
  assert.is(formatProtocol({ kind: 'leave-last', k: 2 }), 'leave-last:2');
  assert.not.ok(isSeeded({ kind: 'leave-last', k: 1 }));
  assert.throws(() => parseProtocol('leave-last:0'), /leave-last:K needs an integer K ≥ 1/);
  assert.throws(() => parseProtocol('leave-last:x'), /leave-last:K/);
  assert.throws(() => makeSplits(fromTriplets([['a', 'i', 1], ['a', 'j', 1]]), { kind: 'leave-last', k: 1 }, 0), /needs timestamps/);
  const x = timed(Array.from({ length: 30 }, (_, t): [string, string, number] => [`u${t % 5}`, `i${t % 7}`, t]));
  assert.throws(() => makeSplits(x, { kind: 'leave-last', k: 1 }, 0, 2), /deterministic/);
  const [split] = makeSplits(x, { kind: 'leave-last', k: 1 }, 0);
  assert.is(split.validation!.user.length, 5);
  // a model that records what fit received
  const got: Array<FitOptions['validation']> = [];
  const inner = allModels.popularity();
  const spy: ModelFactory = () => ({
    name: 'spy', predictsRatings: false,
    fit: async (train, opts) => { got.push(opts?.validation); await inner.fit(train, opts); },
    predict: (u, i) => inner.predict(u, i),
    recommend: (u, k, o) => inner.recommend(u, k, o),
  } satisfies Model);
  const r = await evaluate({ data: x, modelName: 'spy', protocol: { kind: 'leave-last', k: 1 }, seed: 0, metrics: ['hit@10'], models: { spy } });
  assert.equal(pairs(got[0]!), pairs(split.validation!));
  assert.is(r.splits[0].validation, 5);
  assert.is(r.splits[0].usersWithoutValidation, 0);
  assert.is(r.usersEvaluated, 5);
});

test('sampled negatives: distinct, never interacted with (train or test), seeded; short users counted', () => {
  const rand = mulberry32(3);
  const rows: Array<[string, string, number]> = [];
  for (let u = 0; u < 20; u++) for (let j = 0; j < 4 + (u % 5); j++) rows.push([`u${u}`, `i${Math.floor(rand() * 60)}`, j]);
  const x = timed(rows);
  const { train, test: te } = leaveLastSplit(x, { k: 1 });
  const a = sampleNegatives(train, te, 20, 7), b = sampleNegatives(train, te, 20, 7), c = sampleNegatives(train, te, 20, 8);
  const history = new Map<number, Set<number>>();
  for (const side of [train, te]) side.user.forEach((u, t) => { if (!history.has(u)) history.set(u, new Set()); history.get(u)!.add(side.item[t]); });
  assert.is(a.byUser.size, new Set(te.user).size);
  for (const [u, negs] of a.byUser) {
    assert.is(negs.length, 20);
    assert.is(new Set(negs).size, 20, 'distinct');
    for (const i of negs) assert.not.ok(history.get(u)!.has(i), `user ${u} interacted with negative ${i}`);
    assert.equal([...negs], [...b.byUser.get(u)!], 'same seed, same negatives');
  }
  assert.ok([...a.byUser].some(([u, negs]) => negs.join() !== c.byUser.get(u)!.join()), 'another seed, other negatives');
  // more negatives than non-interacted items: all of them, counted
  const all = sampleNegatives(train, te, 1000, 7);
  assert.is(all.short, a.byUser.size);
  for (const [u, negs] of all.byUser) assert.is(negs.length, x.items.size - history.get(u)!.size);
  assert.throws(() => sampleNegatives(train, te, 0, 1), /N must be an integer ≥ 1/);
});

test('evaluate: sampled:<metric> beside the full ranking, one item among N + 1 ranks no lower than among all', async () => {
  const rand = mulberry32(5);
  const rows: Array<[string, string, number]> = [];
  for (let u = 0; u < 30; u++) for (let j = 0; j < 12; j++) rows.push([`u${u}`, `i${Math.floor(Math.abs(rand() - rand()) * 80)}`, j]);
  const x = timed(rows);
  const r = await evaluate({ data: x, modelName: 'popularity', protocol: { kind: 'leave-last', k: 1 }, seed: 0, metrics: ['hit@10', 'ndcg@10', 'coverage@10'], models: allModels, sampledNegatives: 20 });
  assert.equal(Object.keys(r.mean), ['hit@10', 'ndcg@10', 'coverage@10', 'sampled:hit@10', 'sampled:ndcg@10', 'fitSeconds', 'testSeconds']);
  assert.is(r.sampledNegatives, 20);
  assert.ok(r.mean['sampled:hit@10'] >= r.mean['hit@10']);
  assert.ok(r.mean['sampled:ndcg@10'] >= r.mean['ndcg@10']);
  assert.ok(r.mean['sampled:hit@10'] > 0 && r.mean['sampled:hit@10'] <= 1);
  assert.is(r.splits[0].sampledShort, 0);
  const again = await evaluate({ data: x, modelName: 'popularity', protocol: { kind: 'leave-last', k: 1 }, seed: 0, metrics: ['hit@10'], models: allModels, sampledNegatives: 20 });
  assert.is(again.mean['sampled:hit@10'], r.mean['sampled:hit@10']);
  const err = await evaluate({ data: x, modelName: 'popularity', protocol: { kind: 'leave-last', k: 1 }, seed: 0, metrics: ['coverage@10'], models: allModels, sampledNegatives: 20 }).then(() => null, (e: unknown) => e);
  assert.match((err as Error).message, /ask for a ranking metric with a cut-off/);
});

test('affinity eval --protocol leave-last:1 --sampled-negatives N; bad values exit non-zero', () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'affinity-leavelast-'));
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  try {
    const rand = mulberry32(9);
    const lines = ['user,item,rating,timestamp'];
    for (let u = 0; u < 25; u++) for (let j = 0; j < 10; j++) lines.push(`u${u},i${Math.floor(rand() * 50)},1,${1000 + j}`);
    const file = path.join(dir, 'x.csv');
    writeFileSync(file, lines.join('\n') + '\n');
    const r = run('eval', '--input', file, '--model', 'popularity,item-knn', '--protocol', 'leave-last:1', '--sampled-negatives', '30', '--quiet');
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /^2 models, leave-last:1, seed 0/);
    assert.match(r.stdout.split('\n')[1], /^model\s+hit@10\s+ndcg@10\s+sampled:hit@10\s+sampled:ndcg@10\s+fitSeconds/);
    const j = JSON.parse(run('eval', '--input', file, '--model', 'popularity', '--protocol', 'leave-last:1', '--sampled-negatives', '30', '--json', '--quiet').stdout);
    assert.is(j.sampledNegatives, 30);
    assert.ok(j.mean['sampled:hit@10'] >= j.mean['hit@10']);
    const bad = run('eval', '--input', file, '--model', 'popularity', '--protocol', 'leave-last:1', '--sampled-negatives', '0');
    assert.is.not(bad.status, 0);
    assert.match(bad.stderr, /--sampled-negatives/);
    const noRank = run('eval', '--input', file, '--model', 'popularity', '--protocol', 'leave-last:1', '--sampled-negatives', '5', '--metrics', 'coverage@10');
    assert.is.not(noRank.status, 0);
    assert.match(noRank.stderr, /needs a ranking metric with a cut-off/);
    writeFileSync(path.join(dir, 'nt.csv'), 'user,item,rating\nu1,i1,1\nu1,i2,1\n');
    const noTs = run('eval', '--input', path.join(dir, 'nt.csv'), '--model', 'popularity', '--protocol', 'leave-last:1');
    assert.is.not(noTs.status, 0);
    assert.match(noTs.stderr, /needs timestamps/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
