/**
 * Calibration: two fake backends (one doing the reference's work 25× over) are measured, the
 * calibrated ranker puts the fast one first, the table round-trips through the cache (and a
 * key mismatch gives null), and an engine using the cached table dispatches to the fast one.
 * The only timing claim is "fast before a backend ≥ 20× slower".
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registerBackend, unregisterBackend, type BackendStatus } from '../src/backends/registry.js';
import type { Backend } from '../src/backends/types.js';
import { denseScoreTopKReference, allocateDenseScoreTopK, type DenseScoreTopKArgs } from '../src/kernels/denseScoreTopK.js';
import type { TopK } from '../src/data/matrix.js';
import { Engine } from '../src/engine/engine.js';
import {
  calibrate, calibratedRanker, calibrationKey, calibrationPath, calibrationSummary, loadCalibration, saveCalibration,
  useCalibration, SMALL_WORK, SWITCH_MARGIN, type CalibrationTable,
} from '../src/engine/calibration.js';
import { calibrationCases } from '../src/engine/calibrationCases.js';
import { randomDense } from './helpers/random.js';
import { getKernel, kernelNames } from '../src/kernels/index.js';
import { backendNames, probeBackend } from '../src/backends/registry.js';

const SLOWDOWN = 25;

function fake(name: string, priority: number, repeat: number): Backend {
  return {
    name, priority, threading: 'internal',
    probe: () => ({ available: true, reason: `test fake (${repeat}× the reference's work)` }),
    kernels: {
      denseScoreTopK: (a: DenseScoreTopKArgs, out: TopK, r0: number, r1: number) => {
        for (let i = 0; i < repeat; i++) denseScoreTopKReference(a, out, r0, r1);
      },
    },
  };
}

const status = (name: string, priority: number): BackendStatus =>
  ({ name, priority, threading: 'internal', kernels: ['denseScoreTopK'], loadableInWorkers: true, available: true, reason: '' });

let dir = '';
let prevCache: string | undefined;
const engine = new Engine(2);
let table: CalibrationTable;

test.before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'affinity-calib-'));
  prevCache = process.env.AFFINITY_CACHE_DIR;
  process.env.AFFINITY_CACHE_DIR = dir;
  // the slow fake has the higher priority: without calibration the engine would pick it
  registerBackend(fake('calib-fast', 500, 1));
  registerBackend(fake('calib-slow', 1000, SLOWDOWN));
});

test.after(async () => {
  unregisterBackend('calib-fast');
  unregisterBackend('calib-slow');
  if (prevCache === undefined) delete process.env.AFFINITY_CACHE_DIR; else process.env.AFFINITY_CACHE_DIR = prevCache;
  rmSync(dir, { recursive: true, force: true });
  await engine.close();
});

test('calibrate measures both fakes at both sizes; the fast one measures faster', async () => {
  const progress: string[] = [];
  table = await calibrate({
    kernels: ['denseScoreTopK'], backends: ['calib-fast', 'calib-slow'], engine,
    targetSeconds: 0.02, maxSeconds: 0.5, onProgress: (m) => progress.push(m),
  });
  assert.equal(table.failures, []);
  assert.is(table.entries.length, 4);
  assert.is(progress.filter((m) => !/re-measured/.test(m)).length, 4);
  // the fast one leaves the higher-priority slow one behind at both sizes: confirmed by re-measuring
  assert.is(progress.filter((m) => /calib-fast over calib-slow re-measured .* the switch stands/.test(m)).length, 2);
  for (const size of ['small', 'medium'] as const) {
    const f = table.entries.find((e) => e.backend === 'calib-fast' && e.sizeClass === size)!;
    const s = table.entries.find((e) => e.backend === 'calib-slow' && e.sizeClass === size)!;
    assert.ok(f && s, `both measured at ${size}`);
    assert.ok(f.gflops > 0 && Number.isFinite(f.gflops));
    assert.ok(f.gflops > s.gflops, `${size}: fast ${f.gflops} vs slow ${s.gflops} GFLOP/s`);
    assert.is(f.work, s.work);
    assert.ok(f.timedRows >= 1 && f.timedRows <= f.rows);
  }
  // the medium case is big enough that the slow fake timed a sample of its rows
  const slowMedium = table.entries.find((e) => e.backend === 'calib-slow' && e.sizeClass === 'medium')!;
  assert.ok(slowMedium.timedRows < slowMedium.rows, 'slow backend sampled');
  assert.equal(table.key, calibrationKey());
  assert.equal(table.backends.map((b) => b.name).sort(), ['calib-fast', 'calib-slow']);
});

test('calibrated ranker: fast first at every size; unmeasured after measured, by priority', () => {
  const rank = calibratedRanker(table);
  const cands = [status('calib-slow', 1000), status('calib-fast', 500), status('unmeasured-hi', 5000), status('js', 0), status('unmeasured-lo', 1)];
  const works = [1e3, SMALL_WORK / 2, ...table.entries.map((e) => e.work), 1e12];
  for (const w of works) {
    const order = rank('denseScoreTopK', w, cands).map((c) => c.name);
    assert.equal(order, ['calib-fast', 'calib-slow', 'unmeasured-hi', 'unmeasured-lo', 'js'], `work ${w}`);
  }
  // a kernel the table does not cover: priority order, but js first for small calls
  assert.equal(rank('alsHalfStep', 1e9, cands).map((c) => c.name), ['unmeasured-hi', 'calib-slow', 'calib-fast', 'unmeasured-lo', 'js']);
  assert.equal(rank('alsHalfStep', 1e3, cands).map((c) => c.name)[0], 'js');
});

test('nearest size class decides', () => {
  // a table where 'b' wins small problems and 'a' wins medium ones
  const cases = calibrationCases().filter((c) => c.kernel === 'denseScoreTopK');
  const entry = (backend: string, sizeClass: 'small' | 'medium', work: number, gflops: number) =>
    ({ kernel: 'denseScoreTopK', backend, sizeClass, size: sizeClass, work, rows: 1, timedRows: 1, seconds: 1, repeats: 1, gflops, rowsPerSecond: 1 });
  assert.is(cases.length, 2);
  const t: CalibrationTable = {
    ...table, entries: [entry('a', 'small', 1e6, 1), entry('b', 'small', 1e6, 2), entry('a', 'medium', 1e9, 20), entry('b', 'medium', 1e9, 3)],
  };
  const rank = calibratedRanker(t);
  const c = [status('a', 0), status('b', 0)];
  assert.is(rank('denseScoreTopK', 2e6, c)[0].name, 'b');
  assert.is(rank('denseScoreTopK', 5e8, c)[0].name, 'a');
});

test('a backend leads over the higher-priority one only when measured SWITCH_MARGIN times faster (load noise does not flip dispatch)', () => {
  const entry = (backend: string, gflops: number) =>
    ({ kernel: 'denseScoreTopK', backend, sizeClass: 'medium' as const, size: 'medium', work: 1e9, rows: 1, timedRows: 1, seconds: 1, repeats: 3, gflops, rowsPerSecond: 1 });
  const c = [status('native', 100), status('wasm', 50), status('js', 0)];
  const rankWith = (wasm: number) => calibratedRanker({ ...table, entries: [entry('native', 10), entry('wasm', wasm), entry('js', 1)] })('denseScoreTopK', 1e9, c).map((b) => b.name);
  assert.equal(rankWith(11), ['native', 'wasm', 'js'], '10 % faster is noise');
  assert.equal(rankWith(10 * SWITCH_MARGIN - 0.01), ['native', 'wasm', 'js']);
  assert.equal(rankWith(10 * SWITCH_MARGIN + 0.01), ['wasm', 'native', 'js']);
  assert.equal(rankWith(30), ['wasm', 'native', 'js']);
  assert.equal(rankWith(5), ['native', 'wasm', 'js']);
});

test('the cache round-trips; a key mismatch or a bad file gives null', () => {
  assert.is(calibrationPath(), path.join(dir, 'calibration.json'));
  assert.ok(existsSync(calibrationPath()), 'calibrate wrote the table');
  assert.equal(loadCalibration(), table);
  const key = calibrationKey();
  assert.is(loadCalibration({ key: { ...key, version: `${key.version}-other` } }), null);
  assert.is(loadCalibration({ key: { ...key, cores: key.cores + 1 } }), null);
  assert.is(loadCalibration({ key: { ...key, gpu: 'Imaginary GPU' } }), null);
  assert.is(loadCalibration({ key: { ...key, cpuModel: 'other CPU' } }), null);
  // a table written on another machine
  const other = path.join(dir, 'other.json');
  saveCalibration({ ...table, key: { ...key, cpuModel: 'other CPU' } }, other);
  assert.is(loadCalibration({ file: other }), null);
  writeFileSync(other, '{ not json');
  assert.is(loadCalibration({ file: other }), null);
  assert.is(loadCalibration({ file: path.join(dir, 'missing.json') }), null);
  const summary = calibrationSummary() as { kernels: Array<{ ranking: Array<{ backend: string }> }> };
  assert.ok(summary && summary.kernels.length === 2);
  for (const k of summary.kernels) assert.is(k.ranking[0].backend, 'calib-fast');
});

test('an engine using the cached table dispatches to the fast backend', async () => {
  const a: DenseScoreTopKArgs = { queries: randomDense(300, 16, 3), keys: randomDense(400, 16, 4), k: 5, metric: 'dot' };
  const e = new Engine(2);
  try {
    // by priority alone the (slow) higher-priority fake would run
    assert.is((await e.runDetailed('denseScoreTopK', a, { backend: 'auto' })).backend, 'calib-slow');
    const t = useCalibration(e);
    assert.ok(t, 'the cached table was found');
    const r = await e.runDetailed('denseScoreTopK', a, { backend: 'auto' });
    assert.is(r.backend, 'calib-fast');
    const ref = allocateDenseScoreTopK(a);
    denseScoreTopKReference(a, ref, 0, 300);
    assert.equal(r.out.ids, ref.ids);
  } finally {
    await e.close();
  }
});

test('no cached table: useCalibration leaves the engine alone and returns null', () => {
  const e = new Engine(1);
  const prev = process.env.AFFINITY_CACHE_DIR;
  process.env.AFFINITY_CACHE_DIR = path.join(dir, 'empty');
  try {
    assert.is(useCalibration(e), null);
    assert.is(calibrationSummary(), null);
  } finally {
    process.env.AFFINITY_CACHE_DIR = prev;
  }
});

test('the cases cover every kernel of the contract at both sizes, with valid (and validly sampled) args', () => {
  const cases = calibrationCases();
  for (const k of kernelNames()) {
    for (const size of ['small', 'medium'] as const) {
      const c = cases.filter((x) => x.kernel === k && x.sizeClass === size);
      assert.is(c.length, 1, `${k} ${size}`);
      const p = c[0].build();
      const kernel = getKernel(k);
      kernel.validate(p.args);
      assert.is(kernel.rows(p.args), p.rows, `${k} ${size}: rows`);
      const work = kernel.flops!(kernel.prepare ? kernel.prepare(p.args) : p.args);
      if (size === 'small') assert.ok(work < SMALL_WORK, `${k} small: ${work} flops is below SMALL_WORK`);
      else assert.ok(work > SMALL_WORK * 10, `${k} medium: ${work} flops`);
      if (p.firstRows) {
        const a = p.firstRows(7);
        kernel.validate(a);
        assert.is(kernel.rows(a), 7, `${k} ${size}: a sample of 7 rows`);
      }
    }
  }
});

test('calibrating the real backends measures every kernel on every available backend that implements it', async () => {
  const statuses = (await Promise.all(backendNames().map(probeBackend))).filter((s) => s.available && !s.name.startsWith('calib-'));
  const names = statuses.map((s) => s.name);
  for (const s of (await Promise.all(backendNames().map(probeBackend))).filter((x) => !x.available)) console.log(`  calibration: ${s.name} unavailable (${s.reason})`);
  const t = await calibrate({ backends: names, sizes: ['small'], engine, write: false, targetSeconds: 0.002, maxSeconds: 0.05 });
  assert.equal(t.failures, []);
  for (const k of kernelNames()) {
    const expected = statuses.filter((s) => s.kernels.includes(k)).map((s) => s.name).sort();
    assert.ok(expected.includes('js'), `${k}: the reference is always measured`);
    const got = t.entries.filter((e) => e.kernel === k).map((e) => e.backend).sort();
    assert.equal(got, expected, `${k}: measured on ${got.join(', ')}`);
    for (const e of t.entries.filter((x) => x.kernel === k)) assert.ok(e.gflops > 0 && Number.isFinite(e.gflops), `${k} on ${e.backend}: ${e.gflops} GFLOP/s`);
  }
});

test('unknown kernel or backend names are errors', async () => {
  const message = async (p: Promise<unknown>): Promise<string> => {
    try { await p; } catch (e) { return (e as Error).message; }
    return 'resolved';
  };
  assert.match(await message(calibrate({ kernels: ['noSuchKernel'], backends: ['calib-fast'], engine, write: false })), /unknown kernel 'noSuchKernel'/);
  assert.match(await message(calibrate({ backends: ['noSuchBackend'], engine, write: false })), /unknown backend 'noSuchBackend'/);
});

test('a switch away from the preferred backend is re-measured interleaved: a load spike in its first measurement does not send the kernel to a slower backend', async () => {
  // calib-pref (high priority) does the reference's work once, but 25× over during its first
  // measurement (a burst of load); calib-chal always does it 3×. Measured once each, the challenger
  // looks ~8× faster; re-measured, the preferred backend is ~3× faster and keeps the kernel.
  let spike = true;
  const pref: Backend = { ...fake('calib-pref', 900, 1), kernels: {
    denseScoreTopK: (a: DenseScoreTopKArgs, out: TopK, r0: number, r1: number) => {
      for (let i = 0; i < (spike ? SLOWDOWN : 1); i++) denseScoreTopKReference(a, out, r0, r1);
    },
  } };
  registerBackend(pref);
  registerBackend(fake('calib-chal', 400, 3));
  try {
    const progress: string[] = [];
    const first: Record<string, number> = {};
    const t = await calibrate({
      kernels: ['denseScoreTopK'], backends: ['calib-pref', 'calib-chal'], sizes: ['small'], engine, write: false,
      targetSeconds: 0.02, maxSeconds: 0.5,
      onProgress: (m, e) => {
        progress.push(m);
        if (e && first[e.backend] === undefined) first[e.backend] = e.gflops;
        if (e?.backend === 'calib-pref') spike = false; // the burst is over after its first measurement
      },
    });
    assert.ok(first['calib-chal'] > SWITCH_MARGIN * first['calib-pref'], `first measurements: chal ${first['calib-chal']} vs pref ${first['calib-pref']}`);
    assert.match(progress.join('\n'), /calib-chal over calib-pref re-measured \(median of 3 paired ratios\): .* calib-pref keeps it/);
    const rank = calibratedRanker(t);
    const entry = t.entries.find((e) => e.backend === 'calib-pref')!;
    assert.is(rank('denseScoreTopK', entry.work, [status('calib-chal', 400), status('calib-pref', 900)])[0].name, 'calib-pref');
    assert.ok(entry.repeats >= 9, 'three measurements of at least 3 calls');
  } finally {
    unregisterBackend('calib-pref');
    unregisterBackend('calib-chal');
  }
});

test.run();
