/**
 * The CUDA backend's sparse and factorization kernels against their references
 * (src/kernels/sparseSimilarityTopK.ts, src/kernels/alsHalfStep.ts).
 *
 * sparseSimilarityTopK (dot, cosine, jaccard on the GPU): scores within 1e-4·max(1, |reference|);
 * the GPU accumulates Σxy in float32 (exact on integer-valued data). Ids must be identical except
 * at a near tie: where they differ, the reference's own score (the dense similarity matrix) of the
 * GPU's id must be within tolerance of the reference's score in that slot. Integer data with
 * `dot`/`jaccard` must match exactly, ties (by lower id) included. Other metrics are refused with
 * an Error, and the engine then runs the call on the next backend.
 *
 * alsHalfStep (solver cg on the GPU, float64 vectors like the reference): every factor within
 * 1e-4·max(1, |reference|). Solver cholesky is refused (the engine falls back).
 *
 * The module's argument validation (on the JS thread, before any kernel is queued) is tested
 * wherever affinity_cuda.node loads, device or not. Without a usable CUDA backend (no module, no
 * driver, no device) the file prints `SKIP cuda kernels: <reason>` and runs one test on the reason.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cudaBackend, loadCudaAddon, type CudaAddon, type CudaSparseSimilarityCall, type CudaAlsHalfStepCall } from '../src/backends/native/cuda.js';
import {
  allocateSparseSimilarityTopK, similarityMatrixDense, withPreparedSimilarity, type SparseSimilarityTopKArgs,
} from '../src/kernels/sparseSimilarityTopK.js';
import { allocateAlsHalfStep, alsHalfStepReference, gramian, type AlsHalfStepArgs } from '../src/kernels/alsHalfStep.js';
import { csrFromTriplets, type Dense, type TopK } from '../src/data/matrix.js';
import type { NativeDenseScoreTopKCall } from '../src/backends/native/index.js';
import { Engine } from '../src/engine/engine.js';
import { randomDense, mulberry32 } from './helpers/random.js';
import { compareSimilarity, randomCsr, ratings, reals, ones, tol } from './helpers/similarity.js';
import { skip } from './helpers/skip.js';


/** Random implicit (confidences, some negative, some exactly 1) or explicit (ratings) ALS problem. */
function alsProblem(rows: number, cols: number, f: number, seed: number, mode: 'implicit' | 'explicit', emptyEvery = 0, denseCols = 0): AlsHalfStepArgs {
  const rnd = mulberry32(seed + 1);
  const conf = (r: () => number) => {
    const c = 1 + 4 * ratings(r);
    const pick = Math.floor(rnd() * 10);
    return pick === 0 ? -c : pick === 1 ? 1 : c;
  };
  const matrix = randomCsr(rows, cols, 0.1, seed, mode === 'implicit' ? conf : ratings, emptyEvery, denseCols);
  const other = randomDense(cols, f, seed + 2);
  for (let i = 0; i < other.data.length; i++) other.data[i] *= 0.5;
  const initial = randomDense(rows, f, seed + 3);
  for (let i = 0; i < initial.data.length; i++) initial.data[i] *= 0.5;
  return {
    mode, solver: 'cg', cgSteps: 3, matrix, other, regularization: mode === 'implicit' ? 0.1 : 0.05, initial,
    ...(mode === 'implicit' ? { gram: gramian(other) } : {}),
  };
}

function compareAls(a: AlsHalfStepArgs, got: Dense, r0: number, r1: number, label: string): void {
  const want = allocateAlsHalfStep(a);
  alsHalfStepReference(a, want, r0, r1);
  const f = a.other.cols;
  for (let i = 0; i < want.data.length; i++) {
    const row = Math.floor(i / f);
    const where = `${label} row ${row} factor ${i % f}: cuda ${got.data[i]} reference ${want.data[i]}`;
    if (row < r0 || row >= r1) { assert.is(got.data[i], want.data[i], `${where} (outside the range)`); continue; }
    assert.ok(Math.abs(got.data[i] - want.data[i]) <= tol(want.data[i]), where);
  }
}

