import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../src/engine/engine.js';
import { registerBackend, unregisterBackend, probeBackend } from '../src/backends/registry.js';
import { denseScoreTopKReference, type DenseScoreTopKArgs } from '../src/kernels/denseScoreTopK.js';
import type { Backend } from '../src/backends/types.js';
import type { KernelName } from '../src/kernels/contract.js';
import type { TopK } from '../src/data/matrix.js';
import { randomDense } from './helpers/random.js';

const engine = new Engine(2);
engine.log = () => {};

function args(rows: number, d = 16): DenseScoreTopKArgs {
  const m = randomDense(rows, d, rows);
  return { queries: m, keys: m, k: 10, metric: 'cosine', excludeSelf: true };
}

test('pool results are identical to single-thread results', async () => {
  const a = args(1200, 32); // 2·1200²·32 ≈ 92 MFLOP: above the inline threshold, so it goes to the pool
  const pooled = await engine.runDetailed('denseScoreTopK', a, { backend: 'js' });
  const inline = await engine.runDetailed('denseScoreTopK', a, { backend: 'js', pool: false });
  assert.is(pooled.backend, 'js');
  assert.equal([...pooled.out.ids], [...inline.out.ids]);
  assert.equal([...pooled.out.scores], [...inline.out.scores]);
  // and equal to the reference called directly
  const direct = { rows: 1200, k: 10, ids: new Int32Array(12000), scores: new Float32Array(12000) };
  denseScoreTopKReference(a, direct, 0, 1200);
  assert.equal([...pooled.out.ids], [...direct.ids]);
});

test('a pinned unknown or unavailable backend is a clear error', async () => {
  let msg = '';
  try { await engine.run('denseScoreTopK', args(10), { backend: 'nope' }); } catch (e) { msg = (e as Error).message; }
  assert.match(msg, /unknown backend 'nope'/);
  // a name from outside the type system (a CLI flag, a config file) still gets a clear error at run time
  try { await engine.run('noSuchKernel' as KernelName, {} as never); } catch (e) { msg = (e as Error).message; }
  assert.match(msg, /unknown kernel 'noSuchKernel'/);
});

test('validation runs before any backend', async () => {
  let msg = '';
  try { await engine.run('denseScoreTopK', { ...args(10), k: -1 }); } catch (e) { msg = (e as Error).message; }
  assert.match(msg, /k must be a positive integer/);
});

function fakeBackend(name: string, priority: number, behaviour: 'ok' | 'fail', calls: string[]): Backend {
  return {
    name, priority, threading: 'internal',
    probe: () => ({ available: true, reason: 'test fake' }),
    kernels: {
      denseScoreTopK: (a: DenseScoreTopKArgs, out: TopK, r0: number, r1: number) => {
        calls.push(name);
        if (behaviour === 'fail') {
          out.ids.fill(7); // a half-written output must never leak into the result
          throw new Error('simulated out of memory');
        }
        denseScoreTopKReference(a, out, r0, r1);
      },
    },
  };
}

test('failover: a failing backend is reported and the call retried on the next, with the same result', async () => {
  const calls: string[] = [];
  const logs: string[] = [];
  const e = new Engine(2);
  e.log = (m) => logs.push(m);
  registerBackend(fakeBackend('fake-failing', 1000, 'fail', calls));
  registerBackend(fakeBackend('fake-ok', 999, 'ok', calls));
  try {
    const a = args(50);
    const res = await e.runDetailed('denseScoreTopK', a);
    assert.equal(calls, ['fake-failing', 'fake-ok']);
    assert.is(res.backend, 'fake-ok');
    assert.is(res.failures.length, 1);
    assert.match(logs[0], /fake-failing.*simulated out of memory.*retrying on 'fake-ok'/);
    const ref = await e.run('denseScoreTopK', a, { backend: 'js' });
    assert.equal([...res.out.ids], [...ref.ids]);
  } finally {
    unregisterBackend('fake-failing');
    unregisterBackend('fake-ok');
    await e.close();
  }
});

test('dispatch follows the ranker (measurements), not registration order', async () => {
  const calls: string[] = [];
  registerBackend(fakeBackend('fake-slow', 500, 'ok', calls));
  registerBackend(fakeBackend('fake-fast', 400, 'ok', calls));
  const e = new Engine(2);
  const measured: Record<string, number> = { 'fake-slow': 1, 'fake-fast': 50 }; // GFLOP/s
  e.setRanker((_k, _s, c) => [...c].sort((x, y) => (measured[y.name] ?? 0) - (measured[x.name] ?? 0)));
  try {
    const res = await e.runDetailed('denseScoreTopK', args(20));
    assert.is(res.backend, 'fake-fast');
    assert.equal(calls, ['fake-fast']);
  } finally {
    unregisterBackend('fake-slow');
    unregisterBackend('fake-fast');
    await e.close();
  }
});

test('a call can be cancelled', async () => {
  const ac = new AbortController();
  ac.abort();
  let err: unknown;
  try { await engine.run('denseScoreTopK', args(1200, 32), { backend: 'js', signal: ac.signal }); } catch (e) { err = e; }
  assert.ok(err, 'an aborted call rejects');
});

test('a pinned backend without the kernel falls back to js, and says so once', async () => {
  const logs: string[] = [];
  const e = new Engine(1);
  e.log = (m) => logs.push(m);
  registerBackend({ name: 'fake-partial', priority: -5, threading: 'internal', probe: () => ({ available: true, reason: 'test fake' }), kernels: {} });
  try {
    const a = args(30);
    const r1 = await e.runDetailed('denseScoreTopK', a, { backend: 'fake-partial' });
    await e.runDetailed('denseScoreTopK', a, { backend: 'fake-partial' });
    assert.is(r1.backend, 'js');
    assert.is(logs.length, 1);
    assert.match(logs[0], /fake-partial.*no 'denseScoreTopK'.*'js'/);
  } finally {
    unregisterBackend('fake-partial');
    await e.close();
  }
});

test('the js backend is always available', async () => {
  const st = await probeBackend('js');
  assert.ok(st.available);
  assert.ok(st.kernels.includes('denseScoreTopK'));
});

test.after(async () => { await engine.close(); });

test.run();
