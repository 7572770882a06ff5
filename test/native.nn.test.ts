/**
 * The native backend's neural-network kernels beyond the conformance test
 * (kernels.nn.conformance.test.ts): the addon's own checks (every bad buffer, shape, scalar and
 * index refused on the JS thread with an error naming the kernel, the property and the value),
 * index arrays copied before the worker reads them, row ranges, spdSolve's pivot error, the
 * cancellation of a long spdSolve and a long gemm, and calls from several Piscina workers at once.
 * Results are compared with the references (src/kernels/nn) within the conformance tolerances.
 *
 * Without a built addon the file prints `SKIP native nn: <reason>` and runs one test on it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Piscina } from 'piscina';
import { loadNativeAddon, nativeBackend, type NativeAddon } from '../src/backends/native/index.js';
import { NATIVE_ONLY_NN_KERNELS, NN_KERNELS } from '../src/backends/native/nnCalls.js';
import { getKernel, type KernelArgs, type KernelName, type KernelOutput } from '../src/kernels/contract.js';
import { denseFrom, sharedInt32, type Dense } from '../src/data/matrix.js';
import { shareArgs } from '../src/engine/sharedArgs.js';
import type { WorkerTask } from '../src/engine/worker.js';
import type { GemmArgs } from '../src/kernels/gemm.js';
import { groupByIndex } from '../src/kernels/nn/embedding.js';
import { gridDense, gridValues, runReference } from './helpers/nnCheck.js';
import { floatArrays } from './helpers/nnCases.js';
import { randomDense } from './helpers/random.js';
import { expectBadNnCallsRefused } from './helpers/nnBadCalls.js';
import { skip } from './helpers/skip.js';

const probe = await nativeBackend.probe();
const loaded = loadNativeAddon();
const addon = ('addon' in loaded ? loaded.addon : null) as NativeAddon | null;

/** Every float output within 1e-5 + 1e-5·|reference| of the reference's. */
function sameAsReference<K extends KernelName>(kernel: K, args: KernelArgs<K>, got: KernelOutput<K>, label: string): void {
  const want = floatArrays(runReference(kernel, args));
  const have = floatArrays(got);
  for (const [path, w] of want) {
    const g = have.get(path)!;
    for (let i = 0; i < w.length; i++) {
      if (!(Math.abs(g[i] - w[i]) <= 1e-5 + 1e-5 * Math.abs(w[i]))) assert.unreachable(`${label}: ${path}[${i}] = ${g[i]}, reference ${w[i]}`);
    }
  }
}

async function rejectsAborted(p: Promise<unknown>, label: string): Promise<void> {
  let err: unknown = null;
  try { await p; } catch (e) { err = e; }
  assert.ok(err instanceof Error && err.name === 'AbortError', `${label}: expected an AbortError, got ${String(err)}`);
}

