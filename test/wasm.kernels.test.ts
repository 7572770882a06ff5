/**
 * Conformance of the `wasm` backend's sparse and training kernels with their references (the oracles):
 *
 * sparseSimilarityTopK: the kernel sums in f64 in the reference's order and scores with the same f64 formulas,
 *   so ids and scores must be EQUAL to the reference's (no tolerance), for every metric and weighting,
 *   excludeSelf, minSupport, shrinkage, minSimilarity, k ≥ rows and 'all', empty rows, ties and row ranges.
 *
 * Skipped, with the reason printed, when build/wasm/affinity.wasm is missing or cannot run here.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SIMILARITY_METRICS, SIMILARITY_WEIGHTINGS, allocateSparseSimilarityTopK, sparseSimilarityTopKReference,
  validateSparseSimilarityTopK, withPreparedSimilarity, type SparseSimilarityTopKArgs,
} from '../src/kernels/sparseSimilarityTopK.js';
import { csrFromTriplets, type Csr, type TopK } from '../src/data/matrix.js';
import { loadAffinityWasm, wasmBackend } from '../src/backends/wasm/index.js';
import { instantiateAffinityWasmSync, type AffinityWasm } from '../src/backends/wasm/core.js';
import { mulberry32 } from './helpers/random.js';
import { readFileSync } from 'node:fs';
import { wasmPath } from '../src/backends/wasm/index.js';

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

const status = loadAffinityWasm();

if (status instanceof Error) {
  console.log(`SKIP wasm kernels: ${status.message}`);
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
    for (const metric of ['jaccard', 'cosine', 'dot', 'msd'] as const) {
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
}

test.run();
