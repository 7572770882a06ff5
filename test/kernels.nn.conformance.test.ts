/**
 * Every backend's neural-network kernels against the reference (src/kernels/nn), on the cases of
 * helpers/nnCases.ts (random, edge-case and model-sized inputs; the large ones are split over
 * the worker pool for pool backends), within each case's stated tolerance, into a fresh output and
 * into a reused one filled with NaN (every element must be written). A backend that is not
 * available here, or lacks a kernel, is reported with SKIP and the reason.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../src/engine/engine.js';
import { probeBackend } from '../src/backends/registry.js';
import { getKernel, type KernelName } from '../src/kernels/contract.js';
import { cloneArgs, floatArrays, nnCases, type NnCase } from './helpers/nnCases.js';
import { runReference } from './helpers/nnCheck.js';

const cases = nnCases(true);
const nnKernels = [...new Set(cases.map((c) => c.kernel))];

function expected(c: NnCase): Map<string, Float32Array> {
  const args = cloneArgs(c.args);
  const out = runReference(c.kernel, args as never);
  return c.updates ? new Map(c.updates.map((f) => [f, (args as unknown as Record<string, Float32Array>)[f]])) : floatArrays(out);
}

function compare(label: string, got: Map<string, Float32Array>, want: Map<string, Float32Array>, c: NnCase): void {
  for (const [path, w] of want) {
    const g = got.get(path);
    if (!g) assert.unreachable(`${label}: no output '${path}'`);
    assert.is(g!.length, w.length, `${label}: '${path}' length`);
    for (let i = 0; i < w.length; i++) {
      const tol = c.atol + c.rtol * Math.abs(w[i]);
      if (!(Math.abs(g![i] - w[i]) <= tol) && !(Number.isNaN(w[i]) && Number.isNaN(g![i]))) {
        assert.unreachable(`${label}: ${path}[${i}] = ${g![i]}, reference ${w[i]} (tolerance ${tol})`);
      }
    }
  }
}

for (const backend of ['native', 'wasm', 'cuda', 'gpujs']) {
  test(`${backend}: the neural-network kernels equal the reference within each case's tolerance`, async () => {
    const st = await probeBackend(backend);
    if (!st.available) {
      console.log(`  SKIP nn kernels on ${backend}: ${st.reason}`);
      return;
    }
    const missing = nnKernels.filter((k) => !st.kernels.includes(k));
    if (missing.length) console.log(`  SKIP on ${backend}, no implementation of: ${missing.join(', ')}`);
    const e = new Engine(2);
    try {
      let ran = 0;
      for (const c of cases) {
        if (missing.includes(c.kernel)) continue;
        const label = `${backend} ${c.kernel} ${c.name}`;
        const args = cloneArgs(c.args);
        const r = await e.runDetailed(c.kernel as KernelName, args as never, { backend });
        assert.is(r.backend, backend, `${label}: ran on ${r.backend}`);
        const got = c.updates ? new Map(c.updates.map((f) => [f, (args as unknown as Record<string, Float32Array>)[f]])) : floatArrays(r.out);
        compare(label, got, expected(c), c);
        if (!c.updates) {
          // into a caller's output that holds garbage (NaN): every element of every row is written
          for (const a of floatArrays(r.out).values()) a.fill(NaN);
          await e.run(c.kernel as KernelName, cloneArgs(c.args) as never, { backend, out: r.out as never });
          compare(`${label} (into a reused output)`, floatArrays(r.out), expected(c), c);
        }
        ran++;
      }
      if (ran) console.log(`  ${backend}: ${ran} nn kernel cases equal to the reference`);
    } finally {
      await e.close();
    }
  });
}

test('js through the engine (pool split of the large cases) equals the inline reference exactly', async () => {
  const e = new Engine(2);
  try {
    for (const c of cases) {
      if (getKernel(c.kernel).splittable === false) continue;
      const args = cloneArgs(c.args);
      const r = await e.runDetailed(c.kernel as KernelName, args as never, { backend: 'js' });
      compare(`js ${c.kernel} ${c.name}`, floatArrays(r.out), expected(c), { ...c, atol: 0, rtol: 0 });
      for (const a of floatArrays(r.out).values()) a.fill(NaN);
      await e.run(c.kernel as KernelName, cloneArgs(c.args) as never, { backend: 'js', out: r.out as never });
      compare(`js ${c.kernel} ${c.name} (into a reused output)`, floatArrays(r.out), expected(c), { ...c, atol: 0, rtol: 0 });
    }
  } finally {
    await e.close();
  }
});

test('a caller\'s output must have the kernel\'s output shape; kernels without one refuse it', async () => {
  const e = new Engine(1);
  try {
    const x = { rows: 2, cols: 3, data: new Float32Array(6) };
    const message = async (p: Promise<unknown>) => p.then(() => 'resolved', (err: Error) => err.message);
    assert.match(await message(e.run('biasActivation', { x, activation: 'relu' }, { out: { rows: 3, cols: 2, data: new Float32Array(6) } })), /does not fit these args: out.rows is 3, expected 2/);
    assert.match(await message(e.run('layerNorm', { x, gamma: new Float32Array(3), beta: new Float32Array(3) }, { out: { y: x, mean: new Float32Array(1), rstd: new Float32Array(2) } })), /out.mean has length 1, expected 2/);
    const m = { rows: 1, cols: 1, data: new Float32Array(1) };
    assert.match(await message(e.run('denseScoreTopK', { queries: m, keys: m, k: 1, metric: 'dot' }, { out: { rows: 1, k: 1, ids: new Int32Array(1), scores: new Float32Array(1) } })), /does not write into a caller's output/);
  } finally {
    await e.close();
  }
});

test.run();
