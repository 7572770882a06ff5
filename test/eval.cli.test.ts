// `affinity eval` (several models, protocols, cold start, side info, bad input) and
// `affinity precompute --items/--users`, run through the compiled CLI on small synthetic fixtures.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { affinity } from './helpers/cli.js';
import { mulberry32 } from './helpers/random.js';
import { ML100K_GENRES } from '../src/data/sideInfo.js';

const dir = mkdtempSync(path.join(tmpdir(), 'affinity-evalcli-'));

// 40 users × 30 items, ~12 ratings each, with timestamps; ids as in MovieLens (1-based numbers)
const nU = 40, nI = 30;
const rand = mulberry32(11);
const lines: string[] = [];
for (let u = 1; u <= nU; u++) {
  const seen = new Set<number>();
  const n = 8 + Math.floor(rand() * 8);
  while (seen.size < n) seen.add(1 + Math.floor(rand() * nI));
  for (const i of seen) lines.push(`${u}\t${i}\t${1 + Math.floor(rand() * 5)}\t${880000000 + Math.floor(rand() * 1e6)}`);
}
const udata = path.join(dir, 'u.data');
writeFileSync(udata, lines.join('\n') + '\n');
const noTime = path.join(dir, 'ratings.csv');
writeFileSync(noTime, 'user,item,rating\n' + lines.map((l) => l.split('\t').slice(0, 3).join(',')).join('\n') + '\n');
// every user has exactly one interaction: per-user splits leave nothing to test
const single = path.join(dir, 'single.csv');
writeFileSync(single, 'user,item,rating\n' + Array.from({ length: 10 }, (_, u) => `u${u},i${u % 4},4`).join('\n') + '\n');
// u.item / u.user style side files (latin-1 title with an accented letter)
const uitem = path.join(dir, 'u.item');
const itemRows = Array.from({ length: nI }, (_, k) => {
  const flags = ML100K_GENRES.map((_, g) => (g === 1 + (k % 5) || g === 8 + (k % 3) ? '1' : '0'));
  return `${k + 1}|Film ${k % 2 ? 'Caf\u00e9' : 'Story'} ${k} (199${k % 10})|01-Jan-199${k % 10}||http://x|${flags.join('|')}`;
});
writeFileSync(uitem, Buffer.from(itemRows.join('\n') + '\n', 'latin1'));
const uuser = path.join(dir, 'u.user');
const occ = ['writer', 'student', 'engineer'];
writeFileSync(uuser, Array.from({ length: nU }, (_, k) => `${k + 1}|${18 + (k % 40)}|${k % 2 ? 'F' : 'M'}|${occ[k % 3]}|${10000 + k}`).join('\n') + '\n');
// a generic CSV catalogue
const itemsCsv = path.join(dir, 'catalogue.csv');
writeFileSync(itemsCsv, 'sku,name,tags\n' + Array.from({ length: nI }, (_, k) => `${k + 1},"Thing ${k}, blue",t${k % 4}|t${k % 7}`).join('\n') + '\n');

