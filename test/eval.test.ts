import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fcp, mae, mse, ndcgAtK, parseMetric, precisionAtK, recallAtK, rmse } from '../src/eval/metrics.js';
import { evaluate, parseProtocol, scoreFold } from '../src/eval/evaluate.js';
import { fromTriplets, type Interactions } from '../src/data/interactions.js';
import { neighbourhoodModels } from '../src/models/neighbourhood/index.js';
import type { Model, ModelFactory } from '../src/models/types.js';
import { mulberry32 } from './helpers/random.js';
import { Command } from 'commander';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CliEdge } from '../src/cli/edge.js';
import { register as registerEval } from '../src/cli/commands/eval.js';

const close = (got: number, want: number, eps = 1e-9, what = '') =>
  assert.ok(Math.abs(got - want) <= eps, `${what} got ${got}, want ${want}`);

test('rmse, mae, mse by hand', () => {
  const truth = [4, 3, 5, 1], est = [3.5, 3, 4, 2];
  // errors 0.5, 0, 1, −1 → squares 0.25, 0, 1, 1
  close(mse(truth, est), 2.25 / 4);
  close(rmse(truth, est), Math.sqrt(2.25 / 4));
  close(mae(truth, est), 2.5 / 4);
  assert.throws(() => rmse([], []), /no predictions/);
  assert.throws(() => mae([1], [1, 2]), /1 true ratings but 2 estimates/);
});

test('fcp by hand, with Surprise\'s averaging over users with non-zero counts', () => {
  // user 1: truth (5, 3, 1), est (4, 2, 3): ordered pairs with r_a > r_b: (5,3) est 4>2 concordant,
  //   (5,1) 4>3 concordant, (3,1) 2<3 → discordant (seen from (1,3): est 3 ≥ 2 and r 1 < 3) → nc=2, nd=1
  // user 2: truth (2, 4), est (3, 3): (4,2) est tie → not concordant; (2,4): 3 ≥ 3 and 2 < 4 → nd=1, nc=0
  // nc = mean over users with nc>0 = 2 (user 2 excluded), nd = (1 + 1)/2 = 1 → fcp = 2/3
  const users = [1, 1, 1, 2, 2], truth = [5, 3, 1, 2, 4], est = [4, 2, 3, 3, 3];
  close(fcp(users, truth, est), 2 / 3);
  // a perfect ranking
  close(fcp([7, 7, 7], [1, 2, 3], [1.5, 2.5, 3.5]), 1);
  assert.throws(() => fcp([1, 2], [3, 4], [3, 4]), /no concordant or discordant pairs/);
});

test('ndcg@k, precision@k, recall@k by hand (binary relevance)', () => {
  const rel = new Set([10, 20, 30]);
  const rec = [20, 5, 30, 6];
  // hits at ranks 1 and 3: DCG = 1 + 1/log2(4) = 1.5 ; IDCG@4 = 1 + 1/log2 3 + 1/2
  close(ndcgAtK(rec, rel, 4), 1.5 / (1 + 1 / Math.log2(3) + 0.5));
  close(ndcgAtK(rec, rel, 2), 1 / (1 + 1 / Math.log2(3)));
  close(precisionAtK(rec, rel, 4), 2 / 4);
  close(precisionAtK(rec, rel, 10), 2 / 10); // divides by k even when the list is shorter
  close(recallAtK(rec, rel, 2), 1 / 3);
  close(recallAtK(rec, rel, 4), 2 / 3);
  close(ndcgAtK([10, 20, 30], rel, 3), 1);
  close(ndcgAtK([1, 2, 3], rel, 3), 0);
});

test('parseMetric and parseProtocol: names, cut-offs and errors', () => {
  assert.equal(parseMetric('ndcg@10'), { key: 'ndcg@10', kind: 'ranking', name: 'ndcg', k: 10 });
  assert.equal(parseMetric('rmse'), { key: 'rmse', kind: 'rating', name: 'rmse' });
  assert.throws(() => parseMetric('bogus'), /unknown metric 'bogus'/);
  assert.throws(() => parseMetric('ndcg'), /needs a cut-off/);
  assert.throws(() => parseMetric('ndcg@0'), /positive integer/);
  assert.equal(parseProtocol('kfold:5'), { kind: 'kfold', folds: 5 });
  assert.equal(parseProtocol('holdout:0.2'), { kind: 'holdout', ratio: 0.2 });
  assert.throws(() => parseProtocol('kfold:1'), /≥ 2/);
  assert.throws(() => parseProtocol('holdout:1.5'), /\(0, 1\)/);
  assert.equal(parseProtocol('loo'), { kind: 'leave-k', k: 1 });
  assert.throws(() => parseProtocol('bogus:3'), /unknown protocol 'bogus:3'/);
});

