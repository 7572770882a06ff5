/**
 * The native backend's alsHalfStep against the reference (src/kernels/alsHalfStep.ts).
 *
 * Tolerance: every factor within 1e-4·max(1, |reference|). Cholesky computes in float64 like the
 * reference (only the summation order differs); CG runs the reference's iteration from the same
 * start, with its residual in float64 and, on AVX-512/AVX2 with f ≤ 64, the A·p products' dot
 * products and block sums in float32 (float64 scalars and vectors) — measured worst case on
 * ML-100k with c = 1 + 40r, f = 64: 2e-5 (native/core/include/affinity/als_half_step.h).
 *
 * Without a built addon (or one without alsHalfStep) the file prints `SKIP native als: <reason>`
 * and runs one test on the reason.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeBackend, loadNativeAddon, callAlsHalfStep, type NativeAddon, type NativeAlsHalfStepCall } from '../src/backends/native/index.js';
import { allocateAlsHalfStep, alsHalfStepReference, gramian, type AlsHalfStepArgs, type AlsMode, type AlsSolver } from '../src/kernels/alsHalfStep.js';
import { csrFromTriplets, denseFrom, transpose, type Csr, type Dense } from '../src/data/matrix.js';
import { readInteractions } from '../src/data/index.js';
import { mulberry32, randomFactors } from './helpers/random.js';
import { skip, testOrSkip } from './helpers/skip.js';

const tol = (ref: number) => 1e-4 * Math.max(1, Math.abs(ref));

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = process.env.AFFINITY_DATA_DIR ?? path.join(root, '..', 'shared', 'data');
const ml100kFile = path.join(dataDir, 'ml-100k', 'u.data.gz');

/** rows × cols, about `density` stored; implicit confidences include negatives and exact 1s; every `emptyEvery`-th row empty. */
function randomMatrix(rows: number, cols: number, density: number, seed: number, mode: AlsMode, emptyEvery = 5): Csr {
  const rnd = mulberry32(seed);
  const r: number[] = [], c: number[] = [], v: number[] = [];
  for (let i = 0; i < rows; i++) {
    if (emptyEvery && i % emptyEvery === 2) continue;
    for (let j = 0; j < cols; j++) {
      if (rnd() >= density) continue;
      let x: number;
      if (mode === 'implicit') { const t = rnd(); x = t < 0.1 ? -(1 + 3 * rnd()) : t < 0.2 ? 1 : 1 + 20 * rnd(); }
      else x = 1 + Math.floor(rnd() * 5);
      r.push(i); c.push(j); v.push(x);
    }
  }
  return csrFromTriplets(rows, cols, r, c, v);
}

function argsFor(matrix: Csr, other: Dense, mode: AlsMode, solver: AlsSolver, regularization: number, initial?: Dense, cgSteps?: number): AlsHalfStepArgs {
  return { mode, solver, matrix, other, regularization, ...(mode === 'implicit' ? { gram: gramian(other) } : {}), ...(initial ? { initial } : {}), ...(cgSteps ? { cgSteps } : {}) };
}

function compare(got: Dense, want: Dense, label: string, r0 = 0, r1 = want.rows): void {
  const f = want.cols;
  let bad = 0, first = '';
  for (let i = r0 * f; i < r1 * f; i++) {
    if (!(Math.abs(got.data[i] - want.data[i]) <= tol(want.data[i]))) {
      if (!bad) first = `element ${i} (row ${Math.floor(i / f)}): native ${got.data[i]} reference ${want.data[i]}`;
      bad++;
    }
  }
  assert.is(bad, 0, `${label}: ${bad} factors out of tolerance, first ${first}`);
}

const probe = await nativeBackend.probe();
const loaded = loadNativeAddon();
const addon = ('addon' in loaded ? loaded.addon : null) as NativeAddon | null;

