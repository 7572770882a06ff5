/**
 * Conformance of the `wasm` backend's sparse and training kernels with their references (the oracles):
 *
 * sparseSimilarityTopK: the kernel sums in f64 in the reference's order and scores with the same f64 formulas,
 *   so ids and scores must be EQUAL to the reference's (no tolerance), for every metric and weighting,
 *   excludeSelf, minSupport, shrinkage, minSimilarity, k ≥ rows and 'all', empty rows, ties and row ranges.
 *
 * alsHalfStep: the system build adds the same products in the same order as the reference, the solves sum in
 *   another order (f64x2), so each factor must agree within 1e-3 relative to its row's largest factor
 *   (|wasm − ref| ≤ 1e-3 · max(‖ref row‖∞, 1e-6)); rows the reference leaves zero / unchanged must match exactly.
 *
 * sgdEpoch, bprEpoch: the same f64 expressions on the same f32 parameters in the same order (bprEpoch with the
 *   reference's xoshiro128** stream and the engine's own Math.exp/log1p), so after several passes every parameter,
 *   the rng state and the accumulated outputs must be EQUAL to the reference's.
 *
 * Skipped, with the reason printed, when build/wasm/affinity.wasm is missing or cannot run here.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SIMILARITY_METRICS, SIMILARITY_WEIGHTINGS, allocateSparseSimilarityTopK, sparseSimilarityTopKReference,
  validateSparseSimilarityTopK, withPreparedSimilarity, type SparseSimilarityTopKArgs,
} from '../src/kernels/sparseSimilarityTopK.js';
import { csrFromTriplets, denseFrom, type Csr, type Dense, type TopK } from '../src/data/matrix.js';
import { allocateAlsHalfStep, alsHalfStepReference, gramian, validateAlsHalfStep, type AlsHalfStepArgs } from '../src/kernels/alsHalfStep.js';
import { loadAffinityWasm, wasmBackend } from '../src/backends/wasm/index.js';
import { instantiateAffinityWasmSync, type AffinityWasm } from '../src/backends/wasm/core.js';
import { mulberry32 } from './helpers/random.js';
import { cloneTyped, sgdArgs, sgdProblem, bprArgs } from './helpers/epochs.js';
import { allocateSgdEpoch, sgdEpochReference, validateSgdEpoch, type SgdEpochArgs } from '../src/kernels/sgdEpoch.js';
import { allocateBprEpoch, bprEpochReference, validateBprEpoch, type BprEpochArgs } from '../src/kernels/bprEpoch.js';
import { readFileSync } from 'node:fs';
import { wasmPath } from '../src/backends/wasm/index.js';
import { skip } from './helpers/skip.js';

/**
 * Random sparse rows × cols matrix: about `density` of the cells stored, a fraction `emptyRows` of rows empty;
 * values: 'ratings' 1..5 (many ties), 'ones', or 'real' in (0, 5].
 */
function randomCsr(rows: number, cols: number, density: number, seed: number, values: 'ratings' | 'ones' | 'real' = 'ratings', emptyRows = 0.1): Csr {
  const rnd = mulberry32(seed);
  const r: number[] = [], c: number[] = [], v: number[] = [];
  for (let i = 0; i < rows; i++) {
    if (rnd() < emptyRows) continue;
    for (let j = 0; j < cols; j++) {
      if (rnd() >= density) continue;
      r.push(i); c.push(j);
      v.push(values === 'ones' ? 1 : values === 'ratings' ? 1 + Math.floor(rnd() * 5) : 5 * (1 - rnd()));
    }
  }
  return csrFromTriplets(rows, cols, r, c, v);
}

function baselinesFor(m: Csr, seed: number): SparseSimilarityTopKArgs['baselines'] {
  const rnd = mulberry32(seed);
  return {
    globalMean: 3.2,
    rowBias: Float64Array.from({ length: m.rows }, () => rnd() - 0.5),
    colBias: Float64Array.from({ length: m.cols }, () => rnd() - 0.5),
  };
}

function reference(a: SparseSimilarityTopKArgs): TopK {
  validateSparseSimilarityTopK(a);
  const out = allocateSparseSimilarityTopK(a);
  sparseSimilarityTopKReference(a, out, 0, a.matrix.rows);
  return out;
}

