/**
 * The CLI's finish: one `affinity: ` prefix on every error (the argument parser's included, never
 * twice), --version, an unwritable --out named as given and refused before any work, `npm start`
 * (the demo) leaving no temporary folder, one neighbour-list schema, the eval progress bar on a
 * terminal, a LICENSE that matches package.json.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testOrSkip } from './helpers/skip.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string; license: string };
const dir = mkdtempSync(path.join(tmpdir(), 'affinity-polish-'));

function affinity(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const data = path.join(dir, 'data.csv');
assert.is(affinity(['generate', '--users', '30', '--items', '20', '--interactions', '300', '--out', data]).code, 0);

test('every error is one line with one affinity: prefix, the argument parser\'s too', () => {
  const junk = path.join(dir, 'junk.affm');
  for (const [args, want] of [
    [['nosuch'], "affinity: unknown command 'nosuch'"],
    [['info', '--bogus'], "affinity: unknown option '--bogus'"],
    [['eval', '--input'], "affinity: option '--input <file>' argument missing"],
    [['eval', '--input', data, '--model', 'svd', '--params', 'factors=0'], 'affinity: svd: factors must be a positive integer, got 0'],
    [['recommend', '--model-file', data, '--user', 'u1'], `affinity: cannot load model '${data}': not an affinity model file (expected magic 'AFFM' at offset 0, found "user")`],
    [['precompute', '--model-file', junk, '--out', path.join(dir, 'r.jsonl')], `affinity: cannot load model '${junk}': no such file`],
  ] as Array<[string[], string]>) {
    const r = affinity(args);
    assert.is(r.code, 1, args.join(' '));
    assert.is(r.stderr, `${want}\n`, args.join(' '));
  }
});

test('--version and -V print the package version (also after the `--` npx passes on)', () => {
  for (const flags of [['--version'], ['-V'], ['--', '--version']]) {
    const r = affinity(flags);
    assert.is(r.code, 0);
    assert.is(r.stdout, `${pkg.version}\n`);
  }
});

test('an unwritable --out is named as given, before any work, and nothing is written', () => {
  const out = (f: string) => path.join(dir, 'missing-folder', f);
  for (const args of [
    ['generate', '--users', '3', '--items', '3', '--interactions', '5', '--out', out('g.csv')],
    ['similarity', '--input', data, '--out', out('s.jsonl')],
    ['precompute', '--input', data, '--model', 'popularity', '--out', out('r.jsonl')],
    ['fit', '--input', data, '--model', 'popularity', '--out', out('m.affm')],
  ]) {
    const r = affinity(args);
    const file = args[args.length - 1];
    assert.is(r.code, 1, args.join(' '));
    assert.is(r.stderr, `affinity: cannot write '${file}': ENOENT (its folder ${path.dirname(file)} is missing or not writable)\n`);
  }
  assert.not.ok(existsSync(path.join(dir, 'missing-folder')));
});

test('the demo (npm start) removes its temporary folder', () => {
  const tmp = path.join(dir, 'tmp');
  mkdirSync(tmp);
  const r = affinity(['demo', '--backend', 'js'], { TMPDIR: tmp });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /a temporary file, now removed; `affinity demo --out FILE` keeps it/);
  assert.equal(readdirSync(tmp), []);
});

test('one neighbour-list schema: similarity --by item and precompute --similar-items write the same keys and CSV header', () => {
  const sim = path.join(dir, 'sim.jsonl'), recs = path.join(dir, 'recs.jsonl');
  assert.is(affinity(['similarity', '--input', data, '--by', 'item', '--k', '3', '--out', sim]).code, 0);
  assert.is(affinity(['precompute', '--input', data, '--model', 'item-knn', '--k', '3', '--similar-items', '3', '--out', recs, '--quiet']).code, 0);
  const keys = (f: string) => Object.keys(JSON.parse(readFileSync(f, 'utf8').split('\n')[0]) as object);
  assert.equal(keys(sim), ['item', 'items', 'scores']);
  assert.equal(keys(path.join(dir, 'recs.similar.jsonl')), keys(sim));
  const simCsv = path.join(dir, 'sim.csv'), recsCsv = path.join(dir, 'recs.csv');
  assert.is(affinity(['similarity', '--input', data, '--by', 'item', '--k', '3', '--out', simCsv]).code, 0);
  assert.is(affinity(['precompute', '--input', data, '--model', 'item-knn', '--k', '3', '--similar-items', '3', '--out', recsCsv, '--quiet']).code, 0);
  assert.is(readFileSync(simCsv, 'utf8').split('\n')[0], readFileSync(path.join(dir, 'recs.similar.csv'), 'utf8').split('\n')[0]);
});

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
testOrSkip(test, hasScript ? null : "util-linux's `script` (a pseudo-terminal) not found")('eval on a terminal draws one progress bar over every (model, fold)', () => {
  const cmd = [process.execPath, cli, 'eval', '--input', data, '--model', 'baseline,popularity', '--protocol', 'kfold:2', '--metrics', 'ndcg@5'].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
  assert.is(r.status, 0, r.stdout);
  // eslint-disable-next-line no-control-regex -- the terminal's escape codes
  const text = r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '');
  assert.match(text, /eval \[[█░]+\] 4\/4 folds \| popularity fold 2\/2: ndcg@5 \d\.\d{4}/);
  assert.not.match(text, /^baseline fold 1\/2:/m, 'no per-fold lines on a terminal');
});

test('LICENSE is the license package.json names', () => {
  assert.is(pkg.license, 'MIT');
  assert.match(readFileSync(path.join(root, 'LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) \d{4} /);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