test('several models: one comparison table, and a JSON array of results on the same splits', () => {
  const t = affinity('eval', '--input', udata, '--model', 'baseline,svd,item-knn', '--protocol', 'holdout:0.2', '--seed', '3', '--params', 'svd:factors=4,epochs=5', '--quiet');
  assert.is(t.code, 0, t.stderr);
  const rows = t.stdout.trim().split('\n');
  assert.match(rows[0], /^3 models, holdout:0.2, seed 3/);
  assert.match(rows[1], /^model\s+rmse\s+mae\s+ndcg@10\s+precision@10\s+recall@10\s+fitSeconds/);
  assert.match(rows[2], /^baseline\s+\d\.\d{4} ± \d\.\d{4}/);
  assert.match(rows[3], /^svd \(factors=4,epochs=5\)\s+\d\.\d{4} ± /);
  assert.match(rows[4], /^item-knn\s+n\/a\s+n\/a\s+\d\.\d{4} ± /, 'a ranking-only model has no rating metrics');
  assert.is(rows.length, 5);

  const j = affinity('eval', '--input', udata, '--model', 'svd,als', '--protocol', 'kfold:3', '--repeat', '2', '--metrics', 'ndcg@5,coverage@5,map@5',
    '--params', 'seed=1', '--params', 'svd:factors=4;als:factors=3,iterations=3', '--json');
  assert.is(j.code, 0, j.stderr);
  assert.match(j.stderr, /svd fold 1\/6/, 'progress on stderr');
  const arr = JSON.parse(j.stdout);
  assert.ok(Array.isArray(arr));
  assert.equal(arr.map((r: { model: string }) => r.model), ['svd', 'als']);
  assert.equal(arr[0].params, { seed: 1, factors: 4 });
  assert.equal(arr[1].params, { seed: 1, factors: 3, iterations: 3 });
  for (const r of arr) {
    assert.is(r.repeat, 2);
    assert.is(r.folds.length, 6);
    assert.equal(Object.keys(r.mean).sort(), ['coverage@5', 'fitSeconds', 'map@5', 'ndcg@5', 'testSeconds']);
  }
  assert.equal(arr[0].splits.map((s: { train: number; test: number; seed: number }) => [s.seed, s.train, s.test]), arr[1].splits.map((s: { train: number; test: number; seed: number }) => [s.seed, s.train, s.test]), 'same splits');
});

test('one model: per-fold table; --json is the one object; every protocol form parses', () => {
  const t = affinity('eval', '--input', udata, '--model', 'baseline', '--protocol', 'loo', '--repeat', '3', '--metrics', 'rmse,mrr@5,hit@5', '--quiet');
  assert.is(t.code, 0, t.stderr);
  const rows = t.stdout.trim().split('\n');
  assert.match(rows[0], /^baseline, loo, seed 0, repeat 3/);
  assert.match(rows[2], /^fold 1\s/);
  assert.match(rows[4], /^fold 3\s/);
  assert.match(rows[5], /^mean/);
  for (const p of ['kfold:2', 'holdout:0.3', 'user-holdout:0.25', 'leave:2', 'temporal:0.2', 'temporal-user:0.2', 'cold-users:0.2', 'cold-users:0.2:0.2']) {
    const r = affinity('eval', '--input', udata, '--model', 'popularity', '--protocol', p, '--metrics', 'ndcg@5,novelty@5,popbias@5,diversity@5', '--json', '--quiet');
    assert.is(r.code, 0, `${p}: ${r.stderr}`);
    const o = JSON.parse(r.stdout);
    assert.not.ok(Array.isArray(o));
    assert.is(o.model, 'popularity');
    assert.type(o.mean['ndcg@5'], 'number');
  }
});

test('--cold-start: JSON coldStart buckets per model; the table prints them', () => {
  const r = affinity('eval', '--input', udata, '--model', 'popularity,item-knn', '--protocol', 'cold-users:0.2:0.2', '--cold-start', '--metrics', 'ndcg@5,recall@5', '--json', '--quiet');
  assert.is(r.code, 0, r.stderr);
  const arr = JSON.parse(r.stdout);
  for (const m of arr) {
    assert.is(m.coldStartBy, 'user');
    assert.equal(m.coldStart.map((b: { bucket: string }) => b.bucket), ['0', '1-5', '6-20', '21-50', '>50']);
    const zero = m.coldStart[0];
    assert.is(zero.users, 8, '20% of 40 users are new');
    assert.type(zero.mean['ndcg@5'], 'number');
  }
  const pop = arr[0].coldStart[0].mean['ndcg@5'];
  assert.ok(pop > 0, 'popularity still scores new users');
  const byItem = affinity('eval', '--input', udata, '--model', 'svd', '--protocol', 'holdout:0.3', '--cold-start', 'item', '--metrics', 'rmse', '--json', '--quiet');
  assert.is(byItem.code, 0, byItem.stderr);
  const o = JSON.parse(byItem.stdout);
  assert.is(o.coldStartBy, 'item');
  assert.ok(o.coldStart.some((b: { items?: number }) => (b.items ?? 0) > 0));
  const table = affinity('eval', '--input', udata, '--model', 'popularity', '--protocol', 'cold-users:0.2', '--cold-start', 'user', '--metrics', 'ndcg@5', '--quiet');
  assert.is(table.code, 0, table.stderr);
  assert.match(table.stdout, /popularity: cold start by user/);
  assert.match(table.stdout, /\n0\s+8\s+\d\.\d{4}/);
});