/** The wasm kernel over row ranges cut at `cuts`. */
function runWasmSim(a: SparseSimilarityTopKArgs, cuts: number[] = []): TopK {
  const out = allocateSparseSimilarityTopK(a);
  const bounds = [0, ...cuts, a.matrix.rows];
  for (let i = 0; i + 1 < bounds.length; i++) wasmBackend.kernels.sparseSimilarityTopK!(a, out, bounds[i], bounds[i + 1]);
  return out;
}

/** Exact equality of ids and scores with the reference, slot by slot. */
function conformSim(a: SparseSimilarityTopKArgs, label: string, cuts: number[] = []): TopK {
  const ref = reference(a);
  const got = runWasmSim(a, cuts);
  assert.is(got.k, ref.k, `${label}: k`);
  for (let i = 0; i < ref.ids.length; i++) {
    if (got.ids[i] !== ref.ids[i] || !Object.is(got.scores[i], ref.scores[i])) {
      const r = Math.floor(i / ref.k), s = i % ref.k;
      assert.unreachable(`${label}: row ${r} slot ${s}: wasm (${got.ids[i]}, ${got.scores[i]}) vs reference (${ref.ids[i]}, ${ref.scores[i]})`);
    }
  }
  return got;
}

/** Random dense rows × cols in [-scale, scale). */
function randomFactors(rows: number, cols: number, seed: number, scale = 0.5): Dense {
  const rnd = mulberry32(seed);
  return denseFrom(rows, cols, Array.from({ length: rows * cols }, () => (rnd() * 2 - 1) * scale));
}

/** Implicit confidences: mostly 1 + 40·r, some exactly 1 (weight 0), some negative (observed, p = 0). */
function confidences(m: Csr, seed: number): Csr {
  const rnd = mulberry32(seed);
  const data = new Float32Array(m.data.length);
  for (let i = 0; i < data.length; i++) {
    const u = rnd();
    data[i] = u < 0.1 ? 1 : u < 0.2 ? -(1 + 10 * rnd()) : 1 + 40 * rnd();
  }
  return { ...m, data };
}

function conformAls(a: AlsHalfStepArgs, label: string, cuts: number[] = []): Dense {
  validateAlsHalfStep(a);
  const ref = allocateAlsHalfStep(a);
  alsHalfStepReference(a, ref, 0, a.matrix.rows);
  const got = allocateAlsHalfStep(a);
  const bounds = [0, ...cuts, a.matrix.rows];
  for (let i = 0; i + 1 < bounds.length; i++) wasmBackend.kernels.alsHalfStep!(a, got, bounds[i], bounds[i + 1]);
  const f = a.other.cols;
  let worst = 0;
  for (let r = 0; r < a.matrix.rows; r++) {
    let scale = 0;
    for (let k = 0; k < f; k++) scale = Math.max(scale, Math.abs(ref.data[r * f + k]));
    const exact = scale === 0 || (a.initial !== undefined && ref.data.subarray(r * f, r * f + f).every((v, k) => v === a.initial!.data[r * f + k]));
    for (let k = 0; k < f; k++) {
      const x = got.data[r * f + k], y = ref.data[r * f + k];
      if (exact) { assert.is(x, y, `${label}: row ${r} factor ${k}: expected exactly ${y}`); continue; }
      const err = Math.abs(x - y) / Math.max(scale, 1e-6);
      worst = Math.max(worst, err);
      if (!(err <= 1e-3)) assert.unreachable(`${label}: row ${r} factor ${k}: wasm ${x} vs reference ${y} (relative error ${err})`);
    }
  }
  return got;
}

/** Element-wise identity of two typed arrays (NaN equal to NaN, −0 ≠ +0). */
function sameArray(x: ArrayLike<number>, y: ArrayLike<number>, label: string): void {
  assert.is(x.length, y.length, `${label}: length`);
  for (let i = 0; i < x.length; i++) {
    if (!Object.is(x[i], y[i])) assert.unreachable(`${label}[${i}]: wasm ${x[i]} vs reference ${y[i]}`);
  }
}

