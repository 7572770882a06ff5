/**
 * The native backend against the reference (src/kernels/denseScoreTopK.ts).
 *
 * Tolerance: the addon accumulates in float32, the reference in float64. Scores must agree
 * within 1e-4·max(1, |reference|) (entries here are in [-1, 1]); ids must be identical except
 * where the reference scores of the two ids lie within that tolerance of each other (a near
 * tie that float32 rounding may order either way). Data quantised to {-1, 0, 1} makes every
 * product exact in float32, so there the ids must match exactly, ties included.
 *
 * Without a built addon the file prints `SKIP native: <reason>` and runs one test on the reason.
 * The CUDA backend gets the same conformance checks where it is available, else `SKIP cuda: <reason>`
 * and a check that its probe explains itself (where affinity_cuda.node was built, the module must
 * load and its probe must answer even without a driver).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nativeBackend, loadNativeAddon, type NativeAddon, type NativeDenseScoreTopKCall } from '../src/backends/native/index.js';
import { cudaBackend, loadCudaAddon } from '../src/backends/native/cuda.js';
import { allocateDenseScoreTopK, denseScoreTopKReference, type DenseScoreTopKArgs } from '../src/kernels/denseScoreTopK.js';
import { csrFromTriplets, denseFrom, type Csr, type Dense, type TopK } from '../src/data/matrix.js';
import { randomDense, mulberry32 } from './helpers/random.js';
import { skip } from './helpers/skip.js';

const tol = (ref: number) => 1e-4 * Math.max(1, Math.abs(ref));

/** float64 score of (query row r, key j), as the reference computes it */
function exactScore(a: DenseScoreTopKArgs, r: number, j: number): number {
  const d = a.queries.cols;
  let s = 0, nq = 0, nk = 0;
  for (let f = 0; f < d; f++) {
    const x = a.queries.data[r * d + f], y = a.keys.data[j * d + f];
    s += x * y; nq += x * x; nk += y * y;
  }
  if (a.metric === 'cosine') { const den = Math.sqrt(nq) * Math.sqrt(nk); s = den > 0 ? s / den : 0; }
  return s;
}

function excludedSet(a: DenseScoreTopKArgs, r: number): Set<number> {
  const s = new Set<number>();
  if (a.exclude) for (let p = a.exclude.indptr[r]; p < a.exclude.indptr[r + 1]; p++) s.add(a.exclude.indices[p]);
  if (a.excludeSelf) s.add(r);
  return s;
}

/** Compares rows [r0, r1) of the native result with the reference; `exact` demands identical ids. */
function compare(a: DenseScoreTopKArgs, got: TopK, r0: number, r1: number, exact = false, label = ''): void {
  const want = allocateDenseScoreTopK(a);
  denseScoreTopKReference(a, want, r0, r1);
  assert.is(got.k, want.k, `${label} k`);
  const k = want.k;
  for (let r = r0; r < r1; r++) {
    const skip = excludedSet(a, r);
    const seen = new Set<number>();
    for (let slot = 0; slot < k; slot++) {
      const o = r * k + slot;
      const wid = want.ids[o], ws = want.scores[o], gid = got.ids[o], gs = got.scores[o];
      const where = `${label} row ${r} slot ${slot}: native (${gid}, ${gs}) reference (${wid}, ${ws})`;
      if (wid === -1) {
        assert.is(gid, -1, where);
        assert.is(gs, -Infinity, where);
        continue;
      }
      assert.ok(gid >= 0 && gid < a.keys.rows, `${where}: id out of range`);
      assert.ok(!skip.has(gid), `${where}: excluded id returned`);
      assert.ok(!seen.has(gid), `${where}: id returned twice`);
      seen.add(gid);
      assert.ok(Math.abs(gs - ws) <= tol(ws), `${where}: score off`);
      if (exact) {
        assert.is(gid, wid, where);
        assert.is(gs, ws, where);
      } else if (gid !== wid) {
        // a near tie: the reference's own score for the native id must be within tolerance
        const alt = exactScore(a, r, gid);
        assert.ok(Math.abs(alt - ws) <= tol(ws), `${where}: ids differ without a tie (reference score of ${gid} is ${alt})`);
      }
    }
  }
}

