/**
 * Sizes beyond the data (issue 17, item 2): a k larger than the catalogue lists the whole
 * catalogue on every path (library recommend / recommendBatch / similarItems, precompute --k and
 * --similar-items, eval's metric cut-offs, similarity --k) with buffers sized by the catalogue,
 * not by k; and hyper-parameters that size arrays beyond the machine (factors=1e9) are refused
 * naming the parameter, the array and the limit. k = 2^40 is used because no machine can allocate
 * buffers of that length: sized by k, the call fails; sized by the catalogue, it cannot.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { affinity } from './helpers/cli.js';
import { fromTriplets, type Interactions } from '../src/data/interactions.js';
import { parseItemFeatures } from '../src/data/sideInfo.js';
import { attachSideInfo } from '../src/models/attachSideInfo.js';
import { allModels } from '../src/models/registry.js';
import { evaluate, parseProtocol } from '../src/eval/evaluate.js';
import os from 'node:os';
import { Rng } from '../src/data/random.js';

const HUGE = 2 ** 40;
const tmp = mkdtempSync(path.join(tmpdir(), 'affinity-bounds-'));

/** 40 users × 25 items, ratings 1–5, each user ~ 8 items */
function data(): Interactions {
  const rng = new Rng(5);
  const rows: Array<[string, string, number]> = [];
  for (let a = 0; a < 40; a++) {
    const seen = new Set<number>();
    while (seen.size < 8) seen.add(Math.floor(rng.next() * 25));
    for (const b of seen) rows.push([`u${a}`, `i${b}`, 1 + Math.floor(rng.next() * 5)]);
  }
  return fromTriplets(rows);
}

const items = parseItemFeatures(`id,text\n${Array.from({ length: 25 }, (_, b) => `i${b},w${b % 5} w${b % 3} t${b % 7}`).join('\n')}\n`, { format: 'csv', textColumns: ['text'] });

test('every model: recommend, recommendBatch, similarItems(Batch) with k = 2^40 equal those with k = the catalogue size', async () => {
  const x = data();
  const n = x.items.size;
  for (const [name, make] of Object.entries(allModels)) {
    const m = make(name === 'hybrid' ? {} : { ...(/svd|nmf|als|bpr|mf/.test(name) ? { factors: 4 } : {}) });
    attachSideInfo(m, { items });
    await m.fit(x);
    for (const u of [0, 7, 39]) {
      if (name === 'random') {
        // random scores each call: the lists differ, their lengths (the whole catalogue) do not
        assert.is(m.recommend(u, HUGE).ids.length, m.recommend(u, n).ids.length, `${name} recommend(${u}, 2^40)`);
        continue;
      }
      assert.equal(m.recommend(u, HUGE), m.recommend(u, n), `${name} recommend(${u}, 2^40)`);
      assert.equal(m.recommend(u, HUGE, { filterSeen: false }), m.recommend(u, n, { filterSeen: false }), `${name} recommend(${u}, 2^40) with seen items`);
    }
    if (m.recommendBatch) {
      const users = Int32Array.of(0, 7, 39);
      assert.equal(await m.recommendBatch(users, HUGE), await m.recommendBatch(users, n), `${name} recommendBatch`);
    }
    let similar = false;
    try { m.similarItems?.(0, 1); similar = m.similarItems !== undefined; } catch { /* not this orientation */ }
    if (similar) assert.equal(m.similarItems!(3, HUGE), m.similarItems!(3, n), `${name} similarItems`);
    if (similar && m.similarItemsBatch) assert.equal(await m.similarItemsBatch(Int32Array.of(1, 3), HUGE), await m.similarItemsBatch(Int32Array.of(1, 3), n), `${name} similarItemsBatch`);
  }
});

test('knn neighbour count k = 2^40 (a model parameter) keeps every neighbour, as k = the number of items does', async () => {
  const x = data();
  for (const name of ['knn-basic', 'knn-means', 'knn-zscore', 'knn-baseline']) {
    const a = allModels[name]({ k: HUGE }), b = allModels[name]({ k: x.items.size });
    await a.fit(x); await b.fit(x);
    for (const [u, i] of [[0, 3], [5, 9], [20, 24]]) assert.equal(a.predict(u, i), b.predict(u, i), `${name} predict(${u}, ${i})`);
  }
});

test('eval: ndcg/recall/precision at 2^40 equal the metrics at the catalogue size', async () => {
  const x = data();
  const n = x.items.size;
  const run = (k: number) => evaluate({ data: x, modelName: 'popularity', protocol: parseProtocol('holdout:0.25'), seed: 1, metrics: [`ndcg@${k}`, `recall@${k}`, `precision@${k}`], models: allModels });
  const [huge, full] = [await run(HUGE), await run(n)];
  assert.equal(Object.values(huge.folds[0]).slice(0, 2), Object.values(full.folds[0]).slice(0, 2));
  // precision@K divides by K (Surprise / the usual definition): with K past the catalogue it only shrinks
  assert.ok(huge.folds[0][`precision@${HUGE}`] <= full.folds[0][`precision@${n}`]);
});

