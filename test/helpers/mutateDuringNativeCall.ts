/**
 * Child process of native.mutation.test.ts: runs one native kernel (argv[2]: dense, sparse, sparse-blocked,
 * als, sgd, bpr) through the native backend's binding twice on identical, seeded inputs — once
 * untouched, once while its index arrays (CSR indptr/indices, example ids, visiting order) are
 * overwritten with out-of-range values as soon as the call is seen to be part-way — and prints one
 * JSON line: {kernel, midRun, same, attempts, error?}. `midRun`: the overwrite happened while the
 * call was running (some of its output written, not all); `same`: the disturbed call's output is
 * byte for byte the undisturbed one's (the addon kernels read copies it took when the call began).
 *
 * Run in a child because an addon that reads the caller's arrays in place dies of SIGSEGV here
 * (out-of-range addresses), which would take the test runner with it.
 */
import { callSparseSimilarityTopK, loadNativeAddon, nativeBackend } from '../../src/backends/native/index.js';
import { allocateDenseScoreTopK, type DenseScoreTopKArgs } from '../../src/kernels/denseScoreTopK.js';
import { allocateSparseSimilarityTopK, type SparseSimilarityTopKArgs } from '../../src/kernels/sparseSimilarityTopK.js';
import { allocateAlsHalfStep, gramian, type AlsHalfStepArgs } from '../../src/kernels/alsHalfStep.js';
import type { SgdEpochArgs } from '../../src/kernels/sgdEpoch.js';
import type { BprEpochArgs } from '../../src/kernels/bprEpoch.js';
import { toShared, type Csr } from '../../src/data/matrix.js';
import { randomDense } from './random.js';
import { randomCsr, ratings } from './similarity.js';
import { bprArgs, sgdArgs, sgdProblem } from './epochs.js';

/** An out-of-range value for every index array: far past any row, column or example count here. */
const WILD = 2_000_000_000;

interface Trial {
  /** starts the call (a promise, or void for a synchronous binding) */
  run(): unknown;
  /** how far the call is: rows (users, …) whose output is written so far; `total` when done */
  progress(): number;
  total(): number;
  /** overwrite every index array the kernel reads */
  mutate(): void;
  /** the output bytes (outputs, and the arrays an epoch updates in place) */
  result(): Uint8Array[];
}

const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
const wild = (...arrays: (Int32Array | Float64Array | undefined)[]): void => { for (const a of arrays) a?.fill(WILD); };
/** rows of a top-k output whose first slot is filled */
const filledRows = (ids: Int32Array, rows: number, k: number): number => { let n = 0; for (let r = 0; r < rows; r++) if (ids[r * k] >= 0) n++; return n; };

function denseTrial(scale: number): Trial {
  const q = 2000 * scale, keys = 20000, d = 64, k = 10, per = 50;
  const excludeIndptr = Int32Array.from({ length: q + 1 }, (_, r) => r * per);
  // row r excludes the keys (7r + 37j) mod keys, j < per: distinct, sorted within the row (the Csr contract)
  const excludeIndices = Int32Array.from({ length: q * per }, (_, t) => (7 * Math.floor(t / per) + 37 * (t % per)) % keys);
  for (let r = 0; r < q; r++) excludeIndices.subarray(r * per, (r + 1) * per).sort();
  const exclude: Csr = { rows: q, cols: keys, indptr: excludeIndptr, indices: excludeIndices, data: new Float32Array(q * per) };
  const args: DenseScoreTopKArgs = { queries: randomDense(q, d, 1), keys: randomDense(keys, d, 2), k, metric: 'dot', exclude };
  const out = allocateDenseScoreTopK(args);
  return {
    run: () => nativeBackend.kernels.denseScoreTopK!(args, out, 0, q, { threads: 2 }),
    progress: () => filledRows(out.ids, q, k),
    total: () => q,
    mutate: () => wild(excludeIndptr, excludeIndices),
    result: () => [bytes(out.ids), bytes(out.scores)],
  };
}