type Kernel = NonNullable<typeof nativeBackend.kernels.denseScoreTopK>;

async function runWith(kernel: Kernel, a: DenseScoreTopKArgs, r0 = 0, r1 = a.queries.rows, threads?: number): Promise<TopK> {
  const out = allocateDenseScoreTopK(a);
  await kernel(a, out, r0, r1, threads === undefined ? undefined : { threads });
  return out;
}

/** Random exclusion CSR: each row excludes up to `max` random keys, about a third of rows none. */
function randomExclude(rows: number, cols: number, max: number, seed: number): Csr {
  const rnd = mulberry32(seed);
  const r: number[] = [], c: number[] = [], v: number[] = [];
  for (let i = 0; i < rows; i++) {
    if (rnd() < 0.33) continue;
    const n = Math.floor(rnd() * (max + 1));
    for (let t = 0; t < n; t++) { r.push(i); c.push(Math.floor(rnd() * cols)); v.push(1); }
  }
  return csrFromTriplets(rows, cols, r, c, v);
}


const probe = await nativeBackend.probe();

if (!probe.available) {
  skip(test, 'native', probe.reason);
  test('native: the skip reason says what is missing', () => {
    assert.ok(probe.reason.length > 0);
  });
} else {
  const loaded = loadNativeAddon();
  const addon = ('addon' in loaded ? loaded.addon : null) as NativeAddon;
  const kernel = nativeBackend.kernels.denseScoreTopK!;
  const runNative = (a: DenseScoreTopKArgs, r0 = 0, r1 = a.queries.rows, threads?: number) => runWith(kernel, a, r0, r1, threads);
  console.log(`native: ${probe.reason}`);

  test('native: probe reports simd and threads', () => {
    const p = addon.probe();
    assert.ok(['avx512', 'avx2', 'scalar'].includes(p.simd), p.simd);
    assert.ok(Number.isInteger(p.threads) && p.threads >= 1);
    assert.is(probe.details?.simd, p.simd);
  });

  test('native: matches the reference on random inputs (shapes, metrics, exclusion, excludeSelf)', async () => {
    // [queries, keys, dim, k]: d not a multiple of 8/16, K < k, K not a multiple of the panel
    // width, more rows than one block (96), d = 1, d = 0
    const shapes: Array<[number, number, number, number]> = [
      [37, 53, 5, 7], [64, 100, 16, 10], [20, 300, 67, 20], [10, 4, 9, 8], [1, 1, 1, 1],
      [250, 170, 33, 5], [12, 1000, 64, 50], [9, 40, 1, 3], [5, 7, 0, 3], [200, 33, 129, 40],
    ];
    let seed = 1;
    for (const [q, n, d, k] of shapes) {
      const queries = randomDense(q, d, seed++), keys = randomDense(n, d, seed++);
      for (const metric of ['dot', 'cosine'] as const) {
        const plain: DenseScoreTopKArgs = { queries, keys, k, metric };
        compare(plain, await runNative(plain), 0, q, false, `${q}x${n}x${d} k=${k} ${metric}`);
        const ex: DenseScoreTopKArgs = { queries, keys, k, metric, exclude: randomExclude(q, n, Math.min(n, 12), seed++) };
        compare(ex, await runNative(ex, 0, q, 1), 0, q, false, `${q}x${n}x${d} k=${k} ${metric} exclude`);
      }
      // self-product with excludeSelf (and exclusion)
      const selfArgs: DenseScoreTopKArgs = { queries, keys: queries, k, metric: 'cosine', excludeSelf: true, exclude: randomExclude(q, q, 4, seed++) };
      compare(selfArgs, await runNative(selfArgs), 0, q, false, `${q}x${d} self`);
    }
  });

  test('native: ties are broken by the lower id (exact data)', async () => {
    // all-equal scores: every key scores the same for every query
    const ones = denseFrom(50, 3, new Array(150).fill(1));
    const a: DenseScoreTopKArgs = { queries: ones, keys: ones, k: 7, metric: 'dot' };
    const out = await runNative(a);
    for (let r = 0; r < 50; r++) assert.equal([...out.ids.subarray(r * 7, r * 7 + 7)], [0, 1, 2, 3, 4, 5, 6], `row ${r}`);
    const self = await runNative({ ...a, excludeSelf: true });
    assert.equal([...self.ids.subarray(0, 7)], [1, 2, 3, 4, 5, 6, 7]);
    assert.equal([...self.ids.subarray(3 * 7, 4 * 7)], [0, 1, 2, 4, 5, 6, 7]);
    // entries in {-1, 0, 1}: integer scores, many ties, exact in float32 and float64
    const m = randomDense(150, 6, 9, 1), keys = randomDense(400, 6, 10, 1);
    const b: DenseScoreTopKArgs = { queries: m, keys, k: 25, metric: 'dot', exclude: randomExclude(150, 400, 30, 11) };
    compare(b, await runNative(b), 0, 150, true, 'quantised');
  });

  test('native: cosine with zero rows scores 0; short rows are padded', async () => {
    const q = randomDense(20, 10, 21), keys = randomDense(40, 10, 22);
    for (const r of [0, 7, 19]) q.data.fill(0, r * 10, r * 10 + 10);
    for (const j of [0, 3, 39]) keys.data.fill(0, j * 10, j * 10 + 10);
    const a: DenseScoreTopKArgs = { queries: q, keys, k: 40, metric: 'cosine' };
    const out = await runNative(a);
    compare(a, out, 0, 20, false, 'zero rows');
    assert.ok([...out.scores].every((s) => !Number.isNaN(s)));
    assert.equal([...out.scores.subarray(7 * 40, 8 * 40)], new Array(40).fill(0), 'zero query row scores 0');
    assert.equal([...out.ids.subarray(7 * 40, 8 * 40)], Array.from({ length: 40 }, (_, i) => i), 'zero query row: ids by tie order');
    // exclude all but two keys of row 0 → padded slots
    const ex = csrFromTriplets(20, 40, new Array(38).fill(0), Array.from({ length: 38 }, (_, i) => i + 2), new Array(38).fill(1));
    const b: DenseScoreTopKArgs = { queries: q, keys, k: 5, metric: 'dot', exclude: ex };
    const pad = await runNative(b);
    compare(b, pad, 0, 20, false, 'padded');
    assert.equal([...pad.ids.subarray(2, 5)], [-1, -1, -1]);
    assert.equal([...pad.scores.subarray(2, 5)], [-Infinity, -Infinity, -Infinity]);
  });

  test('native: a row range writes only its rows', async () => {
    const m = randomDense(300, 20, 31);
    const a: DenseScoreTopKArgs = { queries: m, keys: m, k: 6, metric: 'dot', excludeSelf: true };
    const out = allocateDenseScoreTopK(a);
    out.ids.fill(-7);
    await kernel(a, out, 110, 230, { threads: 2 });
    for (let i = 0; i < 110 * 6; i++) assert.is(out.ids[i], -7);
    for (let i = 230 * 6; i < 300 * 6; i++) assert.is(out.ids[i], -7);
    compare(a, out, 110, 230, false, 'range');
    await kernel(a, out, 230, 230); // empty range: nothing written
    assert.is(out.ids[230 * 6], -7);
  });

  test('native: NaN scores are never kept', async () => {
    const q = randomDense(5, 4, 41), keys = randomDense(30, 4, 42);
    keys.data[2 * 4 + 1] = NaN;
    keys.data[17 * 4] = NaN;
    const a: DenseScoreTopKArgs = { queries: q, keys, k: 30, metric: 'dot' };
    const out = await runNative(a);
    compare(a, out, 0, 5, false, 'nan');
    for (let r = 0; r < 5; r++) {
      const ids = [...out.ids.subarray(r * 30, r * 30 + 30)];
      assert.ok(!ids.includes(2) && !ids.includes(17));
      assert.equal(ids.slice(28), [-1, -1]);
    }
  });

  test('native: plain (non-shared) ArrayBuffers work too', async () => {
    const q: Dense = { rows: 30, cols: 8, data: Float32Array.from(randomDense(30, 8, 51).data) };
    assert.ok(!(q.data.buffer instanceof SharedArrayBuffer));
    const a: DenseScoreTopKArgs = { queries: q, keys: q, k: 4, metric: 'cosine' };
    const out: TopK = { rows: 30, k: 4, ids: new Int32Array(120), scores: new Float32Array(120) };
    await kernel(a, out, 0, 30);
    compare(a, out, 0, 30, false, 'plain buffers');
  });

  test('native: concurrent calls (several promises at once) all match', async () => {
    const cases: DenseScoreTopKArgs[] = [];
    for (let i = 0; i < 6; i++) {
      const q = randomDense(120 + 17 * i, 24 + i, 60 + i), keys = randomDense(500 + 31 * i, 24 + i, 70 + i);
      cases.push({ queries: q, keys, k: 5 + i, metric: i % 2 ? 'cosine' : 'dot', exclude: randomExclude(q.rows, keys.rows, 8, 80 + i) });
    }
    const outs = await Promise.all(cases.map((a, i) => runNative(a, 0, a.queries.rows, 1 + (i % 3))));
    cases.forEach((a, i) => compare(a, outs[i], 0, a.queries.rows, false, `concurrent ${i}`));
  });

  test('native: the addon validates every argument before running', () => {
    const q = randomDense(4, 3, 1).data, keys = randomDense(6, 3, 2).data;
    const ids = new Int32Array(4 * 2), scores = new Float32Array(4 * 2);
    const call = (over: Partial<Record<string, unknown>> = {}) => {
      const v = { queries: q, qRows: 4, keys, kRows: 6, dim: 3, k: 2, metric: 'dot', indptr: null, indices: null, self: false, r0: 0, r1: 4, ids, scores, threads: 1, ...over };
      return addon.denseScoreTopK({
        queries: v.queries, qRows: v.qRows, keys: v.keys, kRows: v.kRows, dim: v.dim, k: v.k, metric: v.metric,
        excludeIndptr: v.indptr, excludeIndices: v.indices, excludeSelf: v.self, rowStart: v.r0, rowEnd: v.r1,
        outIds: v.ids, outScores: v.scores, threads: v.threads,
      } as NativeDenseScoreTopKCall);
    };
    // uvu calls a function `expects` with the error and needs a truthy result (a bare class
    // would be called as a function and always pass), hence these predicates
    const isRange = (re?: RegExp) => (e: Error) => e instanceof RangeError && (!re || re.test(e.message));
    const isType = (re?: RegExp) => (e: Error) => e instanceof TypeError && (!re || re.test(e.message));
    // one options object, as every kernel (the former positional arguments are refused)
    assert.throws(() => (addon.denseScoreTopK as unknown as (...a: unknown[]) => unknown)(q, 4, keys, 6, 3, 2, 'dot'), isType(/denseScoreTopK: expects one options object/));
    // wrong-length arrays
    assert.throws(() => call({ queries: q.subarray(0, 11) }), isRange(/queries has length 11/));
    assert.throws(() => call({ keys: keys.subarray(1) }), isRange(/keys has length/));
    assert.throws(() => call({ ids: new Int32Array(7) }), isRange(/outIds/));
    assert.throws(() => call({ scores: new Float32Array(3) }), isRange(/outScores/));
    // wrong array types
    assert.throws(() => call({ queries: new Float64Array(12) }), isType(/queries must be a Float32Array/));
    assert.throws(() => call({ ids: new Float32Array(8) }), isType(/outIds/));
    assert.throws(() => call({ indptr: [0, 0, 0, 0, 0], indices: new Int32Array(0) }), isType());
    assert.throws(() => call({ indptr: new Int32Array(5) }), isType(/both/));
    // ranges
    assert.throws(() => call({ r1: 5 }), isRange(/rowEnd/));
    assert.throws(() => call({ r0: 3, r1: 2 }), isRange());
    assert.throws(() => call({ r0: -1 }), isRange());
    assert.throws(() => call({ k: 0 }), isRange(/k must be/));
    assert.throws(() => call({ k: 1.5 }), isRange());
    assert.throws(() => call({ metric: 'euclid' }), isRange(/metric/));
    assert.throws(() => call({ threads: 0 }), isRange());
    assert.throws(() => call({ self: 1 }), isType());
    // exclusion CSR: out-of-range index, wrong indptr length, decreasing indptr, too few indices
    assert.throws(() => call({ indptr: new Int32Array([0, 1, 1, 1, 1]), indices: new Int32Array([6]) }),
      isRange(/exclude index 6/));
    assert.throws(() => call({ indptr: new Int32Array([0, 1, 1, 1, 1]), indices: new Int32Array([-1]) }), isRange());
    assert.throws(() => call({ indptr: new Int32Array([0, 0, 0, 0]), indices: new Int32Array(0) }), isRange(/excludeIndptr has length/));
    assert.throws(() => call({ indptr: new Int32Array([0, 2, 1, 2, 2]), indices: new Int32Array([0, 1]) }), isRange(/decreases/));
    assert.throws(() => call({ indptr: new Int32Array([0, 1, 2, 3, 4]), indices: new Int32Array([0, 1]) }), isRange());
    // outputs aliasing inputs
    const shared = new Float32Array(12 + 8);
    assert.throws(() => call({ queries: shared.subarray(0, 12), scores: shared.subarray(4, 12) }), isRange(/overlaps/));
    // nothing was written by any of the refused calls
    assert.ok(ids.every((x) => x === 0) && scores.every((x) => x === 0));
  });

  test('native: the backend kernel rejects bad shapes', async () => {
    const m = randomDense(4, 3, 1);
    const a: DenseScoreTopKArgs = { queries: m, keys: m, k: 2, metric: 'dot' };
    const out = allocateDenseScoreTopK(a);
    let err: unknown;
    try { await kernel(a, out, 0, 5); } catch (e) { err = e; }
    assert.instance(err, RangeError);
    err = undefined;
    try { await kernel({ ...a, keys: randomDense(4, 2, 1) }, out, 0, 4); } catch (e) { err = e; }
    assert.instance(err, RangeError);
    err = undefined;
    try { await kernel(a, { ...out, k: 3 }, 0, 4); } catch (e) { err = e; }
    assert.instance(err, RangeError);
  });
}