function conformSgd(a: SgdEpochArgs, label: string, epochs = 3, range?: [number, number]): void {
  validateSgdEpoch(a);
  const ref = cloneTyped(a), got = cloneTyped(a);
  const outR = allocateSgdEpoch(), outW = allocateSgdEpoch();
  const [r0, r1] = range ?? [0, a.order.length];
  for (let e = 0; e < epochs; e++) {
    sgdEpochReference(ref, outR, r0, r1);
    wasmBackend.kernels.sgdEpoch!(got, outW, r0, r1);
    sameArray(outW, outR, `${label} epoch ${e} out`);
  }
  for (const k of ['bu', 'bi', 'pu', 'qi', 'yj'] as const) {
    if (ref[k]) sameArray(got[k]!, ref[k]!, `${label} ${k}`);
  }
  assert.ok(outR[0] > 0 && Number.isFinite(outR[0]), `${label}: a finite, positive sse`);
  const changed = ref.pu.some((v, i) => v !== a.pu[i]);
  assert.ok(changed || r0 === r1, `${label}: the passes changed pu`);
}

function conformBpr(a: BprEpochArgs, label: string, epochs = 3): void {
  validateBprEpoch(a);
  const ref = cloneTyped(a), got = cloneTyped(a);
  const outR = allocateBprEpoch(), outW = allocateBprEpoch();
  for (let e = 0; e < epochs; e++) {
    bprEpochReference(ref, outR, 0, a.samples);
    wasmBackend.kernels.bprEpoch!(got, outW, 0, a.samples);
    sameArray(got.rng, ref.rng, `${label} epoch ${e} rng`);
    sameArray(outW, outR, `${label} epoch ${e} out`);
  }
  sameArray(got.userFactors, ref.userFactors, `${label} userFactors`);
  sameArray(got.itemFactors, ref.itemFactors, `${label} itemFactors`);
  assert.ok(outR[0] > 0 && outR[2] > 0, `${label}: some correct steps and some loss`);
  assert.not.equal([...ref.rng], [...a.rng], `${label}: the rng advanced`);
}

const status = loadAffinityWasm();

