/**
 * The `wasm` backend's gemm and neural-network kernels, beyond the shared conformance tests
 * (kernels.gemm.test.ts, kernels.nn.conformance.test.ts):
 *
 * - row ranges: a call on rows [s, t) writes exactly what the reference writes for [s, t) (outputs start
 *   filled with a sentinel; every entry the reference leaves alone must still hold it) and agrees there within
 *   the case's tolerance (helpers/nnCases.ts); for the in-place Adam, entries outside the range are unchanged;
 * - inputs larger than the module's initial memory (one 64 KiB page) and than one staging chunk (2 MiB; gemm 512 KiB or 8 MiB), run in
 *   one call on a fresh instance: the memory grows and the chunked copies give the reference's result;
 * - gemm with column blocks (lda/ldb), broadcast A, k over one packed block (KC = 256), n over one column block
 *   (NC = 1024), row ranges across batch entries, β ≠ 0, NaN in C with β = 0 — against a float64 oracle within
 *   the contract's bound 2·k·2⁻²⁴·(|α|·Σ|a||b| + |β||C0|);
 * - dropout masks and values equal to the reference's bit for bit (offsets wrapping past 2³²);
 * - extreme inputs (±1000) stay finite and within tolerance; bad arguments are clear errors.
 *
 * Skipped, with the reason printed, when build/wasm/affinity.wasm is missing or cannot run here.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { loadAffinityWasm, wasmBackend, wasmPath } from '../src/backends/wasm/index.js';
import { instantiateAffinityWasmSync, type AffinityWasm } from '../src/backends/wasm/core.js';
import { getKernel, type KernelArgs, type KernelName } from '../src/kernels/contract.js';
import type { GemmArgs } from '../src/kernels/gemm.js';
import { groupByIndex } from '../src/kernels/nn/embedding.js';
import { denseFrom, sharedFloat32, sharedInt32, type Dense } from '../src/data/matrix.js';
import { cloneArgs, floatArrays, nnCases, type NnCase } from './helpers/nnCases.js';
import { gridDense, gridValues, runReference } from './helpers/nnCheck.js';
import { mulberry32 } from './helpers/random.js';
import { skip } from './helpers/skip.js';

const SENTINEL = -7777.5;

function fillOut<O>(out: O): O {
  for (const a of floatArrays(out).values()) a.fill(SENTINEL);
  return out;
}

function within(label: string, got: Float32Array, want: Float32Array, atol: number, rtol: number): void {
  assert.is(got.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) {
    const tol = atol + rtol * Math.abs(want[i]);
    if (!(Math.abs(got[i] - want[i]) <= tol) && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) {
      assert.unreachable(`${label}[${i}] = ${got[i]}, reference ${want[i]} (tolerance ${tol})`);
    }
  }
}

/** The arrays a case is judged on: its output's, or the args fields an in-place kernel updates. */
function judged(c: NnCase, args: unknown, out: unknown): Map<string, Float32Array> {
  return c.updates ? new Map(c.updates.map((f) => [f, (args as Record<string, Float32Array>)[f]])) : floatArrays(out);
}

function impl(name: KernelName): (args: unknown, out: unknown, s: number, e: number) => void | Promise<void> {
  return wasmBackend.kernels[name] as never;
}

/** A float64 oracle for gemm with every option (lda/ldb/strides), and Σ|α·a·b| + |β·c0| per element for the bound. */
function gemmOracle(g: GemmArgs): { c: Float64Array; mag: Float64Array } {
  const { m, n, k } = g, batch = g.batch ?? 1, alpha = g.alpha ?? 1, beta = g.beta ?? 0;
  const tA = g.transA === 'T', tB = g.transB === 'T';
  const lda = g.lda ?? (tA ? m : k), ldb = g.ldb ?? (tB ? k : n);
  const sa = g.strideA ?? (tA ? k : m) * lda, sb = g.strideB ?? (tB ? n : k) * ldb, sc = g.strideC ?? m * n;
  const c = new Float64Array(batch * m * n), mag = new Float64Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0, t = 0;
    for (let p = 0; p < k; p++) {
      const av = tA ? g.a[bi * sa + p * lda + i] : g.a[bi * sa + i * lda + p];
      const bv = tB ? g.b[bi * sb + j * ldb + p] : g.b[bi * sb + p * ldb + j];
      s += av * bv; t += Math.abs(av * bv);
    }
    const c0 = beta !== 0 ? g.c![bi * sc + i * n + j] : 0;
    c[(bi * m + i) * n + j] = alpha * s + beta * c0;
    mag[(bi * m + i) * n + j] = Math.abs(alpha) * t + Math.abs(beta * c0);
  }
  return { c, mag };
}