const probe = await cudaBackend.probe();
const loaded = loadCudaAddon();
const addon = ('addon' in loaded ? loaded.addon : null) as CudaAddon | null;

const hasKernels = !!addon && typeof addon.sparseSimilarityTopK === 'function' && typeof addon.alsHalfStep === 'function';
const stale = 'affinity_cuda.node has no sparseSimilarityTopK/alsHalfStep (built before they were bound; rebuild it: npx affinity build)';

// argument validation happens on the JS thread before any kernel is queued: it runs wherever the module loads,
// with or without a device
if (hasKernels) {
  const mod = addon!;
  test('cuda sparseSimilarityTopK: the module validates every argument before running', () => {
    const m = csrFromTriplets(4, 3, [0, 0, 1, 2, 3], [0, 2, 1, 0, 2], [1, 2, 3, 4, 5]);
    const fn = mod.sparseSimilarityTopK!.bind(mod);
    const good = (): CudaSparseSimilarityCall => ({
      rows: 4, cols: 3, indptr: Int32Array.from(m.indptr), indices: Int32Array.from(m.indices), values: Float64Array.from(m.data),
      rowNorm: null, metric: 'cosine', k: 2, shrinkage: 0, minSupport: 1, excludeSelf: true, rowStart: 0, rowEnd: 4,
      outIds: new Int32Array(8), outScores: new Float32Array(8),
    });
    const call = (over: Record<string, unknown>) => fn({ ...good(), ...over } as CudaSparseSimilarityCall);
    const isRange = (re?: RegExp) => (e: Error) => e instanceof RangeError && (!re || re.test(e.message));
    const isType = (re?: RegExp) => (e: Error) => e instanceof TypeError && (!re || re.test(e.message));
    assert.throws(() => call({ indptr: new Int32Array(4) }), isRange(/indptr has length 4/));
    assert.throws(() => call({ indptr: Int32Array.from([0, 2, 1, 4, 5]) }), isRange(/decreases/));
    assert.throws(() => call({ indices: Int32Array.from([0, 3, 1, 0, 2]) }), isRange(/column index 3/));
    assert.throws(() => call({ values: new Float64Array(3) }), isRange(/nnz/));
    assert.throws(() => call({ rowNorm: new Float64Array(3) }), isRange(/rowNorm/));
    assert.throws(() => call({ outIds: new Int32Array(7) }), isRange(/outIds/));
    assert.throws(() => call({ rowEnd: 5 }), isRange(/rowEnd/));
    assert.throws(() => call({ k: 0 }), isRange(/k must be/));
    assert.throws(() => call({ metric: 'pearson' }), isRange(/not implemented on CUDA/));
    assert.throws(() => call({ indptr: [0, 2, 3, 4, 5] }), isType(/indptr must be an Int32Array/));
    assert.throws(() => call({ outScores: new Float64Array(8) }), isType(/outScores/));
    const shared = new Int32Array(16);
    assert.throws(() => call({ outIds: shared.subarray(0, 8), outScores: new Float32Array(shared.buffer, 16, 8) }), isRange(/overlap/));
  });

  test('cuda alsHalfStep: the module validates every argument before running', () => {
    const a = alsProblem(6, 5, 4, 21, 'implicit');
    const m = a.matrix;
    const fn = mod.alsHalfStep!.bind(mod);
    const out = new Float32Array(6 * 4);
    const good = (): CudaAlsHalfStepCall => ({
      mode: 'implicit', solver: 'cg', cgSteps: 3, rows: 6, cols: 5, factors: 4,
      indptr: Int32Array.from(m.indptr), indices: Int32Array.from(m.indices), data: Float32Array.from(m.data),
      other: a.other.data, gram: a.gram!, regularization: 0.1, out, rowStart: 0, rowEnd: 6,
    });
    const call = (over: Record<string, unknown>) => fn({ ...good(), ...over } as CudaAlsHalfStepCall);
    const isRange = (re?: RegExp) => (e: Error) => e instanceof RangeError && (!re || re.test(e.message));
    const isType = (re?: RegExp) => (e: Error) => e instanceof TypeError && (!re || re.test(e.message));
    const nnz = m.indptr[6];
    assert.throws(() => call({ indptr: new Int32Array(6) }), isRange(/indptr has length 6/));
    if (nnz > 0) assert.throws(() => call({ indices: Int32Array.from(m.indices, (x, i) => (i === 0 ? 5 : x)) }), isRange(/column index 5/));
    assert.throws(() => call({ other: new Float32Array(19) }), isRange(/other has length/));
    assert.throws(() => call({ gram: new Float64Array(15) }), isRange(/gram has length/));
    assert.throws(() => call({ gram: null }), isRange(/needs gram/)); // the native addon computes it; the CUDA module is given it
    assert.throws(() => call({ out: new Float32Array(23) }), isRange(/out has length/));
    assert.throws(() => call({ rowEnd: 7 }), isRange(/rowEnd/));
    assert.throws(() => call({ factors: 2000 }), isRange(/factors/));
    assert.throws(() => call({ solver: 'cholesky' }), isRange(/not implemented on CUDA/));
    assert.throws(() => call({ mode: 'both' }), isRange(/unknown mode/));
    assert.throws(() => call({ regularization: -1 }), isRange(/regularization/));
    assert.throws(() => call({ data: new Float64Array(nnz) }), isType(/data must be a Float32Array/));
    const buf = new Float32Array(44);
    assert.throws(() => call({ other: buf.subarray(0, 20), out: buf.subarray(16, 40) }), isRange(/overlaps/));
    assert.ok(out.every((x) => x === 0), 'nothing written by a refused call');
  });
}