/** path 1: the general path (rows walked through the CSR during the pass); 2: the blocked path (tiles built up front) */
function sparseTrial(scale: number, path: 1 | 2): Trial {
  const rows = 4000 * scale;
  const args: SparseSimilarityTopKArgs = { matrix: randomCsr(rows, 1500, 0.05, 3, ratings, 0, 2), metric: 'cosine', k: 20 };
  const out = allocateSparseSimilarityTopK(args);
  const load = loadNativeAddon();
  if ('error' in load) throw new Error(load.error);
  return {
    run: () => callSparseSimilarityTopK(load.addon, args, out, 0, rows, 2, undefined, path),
    progress: () => filledRows(out.ids, rows, out.k),
    total: () => rows,
    mutate: () => wild(args.matrix.indptr, args.matrix.indices),
    result: () => [bytes(out.ids), bytes(out.scores)],
  };
}

function alsTrial(scale: number): Trial {
  const rows = 3000 * scale, cols = 3000, F = 64;
  const matrix = randomCsr(rows, cols, 0.03, 4, ratings, 0, 1);
  const other = randomDense(cols, F, 5);
  const args: AlsHalfStepArgs = { mode: 'implicit', solver: 'cholesky', matrix, other, gram: gramian(other), regularization: 0.1 };
  const out = allocateAlsHalfStep(args);
  return {
    run: () => nativeBackend.kernels.alsHalfStep!(args, out, 0, rows, { threads: 2 }),
    progress: () => { let n = 0; for (let r = 0; r < rows; r++) if (out.data[r * F] !== 0) n++; return n; },
    total: () => rows,
    mutate: () => wild(matrix.indptr, matrix.indices),
    result: () => [bytes(out.data)],
  };
}

function sgdTrial(scale: number): Trial {
  const users = 4000, F = 64;
  const p = sgdProblem(users, 2000, 150_000 * scale, 6);
  const args: SgdEpochArgs = sgdArgs(p, 'svd', F, 7);
  // visit the examples grouped by user, so the users updated so far measure the progress
  args.order.sort((x, y) => p.user[x] - p.user[y] || x - y);
  // the parameters on shared memory: updated in place, where the poll sees them (an ordinary
  // array goes to the addon as a copy and is updated at the end; pinnedCalls.ts)
  for (const key of ['bu', 'bi', 'pu', 'qi'] as const) args[key] = toShared(args[key]);
  const before = args.pu.slice();
  const out = new Float64Array(2);
  return {
    run: () => nativeBackend.kernels.sgdEpoch!(args, out, 0, args.order.length, {}),
    progress: () => { let n = 0; for (let u = 0; u < users; u++) if (args.pu[u * F] !== before[u * F]) n++; return n; },
    total: () => users,
    mutate: () => wild(args.user, args.item, args.order),
    result: () => [bytes(args.bu), bytes(args.bi), bytes(args.pu), bytes(args.qi), bytes(out)],
  };
}

function bprTrial(scale: number): Trial {
  const F = 64;
  const args: BprEpochArgs = bprArgs(3000, 2000, 150_000, F, 8, { samples: 600_000 * scale });
  // on shared memory, updated in place where the poll sees them (see sgdTrial)
  args.userFactors = toShared(args.userFactors);
  args.itemFactors = toShared(args.itemFactors);
  const rng = new Uint32Array(new SharedArrayBuffer(16));
  rng.set(args.rng);
  args.rng = rng;
  const rng0 = args.rng.slice(), x0 = args.userFactors.slice();
  const out = new Float64Array(3);
  const m = args.userItems;
  return {
    run: () => nativeBackend.kernels.bprEpoch!(args, out, 0, args.samples, {}),
    // the rng state is stored back when the pass ends; before that, a changed factor means under way
    progress: () => (args.rng.some((v, i) => v !== rng0[i]) ? 2 : args.userFactors.some((v, i) => v !== x0[i]) ? 1 : 0),
    total: () => 2,
    mutate: () => wild(m.indptr, m.indices, args.entryUser),
    result: () => [bytes(args.userFactors), bytes(args.itemFactors), bytes(args.rng), bytes(out)],
  };
}

const trials: Record<string, (scale: number) => Trial> = {
  dense: denseTrial, sparse: (s) => sparseTrial(s, 1), 'sparse-blocked': (s) => sparseTrial(s, 2), als: alsTrial, sgd: sgdTrial, bpr: bprTrial,
};

/**
 * 'detach-dense', 'detach-sgd', 'detach-spdsolve': the call's arrays are on ordinary ArrayBuffers, and 20 ms into the
 * call every one of them is transferred away (structuredClone with transfer) and collected (run
 * with --expose-gc), freeing their memory. Reports whether the call was still running then, and
 * how it ended.
 */