test('--items/--users: u.item/u.user (latin-1) and a generic CSV feed content-knn, feature-mf, hybrid', () => {
  const r = affinity('eval', '--input', udata, '--model', 'content-knn,feature-mf,hybrid', '--params', 'feature-mf:factors=4,epochs=3', '--protocol', 'cold-users:0.2:0.2',
    '--cold-start', '--items', uitem, '--users', uuser, '--metrics', 'ndcg@5', '--json', '--quiet');
  assert.is(r.code, 0, r.stderr);
  const arr = JSON.parse(r.stdout);
  assert.equal(arr.map((m: { model: string }) => m.model), ['content-knn', 'feature-mf', 'hybrid']);
  for (const m of arr) assert.ok(Number.isFinite(m.mean['ndcg@5']), m.model);
  // feature-mf scores brand-new users through their demographics: a value exists for bucket 0
  assert.type(arr[1].coldStart[0].mean['ndcg@5'], 'number');
  const csv = affinity('eval', '--input', udata, '--model', 'content-knn', '--protocol', 'holdout:0.2', '--items', itemsCsv, '--item-id', 'sku', '--item-text', 'name', '--item-categorical', 'tags', '--metrics', 'ndcg@5,precision@5', '--quiet');
  assert.is(csv.code, 0, csv.stderr);
  assert.match(csv.stdout, /^content-knn, holdout:0.2, seed 0/);
  // a generic CSV without column options is a clear error
  const bad = affinity('eval', '--input', udata, '--model', 'content-knn', '--items', itemsCsv, '--metrics', 'ndcg@5');
  assert.is.not(bad.code, 0);
  assert.match(bad.stderr, /--items: .*--item-text/);
  // content-knn without side info says so
  const none = affinity('eval', '--input', udata, '--model', 'content-knn', '--protocol', 'holdout:0.2', '--metrics', 'ndcg@5');
  assert.is.not(none.code, 0);
  assert.match(none.stderr, /needs item side info/);
});

test('rating and ranking models together: each scored on the metrics it supports, the rest n/a, said once', () => {
  const t = affinity('eval', '--input', udata, '--model', 'svd,als,item-knn', '--protocol', 'kfold:2', '--metrics', 'rmse,mae,ndcg@10',
    '--params', 'svd:factors=4,epochs=3;als:factors=3,iterations=2');
  assert.is(t.code, 0, t.stderr);
  const rows = t.stdout.trim().split('\n');
  assert.match(rows[1], /^model\s+rmse\s+mae\s+ndcg@10\s+fitSeconds/);
  assert.match(rows[2], /^svd \(factors=4,epochs=3\)\s+\d\.\d{4} ± \d\.\d{4}\s+\d\.\d{4} ± \d\.\d{4}\s+\d\.\d{4} ± /);
  assert.match(rows[3], /^als \(factors=3,iterations=2\)\s+n\/a\s+n\/a\s+\d\.\d{4} ± /);
  assert.match(rows[4], /^item-knn\s+n\/a\s+n\/a\s+\d\.\d{4} ± /);
  const notes = t.stderr.split('\n').filter((l) => /not apply/.test(l));
  assert.equal(notes, ['affinity: rmse, mae do not apply to als, item-knn (they rank items and do not predict ratings): shown as n/a']);
  const j = affinity('eval', '--input', udata, '--model', 'baseline,item-knn', '--protocol', 'holdout:0.2', '--metrics', 'rmse,ndcg@5', '--json', '--quiet');
  assert.is(j.code, 0, j.stderr);
  const [b, k] = JSON.parse(j.stdout) as Array<{ mean: Record<string, number>; notApplicable?: string[] }>;
  assert.ok('rmse' in b.mean && 'ndcg@5' in b.mean && b.notApplicable === undefined);
  assert.ok(!('rmse' in k.mean) && 'ndcg@5' in k.mean);
  assert.equal(k.notApplicable, ['rmse']);
});