const cudaProbe = await cudaBackend.probe();
if (!cudaProbe.available) {
  skip(test, 'cuda', cudaProbe.reason);
  test('cuda: the skip reason says what is missing', () => {
    assert.ok(cudaProbe.reason.length > 0);
    const loaded = loadCudaAddon();
    // built here → it must load and say why it cannot run (no driver / device / capability)
    if ('addon' in loaded) assert.ok(/driver|device|capability|CUDA/.test(cudaProbe.reason), cudaProbe.reason);
  });
} else {
  const kernel = cudaBackend.kernels.denseScoreTopK!;
  const runCuda = (a: DenseScoreTopKArgs, r0 = 0, r1 = a.queries.rows) => runWith(kernel, a, r0, r1);
  console.log(`cuda: ${cudaProbe.reason}`);

  test('cuda: matches the reference on random inputs', async () => {
    const shapes: Array<[number, number, number, number]> = [
      [37, 53, 5, 7], [20, 300, 67, 20], [10, 4, 9, 8], [250, 170, 33, 5], [5, 7, 0, 3], [3, 6000, 12, 5000],
    ];
    let seed = 500;
    for (const [q, n, d, k] of shapes) {
      const queries = randomDense(q, d, seed++), keys = randomDense(n, d, seed++);
      for (const metric of ['dot', 'cosine'] as const) {
        const ex: DenseScoreTopKArgs = { queries, keys, k, metric, exclude: randomExclude(q, n, Math.min(n, 12), seed++) };
        compare(ex, await runCuda(ex), 0, q, false, `cuda ${q}x${n}x${d} k=${k} ${metric}`);
      }
      const selfArgs: DenseScoreTopKArgs = { queries, keys: queries, k, metric: 'dot', excludeSelf: true };
      compare(selfArgs, await runCuda(selfArgs, 1, q), 1, q, false, `cuda ${q}x${d} self`);
    }
  });

  test('cuda: exact ties by lower id; validation', async () => {
    const m = randomDense(150, 6, 9, 1), keys = randomDense(400, 6, 10, 1);
    const b: DenseScoreTopKArgs = { queries: m, keys, k: 25, metric: 'dot', exclude: randomExclude(150, 400, 30, 11) };
    compare(b, await runCuda(b), 0, 150, true, 'cuda quantised');
    let err: unknown;
    try { await kernel(b, allocateDenseScoreTopK(b), 0, 151); } catch (e) { err = e; }
    assert.instance(err, RangeError);
  });
}

test.run();