async function detachDuringCall(kernel: string): Promise<Record<string, unknown>> {
  const plain = <T extends Float32Array | Int32Array | Float64Array>(a: T): T => { const c = new (a.constructor as new (n: number) => T)(a.length); c.set(a as never); return c; };
  let arrays: ArrayBufferView[];
  let running: Promise<unknown>;
  if (kernel === 'detach-dense') {
    const q = randomDense(20000, 64, 1), keys = randomDense(20000, 64, 2);
    const args: DenseScoreTopKArgs = { queries: { ...q, data: plain(q.data) }, keys: { ...keys, data: plain(keys.data) }, k: 10, metric: 'dot' };
    const out = allocateDenseScoreTopK(args);
    const own = { ...out, ids: plain(out.ids), scores: plain(out.scores) };
    arrays = [args.queries.data, args.keys.data, own.ids, own.scores];
    running = Promise.resolve(nativeBackend.kernels.denseScoreTopK!(args, own, 0, 20000, { threads: 2 }));
  } else if (kernel === 'detach-spdsolve') {
    // a neural-network kernel (nn_args.h): A = a symmetric matrix with diagonal n (diagonally
    // dominant, so positive definite), its inverse into `out`
    const n = 1500;
    const a = new Float32Array(n * n);
    let seed = 1;
    const rand = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 2 ** 32 - 0.5; };
    for (let i = 0; i < n; i++) {
      a[i * n + i] = n;
      for (let j = 0; j < i; j++) a[i * n + j] = a[j * n + i] = rand();
    }
    const out = { rows: n, cols: n, data: new Float32Array(n * n) };
    arrays = [a, out.data];
    running = Promise.resolve(nativeBackend.kernels.spdSolve!({ a: { rows: n, cols: n, data: a } }, out, 0, n, { threads: 2 }));
  } else {
    const args: SgdEpochArgs = sgdArgs(sgdProblem(4000, 2000, 1_000_000, 6), 'svd', 64, 7);
    for (const key of ['bu', 'bi', 'pu', 'qi', 'rating'] as const) args[key] = plain(args[key]);
    arrays = [args.bu, args.bi, args.pu, args.qi, args.rating];
    running = Promise.resolve(nativeBackend.kernels.sgdEpoch!(args, new Float64Array(2), 0, args.order.length, {}));
  }
  let settled = false;
  const done = running.then(() => null, (e: unknown) => (e instanceof Error ? e.message : String(e))).finally(() => { settled = true; });
  await new Promise((r) => setTimeout(r, 20));
  const midRun = !settled;
  for (const a of arrays) structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 20; i++) { gc?.(); new Float32Array(1 << 22).fill(i); }
  const error = await done;
  return { kernel, midRun, ...(error !== null ? { error } : {}) };
}

async function main(kernel: string): Promise<Record<string, unknown>> {
  if (kernel.startsWith('detach-')) return detachDuringCall(kernel);
  const make = trials[kernel];
  if (!make) throw new Error(`unknown kernel '${kernel}' (${Object.keys(trials).join(', ')})`);
  const probe = await nativeBackend.probe();
  if (!probe.available) return { kernel, skip: probe.reason };
  for (let attempt = 1, scale = 1; attempt <= 5; attempt++, scale *= 2) {
    const clean = make(scale);
    await clean.run();
    const want = clean.result();
    const t = make(scale);
    let midRun = false, late = false;
    const running = t.run();
    const poll = setInterval(() => {
      if (midRun || late) return;
      const p = t.progress();
      if (p >= t.total()) { late = true; return; }
      if (p > 0) { t.mutate(); midRun = true; }
    }, 1);
    let error: string | undefined;
    try {
      await running;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    } finally {
      clearInterval(poll);
    }
    if (!midRun) continue; // finished before the poll saw it part-way: a bigger call
    const got = t.result();
    const same = error === undefined && got.length === want.length && got.every((g, i) => Buffer.compare(g, want[i]) === 0);
    return { kernel, midRun, same, attempts: attempt, ...(error !== undefined ? { error } : {}) };
  }
  return { kernel, midRun: false, same: false, attempts: 5 };
}

const result = await main(process.argv[2] ?? '');
process.stdout.write(JSON.stringify(result) + '\n');
