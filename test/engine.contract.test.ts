/**
 * The seams of the engine: the typed kernel contract (checked by tsc: the @ts-expect-error lines
 * fail the build if a wrong kernel name or wrong args ever type-check), per-call `supports`,
 * plugin backends on the worker pool (loaded by module URL) and inline-only ones, and the
 * explicit context (no process-wide backend state).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isMainThread } from 'node:worker_threads';
import { Engine } from '../src/engine/engine.js';
import { resolveContext } from '../src/engine/context.js';
import { getEngine } from '../src/engine/processEngine.js';
import { registerBackend, unregisterBackend, probeBackend, backendNames, loadBackend } from '../src/backends/registry.js';
import { getKernel, kernelNames, kernels } from '../src/kernels/contract.js';
import { denseScoreTopKReference, type DenseScoreTopKArgs } from '../src/kernels/denseScoreTopK.js';
import type { Backend } from '../src/backends/types.js';
import { randomDense } from './helpers/random.js';
import { cudaAlsUnsupported, cudaBackend, cudaSimilarityUnsupported, type CudaLimits } from '../src/backends/native/cuda.js';
import type { SimilarityMetric, SparseSimilarityTopKArgs } from '../src/kernels/sparseSimilarityTopK.js';
import type { AlsHalfStepArgs } from '../src/kernels/alsHalfStep.js';
import { skip } from './helpers/skip.js';

function args(rows: number, d = 16, k = 10): DenseScoreTopKArgs {
  const m = randomDense(rows, d, rows);
  return { queries: m, keys: m, k, metric: 'cosine', excludeSelf: true };
}

async function reference(a: DenseScoreTopKArgs): Promise<{ ids: number[]; scores: number[] }> {
  const out = getKernel('denseScoreTopK').allocate(a);
  denseScoreTopKReference(a, out, 0, a.queries.rows);
  return { ids: [...out.ids], scores: [...out.scores] };
}

/** Compile-time checks: each line below must be a type error (tsc fails on an unused @ts-expect-error). */
export function typeChecks(e: Engine): void {
  // @ts-expect-error: not a kernel name
  void e.run('denseScoreTopk', args(2));
  // @ts-expect-error: args of another kernel
  void e.run('alsHalfStep', args(2));
  // @ts-expect-error: the output of denseScoreTopK is a TopK, which has no `rows × cols` data
  void e.run('denseScoreTopK', args(2)).then((out) => out.data);
}

