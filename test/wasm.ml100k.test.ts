/**
 * The `wasm` backend against the reference on MovieLens 100K (../shared/data/ml-100k, or AFFINITY_DATA_DIR):
 * the real sparsity pattern (943 users × 1682 items, 100,000 ratings, long-tailed rows and columns).
 *
 * Tolerances (the same as the synthetic suites, test/wasm.test.ts and test/wasm.kernels.test.ts):
 *   sparseSimilarityTopK — ids and scores EQUAL to the reference's (f64 sums in the reference's order);
 *   denseScoreTopK       — scores within 1e-4 relative (f32 vs f64 accumulation); a differing id only at a
 *                          near-tie (its exact score within the same tolerance of the reference's);
 *   alsHalfStep          — each factor within 1e-3 of its row's largest |factor| (f64x2 solves in another order);
 *   sgdEpoch, bprEpoch   — every parameter, the rng state and the outputs EQUAL to the reference's.
 *
 * Skipped, with the reason printed, when the data or build/wasm/affinity.wasm is missing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readInteractions, toCsr, type Interactions } from '../src/data/index.js';
import { denseFrom, type Csr, type Dense } from '../src/data/matrix.js';
import { loadAffinityWasm, wasmBackend } from '../src/backends/wasm/index.js';
import {
  allocateSparseSimilarityTopK, sparseSimilarityTopKReference, withPreparedSimilarity, type SparseSimilarityTopKArgs,
} from '../src/kernels/sparseSimilarityTopK.js';
import { allocateDenseScoreTopK, denseScoreTopKReference, type DenseScoreTopKArgs } from '../src/kernels/denseScoreTopK.js';
import { allocateAlsHalfStep, alsHalfStepReference, gramian, type AlsHalfStepArgs } from '../src/kernels/alsHalfStep.js';
import { allocateSgdEpoch, sgdEpochReference, type SgdEpochArgs } from '../src/kernels/sgdEpoch.js';
import { allocateBprEpoch, bprEpochReference, type BprEpochArgs } from '../src/kernels/bprEpoch.js';
import { xoshiroState } from '../src/data/xoshiro128.js';
import { mulberry32 } from './helpers/random.js';
import { skip } from './helpers/skip.js';

// compiled to dist/test/: the repo root is two levels up; the data lives beside the repo, never in it
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = process.env.AFFINITY_DATA_DIR ?? path.join(root, '..', 'shared', 'data');
const file = path.join(dataDir, 'ml-100k', 'u.data.gz');
const wasm = loadAffinityWasm();
const skipReason = wasm instanceof Error ? wasm.message : !existsSync(file) ? `${file} not found (set AFFINITY_DATA_DIR)` : null;

let data: { x: Interactions; users: Csr; items: Csr } | null = null;
async function ml100k(): Promise<{ x: Interactions; users: Csr; items: Csr }> {
  if (!data) {
    const x = await readInteractions(file);
    data = { x, users: toCsr(x, 'user'), items: toCsr(x, 'item') };
  }
  return data;
}

function factors(rows: number, f: number, seed: number, scale: number): Dense {
  const rnd = mulberry32(seed);
  return denseFrom(rows, f, Array.from({ length: rows * f }, () => (rnd() * 2 - 1) * scale));
}

function sameArray(x: ArrayLike<number>, y: ArrayLike<number>, label: string): void {
  assert.is(x.length, y.length, `${label}: length`);
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) assert.unreachable(`${label}[${i}]: wasm ${x[i]} vs reference ${y[i]}`);
}

function cloneTyped<T extends object>(a: T): T {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) o[k] = ArrayBuffer.isView(v) ? (v as Float32Array).slice() : v;
  return o as T;
}

if (skipReason) {
  skip(test, 'wasm ml-100k', skipReason);
  test('wasm on ml-100k: skipped with a reason', () => { assert.ok(skipReason.length > 0); });
} else {
  test('ml-100k sparseSimilarityTopK: item-item (cosine, pearson, pearson-baseline, jaccard) and user-user cosine equal the reference', async () => {
    const { users, items, x } = await ml100k();
    assert.is(items.rows, 1682);
    let mean = 0;
    for (const r of x.rating) mean += r;
    const baselines = { globalMean: mean / x.rating.length, rowBias: new Float64Array(items.rows), colBias: new Float64Array(items.cols) };
    const cases: Array<[string, SparseSimilarityTopKArgs]> = [
      ['items cosine k=20', { matrix: items, metric: 'cosine', k: 20 }],
      ['items pearson k=30 minSupport=5', { matrix: items, metric: 'pearson', k: 30, minSupport: 5 }],
      ['items pearson-baseline k=40', { matrix: items, metric: 'pearson-baseline', k: 40, baselines }],
      ['items jaccard k=10', { matrix: items, metric: 'jaccard', k: 10 }],
      ['users cosine tfidf k=50', { matrix: users, metric: 'cosine', k: 50, weighting: 'tfidf' }],
    ];
    for (const [label, args] of cases) {
      const a = withPreparedSimilarity(args);
      const ref = allocateSparseSimilarityTopK(a), got = allocateSparseSimilarityTopK(a);
      sparseSimilarityTopKReference(a, ref, 0, a.matrix.rows);
      const cut = Math.floor(a.matrix.rows / 3);
      for (const [r0, r1] of [[0, cut], [cut, 2 * cut], [2 * cut, a.matrix.rows]]) wasmBackend.kernels.sparseSimilarityTopK!(a, got, r0, r1);
      sameArray(got.ids, ref.ids, `${label} ids`);
      sameArray(got.scores, ref.scores, `${label} scores`);
    }
  });

  test('ml-100k denseScoreTopK: users × items (f=32) excluding each user\'s rated items, within 1e-4', async () => {
    const { users } = await ml100k();
    const a: DenseScoreTopKArgs = { queries: factors(943, 32, 1, 0.3), keys: factors(1682, 32, 2, 0.3), k: 50, metric: 'dot', exclude: users };
    const ref = allocateDenseScoreTopK(a), got = allocateDenseScoreTopK(a);
    denseScoreTopKReference(a, ref, 0, 943);
    for (const [r0, r1] of [[0, 300], [300, 943]]) wasmBackend.kernels.denseScoreTopK!(a, got, r0, r1);
    let differing = 0;
    for (let r = 0; r < 943; r++) {
      const rated = new Set(users.indices.subarray(users.indptr[r], users.indptr[r + 1]));
      for (let s = 0; s < 50; s++) {
        const o = r * 50 + s;
        const rs = ref.scores[o];
        assert.ok(Math.abs(got.scores[o] - rs) <= 1e-4 * Math.max(1, Math.abs(rs)), `user ${r} slot ${s}: ${got.scores[o]} vs ${rs}`);
        assert.not.ok(rated.has(got.ids[o]), `user ${r}: rated item ${got.ids[o]} recommended`);
        if (got.ids[o] !== ref.ids[o]) {
          differing++;
          let exact = 0;
          for (let f = 0; f < 32; f++) exact += a.queries.data[r * 32 + f] * a.keys.data[got.ids[o] * 32 + f];
          assert.ok(Math.abs(exact - rs) <= 1e-4 * Math.max(1, Math.abs(rs)), `user ${r} slot ${s}: id ${got.ids[o]} is not a near-tie of ${ref.ids[o]}`);
        }
      }
    }
    assert.ok(differing < 943 * 50 * 0.01, `${differing} near-tie swaps`);
  });

  test('ml-100k alsHalfStep: implicit CG and Cholesky, explicit Cholesky (users and items halves), within 1e-3', async () => {
    const { users, items } = await ml100k();
    const f = 24;
    const X = factors(943, f, 3, 0.1), Y = factors(1682, f, 4, 0.1);
    // implicit confidences 1 + 40·rating
    const conf = (m: Csr): Csr => ({ ...m, data: Float32Array.from(m.data, (v) => 1 + 40 * v) });
    const cases: Array<[string, AlsHalfStepArgs]> = [
      ['users implicit cg3', { mode: 'implicit', solver: 'cg', cgSteps: 3, matrix: conf(users), other: Y, gram: gramian(Y), regularization: 0.1, initial: X }],
      ['users implicit cholesky', { mode: 'implicit', solver: 'cholesky', matrix: conf(users), other: Y, gram: gramian(Y), regularization: 0.1 }],
      ['items implicit cholesky', { mode: 'implicit', solver: 'cholesky', matrix: conf(items), other: X, gram: gramian(X), regularization: 0.1 }],
      ['users explicit cholesky', { mode: 'explicit', solver: 'cholesky', matrix: users, other: Y, regularization: 0.05 }],
      ['items explicit cg3', { mode: 'explicit', solver: 'cg', cgSteps: 3, matrix: items, other: X, regularization: 0.05, initial: Y }],
    ];
    for (const [label, a] of cases) {
      const rows = a.matrix.rows;
      const ref = allocateAlsHalfStep(a), got = allocateAlsHalfStep(a);
      alsHalfStepReference(a, ref, 0, rows);
      const cut = Math.floor(rows / 2);
      wasmBackend.kernels.alsHalfStep!(a, got, 0, cut);
      wasmBackend.kernels.alsHalfStep!(a, got, cut, rows);
      let worst = 0;
      for (let r = 0; r < rows; r++) {
        let scale = 0;
        for (let k = 0; k < f; k++) scale = Math.max(scale, Math.abs(ref.data[r * f + k]));
        for (let k = 0; k < f; k++) {
          const err = Math.abs(got.data[r * f + k] - ref.data[r * f + k]) / Math.max(scale, 1e-6);
          worst = Math.max(worst, err);
        }
      }
      assert.ok(worst <= 1e-3, `${label}: worst relative error ${worst}`);
    }
  });

  test('ml-100k sgdEpoch (svd, svdpp, nmf) and bprEpoch (popularity, uniform table): two passes equal the reference', async () => {
    const { x, users } = await ml100k();
    const n = x.user.length, nu = users.rows, ni = users.cols, F = 10;
    const rnd = mulberry32(5);
    const order = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); const t = order[i]; order[i] = order[j]; order[j] = t; }
    const byUser = Int32Array.from(order).sort((p, q) => x.user[p] - x.user[q] || p - q);
    const init = (len: number, pos: boolean) => Float32Array.from({ length: len }, () => (pos ? rnd() : rnd() - 0.5) * 0.2);
    let mean = 0;
    for (const r of x.rating) mean += r;
    mean /= n;
    for (const algorithm of ['svd', 'svdpp', 'nmf'] as const) {
      const nmf = algorithm === 'nmf', svdpp = algorithm === 'svdpp';
      const a: SgdEpochArgs = {
        algorithm, factors: F, user: x.user, item: x.item, rating: x.rating, order: svdpp ? byUser : order, globalMean: mean, biased: !nmf,
        lr: { bu: 0.005, bi: 0.005, pu: 0.005, qi: 0.005, yj: 0.005 }, reg: { bu: 0.02, bi: 0.02, pu: 0.02, qi: 0.02, yj: 0.02 },
        bu: init(nu, false), bi: init(ni, false), pu: init(nu * F, nmf), qi: init(ni * F, nmf),
        yj: svdpp ? init(ni * F, false) : undefined, implicitItems: svdpp ? users : undefined,
      };
      const ref = cloneTyped(a), got = cloneTyped(a);
      const outR = allocateSgdEpoch(), outW = allocateSgdEpoch();
      for (let e = 0; e < 2; e++) {
        sgdEpochReference(ref, outR, 0, n);
        wasmBackend.kernels.sgdEpoch!(got, outW, 0, n);
      }
      sameArray(outW, outR, `${algorithm} out`);
      for (const k of ['bu', 'bi', 'pu', 'qi', 'yj'] as const) if (ref[k]) sameArray(got[k]!, ref[k]!, `${algorithm} ${k}`);
    }
    const D = F + 1;
    const entryUser = new Int32Array(users.indptr[nu]);
    for (let u = 0; u < nu; u++) entryUser.fill(u, users.indptr[u], users.indptr[u + 1]);
    const uniform = Float64Array.from({ length: ni }, (_, i) => (i + 1) / ni);
    for (const negatives of ['popularity', 'table'] as const) {
      const a: BprEpochArgs = {
        userItems: users, entryUser, factors: F, learningRate: 0.05, regularization: 0.01, verifyNegative: true, samples: n, rng: xoshiroState(7),
        userFactors: Float32Array.from({ length: nu * D }, (_, i) => (i % D === F ? 1 : (rnd() - 0.5) * 0.1)),
        itemFactors: Float32Array.from({ length: ni * D }, (_, i) => (i % D === F ? 0 : (rnd() - 0.5) * 0.1)),
        negatives, negativeCdf: negatives === 'table' ? uniform : undefined,
      };
      const ref = cloneTyped(a), got = cloneTyped(a);
      const outR = allocateBprEpoch(), outW = allocateBprEpoch();
      for (let e = 0; e < 2; e++) {
        bprEpochReference(ref, outR, 0, n);
        wasmBackend.kernels.bprEpoch!(got, outW, 0, n);
      }
      sameArray(got.rng, ref.rng, `bpr ${negatives} rng`);
      sameArray(outW, outR, `bpr ${negatives} out`);
      sameArray(got.userFactors, ref.userFactors, `bpr ${negatives} userFactors`);
      sameArray(got.itemFactors, ref.itemFactors, `bpr ${negatives} itemFactors`);
      assert.ok(outR[0] > 0 && outR[1] < 2 * n && Number.isFinite(outR[2]), `bpr ${negatives}: some correct steps, some not skipped, finite loss`);
    }
  });
}

test.run();