/** A model that recommends a fixed list per user and predicts a fixed value. */
function fakeModel(lists: Record<number, number[]>, value = 3): Model {
  return {
    name: 'fake', predictsRatings: true,
    async fit() { /* nothing */ },
    predict: () => ({ estimate: value, impossible: false }),
    recommend: (u, k) => { const ids = Int32Array.from((lists[u] ?? []).slice(0, k)); return { ids, scores: new Float32Array(ids.length) }; },
  };
}

test('scoreFold: ranking metrics average over test users only, rating metrics over predictions', () => {
  // test: user 0 holds out items {1, 2}; user 1 holds out {3}; user 2 has no test items
  const test_: Interactions = fromTriplets([[0, 1, 4], [0, 2, 2], [1, 3, 5]]);
  // in fromTriplets the dense indices are first-seen: users 0→0, 1→1 ; items 1→0, 2→1, 3→2
  const model = fakeModel({ 0: [0, 5], 1: [7, 8], 2: [2] });
  const r = scoreFold(model, test_, ['precision@2', 'recall@2', 'ndcg@2', 'rmse', 'mae'].map(parseMetric));
  // user 0: hits 1 of 2 at rank 1 → p = 1/2, r = 1/2, ndcg = 1/(1 + 1/log2 3); user 1: no hits
  close(r['precision@2'], (0.5 + 0) / 2);
  close(r['recall@2'], (0.5 + 0) / 2);
  close(r['ndcg@2'], 1 / (1 + 1 / Math.log2(3)) / 2);
  close(r.rmse, Math.sqrt((1 + 1 + 4) / 3));
  close(r.mae, (1 + 1 + 2) / 3);
});

function synthetic(users: number, items: number, n: number, seed: number): Interactions {
  const rnd = mulberry32(seed);
  const bu = Array.from({ length: users }, () => rnd() - 0.5), bi = Array.from({ length: items }, () => rnd() * 2 - 1);
  const seen = new Set<string>();
  const rows: Array<[number, number, number]> = [];
  while (rows.length < n) {
    const u = Math.floor(rnd() * users), i = Math.floor(rnd() * items);
    if (seen.has(`${u}:${i}`)) continue;
    seen.add(`${u}:${i}`);
    rows.push([u, i, Math.min(5, Math.max(1, Math.round(3.5 + bu[u] + bi[i] + (rnd() - 0.5))))]);
  }
  return fromTriplets(rows);
}

test('evaluate: k-fold result shape, exact keys, mean/std over folds, determinism', async () => {
  const data = synthetic(60, 40, 1500, 1);
  const metrics = ['rmse', 'mae', 'fcp', 'ndcg@5'];
  const r = await evaluate({ data, modelName: 'baseline', params: {}, protocol: { kind: 'kfold', folds: 3 }, seed: 4, metrics, models: neighbourhoodModels });
  assert.is(r.model, 'baseline');
  assert.equal(r.protocol, { kind: 'kfold', folds: 3 });
  assert.is(r.seed, 4);
  assert.is(r.folds.length, 3);
  for (const f of r.folds) assert.equal(Object.keys(f).sort(), [...metrics, 'fitSeconds', 'testSeconds'].sort());
  const m = r.folds.reduce((s, f) => s + f.rmse, 0) / 3;
  close(r.mean.rmse, m, 1e-12);
  close(r.std.rmse, Math.sqrt(r.folds.reduce((s, f) => s + (f.rmse - m) ** 2, 0) / 3), 1e-12);
  // a bias model beats the global mean on this biased synthetic data
  const mean = await evaluate({ data, modelName: 'knn-basic', params: { min_k: 1000 }, protocol: { kind: 'kfold', folds: 3 }, seed: 4, metrics: ['rmse'], models: neighbourhoodModels });
  assert.ok(r.mean.rmse < mean.mean.rmse, `baseline ${r.mean.rmse} vs global mean ${mean.mean.rmse}`);
  const again = await evaluate({ data, modelName: 'baseline', params: {}, protocol: { kind: 'kfold', folds: 3 }, seed: 4, metrics, models: neighbourhoodModels });
  assert.equal(again.folds.map((f) => f.rmse), r.folds.map((f) => f.rmse));
  const hold = await evaluate({ data, modelName: 'knn-means', params: { k: 10 }, protocol: { kind: 'holdout', ratio: 0.25 }, seed: 1, metrics: ['mae'], models: neighbourhoodModels });
  assert.is(hold.folds.length, 1);
  assert.equal(hold.params, { k: 10 });
  close(hold.std.mae, 0);
});