test('CLI: precompute --k/--similar-items and similarity --k of 2^40 write the whole catalogue; eval takes ndcg@2^40', () => {
  const input = path.join(tmp, 'r.csv');
  const x = data();
  writeFileSync(input, 'user,item,rating\n' + Array.from(x.user, (u, t) => `${x.users.external(u)},${x.items.external(x.item[t])},${x.rating[t]}`).join('\n') + '\n');
  const out = path.join(tmp, 'recs.jsonl');
  const r = affinity('precompute', '--input', input, '--model', 'item-knn', '--k', String(HUGE), '--similar-items', String(HUGE), '--out', out, '--quiet');
  assert.is(r.code, 0, r.stderr);
  const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { items: string[] });
  assert.is(lines.length, 40);
  const ref = path.join(tmp, 'ref.jsonl');
  assert.is(affinity('precompute', '--input', input, '--model', 'item-knn', '--k', '25', '--similar-items', '25', '--out', ref, '--quiet').code, 0);
  assert.ok(readFileSync(out).equals(readFileSync(ref)), 'k = 2^40 writes what k = 25 (every item) writes');
  assert.ok(readFileSync(path.join(tmp, 'recs.similar.jsonl')).equals(readFileSync(path.join(tmp, 'ref.similar.jsonl'))));
  for (const backend of ['js', 'wasm', 'native']) {
    const s = affinity('similarity', '--input', input, '--k', String(HUGE), '--out', path.join(tmp, `sim-${backend}.csv`), '--backend', backend);
    assert.is(s.code, 0, `${backend}: ${s.stderr}`);
    const ref2 = affinity('similarity', '--input', input, '--k', '25', '--out', path.join(tmp, `sim-ref-${backend}.csv`), '--backend', backend);
    assert.is(ref2.code, 0);
    assert.ok(readFileSync(path.join(tmp, `sim-${backend}.csv`)).equals(readFileSync(path.join(tmp, `sim-ref-${backend}.csv`))), `similarity --k 2^40 on ${backend}`);
  }
  const e = affinity('eval', '--input', input, '--model', 'popularity,als', '--params', 'als:factors=4,iterations=2', '--metrics', `ndcg@${HUGE}`, '--protocol', 'holdout:0.2', '--json', '--quiet');
  assert.is(e.code, 0, e.stderr);
  for (const res of JSON.parse(e.stdout) as Array<{ mean: Record<string, number> }>) assert.ok(res.mean[`ndcg@${HUGE}`] > 0);
});

test('factors too large for the machine are refused naming the parameter, the array and the limit', async () => {
  const x = data();
  const cases: Array<[string, Record<string, number>, RegExp]> = [
    ['als', { factors: 1e9 }, /^als: factors=1000000000 needs the user factors \(40 × 1000000000 float32\) of 40000000000 values .*beyond the largest array/],
    ['bpr', { factors: 1e9 }, /^bpr: factors=1000000000 needs the user factors \(40 × 1000000001 float32\)/],
    ['svd', { factors: 3e8 }, /^svd: factors=300000000 needs the user factors .* beyond the largest array/],
    ['svdpp', { factors: 2e8 }, /^svdpp: factors=200000000 needs /],
    ['als', { factors: 1e6 }, /^als: factors=1000000 needs the Gram matrix \(1000000 × 1000000 float64\)/],
  ];
  // each array allocatable, all of them together more than this machine has: (40 + 25) × 1e8 float32 = 24.2 GiB
  if (os.totalmem() < 65 * 4e8) cases.push(['svd', { factors: 1e8 }, /^svd: factors=100000000 needs 24\.2 GiB for the user factors .*, the item factors .*, more than this machine's memory/]);
  else console.log(`  (case factors=1e8 left out: this machine has ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, enough for 24.2 GiB of factors`);
  for (const [name, params, why] of cases) {
    const m = allModels[name](params);
    let err: unknown = null;
    try { await m.fit(x); } catch (e) { err = e; }
    assert.ok(err instanceof RangeError, `${name} ${JSON.stringify(params)}: ${String(err)}`);
    assert.match((err as Error).message, why);
  }
  const r = affinity('precompute', '--input', path.join(tmp, 'r.csv'), '--model', 'als', '--params', 'factors=1000000000', '--out', path.join(tmp, 'f.jsonl'));
  assert.is(r.code, 1);
  assert.match(r.stderr, /^affinity: als: factors=1000000000 needs the user factors/);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
