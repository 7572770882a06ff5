/**
 * gpujs backend conformance against the reference (src/kernels/denseScoreTopK.ts), in whatever
 * mode gpu.js runs on this machine (GL, webasm or cpu: gpu.js reports it; the probe says which).
 *
 * Tolerance: scores within 1e-4 relative (absolute below magnitude 1). gpu.js computes in float32
 * (GL float32 textures in GPU mode; float32 arithmetic in its CPU/WebAssembly modes) while the
 * reference accumulates in float64. Ids must match exactly where the data make scores exact in
 * float32 (quantized inputs, dot); elsewhere a differing id is accepted only where its exact
 * score is within the tolerance of the reference's at that slot (a near-tie reordered).
 *
 * alsHalfStep (systems built on gpu.js in float32, solved in float64 on the CPU): every factor within 1e-3
 * of its row's largest |factor| in the reference (|gpujs − ref| ≤ tol · max(‖ref row‖∞, 1e-6)) for Cholesky;
 * tol = 5e-3 for CG, whose few unconverged steps amplify the float32 rounding of the system on ill-conditioned
 * rows (measured up to 1.2e-3 with f = 33, 6 steps, λ = 0.1); rows with no entries exactly 0. gramianGpujs: within 1e-5 relative (absolute below magnitude 1) of gramian().
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gpujsBackend, gramianGpujs, setGpujsChunking } from '../src/backends/gpujs/index.js';
import { allocateAlsHalfStep, alsHalfStepReference, gramian, type AlsHalfStepArgs } from '../src/kernels/alsHalfStep.js';
import { allocateDenseScoreTopK, denseScoreTopKReference, type DenseScoreTopKArgs } from '../src/kernels/denseScoreTopK.js';
import { csrFromTriplets, denseFrom, type Csr, type Dense, type TopK } from '../src/data/matrix.js';
import { Engine } from '../src/engine/engine.js';
import { randomDense, mulberry32 } from './helpers/random.js';
import { skip } from './helpers/skip.js';

const TOL = 1e-4;
const probe = await gpujsBackend.probe();
const impl = gpujsBackend.kernels.denseScoreTopK!;

function exactScore(a: DenseScoreTopKArgs, r: number, j: number): number {
  const d = a.queries.cols;
  let s = 0, nq = 0, nk = 0;
  for (let f = 0; f < d; f++) {
    const x = a.queries.data[r * d + f], y = a.keys.data[j * d + f];
    s += x * y; nq += x * x; nk += y * y;
  }
  if (a.metric === 'cosine') { const den = Math.sqrt(nq) * Math.sqrt(nk); return den > 0 ? s / den : 0; }
  return s;
}

const close = (x: number, y: number): boolean => Math.abs(x - y) <= TOL * Math.max(1, Math.abs(y));

async function compare(a: DenseScoreTopKArgs, o: { strict?: boolean; rowStart?: number; rowEnd?: number } = {}): Promise<{ got: TopK; ref: TopK }> {
  const r0 = o.rowStart ?? 0, r1 = o.rowEnd ?? a.queries.rows;
  const ref = allocateDenseScoreTopK(a), got = allocateDenseScoreTopK(a);
  denseScoreTopKReference(a, ref, r0, r1);
  await impl(a, got, r0, r1);
  assert.is(got.k, Math.min(a.k, a.keys.rows));
  const k = got.k;
  for (let r = 0; r < a.queries.rows; r++) {
    const excluded = new Set<number>();
    if (a.exclude) for (let p = a.exclude.indptr[r]; p < a.exclude.indptr[r + 1]; p++) excluded.add(a.exclude.indices[p]);
    const ids = new Set<number>();
    for (let i = 0; i < k; i++) {
      const at = r * k + i;
      const rid = ref.ids[at], rs = ref.scores[at], gid = got.ids[at], gs = got.scores[at];
      const where = `row ${r} slot ${i}`;
      if (rid === -1) {
        assert.is(gid, -1, `${where}: expected padding, got id ${gid}`);
        assert.is(gs, -Infinity, `${where}: padding score`);
        continue;
      }
      assert.ok(gid >= 0 && gid < a.keys.rows, `${where}: id ${gid} out of range`);
      assert.ok(!ids.has(gid), `${where}: id ${gid} twice`);
      ids.add(gid);
      assert.ok(!excluded.has(gid), `${where}: excluded id ${gid} kept`);
      assert.ok(!(a.excludeSelf && gid === r), `${where}: self kept`);
      assert.ok(close(gs, rs), `${where}: score ${gs} vs reference ${rs}`);
      if (o.strict) assert.is(gid, rid, `${where}: id`);
      else if (gid !== rid) assert.ok(close(exactScore(a, r, gid), rs), `${where}: id ${gid} (exact score ${exactScore(a, r, gid)}) where the reference has ${rid} (${rs})`);
    }
  }
  return { got, ref };
}

function exclusions(rows: number, keys: number, perRow: number, seed: number): Csr {
  const rnd = mulberry32(seed);
  const r: number[] = [], c: number[] = [], v: number[] = [];
  for (let i = 0; i < rows; i++) for (let p = 0; p < perRow; p++) { r.push(i); c.push(Math.floor(rnd() * keys)); v.push(1); }
  const m = csrFromTriplets(rows, keys, r, c, v);
  return m;
}

if (!probe.available) {
  skip(test, 'gpujs', probe.reason);
  test('gpujs unavailable: the probe says why', () => {
    assert.type(probe.reason, 'string');
    assert.ok(probe.reason.trim().length > 0);
  });
} else {
  console.log(`gpujs: ${probe.reason}`);

  test('probe reports the gpu.js mode', () => {
    assert.type(probe.details?.mode, 'string');
    assert.ok(probe.reason.includes(String(probe.details!.mode)));
  });

  for (const metric of ['dot', 'cosine'] as const) {
    test(`${metric}: random shapes match the reference`, async () => {
      const shapes: Array<[number, number, number, number]> = [[1, 1, 1, 1], [7, 13, 5, 3], [50, 200, 16, 10], [130, 40, 33, 50], [3, 500, 64, 20]];
      let seed = 1;
      for (const [q, n, d, k] of shapes) {
        await compare({ queries: randomDense(q, d, seed++), keys: randomDense(n, d, seed++), k, metric });
      }
    });

    test(`${metric}: self product with excludeSelf and exclusion lists`, async () => {
      const m = randomDense(120, 24, 40);
      await compare({ queries: m, keys: m, k: 15, metric, excludeSelf: true });
      await compare({ queries: m, keys: m, k: 15, metric, excludeSelf: true, exclude: exclusions(120, 120, 30, 41) });
      // everything but a few keys excluded: rows are padded with -1 / -Infinity
      const { got } = await compare({ queries: randomDense(10, 24, 42), keys: randomDense(12, 24, 43), k: 12, metric, exclude: exclusions(10, 12, 40, 44) });
      assert.ok([...got.ids].includes(-1), 'some padding expected');
    });

    test(`${metric}: ties break by lower key id (quantized inputs, duplicated keys)`, async () => {
      const keys = randomDense(60, 8, 50, 2);
      // duplicate rows: identical scores for every query
      for (let j = 30; j < 60; j++) keys.data.copyWithin(j * 8, (j - 30) * 8, (j - 29) * 8);
      await compare({ queries: randomDense(25, 8, 51, 2), keys, k: 20, metric }, { strict: true });
    });

    test(`${metric}: zero rows`, async () => {
      const q = randomDense(6, 10, 60), keys = randomDense(30, 10, 61);
      q.data.fill(0, 2 * 10, 3 * 10); // query 2 all zero
      keys.data.fill(0, 5 * 10, 9 * 10); // keys 5..8 all zero
      const { got } = await compare({ queries: q, keys, k: 30, metric });
      // query 2 scores 0 against every key: ids in order
      for (let i = 0; i < 30; i++) { assert.is(got.ids[2 * 30 + i], i); assert.is(got.scores[2 * 30 + i], 0); }
    });
  }

  test('row ranges write only their rows', async () => {
    const a: DenseScoreTopKArgs = { queries: randomDense(40, 12, 70), keys: randomDense(90, 12, 71), k: 5, metric: 'dot' };
    const { got } = await compare(a, { rowStart: 13, rowEnd: 29 });
    for (let r = 0; r < 40; r++) {
      const written = got.ids[r * 5] !== -1;
      assert.is(written, r >= 13 && r < 29, `row ${r}`);
    }
  });

  test('NaN scores are never kept (dot)', async () => {
    const keys = randomDense(20, 4, 80);
    keys.data[3 * 4 + 1] = NaN;
    const { got } = await compare({ queries: randomDense(5, 4, 81), keys, k: 20, metric: 'dot' });
    assert.not.ok([...got.ids].includes(3), 'key 3 has a NaN score');
    for (let r = 0; r < 5; r++) assert.is(got.ids[r * 20 + 19], -1);
  });

  test('chunked calls (tiny chunks of rows and keys) stitch to the same result', async () => {
    const prev = setGpujsChunking({ cells: 300, keys: 16 });
    try {
      for (const metric of ['dot', 'cosine'] as const) {
        const m = randomDense(70, 9, 90);
        await compare({ queries: m, keys: m, k: 12, metric, excludeSelf: true, exclude: exclusions(70, 70, 5, 91) });
      }
    } finally {
      setGpujsChunking(prev);
    }
  });

  /** A random ratings matrix with some empty rows (and, with `heavy`, a few rows of many entries). */
  function ratings(rows: number, cols: number, density: number, seed: number, heavy = false): Csr {
    const rnd = mulberry32(seed);
    const r: number[] = [], c: number[] = [], v: number[] = [];
    for (let i = 0; i < rows; i++) {
      if (rnd() < 0.1) continue;
      const d = heavy && i % 7 === 0 ? 0.8 : density;
      for (let j = 0; j < cols; j++) if (rnd() < d) { r.push(i); c.push(j); v.push(1 + Math.floor(rnd() * 5)); }
    }
    return csrFromTriplets(rows, cols, r, c, v);
  }
  const factors = (rows: number, f: number, seed: number, scale: number): Dense => {
    const rnd = mulberry32(seed);
    return denseFrom(rows, f, Array.from({ length: rows * f }, () => (rnd() * 2 - 1) * scale));
  };
  /** confidences 1 + 10·r, some exactly 1 (weight 0) and some negative (observed, p = 0) */
  const confidences = (m: Csr, seed: number): Csr => {
    const rnd = mulberry32(seed);
    return { ...m, data: Float32Array.from(m.data, (x) => { const u = rnd(); return u < 0.1 ? 1 : u < 0.2 ? -(1 + x) : 1 + 10 * x; }) };
  };

  async function compareAls(a: AlsHalfStepArgs, label: string, range?: [number, number]): Promise<Dense> {
    const rows = a.matrix.rows, f = a.other.cols;
    const [r0, r1] = range ?? [0, rows];
    const tol = a.solver === 'cg' ? 5e-3 : 1e-3;
    const ref = allocateAlsHalfStep(a), got = allocateAlsHalfStep(a);
    alsHalfStepReference(a, ref, r0, r1);
    await gpujsBackend.kernels.alsHalfStep!(a, got, r0, r1);
    for (let r = 0; r < rows; r++) {
      let scale = 0;
      for (let k = 0; k < f; k++) scale = Math.max(scale, Math.abs(ref.data[r * f + k]));
      const untouched = r < r0 || r >= r1;
      for (let k = 0; k < f; k++) {
        const x = got.data[r * f + k], y = ref.data[r * f + k];
        if (untouched || a.matrix.indptr[r + 1] === a.matrix.indptr[r]) { assert.is(x, y, `${label}: row ${r} factor ${k} exactly ${y}`); continue; }
        const err = Math.abs(x - y) / Math.max(scale, 1e-6);
        if (!(err <= tol)) assert.unreachable(`${label}: row ${r} factor ${k}: gpujs ${x} vs reference ${y} (relative error ${err})`);
      }
    }
    return got;
  }

  test('gramianGpujs matches gramian', () => {
    for (const [m, f] of [[1, 1], [50, 7], [300, 32]]) {
      const y = factors(m, f, m + f, 0.7);
      const want = gramian(y), got = gramianGpujs(y);
      for (let i = 0; i < want.length; i++) assert.ok(close(got[i], want[i]), `${m}x${f} cell ${i}: ${got[i]} vs ${want[i]}`);
    }
  });

  test('alsHalfStep: implicit and explicit, Cholesky and CG (1, 3, 6 steps), several factor counts, match the reference', async () => {
    let seed = 200;
    for (const f of [1, 5, 16, 33]) {
      const m = ratings(60, 45, 0.15, seed++);
      const y = factors(45, f, seed++, 0.5), initial = factors(60, f, seed++, 0.1);
      const gram = gramian(y), conf = confidences(m, seed++);
      for (const solver of ['cholesky', 'cg'] as const) {
        await compareAls({ mode: 'implicit', solver, matrix: conf, other: y, gram, regularization: 0.1, initial }, `implicit ${solver} f=${f}`);
        await compareAls({ mode: 'explicit', solver, matrix: m, other: y, regularization: 0.05, initial }, `explicit ${solver} f=${f}`);
      }
      for (const cgSteps of [1, 6]) await compareAls({ mode: 'implicit', solver: 'cg', cgSteps, matrix: conf, other: y, gram, regularization: 0.1, initial }, `implicit cg×${cgSteps} f=${f}`);
      await compareAls({ mode: 'explicit', solver: 'cg', matrix: m, other: y, regularization: 0.05 }, `explicit cg from 0 f=${f}`);
    }
  });

  test('alsHalfStep: heavy rows, row ranges, tiny chunks, λ = 0 and a singular system', async () => {
    const f = 12;
    const m = ratings(80, 150, 0.05, 300, true);
    const y = factors(150, f, 301, 0.4), initial = factors(80, f, 302, 0.1);
    const a: AlsHalfStepArgs = { mode: 'implicit', solver: 'cholesky', matrix: confidences(m, 303), other: y, gram: gramian(y), regularization: 0.05, initial };
    await compareAls(a, 'heavy rows');
    await compareAls({ ...a, solver: 'cg' }, 'heavy rows cg', [13, 61]);
    await compareAls({ ...a, regularization: 0 }, 'implicit λ=0');
    const prev = setGpujsChunking({ cells: (f * f + f) * 7 });
    try {
      await compareAls(a, 'chunks of 7 rows', [3, 77]);
      await compareAls({ ...a, mode: 'explicit', matrix: m, gram: undefined }, 'explicit chunks of 7 rows');
    } finally {
      setGpujsChunking(prev);
    }
    // explicit, λ = 0, row 1 rates only an item whose factors are zero: the reference's RangeError
    const s = csrFromTriplets(3, 4, [0, 0, 1, 2, 2], [0, 1, 2, 0, 3], [4, 3, 5, 2, 1]);
    const z = factors(4, 2, 304, 0.5);
    z.data.fill(0, 4, 6);
    const bad: AlsHalfStepArgs = { mode: 'explicit', solver: 'cholesky', matrix: s, other: z, regularization: 0 };
    let message = '';
    try { await gpujsBackend.kernels.alsHalfStep!(bad, allocateAlsHalfStep(bad), 0, 3); } catch (e) { message = (e as Error).message; }
    assert.match(message, /row 1 is not positive definite/);
  });

  test('engine dispatch pinned to gpujs: alsHalfStep', async () => {
    const e = new Engine(2);
    try {
      const m = ratings(200, 120, 0.08, 400);
      const y = factors(120, 20, 401, 0.3);
      const a: AlsHalfStepArgs = { mode: 'implicit', solver: 'cg', cgSteps: 3, matrix: confidences(m, 402), other: y, gram: gramian(y), regularization: 0.1 };
      const r = await e.runDetailed('alsHalfStep', a, { backend: 'gpujs' });
      assert.is(r.backend, 'gpujs');
      const ref = allocateAlsHalfStep(a);
      alsHalfStepReference(a, ref, 0, 200);
      for (let i = 0; i < ref.data.length; i++) assert.ok(Math.abs(r.out.data[i] - ref.data[i]) <= 1e-3 * Math.max(0.1, Math.abs(ref.data[i])), `value ${i}`);
    } finally {
      await e.close();
    }
  });

  test('engine dispatch pinned to gpujs', async () => {
    const e = new Engine(2);
    try {
      const keys: Dense = randomDense(200, 32, 100);
      const a: DenseScoreTopKArgs = { queries: keys, keys, k: 10, metric: 'cosine', excludeSelf: true };
      const r = await e.runDetailed('denseScoreTopK', a, { backend: 'gpujs' });
      assert.is(r.backend, 'gpujs');
      const ref = allocateDenseScoreTopK(a);
      denseScoreTopKReference(a, ref, 0, 200);
      let same = 0;
      for (let i = 0; i < ref.ids.length; i++) if (ref.ids[i] === r.out.ids[i]) same++;
      assert.ok(same >= ref.ids.length * 0.99, `${same} of ${ref.ids.length} ids agree`);
      for (let i = 0; i < ref.scores.length; i++) assert.ok(close(r.out.scores[i], ref.scores[i]));
    } finally {
      await e.close();
    }
  });
}

test.run();