if (addon) {
  const mod = addon;
  test('cuda denseScoreTopK: the module takes the native options object and validates every argument before running', () => {
    const q = randomDense(4, 3, 1).data, keys = randomDense(6, 3, 2).data;
    const ids = new Int32Array(8), scores = new Float32Array(8);
    const good = (): NativeDenseScoreTopKCall => ({
      queries: q, qRows: 4, keys, kRows: 6, dim: 3, k: 2, metric: 'dot', excludeIndptr: null, excludeIndices: null,
      excludeSelf: false, rowStart: 0, rowEnd: 4, outIds: ids, outScores: scores,
    });
    const call = (over: Record<string, unknown>) => mod.denseScoreTopK({ ...good(), ...over } as NativeDenseScoreTopKCall);
    const isRange = (re?: RegExp) => (e: Error) => e instanceof RangeError && (!re || re.test(e.message));
    const isType = (re?: RegExp) => (e: Error) => e instanceof TypeError && (!re || re.test(e.message));
    assert.throws(() => (mod.denseScoreTopK as unknown as (...a: unknown[]) => unknown)(q, 4, keys), isType(/denseScoreTopK: expects one options object/));
    assert.throws(() => call({ queries: q.subarray(0, 11) }), isRange(/queries has length 11/));
    assert.throws(() => call({ outIds: new Int32Array(7) }), isRange(/outIds/));
    assert.throws(() => call({ queries: new Float64Array(12) }), isType(/queries must be a Float32Array/));
    assert.throws(() => call({ excludeIndptr: new Int32Array(5) }), isType(/both/));
    assert.throws(() => call({ excludeIndptr: new Int32Array([0, 1, 1, 1, 1]), excludeIndices: new Int32Array([6]) }), isRange(/exclude index 6/));
    assert.throws(() => call({ rowEnd: 5 }), isRange(/rowEnd/));
    assert.throws(() => call({ k: 0 }), isRange(/k must be/));
    assert.throws(() => call({ metric: 'euclid' }), isRange(/metric/));
    // threads is accepted (and ignored by the GPU) but still checked
    assert.throws(() => call({ threads: 0 }), isRange(/threads/));
    const shared = new Float32Array(20);
    assert.throws(() => call({ queries: shared.subarray(0, 12), outScores: shared.subarray(4, 12) }), isRange(/overlaps/));
    assert.ok(ids.every((x) => x === 0) && scores.every((x) => x === 0), 'nothing written by a refused call');
  });
}

