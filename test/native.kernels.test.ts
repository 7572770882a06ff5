/**
 * The native backend's sparse and factorization kernels against their references
 * (src/kernels/sparseSimilarityTopK.ts, ...).
 *
 * sparseSimilarityTopK tolerance: scores within 1e-4·max(1, |reference|). The general path
 * accumulates in float64 like the reference; the blocked dot/cosine path in float32 (exact on
 * integer-valued data). Ids must be identical except at a near tie: where they differ, the
 * reference's own score (the dense similarity matrix) of the native id must be within tolerance
 * of the reference's score in that slot. Integer data with `dot`/`jaccard` must match exactly,
 * ties (by lower id) included.
 *
 * Without a built addon the file prints `SKIP native kernels: <reason>` and runs one test on it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeBackend, loadNativeAddon, callSparseSimilarityTopK, type NativeAddon, type NativeSparseSimilarityCall } from '../src/backends/native/index.js';
import {
  allocateSparseSimilarityTopK, similarityMatrixDense, withPreparedSimilarity,
  SIMILARITY_METRICS, type SparseSimilarityTopKArgs,
} from '../src/kernels/sparseSimilarityTopK.js';
import { csrFromTriplets, type Csr, type TopK } from '../src/data/matrix.js';
import { readInteractions } from '../src/data/index.js';
import { mulberry32 } from './helpers/random.js';
import { compareSimilarity, randomCsr, ratings, reals, ones } from './helpers/similarity.js';
import { skip, testOrSkip } from './helpers/skip.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = process.env.AFFINITY_DATA_DIR ?? path.join(root, '..', 'shared', 'data');
const ml100kFile = path.join(dataDir, 'ml-100k', 'u.data.gz');


function baselinesFor(m: Csr, seed: number) {
  const rnd = mulberry32(seed);
  return {
    globalMean: 3.2,
    rowBias: Float64Array.from({ length: m.rows }, () => rnd() - 0.5),
    colBias: Float64Array.from({ length: m.cols }, () => rnd() - 0.5),
  };
}


const probe = await nativeBackend.probe();
const loaded = loadNativeAddon();
const addon = ('addon' in loaded ? loaded.addon : null) as NativeAddon | null;

if (!probe.available || !addon) {
  skip(test, 'native kernels', probe.reason);
  test('native kernels: the skip reason says what is missing', () => {
    assert.ok(probe.reason.length > 0);
  });
} else {
  const sim = async (a: SparseSimilarityTopKArgs, r0 = 0, r1 = a.matrix.rows, threads = 2, pathSel: 0 | 1 | 2 = 0): Promise<TopK> => {
    const out = allocateSparseSimilarityTopK(a);
    await callSparseSimilarityTopK(addon, a, out, r0, r1, threads, undefined, pathSel);
    return out;
  };

  test('native sparseSimilarityTopK: listed by the backend', () => {
    assert.type(nativeBackend.kernels.sparseSimilarityTopK, 'function');
  });

  test('native sparseSimilarityTopK: every metric and option matches the reference on random inputs', async () => {
    const shapes: Array<[number, number, number, (r: () => number) => number, number]> = [
      [60, 40, 0.2, ratings, 7], [33, 90, 0.1, reals, 0], [120, 25, 0.35, ratings, 11], [5, 3, 0.6, ratings, 0],
    ];
    let seed = 1;
    for (const [rows, cols, dens, val, emptyEvery] of shapes) {
      const matrix = randomCsr(rows, cols, dens, seed++, val, emptyEvery);
      for (const metric of SIMILARITY_METRICS) {
        const base: SparseSimilarityTopKArgs = { matrix, metric, k: 7, ...(metric === 'pearson-baseline' ? { baselines: baselinesFor(matrix, seed) } : {}) };
        const variants: SparseSimilarityTopKArgs[] = [
          base,
          { ...base, k: 'all' },
          { ...base, k: rows + 5 },
          { ...base, shrinkage: 10, minSupport: 2 },
          { ...base, minSimilarity: 0.2, excludeSelf: false },
        ];
        if (metric === 'cosine') variants.push({ ...base, weighting: 'tfidf' }, { ...base, weighting: 'bm25', bm25K1: 1.2, bm25B: 0.75 });
        for (const v of variants) {
          const a = withPreparedSimilarity(v);
          const dense = similarityMatrixDense(a);
          const label = `${rows}x${cols} ${metric} ${JSON.stringify({ k: v.k, s: v.shrinkage, ms: v.minSupport, min: v.minSimilarity, w: v.weighting })}`;
          for (const p of [0, 1, 2] as const) {
            if (p === 2 && metric !== 'dot' && metric !== 'cosine') continue;
            compareSimilarity('native', a, await sim(a, 0, rows, 2, p), 0, rows, false, `${label} path ${p}`, dense);
          }
        }
      }
    }
  });

  test('native sparseSimilarityTopK: integer data — exact scores and ties by lower id (dot, jaccard, both paths)', async () => {
    const matrix = randomCsr(200, 30, 0.15, 99, ones, 13);
    for (const metric of ['dot', 'jaccard'] as const) {
      for (const k of [3, 10, 'all'] as const) {
        const a = withPreparedSimilarity({ matrix, metric, k });
        for (const p of [0, 1, 2] as const) {
          if (p === 2 && metric === 'jaccard') continue;
          compareSimilarity('native', a, await sim(a, 0, 200, 2, p), 0, 200, true, `${metric} k=${k} path ${p}`);
        }
      }
    }
  });

  test('native sparseSimilarityTopK: a row range writes only its rows; one or two threads agree', async () => {
    const matrix = randomCsr(150, 40, 0.2, 5, ratings);
    for (const metric of ['cosine', 'pearson'] as const) {
      const a = withPreparedSimilarity({ matrix, metric, k: 5 });
      const out = allocateSparseSimilarityTopK(a);
      out.ids.fill(-7);
      await callSparseSimilarityTopK(addon, a, out, 40, 90, 2);
      for (let r = 0; r < 150; r++) {
        const inside = r >= 40 && r < 90;
        for (let s = 0; s < 5; s++) if (!inside) assert.is(out.ids[r * 5 + s], -7, `row ${r} written`);
      }
      compareSimilarity('native', a, out, 40, 90, false, `${metric} range`);
      const one = await sim(a, 0, 150, 1), two = await sim(a, 0, 150, 2);
      assert.equal(one.ids, two.ids);
      assert.equal(one.scores, two.scores);
    }
  });

  test('native sparseSimilarityTopK: args without `prepared`, and through the backend entry point', async () => {
    const matrix = randomCsr(50, 20, 0.3, 8, ratings);
    const a: SparseSimilarityTopKArgs = { matrix, metric: 'adjusted-cosine', k: 4 };
    const out = allocateSparseSimilarityTopK(a);
    await nativeBackend.kernels.sparseSimilarityTopK!(a, out, 0, 50, { threads: 2 });
    compareSimilarity('native', withPreparedSimilarity(a), out, 0, 50, false, 'unprepared');
  });

  test('native sparseSimilarityTopK: unprepared dot/cosine/tf-idf (X given as the matrix data or computed) match prepared', async () => {
    const matrix = randomCsr(90, 40, 0.2, 23, ratings, 9);
    for (const v of [{ metric: 'cosine' }, { metric: 'dot' }, { metric: 'cosine', weighting: 'tfidf' }] as const) {
      const a: SparseSimilarityTopKArgs = { matrix, k: 6, ...v };
      const prepared = withPreparedSimilarity(a);
      const [plain, viaPrepared] = [await sim(a), await sim(prepared)];
      assert.equal(plain.ids, viaPrepared.ids, JSON.stringify(v));
      assert.equal(plain.scores, viaPrepared.scores, JSON.stringify(v));
      compareSimilarity('native', prepared, plain, 0, 90, false, `unprepared ${JSON.stringify(v)}`);
    }
  });

  test('native sparseSimilarityTopK: the symmetric path across many accumulator tiles (AFFINITY_SIM_TILE=64)', async () => {
    // 700 rows in tiles of 64: blocks start inside a tile, and columns are walked from the block's own rank
    const matrix = randomCsr(700, 120, 0.06, 31, ratings, 11);
    const saved = process.env.AFFINITY_SIM_TILE;
    process.env.AFFINITY_SIM_TILE = '64';
    try {
      for (const metric of ['cosine', 'dot'] as const) {
        for (const k of [5, 'all'] as const) {
          const a = withPreparedSimilarity({ matrix, metric, k });
          for (const threads of [1, 2]) compareSimilarity('native', a, await sim(a, 0, 700, threads), 0, 700, false, `${metric} k=${k} threads=${threads}`);
        }
      }
    } finally {
      if (saved === undefined) delete process.env.AFFINITY_SIM_TILE;
      else process.env.AFFINITY_SIM_TILE = saved;
    }
  });

  test('native sparseSimilarityTopK: concurrent calls all match', async () => {
    const matrix = randomCsr(300, 60, 0.1, 17, ratings);
    const args = (['cosine', 'msd', 'dot', 'pearson'] as const).map((metric) => withPreparedSimilarity({ matrix, metric, k: 8 }));
    const outs = await Promise.all(args.map((a) => sim(a)));
    args.forEach((a, i) => compareSimilarity('native', a, outs[i], 0, 300, false, `concurrent ${a.metric}`));
  });

  test('native sparseSimilarityTopK: the addon validates every argument before running', () => {
    const m = csrFromTriplets(4, 3, [0, 0, 1, 2, 3], [0, 2, 1, 0, 2], [1, 2, 3, 4, 5]);
    const fn = addon.sparseSimilarityTopK!.bind(addon);
    const good = (): NativeSparseSimilarityCall => ({
      rows: 4, cols: 3, indptr: Int32Array.from(m.indptr), indices: Int32Array.from(m.indices), values: Float64Array.from(m.data),
      rowNorm: null, metric: 'cosine', k: 2, shrinkage: 0, minSupport: 1, excludeSelf: true, rowStart: 0, rowEnd: 4,
      outIds: new Int32Array(8), outScores: new Float32Array(8), threads: 1,
    });
    const call = (over: Record<string, unknown>) => fn({ ...good(), ...over } as NativeSparseSimilarityCall);
    const isRange = (re?: RegExp) => (e: Error) => e instanceof RangeError && (!re || re.test(e.message));
    const isType = (re?: RegExp) => (e: Error) => e instanceof TypeError && (!re || re.test(e.message));
    assert.throws(() => call({ indptr: new Int32Array(4) }), isRange(/indptr has length 4/));
    assert.throws(() => call({ indptr: Int32Array.from([0, 2, 1, 4, 5]) }), isRange(/decreases/));
    assert.throws(() => call({ indptr: Int32Array.from([0, 2, 3, 4, 9]) }), isRange(/nnz/));
    assert.throws(() => call({ indices: Int32Array.from([0, 3, 1, 0, 2]) }), isRange(/column index 3/));
    assert.throws(() => call({ indices: Int32Array.from([0, -1, 1, 0, 2]) }), isRange(/column index -1/));
    assert.throws(() => call({ values: new Float64Array(3) }), isRange(/nnz/));
    assert.throws(() => call({ rowNorm: new Float64Array(3) }), isRange(/rowNorm/));
    assert.throws(() => call({ outIds: new Int32Array(7) }), isRange(/outIds/));
    assert.throws(() => call({ outScores: new Float32Array(2) }), isRange(/outScores/));
    assert.throws(() => call({ rowEnd: 5 }), isRange(/rowEnd/));
    assert.throws(() => call({ rowStart: 3, rowEnd: 2 }), isRange());
    assert.throws(() => call({ k: 0 }), isRange(/k must be/));
    assert.throws(() => call({ k: 1.5 }), isRange(/k must be an integer/));
    assert.throws(() => call({ metric: 'euclid' }), isRange(/unknown metric/));
    assert.throws(() => call({ shrinkage: -1 }), isRange(/shrinkage/));
    assert.throws(() => call({ minSimilarity: NaN }), isRange(/minSimilarity/));
    assert.throws(() => call({ threads: 0 }), isRange(/threads/));
    assert.throws(() => call({ indptr: [0, 2, 3, 4, 5] }), isType(/indptr must be an Int32Array/));
    assert.throws(() => call({ values: new Int32Array(5) }), isType(/values must be/));
    assert.throws(() => call({ outScores: new Float64Array(8) }), isType(/outScores/));
    assert.throws(() => call({ metric: 3 }), isType(/metric/));
    assert.throws(() => fn(undefined as unknown as NativeSparseSimilarityCall), isType(/options object/));
    const shared = new Int32Array(16);
    assert.throws(() => call({ outIds: shared.subarray(0, 8), outScores: new Float32Array(shared.buffer, 16, 8) }), isRange(/overlap/));
  });

  test('native sparseSimilarityTopK: the backend kernel rejects a wrong out.k', async () => {
    const matrix = randomCsr(10, 5, 0.5, 3, ratings);
    const a = withPreparedSimilarity({ matrix, metric: 'cosine', k: 3 });
    const out = allocateSparseSimilarityTopK({ ...a, k: 4 });
    try {
      await nativeBackend.kernels.sparseSimilarityTopK!(a, out, 0, 10);
      assert.unreachable('should reject');
    } catch (e) {
      assert.instance(e, RangeError);
      assert.match((e as Error).message, /out\.k/);
    }
  });

  testOrSkip(test, existsSync(ml100kFile) ? null : `${ml100kFile} not found (set AFFINITY_DATA_DIR)`)('native sparseSimilarityTopK: ML-100k item cosine k=20, user msd/pearson k=all', async () => {
    const x = await readInteractions(ml100kFile);
    const users = csrFromTriplets(x.users.size, x.items.size, x.user, x.item, x.rating);
    const items = csrFromTriplets(x.items.size, x.users.size, x.item, x.user, x.rating);
    const cases: SparseSimilarityTopKArgs[] = [
      { matrix: items, metric: 'cosine', k: 20 },
      { matrix: items, metric: 'adjusted-cosine', k: 20, shrinkage: 100 },
      { matrix: users, metric: 'msd', k: 'all' },
      { matrix: users, metric: 'pearson', k: 'all', minSupport: 3 },
    ];
    for (const c of cases) {
      const a = withPreparedSimilarity(c);
      compareSimilarity('native', a, await sim(a), 0, c.matrix.rows, false, `ml-100k ${c.metric}`);
    }
  });
}

test.run();
