/**
 * Output files under crashes and concurrent runs (issue 17): `generate` and model saves are atomic; temporaries of
 * killed runs are cleaned; two runs cannot write one output (lock with stale-lock detection); an
 * output that is the input is refused; directories and full disks are named; a resumed precompute
 * refuses a checkpoint of another backend, version, input content or kernel placement, and
 * finishes a run killed between its two final renames.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { affinity, cli, root, runAndKill } from './helpers/cli.js';
import { writeSyntheticCsv } from '../src/data/synthetic.js';
import { lockOutput } from '../src/data/outputFile.js';
import { writeCheckpoint } from '../src/pipeline/checkpoint.js';

const killBetweenRenames = path.join(root, 'dist', 'test', 'helpers', 'killBetweenRenames.js');
const tmp = mkdtempSync(path.join(tmpdir(), 'affinity-outputs-'));

function dir(name: string): string {
  const d = path.join(tmp, name);
  mkdirSync(d, { recursive: true });
  return d;
}

/** A pid that ran and is gone (a child that exited). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const tmpFiles = (d: string, base: string) => readdirSync(d).filter((n) => n.startsWith(`.${base}.`) && /\.tmp/.test(n));

// ------------------------------------------------------------------------------------------------
// generate (item 3) and stale temporaries (item 13)

test('generate killed while writing leaves nothing at --out; the next run completes it and removes the dead run\'s temporary', async () => {
  const d = dir('generate-kill');
  const out = path.join(d, 'big.csv');
  const args = ['generate', '--users', '20000', '--items', '5000', '--interactions', '1000000', '--out', out];
  const run = await runAndKill(args, () => tmpFiles(d, 'big.csv').some((n) => statSync(path.join(d, n)).size > 1 << 20));
  assert.ok(run.killed, `killed while writing (${run.stderr})`);
  assert.not.ok(existsSync(out), 'no (truncated) file at --out after the kill');
  assert.is(tmpFiles(d, 'big.csv').length, 1, 'the killed run left its temporary');
  const r = affinity('generate', '--users', '300', '--items', '100', '--interactions', '2000', '--out', out);
  assert.is(r.code, 0, r.stderr);
  assert.is(readFileSync(out, 'utf8').trim().split('\n').length, 2001, 'header + every interaction');
  assert.equal(readdirSync(d), ['big.csv'], 'the dead run\'s temporary and the lock are gone');
});

test('generate to Parquet or Arrow killed while writing leaves nothing at --out (temporary + rename, as the CSV)', () => {
  const helper = path.join(root, 'dist', 'test', 'helpers', 'killMidWrite.js');
  for (const name of ['g.parquet', 'g.arrow']) {
    const d = dir(`generate-kill-${name}`);
    const out = path.join(d, name);
    const args = ['generate', '--users', '300', '--items', '100', '--interactions', '2000', '--out', out];
    const killed = spawnSync(process.execPath, [helper, ...args], { encoding: 'utf8', timeout: 120_000 });
    assert.is(killed.signal, 'SIGKILL', `${name}: killed at its first write (${killed.stdout}${killed.stderr})`);
    assert.not.ok(existsSync(out), `${name}: no (truncated) file at --out after the kill`);
    assert.is(tmpFiles(d, name).length, 1, `${name}: the killed run left its temporary`);
    const r = affinity(...args);
    assert.is(r.code, 0, r.stderr);
    assert.equal(readdirSync(d), [name], `${name}: the dead run's temporary and the lock are gone`);
    const read = affinity('eval', '--input', out, '--model', 'popularity', '--protocol', 'holdout:0.2', '--metrics', 'ndcg@10', '--json', '--quiet');
    assert.is(read.code, 0, `${name} reads back: ${read.stderr}`);
  }
});

test('a model save killed halfway leaves the previous model file whole (temporary + rename); the next save removes the dead temporary', () => {
  const d = dir('model-save-kill');
  const file = path.join(d, 'als.affm');
  const helper = path.join(root, 'dist', 'test', 'helpers', 'saveModelKilled.js');
  const first = spawnSync(process.execPath, [helper, file, '1', 'no-kill'], { encoding: 'utf8', timeout: 120_000 });
  assert.is(first.status, 0, first.stderr);
  const saved = readFileSync(file);
  const killed = spawnSync(process.execPath, [helper, file, '2'], { encoding: 'utf8', timeout: 120_000 });
  assert.is(killed.signal, 'SIGKILL', `the save was killed mid-write (${killed.stdout}${killed.stderr})`);
  assert.ok(readFileSync(file).equals(saved), 'the model file is the first save, byte for byte');
  assert.is(tmpFiles(d, 'als.affm').length, 1, 'the killed save left its half-written temporary');
  const again = spawnSync(process.execPath, [helper, file, '3', 'no-kill'], { encoding: 'utf8', timeout: 120_000 });
  assert.is(again.status, 0, again.stderr);
  assert.equal(readdirSync(d), ['als.affm'], 'the dead save\'s temporary and the lock are gone');
  const load = spawnSync(process.execPath, [cli, 'precompute', '--model-file', file, '--model', 'als', '--k', '3', '--out', path.join(tmp, 'model-save-kill.jsonl'), '--quiet'], { encoding: 'utf8', timeout: 120_000 });
  assert.is(load.status, 0, load.stderr);
});

test('similarity removes the temporaries of dead runs beside its output, and keeps those of live ones', () => {
  const d = dir('similarity-stale');
  const input = path.join(d, 'r.csv');
  writeFileSync(input, 'user,item,rating\nu1,a,5\nu1,b,3\nu2,a,4\nu2,c,1\nu3,b,2\nu3,c,5\n');
  const out = path.join(d, 'sim.jsonl');
  const dead = path.join(d, `.sim.jsonl.${deadPid()}.tmp`);
  const deadGz = path.join(d, `.sim.jsonl.${deadPid()}.tmp.gz`);
  const live = path.join(d, `.sim.jsonl.${process.pid}.tmp`);
  const other = path.join(d, `.other.jsonl.${deadPid()}.tmp`);
  for (const f of [dead, deadGz, live, other]) writeFileSync(f, 'half a file');
  const r = affinity('similarity', '--input', input, '--k', '2', '--out', out);
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(existsSync(dead) || existsSync(deadGz), 'the dead runs\' temporaries are removed');
  assert.ok(existsSync(live), 'a live process\'s temporary is kept');
  assert.ok(existsSync(other), 'another output\'s temporary is not touched');
  assert.is(readFileSync(out, 'utf8').trim().split('\n').length, 3);
});

// ------------------------------------------------------------------------------------------------
// locks (item 10)

test('two precompute runs on one --out: the second fails at once naming the first; the first completes', async () => {
  const d = dir('lock-two-runs');
  const input = path.join(d, 'big.csv');
  await writeSyntheticCsv({ users: 4000, items: 800, interactions: 40000, explicit: false, seed: 2, out: input });
  const out = path.join(d, 'recs.jsonl');
  const base = ['precompute', '--input', input, '--model', 'popularity', '--k', '10', '--block-size', '1', '--quiet', '--out', out];
  const first = spawn(process.execPath, [cli, ...base], { stdio: ['ignore', 'ignore', 'pipe'] });
  let firstErr = '';
  first.stderr.on('data', (b) => { firstErr += b; });
  const firstDone = new Promise<number | null>((resolve) => first.on('exit', (code) => resolve(code)));
  // wait until the first run holds the lock and has written blocks
  for (let i = 0; i < 3000 && !existsSync(`${out}.checkpoint`); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(existsSync(`${out}.lock`), 'the running job holds OUT.lock');
  const second = affinity(...base);
  assert.is.not(second.code, 0, 'the second run fails');
  assert.match(second.stderr, new RegExp(`recs\\.jsonl is being written by another run \\(pid ${first.pid}, since .*lock .*recs\\.jsonl\\.lock\\)`));
  assert.is(await firstDone, 0, firstErr);
  assert.is(readFileSync(out, 'utf8').trim().split('\n').length, 4000, 'the first run\'s output is complete');
  assert.equal(readdirSync(d).sort(), ['big.csv', 'recs.jsonl'], 'lock released');
});

test('a lock whose owner is dead is taken over (and said so); one whose owner lives is refused for precompute, similarity and generate', async () => {
  const d = dir('lock-stale');
  const input = path.join(d, 'r.csv');
  writeFileSync(input, 'user,item,rating\nu1,a,5\nu1,b,3\nu2,a,4\nu2,c,1\n');
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const cases: Array<[string, string[]]> = [
      ['recs.jsonl', ['precompute', '--input', input, '--model', 'popularity', '--k', '2']],
      ['sim.csv', ['similarity', '--input', input, '--k', '2']],
      ['gen.csv', ['generate', '--users', '5', '--items', '5', '--interactions', '10']],
    ];
    for (const [name, args] of cases) {
      const out = path.join(d, name);
      const lock = `${out}.lock`;
      writeFileSync(lock, JSON.stringify({ pid: sleeper.pid, host: os.hostname(), since: 'then', startTick: null }) + '\n');
      const held = affinity(...args, '--out', out);
      assert.is.not(held.code, 0, `${name}: refused while the owner runs`);
      assert.match(held.stderr, new RegExp(`being written by another run \\(pid ${sleeper.pid}, since then; lock .*${name}\\.lock\\)`));
      assert.not.ok(existsSync(out), `${name}: nothing written`);
      writeFileSync(lock, JSON.stringify({ pid: deadPid(), host: os.hostname(), since: 'then', startTick: null }) + '\n');
      const stale = affinity(...args, '--out', out);
      assert.is(stale.code, 0, `${name}: ${stale.stderr}`);
      if (name !== 'gen.csv') assert.match(stale.stderr, /removed the stale lock .*is no longer running/);
      assert.ok(existsSync(out) && !existsSync(lock), `${name}: written, lock released`);
    }
  } finally {
    sleeper.kill('SIGKILL');
  }
});

test('lockOutput: exclusive across processes, counted within one; release removes only its own lock', () => {
  const d = dir('lock-library');
  const out = path.join(d, 'x.csv');
  const a = lockOutput(out);
  const b = lockOutput(out); // the same process: counted
  b.release();
  assert.ok(existsSync(`${out}.lock`), 'still held by a');
  const other = spawnSync(process.execPath, ['--input-type=module', '-e', `import { lockOutput } from ${JSON.stringify(path.join(root, 'dist', 'src', 'data', 'outputFile.js'))}; try { lockOutput(${JSON.stringify(out)}); console.log('took it'); } catch (e) { console.log(e.message); }`], { encoding: 'utf8' });
  assert.match(other.stdout, new RegExp(`being written by another run \\(pid ${process.pid}`));
  a.release();
  assert.not.ok(existsSync(`${out}.lock`));
  // a lock replaced by another owner is not removed by the first one's release
  const c = lockOutput(out);
  writeFileSync(`${out}.lock`, JSON.stringify({ pid: 1, host: os.hostname(), since: 'later', startTick: null }) + '\n');
  c.release();
  assert.ok(existsSync(`${out}.lock`), 'someone else\'s lock stays');
  rmSync(`${out}.lock`);
});

// ------------------------------------------------------------------------------------------------
// output = input (item 12)

test('--out that is the input (same path, relative, symlink, hard link) is refused and the input is untouched', () => {
  const d = dir('same-file');
  const input = path.join(d, 'r.csv');
  const text = 'user,item,rating\nu1,a,5\nu1,b,3\nu2,a,4\nu2,c,1\nu3,b,2\n';
  writeFileSync(input, text);
  symlinkSync(input, path.join(d, 'link.csv'));
  linkSync(input, path.join(d, 'hard.csv'));
  mkdirSync(path.join(d, 'sub'));
  const outs = [input, path.join(d, 'sub', '..', 'r.csv'), path.join(d, 'link.csv'), path.join(d, 'hard.csv')];
  for (const out of outs) {
    for (const args of [['precompute', '--model', 'popularity', '--k', '2', '--format', 'csv'], ['similarity', '--k', '2']]) {
      const r = affinity(...args, '--input', input, '--out', out);
      assert.is.not(r.code, 0, `${args[0]} --out ${out}`);
      assert.match(r.stderr, /is the input .*writing it would destroy the input/, `${args[0]} --out ${out}: ${r.stderr}`);
      assert.is(readFileSync(input, 'utf8'), text, `${args[0]} --out ${out}: input unchanged`);
    }
  }
  // so are the side-information files, and --out's similar-items file
  const items = path.join(d, 'items.csv');
  writeFileSync(items, 'id,text\na,x\nb,y\nc,z\n');
  for (const [out, extra] of [[items, []], [path.join(d, 'items.csv'), ['--similar-items', '2']], [path.join(d, 'items.jsonl'), []]] as Array<[string, string[]]>) {
    const target = out.endsWith('.jsonl') ? path.join(d, 'items.similar.jsonl') : out;
    if (out.endsWith('.jsonl')) symlinkSync(items, target);
    const r = affinity('precompute', '--input', input, '--model', 'content-knn', '--items', items, '--item-text', 'text', '--similar-items', '2', '--out', out, ...extra);
    assert.is.not(r.code, 0, `--out ${out}`);
    assert.match(r.stderr, /is the --items file/, r.stderr);
  }
  assert.is(readFileSync(items, 'utf8'), 'id,text\na,x\nb,y\nc,z\n');
  // the model file of --model-file is an input too
  const r = affinity('precompute', '--model-file', input, '--out', input);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /is the model file/);
  assert.is(readFileSync(input, 'utf8'), text);
});

// ------------------------------------------------------------------------------------------------
// directories and full disks are named (item 13)

test('a directory as input or output, and a full disk (ENOSPC), are errors naming the path', () => {
  const d = dir('named-errors');
  const input = path.join(d, 'r.csv');
  writeFileSync(input, 'user,item,rating\nu1,a,5\nu1,b,3\nu2,a,4\nu2,c,1\n');
  for (const args of [['precompute', '--model', 'popularity', '--out', path.join(d, 'o.jsonl')], ['similarity', '--out', path.join(d, 'o.jsonl')], ['eval', '--model', 'popularity']]) {
    const r = affinity(...args, '--input', d);
    assert.is.not(r.code, 0);
    assert.match(r.stderr, new RegExp(`^affinity: .*${d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*directory`, 'm'), `${args[0]}: ${r.stderr}`);
  }
  const outDir = path.join(d, 'out.csv');
  mkdirSync(outDir);
  for (const args of [['generate', '--users', '3', '--items', '3', '--interactions', '4'], ['similarity', '--input', input], ['precompute', '--input', input, '--model', 'popularity']]) {
    const r = affinity(...args, '--out', outDir);
    assert.is.not(r.code, 0);
    assert.match(r.stderr, /out\.csv.* is a directory/, `${args[0]}: ${r.stderr}`);
  }
  if (!existsSync('/dev/full')) {
    console.log('SKIP ENOSPC cases: no /dev/full on this system');
    return;
  }
  // /dev/full fails every write with ENOSPC: behind a symlink it stands for a full disk
  const full = path.join(d, 'full.csv');
  symlinkSync('/dev/full', full);
  for (const args of [['generate', '--users', '50', '--items', '50', '--interactions', '500'], ['similarity', '--input', input]]) {
    const r = affinity(...args, '--out', full);
    assert.is.not(r.code, 0);
    assert.match(r.stderr, /^affinity: cannot write .*full\.csv: no space left on device/, `${args[0]}: ${r.stderr}`);
  }
  // precompute's partial file on a full disk
  const out = path.join(d, 'recs.jsonl');
  symlinkSync('/dev/full', `${out}.partial`);
  const r = affinity('precompute', '--input', input, '--model', 'popularity', '--out', out);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /^affinity: cannot write .*recs\.jsonl\.partial: no space left on device/, r.stderr);
  assert.not.ok(existsSync(out));
  rmSync(`${out}.partial`, { force: true });
  // and its checkpoint (written through OUT.checkpoint.tmp)
  const cpFile = path.join(d, 'c.checkpoint');
  symlinkSync('/dev/full', `${cpFile}.tmp`);
  assert.throws(() => writeCheckpoint(cpFile, { version: 2, job: {}, run: { affinity: '0', backend: 'js', backends: {} }, phase: 'recommendations', recommendations: { blocks: 0, bytes: 0, rows: 0, keys: 0 } }),
    (e: Error) => /^cannot write .*c\.checkpoint: no space left on device$/.test(e.message));
  assert.ok(statSync('/dev/full').isCharacterDevice(), '/dev/full itself is untouched');
});

// ------------------------------------------------------------------------------------------------
// resume (items 7 and 13)

interface Cp { phase: string; recommendations: { blocks: number }; similar?: { blocks: number }; run: { affinity: string; backend: string; backends: Record<string, string[]> } }
const readCp = (f: string): Cp => JSON.parse(readFileSync(f, 'utf8')) as Cp;

test('resume refuses another backend, another version, a kernel placed elsewhere, or an input changed behind its fingerprint; the right resume is byte-identical', async () => {
  const d = dir('resume-identity');
  const input = path.join(d, 'big.csv');
  // > 2 MiB, so a change in the middle escapes the fingerprint of the first and last MiB
  await writeSyntheticCsv({ users: 6000, items: 1500, interactions: 150000, explicit: true, seed: 8, out: input });
  assert.ok(statSync(input).size > 3 << 20);
  utimesSync(input, 1_700_000_000, 1_700_000_000); // whole seconds: restored exactly below
  const out = path.join(d, 'recs.jsonl');
  const base = ['precompute', '--input', input, '--model', 'als', '--params', 'factors=8,iterations=2,seed=1', '--k', '5', '--block-size', '64', '--quiet', '--out', out];
  const ref = path.join(d, 'ref.jsonl');
  const r0 = affinity(...base.slice(0, -1), ref, '--backend', 'wasm');
  assert.is(r0.code, 0, r0.stderr);

  const cpFile = `${out}.checkpoint`;
  const run = await runAndKill([...base, '--backend', 'wasm'], () => existsSync(cpFile) && readCp(cpFile).recommendations.blocks >= 3);
  assert.ok(run.killed, run.stderr);
  const cp = readCp(cpFile);
  assert.is(cp.run.backend, 'wasm');
  assert.equal(cp.run.backends.denseScoreTopK, ['wasm'], 'the kernels\' backends are recorded');
  assert.equal(cp.run.backends.alsHalfStep, ['wasm']);

  // another backend asked for
  const other = affinity(...base, '--backend', 'js', '--resume');
  assert.is.not(other.code, 0);
  assert.match(other.stderr, /cannot resume: .* on backend 'wasm' \(.*alsHalfStep on wasm.*\), this run asks for 'js'.*--backend wasm/);
  // a kernel that ran elsewhere in the checkpointed run (e.g. auto dispatch after a recalibration)
  const text = readFileSync(cpFile, 'utf8');
  writeFileSync(cpFile, text.replace('"denseScoreTopK":["wasm"]', '"denseScoreTopK":["gpujs"]'));
  const moved = affinity(...base, '--backend', 'wasm', '--resume');
  assert.is.not(moved.code, 0);
  assert.match(moved.stderr, /computed denseScoreTopK on 'gpujs', this run computed it on 'wasm'/);
  // another version
  writeFileSync(cpFile, text.replace(`"affinity":"${cp.run.affinity}"`, '"affinity":"0.0.0-old"'));
  const version = affinity(...base, '--backend', 'wasm', '--resume');
  assert.is.not(version.code, 0);
  assert.match(version.stderr, new RegExp(`written by affinity 0\\.0\\.0-old, this is ${cp.run.affinity.replace(/\./g, '\\.')}`));
  // the input changed in its middle, size, mtime and ends kept
  writeFileSync(cpFile, text);
  const bytes = readFileSync(input);
  const mid = bytes.indexOf(',5', bytes.length >> 1);
  assert.ok(mid > 0);
  bytes[mid + 1] = '4'.charCodeAt(0);
  writeFileSync(input, bytes);
  utimesSync(input, 1_700_000_000, 1_700_000_000);
  const changed = affinity(...base, '--backend', 'wasm', '--resume');
  assert.is.not(changed.code, 0);
  assert.match(changed.stderr, /cannot resume: the input .*big\.csv as read now differs/, changed.stderr);
  bytes[mid + 1] = '5'.charCodeAt(0);
  writeFileSync(input, bytes);
  utimesSync(input, 1_700_000_000, 1_700_000_000);
  // other parameters are named
  const params = affinity(...base.map((a) => (a === '5' ? '6' : a)), '--backend', 'wasm', '--resume');
  assert.is.not(params.code, 0);
  assert.match(params.stderr, /other inputs or parameters: k \(checkpoint: 5, now: 6\)/);

  assert.ok(existsSync(cpFile) && existsSync(`${out}.partial`), 'refused resumes keep the checkpoint and the partial file');
  const ok = affinity(...base, '--backend', 'wasm', '--resume', '--json');
  assert.is(ok.code, 0, ok.stderr);
  assert.is(JSON.parse(ok.stdout).resumedFromBlock.block, cp.recommendations.blocks);
  assert.ok(readFileSync(out).equals(readFileSync(ref)), 'resumed on the same backend: the uninterrupted run\'s bytes');
});

test('a run killed between its two final renames (--similar-items) finishes on --resume with both files whole', async () => {
  const d = dir('resume-renames');
  const input = path.join(d, 'r.csv');
  await writeSyntheticCsv({ users: 500, items: 200, interactions: 5000, explicit: false, seed: 9, out: input });
  const base = ['precompute', '--input', input, '--model', 'item-knn', '--k', '5', '--similar-items', '4', '--block-size', '50', '--quiet'];
  const ref = path.join(d, 'ref.jsonl');
  assert.is(affinity(...base, '--out', ref).code, 0);
  const out = path.join(d, 'recs.jsonl');
  const run = await runAndKill([...base, '--out', out], () => false, killBetweenRenames);
  assert.ok(run.killed, `the run died at its second rename (${run.stderr})`);
  assert.ok(existsSync(out), 'the first rename happened');
  assert.not.ok(existsSync(path.join(d, 'recs.similar.jsonl')), 'the second did not');
  assert.is(readCp(`${out}.checkpoint`).phase, 'complete');
  const r = affinity(...base, '--out', out, '--resume', '--json');
  assert.is(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.is(s.users, 500);
  assert.ok(readFileSync(out).equals(readFileSync(ref)), 'recommendations whole');
  assert.ok(readFileSync(path.join(d, 'recs.similar.jsonl')).equals(readFileSync(path.join(d, 'ref.similar.jsonl'))), 'similar items whole');
  assert.equal(readdirSync(d).sort(), ['r.csv', 'recs.jsonl', 'recs.similar.jsonl', 'ref.jsonl', 'ref.similar.jsonl']);
});

test('a run killed without a terminal resumes in one: the progress bar is not part of what a checkpoint compares', async () => {
  const d = dir('resume-progress');
  const input = path.join(d, 'r.csv');
  await writeSyntheticCsv({ users: 3000, items: 300, interactions: 30000, explicit: false, seed: 12, out: input });
  const out = path.join(d, 'recs.jsonl'), ref = path.join(d, 'ref.jsonl');
  const base = ['precompute', '--input', input, '--model', 'popularity', '--k', '5', '--block-size', '2', '--quiet'];
  assert.is(affinity(...base, '--out', ref).code, 0);
  const cpFile = `${out}.checkpoint`;
  const run = await runAndKill([...base, '--out', out], () => existsSync(cpFile) && readCp(cpFile).recommendations.blocks >= 3);
  assert.ok(run.killed, run.stderr);
  // what the CLI passes on a terminal: no progress: false
  const { precomputeToFile } = await import('../src/pipeline/precompute.js');
  const { closeEngine } = await import('../src/engine/processEngine.js');
  try {
    const s = await precomputeToFile({ input, read: { implicit: false }, model: 'popularity', params: {}, k: 5, blockSize: 2, out, resume: true });
    assert.ok(s.resumedFromBlock !== undefined);
  } finally {
    await closeEngine();
  }
  assert.ok(readFileSync(out).equals(readFileSync(ref)));
});

test('precompute reads stdin (--input -) as it reads the file, and resumes it when the content is the same', async () => {
  const d = dir('stdin');
  const input = path.join(d, 'r.csv');
  await writeSyntheticCsv({ users: 300, items: 100, interactions: 3000, explicit: false, seed: 11, out: input });
  const base = ['precompute', '--model', 'popularity', '--k', '5', '--quiet'];
  assert.is(affinity(...base, '--input', input, '--out', path.join(d, 'file.jsonl')).code, 0);
  const r = spawnSync(process.execPath, [cli, ...base, '--input', '-', '--out', path.join(d, 'stdin.jsonl')], { input: readFileSync(input), encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.ok(readFileSync(path.join(d, 'stdin.jsonl')).equals(readFileSync(path.join(d, 'file.jsonl'))));
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
