/**
 * Benchmark cases and the runner. A kernel case builds its inputs once (seeded, lazily: only
 * when it is selected), then is timed on every available backend that implements its kernel;
 * a fit or job case runs once on the engine's choice (or the pinned backend), and its note
 * says which backend the engine picked for each kernel.
 *
 * Suites: `quick` (small and ML-100k-sized cases; < 2 min on a 2-core machine) and `full`
 * (quick + larger sizes + the synthetic 138k × 27k × 20M cases). Slow backends (js) time a
 * sample of the rows of large cases; the note says so, and estimatedFullSeconds scales the
 * time up by the work ratio (used only against the anchors, and flagged there).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { RunRecord } from '../src/engine/engine.js';
import { getEngine } from '../src/engine/processEngine.js';
import { getKernel, isKernelName, type KernelArgs, type KernelName } from '../src/kernels/contract.js';
import { loadBackend } from '../src/backends/registry.js';
import { gpujsOnGpu } from '../src/backends/gpujs/index.js';
import { alsLossFromRows, gramian, totalConfidence, type AlsHalfStepArgs } from '../src/kernels/alsHalfStep.js';
import { withPreparedSimilarity, type SparseSimilarityTopKArgs, type SimilarityMetric } from '../src/kernels/sparseSimilarityTopK.js';
import type { DenseScoreTopKArgs } from '../src/kernels/denseScoreTopK.js';
import type { SgdEpochArgs } from '../src/kernels/sgdEpoch.js';
import type { BprEpochArgs } from '../src/kernels/bprEpoch.js';
import type { GemmArgs } from '../src/kernels/gemm.js';
import { xoshiroState } from '../src/data/xoshiro128.js';
import { sharedFloat32, sharedInt32, type Csr, type Dense } from '../src/data/matrix.js';
import { allModels } from '../src/models/registry.js';
import { evaluate } from '../src/eval/evaluate.js';
import { precompute } from '../src/pipeline/precompute.js';
import { mulberry32, randomFloat32 } from './random.js';
import { maxRssMiB, measure, MiB, summarize, type BenchRecord } from './harness.js';
import { firstRows, LARGE, loadLarge, loadMl100k, ml100kPath, syntheticData, type BenchData } from './data.js';
import { EASE } from '../src/models/ease.js';
import { annotate } from './anchors.js';
import type { BenchCase, Suite } from './benchCase.js';
import { mainJobCases } from './mainJob.js';
import { trainStepCase } from './trainStep.js';

export type { Suite, Prepared, BenchCase } from './benchCase.js';

/**
 * The js reference runs < 1 GFLOP/s, and so does gpu.js in its CPU fallback modes: large cases time a
 * sample of their rows (the record says so and extrapolates).
 */
const isSlow = (b: string): boolean => b === 'js' || (b === 'gpujs' && !gpujsOnGpu());
const QUICK: Suite[] = ['quick', 'full'];
const FULL: Suite[] = ['full'];

function dense(rows: number, cols: number, seed: number): Dense {
  return { rows, cols, data: randomFloat32(rows * cols, seed) };
}

function run<K extends KernelName>(kernel: K, args: KernelArgs<K>, backend: string): () => Promise<unknown> {
  return () => getEngine().run(kernel, args, { backend });
}

// ---------------------------------------------------------------------------------------------
// denseScoreTopK