if (!probe.available || !addon) {
  skip(test, 'native nn', probe.reason);
  test('native nn: the skip reason says what is missing', () => { assert.ok(probe.reason.length > 0); });
} else {
  const call = addon as unknown as Record<string, (o: unknown) => Promise<void>>;

  test('native nn: every neural-network kernel is bound by the addon and listed by the backend', () => {
    for (const k of [...NN_KERNELS, ...NATIVE_ONLY_NN_KERNELS]) {
      assert.type(call[k], 'function', `addon.${k}`);
      assert.type(nativeBackend.kernels[k], 'function', `nativeBackend.kernels.${k}`);
    }
  });

  test('native nn: bad buffers, shapes, scalars and indices are refused before the worker runs, naming the value', () => {
    expectBadNnCallsRefused(call);
  });

  test('native nn: the addon reads its own copy of the indices (an id changed after the call does not reach the kernel)', async () => {
    const table = randomDense(50, 8, 3);
    const ids = sharedInt32(20000);
    for (let i = 0; i < ids.length; i++) ids[i] = (i * 7) % 50;
    const want = runReference('embeddingGather', { table, ids: ids.slice() });
    const out = denseFrom(ids.length, 8);
    const pending = call.embeddingGather({ vocab: 50, dim: 8, table: table.data, ids, out: out.data, threads: 2 });
    ids.fill(1_000_000_000);  // out of range for every row: a kernel reading these would read far outside the table
    await pending;
    assert.equal(Array.from(out.data), Array.from(want.data));
  });

  test('native nn: a row range writes only its rows', async () => {
    const x = gridDense(9, 7, 4, -3, 3);
    const out = denseFrom(9, 7);
    out.data.fill(-123);
    await nativeBackend.kernels.biasActivation!({ x, activation: 'gelu' }, out, 3, 6, { threads: 2 });
    const want = runReference('biasActivation', { x, activation: 'gelu' });
    for (let i = 0; i < 63; i++) {
      const inside = i >= 21 && i < 42;
      if (inside) assert.ok(Math.abs(out.data[i] - want.data[i]) <= 1e-5 * (1 + Math.abs(want.data[i])), `element ${i}`);
      else assert.is(out.data[i], -123, `element ${i} outside rows [3, 6) was written`);
    }
  });

  test('native nn: spdSolve of a matrix that is not positive definite rejects with a RangeError naming the pivot', async () => {
    const a: Dense = { rows: 2, cols: 2, data: Float32Array.of(1, 0, 2, 1) };
    let err: unknown = null;
    try {
      await nativeBackend.kernels.spdSolve!({ a }, denseFrom(2, 2), 0, 2);
    } catch (e) { err = e; }
    assert.ok(err instanceof RangeError, `expected a RangeError, got ${String(err)}`);
    assert.match((err as Error).message, /^spdSolve: the matrix is not positive definite \(pivot 1 is -3\)$/);
  });

  test('native nn: a long spdSolve and a long gemm stop when aborted mid-call, and the next calls run', async () => {
    // spdSolve: the inverse of a 3000 × 3000 matrix (≈ 2.7·10¹⁰ flops), aborted 10 ms after the call
    const n = 3000;
    const a = denseFrom(n, n);
    for (let i = 0; i < n; i++) a.data[i * n + i] = 2 + (i % 7);
    const ac = new AbortController();
    const solving = nativeBackend.kernels.spdSolve!({ a }, denseFrom(n, n), 0, n, { threads: 2, signal: ac.signal });
    setTimeout(() => ac.abort(), 10);
    await rejectsAborted(solving as Promise<void>, 'spdSolve');
    // gemm 3000 × 3000 × 3000: abort once the first block of C is written, then some rows are still unwritten
    const m = 3000;
    const g: GemmArgs = { m, n: m, k: m, a: randomDense(m, m, 1).data, b: randomDense(m, m, 2).data };
    const out = denseFrom(m, m);
    out.data.fill(Number.NaN);
    const ac2 = new AbortController();
    const poll = setInterval(() => { if (!Number.isNaN(out.data[0])) ac2.abort(); }, 1);
    try {
      await rejectsAborted(nativeBackend.kernels.gemm!(g, out, 0, m, { threads: 2, signal: ac2.signal }) as Promise<void>, 'gemm');
    } finally {
      clearInterval(poll);
    }
    assert.ok(Number.isNaN(out.data[m * m - 1]), 'the last row of C was written: the abort did not stop the gemm part-way');
    // both still work
    const small = { a: { rows: 3, cols: 3, data: Float32Array.of(4, 0, 0, 1, 3, 0, 0, 1, 2) } };
    const inv = denseFrom(3, 3);
    await nativeBackend.kernels.spdSolve!(small, inv, 0, 3, { signal: new AbortController().signal });
    sameAsReference('spdSolve', small, inv, 'spdSolve after the aborts');
  });

  test('native nn: calls from several Piscina workers at once match the reference', async () => {
    const pool = new Piscina({ filename: new URL('../src/engine/worker.js', import.meta.url).href, minThreads: 3, maxThreads: 3 });
    try {
      const x = gridDense(3000, 64, 7, -3, 3);
      const gamma = gridValues(64, 3, 0.5, 1.5), beta = gridValues(64, 4, -0.5, 0.5);
      const act = shareArgs<KernelArgs<'biasActivation'>>({ x, bias: gridValues(64, 5, -0.5, 0.5), activation: 'gelu' });
      const ln = shareArgs<KernelArgs<'layerNorm'>>({ x, gamma, beta });
      const targets = sharedInt32(3000);
      for (let r = 0; r < 3000; r++) targets[r] = r % 5 === 0 ? -1 : (r * 13) % 64;
      const ce = shareArgs<KernelArgs<'softmaxCrossEntropy'>>({ logits: x, targets, gradScale: 0.5 });
      const ids = sharedInt32(6000);
      for (let i = 0; i < ids.length; i++) ids[i] = (i * 31) % 500;
      const grouped = groupByIndex(ids, 500);
      const seg = shareArgs<KernelArgs<'segmentSum'>>({ src: gridDense(6000, 32, 9), offsets: grouped.offsets, positions: grouped.positions });
      const outs = {
        act: getKernel('biasActivation').allocate(act), ln: getKernel('layerNorm').allocate(ln),
        ce: getKernel('softmaxCrossEntropy').allocate(ce), seg: getKernel('segmentSum').allocate(seg),
      };
      const tasks: WorkerTask[] = [];
      const split = (kernel: KernelName, args: unknown, out: unknown, rows: number, parts: number) => {
        for (let p = 0; p < parts; p++) {
          tasks.push({ backend: 'native', kernel, args, out, rowStart: Math.floor((p * rows) / parts), rowEnd: Math.floor(((p + 1) * rows) / parts) });
        }
      };
      split('biasActivation', act, outs.act, 3000, 4);
      split('layerNorm', ln, outs.ln, 3000, 3);
      split('softmaxCrossEntropy', ce, outs.ce, 3000, 3);
      split('segmentSum', seg, outs.seg, grouped.rows.length, 3);
      await Promise.all(tasks.map((t) => pool.run(t)));
      assert.ok(pool.threads.length >= 2, `expected several workers, got ${pool.threads.length}`);
      sameAsReference('biasActivation', act, outs.act, 'workers biasActivation');
      sameAsReference('layerNorm', ln, outs.ln, 'workers layerNorm');
      sameAsReference('softmaxCrossEntropy', ce, outs.ce, 'workers softmaxCrossEntropy');
      sameAsReference('segmentSum', seg, outs.seg, 'workers segmentSum');
    } finally {
      await pool.destroy();
    }
  });

  test('native nn: adamUpdate through the backend updates params, m and v in place, lazily only the listed rows', async () => {
    const params = gridValues(40, 1), m = gridValues(40, 2, -0.01, 0.01), v = gridValues(40, 3, 0, 0.01);
    const args = { params: params.slice(), grads: gridValues(12, 4), m: m.slice(), v: v.slice(), dim: 4, rowIds: Int32Array.of(7, 2, 5), step: 2, lr: 0.01 };
    const ref = { ...args, params: params.slice(), m: m.slice(), v: v.slice() };
    await nativeBackend.kernels.adamUpdate!(args, {}, 0, 3);
    runReference('adamUpdate', ref);
    for (const f of ['params', 'm', 'v'] as const) {
      for (let i = 0; i < 40; i++) {
        const touched = [7, 2, 5].includes(Math.floor(i / 4));
        if (!touched) assert.is(args[f][i], f === 'params' ? params[i] : f === 'm' ? m[i] : v[i], `${f}[${i}] of an untouched row changed`);
        else assert.ok(Math.abs(args[f][i] - ref[f][i]) <= 1e-6 + 1e-5 * Math.abs(ref[f][i]), `${f}[${i}]: ${args[f][i]} vs ${ref[f][i]}`);
      }
    }
  });
}

test.run();
