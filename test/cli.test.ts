import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { affinity, root } from './helpers/cli.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'affinity-cli-'));

test('info --json has the machine and every backend with a reason', () => {
  const r = affinity('info', '--json');
  assert.is(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.ok(info.machine.cores >= 1);
  assert.type(info.machine.simd, 'string');
  const names = info.backends.map((b: { name: string }) => b.name);
  for (const n of ['js', 'wasm', 'native', 'cuda']) assert.ok(names.includes(n), `backend ${n} listed`);
  for (const b of info.backends) {
    assert.type(b.available, 'boolean');
    assert.ok(b.reason.length > 0, `${b.name} says why`);
  }
  assert.ok(info.backends.find((b: { name: string }) => b.name === 'js').available);
});

test('info prints a readable summary by default: the package, one line per backend, what dispatch uses; the kernels behind --verbose', () => {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  const r = affinity('info');
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.is(lines[0], `${pkg.name} ${pkg.version} (${root})`);
  for (const name of ['js', 'wasm', 'native', 'cuda', 'gpujs']) assert.ok(lines.some((l) => new RegExp(`^  ${name} +(yes|no) +\\S`).test(l)), `a line for ${name}`);
  assert.match(r.stdout, /^dispatch by (backend priority|calibration of)/m);
  assert.not.match(r.stdout, /[{}]|kernels:/, 'no JSON, no kernel lists by default');
  const v = affinity('info', '--verbose');
  assert.match(v.stdout, /^ {14}kernels: denseScoreTopK, /m);
  const j = JSON.parse(affinity('info', '--json').stdout) as { package: { name: string; version: string } };
  assert.equal(j.package, { name: pkg.name, version: pkg.version, root });
});

test('bad arguments exit non-zero with one line', () => {
  for (const args of [['generate', '--users', '0', '--items', '5', '--interactions', '3', '--out', path.join(tmp, 'x.csv')], ['bench', '--suite', 'huge'], ['nosuchcommand'], ['bench', '--size', '12by4'], ['demo', '--backend', 'nope']]) {
    const r = affinity(...args);
    assert.is.not(r.code, 0, `${args.join(' ')} should fail`);
    assert.ok(r.stderr.trim().length > 0, `${args.join(' ')} says why`);
  }
  assert.not.ok(existsSync(path.join(tmp, 'x.csv')), 'no output after a bad argument');
});

test('numbers on the command line are decimal literals: --params factors=0x10, --k 0x10, --seed \'\' are refused naming the value; 1e1 and .5 are numbers', () => {
  const input = path.join(tmp, 'decimal.csv');
  assert.is(affinity('generate', '--users', '20', '--items', '10', '--interactions', '60', '--seed', '3', '--out', input).code, 0);
  const out = path.join(tmp, 'decimal.jsonl');
  const cases: Array<[string[], RegExp]> = [
    [['precompute', '--input', input, '--model', 'als', '--params', 'factors=0x10', '--out', out], /^affinity: als: factors must be a decimal number, got "0x10"$/m],
    [['precompute', '--input', input, '--model', 'svd', '--params', 'lr_all=0b1', '--out', out], /^affinity: svd: lr_all must be a decimal number, got "0b1"$/m],
    [['precompute', '--input', input, '--model', 'popularity', '--k', '0x10', '--out', out], /--k must be a positive integer, got '0x10'/],
    [['similarity', '--input', input, '--min-support', '0o7', '--out', out], /--min-support must be a non-negative number, got '0o7'/],
    [['generate', '--users', '3', '--items', '3', '--interactions', '2', '--seed', '', '--out', out], /--seed must be an integer, got ''/],
  ];
  for (const [args, re] of cases) {
    const r = affinity(...args);
    assert.is(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  assert.not.ok(existsSync(out));
  const ok = affinity('precompute', '--input', input, '--model', 'als', '--params', 'factors=4,iterations=1e1,regularization=.5', '--k', '2e0', '--out', out, '--quiet');
  assert.is(ok.code, 0, ok.stderr);
});

test('generate is reproducible: same seed, same bytes; different seed, different bytes', () => {
  const a = path.join(tmp, 'a.csv'), b = path.join(tmp, 'b.csv'), c = path.join(tmp, 'c.csv.gz');
  const base = ['generate', '--users', '50', '--items', '40', '--interactions', '600', '--seed', '7'];
  assert.is(affinity(...base, '--out', a).code, 0);
  assert.is(affinity(...base, '--out', b).code, 0);
  assert.is(readFileSync(a, 'utf8'), readFileSync(b, 'utf8'));
  const lines = readFileSync(a, 'utf8').trim().split('\n');
  assert.is(lines[0], 'user,item,rating,timestamp');
  assert.is(lines.length, 601);
  assert.is(affinity('generate', '--users', '50', '--items', '40', '--interactions', '600', '--seed', '8', '--out', c).code, 0);
  const gz = readFileSync(c);
  assert.is(gz[0], 0x1f);
  assert.is(gz[1], 0x8b);
});

test('demo prints similar items and the backend that ran', () => {
  const r = affinity('demo', '--backend', 'js');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /on backend 'js'/);
  assert.ok(r.stdout.split('\n').filter((l) => l.includes('→')).length >= 5);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
