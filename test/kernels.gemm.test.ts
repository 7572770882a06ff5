/**
 * gemm: the reference against a float64 product written independently (op(A)·op(B) formed as
 * explicit matrices), then every other available backend against the reference within the
 * contract's bound |C − C_ref| ≤ 2·k·2⁻²⁴·(|α|·Σ|a||b| + |β||C0|) + 1e-30, on random, edge-case
 * (empty, 1×1×1, k = 0, sizes off every vector width, transposes, batches, broadcast strides,
 * β = 0 with NaN in C) and model-sized inputs; plus row ranges and the engine's pool split.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../src/engine/engine.js';
import { probeBackend } from '../src/backends/registry.js';
import { getKernel } from '../src/kernels/contract.js';
import { gemmReference, type GemmArgs, type Transpose } from '../src/kernels/gemm.js';
import { denseFrom, sharedFloat32, type Dense } from '../src/data/matrix.js';
import { mulberry32 } from './helpers/random.js';
import { testOrSkip } from './helpers/skip.js';

interface Case { name: string; args: GemmArgs }

function rand(len: number, seed: number): Float32Array {
  const rnd = mulberry32(seed);
  const a = sharedFloat32(len);
  for (let i = 0; i < len; i++) a[i] = rnd() * 2 - 1;
  return a;
}

function makeCase(m: number, n: number, k: number, o: { transA?: Transpose; transB?: Transpose; batch?: number; alpha?: number; beta?: number; broadcastB?: boolean; seed?: number } = {}): Case {
  const batch = o.batch ?? 1, seed = o.seed ?? m * 131 + n * 17 + k;
  const strideB = o.broadcastB ? 0 : k * n;
  const args: GemmArgs = {
    m, n, k, transA: o.transA, transB: o.transB, alpha: o.alpha, beta: o.beta, batch,
    a: rand(Math.max(1, batch * m * k), seed), b: rand(Math.max(1, o.broadcastB ? k * n : batch * k * n), seed + 1),
    strideB, ...(o.beta ? { c: rand(batch * m * n, seed + 2) } : {}),
  };
  return { name: `${batch}×(${m}×${k}${o.transA === 'T' ? 'ᵀ' : ''}·${k}×${n}${o.transB === 'T' ? 'ᵀ' : ''}) α=${o.alpha ?? 1} β=${o.beta ?? 0}${o.broadcastB ? ' B shared' : ''}`, args };
}

/** op(X) of batch entry b as an explicit rows × cols float64 matrix. */
function op(x: Float32Array, base: number, rows: number, cols: number, trans: boolean): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = trans ? x[base + j * rows + i] : x[base + i * cols + j];
  return out;
}

/** The independent oracle: C (float64) and, per element, Σ|a||b| for the tolerance. */
function oracle(g: GemmArgs): { c: Float64Array; mag: Float64Array } {
  const { m, n, k } = g, batch = g.batch ?? 1, alpha = g.alpha ?? 1, beta = g.beta ?? 0;
  const sa = g.strideA ?? m * k, sb = g.strideB ?? k * n, sc = g.strideC ?? m * n;
  const c = new Float64Array(batch * m * n), mag = new Float64Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++) {
    const A = op(g.a, bi * sa, m, k, g.transA === 'T'), B = op(g.b, bi * sb, k, n, g.transB === 'T');
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0, t = 0;
      for (let p = 0; p < k; p++) { s += A[i * k + p] * B[p * n + j]; t += Math.abs(A[i * k + p] * B[p * n + j]); }
      const c0 = beta !== 0 ? g.c![bi * sc + i * n + j] : 0;
      c[(bi * m + i) * n + j] = alpha * s + beta * c0;
      mag[(bi * m + i) * n + j] = Math.abs(alpha) * t + Math.abs(beta * c0);
    }
  }
  return { c, mag };
}

function assertClose(label: string, got: Float32Array, want: Float64Array, mag: Float64Array, k: number, rows?: [number, number], n = 1): void {
  const eps = 2 ** -24;
  for (let e = 0; e < want.length; e++) {
    const r = Math.floor(e / n);
    if (rows && (r < rows[0] || r >= rows[1])) { assert.is(got[e], 0, `${label}: element ${e} outside the row range was written`); continue; }
    const tol = 2 * Math.max(k, 1) * eps * mag[e] + 1e-30;
    if (!(Math.abs(got[e] - want[e]) <= tol)) assert.unreachable(`${label}: element ${e} = ${got[e]}, expected ${want[e]} ± ${tol}`);
  }
}

const cases: Case[] = [
  makeCase(0, 5, 3), makeCase(4, 0, 3), makeCase(1, 1, 1), makeCase(3, 4, 0, { beta: 0.5 }),
  makeCase(5, 7, 3, { alpha: -1.5 }), makeCase(17, 33, 9, { transA: 'T' }), makeCase(13, 40, 31, { transB: 'T' }),
  makeCase(37, 23, 19, { transA: 'T', transB: 'T', alpha: 0.25, beta: -2 }),
  makeCase(8, 16, 8, { batch: 3 }), makeCase(7, 9, 5, { batch: 4, broadcastB: true, transB: 'T', beta: 1 }),
  makeCase(64, 200, 64, { batch: 2, transB: 'T' }), // attention scores QKᵀ, two heads
  makeCase(256, 256, 64), makeCase(130, 100, 257, { transA: 'T' }),
];