function denseScoreCase(o: { rows: number; keys?: number; cols: number; k: number; sampleRows: number; suites: Suite[]; anchor?: string; exclusions?: number; size?: string }): BenchCase {
  const keyRows = o.keys ?? o.rows;
  const size = o.size ?? (o.keys ? `${o.rows}x${keyRows}x${o.cols} k=${o.k}` : `${o.rows}x${o.cols}`);
  let built: { queries: Dense; keys: Dense; exclude?: Csr } | null = null;
  const build = () => {
    if (built) return built;
    const keys = dense(keyRows, o.cols, 7);
    const queries = o.keys ? dense(o.rows, o.cols, 11) : keys;
    let exclude: Csr | undefined;
    if (o.exclusions) {
      // ~exclusions seen items per user (ML-20M averages 144), drawn uniformly; sorted per row
      const rnd = mulberry32(5);
      const indptr = sharedInt32(o.rows + 1);
      for (let r = 0; r < o.rows; r++) indptr[r + 1] = indptr[r] + Math.max(1, Math.round(o.exclusions * 2 * rnd()));
      const indices = sharedInt32(indptr[o.rows]);
      for (let r = 0; r < o.rows; r++) {
        const row = indices.subarray(indptr[r], indptr[r + 1]);
        for (let p = 0; p < row.length; p++) row[p] = Math.floor(rnd() * keyRows);
        row.sort();
      }
      exclude = { rows: o.rows, cols: keyRows, indptr, indices, data: sharedFloat32(indices.length).fill(1) };
    }
    built = { queries, keys, exclude };
    return built;
  };
  return {
    kernel: 'denseScoreTopK', kind: 'kernel', size, suites: o.suites, anchor: o.anchor,
    async prepare(backend) {
      const { queries, keys, exclude } = build();
      const full: DenseScoreTopKArgs = { queries, keys, k: o.k, metric: 'dot', ...(exclude ? { exclude } : {}) };
      const k = getKernel('denseScoreTopK');
      const fullFlops = k.flops!(full);
      const extra = exclude ? `, ${exclude.indices.length} seen items filtered` : '';
      if (isSlow(backend) && o.sampleRows < o.rows) {
        const n = o.sampleRows;
        const q: Dense = { rows: n, cols: o.cols, data: queries.data.subarray(0, n * o.cols) };
        const ex: Csr | undefined = exclude && { rows: n, cols: keyRows, indptr: exclude.indptr.subarray(0, n + 1), indices: exclude.indices, data: exclude.data };
        const args: DenseScoreTopKArgs = { queries: q, keys, k: o.k, metric: 'dot', ...(ex ? { exclude: ex } : {}) };
        const flops = k.flops!(args);
        return { run: run('denseScoreTopK', args, backend), flops, fullScale: fullFlops / flops, note: `${n} of ${o.rows} query rows timed${extra}` };
      }
      return { run: run('denseScoreTopK', full, backend), flops: fullFlops, ...(extra ? { note: extra.slice(2) } : {}) };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// sparseSimilarityTopK

function similarityCase(o: {
  size: string; suites: Suite[]; anchor?: string; data: () => Promise<BenchData>; by: 'item' | 'user';
  metric: SimilarityMetric; k: number | 'all'; sampleRows?: number; maxRepeats?: number;
}): BenchCase {
  return {
    kernel: 'sparseSimilarityTopK', kind: 'kernel', size: o.size, suites: o.suites, anchor: o.anchor, maxRepeats: o.maxRepeats,
    async prepare(backend) {
      const d = await o.data();
      const matrix = o.by === 'item' ? d.itemUsers : d.userItems;
      const args: SparseSimilarityTopKArgs = { matrix, metric: o.metric, k: o.k };
      const kernel = getKernel('sparseSimilarityTopK');
      const fullFlops = kernel.flops!(args);
      const what = `${o.by}-${o.by} ${o.metric}, k=${o.k}; ${d.source}`;
      if (isSlow(backend) && o.sampleRows && o.sampleRows < matrix.rows) {
        // the rows of one call cannot be cut without changing the problem: call the backend
        // directly on a row range of the full problem (transpose prepared once, untimed)
        const prepared = withPreparedSimilarity(args);
        const impl = await loadBackend(backend);
        if (impl instanceof Error) throw impl;
        const fn = impl.kernels.sparseSimilarityTopK!;
        const n = o.sampleRows;
        // flops of the sampled rows: Σ over their stored columns c of df(c), ×2
        const df = new Float64Array(matrix.cols);
        for (let p = 0, t = matrix.indptr[matrix.rows]; p < t; p++) df[matrix.indices[p]]++;
        let s = 0;
        for (let p = 0, t = matrix.indptr[n]; p < t; p++) s += df[matrix.indices[p]];
        const flops = 2 * s;
        return {
          run: async () => { const out = kernel.allocate(prepared); await fn(prepared, out, 0, n, { threads: 1 }); },
          flops, fullScale: fullFlops / flops, threads: 1,
          note: `${n} of ${matrix.rows} rows timed, one thread, backend called directly; ${what}`,
        };
      }
      return { run: run('sparseSimilarityTopK', args, backend), flops: fullFlops, note: what };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// alsHalfStep

function alsCase(o: {
  size: string; suites: Suite[]; anchor?: string; data: () => Promise<BenchData>; factors: number;
  /** time a whole iteration (users then items) instead of the users half */
  iteration?: boolean; sampleRows?: number; maxRepeats?: number;
  /** the users half also returns the objective's row terms (alsHalfStep loss), as a fit with a loss callback runs it */
  loss?: boolean;
}): BenchCase {
  return {
    kernel: 'alsHalfStep', kind: 'kernel', size: o.size, suites: o.suites, anchor: o.anchor, maxRepeats: o.maxRepeats,
    async prepare(backend) {
      const d = await o.data();
      const f = o.factors;
      const X = dense(d.userItems.rows, f, 3), Y = dense(d.itemUsers.rows, f, 4);
      for (const m of [X, Y]) for (let i = 0; i < m.data.length; i++) m.data[i] *= 0.01;
      const kernel = getKernel('alsHalfStep');
      const half = (matrix: Csr, other: Dense, gram: Float64Array): AlsHalfStepArgs =>
        ({ mode: 'implicit', solver: 'cg', cgSteps: 3, matrix, other, gram, regularization: 0.01 });
      const what = `implicit, CG 3 steps, ${f} factors, confidence = rating; ${d.source}`;
      const sample = isSlow(backend) && o.sampleRows !== undefined;
      const users = sample ? firstRows(d.userItems, o.sampleRows!) : d.userItems;
      const items = sample ? firstRows(d.itemUsers, Math.max(1, Math.round(o.sampleRows! * d.itemUsers.rows / d.userItems.rows))) : d.itemUsers;
      const gy = gramian(Y), gx = gramian(X);
      const fullFlops = kernel.flops!(half(d.userItems, Y, gy)) + (o.iteration ? kernel.flops!(half(d.itemUsers, X, gx)) : 0);
      const flops = kernel.flops!(half(users, Y, gy)) + (o.iteration ? kernel.flops!(half(items, X, gx)) : 0);
      const engine = getEngine();
      const confidence = o.loss ? totalConfidence(users) : 0;
      const fn = o.iteration
        ? async () => {
          // one ALS iteration as the model runs it: both sides, the Gram of the fixed side left to the kernel
          // (the native addon computes it in C++; the pool once per call)
          const xs = await engine.run('alsHalfStep', { ...half(users, Y, gy), gram: undefined, initial: X, loss: o.loss === true }, { backend });
          if (o.loss) alsLossFromRows({ mode: 'implicit', matrix: users, other: Y, regularization: 0.01 }, xs.rowLoss!, confidence);
          await engine.run('alsHalfStep', { ...half(items, sample ? X : xs, gx), gram: undefined }, { backend });
        }
        : () => engine.run('alsHalfStep', half(users, Y, gy), { backend });
      const note = `${o.iteration ? 'one iteration (both halves, Gram included)' : 'users half step'}${o.loss ? ', with the training loss from the users half (alsHalfStep loss)' : ''}; ${what}${sample ? `; sample: ${users.rows} of ${d.userItems.rows} users${o.iteration ? ` and ${items.rows} of ${d.itemUsers.rows} items` : ''} timed` : ''}`;
      return { run: fn, flops, ...(sample ? { fullScale: fullFlops / flops } : {}), note };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// sgdEpoch, bprEpoch (mutating: parameters reset before every call, untimed)

function sgdCase(o: {
  size: string; suites: Suite[]; data: () => Promise<BenchData>; factors: number;
  /** Hogwild (sgdEpoch parallel) over `threads` (default: the engine's) */
  parallel?: boolean; threads?: number;
  /** slow backends time the first this many examples of the shuffled order */
  sampleExamples?: number; maxRepeats?: number;
}): BenchCase {
  return {
    kernel: 'sgdEpoch', kind: 'kernel', size: o.size, suites: o.suites, maxRepeats: o.maxRepeats,
    async prepare(backend) {
      const d = await o.data();
      const x = d.x, n = x.user.length, F = o.factors;
      const rnd = mulberry32(9);
      const order = sharedInt32(n);
      for (let i = 0; i < n; i++) order[i] = i;
      for (let i = n - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); const t = order[i]; order[i] = order[j]; order[j] = t; }
      let mean = 0;
      for (let i = 0; i < n; i++) mean += x.rating[i];
      mean /= n;
      const pu0 = randomFloat32(x.users.size * F, 12), qi0 = randomFloat32(x.items.size * F, 13);
      for (const a of [pu0, qi0]) for (let i = 0; i < a.length; i++) a[i] *= 0.1;
      const args: SgdEpochArgs = {
        algorithm: 'svd', factors: F, user: x.user, item: x.item, rating: x.rating, order, globalMean: mean, biased: true,
        lr: { bu: 0.005, bi: 0.005, pu: 0.005, qi: 0.005, yj: 0.005 }, reg: { bu: 0.02, bi: 0.02, pu: 0.02, qi: 0.02, yj: 0.02 },
        bu: sharedFloat32(x.users.size), bi: sharedFloat32(x.items.size), pu: sharedFloat32(pu0.length), qi: sharedFloat32(qi0.length),
      };
      const sample = isSlow(backend) && o.sampleExamples !== undefined && o.sampleExamples < n;
      if (sample) args.order = order.subarray(0, o.sampleExamples);
      if (o.parallel) args.parallel = true;
      const steps = args.order.length;
      const engine = getEngine();
      return {
        run: () => engine.run('sgdEpoch', args, { backend, ...(o.threads ? { threads: o.threads } : {}) }),
        before: () => { args.bu.fill(0); args.bi.fill(0); args.pu.set(pu0); args.qi.set(qi0); },
        flops: getKernel('sgdEpoch').flops!(args), units: { count: steps, unit: 'interactions/s' },
        ...(sample ? { fullScale: n / steps } : {}),
        ...(o.threads ? { threads: o.threads } : {}),
        note: `svd (biased), ${F} factors, one epoch in shuffled order${o.parallel ? ', Hogwild (parallel)' : ''}; ${d.source}${sample ? `; ${steps} of ${n} examples timed` : ''}`,
      };
    },
  };
}

function bprCase(o: {
  size: string; suites: Suite[]; data: () => Promise<BenchData>; factors: number; anchor?: string;
  /** Hogwild (bprEpoch parallel) over `threads` (default: the engine's) */
  parallel?: boolean; threads?: number;
  /** slow backends time this many steps */
  sampleSteps?: number; maxRepeats?: number;
}): BenchCase {
  return {
    kernel: 'bprEpoch', kind: 'kernel', size: o.size, suites: o.suites, anchor: o.anchor, maxRepeats: o.maxRepeats,
    async prepare(backend) {
      const d = await o.data();
      const m = d.userItems, F = o.factors, D = F + 1, nz = m.indptr[m.rows];
      const entryUser = sharedInt32(nz);
      for (let u = 0; u < m.rows; u++) for (let p = m.indptr[u]; p < m.indptr[u + 1]; p++) entryUser[p] = u;
      const u0 = randomFloat32(m.rows * D, 14), i0 = randomFloat32(m.cols * D, 15);
      for (let r = 0; r < m.rows; r++) { for (let c = 0; c < F; c++) u0[r * D + c] *= 0.01; u0[r * D + F] = 1; }
      for (let r = 0; r < m.cols; r++) { for (let c = 0; c < F; c++) i0[r * D + c] *= 0.01; i0[r * D + F] = 0; }
      const args: BprEpochArgs = {
        userItems: m, entryUser, userFactors: sharedFloat32(u0.length), itemFactors: sharedFloat32(i0.length), factors: F,
        learningRate: 0.01, regularization: 0.01, verifyNegative: true, negatives: 'popularity', samples: nz, rng: xoshiroState(42),
        ...(o.parallel ? { parallel: true } : {}),
      };
      const sample = isSlow(backend) && o.sampleSteps !== undefined && o.sampleSteps < nz;
      if (sample) args.samples = o.sampleSteps!;
      return {
        run: o.threads ? () => getEngine().run('bprEpoch', args, { backend, threads: o.threads }) : run('bprEpoch', args, backend),
        before: () => { args.userFactors.set(u0); args.itemFactors.set(i0); args.rng.set(xoshiroState(42)); },
        flops: getKernel('bprEpoch').flops!(args), units: { count: args.samples, unit: 'samples/s' },
        ...(sample ? { fullScale: nz / args.samples } : {}),
        ...(o.threads ? { threads: o.threads } : {}),
        note: `${F} factors, nnz samples, popularity negatives, verified${o.parallel ? ', Hogwild (parallel)' : ''}; ${d.source}${sample ? `; ${args.samples} of ${nz} steps timed` : ''}`,
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// end to end: model fits, cross-validation, the precompute job

function fitCase(o: { model: string; variant?: string; params: Record<string, number | boolean | string>; epochs: number; size: string; suites: Suite[]; data: () => Promise<BenchData>; maxRepeats?: number }): BenchCase {
  return {
    // a variant names a case on its own (`--kernel 'fit:sasrec epoch-ml1m'`); `--kernel fit:sasrec` still selects it
    kernel: `fit:${o.model}${o.variant ? ` ${o.variant}` : ''}`, kind: 'fit', size: o.size, suites: o.suites, maxRepeats: o.maxRepeats,
    async prepare(backend) {
      const d = await o.data();
      const n = d.x.user.length;
      return {
        run: async () => { await allModels[o.model](o.params).fit(d.x, { backend }); },
        units: { count: n * o.epochs, unit: 'interactions/s' },
        note: `${Object.entries(o.params).map(([k, v]) => `${k}=${v}`).join(', ')}; throughput = epochs × ratings / s; ${d.source}`,
      };
    },
  };
}

/** Surprise's cross_validate protocol for one of its models at their default parameters (SVD, SVD++: 20 epochs). */
function crossValidateCase(o: { model: 'svd' | 'svdpp'; size: string; suites: Suite[]; data: () => Promise<BenchData> }): BenchCase {
  const label = o.model === 'svd' ? 'SVD' : 'SVD++';
  const factors = o.model === 'svd' ? 100 : 20;
  return {
    kernel: `fit:${o.model} 5-fold`, kind: 'fit', size: o.size, suites: o.suites, anchor: `${o.model}-cv`, maxRepeats: 1,
    async prepare(backend) {
      const d = await o.data();
      const n = d.x.user.length;
      return {
        run: async () => {
          await evaluate({ backend, data: d.x, modelName: o.model, protocol: { kind: 'kfold', folds: 5 }, seed: 1, metrics: ['rmse', 'mae'], models: allModels });
        },
        // 5 fits on 4/5 of the ratings, 20 epochs each
        units: { count: n * 0.8 * 5 * 20, unit: 'interactions/s' },
        note: `Surprise's cross_validate protocol: ${label} defaults (${factors} factors, 20 epochs), 5 folds, fit + RMSE/MAE; ${d.source}`,
      };
    },
  };
}

function precomputeCase(o: { size: string; suites: Suite[]; data: () => Promise<BenchData>; maxRepeats?: number }): BenchCase {
  const params = { factors: 64, iterations: 5 };
  return {
    kernel: 'job:precompute', kind: 'job', size: o.size, suites: o.suites, maxRepeats: o.maxRepeats,
    async prepare(backend) {
      const d = await o.data();
      return {
        run: async () => {
          const job = precompute({ input: d.x, model: 'als', params, k: 10, similarItems: 10, backend });
          let users = 0;
          await Promise.all([
            (async () => { for await (const b of job.blocks) users += b.users.length; })(),
            (async () => { for await (const b of job.similarBlocks!) void b; })(),
          ]);
          await job.summary;
          return users;
        },
        units: { count: d.x.users.size, unit: 'users/s' },
        note: `als factors=${params.factors} iterations=${params.iterations} fit, top-10 for every user (seen filtered) + 10 similar items per item, in memory; ${d.source}`,
      };
    },
  };
}

/**
 * A neural model's fit (issue 19): `epochs` epochs on the data; seconds per epoch = the median ÷
 * epochs (the note says so, and which backend ran each kernel). two-tower gets ML-100k's u.item
 * and u.user as side information when they are beside u.data.
 */
function epochCase(o: { model: string; params: Record<string, number | boolean | string>; epochs: number; size: string; suites: Suite[]; data: () => Promise<BenchData>; sideInfo?: boolean; maxRepeats?: number }): BenchCase {
  return {
    kernel: `fit:${o.model}`, kind: 'fit', size: o.size, suites: o.suites, maxRepeats: o.maxRepeats,
    async prepare(backend) {
      const d = await o.data();
      const dir = path.dirname(ml100kPath());
      const side = o.sideInfo && existsSync(path.join(dir, 'u.item.gz')) && existsSync(path.join(dir, 'u.user.gz'))
        ? { items: path.join(dir, 'u.item.gz'), users: path.join(dir, 'u.user.gz') } : null;
      const params = { ...o.params, epochs: o.epochs, ...(side ?? {}) };
      return {
        run: async () => { await allModels[o.model](params).fit(d.x, { backend }); },
        units: { count: d.x.user.length * o.epochs, unit: 'interactions/s' },
        note: `${Object.entries(o.params).map(([k, v]) => `${k}=${v}`).join(', ')}${Object.keys(o.params).length ? ', ' : ''}${o.epochs} epoch(s): seconds per epoch = median ÷ ${o.epochs}${o.sideInfo ? (side ? '; side info u.item, u.user' : '; no side info (u.item/u.user not found)') : ''}; ${d.source}`,
      };
    },
  };
}

/**
 * EASE's fit on a synthetic catalogue of `items` items: the Gram matrix and one spdSolve (inverse)
 * of items × items. Refused (reported, not run) when only the js reference implements spdSolve and
 * the solve would take more than ~10 minutes there (n³ at ~0.3 GFLOP/s), and when the memory
 * estimate exceeds the machine's limit (the model's own check).
 */
function easeCase(o: { users: number; items: number; interactions: number; suites: Suite[] }): BenchCase {
  let d: BenchData | null = null;
  return {
    kernel: 'fit:ease', kind: 'fit', size: `synthetic ${o.users}x${o.items}x${o.interactions}`, suites: o.suites, maxRepeats: 1,
    async prepare(backend) {
      const engine = getEngine();
      const flops = getKernel('spdSolve').flops!({ a: { rows: o.items, cols: o.items, data: new Float32Array(0) } });
      const solvers = (await engine.candidates('spdSolve', flops)).map((b) => b.name);
      const pinned = backend !== 'auto' ? backend : null;
      const onlyJs = pinned ? pinned === 'js' || !solvers.includes(pinned) : solvers.every((b) => b === 'js');
      if (onlyJs && flops / 0.3e9 > 600) throw new Error(`not run: spdSolve of ${o.items} items runs on the js reference here (backends with spdSolve: ${solvers.join(', ')}), about ${(flops / 0.3e9 / 3600).toFixed(1)} h at 0.3 GFLOP/s`);
      new EASE().checkCatalogueFits(o.items);
      d ??= syntheticData(o.users, o.items, o.interactions, 27);
      const data = d;
      return {
        run: async () => { await new EASE().fit(data.x, { backend }); },
        flops,
        note: `λ = 500, binary; Gram from sparse rows + spdSolve (inverse) of ${o.items}²; memory estimate ${(16 * o.items * o.items / 2 ** 30).toFixed(2)} GiB (16 bytes × items²); ${data.source}`,
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------

/**
 * gemm at the shapes the neural models use (issue 18): a dense layer's forward (M×K·K×N), the
 * output layer over a catalogue, and attention scores (batched QKᵀ). Slow backends time the
 * first `sampleRows` rows of C (the kernel splits by rows; the rate is the same).
 *
 * Each shape is timed twice, labelled in its size: `fresh out` lets the engine allocate a new
 * output per call (as a one-off `engine.run` does: for the output layer that is 106 MiB of new
 * pages, faulted in and zeroed by the OS while the kernel writes them), and `reused out` writes
 * into one caller-provided output (`engine.run(kernel, args, { out })`, what the nn Runtime's
 * workspace does from one training step to the next). The FLOP count is the same real one.
 */
function gemmCase(o: { m: number; n: number; k: number; batch?: number; transB?: 'N' | 'T'; sampleRows: number; suites: Suite[]; size: string; output: 'fresh' | 'reused'; anchor?: string }): BenchCase {
  const batch = o.batch ?? 1;
  let built: GemmArgs | null = null;
  const build = (): GemmArgs => (built ??= {
    m: o.m, n: o.n, k: o.k, batch, transB: o.transB,
    a: dense(batch * o.m, o.k, 61).data, b: dense(batch * o.k, o.n, 62).data,
  });
  const timed = (args: GemmArgs, backend: string): (() => Promise<unknown>) => {
    if (o.output === 'fresh') return run('gemm', args, backend);
    const out = getKernel('gemm').allocate(args);
    return () => getEngine().run('gemm', args, { backend, out });
  };
  const outNote = o.output === 'fresh' ? 'a fresh output per call' : 'one caller-provided output reused by every call ({ out })';
  return {
    kernel: 'gemm', kind: 'kernel', size: `${o.size}, ${o.output} out`, suites: o.suites, anchor: o.anchor,
    async prepare(backend) {
      const full = build();
      const k = getKernel('gemm');
      const fullFlops = k.flops!(full);
      if (isSlow(backend) && o.sampleRows < batch * o.m) {
        // the first sampleRows rows of the first batch entry
        const n = Math.min(o.sampleRows, o.m);
        const args: GemmArgs = { ...full, m: n, batch: 1, strideA: undefined, strideB: undefined };
        const flops = k.flops!(args);
        return { run: timed(args, backend), flops, fullScale: fullFlops / flops, note: `${n} of ${batch * o.m} rows of C timed; ${outNote}` };
      }
      return { run: timed(full, backend), flops: fullFlops, note: outNote };
    },
  };
}

const ml = loadMl100k;
const small = (() => { let d: BenchData | null = null; return async () => (d ??= syntheticData(1000, 2000, 50_000, 31)); })();
/** MovieLens-1M's shape (6,040 users × 3,706 items × 1M interactions), synthetic: the SASRec paper's data set size */
const ml1mShaped = (() => { let d: BenchData | null = null; return async () => (d ??= syntheticData(6040, 3706, 1_000_000, 61)); })();

/** Every case of both suites. */
export function allCases(): BenchCase[] {
  const L = '138kx27kx20M';
  return [
    denseScoreCase({ rows: 2000, cols: 64, k: 20, sampleRows: 2000, suites: QUICK }),
    denseScoreCase({ rows: 20000, cols: 64, k: 20, sampleRows: 500, suites: QUICK, anchor: 'dense-20k' }),
    denseScoreCase({ rows: 10000, keys: 27000, cols: 64, k: 10, sampleRows: 250, exclusions: 144, suites: QUICK, anchor: 'recommend-10k', size: '10000 users x 27000 items x64 k=10' }),
    denseScoreCase({ rows: 100000, cols: 128, k: 20, sampleRows: 500, suites: FULL }),

    similarityCase({ size: '2000x1000x50k item cosine', suites: QUICK, data: small, by: 'item', metric: 'cosine', k: 20 }),
    similarityCase({ size: 'ml100k item cosine', suites: QUICK, data: ml, by: 'item', metric: 'cosine', k: 20 }),
    similarityCase({ size: 'ml100k user msd all', suites: QUICK, data: ml, by: 'user', metric: 'msd', k: 'all', anchor: 'ml100k-sim' }),
    similarityCase({ size: 'ml100k user pearson all', suites: QUICK, data: ml, by: 'user', metric: 'pearson', k: 'all', anchor: 'ml100k-sim' }),
    similarityCase({ size: 'ml100k user cosine-common all', suites: FULL, data: ml, by: 'user', metric: 'cosine-common', k: 'all', anchor: 'ml100k-sim' }),
    similarityCase({ size: `${L} item cosine`, suites: FULL, data: loadLarge, by: 'item', metric: 'cosine', k: 20, sampleRows: 300, anchor: 'sim-20m', maxRepeats: 3 }),

    alsCase({ size: '1000x2000x50k f64', suites: QUICK, data: small, factors: 64 }),
    alsCase({ size: 'ml100k f64', suites: QUICK, data: ml, factors: 64 }),
    alsCase({ size: `${L} f64 iteration`, suites: FULL, data: loadLarge, factors: 64, iteration: true, sampleRows: 5000, anchor: 'als-20m', maxRepeats: 3 }),
    alsCase({ size: `${L} f64 iteration with loss`, suites: FULL, data: loadLarge, factors: 64, iteration: true, loss: true, sampleRows: 5000, maxRepeats: 3 }),

    sgdCase({ size: '1000x2000x50k f100', suites: QUICK, data: small, factors: 100 }),
    sgdCase({ size: 'ml100k f100', suites: QUICK, data: ml, factors: 100 }),
    bprCase({ size: '1000x2000x50k f64', suites: QUICK, data: small, factors: 64 }),
    bprCase({ size: 'ml100k f64', suites: QUICK, data: ml, factors: 64 }),
    bprCase({ size: `${L} f64 parallel`, suites: FULL, data: loadLarge, factors: 64, parallel: true, sampleSteps: 500_000, anchor: 'bpr-20m', maxRepeats: 3 }),
    bprCase({ size: `${L} f64 sequential`, suites: FULL, data: loadLarge, factors: 64, sampleSteps: 500_000, maxRepeats: 1 }),
    // Hogwild scaling: the same parallel epoch on one thread and on all of them
    sgdCase({ size: `${L} f100 parallel 1 thread`, suites: FULL, data: loadLarge, factors: 100, parallel: true, threads: 1, sampleExamples: 500_000, maxRepeats: 3 }),
    sgdCase({ size: `${L} f100 parallel`, suites: FULL, data: loadLarge, factors: 100, parallel: true, sampleExamples: 500_000, maxRepeats: 3 }),
    sgdCase({ size: `${L} f100 sequential`, suites: FULL, data: loadLarge, factors: 100, sampleExamples: 500_000, maxRepeats: 1 }),
    // Hogwild against the sequential epoch at ML-1M's shape (quick enough for every backend): sequential,
    // the parallel kernel on one thread, on all of them (wasm: one task per pool worker on a shared memory)
    ...([false, 1, undefined] as const).flatMap((threads) => {
      const parallel = threads !== false;
      const label = !parallel ? 'sequential' : threads === 1 ? 'parallel 1 thread' : 'parallel';
      const t = threads === false ? {} : threads === undefined ? { parallel } : { parallel, threads };
      return [
        bprCase({ size: `ml1m-shaped f64 ${label}`, suites: FULL, data: ml1mShaped, factors: 64, sampleSteps: 200_000, maxRepeats: 5, ...t }),
        sgdCase({ size: `ml1m-shaped f100 ${label}`, suites: FULL, data: ml1mShaped, factors: 100, sampleExamples: 200_000, maxRepeats: 5, ...t }),
      ];
    }),

    ...([
      { m: 4096, n: 256, k: 256, sampleRows: 64, suites: QUICK, size: '4096x256·256x256', anchor: 'gemm-4096x256' },
      { m: 8192, n: 3400, k: 64, sampleRows: 32, suites: FULL, size: '8192x64·64x3400 output layer', anchor: 'gemm-output-8192x3400' },
      { m: 200, n: 200, k: 64, batch: 200, transB: 'T' as const, sampleRows: 100, suites: QUICK, size: '200 x (200x64·(200x64)ᵀ) attention', anchor: 'gemm-attention-200' },
    ]).flatMap((shape) => (['fresh', 'reused'] as const).map((output) => gemmCase({ ...shape, output }))),
    trainStepCase({ sequences: 16, length: 50, dim: 64, suites: QUICK }),
    trainStepCase({ sequences: 128, length: 200, dim: 64, suites: FULL, maxRepeats: 3 }),

    fitCase({ model: 'svd', params: { factors: 100, epochs: 5 }, epochs: 5, size: 'ml100k', suites: QUICK, data: ml }),
    fitCase({ model: 'als', params: { factors: 64, iterations: 5 }, epochs: 5, size: 'ml100k', suites: QUICK, data: ml }),
    fitCase({ model: 'als', params: { factors: 64, iterations: 15 }, epochs: 15, size: 'ml100k 15 it', suites: FULL, data: ml }),
    fitCase({ model: 'bpr', params: { factors: 64, iterations: 20 }, epochs: 20, size: 'ml100k', suites: FULL, data: ml, maxRepeats: 3 }),
    crossValidateCase({ model: 'svd', size: 'ml100k', suites: QUICK, data: ml }),
    crossValidateCase({ model: 'svdpp', size: 'ml100k', suites: FULL, data: ml }),
    precomputeCase({ size: 'ml100k', suites: QUICK, data: ml, maxRepeats: 3 }),

    ...mainJobCases(),
    // the neural models (issue 19): one training epoch (no validation pass), so seconds = seconds per epoch
    fitCase({ model: 'sasrec', variant: 'epoch-ml100k', params: { epochs: 1, patience: 0, loss: 'ce' }, epochs: 1, size: 'ml100k ce 1 epoch', suites: FULL, data: ml, maxRepeats: 3 }),
    fitCase({ model: 'sasrec', variant: 'epoch-ml100k', params: { epochs: 1, patience: 0, loss: 'bce' }, epochs: 1, size: 'ml100k bce 1 epoch', suites: FULL, data: ml, maxRepeats: 3 }),
    fitCase({ model: 'neumf', variant: 'epoch-ml100k', params: { epochs: 1, patience: 0 }, epochs: 1, size: 'ml100k 1 epoch', suites: FULL, data: ml, maxRepeats: 3 }),
    fitCase({ model: 'sasrec', variant: 'epoch-ml1m', params: { epochs: 1, patience: 0, loss: 'ce' }, epochs: 1, size: '6040x3706x1M ce 1 epoch', suites: FULL, data: ml1mShaped, maxRepeats: 1 }),
    fitCase({ model: 'sasrec', variant: 'epoch-ml1m', params: { epochs: 1, patience: 0, loss: 'bce' }, epochs: 1, size: '6040x3706x1M bce 1 epoch', suites: FULL, data: ml1mShaped, maxRepeats: 1 }),
    // issue 19: EASE, Mult-VAE, two-tower
    fitCase({ model: 'ease', params: { lambda: 500 }, epochs: 1, size: 'ml100k', suites: FULL, data: ml, maxRepeats: 1 }),
    easeCase({ users: 20_000, items: 3000, interactions: 500_000, suites: FULL }),
    easeCase({ ...LARGE, suites: FULL }),
    epochCase({ model: 'multvae', params: { batch_size: 100 }, epochs: 2, size: 'ml100k', suites: QUICK, data: ml, maxRepeats: 3 }),
    epochCase({ model: 'multvae', params: {}, epochs: 2, size: 'ml100k batch 500', suites: FULL, data: ml, maxRepeats: 3 }),
    epochCase({ model: 'two-tower', params: {}, epochs: 1, size: 'ml100k', suites: QUICK, data: ml, sideInfo: true, maxRepeats: 3 }),
  ];
}

/** `--size RxC`: every kernel at that shape (dense: R rows × C factors; sparse: R rows × C columns, ~5% dense, at most 2M entries). */
export function customCases(size: [number, number]): BenchCase[] {
  const [R, C] = size;
  const nnz = Math.max(1, Math.min(2_000_000, Math.round(R * C * 0.05)));
  const s = `${R}x${C}`;
  const d = (() => { let x: BenchData | null = null; return async () => (x ??= syntheticData(R, C, Math.min(nnz, R * C), 77)); })();
  return [
    denseScoreCase({ rows: R, cols: C, k: 20, sampleRows: Math.min(R, 2000), suites: QUICK }),
    similarityCase({ size: `${s}x${nnz} user cosine`, suites: QUICK, data: d, by: 'user', metric: 'cosine', k: 20 }),
    alsCase({ size: `${s}x${nnz} f64`, suites: QUICK, data: d, factors: 64 }),
    sgdCase({ size: `${s}x${nnz} f100`, suites: QUICK, data: d, factors: 100 }),
    bprCase({ size: `${s}x${nnz} f64`, suites: QUICK, data: d, factors: 64 }),
  ];
}

export function suiteCases(suite: Suite, size?: [number, number]): BenchCase[] {
  return size ? customCases(size) : allCases().filter((c) => c.suites.includes(suite));
}

export interface RunBenchOptions {
  suite: Suite;
  kernel?: string;
  backend?: string;
  size?: [number, number];
  repeats?: number;
  onRecord?: (r: BenchRecord) => void;
  /** a case failed on a backend: reported and skipped (default: rethrow) */
  onError?: (c: BenchCase, backend: string, e: unknown) => void;
}

function matchesKernel(c: BenchCase, k: string | undefined): boolean {
  if (!k) return true;
  // 'read' selects read:csv, read:csv.gz, read:parquet (likewise 'cli', 'csr')
  return c.kernel === k || c.kernel.startsWith(`${k} `) || c.kernel.startsWith(`${k}:`) || (k === 'fit' && c.kind === 'fit') || (k === 'job' && c.kind === 'job');
}

export async function runBench(o: RunBenchOptions): Promise<BenchRecord[]> {
  const engine = getEngine();
  const records: BenchRecord[] = [];
  const repeats = o.repeats ?? (o.suite === 'quick' ? 3 : 5);
  const pinned = o.backend && o.backend !== 'auto' ? o.backend : undefined;
  for (const c of suiteCases(o.suite, o.size)) {
    if (!matchesKernel(c, o.kernel)) continue;
    const backends = c.kind !== 'kernel'
      ? [pinned ?? 'auto']
      : (isKernelName(c.kernel) ? (pinned ? await engine.resolveBackends(c.kernel, 0, pinned) : await engine.candidates(c.kernel, 0)) : []).map((b) => b.name);
    for (const b of backends) {
      try {
        const p = await c.prepare(b);
        const slow = c.kind === 'kernel' ? isSlow(b) : false;
        const reps = Math.max(1, Math.min(repeats, c.maxRepeats ?? Infinity, slow && p.fullScale ? 2 : Infinity));
        const used = new Map<string, Set<string>>();
        const stop = engine.observe((r: RunRecord) => { const s = used.get(r.kernel) ?? new Set(); s.add(r.backend); used.set(r.kernel, s); });
        let m;
        try {
          m = await measure(p.run, { repeats: reps, warmup: c.kind === 'kernel' && !slow && c.maxRepeats === undefined ? 1 : 0, before: p.before });
        } finally {
          stop();
        }
        const s = summarize(m.times);
        const notes = [p.note];
        if (c.kind !== 'kernel' && used.size) notes.push(`engine used ${[...used].map(([k, v]) => `${k}→${[...v].join('/')}`).join(', ')}`);
        const rec: BenchRecord = {
          kernel: c.kernel, backend: b, size: c.size, threads: p.threads ?? engine.threads, ...s, medianCpuSeconds: summarize(m.cpuTimes).medianSeconds, repeats: m.times.length, kind: c.kind,
          ...(p.flops ? { gflops: p.flops / s.medianSeconds / 1e9 } : {}),
          ...(p.units ? { throughput: p.units.count / s.medianSeconds, throughputUnit: p.units.unit } : p.flops ? { throughput: p.flops / s.medianSeconds / 1e9, throughputUnit: 'GFLOP/s' } : {}),
          peakRssMiB: p.childPeakRssMiB?.() ?? Math.round(m.peakRssBytes / MiB), maxRssMiB: Math.round(maxRssMiB()),
          ...(p.fullScale ? { estimatedFullSeconds: s.medianSeconds * p.fullScale } : {}),
          ...(c.anchor ? { anchor: c.anchor } : {}),
          ...(notes.filter(Boolean).length ? { note: notes.filter(Boolean).join('; ') } : {}),
        };
        records.push(rec);
        o.onRecord?.(rec);
      } catch (e) {
        if (!o.onError) throw e;
        o.onError(c, b, e);
      }
    }
  }
  return annotate(records);
}
