/**
 * `affinity fit` saves any model; `affinity recommend`, `eval --model-file` and
 * `precompute --model-file` reuse the file and give what a fresh fit gives.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { affinity } from './helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'affinity-climodels-'));

const data = path.join(dir, 'data.csv');
assert.is(affinity('generate', '--users', '60', '--items', '40', '--interactions', '1200', '--seed', '3', '--out', data).code, 0);
// a later file with the same ids, to test on
const lines = readFileSync(data, 'utf8').trim().split('\n');
const testFile = path.join(dir, 'test.csv');
writeFileSync(testFile, [lines[0], ...lines.slice(1).filter((_, t) => t % 5 === 0)].join('\n') + '\n');
const trainFile = path.join(dir, 'train.csv');
writeFileSync(trainFile, [lines[0], ...lines.slice(1).filter((_, t) => t % 5 !== 0)].join('\n') + '\n');

for (const [model, params] of [['item-knn', 'k=10'], ['slope-one', ''], ['svd', 'factors=4,epochs=3']] as const) {
  test(`${model}: fit --out, then recommend / eval --model-file / precompute --model-file match a fresh run`, () => {
    const file = path.join(dir, `${model}.affm`);
    const p = params ? ['--params', params] : [];
    const fit = affinity('fit', '--input', trainFile, '--model', model, ...p, '--out', file);
    assert.is(fit.code, 0, fit.stderr);
    assert.match(fit.stderr, new RegExp(`fitted ${model} on \\d+ interactions .* saved ${file.replace(/[.]/g, '\\.')}`));
    // recommend: the same lists as precompute on a fresh fit (JSONL schema shared)
    const rec = affinity('recommend', '--model-file', file, '--user', 'u1,u2', '--k', '5', '--json');
    assert.is(rec.code, 0, rec.stderr);
    const fresh = path.join(dir, `${model}.fresh.jsonl`);
    assert.is(affinity('precompute', '--input', trainFile, '--model', model, ...p, '--k', '5', '--out', fresh, '--quiet').code, 0);
    const freshLines = readFileSync(fresh, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { user: string });
    const recLines = rec.stdout.trim().split('\n').map((l) => JSON.parse(l) as { user: string });
    for (const r of recLines) assert.equal(r, freshLines.find((f) => f.user === r.user), `user ${r.user}`);
    // precompute --model-file: byte-identical to the fresh fit's output
    const reused = path.join(dir, `${model}.reused.jsonl`);
    const pre = affinity('precompute', '--model-file', file, '--k', '5', '--out', reused, '--quiet');
    assert.is(pre.code, 0, pre.stderr);
    assert.is(readFileSync(reused, 'utf8'), readFileSync(fresh, 'utf8'));
    // eval --model-file on a test file: ranking metrics, and rating metrics where the model predicts ratings
    const ev = affinity('eval', '--model-file', file, '--test', testFile, '--metrics', model === 'item-knn' ? 'ndcg@5' : 'rmse,ndcg@5', '--json', '--quiet');
    assert.is(ev.code, 0, ev.stderr);
    const r = JSON.parse(ev.stdout) as { model: string; mean: Record<string, number>; protocol: { kind: string } };
    assert.is(r.model, model);
    assert.is(r.protocol.kind, 'given');
    assert.ok(r.mean['ndcg@5'] >= 0 && r.mean['ndcg@5'] <= 1);
    if (model !== 'item-knn') assert.ok(r.mean.rmse > 0 && r.mean.rmse < 2);
    // the same numbers as eval --train/--test (the fit happens there)
    const given = affinity('eval', '--train', trainFile, '--test', testFile, '--model', model, ...p, '--metrics', model === 'item-knn' ? 'ndcg@5' : 'rmse,ndcg@5', '--json', '--quiet');
    const g = JSON.parse(given.stdout) as { mean: Record<string, number> };
    for (const k of Object.keys(g.mean).filter((k) => !k.endsWith('Seconds'))) assert.ok(Math.abs(g.mean[k] - r.mean[k]) < 1e-9, `${k}: ${g.mean[k]} vs ${r.mean[k]}`);
  });
}

test('recommend text output; bad users, files and option mixes are one-line errors', () => {
  const file = path.join(dir, 'pop.affm');
  assert.is(affinity('fit', '--input', trainFile, '--model', 'popularity', '--out', file, '--quiet').code, 0);
  const t = affinity('recommend', '--model-file', file, '--user', 'u7', '--k', '3');
  assert.is(t.code, 0, t.stderr);
  assert.match(t.stdout, /^popularity recommendations for user u7:\n +1 {2}\S+ +\d+\n +2 {2}/);
  for (const [args, re] of [
    [['recommend', '--model-file', file, '--user', 'nobody'], /user 'nobody' is not in .*pop\.affm \(\d+ users/],
    [['recommend', '--model-file', path.join(dir, 'absent.affm'), '--user', 'u1'], /cannot load model .*absent\.affm/],
    [['eval', '--model-file', file, '--test', testFile, '--model', 'svd'], /--model does not apply to --model-file/],
    [['eval', '--model-file', file], /--model-file needs one --test FILE, got 0/],
    [['eval', '--model-file', file, '--test', testFile, '--metrics', 'rmse'], /ranks items and does not predict ratings/],
    [['fit', '--input', trainFile, '--model', 'nope', '--out', path.join(dir, 'x.affm')], /unknown model 'nope'/],
    [['fit', '--input', trainFile, '--model', 'svd', '--out', path.join(dir, 'no-such-dir', 'm.affm')], /cannot write '.*no-such-dir\/m\.affm': ENOENT \(its folder .*no-such-dir is missing or not writable\)/],
  ] as Array<[string[], RegExp]>) {
    const r = affinity(...args);
    assert.is(r.code, 1, args.join(' '));
    assert.match(r.stderr, re);
    assert.is(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
  assert.not.ok(existsSync(path.join(dir, 'x.affm')));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