test('given splits (--train/--test, e.g. ML-100k u1..u5): scored exactly as the protocol that made them', async () => {
  const { readInteractions, writeInteractionsCsv } = await import('../src/data/readers.js');
  const { makeSplits } = await import('../src/eval/evaluate.js');
  const splits = makeSplits(await readInteractions(udata), { kind: 'kfold', folds: 2 }, 4);
  const train: string[] = [], testFiles: string[] = [];
  for (const [f, sp] of splits.entries()) {
    train.push(path.join(dir, `fold${f + 1}.base.csv`)); testFiles.push(path.join(dir, `fold${f + 1}.test.csv`));
    await writeInteractionsCsv(sp.train, train[f]);
    await writeInteractionsCsv(sp.test, testFiles[f]);
  }
  const common = ['--model', 'baseline,knn-means', '--metrics', 'rmse,mae', '--json', '--quiet'];
  const viaProtocol = affinity('eval', '--input', udata, '--protocol', 'kfold:2', '--seed', '4', ...common);
  const viaFiles = affinity('eval', '--train', train.join(','), '--test', testFiles[0], '--test', testFiles[1], ...common);
  assert.is(viaProtocol.code, 0, viaProtocol.stderr);
  assert.is(viaFiles.code, 0, viaFiles.stderr);
  type R = { model: string; folds: Array<Record<string, number>>; protocol: { kind: string } };
  const a = JSON.parse(viaProtocol.stdout) as R[], b = JSON.parse(viaFiles.stdout) as R[];
  assert.equal(b.map((r) => r.protocol.kind), ['given', 'given']);
  for (let m = 0; m < 2; m++) {
    for (let f = 0; f < 2; f++) {
      for (const k of ['rmse', 'mae']) assert.ok(Math.abs(a[m].folds[f][k] - b[m].folds[f][k]) < 1e-9, `${a[m].model} fold ${f + 1} ${k}: ${a[m].folds[f][k]} vs ${b[m].folds[f][k]}`);
    }
  }
  // a table names the files; a test interaction also in its training file is reported
  const t = affinity('eval', '--train', train[0], '--test', train[0], '--model', 'baseline');
  assert.is(t.code, 0, t.stderr);
  assert.match(t.stdout, /^baseline, given splits fold1\.base\.csv\|fold1\.base\.csv, seed 0/);
  assert.match(t.stderr, new RegExp(`affinity: .*fold1\\.base\\.csv: ${splits[0].train.user.length} test interaction\\(s\\) are also in`));
  for (const [args, re] of [
    [['--train', train[0], '--test', testFiles.join(',')], /--train has 1 file\(s\) and --test 2/],
    [['--input', udata, '--train', train[0], '--test', testFiles[0]], /--input and --train\/--test are exclusive/],
    [['--train', train[0], '--test', testFiles[0], '--protocol', 'kfold:5'], /--protocol does not apply to --train\/--test/],
    [['--train', train[0], '--test', testFiles[0], '--repeat', '2'], /--repeat does not apply/],
    [[], /required option '--input <file>' not specified \(or give splits with --train\/--test\)/],
  ] as Array<[string[], RegExp]>) {
    const r = affinity('eval', '--model', 'baseline', ...args);
    assert.is(r.code, 1, args.join(' '));
    assert.match(r.stderr, re);
  }
});