test('the contract table: every kernel registered the same way, under its own name', () => {
  assert.equal(kernelNames(), Object.keys(kernels));
  for (const name of kernelNames()) assert.is(getKernel(name).name, name);
  assert.throws(() => getKernel('nope'), /unknown kernel 'nope' \(known: denseScoreTopK, /);
});

for (const name of backendNames()) {
  const b = await loadBackend(name);
  const what = `built-in backend ${name} implements only kernels of the contract`;
  if (b instanceof Error) skip(test, what, b.message.split('\n')[0]);
  else test(what, () => {
    for (const k of Object.keys(b.kernels)) assert.ok(kernelNames().includes(k as never), `${name} implements unknown kernel '${k}'`);
  });
}

test('supports(): a backend beyond its limits for a call is skipped under auto, and a pinned one falls back to js, said once', async () => {
  const calls: number[] = [];
  const limited: Backend = {
    name: 'fake-limited', priority: 10_000, threading: 'internal',
    probe: () => ({ available: true, reason: 'test fake' }),
    kernels: { denseScoreTopK(a, out, s, e) { calls.push(a.k); denseScoreTopKReference(a, out, s, e); } },
    supports: { denseScoreTopK: (a) => (a.k > 5 ? `k = ${a.k} is over this fake's 5` : null) },
  };
  registerBackend(limited);
  const logs: string[] = [];
  const e = new Engine(1);
  e.log = (m) => logs.push(m);
  try {
    const small = args(30, 8, 5), big = args(30, 8, 8);
    assert.is((await e.runDetailed('denseScoreTopK', small)).backend, 'fake-limited');
    const auto = await e.runDetailed('denseScoreTopK', big);
    assert.is.not(auto.backend, 'fake-limited');
    assert.equal(auto.failures, [], 'skipped before the call, not tried and failed over');
    assert.equal(calls, [5]);
    assert.equal(logs, []);
    const pinned = await e.runDetailed('denseScoreTopK', big, { backend: 'fake-limited' });
    await e.runDetailed('denseScoreTopK', big, { backend: 'fake-limited' });
    assert.is(pinned.backend, 'js');
    assert.equal(logs.length, 1);
    assert.match(logs[0], /'fake-limited' cannot run this denseScoreTopK call \(k = 8 is over this fake's 5\); running it on 'js'/);
    assert.equal({ ids: [...pinned.out.ids], scores: [...pinned.out.scores] }, await reference(big));
  } finally {
    unregisterBackend('fake-limited');
    await e.close();
  }
});

test('a plugin backend registered with its module URL runs on the worker pool', async () => {
  const url = new URL('./helpers/workerOnlyBackend.js', import.meta.url).href;
  const { backend } = (await import(url)) as { backend: Backend };
  registerBackend(backend, { module: url });
  const e = new Engine(2);
  try {
    assert.is((await probeBackend(backend.name)).loadableInWorkers, true);
    const a = args(1200, 32); // above the inline threshold: split over the pool
    const r = await e.runDetailed('denseScoreTopK', a, { backend: backend.name });
    assert.is(r.backend, backend.name);
    assert.equal(r.failures, []);
    assert.equal({ ids: [...r.out.ids], scores: [...r.out.scores] }, await reference(a));
  } finally {
    unregisterBackend(backend.name);
    await e.close();
  }
});

test('a pool plugin registered without a module URL runs inline on the calling thread (documented as inline-only)', async () => {
  const threads: boolean[] = [];
  registerBackend({
    name: 'fake-inline-only', priority: -10, threading: 'pool',
    probe: () => ({ available: true, reason: 'test fake' }),
    kernels: { denseScoreTopK(a, out, s, e) { threads.push(isMainThread); denseScoreTopKReference(a, out, s, e); } },
  });
  const e = new Engine(2);
  try {
    assert.is((await probeBackend('fake-inline-only')).loadableInWorkers, false);
    const a = args(1200, 32);
    const r = await e.runDetailed('denseScoreTopK', a, { backend: 'fake-inline-only' });
    assert.is(r.backend, 'fake-inline-only');
    assert.equal(threads, [true], 'one call, on the main thread');
    assert.equal({ ids: [...r.out.ids], scores: [...r.out.scores] }, await reference(a));
  } finally {
    unregisterBackend('fake-inline-only');
    await e.close();
  }
});

test('the context: an engine\'s default backend applies to calls that name none; nothing is process-wide', async () => {
  const calls: string[] = [];
  registerBackend({
    name: 'fake-default', priority: -10, threading: 'internal',
    probe: () => ({ available: true, reason: 'test fake' }),
    kernels: { denseScoreTopK(a, out, s, e) { calls.push('fake-default'); denseScoreTopKReference(a, out, s, e); } },
  });
  const pinnedEngine = new Engine({ threads: 1, backend: 'fake-default' });
  try {
    const ctx = resolveContext({ engine: pinnedEngine });
    assert.is(ctx.backend, 'fake-default');
    assert.is(resolveContext({ engine: pinnedEngine, backend: 'js' }).backend, 'js');
    assert.is((await ctx.engine.runDetailed('denseScoreTopK', args(10), { backend: ctx.backend })).backend, 'fake-default');
    // another engine in the same process is unaffected
    const other = resolveContext({ engine: new Engine(1) });
    assert.is(other.backend, 'auto');
    assert.is(resolveContext().engine, getEngine());
    assert.equal(calls, ['fake-default']);
  } finally {
    unregisterBackend('fake-default');
    await pinnedEngine.close();
  }
});

test('cuda states its limits per call (metric, solver, factors) through supports, from the module\'s exported limits', () => {
  const limits: CudaLimits = { maxIndex: 0x7fffffff, maxAlsFactors: 128, alsSolvers: ['cg'], similarityMetrics: ['cosine', 'jaccard', 'dot'], minComputeCapability: 60 };
  const sim = (metric: SimilarityMetric): SparseSimilarityTopKArgs => ({ matrix: { rows: 0, cols: 0, indptr: new Int32Array(1), indices: new Int32Array(0), data: new Float32Array(0) }, metric, k: 5 });
  assert.is(cudaSimilarityUnsupported(limits, sim('cosine')), null);
  assert.match(cudaSimilarityUnsupported(limits, sim('pearson'))!, /metric 'pearson' is not implemented on CUDA \(cosine, jaccard, dot\)/);
  const als = (solver: 'cg' | 'cholesky', f: number): AlsHalfStepArgs => ({ mode: 'implicit', solver, matrix: sim('cosine').matrix, other: { rows: 0, cols: f, data: new Float32Array(0) }, regularization: 0.1 });
  assert.is(cudaAlsUnsupported(limits, als('cg', 128)), null);
  assert.match(cudaAlsUnsupported(limits, als('cg', 129))!, /129 factors exceeds the CUDA kernel's 128/);
  assert.match(cudaAlsUnsupported(limits, als('cholesky', 8))!, /solver 'cholesky' is not implemented on CUDA/);
  assert.ok(cudaBackend.supports?.sparseSimilarityTopK && cudaBackend.supports.alsHalfStep, 'the backend declares both');
});

async function withDyingBackend(fn: (e: Engine, logs: string[], name: string) => Promise<void>): Promise<void> {
  const url = new URL('./helpers/dyingWorkerBackend.js', import.meta.url).href;
  const { backend } = (await import(url)) as { backend: Backend };
  registerBackend(backend, { module: url });
  const logs: string[] = [];
  const e = new Engine(2);
  e.log = (m) => logs.push(m);
  try { await fn(e, logs, backend.name); } finally {
    unregisterBackend(backend.name);
    await e.close();
  }
}

function dyingArgs(crashes: number): DenseScoreTopKArgs & { crashes: Int32Array } {
  const c = new Int32Array(new SharedArrayBuffer(8));
  c[0] = crashes;
  return { ...args(1200, 32), crashes: c };
}

test('a pool worker that dies mid-task: the task runs again on a fresh worker (pinned backend), and the output is the reference', async () => {
  await withDyingBackend(async (e, logs, name) => {
    const a = dyingArgs(1);
    const r = await e.runDetailed('denseScoreTopK', a, { backend: name });
    assert.is(a.crashes[1], 1, 'one worker really exited');
    assert.is(r.backend, name);
    assert.equal({ ids: [...r.out.ids], scores: [...r.out.scores] }, await reference(a));
    assert.is(logs.length, 1);
    assert.match(logs[0], /a pool worker died running denseScoreTopK on 'plugin-dying-worker' rows \[\d+, \d+\).* \(worker exited with code: 3\); running (that task|those \d+ tasks) again on fresh workers \(attempt 2 of 3\)/);
    // and the engine's pool still works afterwards
    const again = await e.runDetailed('denseScoreTopK', dyingArgs(0), { backend: name });
    assert.equal({ ids: [...again.out.ids], scores: [...again.out.scores] }, await reference(a));
  });
});

test('workers that keep dying: the call rejects with a clear error after bounded attempts, never hangs', async () => {
  await withDyingBackend(async (e, _logs, name) => {
    const a = dyingArgs(1_000_000);
    let msg = '';
    try { await e.run('denseScoreTopK', a, { backend: name }); } catch (err) { msg = (err as Error).message; }
    assert.match(msg, /kernel denseScoreTopK on 'plugin-dying-worker': a pool worker died running rows \[\d+, \d+\).* on each of 3 attempts \(worker exited with code: 3\)/);
    assert.ok(a.crashes[1] >= 3, `workers exited ${a.crashes[1]} times`);
  });
});

/** Auto dispatch over `order` (the other backends left out), with an inline backend that always throws registered as 'fake-throws'. */
async function withAutoOrder(e: Engine, order: string[], fn: () => Promise<void>): Promise<void> {
  registerBackend({
    name: 'fake-throws', priority: -10, threading: 'pool', // no module URL: runs inline
    probe: () => ({ available: true, reason: 'test fake' }),
    kernels: { denseScoreTopK() { throw new Error('fake kernel failure'); } },
  });
  e.setRanker((_k, _s, c) => order.map((n) => c.find((s) => s.name === n)!));
  try { await fn(); } finally {
    e.setRanker(null);
    unregisterBackend('fake-throws');
  }
}

test('auto dispatch: a backend whose workers keep dying fails over to the next one on a fresh pool, which completes the call', async () => {
  await withDyingBackend(async (e, logs, name) => {
    await withAutoOrder(e, [name, 'js'], async () => {
      const a = dyingArgs(1_000_000);
      const r = await e.runDetailed('denseScoreTopK', a);
      assert.is(r.backend, 'js');
      assert.is(r.failures.length, 1);
      assert.is(r.failures[0].backend, name);
      assert.match(r.failures[0].error, /a pool worker died running rows .* on each of 3 attempts/);
      assert.equal({ ids: [...r.out.ids], scores: [...r.out.scores] }, await reference(a));
      assert.ok(logs.some((l) => l.includes(`backend '${name}' failed on denseScoreTopK`) && l.includes("retrying on 'js'")), logs.join('\n'));
    });
  });
});

test('auto dispatch: workers that die after a failover are retried on fresh workers; when they keep dying the call rejects naming every backend, never hangs', async () => {
  await withDyingBackend(async (e, logs, name) => {
    await withAutoOrder(e, ['fake-throws', name], async () => {
      // the first backend throws, the second's first worker dies: its task runs again and completes
      const a = dyingArgs(1);
      const r = await e.runDetailed('denseScoreTopK', a);
      assert.is(r.backend, name);
      assert.equal(r.failures.map((f) => f.backend), ['fake-throws']);
      assert.is(a.crashes[1], 1, 'one worker really exited');
      assert.equal({ ids: [...r.out.ids], scores: [...r.out.scores] }, await reference(a));
      assert.ok(logs.some((l) => /a pool worker died running denseScoreTopK .* \(attempt 2 of 3\)/.test(l)), logs.join('\n'));
      // every worker of the second backend dies: a settled rejection that names both backends
      const b = dyingArgs(1_000_000);
      const settled = await Promise.race([
        e.run('denseScoreTopK', b).then(() => 'resolved', (err: Error) => err.message),
        new Promise<string>((res) => { setTimeout(() => res('still pending after 60 s'), 60_000).unref(); }),
      ]);
      assert.match(settled, new RegExp(`^kernel 'denseScoreTopK' failed on every backend: fake-throws: fake kernel failure; ${name}: kernel denseScoreTopK on '${name}': a pool worker died running rows .* on each of 3 attempts`));
    });
  });
});

test.run();