if (status instanceof Error) {
  skip(test, 'wasm kernels', status.message);
  test('wasm backend is unavailable and says why', () => {
    const p = wasmBackend.probe() as { available: boolean; reason: string };
    assert.is(p.available, false);
    assert.ok(p.reason.trim().length > 0);
  });
} else {
  test('sparseSimilarityTopK: every metric × weighting matches the reference exactly', () => {
    const m = randomCsr(60, 40, 0.15, 1);
    const baselines = baselinesFor(m, 2);
    let checked = 0;
    for (const metric of SIMILARITY_METRICS) {
      for (const weighting of SIMILARITY_WEIGHTINGS) {
        const a: SparseSimilarityTopKArgs = { matrix: m, metric, k: 7, weighting, baselines };
        const got = conformSim(a, `${metric}/${weighting}`, [17, 18, 40]);
        if (got.ids.some((x) => x >= 0)) checked++;
      }
    }
    assert.is(checked, SIMILARITY_METRICS.length * SIMILARITY_WEIGHTINGS.length, 'every combination kept some neighbours');
  });

  test('sparseSimilarityTopK: options (excludeSelf, minSupport, shrinkage, minSimilarity, bm25 K1/B)', () => {
    const m = randomCsr(45, 30, 0.25, 3, 'real');
    const baselines = baselinesFor(m, 4);
    for (const metric of SIMILARITY_METRICS) {
      const base: SparseSimilarityTopKArgs = { matrix: m, metric, k: 6, baselines };
      conformSim({ ...base, excludeSelf: false }, `${metric} excludeSelf=false`);
      conformSim({ ...base, minSupport: 3 }, `${metric} minSupport=3`);
      conformSim({ ...base, minSupport: 0 }, `${metric} minSupport=0`);
      conformSim({ ...base, shrinkage: 10 }, `${metric} shrinkage=10`, [1]);
      conformSim({ ...base, shrinkage: 0 }, `${metric} shrinkage=0`);
      conformSim({ ...base, minSimilarity: 0.2 }, `${metric} minSimilarity=0.2`);
      conformSim({ ...base, weighting: 'bm25', bm25K1: 1.2, bm25B: 0.3 }, `${metric} bm25 1.2/0.3`);
    }
    // self is its own best neighbour for cosine when not excluded
    const self = conformSim({ matrix: m, metric: 'cosine', k: 3, excludeSelf: false }, 'cosine self');
    for (let r = 0; r < m.rows; r++) {
      if (m.indptr[r + 1] > m.indptr[r]) assert.is(self.ids[r * 3], r, `row ${r}: itself first`);
    }
  });

  test('sparseSimilarityTopK: k ≥ rows, k = all, empty rows padded with -1/-Infinity', () => {
    const m = randomCsr(25, 12, 0.2, 5, 'ratings', 0.3);
    for (const metric of ['cosine', 'pearson', 'jaccard', 'msd'] as const) {
      const all = conformSim({ matrix: m, metric, k: 'all' }, `${metric} all`, [9]);
      assert.is(all.k, 25);
      conformSim({ matrix: m, metric, k: 40 }, `${metric} k=40`);
      for (let r = 0; r < m.rows; r++) {
        if (m.indptr[r + 1] !== m.indptr[r]) continue;
        assert.ok(all.ids.subarray(r * 25, r * 25 + 25).every((x) => x === -1), `empty row ${r} has no neighbours`);
        assert.ok(all.scores.subarray(r * 25, r * 25 + 25).every((x) => x === -Infinity), `empty row ${r} scores`);
      }
    }
  });

  test('sparseSimilarityTopK: ties go to the lower id (binary data)', () => {
    const m = randomCsr(50, 8, 0.4, 7, 'ones', 0);
    for (const metric of SIMILARITY_METRICS) {
      for (const weighting of ['tfidf', 'bm25'] as const) conformSim({ matrix: m, metric, k: 5, weighting, baselines: baselinesFor(m, 6) }, `binary ${metric} ${weighting}`);
    }
    for (const metric of ['jaccard', 'cosine', 'dot', 'msd', 'cosine-common'] as const) {
      const got = conformSim({ matrix: m, metric, k: 5 }, `binary ${metric}`, [25]);
      for (let r = 0; r < m.rows; r++) {
        for (let s = 1; s < 5; s++) {
          const o = r * 5 + s;
          if (got.ids[o] < 0) continue;
          const better = got.scores[o - 1] > got.scores[o] || (got.scores[o - 1] === got.scores[o] && got.ids[o - 1] < got.ids[o]);
          assert.ok(better, `row ${r} slot ${s}: order (${got.ids[o - 1]}, ${got.scores[o - 1]}) before (${got.ids[o]}, ${got.scores[o]})`);
        }
      }
    }
    // identical rows: all-equal scores, neighbours are the lowest ids
    const same = csrFromTriplets(6, 3, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5], [0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2], new Array(12).fill(2));
    const got = conformSim({ matrix: same, metric: 'cosine', k: 3 }, 'identical rows');
    assert.equal([...got.ids.subarray(0, 3)], [1, 2, 3]);
    assert.equal([...got.ids.subarray(9, 12)], [0, 1, 2]);
  });

  test('sparseSimilarityTopK: stored zeros, negative values, a single column, one row', () => {
    const z = csrFromTriplets(5, 4, [0, 0, 1, 1, 2, 3, 4], [0, 1, 0, 1, 1, 3, 3], [0, 2, 3, 0, -1, 4, -2]);
    for (const metric of SIMILARITY_METRICS) {
      conformSim({ matrix: z, metric, k: 4, baselines: baselinesFor(z, 8) }, `zeros ${metric}`);
    }
    const col = randomCsr(30, 1, 0.7, 9, 'real', 0);
    for (const metric of SIMILARITY_METRICS) conformSim({ matrix: col, metric, k: 10, baselines: baselinesFor(col, 10) }, `one column ${metric}`);
    const one = csrFromTriplets(1, 3, [0, 0], [0, 2], [1, 2]);
    const got = conformSim({ matrix: one, metric: 'cosine', k: 5 }, 'one row');
    assert.is(got.k, 1);
    assert.is(got.ids[0], -1);
  });

  test('sparseSimilarityTopK: larger random matrices, many row ranges', () => {
    const m = randomCsr(400, 250, 0.05, 11, 'ratings', 0.05);
    const bounds = [3, 64, 65, 200, 333];
    for (const metric of SIMILARITY_METRICS) {
      conformSim({ matrix: m, metric, k: 20, baselines: baselinesFor(m, 12) }, `400x250 ${metric}`, bounds);
    }
    conformSim({ matrix: m, metric: 'cosine', k: 20, weighting: 'tfidf' }, '400x250 cosine tfidf', bounds);
    conformSim({ matrix: m, metric: 'cosine', k: 'all' }, '400x250 cosine all', bounds);
  });

  test('sparseSimilarityTopK: the matrix side is copied once and reused for the same prepared buffers', () => {
    const w: AffinityWasm = instantiateAffinityWasmSync(readFileSync(wasmPath()));
    const m = randomCsr(120, 80, 0.1, 13);
    const a = withPreparedSimilarity({ matrix: m, metric: 'cosine', k: 10 });
    const ref = reference(a);
    const run = (args: typeof a, cuts: number[]): TopK => {
      const out = allocateSparseSimilarityTopK(args);
      const b = [0, ...cuts, m.rows];
      for (let i = 0; i + 1 < b.length; i++) w.sparseSimilarityTopK({ ...args, prepared: args.prepared! }, out, b[i], b[i + 1]);
      return out;
    };
    const got = run(a, [30, 60, 90]);
    assert.equal([...got.ids], [...ref.ids]);
    assert.equal(w.stats().simCacheMisses, 1, 'copied once');
    assert.equal(w.stats().simCacheHits, 3, 'reused by the 3 later row ranges');
    // a different prepared set (another weighting) is copied again, and its results are its own
    const b = withPreparedSimilarity({ matrix: m, metric: 'cosine', k: 10, weighting: 'bm25' });
    const gotB = run(b, []);
    assert.equal([...gotB.ids], [...reference(b).ids]);
    assert.equal(w.stats().simCacheMisses, 2);
    // a dense kernel call in between invalidates the cache (it reuses the memory)
    w.denseScoreTopK({ queries: { rows: 1, cols: 1, data: new Float32Array([1]) }, keys: { rows: 1, cols: 1, data: new Float32Array([1]) }, k: 1, metric: 'dot' },
      { k: 1, ids: new Int32Array(1), scores: new Float32Array(1) }, 0, 1);
    const again = run(a, []);
    assert.equal([...again.ids], [...ref.ids]);
    assert.equal(w.stats().simCacheMisses, 3);
  });

  test('sparseSimilarityTopK: rejects a bad row range and a metric it does not know', () => {
    const m = randomCsr(10, 5, 0.5, 14);
    const a: SparseSimilarityTopKArgs = { matrix: m, metric: 'cosine', k: 3 };
    const out = allocateSparseSimilarityTopK(a);
    assert.throws(() => wasmBackend.kernels.sparseSimilarityTopK!(a, out, 5, 11), /row range/);
    assert.throws(() => wasmBackend.kernels.sparseSimilarityTopK!({ ...a, metric: 'nope' as never, prepared: withPreparedSimilarity(a).prepared }, out, 0, 1), /unknown metric/);
  });

  test('alsHalfStep: implicit and explicit, Cholesky and CG, several factor counts, match the reference', () => {
    let seed = 100;
    for (const f of [1, 3, 8, 13, 64]) {
      const pattern = randomCsr(70, 50, 0.12, seed++, 'ratings', 0.1);
      const y = randomFactors(50, f, seed++);
      const gram = gramian(y);
      const initial = randomFactors(70, f, seed++, 0.1);
      const conf = confidences(pattern, seed++);
      for (const solver of ['cholesky', 'cg'] as const) {
        conformAls({ mode: 'implicit', solver, matrix: conf, other: y, gram, regularization: 0.1, initial }, `implicit ${solver} f=${f}`, [5, 33]);
        conformAls({ mode: 'explicit', solver, matrix: pattern, other: y, regularization: 0.05, initial }, `explicit ${solver} f=${f}`, [69]);
      }
      conformAls({ mode: 'implicit', solver: 'cg', cgSteps: 1, matrix: conf, other: y, gram, regularization: 0.1, initial }, `implicit cg×1 f=${f}`);
      conformAls({ mode: 'implicit', solver: 'cg', cgSteps: 8, matrix: conf, other: y, gram, regularization: 0.1, initial }, `implicit cg×8 f=${f}`);
      // CG from zero (no initial): the first step from x = 0
      conformAls({ mode: 'explicit', solver: 'cg', matrix: pattern, other: y, regularization: 0.05 }, `explicit cg from 0 f=${f}`);
    }
  });

  test('alsHalfStep: heavy rows (more entries than a chunk), λ = 0, empty rows zeroed', () => {
    const f = 16;
    const pattern = randomCsr(12, 300, 0.6, 120, 'real', 0.25);
    const y = randomFactors(300, f, 121);
    const gram = gramian(y);
    const initial = randomFactors(12, f, 122, 0.3);
    const got = conformAls({ mode: 'implicit', solver: 'cholesky', matrix: confidences(pattern, 123), other: y, gram, regularization: 0, initial }, 'implicit λ=0');
    conformAls({ mode: 'explicit', solver: 'cholesky', matrix: pattern, other: y, regularization: 0, initial }, 'explicit λ=0');
    conformAls({ mode: 'implicit', solver: 'cg', matrix: confidences(pattern, 124), other: y, gram, regularization: 1, initial }, 'implicit cg heavy');
    for (let r = 0; r < 12; r++) {
      if (pattern.indptr[r + 1] === pattern.indptr[r]) assert.ok(got.data.subarray(r * f, r * f + f).every((v) => v === 0), `empty row ${r} is zero`);
    }
  });

  test('alsHalfStep: a singular system throws the reference\'s RangeError', () => {
    // explicit, λ = 0, row 1 rates only items whose factors are zero: its system is 0
    const m = csrFromTriplets(3, 4, [0, 0, 1, 2, 2], [0, 1, 2, 0, 3], [4, 3, 5, 2, 1]);
    const y = randomFactors(4, 2, 130);
    y.data.fill(0, 2 * 2, 3 * 2);
    const a: AlsHalfStepArgs = { mode: 'explicit', solver: 'cholesky', matrix: m, other: y, regularization: 0 };
    assert.throws(() => alsHalfStepReference(a, allocateAlsHalfStep(a), 0, 3), /row 1 is not positive definite/);
    const out = allocateAlsHalfStep(a);
    assert.throws(() => wasmBackend.kernels.alsHalfStep!(a, out, 0, 3), /row 1 is not positive definite/);
    assert.throws(() => wasmBackend.kernels.alsHalfStep!(a, out, 1, 2), /row 1 is not positive definite/);
    wasmBackend.kernels.alsHalfStep!(a, out, 2, 3); // the other rows solve
  });

  test('sgdEpoch: svd (biased, unbiased, weighted, users-only, sub-range) equals the reference bit for bit', () => {
    const p = sgdProblem(40, 30, 300, 200);
    for (const F of [1, 5, 16]) {
      conformSgd(sgdArgs(p, 'svd', F, 201), `svd F=${F}`);
      conformSgd(sgdArgs(p, 'svd', F, 202, { biased: false }), `svd unbiased F=${F}`);
      conformSgd(sgdArgs(p, 'svd', F, 203, { weight: p.weight }), `svd weighted F=${F}`);
      conformSgd(sgdArgs(p, 'svd', F, 204, { update: 'users' }), `svd users F=${F}`);
      conformSgd(sgdArgs(p, 'svd', F, 205), `svd range F=${F}`, 2, [50, 200]);
    }
  });

  test('sgdEpoch: svdpp (grouped and shuffled orders, users-only) and nmf equal the reference bit for bit', () => {
    const p = sgdProblem(35, 25, 250, 210);
    for (const F of [1, 4, 7]) {
      conformSgd(sgdArgs(p, 'svdpp', F, 211), `svdpp F=${F}`);
      conformSgd(sgdArgs(p, 'svdpp', F, 212, { weight: p.weight }), `svdpp weighted F=${F}`);
      const shuffled = sgdArgs(p, 'svd', F, 213);
      conformSgd({ ...sgdArgs(p, 'svdpp', F, 213), order: shuffled.order }, `svdpp shuffled F=${F}`);
      conformSgd(sgdArgs(p, 'svdpp', F, 214, { update: 'users' }), `svdpp users F=${F}`);
      conformSgd(sgdArgs(p, 'nmf', F, 215), `nmf F=${F}`);
      conformSgd(sgdArgs(p, 'nmf', F, 216, { biased: true }), `nmf biased F=${F}`);
      conformSgd(sgdArgs(p, 'nmf', F, 217, { update: 'users' }), `nmf users F=${F}`);
    }
    // a user with no N(u) row entries: svdpp's implicit term is 0
    const empty = sgdArgs(p, 'svdpp', 3, 218);
    const noN: Csr = { ...p.seen, indptr: new Int32Array(p.nu + 1), indices: new Int32Array(0), data: new Float32Array(0) };
    conformSgd({ ...empty, implicitItems: noN }, 'svdpp empty N(u)');
  });

  test('bprEpoch: the xoshiro128** stream, factors and outputs equal the reference bit for bit', () => {
    for (const F of [1, 8, 13]) {
      conformBpr(bprArgs(30, 25, 200, F, 300 + F), `bpr F=${F}`);
      conformBpr(bprArgs(30, 25, 200, F, 310 + F, { verifyNegative: false }), `bpr no verify F=${F}`);
      const t = bprArgs(30, 25, 200, F, 320 + F);
      const cdf = new Float64Array(25);
      for (let i = 0, acc = 0; i < 25; i++) { acc += 1 + (i % 4); cdf[i] = acc; }
      for (let i = 0; i < 25; i++) cdf[i] /= cdf[24];
      conformBpr({ ...t, negatives: 'table', negativeCdf: cdf }, `bpr table F=${F}`);
      // uniform sampling of negatives (β = 0: the model's table is (i + 1) / items)
      const uniform = Float64Array.from({ length: 25 }, (_, i) => (i + 1) / 25);
      conformBpr({ ...bprArgs(30, 25, 200, F, 370 + F), negatives: 'table', negativeCdf: uniform }, `bpr uniform F=${F}`);
      conformBpr({ ...bprArgs(30, 25, 200, F, 380 + F, { verifyNegative: false }), negatives: 'table', negativeCdf: uniform }, `bpr uniform no verify F=${F}`);
      conformBpr(bprArgs(30, 25, 200, F, 330 + F, { update: 'users' }), `bpr users F=${F}`);
      conformBpr(bprArgs(30, 25, 200, F, 340 + F, { update: 'positive' }), `bpr positive F=${F}`);
      // seen ≠ userItems and popularity drawn from another list (the fold-in setup of the model)
      const s = bprArgs(30, 25, 200, F, 350 + F);
      const more = sgdProblem(30, 25, 320, 360 + F).seen;
      conformBpr({ ...s, seen: more, popularityItems: more.indices }, `bpr seen/popularity F=${F}`);
    }
  });

  test('sgdEpoch / bprEpoch through the engine (one task on the calling thread) update the caller\'s arrays', async () => {
    const { getEngine } = await import('../src/engine/processEngine.js');
    const p = sgdProblem(20, 15, 120, 400);
    const a = sgdArgs(p, 'svd', 6, 401);
    const ref = cloneTyped(a);
    const outR = allocateSgdEpoch();
    sgdEpochReference(ref, outR, 0, a.order.length);
    const r = await getEngine().runDetailed('sgdEpoch', a, { backend: 'wasm' });
    assert.is(r.backend, 'wasm');
    sameArray(r.out, outR, 'engine sgd out');
    sameArray(a.pu, ref.pu, 'engine sgd pu');
    const b = bprArgs(20, 15, 120, 4, 402);
    const refB = cloneTyped(b);
    bprEpochReference(refB, allocateBprEpoch(), 0, b.samples);
    await getEngine().runDetailed('bprEpoch', b, { backend: 'wasm' });
    sameArray(b.rng, refB.rng, 'engine bpr rng');
    sameArray(b.itemFactors, refB.itemFactors, 'engine bpr itemFactors');
  });
}

test.run();