test('bad input: each a one-line error and a non-zero exit', () => {
  const missing = path.join(dir, 'does-not-exist.csv');
  for (const [args, re] of [
    [['--input', udata, '--model', 'popularity', '--metrics', 'ndcg@0'], /k must be a positive integer/],
    [['--input', udata, '--model', 'popularity', '--metrics', 'precision@-3'], /k must be a positive integer/],
    [['--input', udata, '--model', 'popularity', '--metrics', 'ndcg'], /needs a cut-off/],
    // checked before reading (the input does not even exist) and so before any fitting
    [['--input', missing, '--model', 'svd,item-knn', '--metrics', 'rmse,mae'], /model 'item-knn' ranks items and does not predict ratings, so none of --metrics \(rmse,mae\) applies to it/],
    [['--input', single, '--model', 'popularity', '--protocol', 'loo', '--metrics', 'ndcg@5'], /empty test set/],
    [['--input', noTime, '--model', 'baseline', '--protocol', 'temporal:0.2'], /needs timestamps/],
    [['--input', noTime, '--model', 'baseline', '--protocol', 'temporal-user:0.2'], /needs timestamps/],
    [['--input', udata, '--model', 'svd,nope'], /unknown model 'nope'/],
    [['--input', udata, '--model', 'svd,svd'], /twice/],
    [['--input', udata, '--model', 'svd', '--params', 'als:factors=3'], /not in --model/],
    [['--input', udata, '--model', 'svd', '--cold-start', 'both'], /--cold-start must be 'user' or 'item'/],
    [['--input', udata, '--model', 'svd', '--repeat', '0'], /--repeat must be a positive integer/],
    [['--input', udata, '--model', 'svd', '--protocol', 'temporal:0.2', '--repeat', '2'], /deterministic/],
    [['--input', udata, '--model', 'svd', '--protocol', 'kfold:1'], /protocol/],
    [['--input', udata, '--model', 'svd', '--metrics', 'rmse,rmse'], /listed twice/],
    [['--input', udata, '--model', 'content-knn', '--item-text', 'title', '--metrics', 'ndcg@5'], /need --items/],
  ] as Array<[string[], RegExp]>) {
    const r = affinity('eval', ...args);
    assert.is.not(r.code, 0, `${args.join(' ')} should fail`);
    const err = r.stderr.trim();
    assert.match(err, re, args.join(' '));
    assert.is(err.split('\n').filter((l) => l.startsWith('affinity:')).length, 1, 'one error line');
    assert.is(r.stdout, '', 'nothing on stdout');
  }
});

test('precompute --items/--users: content-knn and feature-mf get side info; other models refuse it', () => {
  const out = path.join(dir, 'recs.jsonl');
  const r = affinity('precompute', '--input', udata, '--model', 'content-knn', '--items', uitem, '--k', '3', '--out', out, '--json');
  assert.is(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.is(summary.model, 'content-knn');
  const recs = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.is(recs.length, nU);
  assert.ok(recs.every((x: { items: string[] }) => x.items.length === 3));
  const out2 = path.join(dir, 'recs2.csv');
  const f = affinity('precompute', '--input', udata, '--model', 'feature-mf', '--params', 'factors=4,epochs=2', '--items', uitem, '--users', uuser, '--k', '2', '--out', out2, '--quiet');
  assert.is(f.code, 0, f.stderr);
  assert.ok(existsSync(out2));
  const bad = affinity('precompute', '--input', udata, '--model', 'als', '--items', uitem, '--k', '3', '--out', path.join(dir, 'x.jsonl'));
  assert.is.not(bad.code, 0);
  assert.match(bad.stderr, /takes no side information/);
  assert.not.ok(existsSync(path.join(dir, 'x.jsonl')));
});

test.run();