if (!probe.available || !hasKernels) {
  const reason = probe.available ? stale : addon && !hasKernels ? `${probe.reason} (and ${stale})` : probe.reason;
  skip(test, 'cuda kernels', reason);
  test('cuda kernels: the skip reason says what is missing', () => {
    assert.ok(reason.length > 0);
    // built here → it must load and say why it cannot run (no driver / device / capability)
    if (addon) assert.ok(/driver|device|capability|CUDA|rebuild/.test(reason), reason);
  });
} else {
  const sim = async (a: SparseSimilarityTopKArgs, r0 = 0, r1 = a.matrix.rows): Promise<TopK> => {
    const out = allocateSparseSimilarityTopK(a);
    await cudaBackend.kernels.sparseSimilarityTopK!(a, out, r0, r1);
    return out;
  };
  const als = async (a: AlsHalfStepArgs, r0 = 0, r1 = a.matrix.rows): Promise<Dense> => {
    const out = allocateAlsHalfStep(a);
    await cudaBackend.kernels.alsHalfStep!(a, out, r0, r1);
    return out;
  };
  console.log(`cuda kernels: ${probe.reason}`);

  test('cuda kernels: listed by the backend, with their limits in the probe', () => {
    assert.type(cudaBackend.kernels.sparseSimilarityTopK, 'function');
    assert.type(cudaBackend.kernels.alsHalfStep, 'function');
    const limits = probe.details?.kernelLimits as Record<string, string>;
    assert.match(limits.sparseSimilarityTopK, /dot/);
    assert.match(limits.alsHalfStep, /cg/);
  });

  test('cuda sparseSimilarityTopK: dot, cosine, jaccard and every option match the reference on random inputs', async () => {
    const shapes: Array<[number, number, number, (r: () => number) => number, number, number]> = [
      [60, 40, 0.2, ratings, 7, 0], [33, 90, 0.1, reals, 0, 0], [120, 25, 0.35, ratings, 11, 0], [5, 3, 0.6, ratings, 0, 0],
      [600, 50, 0.05, reals, 0, 2], // columns stored in every row: wide transpose columns (the whole-block walk)
    ];
    let seed = 1;
    for (const [rows, cols, dens, val, emptyEvery, denseCols] of shapes) {
      const matrix = randomCsr(rows, cols, dens, seed++, val, emptyEvery, denseCols);
      for (const metric of addon!.limits.similarityMetrics as SparseSimilarityTopKArgs['metric'][]) {
        const base: SparseSimilarityTopKArgs = { matrix, metric, k: 7 };
        const variants: SparseSimilarityTopKArgs[] = [
          base,
          { ...base, k: 'all' },
          { ...base, k: rows + 5 },
          { ...base, k: 300 },
          { ...base, shrinkage: 10, minSupport: 2 },
          { ...base, minSimilarity: 0.2, excludeSelf: false },
        ];
        if (metric === 'cosine') variants.push({ ...base, weighting: 'tfidf' }, { ...base, weighting: 'bm25', bm25K1: 1.2, bm25B: 0.75 });
        for (const v of variants) {
          const a = withPreparedSimilarity(v);
          const dense = similarityMatrixDense(a);
          const label = `${rows}x${cols} ${metric} ${JSON.stringify({ k: v.k, s: v.shrinkage, ms: v.minSupport, min: v.minSimilarity, w: v.weighting })}`;
          compareSimilarity('cuda', a, await sim(a), 0, rows, false, label, dense);
        }
      }
    }
  });

  test('cuda sparseSimilarityTopK: integer data — exact scores and ties by lower id (dot, jaccard)', async () => {
    const matrix = randomCsr(200, 30, 0.15, 99, ones, 13);
    for (const metric of ['dot', 'jaccard'] as const) {
      for (const k of [3, 10, 'all'] as const) {
        const a = withPreparedSimilarity({ matrix, metric, k });
        compareSimilarity('cuda', a, await sim(a), 0, 200, true, `${metric} k=${k}`);
      }
    }
  });

  test('cuda sparseSimilarityTopK: a row range writes only its rows; args without `prepared`', async () => {
    const matrix = randomCsr(150, 40, 0.2, 5, ratings);
    const a = withPreparedSimilarity({ matrix, metric: 'cosine', k: 5 });
    const out = allocateSparseSimilarityTopK(a);
    out.ids.fill(-7);
    await cudaBackend.kernels.sparseSimilarityTopK!(a, out, 40, 90);
    for (let r = 0; r < 150; r++) if (r < 40 || r >= 90) for (let s = 0; s < 5; s++) assert.is(out.ids[r * 5 + s], -7, `row ${r} written`);
    compareSimilarity('cuda', a, out, 40, 90, false, 'cosine range');
    const raw: SparseSimilarityTopKArgs = { matrix, metric: 'cosine', k: 4, weighting: 'tfidf' };
    compareSimilarity('cuda', withPreparedSimilarity(raw), await sim(raw), 0, 150, false, 'unprepared');
  });

  test('cuda sparseSimilarityTopK: other metrics are refused, and the engine falls back', async () => {
    const matrix = randomCsr(40, 20, 0.3, 8, ratings);
    const a = withPreparedSimilarity({ matrix, metric: 'pearson', k: 4 });
    try {
      await sim(a);
      assert.unreachable('should reject');
    } catch (e) {
      assert.match((e as Error).message, /not implemented on CUDA/);
    }
    const engine = new Engine(2);
    engine.log = () => {};
    try {
      const r = await engine.runDetailed('sparseSimilarityTopK', a, { pool: false });
      assert.is.not(r.backend, 'cuda');
      assert.ok(r.failures.some((f) => f.backend === 'cuda' && /not implemented on CUDA/.test(f.error)), JSON.stringify(r.failures));
      compareSimilarity('cuda', a, r.out, 0, 40, false, 'fallback');
    } finally {
      await engine.close();
    }
  });

  test('cuda alsHalfStep: implicit and explicit CG match the reference', async () => {
    let seed = 300;
    for (const f of [1, 8, 33, 64, 200]) {
      for (const mode of ['implicit', 'explicit'] as const) {
        const a = alsProblem(90, 70, f, seed++, mode, 9);
        compareAls(a, await als(a), 0, 90, `${mode} f=${f}`);
        compareAls(a, await als(a, 10, 50), 10, 50, `${mode} f=${f} range`);
        const more = { ...a, cgSteps: 8 };
        compareAls(more, await als(more), 0, 90, `${mode} f=${f} 8 steps`);
      }
    }
    // rows with more entries than one chunk of staged dots (256)
    const wide = alsProblem(20, 900, 48, 7, 'implicit', 0, 300);
    compareAls(wide, await als(wide), 0, 20, 'wide rows');
    // no initial: a cold start from zeros
    const cold = { ...alsProblem(50, 40, 16, 9, 'implicit'), initial: undefined };
    compareAls(cold, await als(cold), 0, 50, 'cold start');
  });

  test('cuda alsHalfStep: cholesky is refused, and the engine falls back', async () => {
    const a: AlsHalfStepArgs = { ...alsProblem(30, 20, 8, 11, 'implicit'), solver: 'cholesky' };
    try {
      await als(a);
      assert.unreachable('should reject');
    } catch (e) {
      assert.match((e as Error).message, /not implemented on CUDA/);
    }
    const engine = new Engine(2);
    engine.log = () => {};
    try {
      const r = await engine.runDetailed('alsHalfStep', a, { pool: false });
      assert.is.not(r.backend, 'cuda');
      assert.ok(r.failures.some((f) => f.backend === 'cuda'), JSON.stringify(r.failures));
    } finally {
      await engine.close();
    }
  });

}

test.run();