if (!probe.available || !addon || typeof addon.alsHalfStep !== 'function') {
  const reason = !probe.available || !addon ? probe.reason : 'the built affinity_native.node has no alsHalfStep (rebuild: npx affinity build)';
  skip(test, 'native als', reason);
  test('native als: the skip reason says what is missing', () => {
    assert.ok(reason.length > 0);
  });
} else {
  /** native result of rows [r0, r1) on the engine's allocation (copy of initial) */
  const runNative = async (a: AlsHalfStepArgs, r0 = 0, r1 = a.matrix.rows, threads = 2): Promise<Dense> => {
    const out = allocateAlsHalfStep(a);
    await callAlsHalfStep(addon, a, out, r0, r1, threads);
    return out;
  };
  const runReference = (a: AlsHalfStepArgs, r0 = 0, r1 = a.matrix.rows): Dense => {
    const out = allocateAlsHalfStep(a);
    alsHalfStepReference(a, out, r0, r1);
    return out;
  };

  test('native alsHalfStep: listed by the backend', () => {
    assert.type(nativeBackend.kernels.alsHalfStep, 'function');
  });

  test('native alsHalfStep: both modes and solvers match the reference on random inputs', async () => {
    const shapes: Array<[number, number, number, number]> = [[40, 30, 1, 0.3], [37, 50, 5, 0.25], [30, 60, 16, 0.3], [25, 80, 33, 0.2], [20, 120, 64, 0.3], [9, 40, 70, 0.5]];
    let seed = 1;
    for (const [rows, cols, f, density] of shapes) {
      for (const mode of ['implicit', 'explicit'] as AlsMode[]) {
        const matrix = randomMatrix(rows, cols, density, seed++, mode);
        const other = randomFactors(cols, f, seed++, 0.6);
        const initial = randomFactors(rows, f, seed++, 0.2);
        for (const solver of ['cg', 'cholesky'] as AlsSolver[]) {
          const a = argsFor(matrix, other, mode, solver, mode === 'implicit' ? 0.1 : 0.05, initial);
          const want = runReference(a);
          for (const threads of [1, 2]) compare(await runNative(a, 0, rows, threads), want, `${mode} ${solver} ${rows}x${cols} f=${f} threads=${threads}`);
        }
        // CG from zeros (no initial), 1 and 6 steps
        for (const steps of [1, 6]) {
          const a = argsFor(matrix, other, mode, 'cg', 0.1, undefined, steps);
          compare(await runNative(a), runReference(a), `${mode} cg ${steps} steps from zero f=${f}`);
        }
      }
    }
  });

  test('native alsHalfStep: empty rows → 0, a row range writes only its rows, through the backend entry', async () => {
    const matrix = randomMatrix(30, 20, 0.4, 77, 'implicit', 3);
    const other = randomFactors(20, 8, 78, 0.5);
    const initial = randomFactors(30, 8, 79, 0.5);
    const a = argsFor(matrix, other, 'implicit', 'cg', 0.05, initial);
    const got = allocateAlsHalfStep(a);
    await nativeBackend.kernels.alsHalfStep!(a, got, 4, 19, { threads: 2 });
    const want = runReference(a, 4, 19);
    compare(got, want, 'rows [4, 19)');
    for (let i = 0; i < got.data.length; i++) {
      const row = Math.floor(i / 8);
      if (row < 4 || row >= 19) assert.is(got.data[i], initial.data[i], `row ${row} outside the range was written`);
      else if (matrix.indptr[row] === matrix.indptr[row + 1]) assert.is(got.data[i], 0, `empty row ${row} must be 0`);
    }
  });

  test('native alsHalfStep: explicit λ=0 with a singular system rejects like the reference', async () => {
    // 3 ratings per row, f = 8: Σ y yᵀ has rank 3
    const matrix = randomMatrix(6, 20, 0.15, 5, 'explicit', 0);
    const other = randomFactors(20, 8, 6, 0.5);
    const a = argsFor(matrix, other, 'explicit', 'cholesky', 0);
    let refError: Error | undefined;
    try { runReference(a); } catch (e) { refError = e as Error; }
    assert.instance(refError, RangeError);
    try {
      await runNative(a);
      assert.unreachable('should reject');
    } catch (e) {
      assert.instance(e, RangeError);
      assert.is((e as Error).message, refError!.message);
    }
  });

  test('native alsHalfStep: concurrent calls all match', async () => {
    const cases = [1, 2, 3, 4].map((s) => {
      const matrix = randomMatrix(200, 150, 0.1, 100 + s, 'implicit');
      const other = randomFactors(150, 24, 200 + s, 0.4);
      return argsFor(matrix, other, 'implicit', s % 2 ? 'cg' : 'cholesky', 0.1, randomFactors(200, 24, 300 + s, 0.1));
    });
    const outs = await Promise.all(cases.map((a) => runNative(a)));
    cases.forEach((a, i) => compare(outs[i], runReference(a), `concurrent ${i}`));
  });

  test('native alsHalfStep: the addon validates every argument before running', () => {
    const m = csrFromTriplets(4, 3, [0, 0, 1, 2, 3], [0, 2, 1, 0, 2], [1, 2, 3, 4, 5]);
    const fn = addon.alsHalfStep!.bind(addon);
    const good = (): NativeAlsHalfStepCall => ({
      mode: 'implicit', solver: 'cg', cgSteps: 3, rows: 4, cols: 3, factors: 2,
      indptr: Int32Array.from(m.indptr), indices: Int32Array.from(m.indices), data: Float32Array.from(m.data),
      other: new Float32Array(6).fill(0.5), gram: new Float64Array(4).fill(1), regularization: 0.1,
      out: new Float32Array(8), rowStart: 0, rowEnd: 4, threads: 1,
    });
    const call = (over: Record<string, unknown>) => fn({ ...good(), ...over } as NativeAlsHalfStepCall);
    const isRange = (re?: RegExp) => (e: Error) => e instanceof RangeError && (!re || re.test(e.message));
    const isType = (re?: RegExp) => (e: Error) => e instanceof TypeError && (!re || re.test(e.message));
    assert.throws(() => call({ indptr: new Int32Array(4) }), isRange(/indptr has length 4/));
    assert.throws(() => call({ indptr: Int32Array.from([0, 2, 1, 4, 5]) }), isRange(/decreases/));
    assert.throws(() => call({ indptr: Int32Array.from([0, 2, 3, 4, 9]) }), isRange(/nnz/));
    assert.throws(() => call({ indptr: Int32Array.from([1, 2, 3, 4, 5]) }), isRange(/indptr\[0\]/));
    assert.throws(() => call({ indices: Int32Array.from([0, 3, 1, 0, 2]) }), isRange(/column index 3/));
    assert.throws(() => call({ indices: Int32Array.from([0, -1, 1, 0, 2]) }), isRange(/column index -1/));
    assert.throws(() => call({ data: new Float32Array(3) }), isRange(/nnz/));
    assert.throws(() => call({ other: new Float32Array(5) }), isRange(/other has length 5/));
    assert.throws(() => call({ gram: new Float64Array(3) }), isRange(/gram has length 3/));
    assert.throws(() => call({ gram: new Int32Array(4) }), isType(/gram must be a Float64Array/));
    assert.throws(() => call({ out: new Float32Array(7) }), isRange(/out has length 7/));
    assert.throws(() => call({ factors: 0 }), isRange(/factors/));
    assert.throws(() => call({ factors: 1.5 }), isRange(/factors must be an integer/));
    assert.throws(() => call({ rowEnd: 5 }), isRange(/rowEnd/));
    assert.throws(() => call({ rowStart: 3, rowEnd: 2 }), isRange());
    assert.throws(() => call({ cgSteps: 0 }), isRange(/cgSteps/));
    assert.throws(() => call({ regularization: -1 }), isRange(/regularization/));
    assert.throws(() => call({ regularization: NaN }), isRange(/regularization/));
    assert.throws(() => call({ mode: 'both' }), isRange(/unknown mode/));
    assert.throws(() => call({ solver: 'lu' }), isRange(/unknown solver/));
    assert.throws(() => call({ threads: 0 }), isRange(/threads/));
    assert.throws(() => call({ indptr: [0, 2, 3, 4, 5] }), isType(/indptr must be an Int32Array/));
    assert.throws(() => call({ data: new Float64Array(5) }), isType(/data must be a Float32Array/));
    assert.throws(() => call({ other: new Float64Array(6) }), isType(/other must be a Float32Array/));
    assert.throws(() => call({ mode: 3 }), isType(/mode/));
    assert.throws(() => fn(undefined as unknown as NativeAlsHalfStepCall), isType(/options object/));
    const shared = new Float32Array(16);
    assert.throws(() => call({ other: shared.subarray(0, 6), out: shared.subarray(4, 12) }), isRange(/overlap/));
    // explicit needs no gram
    return fn({ ...good(), mode: 'explicit', gram: null });
  });

  test('native alsHalfStep: without gram (implicit) the addon computes YᵀY itself, with the same solves', async () => {
    for (const f of [5, 16, 64]) {
      const m = randomMatrix(70, 900, 0.05, 300 + f, 'implicit');
      const Y = randomFactors(900, f, 301 + f, 0.3), X0 = randomFactors(70, f, 302 + f, 0.3);
      const args = argsFor(m, Y, 'implicit', 'cg', 0.1, X0);
      const want = allocateAlsHalfStep(args);
      alsHalfStepReference(args, want, 0, m.rows);
      const got = allocateAlsHalfStep(args);
      await callAlsHalfStep(addon, { ...args, gram: undefined }, got, 0, m.rows, 2);
      compare(got, want, `own gram f=${f}`);
    }
  });

  test('native alsHalfStep: the backend kernel rejects a wrong out shape', async () => {
    const matrix = randomMatrix(10, 6, 0.5, 3, 'implicit');
    const other = randomFactors(6, 4, 4, 0.5);
    const a = argsFor(matrix, other, 'implicit', 'cg', 0.1);
    try {
      await nativeBackend.kernels.alsHalfStep!(a, denseFrom(10, 3), 0, 10);
      assert.unreachable('should reject');
    } catch (e) {
      assert.instance(e, RangeError);
      assert.match((e as Error).message, /out is 10×3/);
    }
  });

  testOrSkip(test, existsSync(ml100kFile) ? null : `${ml100kFile} not found (set AFFINITY_DATA_DIR)`)('native alsHalfStep: ML-100k, implicit and explicit, both halves, both solvers', async () => {
    const x = await readInteractions(ml100kFile);
    const ratings = csrFromTriplets(x.users.size, x.items.size, x.user, x.item, x.rating);
    const f = 32;
    const Y = randomFactors(ratings.cols, f, 11, 0.2), X0 = randomFactors(ratings.rows, f, 12, 0.2);
    for (const mode of ['implicit', 'explicit'] as AlsMode[]) {
      const users = mode === 'implicit' ? { ...ratings, data: Float32Array.from(ratings.data, (r) => 1 + 2 * r) } : ratings;
      const items = transpose(users);
      for (const solver of ['cg', 'cholesky'] as AlsSolver[]) {
        const lambda = mode === 'implicit' ? 0.1 : 0.05;
        const ua = argsFor(users, Y, mode, solver, lambda, X0);
        const X = runReference(ua);
        compare(await runNative(ua), X, `ml-100k ${mode} ${solver} users`);
        const ia = argsFor(items, X, mode, solver, lambda, Y);
        compare(await runNative(ia), runReference(ia), `ml-100k ${mode} ${solver} items`);
      }
    }
    // large confidences (c = 1 + 40·r, as implicit's α = 40), 64 factors, CG: two iterations, each half
    // warm-started from the reference's previous result
    const strong = { ...ratings, data: Float32Array.from(ratings.data, (r) => 1 + 40 * r) };
    const strongT = transpose(strong);
    let U = randomFactors(ratings.rows, 64, 13, 0.02), V = randomFactors(ratings.cols, 64, 14, 0.02);
    for (let it = 0; it < 2; it++) {
      const ua = argsFor(strong, V, 'implicit', 'cg', 0.1, U);
      const Uref = runReference(ua);
      compare(await runNative(ua), Uref, `ml-100k α=40 f=64 users it ${it}`);
      U = Uref;
      const ia = argsFor(strongT, U, 'implicit', 'cg', 0.1, V);
      const Vref = runReference(ia);
      compare(await runNative(ia), Vref, `ml-100k α=40 f=64 items it ${it}`);
      V = Vref;
    }
  });
}

test.run();