test('evaluate: ranking-only models, unknown names and bad metrics are clear errors', async () => {
  const data = synthetic(40, 30, 700, 2);
  const models: Record<string, ModelFactory> = neighbourhoodModels;
  const base = { data, params: {}, protocol: { kind: 'kfold', folds: 2 } as const, seed: 1, models };
  await rejects(evaluate({ ...base, modelName: 'item-knn', metrics: ['rmse'] }), /does not predict ratings.*rmse/);
  await rejects(evaluate({ ...base, modelName: 'svd-nope', metrics: ['rmse'] }), /unknown model 'svd-nope'/);
  await rejects(evaluate({ ...base, modelName: 'baseline', metrics: ['rsme'] }), /unknown metric 'rsme'/);
  await rejects(evaluate({ ...base, modelName: 'baseline', metrics: [] }), /no metrics/);
  await rejects(evaluate({ ...base, modelName: 'baseline', params: { bogus: 1 }, metrics: ['rmse'] }), /unknown parameter 'bogus'/);
  const r = await evaluate({ ...base, modelName: 'item-knn', metrics: ['ndcg@10', 'precision@5', 'recall@10'] });
  for (const key of ['ndcg@10', 'precision@5', 'recall@10']) assert.ok(r.mean[key] >= 0 && r.mean[key] <= 1, key);
});

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  try { await p; } catch (e) { assert.match((e as Error).message, re); return; }
  assert.unreachable(`expected rejection matching ${re}`);
}


async function cli(...args: string[]): Promise<string> {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  registerEval(program, new CliEdge());
  for (const c of program.commands) c.exitOverride();
  let out = '';
  const [ow, ew] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((chunk: string) => { out += chunk; return true; }) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try { await program.parseAsync(args, { from: 'user' }); } finally { process.stdout.write = ow; process.stderr.write = ew; }
  return out;
}

test('cli eval: --json prints the one result object; the table has folds, mean, std; bad arguments', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'affinity-eval-'));
  const input = path.join(dir, 'ratings.csv');
  const x = synthetic(50, 30, 900, 3);
  writeFileSync(input, 'user,item,rating\n' + Array.from(x.user, (u, p) => `u${x.users.external(u)},i${x.items.external(x.item[p])},${x.rating[p]}`).join('\n') + '\n');
  const json = JSON.parse(await cli('eval', '--input', input, '--model', 'knn-means', '--params', 'k=20,user_based=false', '--protocol', 'kfold:3', '--seed', '5', '--metrics', 'rmse,fcp,ndcg@5', '--json'));
  assert.is(json.model, 'knn-means');
  assert.equal(json.params, { k: 20, user_based: false });
  assert.equal(json.protocol, { kind: 'kfold', folds: 3 });
  assert.is(json.seed, 5);
  assert.is(json.folds.length, 3);
  assert.equal(Object.keys(json.mean).sort(), ['fcp', 'fitSeconds', 'ndcg@5', 'rmse', 'testSeconds']);
  const table = await cli('eval', '--input', input, '--model', 'baseline', '--protocol', 'holdout:0.2', '--metrics', 'rmse,mae');
  const lines = table.trim().split('\n');
  assert.match(lines[0], /^baseline, holdout:0.2, seed 0/);
  assert.match(lines[1], /rmse\s+mae\s+fitSeconds\s+testSeconds/);
  assert.match(lines[2], /^fold 1\s+\d\.\d{4}/);
  assert.match(lines[3], /^mean/);
  assert.match(lines[4], /^std/);
  for (const [bad, re] of [
    [['--model', 'nope'], /unknown model 'nope'/], [['--model', 'baseline', '--protocol', 'kfold:x'], /protocol/],
    [['--model', 'baseline', '--metrics', 'rmse,bogus'], /unknown metric 'bogus'/], [['--model', 'baseline', '--params', 'k'], /key=value/],
    [['--model', 'item-knn', '--metrics', 'rmse'], /does not predict ratings/], [['--model', 'knn-basic', '--params', 'k=0'], /k must be/],
    [['--model', 'baseline', '--seed', 'abc'], /--seed must be an integer/],
  ] as Array<[string[], RegExp]>) {
    let msg = '';
    try { await cli('eval', '--input', input, ...bad); } catch (e) { msg = (e as Error).message; }
    assert.match(msg, re);
    assert.not.ok(msg.includes('\n'), 'one line');
  }
});

test.run();