function assertGemm(label: string, g: GemmArgs, got: Float32Array, rows?: [number, number]): void {
  const { c, mag } = gemmOracle(g);
  const eps = 2 ** -24, n = g.n;
  for (let e = 0; e < c.length; e++) {
    const r = Math.floor(e / n);
    if (rows && (r < rows[0] || r >= rows[1])) {
      if (got[e] !== SENTINEL) assert.unreachable(`${label}: element ${e} (row ${r}) outside [${rows[0]}, ${rows[1]}) was written`);
      continue;
    }
    const tol = 2 * Math.max(g.k, 1) * eps * mag[e] + 1e-30;
    if (!(Math.abs(got[e] - c[e]) <= tol)) assert.unreachable(`${label}: element ${e} = ${got[e]}, expected ${c[e]} ± ${tol}`);
  }
}

function rand(len: number, seed: number): Float32Array {
  const rnd = mulberry32(seed);
  const a = sharedFloat32(len);
  for (let i = 0; i < len; i++) a[i] = rnd() * 2 - 1;
  return a;
}

function fresh(): AffinityWasm {
  return instantiateAffinityWasmSync(readFileSync(wasmPath()));
}

const status = loadAffinityWasm();

if (status instanceof Error) {
  skip(test, 'wasm nn kernels', status.message);
  test('wasm backend is unavailable and says why', () => {
    const p = wasmBackend.probe() as { available: boolean; reason: string };
    assert.is(p.available, false);
    assert.ok(p.reason.trim().length > 0);
  });
} else {
  test('every kernel of the contract but the native module\'s fused output layer has a wasm implementation', () => {
    const missing: string[] = [];
    // softmaxOutputLayer: SasrecNet composes gemm and softmaxCrossEntropy on wasm (as on CUDA)
    for (const c of nnCases(false)) if (!wasmBackend.kernels[c.kernel] && c.kernel !== 'softmaxOutputLayer') missing.push(c.kernel);
    if (!wasmBackend.kernels.gemm) missing.push('gemm');
    assert.equal([...new Set(missing)], []);
  });

  test('row ranges: rows [s, t) write exactly the reference\'s footprint, within each case\'s tolerance', async () => {
    let checked = 0;
    for (const c of nnCases(false)) {
      const def = getKernel(c.kernel);
      if (def.splittable === false && !c.updates) continue; // spdSolve solves all rows at once
      const rows = def.rows(c.args as never);
      if (rows < 3) continue;
      for (const [s, t] of [[Math.floor(rows / 3), Math.floor((2 * rows) / 3)], [0, 1], [rows - 1, rows]]) {
        const label = `${c.kernel} ${c.name} rows [${s}, ${t})`;
        const argsRef = cloneArgs(c.args), argsW = cloneArgs(c.args);
        const outRef = fillOut(def.allocate(argsRef as never)), outW = fillOut(def.allocate(argsW as never));
        await def.reference(argsRef as never, outRef as never, s, t);
        await impl(c.kernel)(argsW, outW, s, t);
        const want = judged(c, argsRef, outRef), got = judged(c, argsW, outW), orig = judged(c, c.args, outRef);
        for (const [path, w] of want) {
          const g = got.get(path)!;
          for (let i = 0; i < w.length; i++) {
            // an entry the reference leaves alone (sentinel, or an in-place array's original value) must be untouched
            const untouched = c.updates ? Object.is(w[i], orig.get(path)![i]) : w[i] === SENTINEL;
            if (untouched) {
              if (!Object.is(g[i], w[i])) assert.unreachable(`${label}: ${path}[${i}] = ${g[i]} outside the range's footprint (should stay ${w[i]})`);
            } else if (!(Math.abs(g[i] - w[i]) <= c.atol + c.rtol * Math.abs(w[i]))) {
              assert.unreachable(`${label}: ${path}[${i}] = ${g[i]}, reference ${w[i]}`);
            }
          }
        }
        checked++;
      }
    }
    assert.ok(checked > 100, `${checked} range checks`);
  });

  test('inputs larger than the initial memory and than one staging chunk: one call, the memory grows, results equal the reference', () => {
    const w = fresh();
    const before = w.memoryBytes();
    const rows = 9000, cols = 80;
    const x = gridDense(rows, cols, 1, -3, 3), g = gridDense(rows, cols, 2), bias = gridValues(cols, 3, -0.5, 0.5);
    const gamma = gridValues(cols, 4, 0.5, 1.5), beta = gridValues(cols, 5, -0.5, 0.5);
    const ln = runReference('layerNorm', { x, gamma, beta });
    const seqs = 45, q = 100, keys = 100;
    const scores = gridDense(seqs * 2 * q, keys, 6, -4, 4);
    const keyValid = new Uint8Array(seqs * keys).map((_, i) => (i % keys >= (i * 7) % 13 ? 1 : 0));
    const targets = sharedInt32(rows).map((_, i) => (i % 11 === 0 ? -1 : (i * 31) % cols));
    const weights = denseFrom(rows, cols);
    for (let i = 0; i < weights.data.length; i++) weights.data[i] = i % 5 === 0 ? 2 : 0;
    const flat = x.data, len = flat.length;
    const lookup = sharedInt32(rows).map((_, i) => ((i * 7919) % 500) - (i % 17 === 0 ? 500 : 0)).map((v) => (v < 0 ? -1 : v));
    const grouped = groupByIndex(lookup, 500);
    const bagOffsets = sharedInt32(301).map((_, i) => Math.floor((i * rows) / 300));
    const adam = () => ({ params: gridValues(len, 7), m: gridValues(len, 8, -0.01, 0.01), v: gridValues(len, 9, 0, 0.01), grads: gridValues(len, 10), dim: cols, step: 4, lr: 1e-3, weightDecay: 0.01 });
    const lazyIds = sharedInt32(3000).map((_, i) => (i * 3 + 1) % rows);
    const cases: Array<{ kernel: KernelName; args: unknown; atol: number; rtol: number; updates?: string[] }> = [
      { kernel: 'biasActivation', args: { x, bias, activation: 'gelu' }, atol: 1e-5, rtol: 1e-5 },
      { kernel: 'activationBackward', args: { x, bias, activation: 'tanh', gradOut: g }, atol: 1e-5, rtol: 1e-5 },
      { kernel: 'columnSums', args: { x }, atol: 1e-4, rtol: 1e-5 },
      { kernel: 'layerNorm', args: { x, gamma, beta }, atol: 1e-4, rtol: 1e-4 },
      { kernel: 'layerNormBackward', args: { x, gamma, mean: ln.mean, rstd: ln.rstd, gradOut: g }, atol: 1e-4, rtol: 1e-4 },
      { kernel: 'layerNormParamGrad', args: { x, mean: ln.mean, rstd: ln.rstd, gradOut: g }, atol: 1e-3, rtol: 1e-4 },
      { kernel: 'maskedSoftmax', args: { scores, queries: q, causal: true, keyValid, scale: 0.125 }, atol: 1e-5, rtol: 1e-5 },
      { kernel: 'softmaxBackward', args: { probs: runReference('maskedSoftmax', { scores, queries: q, keyValid }), gradProbs: gridDense(scores.rows, keys, 11), scale: 0.5 }, atol: 1e-5, rtol: 1e-5 },
      { kernel: 'softmaxCrossEntropy', args: { logits: x, targets, gradScale: 0.25 }, atol: 1e-5, rtol: 1e-4 },
      { kernel: 'softmaxCrossEntropy', args: { logits: x, targetWeights: weights }, atol: 1e-4, rtol: 1e-4 },
      { kernel: 'sigmoidCrossEntropy', args: { logits: flat, targets: gridValues(len, 12, 0, 1), weights: gridValues(len, 13, 0, 2), gradScale: 0.5 }, atol: 1e-5, rtol: 1e-5 },
      { kernel: 'dropout', args: { x: flat, rate: 0.3, seed: 99, offset: 0xffffff00 }, atol: 0, rtol: 0 },
      { kernel: 'elementwise', args: { op: 'axpby', x: flat, y: g.data, alpha: 0.5, beta: -2 }, atol: 0, rtol: 0 },
      { kernel: 'elementwise', args: { op: 'mul', x: flat, y: g.data, alpha: 3 }, atol: 0, rtol: 0 },
      { kernel: 'segmentSum', args: { src: g, offsets: grouped.offsets, positions: grouped.positions }, atol: 1e-5, rtol: 1e-5 },
      { kernel: 'segmentSum', args: { src: gridDense(500, cols, 14), offsets: bagOffsets, positions: lookup, weights: gridValues(rows, 15, 0, 1) }, atol: 1e-5, rtol: 1e-5 },
      { kernel: 'adamUpdate', args: adam(), atol: 1e-6, rtol: 1e-5, updates: ['params', 'm', 'v'] },
      { kernel: 'adamUpdate', args: { ...adam(), grads: gridValues(lazyIds.length * cols, 16), rowIds: lazyIds, decoupled: false, weightDecay: 0.1 }, atol: 1e-6, rtol: 1e-5, updates: ['params', 'm', 'v'] },
    ];
    const direct = w.nn as unknown as Record<string, (a: unknown, o: unknown, s: number, e: number) => void>;
    for (const c of cases) {
      const def = getKernel(c.kernel);
      const argsRef = cloneArgs(c.args), argsW = cloneArgs(c.args);
      def.validate(argsRef as never);
      const outRef = def.allocate(argsRef as never), outW = def.allocate(argsW as never);
      def.reference(argsRef as never, outRef as never, 0, def.rows(argsRef as never));
      direct[c.kernel](argsW, outW, 0, def.rows(argsW as never));
      const nc = c as unknown as NnCase;
      const want = judged(nc, argsRef, outRef), got = judged(nc, argsW, outW);
      for (const [path, a] of want) within(`${c.kernel} ${path}`, got.get(path)!, a, c.atol, c.rtol);
    }
    // gemm, three k blocks, β ≠ 0: packed B of 1.2 MB (over 1 MiB): two chunks of 1500 rows (8 MiB of A and C
    // each); packed B of 0.7 MB: chunks of 144 rows (512 KiB of A and C each)
    for (const n of [500, 300]) {
      const ga: GemmArgs = { m: 3000, n, k: 600, a: rand(3000 * 600, 20), b: rand(600 * n, 21), beta: -0.5, c: rand(3000 * n, 22), alpha: 2 };
      const out = sharedFloat32(3000 * n);
      w.gemm(ga, { data: out }, 0, 3000);
      assertGemm(`gemm 3000×600·600×${n}`, ga, out);
    }
    // grown past the first page, but bounded by the chunks: less than the first gemm's A and C (13.2 MB) alone
    const after = w.memoryBytes();
    assert.ok(before <= 1 << 20 && after > 2 * (1 << 20) && after < (3000 * 600 + 3000 * 500) * 4, `memory grew from ${before} to ${after} bytes`);
  });

  test('segmentSum over a table larger than 8 MiB with few positions: the rows are gathered (short and long rows)', () => {
    const w = fresh();
    for (const dim of [8, 80]) {
      const rows = Math.ceil((9 * 2 ** 20) / (dim * 4));
      const src = gridDense(rows, dim, 90 + dim);
      const positions = sharedInt32(1500).map((_, i) => (i % 13 === 0 ? -1 : (i * 104729) % rows));
      const offsets = sharedInt32(101).map((_, g) => g * 15);
      const args = { src, offsets, positions, weights: gridValues(1500, 91, -1, 1) };
      const ref = runReference('segmentSum', args);
      const got = denseFrom(100, dim);
      w.nn.segmentSum(args, got, 0, 40);
      w.nn.segmentSum(args, got, 40, 100);
      within(`segmentSum dim ${dim}`, got.data, ref.data, 1e-5, 1e-5);
    }
  });

  test('gemm: column blocks (lda/ldb), broadcast A, k > KC, n > NC, row ranges across batch entries, β ≠ 0', () => {
    const w = fresh();
    const T = 37, heads = 3, d = 24;
    // attention scores of head h: Q_h·K_hᵀ, Q and K [T, heads·d]; head h reads columns [h·d, (h+1)·d)
    const Q = rand(T * heads * d, 30), K = rand(T * heads * d, 31);
    for (let h = 0; h < heads; h++) {
      const g: GemmArgs = { m: T, n: T, k: d, a: Q.subarray(h * d), b: K.subarray(h * d), transB: 'T', lda: heads * d, ldb: heads * d, alpha: 0.2 };
      const out = sharedFloat32(T * T).fill(SENTINEL);
      w.gemm(g, { data: out }, 0, T);
      assertGemm(`head ${h}`, g, out);
    }
    const cases: Array<[string, GemmArgs]> = [
      ['broadcast A over a batch', { m: 5, n: 9, k: 7, batch: 4, strideA: 0, a: rand(35, 32), b: rand(4 * 63, 33) }],
      ['k = 700 (3 k blocks), transA', { m: 45, n: 19, k: 700, transA: 'T', a: rand(700 * 45, 34), b: rand(700 * 19, 35), beta: 1.5, c: rand(45 * 19, 36) }],
      ['n = 1100 (two column blocks), transB', { m: 9, n: 1100, k: 33, transB: 'T', a: rand(9 * 33, 37), b: rand(1100 * 33, 38) }],
      ['batch 3 with strideC and β', { m: 6, n: 10, k: 4, batch: 3, a: rand(3 * 24, 39), b: rand(3 * 40, 40), beta: 2, c: rand(3 * 70, 41), strideC: 70 }],
      ['ldb > n, lda > k (N, N)', { m: 13, n: 11, k: 9, lda: 20, ldb: 15, a: rand(13 * 20, 42), b: rand(9 * 15, 43) }],
      // transA: all columns of the stored rows (one contiguous copy per batch entry), and a column block (lda > m)
      ['batch 3, transA', { m: 11, n: 6, k: 9, batch: 3, transA: 'T', a: rand(3 * 9 * 11, 44), b: rand(3 * 9 * 6, 45) }],
      ['batch 2, transA, lda > m', { m: 10, n: 7, k: 12, batch: 2, transA: 'T', lda: 14, a: rand(2 * 12 * 14, 46), b: rand(2 * 12 * 7, 47) }],
    ];
    for (const [label, g] of cases) {
      getKernel('gemm').validate(g);
      const rows = (g.batch ?? 1) * g.m;
      const out = sharedFloat32(rows * g.n).fill(SENTINEL);
      w.gemm(g, { data: out }, 0, rows);
      assertGemm(label, g, out);
      // a range across batch entries writes only its rows
      const s = Math.floor(rows / 3) + 1, t = Math.floor((2 * rows) / 3) + 1;
      const part = sharedFloat32(rows * g.n).fill(SENTINEL);
      w.gemm(g, { data: part }, s, t);
      assertGemm(`${label} rows [${s}, ${t})`, g, part, [s, t]);
    }
    // β = 0 never reads C: NaN there stays out; NaN/∞ in A reach exactly their row
    const g: GemmArgs = { m: 6, n: 10, k: 5, a: rand(30, 44), b: rand(50, 45), c: sharedFloat32(60).fill(NaN), beta: 0 };
    const out = sharedFloat32(60);
    w.gemm(g, { data: out }, 0, 6);
    assert.ok([...out].every(Number.isFinite), 'β = 0 with NaN in C');
    const gi: GemmArgs = { ...g, a: g.a.slice() };
    gi.a[2 * 5 + 1] = Infinity;
    w.gemm(gi, { data: out }, 0, 6);
    for (let e = 0; e < 60; e++) assert.is(Number.isFinite(out[e]), Math.floor(e / 10) !== 2, `element ${e} with ∞ in row 2 of A`);
  });

  test('gemm: k = 1 and 2 with α, β not representable in f32 stay within the contract\'s bound (α, β applied in f64)', () => {
    const w = fresh();
    for (const k of [1, 2, 3]) {
      for (const [alpha, beta] of [[0.1, 0.3], [1 / 3, -0.7], [1, 0.1], [0.1, 0]]) {
        const g: GemmArgs = { m: 64, n: 64, k, alpha, beta, a: rand(64 * k, 100 + k), b: rand(64 * k, 200 + k), c: rand(64 * 64, 300 + k) };
        const out = sharedFloat32(64 * 64);
        w.gemm(g, { data: out }, 0, 64);
        assertGemm(`k=${k} α=${alpha} β=${beta}`, g, out);
      }
    }
  });

  test('dropout: masks and values equal the reference bit for bit (rates 0 to 0.999, offsets wrapping past 2³²)', () => {
    const w = fresh();
    const x = gridValues(1003, 50, -2, 2);
    for (const [rate, seed, offset] of [[0, 1, 0], [0.5, 0xffffffff, 0xfffffe00], [0.1, 12345, 7], [0.999, 3, 0xffffffff]] as const) {
      const args = { x, rate, seed, offset };
      const ref = runReference('dropout', args);
      const got = sharedFloat32(x.length);
      w.nn.dropout(args, got, 0, 500);
      w.nn.dropout(args, got, 500, x.length);
      for (let i = 0; i < x.length; i++) if (!Object.is(got[i], ref[i])) assert.unreachable(`rate ${rate} seed ${seed} offset ${offset}: element ${i} = ${got[i]}, reference ${ref[i]}`);
    }
  });

  test('extreme inputs (±1000, ±80) stay finite and agree with the reference', () => {
    const w = fresh();
    const vals = [-1000, -80, -20, -5, -1e-3, 0, 1e-3, 5, 20, 80, 1000];
    const x: Dense = denseFrom(1, vals.length, vals);
    for (const activation of ['identity', 'relu', 'sigmoid', 'tanh', 'gelu'] as const) {
      const args = { x, activation, gradOut: denseFrom(1, vals.length, vals.map(() => 1)) };
      const y = denseFrom(1, vals.length), d = denseFrom(1, vals.length);
      w.nn.biasActivation(args, y, 0, 1);
      w.nn.activationBackward(args, d, 0, 1);
      assert.ok([...y.data, ...d.data].every(Number.isFinite), activation);
      within(`${activation} y`, y.data, runReference('biasActivation', args).data, 1e-5, 1e-5);
      within(`${activation} dz`, d.data, runReference('activationBackward', args).data, 1e-5, 1e-5);
    }
    const logits = denseFrom(2, vals.length, [...vals, ...vals.map((v) => -v)]);
    const ce = { logits, targets: sharedInt32(2).fill(3), gradScale: 1 };
    const out = { loss: sharedFloat32(2), grad: sharedFloat32(2 * vals.length) };
    w.nn.softmaxCrossEntropy(ce, out, 0, 2);
    const ref = runReference('softmaxCrossEntropy', ce);
    within('softmaxCE loss', out.loss, ref.loss, 1e-5, 1e-5);
    within('softmaxCE grad', out.grad, ref.grad, 1e-5, 1e-5);
    const sig = { logits: x.data, targets: gridValues(vals.length, 60, 0, 1) };
    const so = { loss: sharedFloat32(vals.length), grad: sharedFloat32(vals.length) };
    w.nn.sigmoidCrossEntropy(sig, so, 0, vals.length);
    const sr = runReference('sigmoidCrossEntropy', sig);
    within('sigmoidCE loss', so.loss, sr.loss, 1e-5, 1e-5);
    within('sigmoidCE grad', so.grad, sr.grad, 1e-5, 1e-5);
    const sm = { scores: denseFrom(1, vals.length, vals) };
    const p = denseFrom(1, vals.length);
    w.nn.maskedSoftmax(sm, p, 0, 1);
    within('softmax', p.data, runReference('maskedSoftmax', sm).data, 1e-6, 1e-5);
  });

  test('bad arguments are clear errors', () => {
    const w = fresh();
    const x = gridDense(4, 3, 70);
    const out = denseFrom(4, 3);
    assert.throws(() => w.nn.biasActivation({ x, activation: 'relu' }, out, 2, 5), /biasActivation \(wasm\): rows \[2, 5\) outside \[0, 4\)/);
    assert.throws(() => w.nn.biasActivation({ x, activation: 'swish' as never }, out, 0, 4), /unknown activation 'swish'/);
    assert.throws(() => w.nn.softmaxCrossEntropy({ logits: x, targets: sharedInt32(4).fill(3) }, { loss: sharedFloat32(4), grad: sharedFloat32(12) }, 0, 4), /targets\[0\] = 3 is outside \[-1, 3\)/);
    assert.throws(() => w.nn.embeddingGather({ table: x, ids: Int32Array.of(0, 4) }, denseFrom(2, 3), 0, 2), /ids\[1\] = 4 is outside \[-1, 4\)/);
    assert.throws(() => w.nn.segmentSum({ src: x, offsets: Int32Array.of(0, 2), positions: Int32Array.of(1, 9) }, denseFrom(1, 3), 0, 1), /positions\[1\] = 9 is outside \[-1, 4\)/);
    assert.throws(() => w.nn.segmentSum({ src: x, offsets: Int32Array.of(0, 3), positions: Int32Array.of(1, 2) }, denseFrom(1, 3), 0, 1), /offsets\[0\.\.1\] = 0, 3 is not a range of the 2 positions/);
    const adam = { params: sharedFloat32(12), grads: sharedFloat32(3), m: sharedFloat32(12), v: sharedFloat32(12), dim: 3, rowIds: Int32Array.of(7), step: 1, lr: 0.1 };
    assert.throws(() => w.nn.adamUpdate(adam, {}, 0, 1), /rowIds\[0\] = 7 is outside \[0, 4\)/);
    assert.throws(() => w.nn.spdSolve({ a: denseFrom(2, 2, [1, 2, 2, 1]) }, denseFrom(2, 2), 0, 2), /spdSolve: the matrix is not positive definite \(pivot 1 is -3\)/);
    assert.throws(() => w.nn.spdSolve({ a: denseFrom(2, 2, [4, 0, 0, 4]) }, denseFrom(2, 2), 0, 1), /solves all 2 rows in one call/);
    assert.throws(() => w.nn.maskedSoftmax({ scores: x, queries: 3 }, out, 0, 4), /not a multiple of queries = 3/);
    assert.throws(() => w.nn.dropout({ x: x.data, rate: 1, seed: 1 }, sharedFloat32(12), 0, 12), /rate must be in \[0, 1\)/);
    const g: GemmArgs = { m: 3, n: 2, k: 4, a: sharedFloat32(11), b: sharedFloat32(8) };
    assert.throws(() => w.gemm(g, { data: sharedFloat32(6) }, 0, 3), /gemm \(wasm\): a has length 11, needs 12/);
    assert.throws(() => w.gemm({ ...g, a: sharedFloat32(12) }, { data: sharedFloat32(6) }, 1, 4), /row range \[1, 4\) outside \[0, 3\)/);
    assert.throws(() => w.gemm({ ...g, a: sharedFloat32(12), beta: 1 }, { data: sharedFloat32(6) }, 0, 3), /c must be a Float32Array/);
  });

  test('adamUpdate and spdSolve through the engine: the caller\'s arrays are updated; the solve satisfies A·X = B', async () => {
    const { getEngine } = await import('../src/engine/processEngine.js');
    const n = 40;
    const base = gridDense(n, n, 80);
    const a = denseFrom(n, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = i === j ? n : 0;
      for (let k = 0; k < n; k++) s += base.data[k * n + i] * base.data[k * n + j];
      a.data[i * n + j] = s;
    }
    const b = gridDense(n, 5, 81);
    const r = await getEngine().runDetailed('spdSolve', { a, b }, { backend: 'wasm' });
    assert.is(r.backend, 'wasm');
    for (let i = 0; i < n; i++) for (let c = 0; c < 5; c++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a.data[i * n + k] * r.out.data[k * 5 + c];
      assert.ok(Math.abs(s - b.data[i * 5 + c]) < 1e-4 * n, `(A·X)[${i}][${c}] = ${s}, B = ${b.data[i * 5 + c]}`);
    }
    const args: KernelArgs<'adamUpdate'> = { params: gridValues(60, 82), grads: gridValues(60, 83), m: sharedFloat32(60), v: sharedFloat32(60), dim: 6, step: 1, lr: 0.01 };
    const ref = cloneArgs(args);
    runReference('adamUpdate', ref);
    await getEngine().run('adamUpdate', args, { backend: 'wasm' });
    for (const f of ['params', 'm', 'v'] as const) assert.equal([...args[f]], [...ref[f]], `${f} equal to the reference's (f64 per element, as it)`);
  });
}

test.run();