test('reference: equal to an independent float64 product within one fp32 rounding per element', () => {
  for (const { name, args } of cases) {
    const def = getKernel('gemm');
    def.validate(args);
    const out = def.allocate(args);
    gemmReference(args, out, 0, def.rows(args));
    const { c, mag } = oracle(args);
    // the reference rounds a float64 sum once: within half an ulp of |C| plus the float64 error
    for (let e = 0; e < c.length; e++) {
      const tol = Math.abs(c[e]) * 2 ** -24 + mag[e] * 1e-15 + 1e-38;
      if (!(Math.abs(out.data[e] - c[e]) <= tol)) assert.unreachable(`${name}: element ${e} = ${out.data[e]}, expected ${c[e]}`);
    }
  }
});

test('β = 0 never reads C (NaN there stays out of the result); bad shapes are clear errors', () => {
  const g = makeCase(3, 4, 2).args;
  const withNan: GemmArgs = { ...g, c: sharedFloat32(12).fill(NaN), beta: 0 };
  const out = denseFrom(3, 4);
  gemmReference(withNan, out, 0, 3);
  assert.ok([...out.data].every(Number.isFinite));
  const def = getKernel('gemm');
  assert.throws(() => def.validate({ ...g, a: sharedFloat32(5) }), /gemm: a has length 5, needs 6/);
  assert.throws(() => def.validate({ ...g, transA: 'X' as Transpose }), /transA must be 'N' or 'T', got 'X'/);
  assert.throws(() => def.validate({ ...g, beta: 1 }), /beta = 1 needs c/);
  assert.throws(() => def.validate({ ...g, m: 2.5 }), /m must be an integer ≥ 0, got 2.5/);
});

for (const backend of ['native', 'wasm', 'gpujs', 'cuda']) {
  const st = await probeBackend(backend);
  const what = `gemm on ${backend}: equal to the reference within the contract's fp32 bound, on every case, whole and in row ranges`;
  testOrSkip(test, st.available && st.kernels.includes('gemm') ? null : !st.available ? st.reason : 'no gemm kernel on this backend yet')(what, async () => {
    const e = new Engine(2);
    try {
      for (const { name, args } of cases) {
        const r = await e.runDetailed('gemm', args, { backend });
        assert.is(r.backend, backend, name);
        const { c, mag } = oracle(args);
        assertClose(`${backend} ${name}`, r.out.data, c, mag, args.k);
        // into a reused output holding NaN: every element is written
        r.out.data.fill(NaN);
        await e.run('gemm', args, { backend, out: r.out });
        assertClose(`${backend} ${name} (into a reused output)`, r.out.data, c, mag, args.k);
        // a row range writes only its rows
        const rows = (args.batch ?? 1) * args.m;
        if (rows >= 3) {
          const impl = (await import('../src/backends/registry.js')).loadBackend(backend);
          const b = await impl;
          if (b instanceof Error) throw b;
          const part: Dense = getKernel('gemm').allocate(args);
          const s = Math.floor(rows / 3), t = Math.floor((2 * rows) / 3);
          await b.kernels.gemm!(args, part, s, t, { threads: 2 });
          assertClose(`${backend} ${name} rows [${s}, ${t})`, part.data, c, mag, args.k, [s, t], args.n);
        }
      }
    } finally {
      await e.close();
    }
  });
}

const nativeGemm = await probeBackend('native');
testOrSkip(test, !nativeGemm.available ? nativeGemm.reason : !nativeGemm.kernels.includes('gemm') ? 'no gemm kernel' : null)('native: a C of ≥ 16 MB, fresh and reused (written with streaming stores), and a row range of one', async () => {
  // 2100×4000 = 8.4M floats; rows [1000, 2060) alone are 4.24M (the addon streams C from 4M floats,
  // β = 0, when C's pages are already in memory: a reused output)
  const { name, args } = makeCase(2100, 4000, 6, { transA: 'T', alpha: 0.5 });
  const { c, mag } = oracle(args);
  const e = new Engine(2);
  try {
    const r = await e.runDetailed('gemm', args, { backend: 'native' });
    assertClose(`native ${name}`, r.out.data, c, mag, args.k);
    r.out.data.fill(NaN);
    await e.run('gemm', args, { backend: 'native', out: r.out });
    assertClose(`native ${name} (into a reused output)`, r.out.data, c, mag, args.k);
    const b = await (await import('../src/backends/registry.js')).loadBackend('native');
    if (b instanceof Error) throw b;
    r.out.data.fill(0);
    await b.kernels.gemm!(args, r.out, 1000, 2060, { threads: 2 });
    assertClose(`native ${name} rows [1000, 2060) into a reused output`, r.out.data, c, mag, args.k, [1000, 2060], args.n);
  } finally {
    await e.close();
  }
});

test('the engine splits a large gemm over the pool: identical to the inline reference', async () => {
  const { args } = makeCase(300, 96, 64, { batch: 2, beta: 0.5 });
  const e = new Engine(2);
  try {
    const pooled = await e.runDetailed('gemm', args, { backend: 'js' });
    const inline = await e.runDetailed('gemm', args, { backend: 'js', pool: false });
    assert.equal([...pooled.out.data], [...inline.out.data]);
  } finally {
    await e.close();
  }
});

test.run();
